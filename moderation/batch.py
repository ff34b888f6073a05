"""Batch scoring of comment dumps: read in chunks, score, write every row out in order."""

from __future__ import annotations

import time
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


def score_frame(model: Model, texts, ids, threshold: float) -> pd.DataFrame:
    """The output rows for one chunk: id, score, flag, reasons."""
    scores, reasons = model.score_with_reasons(texts)
    return pd.DataFrame({"id": ids, "score": np.round(scores, 6), "flag": scores >= threshold,
                         "reasons": reasons})


def score_file(model: Model, input_path: str | Path, out_path: str | Path = "-", *, text_col: str = "text",
               id_col: str | None = None, threshold: float | None = None, chunk_rows: int = CHUNK_ROWS,
               progress: Callable[[int], None] | None = None) -> Summary:
    """Score every row of ``input_path`` and write id, score, flag, reasons to ``out_path``.

    Rows come out in input order. The id is ``id_col`` (default: an ``id`` column if
    the input has one), else the 1-based row number. ``progress`` is called with the
    number of rows done after each chunk.
    """
    threshold = model.threshold if threshold is None else float(threshold)
    if not 0.0 <= threshold <= 1.0:
        raise ModerationError(f"threshold must be between 0 and 1, got {threshold}")
    summary = Summary(threshold=threshold)
    start = time.perf_counter()
    with TableWriter(out_path) as writer:
        for chunk in iter_table(input_path, chunksize=chunk_rows):
            if chunk.shape[1] == 0 and len(chunk) == 0:
                break
            require_columns(chunk, [text_col] + ([id_col] if id_col else []), input_path)
            if id_col:
                ids = chunk[id_col].to_numpy()
            elif "id" in chunk.columns:
                ids = chunk["id"].to_numpy()
            else:
                ids = np.arange(summary.rows + 1, summary.rows + len(chunk) + 1)
            texts = as_texts(chunk[text_col])
            out = score_frame(model, texts, ids, threshold)
            writer.write(out)
            summary.rows += len(out)
            summary.flagged += int(out["flag"].sum())
            summary.empty += sum(1 for t in texts if not t.strip())
            if progress:
                progress(summary.rows)
        if writer.rows == 0:
            writer.write(pd.DataFrame({"id": pd.Series(dtype=object), "score": pd.Series(dtype=float),
                                       "flag": pd.Series(dtype=bool), "reasons": pd.Series(dtype=str)}))
    summary.seconds = time.perf_counter() - start
    return summary
