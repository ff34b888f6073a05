"""Plain references for the fast scoring paths: each written the simple way, one text or one unit at a time.

``tests/test_fast_paths.py`` holds the fast paths to these on our texts and on
generated ones, and ``benchmarks/identical.py`` on a million comments.
"""

from __future__ import annotations

import numpy as np

from moderation import sentences
from moderation.linear import spread_shares
from moderation.model import MIN_TEXT_CHARS
from moderation.sentences import MAX_SENTENCES
from moderation.normalize import normalize


def reference_units(model, texts):
    """``Model._units`` as it was written first: one text at a time."""
    units, owner, whole, ranges = [], [], [], []
    for i, text in enumerate(texts):
        normalized = normalize(text)
        if len(normalized) - normalized.count(" ") < MIN_TEXT_CHARS:
            continue
        units.append(normalized)
        owner.append(i)
        whole.append(True)
        ranges.append((0, len(text)))
        if not model.sentences:
            continue
        parts = sentences.split(text)
        if len(parts) < 2:
            continue
        for start, end in parts[:MAX_SENTENCES]:
            sentence = normalize(text[start:end])
            if sentence:
                units.append(sentence)
                owner.append(i)
                whole.append(False)
                ranges.append((start, end))
    return units, owner, whole, ranges


def reference_combination(n_texts: int, owner, whole, main: np.ndarray):
    """The combiner's inputs and each text's leading unit, one unit at a time (``Model._gather`` as first
    written): the whole text leads unless a sentence scores higher, the first such sentence winning ties."""
    whole_logit = np.zeros(n_texts)
    lead = np.full(n_texts, -1, dtype=np.int64)
    sentence_logits: list[list[float]] = [[] for _ in range(n_texts)]
    for unit, (t, is_whole) in enumerate(zip(owner, whole)):
        if is_whole:
            whole_logit[t], lead[t] = main[unit], unit
        else:
            sentence_logits[t].append(main[unit])
            if main[unit] > main[lead[t]]:
                lead[t] = unit
    return sentences.combination_features(whole_logit, [np.asarray(s) for s in sentence_logits]), lead


def reference_char_contributions(coef: np.ndarray, blocks, length: int) -> np.ndarray:
    """``LinearHead.char_contributions`` as it was written first: each block's values from its dense row and a
    count of every column (spread over the characters as it does)."""
    weight = np.zeros(length + 1, dtype=np.float64)
    offset = 0
    for X, occ in blocks:
        x = X.toarray().ravel()
        counts = np.bincount(occ.col, minlength=X.shape[1])
        spread_shares(weight, occ, coef[offset + occ.col] * x[occ.col] / np.maximum(counts[occ.col], 1))
        offset += X.shape[1]
    return np.cumsum(weight)[:-1]
