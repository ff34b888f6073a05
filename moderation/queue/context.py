"""Which columns of a comment dump give each comment its context in the review queue.

Importable without the ``queue`` extra: ``moderation score --queue`` names the
columns to carry before anything of the queue is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import pandas as pd

from ..errors import ModerationError

__all__ = ["ContextColumns"]


@dataclass(frozen=True)
class ContextColumns:
    """The dump's column for each piece of a comment's context (``--article-col`` etc. on the command line)."""

    article_id: str = "article_id"
    article_title: str = "article_title"
    article_url: str = "article_url"
    author: str = "author"
    parent_id: str = "parent_id"
    created_at: str = "created_at"

    @classmethod
    def given(cls, **columns: str | None) -> "ContextColumns":
        """The defaults with the columns that were given (None: the default name)."""
        return cls(**{k: v for k, v in columns.items() if v})

    def present(self, columns) -> list[str]:
        """The context columns to carry from a table with ``columns``: the renamed ones, and the defaults present."""
        return [getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) != f.default or f.default in columns]

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with the context columns under the queue's names; a renamed column must exist."""
        renames = {}
        for f in fields(self):
            column = getattr(self, f.name)
            if column in frame.columns:
                if column != f.name:
                    renames[column] = f.name
            elif column != f.default:
                have = ", ".join(map(str, frame.columns))
                raise ModerationError(f"the scored table has no column {column} for the {f.name.replace('_', ' ')}"
                                      f" (columns: {have})")
        if not renames:
            return frame
        clash = [name for name in renames.values() if name in frame.columns and name not in renames]
        return frame.drop(columns=clash).rename(columns=renames)
