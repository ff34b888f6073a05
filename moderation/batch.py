"""Batch scoring of comment dumps: read in chunks, score, write every row out in order."""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .errors import ModerationError
from .io import TableWriter, iter_table, require_columns
from .model import Model, as_texts

__all__ = ["score_file", "score_frame", "Summary", "CHUNK_ROWS"]

CHUNK_ROWS = 5_000


@dataclass
class Summary:
    """What a scoring run did: rows read and scored, flagged, empty texts, time taken."""

    rows: int = 0
    flagged: int = 0
    empty: int = 0
    seconds: float = 0.0
    threshold: float = 0.0

    @property
    def flag_rate(self) -> float:
        return self.flagged / self.rows if self.rows else 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        return (f"{self.rows} rows scored, {self.flagged} flagged ({100 * self.flag_rate:.1f}%) "
                f"at threshold {self.threshold:.3f}, {self.empty} empty, "
                f"{self.seconds:.1f} s ({self.rows_per_second:,.0f} rows/s)")


def score_frame(model: Model, texts, ids, threshold: float, categories: bool = False) -> pd.DataFrame:
    """The output rows for one chunk: id, score, flag, [category scores], reasons."""
    scored = model.score_table(texts, categories=categories)
    out = pd.DataFrame({"id": ids, "score": np.round(scored["score"].to_numpy(), 6),
                        "flag": scored["score"].to_numpy() >= threshold})
    for c in scored.columns:
        if c not in ("score", "reasons"):
            out[c] = np.round(scored[c].to_numpy(), 6)
    out["reasons"] = scored["reasons"].to_numpy()
    return out


def _chunks(input_path, text_col: str, id_col: str | None, keep: list[str], chunk_rows: int):
    """(texts, ids, kept columns) per chunk of the input, ids defaulting to row numbers."""
    done = 0
    for chunk in iter_table(input_path, chunksize=chunk_rows):
        if chunk.shape[1] == 0 and len(chunk) == 0:
            return
        require_columns(chunk, [text_col] + ([id_col] if id_col else []) + keep, input_path)
        if id_col:
            ids = chunk[id_col].to_numpy()
        elif "id" in chunk.columns:
            ids = chunk["id"].to_numpy()
        else:
            ids = np.arange(done + 1, done + len(chunk) + 1)
        done += len(chunk)
        yield as_texts(chunk[text_col]), ids, chunk[keep].reset_index(drop=True)


# The model of a worker process, set once by the pool's initializer so it is not
# sent again with every chunk (with fork it is not pickled at all).
_worker_model: Model | None = None


def _init_worker(model: Model) -> None:
    global _worker_model
    _worker_model = model


def _work(args) -> pd.DataFrame:
    texts, ids, kept, threshold, categories = args
    return _finish(score_frame(_worker_model, texts, ids, threshold, categories), kept, texts)


def _finish(out: pd.DataFrame, kept: pd.DataFrame, texts) -> pd.DataFrame:
    for c in kept.columns:
        if c not in out.columns:
            out[c] = kept[c].to_numpy()
    return out


def _ordered_map(model: Model, tasks, jobs: int):
    """Score tasks on ``jobs`` processes, yielding results in task order, at most 2×jobs in flight."""
    if jobs <= 1:
        for texts, ids, kept, threshold, categories in tasks:
            yield _finish(score_frame(model, texts, ids, threshold, categories), kept, texts)
        return
    methods = mp.get_all_start_methods()
    ctx = mp.get_context("fork" if "fork" in methods else "spawn")
    with ctx.Pool(jobs, initializer=_init_worker, initargs=(model,)) as pool:
        pending: deque = deque()
        for task in tasks:
            pending.append(pool.apply_async(_work, (task,)))
            if len(pending) >= 2 * jobs:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def default_jobs() -> int:
    """Every core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def score_file(model: Model, input_path: str | Path, out_path: str | Path = "-", *, text_col: str = "text",
               id_col: str | None = None, threshold: float | None = None, chunk_rows: int = CHUNK_ROWS,
               keep: list[str] | None = None, categories: bool = False, jobs: int | None = None,
               progress: Callable[[int], None] | None = None) -> Summary:
    """Score every row of ``input_path`` and write id, score, flag, reasons to ``out_path``.

    Rows come out in input order, whatever ``jobs`` (default: every core). The id is
    ``id_col`` (default: an ``id`` column if the input has one), else the 1-based row
    number. ``keep`` names input columns to carry into the output (e.g. ``text``);
    ``categories`` adds a score per category. ``progress`` is called with the
    number of rows done after each chunk.
    """
    threshold = model.threshold if threshold is None else float(threshold)
    if not 0.0 <= threshold <= 1.0:
        raise ModerationError(f"threshold must be between 0 and 1, got {threshold}")
    if categories and not model.categories:
        raise ModerationError("this model has no categories (train it on data with category labels)")
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise ModerationError("--jobs must be at least 1")
    keep = list(keep or [])
    summary = Summary(threshold=threshold)
    start = time.perf_counter()

    def tasks():
        for texts, ids, kept in _chunks(input_path, text_col, id_col, keep, chunk_rows):
            summary.empty += sum(1 for t in texts if not t.strip())
            yield texts, ids, kept, threshold, categories

    with TableWriter(out_path) as writer:
        for out in _ordered_map(model, tasks(), jobs):
            writer.write(out)
            summary.rows += len(out)
            summary.flagged += int(out["flag"].sum())
            if progress:
                progress(summary.rows)
        if writer.rows == 0:
            empty = score_frame(model, [], np.array([], dtype=object), threshold, categories)
            writer.write(_finish(empty, pd.DataFrame({c: pd.Series(dtype=object) for c in keep}), []))
    summary.seconds = time.perf_counter() - start
    return summary
