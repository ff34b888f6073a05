"""HashedTfidf: the same n-grams as scikit-learn, deterministic columns, sound TF-IDF rows."""

from __future__ import annotations

import json
import os
import pickle
import random
import re
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

import moderation.features as features
from moderation.features import HashedTfidf
from moderation.normalize import TextNormalizer

WORD_TOKEN = r"(?u)\b\w\w+\b"

# letters, digits, "_", punctuation, white space of several kinds, accents, a combining
# mark, CJK, astral letters (mathematical bold A, Gothic), astral digits, emoji and ZWJ
ALPHABET = (list("abcdefghij") * 4 + list("0123456789_-.,!?'*@#") + [" "] * 12
            + ["\t", "\n", "\u00a0", "\u3000", "\u2003", "\x1c"]
            + ["é", "ß", "\u0301", "中", "文", "\U0001D400", "\U00010330", "\U0001D7CE",
               "\U0001F600", "\U0001F525", "\u200d", "\ufe0f", "½", "²"])


def random_texts(n: int, seed: int, max_len: int = 40) -> list[str]:
    rng = random.Random(seed)
    texts = ["", " ", "a", "ab", "a b", "  leading and trailing  ", "x" * 7, "\U0001F600", "é\U0001F600é"]
    for _ in range(n):
        texts.append("".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, max_len))))
    return texts


def sklearn_analyzer(analyzer: str, ngram_range):
    if analyzer == "char":
        return TfidfVectorizer(analyzer="char_wb", ngram_range=ngram_range, lowercase=False).build_analyzer()
    return TfidfVectorizer(analyzer="word", ngram_range=ngram_range, lowercase=False,
                           token_pattern=WORD_TOKEN).build_analyzer()


@pytest.mark.parametrize("ngram_range", [(2, 5), (1, 3), (1, 1), (3, 3), (4, 6), (5, 7)])
def test_char_ngrams_are_sklearns_char_wb(ngram_range):
    texts = random_texts(300, seed=sum(ngram_range))
    ours = HashedTfidf(analyzer="char", ngram_range=ngram_range).ngrams(texts)
    theirs = sklearn_analyzer("char", ngram_range)
    for text, grams in zip(texts, ours):
        assert Counter(grams) == Counter(theirs(text)), repr(text)


@pytest.mark.parametrize("ngram_range", [(1, 2), (1, 1), (2, 2), (1, 3), (2, 4)])
def test_word_ngrams_are_sklearns_words(ngram_range):
    texts = random_texts(300, seed=10 + sum(ngram_range))
    ours = HashedTfidf(analyzer="word", ngram_range=ngram_range).ngrams(texts)
    theirs = sklearn_analyzer("word", ngram_range)
    for text, grams in zip(texts, ours):
        assert Counter(grams) == Counter(theirs(text)), repr(text)


def test_character_classes_match_python():
    space, word = features._bmp_tables()
    pattern = re.compile(r"\w")
    for i in range(0x10000):
        c = chr(i)
        assert word[i] == bool(pattern.match(c)), hex(i)
        assert space[i] == c.isspace(), hex(i)
    astral = np.array([0x1D400, 0x10330, 0x1D7CE, 0x1F600, 0x1F525, 0xE0001, 0x10FFFF], dtype=np.uint32)
    assert features._word_mask(astral).tolist() == [bool(pattern.match(chr(c))) for c in astral]
    assert not features._space_mask(astral).any()


@pytest.mark.parametrize("analyzer,ngram_range", [("char", (2, 5)), ("char", (1, 4)), ("char", (4, 6)),
                                                  ("word", (1, 2))])
def test_occurrences_give_strings_columns_and_spans(analyzer, ngram_range):
    texts = random_texts(200, seed=3)
    vec = HashedTfidf(analyzer=analyzer, ngram_range=ngram_range)
    occ = vec.occurrences(texts)
    grams = vec.ngrams(texts)
    flat = [g for gs in grams for g in gs]
    assert len(flat) == occ.doc.size == occ.col.size == occ.start.size == occ.end.size
    assert np.all(np.diff(occ.doc) >= 0)
    assert occ.doc.tolist() == [d for d, gs in enumerate(grams) for _ in gs]
    column = {}
    for g, c in zip(flat, occ.col.tolist()):
        assert column.setdefault(g, c) == c, g  # a column depends on the string alone
    assert 0 <= occ.col.min() and occ.col.max() < vec.n_features
    for d, g, s, e in zip(occ.doc.tolist(), flat, occ.start.tolist(), occ.end.tolist()):
        text = texts[d]
        assert 0 <= s <= e <= len(text)
        if analyzer == "word":
            assert text[s:e].startswith(g.split(" ")[0]) and text[s:e].endswith(g.split(" ")[-1])
            assert re.findall(WORD_TOKEN, text[s:e]) == g.split(" ")
        else:
            core = g.strip(" ")
            # the span is the n-gram without its padding spaces (white space may be a tab etc.)
            assert text[s:e] == core, (text, g, s, e)
            if g.startswith(" ") and core:  # a leading padding space: the word starts at s
                assert s == 0 or text[s - 1].isspace()
            if g.endswith(" ") and core:  # a trailing one: the word ends at e
                assert e == len(text) or text[e].isspace()


def _sklearn_counts(analyzer, ngram_range, texts):
    if analyzer == "char":
        ref = CountVectorizer(analyzer="char_wb", ngram_range=ngram_range, lowercase=False)
    else:
        ref = CountVectorizer(analyzer="word", ngram_range=ngram_range, lowercase=False, token_pattern=WORD_TOKEN)
    return ref.fit_transform(texts), ref.get_feature_names_out()


@pytest.mark.parametrize("analyzer,ngram_range", [("char", (2, 5)), ("word", (1, 2))])
def test_transform_is_sklearns_tfidf_of_the_hashed_counts(analyzer, ngram_range):
    texts = [t for t in random_texts(400, seed=5) if t.strip()]
    vec = HashedTfidf(analyzer=analyzer, ngram_range=ngram_range, n_features=2 ** 16)
    X = vec.fit_transform(texts)
    counts, names = _sklearn_counts(analyzer, ngram_range, texts)
    column = dict(zip([g for gs in vec.ngrams(texts) for g in gs], vec.occurrences(texts).col.tolist()))
    to_col = sp.csr_matrix((np.ones(len(names)), (np.arange(len(names)), [column[n] for n in names])),
                           shape=(len(names), vec.n_features))
    hashed = (counts @ to_col).tocsr()  # counts of colliding n-grams add up
    hashed.sort_indices()
    n = len(texts)
    df = np.bincount(hashed.indices, minlength=vec.n_features)
    idf = np.log((1 + n) / (1 + df)) + 1
    expected = hashed.astype(np.float64)
    expected.data = (1 + np.log(expected.data)) * idf[expected.indices]
    expected = normalize_rows(expected)
    assert np.array_equal(X.indptr, expected.indptr) and np.array_equal(X.indices, expected.indices)
    np.testing.assert_allclose(X.data, expected.data, rtol=1e-5, atol=1e-7)


def test_transform_is_sklearns_tfidf_without_collisions():
    texts = ["you are an idiot", "what an idiot you are", "lovely day", "a day of idiots", "", "你好 world"]
    for analyzer, ngram_range in [("char", (2, 5)), ("word", (1, 2))]:
        vec = HashedTfidf(analyzer=analyzer, ngram_range=ngram_range, n_features=2 ** 20)
        X = vec.fit_transform(texts)
        if analyzer == "char":
            ref = TfidfVectorizer(analyzer="char_wb", ngram_range=ngram_range, lowercase=False, sublinear_tf=True)
        else:
            ref = TfidfVectorizer(analyzer="word", ngram_range=ngram_range, lowercase=False,
                                  token_pattern=WORD_TOKEN, sublinear_tf=True)
        Y = ref.fit_transform(texts)
        column = dict(zip([g for gs in vec.ngrams(texts) for g in gs], vec.occurrences(texts).col.tolist()))
        cols = [column[n] for n in ref.get_feature_names_out()]
        assert len(set(cols)) == len(cols)
        assert X.nnz == Y.nnz
        np.testing.assert_allclose(X[:, cols].toarray(), Y.toarray(), rtol=1e-5, atol=1e-7)


def normalize_rows(X):
    from sklearn.preprocessing import normalize

    return normalize(X, norm="l2")


@pytest.mark.slow
def test_columns_are_deterministic_across_processes():
    texts = ["you are an idiot", "héllo wörld 😀 ok", "\U0001D400\U0001D401 x"]
    code = ("import sys, json; from moderation.features import HashedTfidf as H;"
            "t = json.loads(sys.argv[1]);"
            "print(json.dumps([H('char', (2, 5), 2**20).occurrences(t).col.tolist(),"
            " H('word', (1, 2), 2**19).occurrences(t).col.tolist()]))")
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(texts)], capture_output=True, text=True,
                         env=env, check=True).stdout
    char_cols, word_cols = json.loads(out)
    assert char_cols == HashedTfidf("char", (2, 5), 2 ** 20).occurrences(texts).col.tolist()
    assert word_cols == HashedTfidf("word", (1, 2), 2 ** 19).occurrences(texts).col.tolist()


def test_columns_are_pinned():
    """Saved models depend on these: changing the hash function breaks every one of them."""
    char = HashedTfidf("char", (2, 5), 2 ** 20)
    grams = char.ngrams(["you"])[0]
    cols = dict(zip(grams, char.occurrences(["you"]).col.tolist()))
    assert cols[" y"] == 455418 and cols[" you "] == 840792 and cols["you"] == 753014
    word = HashedTfidf("word", (1, 2), 2 ** 19)
    texts = ["héllo wörld"]
    cols = dict(zip(word.ngrams(texts)[0], word.occurrences(texts).col.tolist()))
    assert cols == {"héllo": 499725, "héllo wörld": 205311, "wörld": 329408}


@pytest.mark.parametrize("analyzer", ["char", "word"])
def test_rows_are_normalised_sorted_and_canonical(analyzer):
    texts = random_texts(150, seed=7)
    vec = HashedTfidf(analyzer=analyzer, ngram_range=(2, 5) if analyzer == "char" else (1, 2))
    X = vec.fit_transform(texts)
    assert isinstance(X, sp.csr_matrix) and X.shape == (len(texts), vec.n_features)
    assert X.dtype == np.float32 and vec.idf_.dtype == np.float32 and vec.idf_.shape == (vec.n_features,)
    for i in range(X.shape[0]):
        row = X.indices[X.indptr[i]:X.indptr[i + 1]]
        assert np.all(np.diff(row) > 0)
    assert np.all(X.data > 0)
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    has_grams = np.array([len(g) > 0 for g in vec.ngrams(texts)])
    np.testing.assert_allclose(norms[has_grams], 1.0, rtol=1e-5)
    assert np.all(norms[~has_grams] == 0)
    Y = vec.transform(texts)
    assert (X != Y).nnz == 0
    assert (vec.fit(texts).transform(texts) != X).nnz == 0


def test_values_are_sublinear_tf_times_smooth_idf():
    texts = ["aa aa aa bb", "bb cc", "cc cc dd", ""]
    vec = HashedTfidf("word", (1, 1), 2 ** 16, norm=None).fit(texts)
    X = vec.transform(texts).toarray()
    col = dict(zip([g for gs in vec.ngrams(texts) for g in gs], vec.occurrences(texts).col.tolist()))
    n = len(texts)
    idf = lambda df: np.log((1 + n) / (1 + df)) + 1  # noqa: E731
    assert X[0, col["aa"]] == pytest.approx((1 + np.log(3)) * idf(1), rel=1e-6)
    assert X[0, col["bb"]] == pytest.approx(idf(2), rel=1e-6)
    assert X[2, col["cc"]] == pytest.approx((1 + np.log(2)) * idf(2), rel=1e-6)
    assert X[3].sum() == 0
    # n-grams never seen in training (and columns below min_df) have idf 0: dropped
    assert vec.transform(["zz"]).nnz == 0
    strict = HashedTfidf("word", (1, 1), 2 ** 16, min_df=2).fit(texts)
    assert strict.transform(["aa bb"]).nnz == 1


@pytest.mark.parametrize("analyzer", ["char", "word"])
def test_occurrences_recount_to_the_raw_counts(analyzer):
    texts = random_texts(200, seed=11)
    raw = HashedTfidf(analyzer=analyzer, ngram_range=(1, 3), n_features=2 ** 12, sublinear_tf=False, norm=None)
    raw.fit(texts)
    raw.idf_ = np.ones(raw.n_features, dtype=np.float32)  # so the values are the counts
    X = raw.transform(texts)
    occ = raw.occurrences(texts)
    counts = sp.csr_matrix((np.ones(occ.doc.size, dtype=np.float32), (occ.doc, occ.col)), shape=X.shape)
    assert (X != counts).nnz == 0
    vec = HashedTfidf(analyzer=analyzer, ngram_range=(1, 3), n_features=2 ** 12).fit(texts)
    X = vec.transform(texts)
    Y, occ2 = vec.transform_with_occurrences(texts)
    assert (X != Y).nnz == 0
    for a, b in zip(occ, occ2):
        np.testing.assert_array_equal(a, b)
    assert (vec._transform_from_occurrences(occ, len(texts)) != X).nnz == 0
    shuffled = np.random.default_rng(0).permutation(occ.doc.size)
    assert (vec._transform_from_occurrences((occ.doc[shuffled], occ.col[shuffled]), len(texts)) != X).nnz == 0


@pytest.mark.parametrize("n_features", [2 ** 20, 2 ** 22, 2 ** 4])
def test_chunking_does_not_change_the_result(monkeypatch, n_features):
    texts = random_texts(600, seed=13, max_len=120) + [""] * 700 + ["ok"]
    vec = HashedTfidf("char", (2, 4), n_features=n_features).fit(texts)
    whole = vec.transform(texts)
    occ = vec.occurrences(texts)
    monkeypatch.setattr(features, "_CHUNK_CHARS", 64)
    monkeypatch.setattr(features, "_SORT_BLOCK", 50)
    assert (vec.transform(texts) != whole).nnz == 0
    again = HashedTfidf("char", (2, 4), n_features=n_features).fit(texts)
    np.testing.assert_array_equal(again.idf_, vec.idf_)
    for a, b in zip(vec.occurrences(texts), occ):
        np.testing.assert_array_equal(a, b)
    assert (vec._transform_from_occurrences(occ, len(texts)) != whole).nnz == 0
    single = sp.vstack([vec.transform([t]) for t in texts[:50]])
    assert (single != whole[:50]).nnz == 0


@pytest.mark.parametrize("analyzer", ["char", "word"])
def test_empty_inputs(analyzer):
    vec = HashedTfidf(analyzer=analyzer, ngram_range=(2, 5) if analyzer == "char" else (1, 2))
    vec.fit(["some text here", "more"])
    assert vec.transform([]).shape == (0, vec.n_features)
    X = vec.transform(["", " ", "\t \n"])
    assert X.shape == (3, vec.n_features) and X.nnz == 0
    occ = vec.occurrences([])
    assert all(a.size == 0 for a in occ)
    X, occ = vec.transform_with_occurrences(["", "more"])
    assert X.shape[0] == 2 and X[0].nnz == 0 and set(occ.doc.tolist()) == {1}
    assert vec._transform_from_occurrences(vec.occurrences([""]), 1).shape == (1, vec.n_features)
    assert HashedTfidf(analyzer=analyzer).fit([]).transform(["x y"]).nnz == 0
    assert HashedTfidf(analyzer=analyzer).fit(["", ""]).transform([""]).nnz == 0


def test_pickle_round_trip_and_params():
    texts = random_texts(50, seed=17)
    vec = HashedTfidf("char", (2, 5), 2 ** 18, min_df=2).fit(texts)
    copy = pickle.loads(pickle.dumps(vec))
    assert (copy.transform(texts) != vec.transform(texts)).nnz == 0
    assert copy.get_params() == vec.get_params()
    assert clone(vec).get_params()["ngram_range"] == (2, 5)
    assert not hasattr(clone(vec), "idf_")
    assert vec.__sklearn_tags__().input_tags.string


def test_works_in_a_pipeline():
    texts = ["you are an idiot", "what a lovely day", "shut up moron", "thanks for the article",
             "idiots everywhere", "great reporting"] * 5
    y = [1, 0, 1, 0, 1, 0] * 5
    pipe = Pipeline([
        ("normalize", TextNormalizer()),
        ("features", FeatureUnion([("words", HashedTfidf("word", (1, 2), 2 ** 19)),
                                   ("chars", HashedTfidf("char", (2, 5), 2 ** 20))])),
        ("classifier", LogisticRegression(C=4, solver="liblinear")),
    ])
    pipe.fit(texts, y)
    p = pipe.predict_proba(["You are an IDIOT", "lovely article"])[:, 1]
    assert p[0] > 0.5 > p[1]
    X = pipe.named_steps["features"].transform(["hi"])
    assert X.shape == (1, 2 ** 19 + 2 ** 20)
    again = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_allclose(again.predict_proba(texts)[:, 1], pipe.predict_proba(texts)[:, 1])


@pytest.mark.parametrize("params", [dict(analyzer="chars"), dict(ngram_range=(0, 2)), dict(ngram_range=(3, 2)),
                                    dict(n_features=1000), dict(n_features=2 ** 25), dict(norm="max")])
def test_bad_parameters_are_refused(params):
    with pytest.raises(ValueError):
        HashedTfidf(**params).fit(["text"])


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        HashedTfidf().fit("a single string")
    with pytest.raises(TypeError):
        HashedTfidf().fit(["ok", None])


@pytest.mark.parametrize("analyzer,ngram_range", [("word", (1, 2)), ("char_wb", (2, 5)), ("char_wb", (1, 3))])
def test_term_frequencies_weighed_equal_transform(analyzer, ngram_range):
    """Leave-one-corpus-out hashes the texts once: weighing their term frequencies must equal transform exactly."""
    texts = ["you are a moron", "lovely weather in almaty", "", "a", "zz zz zz", "moron moron idiot", "the the"]
    fitted = HashedTfidf(analyzer=analyzer, ngram_range=ngram_range, n_features=2 ** 12, min_df=2).fit(texts[:5])
    T = fitted.term_frequencies(texts)
    again = HashedTfidf(analyzer=analyzer, ngram_range=ngram_range, n_features=2 ** 12, min_df=2).fit_from_tf(T[:5])
    np.testing.assert_array_equal(again.idf_, fitted.idf_)
    a, b = fitted.transform(texts), again.weigh(T)
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.data, b.data)


def test_the_estimators_keep_the_names_model_files_record():
    import pickle

    import moderation.features
    import moderation.normalize
    from moderation.estimators import HashedTfidf as Estimator
    from moderation.estimators import TextNormalizer as Normalizer

    assert moderation.features.HashedTfidf is Estimator and moderation.normalize.TextNormalizer is Normalizer
    assert (Estimator.__module__, Normalizer.__module__) == ("moderation.features", "moderation.normalize")
    vec = Estimator("word", (1, 2), 2 ** 12).fit(["you are an idiot", "a fine article"])
    again = pickle.loads(pickle.dumps(vec))
    assert type(again) is Estimator and np.array_equal(again.idf_, vec.idf_)
    assert vec.get_params()["ngram_range"] == (1, 2)
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        moderation.features.Nothing
