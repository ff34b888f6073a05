"""Reading a comment as a moderator does: sentence by sentence as well as whole.

TF-IDF normalises a text's features to unit length, so one abusive sentence among
several ordinary ones is diluted until it no longer counts. The model therefore
scores each sentence of a longer comment as well as the whole comment, and a
small learnt combination (``Combiner``) turns the whole comment's score, its
strongest sentence's score and the number of sentences into the comment's score.

``split`` finds the sentences of a text as character ranges of the original, so
explanations can point into the sentence that broke the policy.
"""

from __future__ import annotations

import re

import numpy as np

try:  # the compiled kernel (setup.py) splits a block of texts in one call, to the same ranges
    from ._kernel import split_many as _split_many
except ImportError:  # pragma: no cover - a source checkout without a build
    _split_many = None

__all__ = ["split", "split_many", "combination_features", "combined_inputs", "FEATURES", "MAX_SENTENCES"]

# A sentence ends at ., ! or ? (repeated, and followed by closing quotes or brackets) before white space,
# or at a line break.
_BOUNDARY = re.compile(r"(?<=[.!?…])([\"'”’)\]]*)\s+|\s*[\r\n]+\s*")
# Where a boundary can be: after sentence punctuation, or in white space with a line break.
_CANDIDATE = re.compile(r"[.!?…\r\n]")
# Pieces with fewer letters and digits than this are joined to the next sentence ("Wow. You idiot." is one).
MIN_SENTENCE_CHARS = 5
# As many letters and digits (str.isalnum: re's \w but "_"), anywhere in a piece.
_ENOUGH = re.compile(r"[^\W_](?:[\W_]*[^\W_]){%d}" % (MIN_SENTENCE_CHARS - 1))
# At most this many sentences are scored separately; the rest of a very long text counts in the whole only.
MAX_SENTENCES = 40
FEATURES = ("whole", "strongest", "log_sentences")


def split(text: str) -> list[tuple[int, int]]:
    """The sentences of ``text`` as ``(start, end)`` character ranges, white space trimmed.

    A text of one sentence gives one range (or none when it is blank). Very short
    pieces are joined to the following sentence, so a sentence always has some
    content of its own.
    """
    if not isinstance(text, str):
        return []
    spans: list[list[int]] = []
    pos = 0
    for m in _boundaries(text):
        end = m.start() + len(m.group(1) or "")  # closing quotes and brackets stay with their sentence
        if end > pos:
            spans.append([pos, end])
        pos = m.end()
    if pos < len(text):
        spans.append([pos, len(text)])
    merged: list[list[int]] = []
    carry: list[int] | None = None
    for start, end in spans:
        if carry is not None:
            start = carry[0]
        if not _ENOUGH.search(text, start, end):
            carry = [start, end]
            continue
        carry = None
        merged.append([start, end])
    if carry is not None:
        if merged:
            merged[-1][1] = carry[1]
        else:
            merged.append(carry)
    out = []
    for start, end in merged:
        piece = text[start:end]
        if piece.strip():
            out.append((start + len(piece) - len(piece.lstrip()), end - len(piece) + len(piece.rstrip())))
    return out


def split_many(texts: list[str], most: int = MAX_SENTENCES) -> tuple[np.ndarray, np.ndarray]:
    """``split`` of each text, its first ``most`` sentences: how many each text has, and their character ranges
    one after the other (rows of (start, end)), as int64 arrays; from the compiled kernel when it is built."""
    if _split_many is not None:
        return _split_many(texts, MIN_SENTENCE_CHARS, most)
    found = [split(t)[:most] if isinstance(t, str) else [] for t in texts]
    spans = np.array([span for f in found for span in f], dtype=np.int64).reshape(-1, 2)
    return np.fromiter(map(len, found), dtype=np.int64, count=len(found)), spans


def _boundaries(text: str):
    """``_BOUNDARY.finditer(text)``, the same matches, without trying the pattern at every position.

    A match starts either just after sentence punctuation (the first branch) or
    in a run of white space holding a line break (the second), and ends where
    white space ends, so the scan jumps from one such place to the next
    (``_CANDIDATE``) and tries the pattern only there.
    """
    pos = 0  # where finditer would go on from: 0, or the end of the last match (never in white space)
    at = 0
    while True:
        found = _CANDIDATE.search(text, at)
        if found is None:
            return
        k = found.start()
        if text[k] in "\r\n":  # the second branch can start where this white space does
            p = k
            while p > pos and text[p - 1].isspace():
                p -= 1
        else:
            p = k + 1
        m = _BOUNDARY.match(text, p)
        if m is None:
            at = k + 1
            continue
        yield m
        pos = at = m.end()


def combination_features(whole: np.ndarray, sentence_logits: list[np.ndarray]) -> np.ndarray:
    """Per text, the combiner's inputs: the whole text's logit, the strongest of its sentences' logits (the whole
    text's when it has one sentence) and log(number of sentences)."""
    strongest = np.array([s.max() if len(s) else w for w, s in zip(whole, sentence_logits)], dtype=float)
    return combined_inputs(whole, strongest, np.array([len(s) for s in sentence_logits]))


def combined_inputs(whole: np.ndarray, strongest: np.ndarray, n_sentences: np.ndarray) -> np.ndarray:
    """``combination_features`` from its parts: the whole logits, the strongest sentences' logits (the whole
    logit for a text without sentences) and the numbers of sentences (0 or 1 count as 1)."""
    return np.column_stack([whole, strongest, np.log(np.maximum(n_sentences, 1).astype(float))])
