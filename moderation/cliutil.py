"""What every command-line module shares: the common options, defined once, and user errors as one line.

Library errors name parameters (``ParameterError``); ``user_errors`` prints them
with the flags the user typed instead, on one line, and exits with status 2.
Importing this module imports typer only.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Optional

import typer

from .errors import ModerationError, ParameterError

__all__ = ["user_errors", "flag", "TextCol", "LabelCol", "Positive", "ModelDir", "Db", "DB_HELP", "ArticleCol",
           "ArticleTitleCol", "ArticleUrlCol", "AuthorCol", "ParentCol", "CreatedCol"]

DB_HELP = "Queue database URL [default: $MODERATION_DB, else sqlite:///moderation.db]."

TextCol = Annotated[str, typer.Option("--text-col", help="Column holding the comment text.")]
LabelCol = Annotated[str, typer.Option("--label-col", help="Column holding the label.")]
Positive = Annotated[Optional[str], typer.Option(
    "--positive", help="The label value meaning 'remove' (else 0/1, true/false or yes/no).")]
ModelDir = Annotated[Optional[Path], typer.Option("--model", help="Model directory [default: the shipped model].")]
Db = Annotated[Optional[str], typer.Option("--db", help=DB_HELP)]
# The review queue's context columns (moderation.queue.context.ContextColumns); None: the default name.
ArticleCol = Annotated[Optional[str], typer.Option(
    "--article-col", help="Column holding the article's id, for the queue [default: article_id].")]
ArticleTitleCol = Annotated[Optional[str], typer.Option(
    "--article-title-col", help="Column holding the article's title [default: article_title].")]
ArticleUrlCol = Annotated[Optional[str], typer.Option(
    "--article-url-col", help="Column holding the article's URL [default: article_url].")]
AuthorCol = Annotated[Optional[str], typer.Option(
    "--author-col", help="Column holding the comment's author (name or id) [default: author].")]
ParentCol = Annotated[Optional[str], typer.Option(
    "--parent-col", help="Column holding the id of the comment replied to [default: parent_id].")]
CreatedCol = Annotated[Optional[str], typer.Option(
    "--created-col", help="Column holding when the comment was posted (ISO time or Unix seconds) [default: created_at].")]

# Library parameters whose command-line spelling is not ``--`` plus the name with dashes.
_FLAGS = {"paths": "DATA files", "corpus": "--corpus DIR", "from_queue": "--from-queue URL",
          "rejects_path": "--rejects", "out_path": "--out", "input_path": "INPUT"}


def flag(param: str) -> str:
    """How the command line spells a library parameter: ``chunk_rows`` → ``--chunk-rows``."""
    return _FLAGS.get(param, "--" + param.replace("_", "-"))


def user_errors(func):
    """Turn ModerationError into ``Error: …`` on stderr and exit status 2; a closed pipe ends quietly."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ParameterError as e:
            typer.echo(f"Error: {e.render(flag)}", err=True)
            raise typer.Exit(2)
        except ModerationError as e:
            typer.echo(f"Error: {e}", err=True)
            raise typer.Exit(2)
        except BrokenPipeError:
            raise typer.Exit(0)

    return wrapper
