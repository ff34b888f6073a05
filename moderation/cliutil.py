"""What every command-line module shares: user errors as one line and exit status 2."""

from __future__ import annotations

import functools

import typer

from .errors import ModerationError

__all__ = ["user_errors"]


def user_errors(func):
    """Turn ModerationError into ``Error: …`` on stderr and exit status 2; a closed pipe ends quietly."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ModerationError as e:
            typer.echo(f"Error: {e}", err=True)
            raise typer.Exit(2)
        except BrokenPipeError:
            raise typer.Exit(0)

    return wrapper
