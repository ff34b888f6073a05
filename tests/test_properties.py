"""Property-based tests (hypothesis) on the normaliser, the scorer and ``Model.explain``.

Arbitrary Unicode (lone surrogates, RTL and bidi controls, emoji ZWJ sequences,
combining marks, very long runs) never raises; normalised offsets are aligned,
non-decreasing indices into the original; scores are finite, in [0, 1],
deterministic and independent of the batch a text is scored in; ``explain``
spans lie inside the original text and quote it exactly.

Uses the session-scoped ``small_model`` (conftest.py) and a small model with
category classifiers trained here on the same sample, so it runs in seconds.
"""

from __future__ import annotations

import math
import unicodedata

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import moderation
from moderation.normalize import normalize, normalize_with_offsets

# -- strategies -------------------------------------------------------------------------------
# Every general category, surrogates (Cs), private use (Co) and unassigned (Cn) included.
ANY_CHAR = st.characters(categories=("L", "M", "N", "P", "S", "Z", "Cc", "Cf", "Cs", "Co", "Cn"))
SURROGATES = st.text(alphabet=st.characters(categories=("Cs",)), min_size=1, max_size=3)
PIECES = [
    "\u200f", "\u200e", "\u202e", "\u202d", "\u2066", "\u2069", "\u061c",  # RTL / bidi controls
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad",  # invisibles
    "👨\u200d👩\u200d👧\u200d👦", "🏳\ufe0f\u200d🌈", "👍🏽", "🇬🇧", "❤\ufe0f",  # emoji sequences
    "\u0301", "\u0336", "\u20dd", "e\u0301\u0301\u0301", "Z\u0351\u0362\u0337\u0358",  # combining marks
    "\ud800", "\udfff", "\udbff\udc00",  # lone (and a reversed pair of) surrogates
    "f*ck", "sh1t", "s.h.i.t", "f u c k", "fuuuuck", "@ss", "5h!t!", "id10t", "fu\u0441k", "ｆｕｃｋ",
    "http://x.example/a?b", "www.", "a i h a t e", "ǅ", "ß", "ﬀ", "Ⅻ", "İ", "ﷺ", "\u2028", "\u0000",
    "مرحبا", "שלום", "你好", "idiot", "moron", " ", "  ", "\t", "\n", "!", "*", "#", "_", ".",
]
PIECE = st.one_of(st.sampled_from(PIECES), SURROGATES, st.text(alphabet=ANY_CHAR, max_size=8))
# Text built from hostile pieces and arbitrary characters, then (sometimes) a long run of one piece.
HOSTILE = st.lists(PIECE, max_size=12).map("".join)
RUN = st.builds(lambda piece, n: piece * n, st.sampled_from(PIECES + ["a", "ab", "fuck "]),
                st.integers(min_value=100, max_value=3000))
TEXT = st.one_of(st.text(alphabet=ANY_CHAR, max_size=80), HOSTILE, HOSTILE, RUN.map(lambda r: r[:10_000]))

LONG_RUNS = [
    "a" * 10_000, "\u00e9" * 10_000, "😀" * 10_000, "\u200f" * 10_000, "\ud800" * 10_000,
    "a" * 5000, "*" * 3000, " " * 5000, "!" * 2000, "f u c k " * 500, "f.u.c.k." * 1000,
    "e\u0301" * 5000, "👨\u200d👩\u200d👧" * 1500, "sh1t " * 1000, "ab" * 5000, "0" * 5000,
    "you idiot " * 1000, "\u202eidiot\u202c " * 500,
]

PROPS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.data_too_large])
FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                       HealthCheck.data_too_large])


@pytest.fixture(scope="session")
def category_model(sample_labelled):
    """The sample model plus two category classifiers (insult: every label; obscene: half the rows known)."""
    labels = sample_labelled["label"].to_numpy(dtype=int)
    obscene = pd.Series(labels, dtype="Float64")
    obscene[::2] = pd.NA
    cats = pd.DataFrame({"insult": labels, "obscene": obscene})
    return moderation.train(sample_labelled["text"], labels, categories=cats)


# -- normaliser -------------------------------------------------------------------------------
def check_normalized(text: str) -> None:
    plain = normalize(text)
    normalized, offsets = normalize_with_offsets(text)
    assert isinstance(plain, str) and isinstance(normalized, str)
    assert normalized == plain
    assert len(offsets) == len(normalized)
    assert all(isinstance(o, int) and 0 <= o < len(text) for o in offsets)
    assert all(a <= b for a, b in zip(offsets, offsets[1:])), "offsets go backwards"
    # the result never carries what the fold drops, nor leading/trailing or doubled white space
    assert not any(unicodedata.category(c) in ("Cs", "Cf", "Mn", "Me") for c in normalized)
    assert normalized == normalized.strip() and "  " not in normalized
    normalize(normalized)  # a second pass must not raise either (it need not be a no-op: see below)


@PROPS
@given(TEXT)
@example("\ud800")
@example("a\udfffb\ud800")
@example("\u202eidiot\u202c")
@example("👨\u200d👩\u200d👧\u200d👦 f*ck")
@example("e\u0301\u0301\u0301")
def test_normalize_never_raises_and_offsets_align(text):
    check_normalized(text)


@pytest.mark.parametrize("text", LONG_RUNS, ids=lambda t: f"{t[:6]!r}x{len(t)}")
def test_normalize_long_runs(text):
    check_normalized(text)


@PROPS
@given(st.one_of(st.none(), st.integers(), st.floats(allow_nan=True), st.binary(max_size=10)))
def test_normalize_non_text_is_empty(value):
    assert normalize(value) == ""
    assert normalize_with_offsets(value) == ("", [])


@PROPS
@given(TEXT)
def test_normalize_is_deterministic(text):
    assert normalize(text) == normalize(text)
    assert normalize_with_offsets(text) == normalize_with_offsets(text)


@PROPS
@given(st.text(alphabet=st.characters(categories=("Ll", "Lu", "Nd")), max_size=60))
def test_normalize_idempotent_on_plain_words(text):
    once = normalize(text)
    assert normalize(once) == once


@PROPS
@given(TEXT)
@example("f  u  c  k")
@example("0\u2028A A")
@example("0 A 0OO")  # squeezing leaves "0 a o", letters to join
def test_normalize_is_idempotent(text):
    once = normalize(text)
    assert normalize(once) == once


# -- scorer -----------------------------------------------------------------------------------
def check_scores(scores, n: int) -> None:
    scores = np.asarray(scores, dtype=np.float64)
    assert scores.shape == (n,)
    assert np.isfinite(scores).all()
    assert ((scores >= 0.0) & (scores <= 1.0)).all()


@PROPS
@given(st.lists(TEXT, min_size=1, max_size=6))
def test_scores_finite_in_unit_interval_and_deterministic(small_model, texts):
    first = small_model.score(texts)
    check_scores(first, len(texts))
    assert np.array_equal(first, small_model.score(texts))
    for t, s in zip(texts, first):
        if not normalize(t):
            assert s == 0.0  # empty after normalisation scores 0


@PROPS
@given(TEXT, st.lists(TEXT, max_size=8), st.randoms(use_true_random=False))
def test_score_independent_of_batch(small_model, text, others, rnd):
    alone = float(small_model.score([text])[0])
    batch = list(others)
    at = rnd.randint(0, len(batch))
    batch.insert(at, text)
    in_batch = small_model.score(batch)
    check_scores(in_batch, len(batch))
    assert abs(float(in_batch[at]) - alone) <= 1e-12
    # and every other text scores as it does alone
    for i, t in enumerate(batch):
        assert abs(float(in_batch[i]) - float(small_model.score([t])[0])) <= 1e-12


@PROPS
@given(st.lists(TEXT, min_size=1, max_size=5), st.integers(min_value=0, max_value=5))
def test_score_table(small_model, texts, k):
    table = small_model.score_table(texts, reasons=k)
    assert list(table.columns) == ["score", "reasons"] and len(table) == len(texts)
    check_scores(table["score"], len(texts))
    assert np.array_equal(table["score"].to_numpy(), small_model.score(texts))
    for r in table["reasons"]:
        assert isinstance(r, str)
        assert len([p for p in r.split("; ") if p]) <= k
        if k == 0:
            assert r == ""


@FEW
@given(st.lists(TEXT, min_size=1, max_size=5), st.lists(TEXT, max_size=4))
def test_category_scores(category_model, texts, others):
    table = category_model.score_table(texts, categories=True)
    assert {"score", "insult", "obscene", "reasons"} <= set(table.columns)
    for col in ("score", "insult", "obscene"):
        check_scores(table[col], len(texts))
    frame = category_model.score(texts, categories=True)
    assert np.array_equal(frame["score"].to_numpy(), table["score"].to_numpy())
    # category scores also do not depend on the batch
    mixed = category_model.score(list(others) + list(texts), categories=True).iloc[len(others):]
    for col in ("score", "insult", "obscene"):
        assert np.allclose(mixed[col].to_numpy(), frame[col].to_numpy(), rtol=0, atol=1e-12)
    for r in table["reasons"]:
        assert r == "" or r.split(": ", 1)[0] in ("insult", "obscene")


@pytest.mark.parametrize("text", LONG_RUNS, ids=lambda t: f"{t[:6]!r}x{len(t)}")
def test_score_long_runs(small_model, text):
    scores = small_model.score([text, "ok", text])
    check_scores(scores, 3)
    assert scores[0] == scores[2] == small_model.score([text])[0]


def test_score_missing_values(small_model):
    scores = small_model.score([None, float("nan"), "", "   ", "\u200b\u200f", 12, "you idiot"])
    check_scores(scores, 7)
    assert list(scores[:5]) == [0.0] * 5


# -- explain ----------------------------------------------------------------------------------
def check_spans(model, text: str, min_weight: float = 0.25, disjoint: bool = False) -> None:
    spans = model.explain(text, min_weight=min_weight)
    assert isinstance(spans, list)
    last_start, last_end = 0, 0
    for span in spans:
        assert 0 <= span.start < span.end <= len(text)
        assert text[span.start:span.end] == span.fragment
        assert math.isfinite(span.weight) and span.weight >= 0  # rounded to 4 places: a tiny weight shows as 0.0
        assert span.start >= last_start, "spans out of order"
        if disjoint:
            assert span.start >= last_end, f"spans overlap: {spans}"
        last_start, last_end = span.start, span.end
    assert spans == model.explain(text, min_weight=min_weight)  # deterministic


@PROPS
@given(TEXT)
@example("\ud800idiot\udfff")
@example("\u202eyou idiot\u202c")
@example("you f*cking m\u0301oron 👨\u200d👩\u200d👧")
@example("i\u200bd\u200bi\u200bo\u200bt")
@example("f.u.c.k you")
def test_explain_spans_inside_text(small_model, text):
    check_spans(small_model, text)


@PROPS
@given(TEXT)
@example("Dﷺµ")
@example("idiot\ufdfamoron")
@example("you \ufdfa idiot\ufdfa")
def test_explain_spans_do_not_overlap(small_model, text):
    check_spans(small_model, text, disjoint=True)


@FEW
@given(TEXT, st.floats(min_value=0.0, max_value=1.0))
def test_explain_any_min_weight(small_model, text, min_weight):
    check_spans(small_model, text, min_weight)


@FEW
@given(st.lists(st.sampled_from(["idiot", "moron", "stupid", "f*ck", "sh1t", "you", "are", "a", "the",
                                 "\u200f", "\u0301", "👍🏽", "\ud800", "!", " ", "  ", ".", "s.h.i.t"]),
                min_size=1, max_size=30).map(" ".join))
def test_explain_on_abusive_text(small_model, text):
    check_spans(small_model, text)


@pytest.mark.parametrize("text", LONG_RUNS, ids=lambda t: f"{t[:6]!r}x{len(t)}")
def test_explain_long_runs(small_model, text):
    check_spans(small_model, text)


def test_explain_non_text(small_model):
    for value in (None, 12, "", "   ", "\u200b"):
        assert small_model.explain(value) == []
