"""What every command-line module shares: the common options, defined once, tidy help, and user errors as one line.

Library errors name parameters (``ParameterError``); ``user_errors`` prints them
with the flags the user typed instead, on one line, and exits with status 2 (1
for a ``RunError``, a failure after the run began writing). ``Group`` gives every
command's help plain metavars (``INPUT``, ``DATA...``, ``FILE``, ``N``) instead of
Python types. Importing this module imports typer only.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import click
import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

from .errors import ModerationError, ParameterError, RunError, printable

__all__ = ["user_errors", "flag", "printable", "Group", "TextCol", "LabelCol", "Positive", "ModelDir", "Db",
           "DB_HELP", "Sep", "Encoding", "InputFormat", "TrustPickle", "read_options", "ArticleCol", "ArticleTitleCol",
           "ArticleUrlCol", "AuthorCol", "ParentCol", "CreatedCol"]

DB_HELP = "Queue database URL [default: $MODERATION_DB, else sqlite:///moderation.db]."

TextCol = Annotated[str, typer.Option("--text-col", metavar="NAME", help="Column holding the comment text.")]
LabelCol = Annotated[str, typer.Option("--label-col", metavar="NAME", help="Column holding the label.")]
Positive = Annotated[Optional[str], typer.Option(
    "--positive", metavar="VALUE",
    help="The label value meaning 'remove', in any case (else 0/1, true/false or yes/no).")]
ModelDir = Annotated[Optional[Path], typer.Option("--model", metavar="DIR",
                                                  help="Model directory [default: the shipped model].")]
Db = Annotated[Optional[str], typer.Option("--db", metavar="URL", help=DB_HELP)]
# The review queue's context columns (moderation.queue.context.ContextColumns); None: the default name.
ArticleCol = Annotated[Optional[str], typer.Option(
    "--article-col", metavar="NAME", help="Column holding the article's id, for the queue [default: article_id].")]
ArticleTitleCol = Annotated[Optional[str], typer.Option(
    "--article-title-col", metavar="NAME", help="Column holding the article's title [default: article_title].")]
ArticleUrlCol = Annotated[Optional[str], typer.Option(
    "--article-url-col", metavar="NAME", help="Column holding the article's URL [default: article_url].")]
AuthorCol = Annotated[Optional[str], typer.Option(
    "--author-col", metavar="NAME", help="Column holding the comment's author (name or id) [default: author].")]
ParentCol = Annotated[Optional[str], typer.Option(
    "--parent-col", metavar="NAME", help="Column holding the id of the comment replied to [default: parent_id].")]
CreatedCol = Annotated[Optional[str], typer.Option(
    "--created-col", metavar="NAME", help="Column holding when the comment was posted (ISO time or Unix seconds) [default: created_at].")]
Sep = Annotated[Optional[str], typer.Option(
    "--sep", metavar="CHAR", help="CSV delimiter: , ; | or tab [default: detected from the header line].")]
Encoding = Annotated[str, typer.Option(
    "--encoding", metavar="NAME", help="The input's text encoding, e.g. cp1252 or latin-1.")]
InputFormat = Annotated[Optional[str], typer.Option(
    "--format", metavar="FORMAT",
    help="The input's format: csv, tsv, jsonl or parquet [default: from the file name; sniffed on stdin].")]
TrustPickle = Annotated[bool, typer.Option(
    "--trust-pickle", help="Load a legacy pickled model.joblib (it runs code when loaded: only from a source you "
                           "trust).")]


def read_options(format: Optional[str] = None, sep: Optional[str] = None, encoding: str = "utf-8"):
    """The library's ``ReadOptions`` from the command line's --format, --sep and --encoding."""
    from .io import ReadOptions, parse_sep

    return ReadOptions(format=format, sep=parse_sep(sep), encoding=encoding)


# -- help without Python types -------------------------------------------------------------------------

_TYPE_METAVARS = {"int": "N", "float": "X", "Path": "PATH"}


class _Argument(TyperArgument):
    """An argument shown by its name in capitals (``INPUT``, ``DATA...``), without a Python type."""

    def display_type_rich(self, ctx):
        return None

    def _rich_display_name(self) -> str:
        return self.metavar + ("..." if self.nargs != 1 else "")

    def _usage_display_name(self) -> str:
        name = self.metavar + ("..." if self.nargs != 1 else "")
        return name if self.required else f"[{name}]"


class _Option(TyperOption):
    """An option whose help leaves out click's range notation (``x>=0``); a value out of range is still refused."""

    def _get_number_range_help_str(self):
        return None


def _tidy(command: click.Command) -> None:
    for param in command.params:
        if isinstance(param, TyperArgument):
            param.metavar = param.metavar or param.name.upper()
            param.__class__ = _Argument
        elif isinstance(param, TyperOption):
            if not param.is_flag and param.metavar is None:
                param.metavar = _TYPE_METAVARS.get(param.bare_type(), "TEXT")
            param.__class__ = _Option
    for sub in (getattr(command, "commands", None) or {}).values():
        _tidy(sub)


class Group(TyperGroup):
    """The root command group: every command below it gets plain metavars in its help."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _tidy(self)

# Library parameters whose command-line spelling is not ``--`` plus the name with dashes.
_FLAGS = {"paths": "DATA files", "corpus": "--corpus DIR", "from_queue": "--from-queue URL",
          "rejects_path": "--rejects", "out_path": "--out", "input_path": "INPUT"}


def flag(param: str) -> str:
    """How the command line spells a library parameter: ``chunk_rows`` → ``--chunk-rows``."""
    return _FLAGS.get(param, "--" + param.replace("_", "-"))


def _quiet_stdout() -> None:
    """Point standard output at /dev/null, so the interpreter's last flush of a failed stdout stays silent."""
    try:
        sys.stdout.flush()
    except OSError:
        pass
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no file descriptor (a test runner's stdout)
        pass


def user_errors(func):
    """Turn ModerationError into ``Error: …`` on stderr, on one line, and exit status 2 (1 for a RunError);
    a closed pipe ends quietly."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ParameterError as e:
            typer.echo(f"Error: {printable(e.render(flag))}", err=True)
            raise typer.Exit(2)
        except RunError as e:
            typer.echo(f"Error: {printable(str(e))}", err=True)
            _quiet_stdout()
            raise typer.Exit(1)
        except ModerationError as e:
            typer.echo(f"Error: {printable(str(e))}", err=True)
            raise typer.Exit(2)
        except BrokenPipeError:
            raise typer.Exit(0)

    return wrapper
