"""The fast scoring paths give exactly what the reference paths give.

Each optimisation keeps its reference beside it, and these tests compare the two
on our test data and on hostile Unicode from hypothesis: ``normalize_many``
against ``normalize`` text by text, ``sentences._boundaries`` against the
pattern's ``finditer``, ``split`` against its reference, the compiled kernel
(``features.linear_scores``) against the sparse matrix product bit for bit, its reasons
(``features.top_words``) against ``LinearHead.top_terms``, and a
model's units (whole texts and sentences) against the loop that normalised and
split one text at a time.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import skip_or_fail
from moderation import features, sentences
from moderation.features import HashedTfidf
from moderation.linear import LinearHead
from moderation.normalize import (normalize, normalize_many, normalize_many_plain, normalize_many_with_offsets,
                                  normalize_with_offsets, plain_pieces)
from moderation.recipe import Recipe
from moderation.sentences import combined_inputs
from references import reference_char_contributions, reference_combination, reference_units
from test_features import random_texts
from test_properties import HOSTILE, LONG_RUNS, PIECES, TEXT

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                            HealthCheck.data_too_large])
# Characters the fast normaliser's checks look at, in runs that make them meet.
TRICKY = st.text(alphabet=st.sampled_from(list("abcxyzIAé 1034589@$!*#%|+_.-\t\n\x00\x7fhtpw:/") + ["ß", "ｆ", "\u200b"]),
                 max_size=40)
# Runs of single characters and separators, as _SPACED matches them, and the look-around characters.
SPACED = st.lists(st.sampled_from(list("ab1@!*s") + [" ", " ", ".", "-", "_", "#", "é", "'"]), max_size=16).map("".join)
# Where sentences end, and what can stand around the end.
BOUNDARY_TEXT = st.text(alphabet=st.sampled_from(list(".!?…\r\n \t\"'”’)]ab1_") + ["\u2028", "\u00a0", "\x1c"]),
                        max_size=40)


def our_texts() -> list[str]:
    """Every text of our data files: the samples, probes and test suites."""
    texts = []
    for path in sorted((ROOT / "data").glob("*.csv")) + sorted((ROOT / "tests" / "data").glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        for column in frame.columns:
            if frame[column].str.len().mean() > 10:
                texts += frame[column].tolist()
    return texts


OBFUSCATED = ["f u c k you", "s.h.i.t", "a m o r o n", "i d i o t", "sh1t!", "5h!t", "@ss", "f*ck", "f**king",
              "FUUUUCK", "fuuuc%", "idiot!", "!idiot", "id!ot", "covid19 is 2nd", "10pm", "3rd", "$5 and 50%",
              "my_name", "#tag", "a - b - c", "1 2 3 4", "u.s.a", "e.g. this", "http://x.example www.y",
              "WWW.X.COM", "x\x00y", "tab\there", "a\x7fb", "\x00", " a\x1cB\x1f c\x0bD\x0ce\r\n", "ǅ ß ﬀ Ⅻ", "ｆｕｃｋ",
              "fu\u0441k", "  spaced   out  "]


# -- normalisation ------------------------------------------------------------------------------

@pytest.fixture(params=["kernel", "numpy"])
def collapse(request, monkeypatch):
    """normalize_many's checks made by the compiled kernel, then by numpy."""
    from moderation import normalize as module

    if request.param == "numpy":
        monkeypatch.setattr(module, "_collapse_many", None)
    elif module._collapse_many is None:
        skip_or_fail("the compiled kernel is not built (pip install .)")
    return request.param


def test_normalize_many_is_normalize_on_our_texts(collapse):
    texts = our_texts() + OBFUSCATED + PIECES + LONG_RUNS + random_texts(2000, seed=7, max_len=120)
    assert normalize_many(texts) == [normalize(t) for t in texts]


def test_the_kernels_checks_are_the_numpy_ones():
    from moderation import normalize as module

    if module._collapse_many is None:
        skip_or_fail("the compiled kernel is not built (pip install .)")
    texts = our_texts() + OBFUSCATED + PIECES + LONG_RUNS + random_texts(2000, seed=8, max_len=120)
    assert module._collapse_many(texts, module._FOLD_TABLE) == module._collapse_numpy(texts, module._FOLD_TABLE)


def test_normalize_many_on_the_sentences_of_our_texts(collapse):
    pieces = [t[s:e] for t in our_texts() for s, e in sentences.split(t)]
    assert normalize_many(pieces) == [normalize(p) for p in pieces]


def test_normalize_many_with_markers_and_missing_values(collapse):
    texts = ["@user RT you idiot http://x", "&amp; fine", None, float("nan"), "", "ok"]
    assert normalize_many(texts, markers=True) == [normalize(t, markers=True) for t in texts]
    assert normalize_many([None, "", "  "]) == ["", "", ""]


def plain_pieces_of(texts: list[str]) -> tuple[list[str], list[str], list[list[tuple[int, int]]]]:
    """The plain texts among ``texts``, their normalised forms, and pieces of each: its sentences, its words,
    and its runs of two words (all cut at white space)."""
    normalized, plain = normalize_many_plain(texts)
    chosen = np.flatnonzero(plain).tolist()
    spans = [sentences.split(texts[i]) for i in chosen]
    words = [[m.span() for m in re.finditer(r"\S+", texts[i])] for i in chosen]
    pairs = [[m.span() for m in re.finditer(r"\S+\s+\S+", texts[i])] for i in chosen]
    return ([texts[i] for i in chosen] * 3, [normalized[i] for i in chosen] * 3, spans + words + pairs)


def pieces_of(texts, normalized, spans) -> list[str]:
    """``plain_pieces`` given a list of ranges per text."""
    flat = np.array([span for p in spans for span in p], dtype=np.int64).reshape(-1, 2)
    return plain_pieces(texts, normalized, np.array([len(p) for p in spans], dtype=np.int64), flat)


def test_plain_texts_are_their_words_lower_cased(collapse):
    texts = our_texts() + OBFUSCATED + PIECES + LONG_RUNS + random_texts(2000, seed=5, max_len=120)
    normalized, plain = normalize_many_plain(texts)
    assert plain.sum() > 1000 and (~plain).sum() > 500
    assert normalized == normalize_many(texts)
    assert all(t.isascii() and n == " ".join(t.lower().split())
               for t, n, p in zip(texts, normalized, plain.tolist()) if p)
    assert not normalize_many_plain(texts[:50], markers=True)[1].any()
    assert normalize_many_plain([None, "ok", float("nan")])[1].tolist() == [False, True, False]


def test_offsets_of_many_texts_are_normalize_with_offsets_on_our_texts(collapse):
    """``explain`` maps its highlights back through these offsets: a plain text's come from its words' places."""
    texts = our_texts() + OBFUSCATED + [t[:n] for t in our_texts()[:200] for n in (0, 1, 7)] + [
        None, "", " ", "  a  b  ", "a\tb\nc", "x\x1cy", "end. \n"]
    assert normalize_many_with_offsets(texts) == [normalize_with_offsets(t) for t in texts]
    assert normalize_many_with_offsets(texts, markers=True) == [normalize_with_offsets(t, True) for t in texts]
    assert normalize_many_plain(texts)[1].sum() > 1000  # most take the plain texts' way


@SETTINGS
@given(st.lists(st.one_of(TEXT, HOSTILE, TRICKY, SPACED, BOUNDARY_TEXT), max_size=12))
@example(["  lead and trail  ", "a\u2028b", "a\x1c\x1db", "tab\there"])
def test_offsets_of_many_hostile_texts_are_normalize_with_offsets(texts):
    assert normalize_many_with_offsets(texts) == [normalize_with_offsets(t) for t in texts]


@pytest.fixture(params=["kernel", "normalised again"])
def pieces_by(request):
    from moderation import normalize as module

    if request.param == "kernel" and module._pieces is None:
        skip_or_fail("the compiled kernel is not built (pip install .)")
    with mock.patch.object(module, "_pieces", module._pieces if request.param == "kernel" else None):
        yield request.param


def test_the_pieces_of_plain_texts_are_their_normalised_pieces(pieces_by):
    texts, normalized, spans = plain_pieces_of(our_texts() + OBFUSCATED + random_texts(2000, seed=6, max_len=200))
    assert sum(len(p) >= 2 for p in spans) > 3000
    assert pieces_of(texts, normalized, spans) == normalize_many([t[s:e] for t, p in zip(texts, spans)
                                                                  for s, e in p])


@SETTINGS
@given(st.lists(st.one_of(TEXT, HOSTILE, TRICKY, SPACED, BOUNDARY_TEXT), max_size=12))
@example(["a b. c d", "x a\ny a z", "s a s\n\nb", "u.s. a", "ab\x1ccd ef", " lead. trail "])
def test_the_pieces_of_plain_hostile_text(texts):
    texts, normalized, spans = plain_pieces_of(texts)
    assert pieces_of(texts, normalized, spans) == [normalize(t[s:e]) for t, p in zip(texts, spans) for s, e in p]


def test_pieces_are_cut_at_white_space():
    from moderation import _kernel

    def pieces(texts, spans):
        counts = np.array([len(p) for p in spans], dtype=np.int64)
        flat = np.array([span for p in spans for span in p], dtype=np.int64).reshape(-1, 2)
        return _kernel.pieces(texts, [" ".join(t.lower().split()) for t in texts], counts, flat)

    for spans in ([(1, 5)], [(0, 4)], [(0, 2), (0, 2)], [(3, 9)], [(2, 5)]):
        with pytest.raises(ValueError):
            pieces(["ab cd"], [spans])
    with pytest.raises(ValueError, match="ASCII"):
        pieces(["ab cé"], [[(0, 2)]])
    with pytest.raises(ValueError, match="add up"):
        _kernel.pieces(["ab cd"], ["ab cd"], np.array([2], dtype=np.int64), np.array([[0, 2]], dtype=np.int64))
    assert pieces(["  Ab \t cd  ", "x", "y z"], [[(2, 4), (7, 9)], [], [(2, 3)]]) == ["ab", "cd", "z"]


@SETTINGS
@given(st.lists(st.one_of(TEXT, HOSTILE, TRICKY), max_size=12))
@example(["of a few", "x a y a z", "!a", "a!1", "a1!", "ab!!", "aaa", "Aaa", "b.b.b"])
def test_normalize_many_is_normalize_on_hostile_text(texts):
    from moderation import normalize as module

    assert normalize_many(texts) == [normalize(t) for t in texts]
    assert module._collapse_numpy(texts, module._FOLD_TABLE) == (
        module._collapse_many(texts, module._FOLD_TABLE) if module._collapse_many else
        module._collapse_numpy(texts, module._FOLD_TABLE))


SPACED_EDGES = ["it's a shame", "that's a b c d", "s a s", "s a s.", "x a y a z1", "a b c d1", "a-b-c", "a-b-cd",
                "u.s.a", "u.s.a.", "u.s.as", "#a b c", "a b c", "ab c d e", "a.b.c.d", "a_b_c", "a b c é"]


@SETTINGS
@given(st.lists(st.one_of(TEXT, HOSTILE, TRICKY, SPACED), max_size=12))
@example(SPACED_EDGES)
def test_the_spaced_check_is_exact(texts):
    # a text is sent through normalize() for a _SPACED match only when there is one: the check is no looser
    from moderation import normalize as module

    for collapse in filter(None, (module._collapse_many, module._collapse_numpy)):
        collapsed, flags = collapse(texts, module._FOLD_TABLE)
        for text, f in zip(collapsed, flags):
            if not any(ord(c) < 32 or ord(c) == 127 for c in text) and "http" not in text and "www." not in text:
                assert bool(f & module._OTHER) == bool(module._SPACED.search(text)), text


# -- sentences ----------------------------------------------------------------------------------

class _LettersOneByOne:
    """``sentences._ENOUGH`` as first written: the piece's letters and digits counted one by one."""

    @staticmethod
    def search(text: str, start: int, end: int):
        return sum(c.isalnum() for c in text[start:end]) >= sentences.MIN_SENTENCE_CHARS or None


def reference_split(text: str) -> list[tuple[int, int]]:
    """``sentences.split`` as it was written first: the pattern tried everywhere, letters counted one by one."""
    with mock.patch.object(sentences, "_boundaries", sentences._BOUNDARY.finditer), \
            mock.patch.object(sentences, "_ENOUGH", _LettersOneByOne):
        return sentences.split(text)


def matches(found) -> list:
    return [(m.span(), m.groups()) for m in found]


def test_boundaries_and_split_on_our_texts():
    rng = random.Random(3)
    alphabet = list(".!?…\r\n \t\"'”’)]ab1") + ["\u2028", "\u00a0"]
    texts = our_texts() + ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(20000)]
    for text in texts:
        assert matches(sentences._boundaries(text)) == matches(sentences._BOUNDARY.finditer(text)), repr(text)
        assert sentences.split(text) == reference_split(text), repr(text)


@SETTINGS
@given(st.one_of(TEXT, HOSTILE, BOUNDARY_TEXT))
@example("a_b_c_d_e. x")
@example("١٢٣٤٥. Ⅻ½²³. x")
def test_boundaries_and_split_on_hostile_text(text):
    assert matches(sentences._boundaries(text)) == matches(sentences._BOUNDARY.finditer(text))
    assert sentences.split(text) == reference_split(text)


# -- the compiled kernel ------------------------------------------------------------------------

@pytest.fixture(scope="module", params=["float64", "float32"])
def blocks(request):
    """A word and a char block fitted on our texts (small column counts, so columns collide too), and
    coefficients that are float64 values, or float32 values (as a trained model's: a float32 table)."""
    if features._kernel is None:
        skip_or_fail("the compiled kernel is not built (pip install .)")
    texts = normalize_many(our_texts())
    words = HashedTfidf(analyzer="word", ngram_range=(1, 2), n_features=2 ** 14, min_df=2).fit(texts)
    chars = HashedTfidf(analyzer="char_wb", ngram_range=(2, 5), n_features=2 ** 16, min_df=2).fit(texts)
    rng = np.random.default_rng(0)
    coef = rng.normal(size=(2 ** 14 + 2 ** 16, 5))
    if request.param == "float32":
        coef = coef.astype(np.float32).astype(np.float64)
    assert features.kernel_weights([words, chars], coef).dtype == np.dtype(request.param)
    return [words, chars], coef


def product(blocks, texts, coef) -> np.ndarray:
    return np.asarray(sp.hstack([b.transform(texts) for b in blocks], format="csr") @ coef)


def test_kernel_is_the_sparse_product_bit_for_bit(blocks):
    fitted, coef = blocks
    texts = normalize_many(our_texts()) + random_texts(3000, seed=9, max_len=200) + [
        "", " ", "a", "ab " * 3000, "x" * 20000, "fuck " * 2000]
    expected = product(fitted, texts, coef)
    assert np.array_equal(features.linear_scores(fitted, texts, coef), expected)
    main = np.ascontiguousarray(coef[:, :1])
    assert np.array_equal(features.linear_scores(fitted, texts, main), expected[:, :1])


def test_kernel_sums_any_number_of_classifiers_bit_for_bit(blocks):
    """The kernel keeps up to eight sums in registers, each as its own case, and more in memory."""
    fitted, coef = blocks
    texts = normalize_many(our_texts()[:500]) + random_texts(200, seed=4, max_len=200)
    wide = np.hstack([coef, -2 * coef[:, [1, 2, 3, 4, 0]]])  # ten columns, each unlike the others
    expected = product(fitted, texts, wide)
    for n in range(1, 11):
        columns = np.ascontiguousarray(wide[:, :n])
        assert np.array_equal(features.linear_scores(fitted, texts, columns), expected[:, :n]), n


def test_kernel_counts_a_text_from_its_sentences(blocks):
    fitted, coef = blocks
    units, whole = [], []
    ours = our_texts()[:3000]
    comments = [". ".join(ours[i:i + 3]) for i in range(0, len(ours), 3)]  # several sentences each
    for text in comments + ["Stupid. Idiot!\nKill yourself", "You. Are. An. Idiot. Today."]:
        pieces = normalize_many([text[s:e] for s, e in sentences.split(text)])
        units.append(normalize(text))
        whole.append(True)
        units += [p for p in pieces if p]
        whole += [False] * sum(1 for p in pieces if p)
    whole = np.asarray(whole)
    parts = features.parts_of(whole)
    assert sum(units[i] == " ".join(units[i + 1:i + k + 1]) for i, k in enumerate(parts) if k) > 500  # most are
    assert np.array_equal(features.linear_scores(fitted, units, coef, parts), product(fitted, units, coef))
    # parts that are not the text joined: counted directly
    shuffled = units[1:] + units[:1]
    assert np.array_equal(features.linear_scores(fitted, shuffled, coef, parts), product(fitted, shuffled, coef))


def test_the_kernel_lets_other_threads_run_while_it_scores(blocks):
    """A forked worker's results are taken in by a thread of the parent, and a server's event loop runs beside
    its scoring thread: a kernel holding the GIL stalled them for a whole chunk."""
    import threading
    import time

    fitted, coef = blocks
    texts = normalize_many(our_texts()) * 20
    done, gaps = threading.Event(), []
    took = []

    def score():
        start = time.perf_counter()
        features.linear_scores(fitted, texts, coef)
        took.append(time.perf_counter() - start)
        done.set()

    scorer = threading.Thread(target=score)
    last = time.perf_counter()
    scorer.start()
    while not done.is_set():
        time.sleep(0.001)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    scorer.join()
    assert took[0] > 0.1, took  # long enough for a stall to show
    assert max(gaps) < took[0] / 3, (max(gaps), took[0])


@SETTINGS
@given(st.lists(st.one_of(TEXT, HOSTILE), min_size=1, max_size=8))
def test_kernel_on_hostile_text(blocks, texts):
    fitted, coef = blocks
    assert np.array_equal(features.linear_scores(fitted, texts, coef), product(fitted, texts, coef))
    # as a text followed by its pieces, whatever they are
    joined = [" ".join(texts)] + texts
    parts = features.parts_of(np.array([True] + [False] * len(texts)))
    assert np.array_equal(features.linear_scores(fitted, joined, coef, parts), product(fitted, joined, coef))


def reference_top_terms(words, texts, main, k):
    head = LinearHead(SimpleNamespace(coef_=main.reshape(1, -1), intercept_=np.zeros(1)))
    return head.top_terms(texts, *words.transform_with_occurrences(texts), k)


@pytest.mark.parametrize("k", [1, 3, 10])
def test_kernel_reasons_are_the_reference_ones(blocks, k):
    fitted, coef = blocks
    texts = normalize_many(our_texts()) + random_texts(2000, seed=4, max_len=200) + [
        "", "a", "idiot idiot idiot", "ab " * 3000, "you are an idiot you idiot", "é_1 x9 ab_cd ab_cd"]
    weights = features.kernel_weights(fitted, coef)
    expected = reference_top_terms(fitted[0], texts, coef[:, 0], k)
    assert sum(map(bool, expected)) > 1000 and sum(e.count("; ") == k - 1 for e in expected if e) > 500
    assert features.top_words(fitted[0], texts, weights, k) == expected


@SETTINGS
@given(st.lists(st.one_of(TEXT, HOSTILE), min_size=1, max_size=8))
def test_kernel_reasons_on_hostile_text(blocks, texts):
    fitted, coef = blocks
    weights = features.kernel_weights(fitted, coef)
    assert features.top_words(fitted[0], texts, weights, 3) == reference_top_terms(fitted[0], texts, coef[:, 0], 3)


def test_char_contributions_are_the_dense_rows_ones(blocks):
    """``explain``'s per-character weights look each column up among the texts' own, not in a dense row, and
    texts given together get what each gets alone."""
    fitted, coef = blocks
    head = LinearHead(SimpleNamespace(coef_=coef[:, :1].T.copy(), intercept_=np.zeros(1)))
    texts = normalize_many(our_texts())[:300] + random_texts(300, seed=5, max_len=200) + [
        "a", "idiot idiot idiot", "you are an idiot you idiot", "zzqx vvkj"]
    alone = []
    for text in texts:
        parts = [b.transform_with_occurrences([text]) for b in fitted]
        got = head.char_contributions(parts, [len(text)])
        assert len(got) == 1
        np.testing.assert_array_equal(got[0], reference_char_contributions(coef[:, 0], parts, len(text)))
        alone.append(got[0])
    assert sum(bool(np.any(a)) for a in alone) > 500
    together = head.char_contributions([b.transform_with_occurrences(texts) for b in fitted], list(map(len, texts)))
    assert len(together) == len(texts)
    for a, b in zip(together, alone):
        np.testing.assert_array_equal(a, b)
    assert head.char_contributions([b.transform_with_occurrences([]) for b in fitted], []) == []
    # a row given with a column twice and out of order counts as its sum, as the dense row does
    (X, occ), chars = fitted[0].transform_with_occurrences(["idiot idiot"]), fitted[1].transform_with_occurrences(
        ["idiot idiot"])
    twice = sp.csr_matrix((np.r_[X.data[::-1], X.data[:1]], np.r_[X.indices[::-1], X.indices[:1]],
                           [0, X.nnz + 1]), shape=X.shape)
    assert not twice.has_canonical_format
    np.testing.assert_array_equal(head.char_contributions([(twice, occ), chars], [11])[0],
                                  reference_char_contributions(coef[:, 0], [(twice, occ), chars], 11))


def test_expit_is_scipys_bit_for_bit(monkeypatch):
    from scipy.special import expit as scipy_expit

    if features._kernel is None:
        skip_or_fail("the compiled kernel is not built (pip install .)")
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.normal(0, scale, 200_000) for scale in (0.1, 1, 5, 40, 400)] + [
        rng.integers(0, 2 ** 64, 200_000, dtype=np.uint64).view(np.float64),  # every kind of float64
        [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 709.78, -709.78, 745.2, -745.2, 1e308, -1e308]])
    got, expected = features.expit(x), scipy_expit(x)
    assert got.dtype == np.float64 and got.shape == x.shape
    assert np.array_equal(got.view(np.uint64)[~np.isnan(expected)], expected.view(np.uint64)[~np.isnan(expected)])
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    assert np.array_equal(features.expit(x[::3]), got[::3], equal_nan=True)  # a strided view: the same values
    monkeypatch.setattr(features, "_kernel", None)  # without the kernel, SciPy's
    assert np.array_equal(features.expit(x), expected, equal_nan=True)


def test_kernel_declines_what_it_does_not_compute(blocks):
    fitted, coef = blocks
    words, chars = fitted
    assert features.linear_scores([chars, words], ["x"], coef) is None
    assert features.linear_scores(fitted, ["x"], coef[:-1]) is None
    assert features.linear_scores(fitted, ["x"], coef.astype(np.float32)) is None
    weights = features.kernel_weights(fitted, coef)
    with pytest.raises(ValueError, match="the word block"):
        features.top_words(chars, ["x"], weights, 3)


# -- a model's units ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def reading_model(sample_labelled):
    import moderation

    return moderation.train(sample_labelled["text"], sample_labelled["label"], recipe=Recipe(sentences=True))


def test_units_and_logits_are_the_reference_ones(reading_model):
    # the last two are counted from their sentences in one sort of more than 4096 columns, marked with their
    # sentence: 20 + 6 bits (three radix passes) and 20 + 4 (two)
    long = [f"Sentence {i} goes on about the weather and the {i}th idiot of the town, at some length"
            for i in range(40)]
    texts = our_texts() + OBFUSCATED + [". ".join(["You idiot"] * 50), "Wow. Ok.", "a.\n\nb", ". ".join(long),
                                        ". ".join(long[:16])]
    units, owner, whole, ranges = reading_model._units(texts)
    ref = reference_units(reading_model, texts)
    assert (units, owner.tolist(), whole.tolist(), [tuple(r) for r in ranges.tolist()]) == ref
    head = reading_model.head
    expected = head.logits(sp.hstack([b.transform(units) for b in head.features], format="csr"))
    assert np.array_equal(head.text_logits(units, whole), expected)
    assert np.array_equal(head.text_logits(units), expected)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(st.lists(st.one_of(TEXT, HOSTILE, BOUNDARY_TEXT,
                          st.lists(st.sampled_from(OBFUSCATED + [". ", "! ", "\n"]), max_size=8).map("".join)),
                max_size=10))
def test_units_on_hostile_text(reading_model, texts):
    units, owner, whole, ranges = reading_model._units(texts)
    assert (units, owner.tolist(), whole.tolist(), [tuple(r) for r in ranges.tolist()]) == reference_units(
        reading_model, texts)
    if units:
        head = reading_model.head
        expected = head.logits(sp.hstack([b.transform(units) for b in head.features], format="csr"))
        assert np.array_equal(head.text_logits(units, whole), expected)


def test_the_combination_is_the_reference_one(reading_model):
    # ties included: the whole text leads unless a sentence scores higher, then the first such sentence
    texts = our_texts() + OBFUSCATED + [". ".join(["You idiot"] * 50), "You idiot. You idiot.", "a.\n\nb"]
    units, owner, whole, _ = reading_model._units(texts)
    main = reading_model.head.text_logits(units, whole)[:, 0]
    for logits in (main, np.round(main), np.zeros_like(main)):
        present, whole_logit, strongest, n_sentences, lead = reading_model._gather(len(texts), owner, whole, logits)
        expected, expected_lead = reference_combination(len(texts), owner.tolist(), whole.tolist(), logits)
        assert np.array_equal(combined_inputs(whole_logit, strongest, n_sentences), expected)
        assert np.array_equal(lead, expected_lead)
        assert present.tolist() == [i in set(owner.tolist()) for i in range(len(texts))]


def test_a_patterns_search_with_bounds_sees_only_the_piece():
    # split's letter count relies on search(text, start, end) reading text[start:end] alone
    assert sentences._ENOUGH.search("abcd|efgh", 0, 4) is None
    assert sentences._ENOUGH.search("xabcde", 1, 6) is not None
    assert re.fullmatch(r"[^\W_]", "_") is None and all(re.fullmatch(r"[^\W_]", c) for c in "aé1١Ⅻ")


def test_split_many_is_split():
    if sentences._split_many is None:
        skip_or_fail("the compiled kernel is not built (pip install .)")
    rng = random.Random(5)
    alphabet = list(".!?…\r\n \t\"'”’)]ab1_") + ["\u2028", "\u00a0", "\x1c", "é", "١"]
    texts = our_texts() + ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(30000)]
    assert split_lists(texts + [None]) == [sentences.split(t) for t in texts] + [[]]
    counts, spans = sentences.split_many(texts, most=2)
    assert counts.tolist() == [min(len(sentences.split(t)), 2) for t in texts]
    with mock.patch.object(sentences, "_split_many", None):  # without the kernel: the same arrays
        assert all(np.array_equal(a, b) for a, b in zip(sentences.split_many(texts, most=2), (counts, spans)))


@SETTINGS
@given(st.lists(st.one_of(TEXT, HOSTILE, BOUNDARY_TEXT), max_size=8))
@example(["a_b_c_d_e. x", "١٢٣٤٥. Ⅻ½²³. x", "x.\u2028\ny", '."")  \n', "!!!! ....", "..."])
def test_split_many_on_hostile_text(texts):
    assert split_lists(texts) == [reference_split(t) for t in texts]


def split_lists(texts) -> list[list[tuple[int, int]]]:
    """``sentences.split_many``'s ranges as a list per text (all of them)."""
    counts, spans = sentences.split_many(texts, most=10 ** 9)
    ends = np.cumsum(counts).tolist()
    rows = [tuple(r) for r in spans.tolist()]
    return [rows[e - c:e] for c, e in zip(counts.tolist(), ends)]


# -- loading a model without skops ---------------------------------------------------------------

def same_payload(a, b, path="$"):
    assert type(a) is type(b), path
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), path
    elif isinstance(a, dict):
        assert list(a) == list(b), path
        for key in a:
            same_payload(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            same_payload(x, y, f"{path}[{i}]")
    elif hasattr(a, "__dict__") and not isinstance(a, type):
        same_payload(vars(a), vars(b), f"{path}.__dict__")
    else:
        assert a == b, path


@pytest.mark.parametrize("which", ["small", "reading", "default"])
def test_a_model_file_loads_as_skops_loads_it(which, small_model_dir, reading_model, tmp_path):
    import skops.io as sio

    from moderation import persist

    directory = {"small": small_model_dir, "default": persist.default_model_path()}.get(which)
    if directory is None:
        directory = reading_model.save(tmp_path / "reading")
    data = (Path(directory) / persist.MODEL_FILE).read_bytes()
    known = persist._load_known(data)
    assert known is not None
    assert isinstance(known["pipeline"], persist.Saved)
    same_payload(persist.built(known), sio.loads(data, trusted=list(persist.TRUSTED_TYPES)))


def test_a_file_with_anything_else_goes_to_skops(small_model_dir, tmp_path):
    import io
    import json
    import zipfile

    from moderation import persist

    data = (Path(small_model_dir) / persist.MODEL_FILE).read_bytes()
    source = zipfile.ZipFile(io.BytesIO(data))
    schema = json.loads(source.read("schema.json"))
    schema["content"]["threshold"] = {"__class__": "Fraction", "__module__": "fractions", "__loader__": "ObjectNode",
                                      "content": None, "__id__": 99999}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            target.writestr(name, json.dumps(schema) if name == "schema.json" else source.read(name))
    assert persist._load_known(out.getvalue()) is None
    assert persist._load_known(b"not a zip") is None


def _npy(array, allow_pickle=False) -> bytes:
    import io

    out = io.BytesIO()
    np.save(out, array, allow_pickle=allow_pickle)
    return out.getvalue()


def test_a_model_files_arrays_are_read_by_two_threads_as_one_would_read_them():
    import io
    import zipfile

    from moderation import persist

    arrays = {f"{i}.npy": np.arange(i * 1000, dtype=np.float64 if i % 2 else np.int32) for i in range(1, 6)}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for name, array in arrays.items():
            target.writestr(name, _npy(array))
        target.writestr("schema.json", "{}")
    read = persist._read_arrays(zipfile.ZipFile(out), list(arrays))
    assert sorted(read) == sorted(arrays)
    for name, array in arrays.items():
        assert read[name].dtype == array.dtype and np.array_equal(read[name], array), name


def test_a_pickled_array_read_by_the_second_thread_is_refused_in_the_callers():
    """The largest member is read by the caller's thread, the next by the second one: its error is raised here."""
    import io
    import zipfile

    from moderation import persist

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        target.writestr("large.npy", _npy(np.zeros(100_000)))
        target.writestr("pickled.npy", _npy(np.array([{"a": 1}], dtype=object), allow_pickle=True))
    with pytest.raises(ValueError, match="allow_pickle=False"):
        persist._read_arrays(zipfile.ZipFile(out), ["large.npy", "pickled.npy"])


def test_the_kernels_table_holds_the_coefficients(reading_model, tmp_path):
    """A trained model's coefficients are float32 values: the table is float32, a half-size copy of them; a
    model's with more precision are held once, the classifiers' ``coef_`` being views of a float64 table."""
    import moderation

    saved = reading_model.save(tmp_path / "before")
    model = moderation.load_model(saved)
    before = model.score_table(our_texts()[:300], categories=bool(model.categories))
    weights = model.head.kernel_weights
    if weights is None:
        skip_or_fail("the compiled kernel is not built (pip install .)")
    classifiers = [model.head.main, *model.head.categories.values()]
    assert weights.dtype == np.float32
    assert all(np.array_equal(weights[:, j], c.coef_.ravel()) for j, c in enumerate(classifiers, start=1))
    assert not any(np.shares_memory(c.coef_, weights) for c in classifiers)
    precise = moderation.load_model(saved)
    nudged = np.nextafter(precise.head.main.coef_, np.inf)  # not float32 values any more
    precise.head.main.coef_ = nudged
    table = precise.head.kernel_weights
    assert table.dtype == np.float64
    assert all(np.shares_memory(c.coef_, table) for c in [precise.head.main, *precise.head.categories.values()])
    assert np.array_equal(precise.head.main.coef_, nudged)
    assert model.score_table(our_texts()[:300], categories=bool(model.categories)).equals(before)
    again = model.save(tmp_path / "after")
    assert (again / "model.skops").read_bytes() == (saved / "model.skops").read_bytes()
