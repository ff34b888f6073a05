"""The model's classifiers as linear functions of its features: everything that assumes linearity lives here.

The main classifier and one per category are linear models over the same
features, so they score together with one sparse product, and each n-gram's
contribution to a score (coefficient × TF-IDF value) is what the reasons and the
highlighted spans show. Replacing the classifier by a non-linear one means
replacing this class, and nothing else.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from .features import kernel_weights, linear_scores, parts_of, top_words
from .persist import feature_blocks, pipeline_steps

if TYPE_CHECKING:
    import scipy.sparse as sp

__all__ = ["LinearHead", "spread_shares"]


class LinearHead:
    """The main classifier (column 0) and the category classifiers (columns 1…, in order) of a model."""

    def __init__(self, main, categories: dict | None = None, features: list | None = None):
        self.main = main
        self.categories = dict(categories or {})
        self.features = list(features or [])  # the feature blocks, in column order (for ``text_logits``)

    @classmethod
    def of(cls, pipeline, categories: dict | None = None) -> "LinearHead":
        """The head of a fitted Pipeline, or of a loaded model's ``persist.Saved`` one, whose last step is named
        ``classifier`` (and its ``features`` step's blocks, when it has one)."""
        steps = pipeline_steps(pipeline)
        return cls(steps["classifier"], categories, [block for _, block in feature_blocks(steps)])

    @cached_property
    def stacked(self) -> tuple[np.ndarray, np.ndarray]:
        """The coefficients (one column per classifier) and the intercepts, computed on first use."""
        classifiers = [self.main, *self.categories.values()]
        coef = np.column_stack([np.ravel(c.coef_) for c in classifiers])
        intercept = np.array([float(np.ravel(c.intercept_)[0]) for c in classifiers])
        return coef, intercept

    @property
    def main_coef(self) -> np.ndarray:
        return self.main.coef_.reshape(-1)

    def logits(self, X) -> np.ndarray:
        """The log-odds per row of ``X``: the main classifier in column 0, then each category."""
        coef, intercept = self.stacked
        return np.asarray(X @ coef) + intercept

    def text_logits(self, normalized: list[str], whole: np.ndarray | None = None) -> np.ndarray:
        """``logits`` of the features of normalised texts, the same values: from the compiled kernel
        (``features.linear_scores``), which never builds the feature matrix, else through the matrix.

        ``whole`` marks the texts that are followed by their own sentences (a model's units), so the kernel
        can count a text's n-grams from its sentences'.
        """
        weights = self.kernel_weights
        if weights is not None:
            parts = parts_of(whole) if whole is not None else None
            return linear_scores(self.features, normalized, parts=parts, weights=weights) + self.intercepts
        import scipy.sparse as sp

        coef, intercept = self.stacked
        return np.asarray(sp.hstack([b.transform(normalized) for b in self.features], format="csr") @ coef) + intercept

    @cached_property
    def kernel_weights(self) -> np.ndarray | None:
        """The compiled kernel's table (``features.kernel_weights``) of the feature blocks and every classifier,
        computed on first use; None where the kernel does not apply.

        A float64 table holds the coefficients as they are, so the classifiers'
        ``coef_`` then become views of its columns (the same values, held once).
        A float32 one (the coefficients are float32 values) is a second copy at
        half the size, and the classifiers keep theirs.
        """
        if not self.features:
            return None
        classifiers = [self.main, *self.categories.values()]
        if any(np.shape(c.coef_) != (1, sum(b.n_features for b in self.features)) for c in classifiers):
            return None
        weights = kernel_weights(self.features, [c.coef_.reshape(-1) for c in classifiers])
        if weights is not None and weights.dtype == np.float64:
            for j, c in enumerate(classifiers, start=1):
                c.coef_ = weights[:, j].reshape(1, -1)
        return weights

    @property
    def intercepts(self) -> np.ndarray:
        return np.array([float(np.ravel(c.intercept_)[0]) for c in [self.main, *self.categories.values()]])

    def probabilities(self, X) -> np.ndarray:
        """P(positive) per row of ``X``: the main classifier in column 0, then each category."""
        return 1.0 / (1.0 + np.exp(-self.logits(X)))

    def reasons(self, normalized: list[str], k: int) -> list[str]:
        """``top_terms`` of normalised texts, from their word block (the first) alone: from the compiled kernel
        (``features.top_words``), else through the word block's matrix and occurrences."""
        weights = self.kernel_weights
        if weights is not None:
            return top_words(self.features[0], normalized, weights, k)
        return self.top_terms(normalized, *self.features[0].transform_with_occurrences(normalized), k)

    def top_terms(self, normalized: list[str], Xw: sp.csr_matrix, occ, k: int) -> list[str]:
        """Per text, the ``k`` word n-grams with the largest positive contribution to the main score.

        ``Xw`` is the word block of the features (the first columns) and ``occ`` its
        n-gram occurrences; the phrase shown is each chosen n-gram's first occurrence.
        """
        coef = self.main_coef[:Xw.shape[1]]
        contrib = Xw.data * coef[Xw.indices]
        rows = np.repeat(np.arange(Xw.shape[0]), np.diff(Xw.indptr))
        positive = contrib > 0
        rows, cols, contrib = rows[positive], Xw.indices[positive], contrib[positive]
        order = np.lexsort((-contrib, rows))
        rows, cols = rows[order], cols[order]
        rank = np.arange(len(rows)) - np.searchsorted(rows, rows)  # position within its row
        rows, cols = rows[rank < k], cols[rank < k]
        if not len(rows):
            return ["" for _ in normalized]
        # the first occurrence of each chosen (text, column) gives the phrase to show; only the
        # occurrences of chosen pairs are sorted, not all of them
        chosen = rows.astype(np.int64) * Xw.shape[1] + cols
        wanted = np.unique(chosen)
        keys = occ.doc.astype(np.int64) * Xw.shape[1] + occ.col
        hits = np.flatnonzero(wanted[np.minimum(np.searchsorted(wanted, keys), len(wanted) - 1)] == keys)
        unique, first = np.unique(keys[hits], return_index=True)
        at = hits[first[np.searchsorted(unique, chosen)]]
        out: list[list[str]] = [[] for _ in normalized]
        for row, s, e in zip(rows.tolist(), occ.start[at].tolist(), occ.end[at].tolist()):
            out[row].append(normalized[row][s:e])
        return ["; ".join(terms) for terms in out]

    def char_contributions(self, blocks, lengths: list[int]) -> list[np.ndarray]:
        """Per character of each normalised text, the summed contribution of the n-grams covering it.

        ``blocks`` are the feature blocks of those texts, in column order, each a
        matrix (a row per text) with its n-gram occurrences. An n-gram's contribution
        to a text (coefficient × its TF-IDF value there) is shared by its occurrences
        in the text and spread evenly over the characters each covers.
        """
        coef = self.main_coef
        ends = np.cumsum(np.asarray(lengths, dtype=np.int64) + 1)  # each text has its own slots, and one past
        starts = ends - np.asarray(lengths, dtype=np.int64) - 1
        weight = np.zeros(int(ends[-1]) if len(ends) else 0, dtype=np.float64)
        offset = 0
        for X, occ in blocks:
            n_cols = X.shape[1]
            pairs, inverse, counts = np.unique(occ.doc.astype(np.int64) * n_cols + occ.col, return_inverse=True,
                                               return_counts=True)
            share = coef[offset + occ.col] * _matrix_values(X, pairs)[inverse] / np.maximum(counts[inverse], 1)
            at = starts[occ.doc]
            spread_shares(weight, occ._replace(start=occ.start + at, end=occ.end + at), share)
            offset += n_cols
        return [np.cumsum(weight[s:e])[:-1] for s, e in zip(starts.tolist(), ends.tolist())]

    def clip_positive(self, columns: np.ndarray) -> int:
        """Set the main classifier's positive weights on ``columns`` to 0; how many changed."""
        coef = self.main.coef_
        changed = int((coef[0, columns] > 0).sum())
        coef[0, columns] = np.minimum(coef[0, columns], 0.0)
        self.__dict__.pop("stacked", None)
        self.__dict__.pop("kernel_weights", None)
        return changed

    def round_weights(self) -> None:
        """Round every classifier's weights to single precision, kept as float64: the low half of each weight is
        then zeros, which the model file's compression removes (a third smaller), and scores move by under 1e-6."""
        for clf in (self.main, *self.categories.values()):
            clf.coef_ = clf.coef_.astype(np.float32).astype(np.float64)
        self.__dict__.pop("stacked", None)

    def describe(self) -> dict:
        """The classifier's settings, for the model card."""
        clf = self.main
        return {"type": type(clf).__name__, "C": clf.C, "class_weight": clf.class_weight}


def _matrix_values(X, keys: np.ndarray) -> np.ndarray:
    """The values of the matrix ``X`` at the sorted flat positions ``keys`` (row × columns + column; 0 where it
    has none), looked up among the entries it holds: a dense row of a block's million columns cost most of an
    explanation."""
    X = X.tocsr()
    if not X.has_canonical_format:  # sorted columns, each once
        X = X.copy()
        X.sum_duplicates()
    held = np.repeat(np.arange(X.shape[0], dtype=np.int64), np.diff(X.indptr)) * X.shape[1] + X.indices
    values = np.zeros(len(keys), dtype=X.dtype)
    if len(held):
        at = np.minimum(np.searchsorted(held, keys), len(held) - 1)
        found = held[at] == keys
        values[found] = X.data[at[found]]
    return values


def spread_shares(weight: np.ndarray, occ, share: np.ndarray) -> None:
    """Add each occurrence's ``share`` spread evenly over the characters it covers to ``weight`` as a difference
    array (``np.cumsum(weight)`` gives the per-character sums)."""
    span = occ.end - occ.start
    keep = span > 0
    per_char = share[keep] / span[keep]
    np.add.at(weight, occ.start[keep], per_char)
    np.add.at(weight, occ.end[keep], -per_char)
