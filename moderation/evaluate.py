"""Metrics for a scored, labelled set and the choice of an operating threshold."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import (average_precision_score, brier_score_loss, precision_recall_curve,
                             roc_auc_score)

from .errors import ModerationError

__all__ = ["metrics", "threshold_table", "choose_threshold", "evaluate", "bias_metrics", "span_f1",
           "calibration_curve_table", "THRESHOLDS"]

THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def metrics(labels, scores, threshold: float) -> dict:
    """ROC-AUC, PR-AUC, Brier score and precision/recall/F1/flag rate at ``threshold``."""
    y = np.asarray(labels, dtype=int)
    s = np.asarray(scores, dtype=float)
    flagged = s >= threshold
    tp = int(np.sum(flagged & (y == 1)))
    fp = int(np.sum(flagged & (y == 0)))
    fn = int(np.sum(~flagged & (y == 1)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    both = len(set(y.tolist())) == 2
    return {
        "rows": int(len(y)),
        "positives": int(y.sum()),
        "roc_auc": float(roc_auc_score(y, s)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, s)) if both else float("nan"),
        "brier": float(brier_score_loss(y, s)) if len(y) else float("nan"),
        "threshold": float(threshold),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "flag_rate": float(flagged.mean()) if len(y) else 0.0,
    }


def threshold_table(labels, scores, thresholds=THRESHOLDS) -> pd.DataFrame:
    """Precision, recall, F1 and flag rate (the moderators' workload) at each threshold."""
    rows = []
    for t in thresholds:
        m = metrics(labels, scores, t)
        rows.append({k: m[k] for k in ("threshold", "precision", "recall", "f1", "flag_rate")})
    return pd.DataFrame(rows)


def choose_threshold(labels, scores, *, target_precision: float | None = 0.9,
                     target_recall: float | None = None) -> tuple[float, bool]:
    """The operating threshold and whether the target was met.

    With a precision target: the lowest threshold whose precision reaches it (the
    most recall at that precision). With a recall target: the highest threshold
    whose recall reaches it (the least workload at that recall). When the target
    cannot be met, the threshold with the best F1 is returned with ``False``.
    """
    y = np.asarray(labels, dtype=int)
    s = np.asarray(scores, dtype=float)
    if target_precision is not None and target_recall is not None:
        raise ModerationError("give a target precision or a target recall, not both")
    precision, recall, thresholds = precision_recall_curve(y, s)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    if target_recall is not None:
        ok = np.flatnonzero(recall >= target_recall)
        if len(ok):
            return float(thresholds[ok[-1]]), True
    else:
        ok = np.flatnonzero(precision >= target_precision)
        if len(ok):
            return float(thresholds[ok[0]]), True
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0)
    return float(thresholds[int(np.argmax(f1))]), False


def evaluate(model, texts, labels, thresholds=THRESHOLDS) -> tuple[dict, pd.DataFrame]:
    """Score ``texts`` with ``model``: the metrics at its threshold and the threshold table."""
    scores = model.score(texts)
    return metrics(labels, scores, model.threshold), threshold_table(labels, scores, thresholds)


def bias_metrics(labels, scores, subgroup_mask) -> dict:
    """Subgroup, BPSN and BNSP ROC-AUC for one identity (Borkan et al., 2019).

    * subgroup AUC: only comments mentioning the identity;
    * BPSN (background positive, subgroup negative): benign comments mentioning
      the identity against abusive ones that do not; low means the identity's
      mere mention pushes benign comments up;
    * BNSP (background negative, subgroup positive): abusive comments mentioning
      the identity against benign ones that do not; low means abuse of this group
      is missed.
    """
    y = np.asarray(labels, dtype=int)
    s = np.asarray(scores, dtype=float)
    g = np.asarray(subgroup_mask, dtype=bool)

    def auc(mask):
        return float(roc_auc_score(y[mask], s[mask])) if len(set(y[mask].tolist())) == 2 else float("nan")

    return {"subgroup_auc": auc(g),
            "bpsn_auc": auc((g & (y == 0)) | (~g & (y == 1))),
            "bnsp_auc": auc((g & (y == 1)) | (~g & (y == 0)))}


def span_f1(predicted: list[tuple[int, int]], gold: list[tuple[int, int]]) -> float:
    """Character-offset F1 of SemEval-2021 Task 5 for one text.

    Both sets of spans are turned into sets of character offsets; two empty sets
    score 1, one empty set against a non-empty one scores 0.
    """
    p = {i for s, e in predicted for i in range(s, e)}
    g = {i for s, e in gold for i in range(s, e)}
    if not g:
        return 1.0 if not p else 0.0
    if not p:
        return 0.0
    overlap = len(p & g)
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(p), overlap / len(g)
    return 2 * precision * recall / (precision + recall)


def calibration_curve_table(labels, scores, bins: int = 10) -> pd.DataFrame:
    """Reliability curve: per score bin, the mean score and the observed rate of 'remove'."""
    y = np.asarray(labels, dtype=int)
    s = np.asarray(scores, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(s, edges[1:-1]), 0, bins - 1)
    rows = []
    for b in range(bins):
        mask = which == b
        if mask.any():
            rows.append({"bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}", "rows": int(mask.sum()),
                         "mean_score": float(s[mask].mean()), "observed_rate": float(y[mask].mean())})
    return pd.DataFrame(rows)
