"""A detailed evaluation of one model on one labelled set: what `moderation evaluate` prints and
`--report` draws, and the comparison of two models on the same data."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .errors import ModerationError
from .io import ReadOptions
from .labels import LabelledSet, check_classes, read_labelled_set
from .metrics import (calibration_curve_table, category_metrics, identity_bias_table, metrics, operating_points,
                      threshold_curve, threshold_table, MIN_MENTIONS)

__all__ = ["Evaluation", "detailed_evaluation", "evaluate_files", "difference", "model_names", "DIFFERENCES"]

# What a comparison of two models reports: metric key and its label.
DIFFERENCES = (("roc_auc", "ROC-AUC"), ("pr_auc", "PR-AUC"), ("brier", "Brier"), ("precision", "precision"),
               ("recall", "recall"), ("flag_rate", "flag rate"))


@dataclass
class Evaluation:
    """One model on one labelled set: every number and example the text output and the report show."""

    data: str
    model: str
    labels: np.ndarray
    scores: np.ndarray
    threshold: float
    metrics: dict
    thresholds: pd.DataFrame
    curve: pd.DataFrame
    operating_points: pd.DataFrame
    confusion: dict
    calibration: pd.DataFrame
    categories: pd.DataFrame
    identities: pd.DataFrame
    false_positives: list[dict] = field(default_factory=list)
    false_negatives: list[dict] = field(default_factory=list)


def detailed_evaluation(model, data: LabelledSet, *, model_name: str = "model", worst: int = 10,
                        min_mentions: int = MIN_MENTIONS) -> Evaluation:
    """Score ``data`` with ``model`` and compute the metrics, tables and worst errors at its threshold."""
    y = np.asarray(data.labels, dtype=int)
    if len(y) == 0:
        raise ModerationError(f"{data.name}: no rows to evaluate")
    if model.category_names:
        scored = model.score(data.texts, categories=True)
        scores, category_scores = scored["score"].to_numpy(), scored.drop(columns="score")
    else:
        scores, category_scores = np.asarray(model.score(data.texts)), None
    t = float(model.threshold)
    flagged = scores >= t
    return Evaluation(
        data=data.name, model=model_name, labels=y, scores=scores, threshold=t,
        metrics=metrics(y, scores, t),
        thresholds=threshold_table(y, scores),
        curve=threshold_curve(y, scores),
        operating_points=operating_points(y, scores),
        confusion={"true_positive": int(np.sum(flagged & (y == 1))), "false_positive": int(np.sum(flagged & (y == 0))),
                   "false_negative": int(np.sum(~flagged & (y == 1))), "true_negative": int(np.sum(~flagged & (y == 0)))},
        calibration=calibration_curve_table(y, scores),
        categories=category_metrics(y, category_scores, data.categories),
        identities=identity_bias_table(data.texts, y, scores, t, min_mentions=min_mentions),
        false_positives=_examples(model, data.texts, scores, np.flatnonzero(flagged & (y == 0)), worst, highest=True),
        false_negatives=_examples(model, data.texts, scores, np.flatnonzero(~flagged & (y == 1)), worst, highest=False),
    )


def _examples(model, texts, scores, candidates: np.ndarray, n: int, highest: bool) -> list[dict]:
    """The ``n`` candidates with the highest (or lowest) scores, with the model's highlighted spans."""
    order = candidates[np.argsort(scores[candidates], kind="stable")]
    chosen = order[::-1][:n] if highest else order[:n]
    spans = model.explain_many([texts[i] for i in chosen])
    return [{"row": int(i) + 1, "text": texts[i], "score": float(scores[i]), "spans": found}
            for i, found in zip(chosen, spans)]


def model_names(paths: Sequence[str | Path]) -> list[str]:
    """Names for models in the order given: their directories' names, the whole paths when two share a name,
    and numbered when even those are the same."""
    names = [Path(p).name for p in paths]
    if len(set(names)) < len(names):
        names = [str(p) for p in paths]
    if len(set(names)) < len(names):
        names = [f"{name} ({i})" for i, name in enumerate(names, start=1)]
    return names


def evaluate_files(models: Sequence[tuple[str, object]], paths: Sequence[str | Path], *, text_col: str = "text",
                   label_col: str = "label", positive: str | None = None,
                   worst: int = 0, read: ReadOptions | None = None) -> list[Evaluation]:
    """Every (name, model) on every labelled file: evaluations in file order, the models in the order given
    within each file. Category columns named like any model's categories are read as category labels.

    Every file is read and checked (both classes present) before anything is
    scored; a file a model was trained on (the same sha256 as a source in its card)
    gets a warning, as its metrics flatter the model.
    """
    categories = sorted({c for _, m in models for c in m.category_names})
    sets = []
    for path in paths:
        labelled = read_labelled_set(path, text_col, label_col, positive, categories, read=read)
        if len(labelled.labels) == 0:
            raise ModerationError(f"{path}: no rows to evaluate")
        check_classes(labelled.labels, str(path), purpose="evaluation", minimum=1)
        sets.append(labelled)
    for path in paths:
        _warn_if_trained_on(path, models)
    evaluations = []
    for labelled in sets:
        for name, m in models:
            evaluations.append(detailed_evaluation(m, labelled, model_name=name, worst=worst))
    return evaluations


def _warn_if_trained_on(path, models) -> None:
    """Warn when a model's card lists ``path``'s contents (by sha256) among its training sources."""
    import warnings

    from .persist import sha256_file

    known = {s.sha256 for _, m in models if m.card is not None for s in m.card.sources if s.sha256}
    if not known or not Path(path).is_file():
        return
    digest = sha256_file(path)
    for name, m in models:
        if m.card is not None and any(s.sha256 == digest for s in m.card.sources):
            warnings.warn(f"{path} is a file the model {name} was trained on: its metrics here flatter the model",
                          UserWarning, stacklevel=2)


def difference(a: Evaluation, b: Evaluation) -> dict[str, float]:
    """``b`` minus ``a`` for each metric of ``DIFFERENCES``."""
    return {key: b.metrics[key] - a.metrics[key] for key, _ in DIFFERENCES}
