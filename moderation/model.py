"""The classifier: one scikit-learn Pipeline plus the threshold and card that travel with it.

``build_pipeline`` makes the Pipeline (normalise → word and character TF-IDF →
logistic regression). ``Model`` wraps a fitted Pipeline with its category
classifiers, operating threshold and model card, and is what users score, flag
and explain with. Saving and loading are in ``moderation.persist``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterable, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from .card import ModelCard
from .errors import ModerationError
from .features import HashedTfidf
from .linear import LinearHead
from .normalize import TextNormalizer, as_texts, is_dropped, normalize, normalize_with_offsets

__all__ = ["Model", "Span", "build_pipeline", "MAX_TEXT_CHARS"]

# Longer texts are scored and explained on their first MAX_TEXT_CHARS characters:
# enough for any comment, and it bounds the time and memory one hostile row can take.
MAX_TEXT_CHARS = 100_000
# Texts scored at a time within one score_table call: scoring 10,000 news comments
# (about 200 characters each) peaks at about 135 MB of Python allocations.
SCORE_BLOCK = 10_000


class Span(NamedTuple):
    """Characters ``text[start:end]`` of the original text that pushed the score up by ``weight``."""

    start: int
    end: int
    fragment: str
    weight: float


def build_pipeline(*, C: float = 4.0, word_ngrams=(1, 2), char_ngrams=(2, 5), min_df: int = 2,
                   word_features: int = 2 ** 19, char_features: int = 2 ** 20,
                   class_weight: str | None = "balanced") -> Pipeline:
    """An unfitted Pipeline: ``normalize`` → ``features`` (``words`` + ``chars``) → ``classifier``.

    The features are TF-IDF over hashed word n-grams and character n-grams within
    words (``HashedTfidf``): vectorised, so scoring is fast, and stateless apart from
    the idf weights, so the model file stays small.
    """
    words = HashedTfidf(analyzer="word", ngram_range=word_ngrams, n_features=word_features, min_df=min_df)
    chars = HashedTfidf(analyzer="char_wb", ngram_range=char_ngrams, n_features=char_features, min_df=min_df)
    return Pipeline([
        ("normalize", TextNormalizer()),
        ("features", FeatureUnion([("words", words), ("chars", chars)])),
        # liblinear shuffles the data: a fixed random_state makes training reproducible
        ("classifier", LogisticRegression(C=C, class_weight=class_weight, max_iter=2000,
                                          solver="liblinear", random_state=0)),
    ])


@dataclass
class Model:
    """A fitted Pipeline with its operating threshold and model card.

    ``score`` gives P(remove) per text, ``flag`` compares it with the threshold,
    ``explain`` returns the character spans of one text that pushed its score up.
    """

    pipeline: Pipeline
    threshold: float = 0.5
    card: ModelCard = field(default_factory=ModelCard)
    categories: dict = field(default_factory=dict)

    # -- scoring -----------------------------------------------------------
    def _features(self, normalized: list[str], occurrences: bool = False, word_occurrences: bool = False):
        """Per feature block (words, chars): its matrix, and its n-gram occurrences if asked for
        (``word_occurrences``: for the word block only, which is all the reasons need)."""
        union = self.pipeline.named_steps["features"]
        return [t.transform_with_occurrences(normalized) if occurrences or (word_occurrences and name == "words")
                else (t.transform(normalized), None) for name, t in union.transformer_list]

    def features_matrix(self, texts: Iterable) -> sp.csr_matrix:
        """The feature matrix the classifier sees for ``texts`` (normalised, word + char TF-IDF)."""
        return sp.hstack([X for X, _ in self._features([normalize(t) for t in as_texts(texts)])], format="csr")

    @cached_property
    def head(self) -> LinearHead:
        """The classifiers as one linear head; a model whose classifiers change afterwards needs a new ``Model``."""
        return LinearHead.of(self.pipeline, self.categories)

    def score(self, texts: Iterable, categories: bool = False):
        """P(remove) for each text, as a float array; empty or missing text scores 0.

        With ``categories=True``: a DataFrame with ``score`` and one column per category.
        """
        table = self.score_table(texts, categories=categories, reasons=0)
        if categories:
            return table.drop(columns="reasons")
        return table["score"].to_numpy()

    def score_with_reasons(self, texts: Iterable, k: int = 3) -> tuple[np.ndarray, list[str]]:
        """Scores and, per text, the up to ``k`` words or phrases that pushed its score up most."""
        table = self.score_table(texts, reasons=k)
        return table["score"].to_numpy(), table["reasons"].tolist()

    def score_table(self, texts: Iterable, categories: bool = False, reasons: int = 3) -> pd.DataFrame:
        """``score``, the category scores (with ``categories``) and ``reasons`` per text.

        ``reasons`` holds up to ``reasons`` words or phrases that pushed the score up
        most, led by the top category (``insult: idiot; moron``) when the model has
        categories. Empty or missing text scores 0 with no reasons.
        """
        texts = [t[:MAX_TEXT_CHARS] for t in as_texts(texts)]
        if categories and not self.categories:
            raise ModerationError("this model has no categories (train it on data with category labels)")
        if len(texts) > SCORE_BLOCK:  # bound the memory the feature matrices take
            return pd.concat([self._score_block(texts[i:i + SCORE_BLOCK], categories, reasons)
                              for i in range(0, len(texts), SCORE_BLOCK)], ignore_index=True)
        return self._score_block(texts, categories, reasons)

    def _score_block(self, texts: list[str], categories: bool, reasons: int) -> pd.DataFrame:
        normalized = [normalize(t) for t in texts]
        present = np.array([bool(n) for n in normalized], dtype=bool)
        table = pd.DataFrame({"score": np.zeros(len(texts), dtype=np.float64)})
        cat_scores = {name: np.zeros(len(texts), dtype=np.float64) for name in self.categories}
        reason_strings = np.full(len(texts), "", dtype=object)
        if present.any():
            kept = [n for n, p in zip(normalized, present) if p]
            blocks = self._features(kept, word_occurrences=bool(reasons))
            X = sp.hstack([b for b, _ in blocks], format="csr")
            # one sparse product for the main classifier and every category
            probabilities = self.head.probabilities(X)
            table.loc[present, "score"] = probabilities[:, 0]
            for i, name in enumerate(self.categories, start=1):
                cat_scores[name][present] = probabilities[:, i]
            if reasons:
                top = self.head.top_terms(kept, *blocks[0], reasons)
                if self.categories:
                    names = list(self.categories)
                    stacked = np.column_stack([cat_scores[n][present] for n in names])
                    leaders = [names[i] for i in stacked.argmax(axis=1)]
                    top = [f"{c}: {r}" if r else "" for c, r in zip(leaders, top)]
                reason_strings[present] = top
        if categories:
            for name in self.categories:
                table[name] = cat_scores[name]
        table["reasons"] = reason_strings
        return table

    def flag(self, texts: Iterable, threshold: float | None = None) -> np.ndarray:
        """Boolean array: score ≥ threshold (the model's own unless given)."""
        t = self.threshold if threshold is None else threshold
        return self.score(texts) >= t

    # -- explanation -------------------------------------------------------
    def explain(self, text: str, min_weight: float = 0.7) -> list[Span]:
        """Spans of ``text`` (character offsets into the original) that pushed the score up.

        Each word and character n-gram's contribution (coefficient × TF-IDF value)
        is spread over the characters it covers; words of the normalised text whose
        summed contribution is at least ``min_weight`` times the strongest word's,
        and positive, are highlighted, adjacent ones merged. Offsets are mapped back
        through the normalisation, so an obfuscated ``f.u.c.k`` is highlighted whole.
        """
        if not isinstance(text, str) or not text.strip():
            return []
        normalized, offsets = normalize_with_offsets(text[:MAX_TEXT_CHARS])
        if not normalized:
            return []
        char_weight = self._char_contributions(normalized)
        words = [(m.start(), m.end()) for m in re.finditer(r"\S+", normalized)]
        weights = [float(char_weight[s:e].sum()) for s, e in words]
        if not weights or max(weights) <= 0:
            return []
        cutoff = max(weights) * min_weight
        spans: list[list] = []
        for (s, e), w in zip(words, weights):
            if w <= 0 or w < cutoff:
                continue
            # trim punctuation around the word so "idiot!" highlights "idiot"
            while s < e and not normalized[s].isalnum() and normalized[s] not in "@$*#":
                s += 1
            while e > s and not normalized[e - 1].isalnum() and normalized[e - 1] not in "*#":
                e -= 1
            if s == e:
                continue
            start, end = offsets[s], _original_end(text, offsets[e - 1])
            # merge with the previous span when they touch, overlap (one original character
            # can expand to several words) or only white space lies between them
            if spans and (start <= spans[-1][1] or _only_space_between(text, spans[-1][1], start)):
                spans[-1][1] = max(spans[-1][1], end)
                spans[-1][2] += w
            else:
                spans.append([start, end, w])
        return [Span(s, e, text[s:e], round(w, 4)) for s, e, w in spans]

    def _char_contributions(self, normalized: str) -> np.ndarray:
        """Per character of the normalised text, the summed contribution of the n-grams covering it."""
        return self.head.char_contributions(self._features([normalized], occurrences=True), len(normalized))

    def save(self, path: str | Path) -> Path:
        """Write the model directory (``moderation.persist.save_model``); the same model gives the same bytes."""
        from .persist import save_model

        return save_model(self, path)


def _original_end(text: str, last: int) -> int:
    """End offset just past original character ``last`` and the marks or invisibles the normaliser dropped after it."""
    end = last + 1
    while end < len(text) and is_dropped(text[end]):
        end += 1
    return end


def _only_space_between(text: str, end: int, start: int) -> bool:
    return start >= end and not text[end:start].strip()
