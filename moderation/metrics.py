"""Metric maths for scored, labelled comments: ranking and threshold metrics, the choice of an
operating threshold, calibration, bias AUCs per identity, span F1. No file reading, no model."""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import (average_precision_score, brier_score_loss, precision_recall_curve,
                             roc_auc_score)

from .errors import ModerationError

__all__ = ["metrics", "threshold_table", "threshold_curve", "choose_threshold", "bias_metrics", "span_f1",
           "calibration_curve_table", "operating_points", "category_metrics", "identity_bias_table",
           "THRESHOLDS", "DEFAULT_TARGET_PRECISION", "OPERATING_TARGETS", "MIN_MENTIONS"]

# The operating threshold's default rule: the lowest threshold whose precision reaches this.
DEFAULT_TARGET_PRECISION = 0.9
OPERATING_TARGETS = (("precision", 0.8), ("precision", 0.9), ("precision", 0.95), ("recall", 0.8),
                     ("recall", 0.9))
# an identity is reported when this many comments mention it: fewer make its AUCs noise
MIN_MENTIONS = 10
THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def _weights(n: int, sample_weight) -> np.ndarray:
    return np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)


def metrics(labels, scores, threshold: float, sample_weight=None) -> dict:
    """ROC-AUC, PR-AUC, Brier score and precision/recall/F1/flag rate at ``threshold``.

    With ``sample_weight`` every figure is weighted (e.g. to a stated share of
    abuse); ``rows`` and ``positives`` stay counts of rows.
    """
    y = np.asarray(labels, dtype=int)
    s = np.asarray(scores, dtype=float)
    w = _weights(len(y), sample_weight)
    flagged = s >= threshold
    tp = float(np.sum(w[flagged & (y == 1)]))
    fp = float(np.sum(w[flagged & (y == 0)]))
    fn = float(np.sum(w[~flagged & (y == 1)]))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    both = len(set(y.tolist())) == 2
    return {
        "rows": int(len(y)),
        "positives": int(y.sum()),
        "roc_auc": float(roc_auc_score(y, s, sample_weight=sample_weight)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, s, sample_weight=sample_weight)) if both else float("nan"),
        "brier": float(brier_score_loss(y, s, sample_weight=sample_weight)) if len(y) else float("nan"),
        "threshold": float(threshold),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "flag_rate": float(np.sum(w[flagged]) / np.sum(w)) if len(y) else 0.0,
    }


def threshold_table(labels, scores, thresholds=THRESHOLDS, sample_weight=None) -> pd.DataFrame:
    """Precision, recall, F1 and flag rate (the moderators' workload) at each threshold."""
    rows = []
    for t in thresholds:
        m = metrics(labels, scores, t, sample_weight)
        rows.append({k: m[k] for k in ("threshold", "precision", "recall", "f1", "flag_rate")})
    return pd.DataFrame(rows)


def threshold_curve(labels, scores, thresholds=None) -> pd.DataFrame:
    """Comments flagged, precision, recall and flag rate at many thresholds (default 0.01 … 0.99).

    Counts come from one sort of the scores, not a pass per threshold, so a fine grid
    over a large set is cheap. Precision is NaN where nothing is flagged.
    """
    y = np.asarray(labels, dtype=int)
    s = np.asarray(scores, dtype=float)
    t = np.round(np.arange(1, 100) / 100, 2) if thresholds is None else np.asarray(thresholds, dtype=float)
    flagged = len(s) - np.searchsorted(np.sort(s), t, side="left")  # scores ≥ t
    positives = np.sort(s[y == 1])
    tp = len(positives) - np.searchsorted(positives, t, side="left")
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(flagged > 0, tp / np.maximum(flagged, 1), np.nan)
    return pd.DataFrame({"threshold": t, "flagged": flagged, "precision": precision,
                         "recall": tp / max(len(positives), 1), "flag_rate": flagged / max(len(s), 1)})


def choose_threshold(labels, scores, *, target_precision: float | None = None,
                     target_recall: float | None = None, sample_weight=None) -> tuple[float, bool]:
    """The operating threshold and whether the target was met.

    With a precision target (``DEFAULT_TARGET_PRECISION`` when neither target is given): the lowest
    threshold whose precision reaches it (the most recall at that precision). With
    a recall target: the highest threshold whose recall reaches it (the least
    workload at that recall). When the target cannot be met, the threshold with the
    best F1 is returned with ``False``. ``sample_weight`` weighs the rows (e.g. to a
    stated share of abuse).
    """
    y = np.asarray(labels, dtype=int)
    s = np.asarray(scores, dtype=float)
    if target_precision is not None and target_recall is not None:
        raise ModerationError("give a target precision or a target recall, not both")
    if target_precision is None and target_recall is None:
        target_precision = DEFAULT_TARGET_PRECISION
    precision, recall, thresholds = precision_recall_curve(y, s, sample_weight=sample_weight)
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


def calibration_curve_table(labels, scores, bins: int = 10, sample_weight=None) -> pd.DataFrame:
    """Reliability curve: per score bin, the mean score and the observed (weighted) rate of 'remove'."""
    y = np.asarray(labels, dtype=int)
    s = np.asarray(scores, dtype=float)
    w = _weights(len(y), sample_weight)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(s, edges[1:-1]), 0, bins - 1)
    rows = []
    for b in range(bins):
        mask = which == b
        if mask.any():
            rows.append({"bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}", "rows": int(mask.sum()),
                         "mean_score": float(np.average(s[mask], weights=w[mask])),
                         "observed_rate": float(np.average(y[mask], weights=w[mask]))})
    return pd.DataFrame(rows)


def operating_points(labels, scores, targets=OPERATING_TARGETS) -> pd.DataFrame:
    """For each target (a precision or a recall): the threshold that reaches it and what it costs."""
    y = np.asarray(labels, dtype=int)
    rows = []
    if len(set(y.tolist())) < 2:
        return pd.DataFrame(columns=["target", "threshold", "met", "precision", "recall", "flag_rate"])
    for kind, value in targets:
        t, met = choose_threshold(y, scores, **{f"target_{kind}": value})
        m = metrics(y, scores, t)
        rows.append({"target": f"{kind} ≥ {value:g}", "threshold": t, "met": met, "precision": m["precision"],
                     "recall": m["recall"], "flag_rate": m["flag_rate"]})
    return pd.DataFrame(rows)


def category_metrics(labels, category_scores: pd.DataFrame | None, category_labels: pd.DataFrame | None) -> pd.DataFrame:
    """Per category of the model: its ROC-AUC against the category's own labels (where the data has
    them) and against 'remove', and the mean category score of remove and keep rows."""
    if category_scores is None:
        return pd.DataFrame()
    y = np.asarray(labels, dtype=int)
    both = len(set(y.tolist())) == 2
    rows = []
    for name in category_scores.columns:
        s = category_scores[name].to_numpy(dtype=float)
        row = {"category": name, "labelled_rows": 0, "positives": 0, "roc_auc": float("nan"),
               "roc_auc_vs_remove": float(roc_auc_score(y, s)) if both else float("nan"),
               "mean_score_remove": float(s[y == 1].mean()) if (y == 1).any() else float("nan"),
               "mean_score_keep": float(s[y == 0].mean()) if (y == 0).any() else float("nan")}
        if category_labels is not None and name in category_labels:
            known = category_labels[name].notna().to_numpy()
            truth = category_labels[name][known].to_numpy(dtype=int)
            row["labelled_rows"], row["positives"] = int(known.sum()), int(truth.sum())
            if len(set(truth.tolist())) == 2:
                row["roc_auc"] = float(roc_auc_score(truth, s[known]))
        rows.append(row)
    return pd.DataFrame(rows)


def identity_bias_table(texts, labels, scores, threshold: float, *, min_mentions: int = MIN_MENTIONS,
                        words: Sequence[str] | None = None) -> pd.DataFrame:
    """Per identity word mentioned in at least ``min_mentions`` texts: how many mention it, their
    share labelled remove, the false-positive rate on them and the three bias AUCs (``bias_metrics``)."""
    if words is None:
        from .identities import identity_words

        words = identity_words()
    y = np.asarray(labels, dtype=int)
    s = np.asarray(scores, dtype=float)
    tokens = [set(re.findall(r"[a-z]+", t.lower())) for t in texts]
    rows = []
    for word in words:
        mask = np.fromiter((word in tok for tok in tokens), dtype=bool, count=len(tokens))
        if mask.sum() < min_mentions:
            continue
        benign = mask & (y == 0)
        rows.append({"identity": word, "mentions": int(mask.sum()), "remove_rate": float(y[mask].mean()),
                     "false_positive_rate": float((s[benign] >= threshold).mean()) if benign.any() else float("nan"),
                     **bias_metrics(y, s, mask)})
    columns = ["identity", "mentions", "remove_rate", "false_positive_rate", "subgroup_auc", "bpsn_auc", "bnsp_auc"]
    return pd.DataFrame(rows, columns=columns).sort_values(["mentions", "identity"], ascending=[False, True],
                                                           ignore_index=True)
