"""Labelled comments: parsing the "remove" labels and the category labels, and reading labelled tables.

Labels are parsed here once, strictly, for training and evaluation alike: a value
that is not understood is refused with the rows where it occurs, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .errors import ModerationError, ParameterError, literal
from .io import ReadOptions, printable
from .normalize import as_texts

__all__ = ["parse_labels", "parse_category_labels", "check_classes", "LabelledSet", "read_labelled_set",
           "MIN_PER_CLASS"]

MIN_PER_CLASS = 5
_TRUE = {"1", "1.0", "true", "t", "yes", "y"}
_FALSE = {"0", "0.0", "false", "f", "no", "n"}


def _as_strings(values) -> pd.Series:
    raw = pd.Series(list(values), dtype=object)
    return raw.map(lambda v: "" if v is None or (isinstance(v, float) and v != v) or v is pd.NA else str(v).strip())


def _offending(text: pd.Series, bad: pd.Series) -> str:
    """The first offending values with the (1-based) rows where they occur."""
    offending: dict[str, list[int]] = {}
    for row, value in zip(np.flatnonzero(bad.to_numpy()), text[bad]):
        offending.setdefault(value, []).append(row + 1)
    shown = "; ".join(f"{v!r} (rows {', '.join(map(str, rows[:3]))}{', …' if len(rows) > 3 else ''})"
                      for v, rows in list(offending.items())[:5])
    more = f" and {len(offending) - 5} more values" if len(offending) > 5 else ""
    return shown + more


def _values_seen(text: pd.Series) -> str:
    """The most common values of a label column, with their counts, for a message."""
    counts = text.value_counts()
    shown = ", ".join(f"{printable(repr(v))} ({n})" for v, n in counts.head(8).items())
    return shown + (f" and {len(counts) - 8} more" if len(counts) > 8 else "")


def parse_labels(values, positive: str | None = None, where: str = "labels") -> np.ndarray:
    """Labels as 0/1 ints: 0/1, true/false, yes/no, or ``positive`` naming the "remove" value.

    ``positive`` matches case-insensitively (``removed`` matches ``Removed``); when
    no value matches it, the values there are are listed. Without it, anything but
    0/1, true/false and yes/no is refused with the offending values and the
    (1-based) row numbers where they first occur.
    """
    text = _as_strings(values)
    if positive is not None:
        wanted = str(positive).strip().casefold()
        y = (text.str.casefold() == wanted).to_numpy(dtype=int)
        if len(y) and not y.any():
            raise ParameterError(f"{literal(where)} has no value {literal(printable(repr(str(positive).strip())))} "
                                 f"for {{positive}} (values: {literal(_values_seen(text))})", "positive")
        return y
    lowered = text.str.lower()
    bad = ~lowered.isin(_TRUE | _FALSE)
    if bad.any():
        raise ModerationError(f"{where} are not binary: {_offending(text, bad)}; use 0/1, true/false, "
                              f"or --positive VALUE to name the 'remove' label")
    return lowered.isin(_TRUE).to_numpy(dtype=int)


def parse_category_labels(values, where: str = "category labels") -> pd.Series:
    """A category column as 0.0/1.0, with empty or missing values as NA (not annotated for that row).

    0/1, true/false and yes/no are understood; anything else is refused.
    """
    text = _as_strings(values)
    lowered = text.str.lower()
    known = lowered != ""
    bad = known & ~lowered.isin(_TRUE | _FALSE)
    if bad.any():
        raise ModerationError(f"{where} are not binary: {_offending(text, bad)}; use 0/1 or true/false, "
                              "and leave a row empty where the category was not annotated")
    out = pd.Series(pd.NA, index=range(len(text)), dtype="Float64")
    out[known.to_numpy()] = lowered[known].isin(_TRUE).astype(float).to_numpy()
    return out


def check_classes(y: np.ndarray, where: str, purpose: str = "training", minimum: int = MIN_PER_CLASS) -> None:
    """Refuse labels with a single class, or fewer than ``minimum`` rows of one (``purpose`` names the need)."""
    counts = np.bincount(np.asarray(y, dtype=int), minlength=2)
    if counts.min() == 0:
        only = "remove (1)" if counts[1] else "keep (0)"
        raise ModerationError(f"{where} has a single class: every row is {only}; {purpose} needs both")
    if counts.min() < minimum:
        raise ModerationError(f"{where} has too few rows of one class ({counts[0]} keep, {counts[1]} remove); "
                              f"{purpose} needs at least {minimum} of each")


@dataclass
class LabelledSet:
    """Labelled comments: texts, 0/1 labels and, when the table has them, 0/1/NA category labels."""

    name: str
    texts: list[str]
    labels: np.ndarray
    categories: pd.DataFrame | None = None


def read_labelled_set(path: str | Path, text_col: str = "text", label_col: str = "label",
                      positive: str | None = None, categories: Sequence[str] = (),
                      read: ReadOptions | None = None) -> LabelledSet:
    """A labelled table; the columns named in ``categories`` that it has are read as category labels.

    Read as ``io.read_table`` reads (``read``: format, delimiter, encoding), the
    columns found as ``io.resolve_columns`` finds them (also in another case).
    """
    from .io import read_whole, resolve_columns

    df, columns = read_whole(path, read)
    found = resolve_columns(columns, {"text_col": text_col, "label_col": label_col})
    present = [c for c in categories if c in df.columns]
    cats = None
    if present:
        cats = pd.DataFrame({c: parse_category_labels(df[c], f"{path}: column {c!r}") for c in present})
    return LabelledSet(name=str(path), texts=as_texts(df[found[text_col]]),
                       labels=parse_labels(df[found[label_col]], positive,
                                           where=f"{path}: column {printable(repr(found[label_col]))}"),
                       categories=cats)

