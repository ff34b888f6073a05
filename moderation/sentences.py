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

__all__ = ["split", "combination_features", "FEATURES", "MAX_SENTENCES"]

# A sentence ends at ., ! or ? (repeated, and followed by closing quotes or brackets) before white space,
# or at a line break.
_BOUNDARY = re.compile(r"(?<=[.!?…])([\"'”’)\]]*)\s+|\s*[\r\n]+\s*")
# Pieces with fewer letters and digits than this are joined to the next sentence ("Wow. You idiot." is one).
MIN_SENTENCE_CHARS = 5
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
    for m in _BOUNDARY.finditer(text):
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
        if sum(c.isalnum() for c in text[start:end]) < MIN_SENTENCE_CHARS:
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


def combination_features(whole: np.ndarray, sentence_logits: list[np.ndarray]) -> np.ndarray:
    """Per text, the combiner's inputs: the whole text's logit, the strongest of its sentences' logits (the whole
    text's when it has one sentence) and log(number of sentences)."""
    strongest = np.array([s.max() if len(s) else w for w, s in zip(whole, sentence_logits)], dtype=float)
    counts = np.array([max(len(s), 1) for s in sentence_logits], dtype=float)
    return np.column_stack([whole, strongest, np.log(counts)])
