"""Loading scored tables (``moderation score`` outputs) into the review queue, with each comment's context.

The context is what a moderator decides with: the article (id, title, URL), the
author, the parent comment and when the comment was posted. It comes from the
dump's columns, named by ``ContextColumns`` (the same names by default; every one
optional). The parent's text is looked up by its id in the same table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from ..categories import CATEGORIES
from ..errors import ModerationError
from .context import ContextColumns
from .schema import comments, utc_now

__all__ = ["Ingest", "AddResult", "ContextColumns", "storable"]


@dataclass
class AddResult:
    """What ``Store.add_scored`` did: rows added, already in the queue, and not flagged (so not loaded)."""

    added: int = 0
    skipped: int = 0
    unflagged: int = 0

    def line(self) -> str:
        return f"{self.added} added, {self.skipped} already in the queue, {self.unflagged} not flagged"


def _truthy(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "1.0", "true", "t", "yes", "y")
    try:
        return bool(value) and not (isinstance(value, float) and math.isnan(value))
    except (TypeError, ValueError):
        return False


def _float_or_none(value) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _text_or_none(value) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    s = str(value)
    return s if s.strip() else None


def storable(text: str) -> str:
    """``text`` with NUL characters as U+FFFD (PostgreSQL refuses NUL in text)."""
    return text.replace("\x00", "\ufffd")


def _chunks(seq: Sequence, n: int = 500) -> Iterable[Sequence]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def _short(value, n: int = 200) -> str | None:
    """An id or name as text, cut to the column's width; 4511.0 (an id column with blanks) as 4511."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    s = _text_or_none(value)
    return s[:n] if s is not None else None


def _posted(frame: pd.DataFrame) -> pd.Series:
    """The ``created_at`` column as UTC datetimes (ISO text or Unix seconds), or a one-line error for a value that
    is neither."""
    raw = frame["created_at"]
    given = raw.map(lambda v: _text_or_none(v) is not None).astype(bool)
    if pd.api.types.is_numeric_dtype(raw):
        parsed = pd.to_datetime(raw, unit="s", utc=True, errors="coerce")
    else:
        parsed = pd.to_datetime(raw.where(given).astype("string"), utc=True, errors="coerce", format="mixed")
    bad = given & parsed.isna()
    if bad.any():
        i = bad.to_numpy().nonzero()[0][0]
        raise ModerationError(f"comment {frame['id'].iloc[i]}: created_at {raw.iloc[i]!r} is not a date and time")
    return parsed


class Ingest:
    """Loading scored rows into the queue of a ``Store`` (which provides ``self.engine``)."""

    # -- loading ------------------------------------------------------------
    def add_scored(self, data: pd.DataFrame | str | Path, *, all_rows: bool = False,
                   min_score: float | None = None, model=None, threshold: float | None = None,
                   source: str | None = None, chunk_rows: int = 5000,
                   context: ContextColumns | None = None) -> AddResult:
        """Load a ``moderation score`` output (a frame or a table file) into the queue.

        Loads the flagged rows (``flag`` true), or every row with ``all_rows``, or
        those scoring at least ``min_score``. Idempotent by comment id: rows already
        in the queue are skipped, never changed. The table needs ``id``, ``score``
        and ``text`` (score with ``--keep text``); ``source``, ``thread_id``,
        ``reasons``, the category columns and the ``context`` columns are used
        when present. A parent comment's text is found by its id anywhere in the
        table (a file is read a second time for parents that come after their replies).
        With ``model``, the offending spans are computed and its threshold and
        version recorded; otherwise the threshold is ``threshold``, else the lowest
        flagged score in the chunk, else 0.5.
        """
        if all_rows and min_score is not None:
            raise ModerationError("give all_rows or min_score, not both")
        if isinstance(data, pd.DataFrame):
            frames: Iterable[pd.DataFrame] = [data]
            default_source = source or ""
        else:
            from ..io import iter_table

            frames = iter_table(data, chunksize=chunk_rows)
            default_source = source if source is not None else Path(str(data)).name
        if model is not None and threshold is None:
            threshold = float(model.threshold)
        version = model.card.version_tag if model is not None else None
        context = context or ContextColumns()
        result = AddResult()
        seen: set[str] = set()
        orphans: set[str] = set()  # parents of loaded comments whose text is not known yet
        for frame in frames:
            if frame.shape[1] == 0 and len(frame) == 0:
                continue
            frame = context.apply(frame)
            self._add_frame(frame, all_rows, min_score, model, threshold, version, default_source, seen, result,
                            orphans)
        if orphans and not isinstance(data, pd.DataFrame):
            from ..io import iter_table

            for frame in iter_table(data, chunksize=chunk_rows):
                if "id" in frame.columns and "text" in frame.columns:
                    self._fill_parents(frame.assign(id=frame["id"].astype(str)), orphans)
        return result

    def _fill_parents(self, frame: pd.DataFrame, orphans: set[str]) -> None:
        """Record the text of the ``orphans`` (parent ids) found in ``frame`` on their replies."""
        found = frame[frame["id"].isin(orphans)]
        if found.empty:
            return
        with self.transaction() as conn:
            for pid, text in zip(found["id"], found["text"]):
                if _text_or_none(text) is not None:
                    conn.execute(update(comments).where(comments.c.parent_id == pid, comments.c.parent_text.is_(None))
                                 .values(parent_text=str(text)))
                orphans.discard(pid)

    def _add_frame(self, frame, all_rows, min_score, model, threshold, version, default_source, seen, result,
                   orphans):
        from ..io import require_columns

        needed = ["id", "score", "text"] + ([] if all_rows or min_score is not None else ["flag"])
        require_columns(frame, needed, "the scored table" + ("" if "text" in frame.columns else
                                                             " (score with --keep text)"))
        scores = pd.to_numeric(frame["score"], errors="coerce")
        if scores.isna().any():
            bad = frame["id"][scores.isna()].astype(str).tolist()[:3]
            raise ModerationError(f"the scored table has missing or non-numeric scores (ids {', '.join(bad)})")
        if all_rows:
            keep = pd.Series(True, index=frame.index)
        elif min_score is not None:
            keep = scores >= float(min_score)
        else:
            keep = frame["flag"].map(_truthy)
        chunk_threshold = threshold
        if chunk_threshold is None:
            flagged = scores[frame["flag"].map(_truthy)] if "flag" in frame.columns else scores[[]]
            chunk_threshold = float(flagged.min()) if len(flagged) else 0.5
        result.unflagged += int((~keep).sum())
        rows = frame[keep.to_numpy()]
        ids = rows["id"].astype(str).tolist()
        with self.engine.connect() as conn:
            existing = set()
            for part in _chunks(ids):
                existing.update(conn.execute(select(comments.c.id).where(comments.c.id.in_(part))).scalars())
        cats = [c for c in CATEGORIES if c in rows.columns]
        posted = list(_posted(rows)) if "created_at" in rows.columns else [None] * len(rows)
        texts_here = dict(zip(frame["id"].astype(str), frame["text"])) if "parent_id" in rows.columns else {}
        now = utc_now()
        # each row as a dict of the values iterrows would give: a Series per row cost more than explaining the row
        names, values = list(rows.columns), rows.values
        new = []  # the positions of the rows to add
        for at, cid in enumerate(ids):
            if cid in existing or cid in seen:
                result.skipped += 1
                continue
            seen.add(cid)
            new.append(at)
        texts = [t if isinstance(t, str) else ("" if _text_or_none(t) is None else str(t))
                 for t in values[new, names.index("text")]]
        explained = model.explain_many(texts) if model is not None else [None] * len(new)
        records = []
        for at, text, found in zip(new, texts, explained):
            row, cid, created = dict(zip(names, values[at])), ids[at], posted[at]
            score = float(row["score"])
            categories = {c: v for c in cats if (v := _float_or_none(row[c])) is not None} or None
            spans = None if found is None else [s._asdict() for s in found]
            parent_id = _short(row.get("parent_id"))
            parent_text = _text_or_none(texts_here.get(parent_id)) if parent_id else None
            if parent_id and parent_text is None:
                orphans.add(parent_id)
            records.append({
                "id": cid, "text": text,
                "source": _text_or_none(row.get("source")) or default_source,
                "article_id": _short(row.get("article_id")),
                "thread_id": _short(row.get("thread_id")),
                "article_title": _text_or_none(row.get("article_title")),
                "article_url": _text_or_none(row.get("article_url")),
                "author": _short(row.get("author")),
                "parent_id": parent_id, "parent_text": parent_text,
                "created_at": None if created is None or pd.isna(created) else created.to_pydatetime(),
                "score": score, "threshold": chunk_threshold, "uncertainty": abs(score - chunk_threshold),
                "categories": categories,
                "top_category": max(categories, key=categories.get) if categories else None,
                "reasons": _text_or_none(row.get("reasons")),
                "spans": spans,
                "model_version": version or _text_or_none(row.get("model_version")) or "unknown",
                "added_at": now, "status": "pending",
            })
        if not records:
            return
        try:
            with self.transaction() as conn:
                conn.execute(insert(comments), records)
            result.added += len(records)
        except IntegrityError:  # a concurrent load got there first: insert one by one
            for record in records:
                try:
                    with self.transaction() as conn:
                        conn.execute(insert(comments).values(**record))
                    result.added += 1
                except IntegrityError:
                    result.skipped += 1

    def add_comment(self, comment_id: str, text: str, *, score: float, threshold: float, source: str = "",
                    categories: dict | None = None, spans: list | None = None, article_id: str | None = None,
                    model_version: str = "unknown") -> bool:
        """Add one scored comment to the queue, pending; False if ``comment_id`` is already there (nothing changes).

        NUL characters in the text become U+FFFD (one for one, so span offsets hold):
        PostgreSQL refuses them, and the comment must still be stored.
        """
        record = {"id": comment_id, "text": storable(text), "source": storable(source)[:300],
                  "article_id": storable(article_id)[:200] if article_id else None, "thread_id": None,
                  "score": float(score), "threshold": float(threshold), "uncertainty": abs(score - threshold),
                  "categories": categories or None,
                  "top_category": max(categories, key=categories.get) if categories else None, "reasons": None,
                  "spans": [{**s, "fragment": storable(s["fragment"])} for s in spans] if spans else None,
                  "model_version": model_version, "added_at": utc_now(), "status": "pending"}
        try:
            with self.transaction() as conn:
                conn.execute(insert(comments).values(**record))
            return True
        except IntegrityError:
            return False
