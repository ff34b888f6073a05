"""Training: fit the Pipeline, hold out data to measure it, pick the operating threshold, fill the card."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from .errors import ModerationError
from .evaluate import choose_threshold, metrics, threshold_table
from .io import read_table, require_columns
from .model import Model, as_texts, build_pipeline, sha256_file, versions

__all__ = ["train", "parse_labels", "read_labelled", "source_weights", "MIN_PER_CLASS"]

MIN_PER_CLASS = 5
_TRUE = {"1", "1.0", "true", "t", "yes", "y"}
_FALSE = {"0", "0.0", "false", "f", "no", "n"}


def parse_labels(values, positive: str | None = None, where: str = "labels") -> np.ndarray:
    """Labels as 0/1 ints: 0/1, true/false, yes/no, or ``positive`` naming the "remove" value.

    Anything else is refused with the offending values and the (1-based) row numbers
    where they first occur.
    """
    raw = pd.Series(list(values), dtype=object)
    text = raw.map(lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v).strip())
    if positive is not None:
        return (text == str(positive).strip()).to_numpy(dtype=int)
    lowered = text.str.lower()
    bad = ~lowered.isin(_TRUE | _FALSE)
    if bad.any():
        offending = {}
        for row, value in zip(np.flatnonzero(bad.to_numpy()), text[bad]):
            offending.setdefault(value, []).append(row + 1)
        shown = "; ".join(f"{v!r} (rows {', '.join(map(str, rows[:3]))}{', …' if len(rows) > 3 else ''})"
                          for v, rows in list(offending.items())[:5])
        more = f" and {len(offending) - 5} more values" if len(offending) > 5 else ""
        raise ModerationError(f"{where} are not binary: {shown}{more}; use 0/1, true/false, "
                              f"or --positive VALUE to name the 'remove' label")
    return lowered.isin(_TRUE).to_numpy(dtype=int)


def _check_classes(y: np.ndarray, where: str) -> None:
    counts = np.bincount(y, minlength=2)
    if counts.min() == 0:
        only = "remove (1)" if counts[1] else "keep (0)"
        raise ModerationError(f"{where} has a single class: every row is {only}; training needs both")
    if counts.min() < MIN_PER_CLASS:
        raise ModerationError(f"{where} has too few rows of one class ({counts[0]} keep, {counts[1]} remove); "
                              f"training needs at least {MIN_PER_CLASS} of each")


def read_labelled(path: str | Path, text_col: str = "text", label_col: str = "label",
                  positive: str | None = None) -> tuple[list[str], np.ndarray]:
    """Texts and 0/1 labels from a labelled table file."""
    df = read_table(path)
    require_columns(df, [text_col, label_col], path)
    return as_texts(df[text_col]), parse_labels(df[label_col], positive, where=f"{path}: column {label_col!r}")


def source_weights(sources: Sequence[str]) -> np.ndarray:
    """Sample weights giving every source the same total weight (mean weight 1).

    Corpora differ in size by an order of magnitude and define "abusive"
    differently; equal weight keeps the biggest from defining the model alone.
    """
    s = pd.Series(list(sources))
    counts = s.map(s.value_counts())
    w = 1.0 / counts.to_numpy(dtype=float)
    return w * len(w) / w.sum()


def train(texts, labels, *, sample_weight=None, eval_texts=None, eval_labels=None,
          target_precision: float | None = 0.9, target_recall: float | None = None,
          test_size: float = 0.2, random_state: int = 0, refit: bool = True,
          sources: list[dict] | None = None, name: str | None = None, **pipeline_options) -> Model:
    """Train a Model on ``texts`` and 0/1 ``labels``.

    Metrics and the threshold come from ``eval_texts``/``eval_labels`` when given,
    else from a stratified ``test_size`` split held out from training; with
    ``refit`` (the default) the model is then refit on all rows with that
    threshold. The threshold meets ``target_precision`` (default 0.90) or, if
    given, ``target_recall``. ``pipeline_options`` go to ``build_pipeline``.
    """
    texts = as_texts(texts)
    y = parse_labels(labels) if not np.issubdtype(np.asarray(labels).dtype, np.integer) else np.asarray(labels, dtype=int)
    if len(texts) != len(y):
        raise ModerationError(f"{len(texts)} texts but {len(y)} labels")
    if set(np.unique(y)) - {0, 1}:
        raise ModerationError(f"labels must be 0 or 1, got {sorted(set(np.unique(y)) - {0, 1})[:5]}")
    _check_classes(y, "the training data")
    if target_recall is not None:
        target_precision = None
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    idx = np.arange(len(texts))
    if eval_texts is not None:
        ev_texts = as_texts(eval_texts)
        ev_y = np.asarray(eval_labels, dtype=int)
        _check_classes(ev_y, "the evaluation data")
        fit_idx, method = idx, "evaluation file"
    else:
        fit_idx, held_idx = train_test_split(idx, test_size=test_size, stratify=y, random_state=random_state)
        ev_texts = [texts[i] for i in held_idx]
        ev_y = y[held_idx]
        method = f"stratified {test_size:.0%} hold-out"

    pipeline = build_pipeline(**pipeline_options)
    fit_params = {} if weights is None else {"classifier__sample_weight": weights[fit_idx]}
    pipeline.fit([texts[i] for i in fit_idx], y[fit_idx], **fit_params)
    model = Model(pipeline=pipeline)
    ev_scores = model.score(ev_texts)
    threshold, met = choose_threshold(ev_y, ev_scores, target_precision=target_precision,
                                      target_recall=target_recall)
    held_out = metrics(ev_y, ev_scores, threshold)
    table = threshold_table(ev_y, ev_scores)
    if refit and eval_texts is None:
        pipeline = build_pipeline(**pipeline_options)
        pipeline.fit(texts, y, **({} if weights is None else {"classifier__sample_weight": weights}))
        method += ", then refit on all rows"

    card = {
        "name": name or "moderation model",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "training_data": {
            "rows": len(texts),
            "positive_rate": round(float(y.mean()), 4),
            "sources": sources or [],
        },
        "threshold_rule": {"target_precision": target_precision, "target_recall": target_recall, "met": met},
        "evaluation": {"method": method, "held_out": _rounded(held_out),
                       "threshold_table": threshold_table_records(table)},
        "pipeline": describe_pipeline(pipeline),
        "versions": versions(),
    }
    return Model(pipeline=pipeline, threshold=threshold, card=card)


def _rounded(d: dict) -> dict:
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()}


def threshold_table_records(table: pd.DataFrame) -> list[dict]:
    return [_rounded(r) for r in table.to_dict(orient="records")]


def describe_pipeline(pipeline) -> dict:
    """The settings that define the Pipeline, for the model card."""
    union = pipeline.named_steps["features"]
    clf = pipeline.named_steps["classifier"]
    out = {}
    for name, vec in union.transformer_list:
        out[name] = {"analyzer": vec.analyzer, "ngram_range": list(vec.ngram_range), "min_df": vec.min_df,
                     "features": len(getattr(vec, "vocabulary_", {}))}
    out["classifier"] = {"type": type(clf).__name__, "C": clf.C, "class_weight": clf.class_weight}
    return out


def describe_file(path: str | Path, labels: np.ndarray) -> dict:
    """A training source for the card: name, rows, positive rate and the file's sha256."""
    p = Path(path)
    return {"name": p.name, "rows": int(len(labels)), "positive_rate": round(float(np.mean(labels)), 4),
            "sha256": sha256_file(p) if p.is_file() else None}


def corpus_training_set(root: str | Path, names: Sequence[str] | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """The pooled public corpora under ``root`` and a card entry for each."""
    from . import corpora

    frame = corpora.load_corpora(root, names)
    return frame, corpora.describe(root, names, frame=frame)


def train_from_files(paths: Sequence[str | Path], *, corpus: str | Path | None = None, text_col: str = "text",
                     label_col: str = "label", positive: str | None = None,
                     target_precision: float | None = 0.9, target_recall: float | None = None,
                     eval_file: str | Path | None = None, cross_corpus: bool = False, **options) -> Model:
    """Train on labelled table files and/or the public corpora in ``corpus``.

    Every source (each file, each corpus) gets the same total sample weight. With
    ``cross_corpus`` the card also gets the leave-one-corpus-out table.
    """
    texts: list[str] = []
    labels: list[np.ndarray] = []
    source_of_row: list[str] = []
    sources: list[dict] = []
    for path in paths:
        t, y = read_labelled(path, text_col, label_col, positive)
        texts += t
        labels.append(y)
        source_of_row += [str(path)] * len(t)
        sources.append(describe_file(path, y))
    frame = None
    if corpus is not None:
        frame, described = corpus_training_set(corpus)
        texts += frame["text"].tolist()
        labels.append(frame["label"].to_numpy(dtype=int))
        source_of_row += frame["source"].tolist()
        sources += described
    y = np.concatenate(labels) if labels else np.zeros(0, dtype=int)
    if len(y) == 0:
        raise ModerationError("no rows to train on")
    weights = source_weights(source_of_row) if len(sources) > 1 else None
    ev_texts = ev_y = None
    if eval_file is not None:
        ev_texts, ev_y = read_labelled(eval_file, text_col, label_col, positive)
    model = train(texts, y, sample_weight=weights, eval_texts=ev_texts, eval_labels=ev_y,
                  target_precision=target_precision, target_recall=target_recall, sources=sources,
                  name="default" if corpus is not None and not paths else None, **options)
    if cross_corpus:
        if frame is None:
            raise ModerationError("--cross-corpus needs --corpus")
        model.card["cross_corpus"] = leave_one_corpus_out(frame, **options)
    return model


def leave_one_corpus_out(frame: pd.DataFrame, baseline=None, **options) -> list[dict]:
    """Train on every corpus but one and test on the one left out, for each corpus.

    ``baseline``, if given, is a function texts → scores (e.g. alt-profanity-check)
    measured on the same held-out rows.
    """
    from sklearn.metrics import roc_auc_score

    rows = []
    for held in sorted(frame["source"].unique()):
        test = frame[frame["source"] == held]
        fit = frame[frame["source"] != held]
        pipeline = build_pipeline(**options)
        pipeline.fit(fit["text"].tolist(), fit["label"].to_numpy(dtype=int),
                     classifier__sample_weight=source_weights(fit["source"].tolist()))
        scores = Model(pipeline).score(test["text"].tolist())
        y = test["label"].to_numpy(dtype=int)
        row = {"held_out": held, "rows": int(len(test)), "positive_rate": round(float(y.mean()), 3),
               "roc_auc": round(float(roc_auc_score(y, scores)), 4)}
        if baseline is not None:
            row["baseline_roc_auc"] = round(float(roc_auc_score(y, baseline(test["text"].tolist()))), 4)
        rows.append(row)
    return rows
