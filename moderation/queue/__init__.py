"""The moderators' review queue: a database of flagged comments, a web page to review them, an export to retrain on.

The modules: ``schema`` (tables and migrations; SQLite by default, PostgreSQL by
URL), ``accounts`` (moderators, passwords, tokens, sessions, login throttling),
``context`` (which dump columns give a comment its context), ``ingest`` (loading
scored tables), ``store`` (the queue: claims, decisions, undo, history, authors,
articles, export, stats), ``web`` (the FastAPI app), ``cli`` (the ``moderation
queue``/``users``/``serve`` commands).

The functions below are how the rest of the package uses the queue. They import
SQLAlchemy only when called, so the base install works without the ``queue``
extra and says which extra to install when it is needed.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ModerationError
from ..extras import require

__all__ = ["open_queue", "load_scored", "decisions_table"]


def open_queue(db: str | None):
    """The queue store at ``db`` (see ``schema.resolve_db_url``), or a one-line error naming the extra to install."""
    require("sqlalchemy", "queue", "the review queue")
    from .store import open_store

    return open_store(db)


def load_scored(scored_file: str | Path, *, db: str | None, model=None, text_col: str = "text", context=None):
    """Load the flagged rows of a scored table into the queue at ``db``, with the ``context`` columns
    (``context.ContextColumns``); what was added (``AddResult``)."""
    store = open_queue(db)
    if text_col == "text":
        return store.add_scored(scored_file, model=model, context=context)
    from ..io import read_table

    frame = read_table(scored_file).rename(columns={text_col: "text"})
    return store.add_scored(frame, model=model, source=Path(str(scored_file)).name, context=context)


def decisions_table(db: str | None) -> tuple[str, object]:
    """The moderators' decisions as a named labelled training table (``moderation train --from-queue``)."""
    frame = open_queue(db).export_decisions()
    if frame.empty:
        raise ModerationError(f"the queue {db} has no decisions to train on")
    return f"queue {db}", frame
