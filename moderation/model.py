"""The classifier: one scikit-learn Pipeline plus the threshold and card that travel with it.

``build_pipeline`` makes the Pipeline (normalise → word and character TF-IDF →
logistic regression). ``Model`` wraps a fitted Pipeline with its category
classifiers, operating threshold and model card, and is what users score, flag
and explain with. Saving and loading are in ``moderation.persist``.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, NamedTuple

import numpy as np

from .card import ModelCard
from .errors import ModerationError
from .features import _exclusive_cumsum, expit
from .linear import LinearHead
from .normalize import TextNormalizerCore, as_texts, is_dropped, plain_pieces
from .persist import Saved, built, current, feature_blocks, pipeline_steps, warn_other_scikit_learn
from .sentences import FEATURES, combination_features, combined_inputs, split_many

if TYPE_CHECKING:  # imported where used: scoring a list of texts needs neither (half of load_model's time)
    import pandas as pd
    import scipy.sparse as sp

__all__ = ["Model", "Span", "build_pipeline", "MAX_TEXT_CHARS"]

# Longer texts are scored and explained on their first MAX_TEXT_CHARS characters:
# enough for any comment, and it bounds the time and memory one hostile row can take.
MAX_TEXT_CHARS = 100_000
# A text with fewer characters than this (white space aside, once normalised) is too short to judge: it
# scores 0, so "a", "ok" or "!!" are never flagged by themselves.
MIN_TEXT_CHARS = 3
# Texts scored at a time within one score_table call: scoring 10,000 news comments
# (about 200 characters each) peaks at about 135 MB of Python allocations.
SCORE_BLOCK = 10_000
# Texts explained at a time within one explain_many call, and at most so many characters unless one text has more:
# their n-gram occurrences are held together, about 250 bytes per character.
EXPLAIN_BLOCK = 1_000
EXPLAIN_BLOCK_CHARS = 400_000


class Span(NamedTuple):
    """Characters ``text[start:end]`` of the original text that pushed the score up by ``weight``."""

    start: int
    end: int
    fragment: str
    weight: float


def build_pipeline(*, C: float = 4.0, word_ngrams=(1, 2), char_ngrams=(2, 5), min_df: int = 2,
                   word_features: int = 2 ** 19, char_features: int = 2 ** 20,
                   class_weight: str | None = "balanced", markers: bool = False):
    """An unfitted Pipeline: ``normalize`` → ``features`` (``words`` + ``chars``) → ``classifier``.

    The features are TF-IDF over hashed word n-grams and character n-grams within
    words (``HashedTfidf``): vectorised, so scoring is fast, and stateless apart from
    the idf weights, so the model file stays small. ``markers`` makes the normaliser
    drop the marks of where a text was collected (mentions, links, retweet marks).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    from .estimators import HashedTfidf, TextNormalizer

    words = HashedTfidf(analyzer="word", ngram_range=word_ngrams, n_features=word_features, min_df=min_df)
    chars = HashedTfidf(analyzer="char_wb", ngram_range=char_ngrams, n_features=char_features, min_df=min_df)
    return Pipeline([
        ("normalize", TextNormalizer(markers=markers)),
        ("features", FeatureUnion([("words", words), ("chars", chars)])),
        # the dual problem: far more features than comments, so liblinear solves it about 3x faster;
        # liblinear shuffles the data, so a fixed random_state makes training reproducible
        ("classifier", LogisticRegression(C=C, class_weight=class_weight, max_iter=2000, solver="liblinear",
                                          dual=True, random_state=0)),
    ])


class Model:
    """A fitted Pipeline with its category classifiers, score calibration, operating threshold and model card.

    ``score`` gives P(remove) per text, ``flag`` compares it with the threshold,
    ``explain`` returns the character spans of one text that pushed its score up.

    With ``sentences``, a text of several sentences is scored whole and sentence by
    sentence (``moderation.sentences``); ``calibrator``, a logistic regression over
    ``sentences.FEATURES``, turns those logits into the probability of "remove" at
    the share of abuse the model was calibrated for (``card.calibration``). Without
    a calibrator the score is the classifier's own probability of the whole text.

    A loaded model (``persist.load_model``) holds its scikit-learn objects as
    ``persist.Saved`` until ``pipeline``, ``categories`` or ``calibrator`` is asked
    for: scoring reads their attributes, and needs no scikit-learn.
    """

    def __init__(self, pipeline, threshold: float = 0.5, card: ModelCard | None = None,
                 categories: dict | None = None, calibrator=None, sentences: bool = False):
        self._pipeline = pipeline
        self._categories = dict(categories or {})
        self.calibrator = calibrator
        self.threshold = threshold
        self.card = ModelCard() if card is None else card
        self.sentences = sentences
        self._versions_checked = False

    def __repr__(self) -> str:
        return (f"Model(threshold={self.threshold!r}, categories={self.category_names!r}, "
                f"sentences={self.sentences!r}, calibrated={self._calibrator is not None})")

    def _built(self, value):
        """``persist.built(value)``; the first time scikit-learn objects are built from a model file, a warning
        if the file was written with another scikit-learn."""
        if not self._versions_checked and isinstance(value, Saved):
            self._versions_checked = True
            warn_other_scikit_learn(self.card, repr(self.card.name), stacklevel=3)
        return built(value)

    @property
    def pipeline(self):
        """The fitted scikit-learn Pipeline (normalise → features → classifier)."""
        return self._built(self._pipeline)

    @property
    def categories(self) -> dict:
        """The category classifiers (scikit-learn's ``LogisticRegression``) by category name."""
        return {name: self._built(c) for name, c in self._categories.items()}

    @property
    def category_names(self) -> list[str]:
        """The model's categories, in the order of its score columns."""
        return list(self._categories)

    @property
    def calibrator(self):
        """The logistic regression over ``sentences.FEATURES`` that gives the score, or None."""
        return self._built(self._calibrator)

    @calibrator.setter
    def calibrator(self, calibrator) -> None:
        self._calibrator = calibrator

    def _calibrated(self, features: np.ndarray) -> np.ndarray:
        """The calibrator's P(remove) for rows of ``sentences.FEATURES``: its ``predict_proba(features)[:, 1]``,
        computed as scikit-learn does, from its coefficients."""
        c = current(self._calibrator)
        return expit((features @ c.coef_.T + c.intercept_).ravel())

    # -- scoring -----------------------------------------------------------
    def _steps(self) -> dict:
        return pipeline_steps(self._pipeline)

    def _blocks(self) -> list:
        """The feature blocks (words, chars) as (name, block)."""
        return feature_blocks(self._steps())

    def _features(self, normalized: list[str], occurrences: bool = False, word_occurrences: bool = False):
        """Per feature block (words, chars): its matrix, and its n-gram occurrences if asked for
        (``word_occurrences``: for the word block only, which is all the reasons need)."""
        return [t.transform_with_occurrences(normalized) if occurrences or (word_occurrences and name == "words")
                else (t.transform(normalized), None) for name, t in self._blocks()]

    @property
    def normalizer(self) -> TextNormalizerCore:
        return self._steps()["normalize"]

    def features_matrix(self, texts: Iterable) -> sp.csr_matrix:
        """The feature matrix the classifier sees for ``texts`` (normalised, word + char TF-IDF)."""
        import scipy.sparse as sp

        return sp.hstack([X for X, _ in self._features([self.normalizer.one(t) for t in as_texts(texts)])],
                         format="csr")

    @cached_property
    def head(self) -> LinearHead:
        """The classifiers as one linear head; a model whose classifiers change afterwards needs a new ``Model``."""
        return LinearHead.of(self._pipeline, {name: current(c) for name, c in self._categories.items()})

    def score(self, texts: Iterable, categories: bool = False):
        """P(remove) for each text, as a float array; empty or missing text scores 0.

        With ``categories=True``: a DataFrame with ``score`` and one column per category.
        """
        if categories:
            return self.score_table(texts, categories=True, reasons=0).drop(columns="reasons")
        return self.score_columns(texts, False, 0)["score"]

    def score_with_reasons(self, texts: Iterable, k: int = 3) -> tuple[np.ndarray, list[str]]:
        """Scores and, per text, the up to ``k`` words or phrases that pushed its score up most."""
        columns = self.score_columns(texts, False, k)
        return columns["score"], columns["reasons"].tolist()

    def score_table(self, texts: Iterable, categories: bool = False, reasons: int = 3) -> pd.DataFrame:
        """``score``, the category scores (with ``categories``) and ``reasons`` per text.

        ``reasons`` holds up to ``reasons`` words or phrases that pushed the score up
        most, led by the top category (``insult: idiot; moron``) when the model has
        categories; only texts scoring at least half the threshold get reasons.
        Empty or missing text, and text of fewer than ``MIN_TEXT_CHARS`` characters,
        scores 0 with no reasons.
        """
        import pandas as pd

        # one frame made at once: inserting its columns one by one took most of the time of a short call
        return pd.DataFrame(self.score_columns(texts, categories, reasons))

    def score_columns(self, texts: Iterable, categories: bool = False, reasons: int = 3) -> dict[str, np.ndarray]:
        """``score_table``'s columns as numpy arrays (``reasons`` of dtype object), in order, without pandas:
        building the frame takes twice as long as scoring one comment."""
        texts = [t[:MAX_TEXT_CHARS] for t in as_texts(texts)]
        if categories and not self._categories:
            raise ModerationError("this model has no categories (train it on data with category labels)")
        if len(texts) <= SCORE_BLOCK:
            return self._score_block(texts, categories, reasons)
        # in blocks, to bound the memory the feature matrices take
        blocks = [self._score_block(texts[i:i + SCORE_BLOCK], categories, reasons)
                  for i in range(0, len(texts), SCORE_BLOCK)]
        return {name: np.concatenate([b[name] for b in blocks]) for name in blocks[0]}

    def _units(self, texts: list[str]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """What is scored: each text whole, and with ``sentences`` each sentence of a longer one.

        Returns the normalised units, each unit's text index, whether it is a whole
        text, and its character range in the original text (int64 rows of (start,
        end)). A text's units are consecutive: the whole text, then its sentences in
        order.
        """
        normalized, plain = self.normalizer.many_plain(texts)
        # a normalised text has single spaces between its words and none at its ends, so one of at least
        # 2 * MIN_TEXT_CHARS - 1 characters has enough: only shorter ones need their spaces counted
        sizes = np.fromiter(map(len, normalized), dtype=np.int64, count=len(normalized))
        present = sizes >= 2 * MIN_TEXT_CHARS - 1
        for i in np.flatnonzero(~present & (sizes >= MIN_TEXT_CHARS)).tolist():
            present[i] = sizes[i] - normalized[i].count(" ") >= MIN_TEXT_CHARS
        present_idx = np.flatnonzero(present)
        wholes = [normalized[i] for i in present_idx.tolist()]
        originals = [texts[i] for i in present_idx.tolist()]
        lengths = np.fromiter(map(len, originals), dtype=np.int64, count=len(originals))
        if not self.sentences or not wholes:
            ranges = np.column_stack((np.zeros_like(lengths), lengths))
            return wholes, present_idx.astype(np.int64), np.ones(len(wholes), dtype=bool), ranges
        counts, spans = split_many(originals)
        # the sentences of the texts of two or more, in order, with their text's position among the present ones
        several = counts >= 2
        spans = spans[np.repeat(several, counts)]
        counts = np.where(several, counts, 0)
        position = np.repeat(np.arange(len(wholes)), counts)
        # a plain text's sentences are pieces of its normalised form; the others' are normalised
        of_plain = plain[present_idx]
        cut = of_plain[position]  # the sentences of plain texts
        sentences = np.empty(len(spans), dtype=object)
        chosen = np.flatnonzero(of_plain & several).tolist()
        if chosen:
            sentences[cut] = plain_pieces([originals[k] for k in chosen], [wholes[k] for k in chosen], counts[chosen],
                                          spans[cut])
        others = np.flatnonzero(~cut)
        if len(others):
            sentences[others] = self.normalizer.many([originals[k][s:e] for k, s, e in zip(
                position[others].tolist(), spans[others, 0].tolist(), spans[others, 1].tolist())])
        kept = np.fromiter(map(bool, sentences), dtype=bool, count=len(sentences))
        position = position[kept]
        # each text's units: its whole text, then its kept sentences
        n_sentences = np.bincount(position, minlength=len(wholes))
        first = np.arange(len(wholes)) + _exclusive_cumsum(n_sentences)
        total = len(wholes) + len(position)
        is_whole = np.zeros(total, dtype=bool)
        is_whole[first] = True
        units = np.empty(total, dtype=object)
        units[first] = wholes
        units[~is_whole] = sentences[kept]
        owner = np.repeat(present_idx.astype(np.int64), n_sentences + 1)
        ranges = np.zeros((total, 2), dtype=np.int64)
        ranges[first, 1] = lengths
        ranges[~is_whole] = spans[kept]
        return units.tolist(), owner, is_whole, ranges

    @staticmethod
    def _gather(n_texts: int, owner: np.ndarray, whole: np.ndarray, main: np.ndarray):
        """Per text: whether it has content, its whole logit, its strongest sentence's logit (the whole logit when
        it has no sentences), its number of sentences, and its leading unit (the whole text, or the first of its
        sentences scoring highest when that is higher).

        ``owner`` and ``whole`` are ``_units``'s: a text's units are consecutive, the whole text first.
        """
        present = np.zeros(n_texts, dtype=bool)
        present[owner] = True
        heads = np.flatnonzero(whole)
        whole_logit = np.zeros(n_texts)
        whole_logit[owner[heads]] = main[heads]
        sentence = ~whole
        n_sentences = np.bincount(owner[sentence], minlength=n_texts)
        strongest = whole_logit.copy()
        with_sentences = np.flatnonzero(n_sentences)
        if len(with_sentences):
            strongest[with_sentences] = np.maximum.reduceat(main[sentence],
                                                            _exclusive_cumsum(n_sentences[with_sentences]))
        # the first unit of each text holding its highest logit: the whole text wins ties
        order = np.lexsort((np.arange(len(main)), -main, owner))
        ranked_owner = owner[order]
        firsts = np.flatnonzero(np.concatenate(([True], ranked_owner[1:] != ranked_owner[:-1])))
        lead = np.full(n_texts, -1, dtype=np.int64)
        lead[ranked_owner[firsts]] = order[firsts]
        return present, whole_logit, strongest, n_sentences, lead

    def combination_inputs(self, texts: Iterable) -> tuple[np.ndarray, np.ndarray]:
        """Per text, the calibrator's inputs (``sentences.FEATURES``) and whether the text has any content."""
        texts = [t[:MAX_TEXT_CHARS] for t in as_texts(texts)]
        units, owner, whole, _ = self._units(texts)
        if not units:
            return np.zeros((len(texts), len(FEATURES))), np.zeros(len(texts), dtype=bool)
        main = self.head.text_logits(units, whole)[:, 0]
        present, whole_logit, strongest, n_sentences, _ = self._gather(len(texts), owner, whole, main)
        return combined_inputs(whole_logit, strongest, n_sentences), present

    def _combine(self, n_texts: int, owner: np.ndarray, whole: np.ndarray, logits: np.ndarray):
        """Per text: its score, the unit that leads it, and whether it has any content."""
        score = np.zeros(n_texts, dtype=np.float64)
        present, whole_logit, strongest, n_sentences, lead = self._gather(n_texts, owner, whole, logits[:, 0])
        idx = np.flatnonzero(present)
        if self._calibrator is None:  # the whole text decides
            score[idx] = 1.0 / (1.0 + np.exp(-whole_logit[idx]))
            lead[idx] = np.flatnonzero(whole)
        else:
            features = combined_inputs(whole_logit[idx], strongest[idx], n_sentences[idx])
            score[idx] = self._calibrated(features)
        return score, lead, present

    def _score_block(self, texts: list[str], categories: bool, reasons: int) -> dict[str, np.ndarray]:
        units, owner, whole, _ = self._units(texts)
        scores = np.zeros(len(texts), dtype=np.float64)
        cat_scores = {name: np.zeros(len(texts), dtype=np.float64) for name in self._categories}
        reason_strings = np.full(len(texts), "", dtype=object)
        if units:
            # one product for the main classifier and every category
            logits = self.head.text_logits(units, whole)
            score, lead, present = self._combine(len(texts), owner, whole, logits)
            scores = score
            probabilities = 1.0 / (1.0 + np.exp(-logits[lead[present]]))
            for i, name in enumerate(self._categories, start=1):
                cat_scores[name][present] = probabilities[:, i]
            if reasons:
                explained = np.flatnonzero(present & (score >= self.threshold / 2))
                if len(explained):
                    lead_units = [units[u] for u in lead[explained]]
                    top = self.head.reasons(lead_units, reasons)
                    if self._categories:
                        names = self.category_names
                        stacked = np.column_stack([cat_scores[n][explained] for n in names])
                        leaders = [names[i] for i in stacked.argmax(axis=1)]
                        top = [f"{c}: {r}" if r else "" for c, r in zip(leaders, top)]
                    reason_strings[explained] = top
        return {"score": scores, **(cat_scores if categories else {}), "reasons": reason_strings}

    def warm_up(self) -> None:
        """Build what scoring builds on first use (the kernel's table of weights, the hashing tables), so that the
        first real call does not pay for it and forked workers share it."""
        self.score_table(["warm up"])

    def top_categories(self, texts: Iterable) -> list[str]:
        """Per text, the category with the highest score (for a model with categories)."""
        table = self.score(texts, categories=True)
        names = self.category_names
        return [names[i] for i in table[names].to_numpy().argmax(axis=1)]

    def flag(self, texts: Iterable, threshold: float | None = None) -> np.ndarray:
        """Boolean array: score ≥ threshold (the model's own unless given)."""
        t = self.threshold if threshold is None else threshold
        return self.score(texts) >= t

    # -- explanation -------------------------------------------------------
    def explain(self, text: str, min_weight: float = 0.7, every_text: bool = False) -> list[Span]:
        """Spans of ``text`` (character offsets into the original) that pushed the score up.

        Nothing is highlighted in a text scoring below half the threshold (the same
        rule as reasons), unless ``every_text``: for measuring highlights on texts
        known to be abusive. Only the part of the text that decided its score is
        explained: the whole text, or, for a model that reads sentences, the
        sentences that would be flagged on their own (or else the strongest one). Each word and character
        n-gram's contribution (coefficient × TF-IDF value) is spread over the
        characters it covers; words of the normalised text whose summed contribution
        is at least ``min_weight`` times the strongest word's, and positive, are
        highlighted, adjacent ones merged. Offsets are mapped back through the
        normalisation, so an obfuscated ``f.u.c.k`` is highlighted whole.
        """
        return self.explain_many([text], min_weight, every_text)[0]

    def explain_many(self, texts: Iterable, min_weight: float = 0.7, every_text: bool = False) -> list[list[Span]]:
        """``explain`` of each text (the same spans), worked out for blocks of texts at once: a fraction of the
        time per text of explaining them one by one, for the queue's ingest, the Perspective API's batches and
        reports."""
        texts = list(texts)
        sizes = [min(len(t), MAX_TEXT_CHARS) if isinstance(t, str) else 0 for t in texts]
        spans: list[list[Span]] = []
        start = 0
        while start < len(texts):
            end, chars = start + 1, sizes[start]
            while end < len(texts) and end - start < EXPLAIN_BLOCK and chars + sizes[end] <= EXPLAIN_BLOCK_CHARS:
                chars += sizes[end]
                end += 1
            spans.extend(self._explain_block(texts[start:end], min_weight, every_text))
            start = end
        return spans

    def _explain_block(self, texts: list, min_weight: float, every_text: bool) -> list[list[Span]]:
        """``explain_many`` of one block: its texts' units scored in one call, the parts that decided each text
        found from them, and those parts' n-grams counted and weighed in one call."""
        texts = [t[:MAX_TEXT_CHARS] if isinstance(t, str) and t.strip() else "" for t in texts]
        spans: list[list[Span]] = [[] for _ in texts]
        units, owner, whole, ranges = self._units(texts)
        if not units:
            return spans
        # the units are scored once: for the texts' scores (what ``score`` gives) and for the parts that decided them
        logits = self.head.text_logits(units, whole)
        score = self._combine(len(texts), owner, whole, logits)[0]
        bounds = np.append(np.flatnonzero(whole), len(units))  # a text's units: its whole text up to the next one
        parts: list[tuple[int, int, int]] = []  # (text, start, end)
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            t = int(owner[a])
            if every_text or score[t] >= self.threshold / 2:
                parts.extend((t, s, e) for s, e in self._decisive_parts(whole[a:b], ranges[a:b], logits[a:b, 0]))
        explained = self._explain_parts([texts[t][s:e] for t, s, e in parts], min_weight)
        for (t, start, _), found in zip(parts, explained):
            spans[t].extend(Span(s.start + start, s.end + start, s.fragment, s.weight) for s in found)
        return spans

    def _decisive_parts(self, whole: np.ndarray, ranges: np.ndarray, main: np.ndarray) -> list[tuple[int, int]]:
        """The character ranges of one text that decided its score (see ``explain``), from its units (``_units``)
        and their main logits."""
        ranges = [tuple(r) for r in ranges.tolist()]
        if whole.all() or self._calibrator is None:
            return [ranges[0]]
        sentences = np.flatnonzero(~whole)
        alone = self._calibrated(combination_features(main[sentences], [main[[u]] for u in sentences]))
        flagged = [ranges[u] for u, p in zip(sentences, alone) if p >= self.threshold]
        return flagged or [ranges[sentences[int(np.argmax(main[sentences]))]]]

    def _explain_parts(self, parts: list[str], min_weight: float) -> list[list[Span]]:
        """``explain`` for each part of a text, as if it were the whole text."""
        spans: list[list[Span]] = [[] for _ in parts]
        normalized = self.normalizer.many_with_offsets(parts)
        kept = [i for i, (n, _) in enumerate(normalized) if n]
        if not kept:
            return spans
        texts = [normalized[i][0] for i in kept]
        weights = self.head.char_contributions(self._features(texts, occurrences=True), [len(t) for t in texts])
        for i, char_weight in zip(kept, weights):
            spans[i] = _highlights(parts[i], *normalized[i], char_weight, min_weight)
        return spans

    def save(self, path: str | Path) -> Path:
        """Write the model directory (``moderation.persist.save_model``); the same model gives the same bytes."""
        from .persist import save_model

        return save_model(self, path)


def _highlights(text: str, normalized: str, offsets: list[int], char_weight: np.ndarray,
                min_weight: float) -> list[Span]:
    """The spans of ``text`` to highlight, from its normalised form, the offsets of that form's characters in
    ``text`` and each character's weight (``LinearHead.char_contributions``)."""
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


def _original_end(text: str, last: int) -> int:
    """End offset just past original character ``last`` and the marks or invisibles the normaliser dropped after it."""
    end = last + 1
    while end < len(text) and is_dropped(text[end]):
        end += 1
    return end


def _only_space_between(text: str, end: int, start: int) -> bool:
    return start >= end and not text[end:start].strip()
