"""Vectorised feature-hashing TF-IDF for character (``char_wb``) and word n-grams.

``HashedTfidf`` replaces the model's two ``TfidfVectorizer`` s at a fraction of
their cost. It produces exactly the n-grams of scikit-learn's ``char_wb`` analyzer,
or of its word analyzer with ``token_pattern=r"(?u)\\b\\w\\w+\\b"`` (no lower-casing:
the input is already normalised), but hashes each into one of ``n_features``
columns instead of looking it up in a vocabulary, and does so with numpy array
arithmetic over a whole batch: there is no Python loop per text or per n-gram.

Hashing is fixed integer arithmetic (uint32, wrapping), so the columns are the
same in every process and on every machine (Python's ``hash()`` is salted and is
not used). A column depends only on the n-gram's string: every code point ``c``
has a pseudo-random 32-bit value ``T[c]`` (murmur3's finaliser of ``c``), the
string ``g[0:n]`` hashes to ``sum_k T[g[k]] * R[k] + S[n]`` (mod 2**32) with fixed
odd multipliers ``R`` and offsets ``S``, and its column is the top
``log2(n_features)`` bits. A word n-gram hashes the same way from its tokens'
hashes, a token's hash being ``sum_j T[c_j] * P**j`` over its characters.

Values are scikit-learn's: ``(1 + ln(count)) * idf`` (``sublinear_tf``) with the
smooth idf ``ln((1 + n) / (1 + df)) + 1`` that ``fit`` learns per hashed column,
normalised per row. Columns found in fewer than ``min_df`` training texts,
including every column never seen in training (like an out-of-vocabulary n-gram
in scikit-learn), get idf 0 and never appear in the output.

``occurrences`` lists every n-gram occurrence as ``(doc, col, start, end)`` with
character offsets into its text (for ``char_wb`` clipped to the word, so never
covering a padding space), and ``transform_with_occurrences`` returns the matrix
and the occurrences from one pass, so scoring and explaining hash only once.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp

try:  # the compiled kernel (setup.py); without it, scoring takes the numpy path to the same values
    from . import _kernel
except ImportError:  # pragma: no cover - a source checkout without a build
    _kernel = None

__all__ = ["HashedTfidf", "HashedTfidfCore", "Occurrences", "expit", "linear_scores", "kernel_weights", "parts_of",
           "top_words"]

# Texts are processed in pieces of about this many characters: each piece's keys
# are sorted in one go, and a piece small enough for the caches is fastest.
_CHUNK_CHARS = 1 << 15
# Occurrences handed to ``_transform_from_occurrences`` are sorted in doc-aligned
# blocks of about this many.
_SORT_BLOCK = 1 << 18
_U32 = np.uint32
_MAX_CP = 0x110000


class Occurrences(NamedTuple):
    """Every n-gram occurrence: its text's row, its column, ``[start, end)`` offsets in the text.

    Ordered by text, then by position (then by n). ``end == start`` only for a
    ``char_wb`` unigram that is a padding space (``ngram_range`` starting at 1).
    """

    doc: np.ndarray
    col: np.ndarray
    start: np.ndarray
    end: np.ndarray


# -- fixed integer hashing ---------------------------------------------------------

def _fmix32_int(x: int) -> int:
    x &= 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x85EBCA6B) & 0xFFFFFFFF
    x ^= x >> 13
    x = (x * 0xC2B2AE35) & 0xFFFFFFFF
    return x ^ (x >> 16)


def _fmix32(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.uint64) & 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x85EBCA6B) & 0xFFFFFFFF
    x ^= x >> 13
    x = (x * 0xC2B2AE35) & 0xFFFFFFFF
    x ^= x >> 16
    return x.astype(_U32)


@lru_cache(maxsize=None)
def _constants(seed: int, count: int = 64) -> tuple[tuple[np.uint32, ...], tuple[np.uint32, ...]]:
    """``R`` (odd multipliers by position in the n-gram) and ``S`` (offsets by length) for ``seed``."""
    r = tuple(_U32(_fmix32_int(seed * 0x9E3779B1 + 2 * i + 1) | 1) for i in range(count))
    s = tuple(_U32(_fmix32_int(seed * 0x85EBCA77 + 2 * i + 2)) for i in range(count + 1))
    return r, s


@lru_cache(maxsize=None)
def _char_table() -> np.ndarray:
    """``T``: the 32-bit value of every code point (4.4 MB, built on first use)."""
    return _fmix32(np.arange(_MAX_CP, dtype=np.uint64) ^ 0x5BD1E995)


_POWER = 0x01000193  # FNV prime; a token hashes to sum_j T[c_j] * P**j


@lru_cache(maxsize=4)
def _powers(size: int) -> tuple[np.ndarray, np.ndarray]:
    """``P**i`` and ``P**-i`` (mod 2**32) for ``i < size``."""
    p = np.full(size, _POWER, dtype=_U32)
    p[0] = 1
    q = np.full(size, pow(_POWER, -1, 1 << 32), dtype=_U32)
    q[0] = 1
    return np.cumprod(p, dtype=_U32), np.cumprod(q, dtype=_U32)


def _powers_for(n: int) -> tuple[np.ndarray, np.ndarray]:
    return _powers(1 << max(16, int(n).bit_length()))  # cached by powers of two


@lru_cache(maxsize=32)
def _tf_table_cached(size: int, sublinear: bool, dtype: str) -> np.ndarray:
    counts = np.arange(size, dtype=np.float64)
    if sublinear:
        with np.errstate(divide="ignore"):
            tf = 1.0 + np.log(counts)
        tf[0] = 0.0
    else:
        tf = counts
    return tf.astype(dtype)


def _tf_table(max_count: int, sublinear: bool, dtype: str) -> np.ndarray:
    """tf of every count up to ``max_count``, as a lookup table."""
    return _tf_table_cached(1 << max(8, int(max_count).bit_length()), sublinear, dtype)


# -- character classes -----------------------------------------------------------------

@lru_cache(maxsize=None)
def _bmp_tables() -> tuple[np.ndarray, np.ndarray]:
    """(is white space, is a regex ``\\w`` character) for every code point below 0x10000.

    ``\\w`` is ``str.isalnum()`` or ``"_"``, as in Python's ``re``; ``str.split()``
    splits on ``str.isspace()``. No white-space code point lies above the BMP.
    """
    chars = [chr(i) for i in range(0x10000)]
    space = np.fromiter((c.isspace() for c in chars), dtype=bool, count=0x10000)
    word = np.fromiter((c.isalnum() or c == "_" for c in chars), dtype=bool, count=0x10000)
    return space, word


def _space_mask(cp: np.ndarray) -> np.ndarray:
    if cp.size and cp.max() > 0xFFFF:
        cp = np.minimum(cp, 0xFFFF)  # U+FFFF is not white space
    return _bmp_tables()[0][cp]


def _word_mask(cp: np.ndarray) -> np.ndarray:
    if not cp.size or cp.max() <= 0xFFFF:
        return _bmp_tables()[1][cp]
    mask = _bmp_tables()[1][np.minimum(cp, 0xFFFF)]
    astral = np.flatnonzero(cp > 0xFFFF)
    if astral.size:
        uniq, inverse = np.unique(cp[astral], return_inverse=True)
        flags = np.fromiter((chr(int(c)).isalnum() for c in uniq), dtype=bool, count=uniq.size)
        mask[astral] = flags[inverse]
    return mask


def _codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4").astype(_U32, copy=False)


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and (exclusive) ends of the runs of True in ``mask``."""
    edges = np.diff(np.concatenate(([False], mask, [False])).view(np.int8))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _exclusive_cumsum(a: np.ndarray) -> np.ndarray:
    out = np.zeros(a.size, dtype=np.int64)
    if a.size > 1:
        np.cumsum(a[:-1], out=out[1:])
    return out


class _Chunk(NamedTuple):
    """One chunk's n-grams. ``keys``: ``(doc << bits) | col`` with doc local to the chunk."""

    keys: np.ndarray
    occ: Occurrences | None = None
    strings: list | None = None  # debug: n-gram strings in ``occ`` order


# -- the transformer ---------------------------------------------------------------------

def __getattr__(name: str):
    # the estimator imports scikit-learn (about a second), which scoring a loaded model does without
    if name == "HashedTfidf":
        from .estimators import HashedTfidf

        return HashedTfidf
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _check_fitted(block) -> None:
    """scikit-learn's ``check_is_fitted(block, "idf_")``, importing scikit-learn only to raise its error."""
    if not hasattr(block, "idf_"):
        from sklearn.exceptions import NotFittedError

        raise NotFittedError(f"This {type(block).__name__} instance is not fitted yet. Call 'fit' with appropriate "
                             "arguments before using this estimator.")


class HashedTfidfCore:
    """Hashed TF-IDF of ``char_wb`` or word n-grams of already-normalised texts.

    All of ``HashedTfidf`` but scikit-learn's estimator protocol (``moderation.estimators``
    adds it), so that scoring a loaded model needs no scikit-learn.

    Parameters
    ----------
    analyzer : "char" (alias "char_wb") or "word"
        "char": the n-grams inside each white-space separated word padded with one
        space either side, exactly as scikit-learn's ``char_wb``. "word": n-grams of
        consecutive tokens of a text, a token being a run of two or more ``\\w``
        characters (scikit-learn's default ``token_pattern``).
    ngram_range : (min_n, max_n)
    n_features : the number of hashed columns, a power of two.
    sublinear_tf : ``1 + ln(count)`` instead of ``count``.
    min_df : columns in fewer training texts than this get idf 0, i.e. are dropped.
    norm : "l2", "l1" or None, per row.
    dtype : dtype of the output's values.
    """

    def __init__(self, analyzer="char", ngram_range=(2, 5), n_features=2 ** 20, sublinear_tf=True,
                 min_df=1, norm="l2", dtype=np.float32):
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.n_features = n_features
        self.sublinear_tf = sublinear_tf
        self.min_df = min_df
        self.norm = norm
        self.dtype = dtype

    # -- validation -------------------------------------------------------------------
    def _settings(self) -> tuple[str, int, int, int]:
        analyzer = {"char": "char", "char_wb": "char", "word": "word"}.get(self.analyzer)
        if analyzer is None:
            raise ValueError(f"analyzer must be 'char' (or 'char_wb') or 'word', not {self.analyzer!r}")
        try:
            lo, hi = (int(v) for v in self.ngram_range)
        except (TypeError, ValueError):
            raise ValueError(f"ngram_range must be a pair of integers, not {self.ngram_range!r}") from None
        if not 1 <= lo <= hi <= 32:
            raise ValueError(f"ngram_range must satisfy 1 <= min_n <= max_n <= 32, not {self.ngram_range!r}")
        n = self.n_features
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 2 or n > 2 ** 24 or n & (n - 1):
            raise ValueError(f"n_features must be a power of two from 2 to 2**24, not {n!r}")
        if self.norm not in ("l2", "l1", None):
            raise ValueError(f"norm must be 'l2', 'l1' or None, not {self.norm!r}")
        return analyzer, lo, hi, int(n).bit_length() - 1

    @staticmethod
    def _docs(X) -> list[str]:
        if isinstance(X, (str, bytes)):
            raise ValueError("an iterable over texts is expected, not a single string")
        docs = list(X)
        for d in docs:
            if not isinstance(d, str):
                raise TypeError(f"texts must be str (normalised), not {type(d).__name__}")
        return docs

    @staticmethod
    def _chunks(docs: list[str], bits: int):
        """Consecutive (start, stop) ranges of about ``_CHUNK_CHARS`` characters, each
        with fewer than ``2**(32 - bits)`` texts so that (doc, col) packs into 32 bits."""
        n = len(docs)
        if n == 0:
            return []
        ends = np.cumsum(np.fromiter(map(len, docs), dtype=np.int64, count=n) + 1)
        cuts = np.searchsorted(ends, np.arange(_CHUNK_CHARS, int(ends[-1]), _CHUNK_CHARS), side="left") + 1
        max_docs = (1 << (32 - bits)) - 1
        cuts = np.unique(np.concatenate(([0], cuts[cuts < n], np.arange(max_docs, n, max_docs), [n])))
        return list(zip(cuts[:-1].tolist(), cuts[1:].tolist()))

    # -- n-grams --------------------------------------------------------------------------
    def _chunk(self, docs: list[str], occurrences: bool = False, strings: bool = False) -> _Chunk:
        analyzer, lo, hi, bits = self._settings()
        fn = _char_chunk if analyzer == "char" else _word_chunk
        return fn(docs, lo, hi, bits, occurrences or strings, strings)

    def occurrences(self, X) -> Occurrences:
        """Every n-gram occurrence in the texts ``X`` (needs no fit: columns are hashes)."""
        docs = self._docs(X)
        bits = self._settings()[3]
        return _concat_occurrences([(a, self._chunk(docs[a:b], occurrences=True).occ)
                                    for a, b in self._chunks(docs, bits)])

    def ngrams(self, X) -> list[list[str]]:
        """The n-gram strings of each text, in ``occurrences`` order (for tests and debugging)."""
        docs = self._docs(X)
        out: list[list[str]] = [[] for _ in docs]
        for a, b in self._chunks(docs, self._settings()[3]):
            chunk = self._chunk(docs[a:b], strings=True)
            for d, s in zip(chunk.occ.doc.tolist(), chunk.strings):
                out[a + d].append(s)
        return out

    # -- counting and weighting -------------------------------------------------------------
    def _count_keys(self, keys: np.ndarray):
        """Sort packed keys in place; the distinct keys and their counts."""
        keys.sort()
        m = keys.size
        flag = np.empty(m, dtype=bool)
        flag[0] = True
        np.not_equal(keys[1:], keys[:-1], out=flag[1:])
        first = np.flatnonzero(flag)
        counts = np.empty(first.size, dtype=np.int32)
        np.subtract(first[1:], first[:-1], out=counts[:-1], casting="unsafe")
        counts[-1] = m - first[-1]
        return keys[first], counts

    def _rows(self, ukeys: np.ndarray, counts: np.ndarray, n_docs: int):
        """CSR pieces (row lengths, indices, data) of tf × idf, normalised, from sorted distinct keys."""
        bits = self._settings()[3]
        dtype = np.dtype(self.dtype)
        cols = np.bitwise_and(ukeys, _U32(self.n_features - 1), out=np.empty(ukeys.size, dtype=np.intp),
                              casting="unsafe")
        data = _tf_table(int(counts.max()), bool(self.sublinear_tf), dtype.str)[counts]
        data *= self.idf_[cols]
        docs = ukeys >> _U32(bits)
        if not data.all():
            keep = data != 0
            cols, data, docs = cols[keep], data[keep], docs[keep]
        indptr = np.searchsorted(docs, np.arange(n_docs + 1, dtype=_U32))
        lengths = np.diff(indptr)
        if self.norm is not None and data.size:
            _normalise_rows(data, indptr, lengths, self.norm)
        return lengths, cols.astype(np.int32), data

    def _assemble(self, pieces, n_docs: int) -> sp.csr_matrix:
        import scipy.sparse as sp

        dtype = np.dtype(self.dtype)
        if pieces:
            lengths = np.concatenate([p[0] for p in pieces])
            indices = np.concatenate([p[1] for p in pieces])
            data = np.concatenate([p[2] for p in pieces]).astype(dtype, copy=False)
        else:
            lengths = np.zeros(n_docs, dtype=np.int64)
            indices = np.zeros(0, dtype=np.int32)
            data = np.zeros(0, dtype=dtype)
        indptr = np.zeros(n_docs + 1, dtype=np.int64 if indices.size > 2 ** 31 - 1 else np.int32)
        np.cumsum(lengths, out=indptr[1:])
        X = sp.csr_matrix((data, indices, indptr), shape=(n_docs, self.n_features), copy=False)
        X.has_sorted_indices = True
        X.has_canonical_format = True
        return X

    def _piece(self, keys: np.ndarray, n_docs: int):
        if keys.size == 0:
            return np.zeros(n_docs, dtype=np.int64), np.zeros(0, dtype=np.int32), np.zeros(0, dtype=self.dtype)
        return self._rows(*self._count_keys(keys), n_docs)

    # -- scikit-learn API ---------------------------------------------------------------------
    def fit(self, X, y=None):
        self._fit(self._docs(X), keep=False)
        return self

    def fit_transform(self, X, y=None, **fit_params):
        docs = self._docs(X)
        counted = self._fit(docs, keep=True)
        return self._assemble([self._rows(k, c, n) if k.size else self._piece(k, n) for k, c, n in counted],
                              len(docs))

    def _fit(self, docs: list[str], keep: bool):
        bits = self._settings()[3]
        df = np.zeros(self.n_features, dtype=np.int64)
        pending, size = [], 0
        kept = []
        for a, b in self._chunks(docs, bits):
            keys = self._chunk(docs[a:b]).keys
            if keys.size:
                ukeys, counts = self._count_keys(keys)
            else:
                ukeys, counts = keys, np.zeros(0, dtype=np.int32)
            pending.append(ukeys & _U32(self.n_features - 1))
            size += ukeys.size
            if size > 1 << 24:
                df += np.bincount(np.concatenate(pending), minlength=self.n_features)
                pending, size = [], 0
            if keep:
                kept.append((ukeys, counts, b - a))
        if pending:
            df += np.bincount(np.concatenate(pending), minlength=self.n_features)
        n = len(docs)
        idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
        idf[df < max(int(self.min_df), 1)] = 0.0
        self.idf_ = idf.astype(np.float32)
        self.n_docs_fit_ = n
        return kept

    def transform(self, X) -> sp.csr_matrix:
        _check_fitted(self)
        docs = self._docs(X)
        pieces = [self._piece(self._chunk(docs[a:b]).keys, b - a)
                  for a, b in self._chunks(docs, self._settings()[3])]
        return self._assemble(pieces, len(docs))

    def transform_with_occurrences(self, X) -> tuple[sp.csr_matrix, Occurrences]:
        """``(transform(X), occurrences(X))`` from one pass over the texts."""
        _check_fitted(self)
        docs = self._docs(X)
        pieces, occs = [], []
        for a, b in self._chunks(docs, self._settings()[3]):
            chunk = self._chunk(docs[a:b], occurrences=True)
            pieces.append(self._piece(chunk.keys, b - a))
            occs.append((a, chunk.occ))
        return self._assemble(pieces, len(docs)), _concat_occurrences(occs)

    def _transform_from_occurrences(self, occ, n_docs: int) -> sp.csr_matrix:
        """The matrix of ``n_docs`` texts from their occurrences (only ``doc`` and ``col`` are read)."""
        _check_fitted(self)
        bits = self._settings()[3]
        doc = np.asarray(occ[0], dtype=np.int64)
        col = np.asarray(occ[1])
        if doc.size and np.any(doc[1:] < doc[:-1]):
            order = np.argsort(doc, kind="stable")
            doc, col = doc[order], col[order]
        # doc-aligned blocks of fewer than 2**(32 - bits) texts and about _SORT_BLOCK occurrences
        bounds = np.searchsorted(doc, np.arange(n_docs + 1))
        pieces = []
        a = 0
        max_docs = (1 << (32 - bits)) - 1
        while a < n_docs:
            b = int(np.searchsorted(bounds, bounds[a] + _SORT_BLOCK, side="right")) - 1
            b = min(max(b, a + 1), a + max_docs, n_docs)
            s, e = bounds[a], bounds[b]
            keys = ((doc[s:e] - a).astype(_U32) << _U32(bits)) | col[s:e].astype(_U32)
            pieces.append(self._piece(keys, b - a))
            a = b
        return self._assemble(pieces, n_docs)

    # -- term frequencies computed once, weighed per fit (leave-one-corpus-out reuses them) ---------
    def term_frequencies(self, X) -> sp.csr_matrix:
        """The (sublinear) term frequencies of the texts ``X``, before idf and normalisation; needs no fit.

        ``weigh(term_frequencies(X))`` equals ``transform(X)`` exactly, and
        ``fit_from_tf(term_frequencies(X))`` learns the same idf as ``fit(X)``.
        """
        docs = self._docs(X)
        dtype = np.dtype(self.dtype)
        pieces = []
        for a, b in self._chunks(docs, self._settings()[3]):
            keys = self._chunk(docs[a:b]).keys
            if keys.size == 0:
                pieces.append((np.zeros(b - a, dtype=np.int64), np.zeros(0, dtype=np.int32), np.zeros(0, dtype=dtype)))
                continue
            ukeys, counts = self._count_keys(keys)
            cols = (ukeys & _U32(self.n_features - 1)).astype(np.int32)
            docs_of = ukeys >> _U32(self._settings()[3])
            lengths = np.diff(np.searchsorted(docs_of, np.arange(b - a + 1, dtype=_U32)))
            pieces.append((lengths, cols, _tf_table(int(counts.max()), bool(self.sublinear_tf), dtype.str)[counts]))
        return self._assemble(pieces, len(docs))

    def fit_from_tf(self, T: sp.csr_matrix) -> "HashedTfidfCore":
        """Learn the idf from term frequencies (``term_frequencies`` of the training texts)."""
        df = np.bincount(T.indices, minlength=self.n_features)
        n = T.shape[0]
        idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
        idf[df < max(int(self.min_df), 1)] = 0.0
        self.idf_ = idf.astype(np.float32)
        self.n_docs_fit_ = n
        return self

    def weigh(self, T: sp.csr_matrix) -> sp.csr_matrix:
        """TF-IDF from term frequencies: times the fitted idf, columns of idf 0 dropped, rows normalised."""
        _check_fitted(self)
        data = T.data * self.idf_[T.indices]
        keep = data != 0
        lengths = np.add.reduceat(keep, T.indptr[:-1]) if keep.size else np.zeros(T.shape[0], dtype=np.int64)
        lengths = np.where(np.diff(T.indptr) > 0, lengths, 0)
        cols, data = T.indices[keep], data[keep]
        if self.norm is not None and data.size:
            _normalise_rows(data, np.concatenate(([0], np.cumsum(lengths))), lengths, self.norm)
        return self._assemble([(lengths, cols, data)], T.shape[0])

    def get_feature_names_out(self, input_features=None):
        analyzer = self._settings()[0]
        return np.asarray([f"{analyzer}_hash_{i}" for i in range(self.n_features)], dtype=object)


def linear_scores(blocks, texts: list[str], coef: np.ndarray | None = None, parts: np.ndarray | None = None,
                  weights: np.ndarray | None = None) -> np.ndarray | None:
    """``hstack([b.transform(texts) for b in blocks]) @ coef`` from the compiled kernel, or None where it cannot.

    The same values bit for bit, without building the matrices. It takes a word
    block followed by a char block, float32 values and l2-normalised rows (the
    model's features), and needs ``moderation._kernel`` to have been built.
    ``weights`` is ``kernel_weights(blocks, coef)``, given instead of ``coef`` by a
    caller that keeps it. ``parts[i] = k`` (k >= 2) tells that the next k texts
    are the sentences of ``texts[i]`` (``parts_of``): when it is exactly them
    joined by spaces (the kernel checks), its char n-grams are counted from theirs.
    """
    if weights is None:
        weights = kernel_weights(blocks, coef)
    if weights is None or _kernel is None:
        return None
    texts = HashedTfidfCore._docs(texts)
    specs = [_kernel_block(block, *block._settings(), offset, texts)
             for block, offset in zip(blocks, (0, blocks[0].n_features))]
    out = np.zeros((len(texts), weights.shape[1] - 1), dtype=np.float64)
    if parts is not None:
        parts = np.ascontiguousarray(parts, dtype=np.intc)
    _kernel.unit_logits(texts, specs[0], specs[1], _char_table(), _POWER, weights, out, parts)
    return out


def top_words(block, texts: list[str], weights: np.ndarray, k: int) -> list[str]:
    """Per text, ``LinearHead.top_terms`` from the compiled kernel: the ``k`` word n-grams adding most to the
    main score (column 1 of ``weights = kernel_weights(blocks, coef)``, whose first block is ``block``), each
    as its first occurrence, joined by "; ". The same strings, without building the matrix and occurrences."""
    texts = HashedTfidfCore._docs(texts)
    spec = _kernel_block(block, *block._settings(), 0, texts)
    return _kernel.top_words(texts, spec, _char_table(), _POWER, weights, k)


def expit(x: np.ndarray) -> np.ndarray:
    """``scipy.special.expit`` of a float64 array, the same values: from the compiled kernel where it is built
    (importing ``scipy.special`` costs a fresh process more than scoring a few comments), else from SciPy."""
    if _kernel is not None:
        return _kernel.expit(np.ascontiguousarray(x, dtype=np.float64))
    from scipy.special import expit as scipy_expit

    return scipy_expit(x)


def kernel_weights(blocks, coef) -> np.ndarray | None:
    """What the kernel reads per column: its idf (float32, exactly), then its row of ``coef`` (a matrix, or a
    list of its columns); None where the kernel does not apply (it takes a word block then a char block,
    float32 and l2-normalised, as the model's).

    The table is float32 when every coefficient is a float32 value (a trained
    model's are: ``LinearHead.round_weights``), else float64: the same values
    either way, and the kernel's products are float64 either way, but the
    kernel's time goes mostly to waiting for the rows of this table, and
    float32 rows are half the memory to wait for.
    """
    if _kernel is None or len(blocks) != 2:
        return None
    columns = [np.asarray(c) for c in coef] if isinstance(coef, (list, tuple)) else list(np.asarray(coef).T)
    for block, analyzer in zip(blocks, ("word", "char")):
        if not isinstance(block, HashedTfidfCore) or block.norm != "l2" or np.dtype(block.dtype) != np.float32:
            return None
        _check_fitted(block)
        if block._settings()[0] != analyzer or block.idf_.dtype != np.float32:
            return None
    n = blocks[0].n_features + blocks[1].n_features
    if not columns or any(c.dtype != np.float64 or c.shape != (n,) for c in columns):
        return None
    single = all(np.array_equal(c.astype(np.float32), c) for c in columns)
    weights = np.empty((n, len(columns) + 1), dtype=np.float32 if single else np.float64)
    weights[:blocks[0].n_features, 0] = blocks[0].idf_
    weights[blocks[0].n_features:, 0] = blocks[1].idf_
    for j, column in enumerate(columns, start=1):
        weights[:, j] = column
    return weights


def _normalise_rows(data: np.ndarray, indptr: np.ndarray, lengths: np.ndarray, norm: str) -> None:
    """Divide each row's values (``data`` in CSR order, rows starting at ``indptr`` with ``lengths`` values) by
    the row's L2 norm, or its L1 norm for ``norm="l1"``, in place; empty rows are left alone."""
    filled = lengths > 0
    if norm == "l2":
        norms = np.sqrt(np.add.reduceat(np.square(data), indptr[:-1][filled]))
    else:
        norms = np.add.reduceat(np.abs(data), indptr[:-1][filled])
    data /= np.repeat(norms, lengths[filled])


def _kernel_block(block: HashedTfidfCore, kind: str, lo: int, hi: int, bits: int, offset: int, texts) -> tuple:
    R, S = _constants(1 if kind == "char" else 2)
    longest = max(map(len, texts), default=0)
    # a count is at most the number of n-grams of a text: (max_n - min_n + 1) per character, with padding
    tf = _tf_table((hi - lo + 1) * (3 * longest + 2) + 1, bool(block.sublinear_tf), "<f4")
    return (kind == "word", lo, hi, bits, np.asarray(R, dtype=_U32), np.asarray(S, dtype=_U32), tf, offset)


def parts_of(whole: np.ndarray) -> np.ndarray:
    """``parts`` for ``linear_scores``: for each text marked ``whole`` and followed by k >= 2 texts not marked
    (its sentences), k; else 0. The kernel counts such a text from its sentences when it is exactly them joined
    by spaces (it checks)."""
    whole = np.asarray(whole, dtype=bool)
    heads = np.flatnonzero(whole)
    following = np.diff(np.append(heads, whole.size)) - 1
    parts = np.zeros(whole.size, dtype=np.intc)
    parts[heads] = np.where(following >= 2, following, 0)
    return parts


def _concat_occurrences(parts) -> Occurrences:
    parts = [(a, o) for a, o in parts if o.doc.size]
    if not parts:
        e = np.zeros(0, dtype=np.int32)
        return Occurrences(e, e.copy(), e.copy(), e.copy())
    if len(parts) == 1 and parts[0][0] == 0:
        return parts[0][1]
    return Occurrences(np.concatenate([o.doc + np.int32(a) for a, o in parts]),
                       *(np.concatenate([o[i] for _, o in parts]) for i in (1, 2, 3)))


# -- analyzers (one chunk of texts each) ------------------------------------------------------

def _hash_rows(t: np.ndarray, lo: int, hi: int, bits: int, seed: int, docbits: np.ndarray) -> np.ndarray:
    """``keys[n - lo, i]``: ``docbits[i]`` OR the column of the n-gram of units ``t[i:i+n]``."""
    R, S = _constants(seed)
    length = t.size
    shift = _U32(32 - bits)
    tp = np.concatenate((t, np.zeros(hi, dtype=_U32)))
    keys = np.empty((hi - lo + 1, length), dtype=_U32)
    h = t * R[0]
    tmp = np.empty(length, dtype=_U32)
    for k in range(1, hi + 1):  # h: hash of the k units from each position
        if k > 1:
            np.multiply(tp[k - 1:k - 1 + length], R[k - 1], out=tmp)
            h += tmp
        if k >= lo:
            np.add(h, S[k], out=tmp)
            tmp >>= shift
            np.bitwise_or(tmp, docbits, out=keys[k - lo])
    return keys


def _char_chunk(docs, lo, hi, bits, occurrences, strings) -> _Chunk:
    """``char_wb`` n-grams, hashed on the texts joined as ``" " + " ".join(docs) + " "``.

    scikit-learn pads each word as ``" word "`` and emits every n-gram of it with
    ``lo <= n <= hi``, and the whole padded word once if it is shorter than ``lo``.
    In the joined string (white space read as " ") a padded word is the word with the
    white space either side, so its n-grams (n >= 2) are exactly the substrings
    whose inner characters are all non-space, except two spaces side by side. Unigrams
    are the non-space characters and two spaces per word.
    """
    n_docs = len(docs)
    text = " " + " ".join(docs) + " "
    cp = _codepoints(text)
    space = _space_mask(cp)
    nonspace = ~space
    if not nonspace.any():
        return _empty_chunk(occurrences, strings)
    if np.count_nonzero(cp == 32) != np.count_nonzero(space):  # other white space reads as " "
        cp = np.where(space, _U32(32), cp)
    length = cp.size
    lengths = np.fromiter(map(len, docs), dtype=np.int64, count=n_docs)
    # the text of an n-gram starting at i: the one whose characters (or next word) start at i + 1
    gram_doc = np.repeat(np.arange(n_docs, dtype=_U32), lengths + 1)
    gram_doc = np.append(gram_doc, _U32(max(n_docs - 1, 0)))
    keys = _hash_rows(_char_table()[cp], lo, hi, bits, 1, gram_doc << _U32(bits))

    # valid[n - lo, i]: whether the n-gram at i is one of a padded word's
    ns_next = np.append(nonspace[1:], False)  # ns_next[i] = nonspace[i + 1]
    valid = np.empty(keys.shape, dtype=bool)
    for n in range(lo, min(hi, 2) + 1):  # unigrams: non-space or a leading pad; bigrams: not two spaces
        np.logical_or(nonspace, ns_next, out=valid[n - lo])
    inner = ns_next.copy()  # for n >= 3: inner characters i+1 .. i+n-2 all non-space
    for n in range(3, hi + 1):
        if n > 3:
            inner[:length - n + 2] &= nonspace[n - 2:]
            inner[length - n + 2:] = False
        if n >= lo:
            valid[n - lo] = inner
    # n-grams outside the grid, as (positions, n, is a trailing pad): the trailing padding
    # space of every word (unigrams), and padded words shorter than min_n (whole)
    extra = []
    if lo == 1:
        _, ends = _runs(nonspace)
        extra.append((ends, 1, True))
    if lo > 3:
        starts, ends = _runs(nonspace)
        plen = ends - starts + 2
        for p in np.unique(plen[plen < lo]).tolist():
            extra.append((starts[plen == p] - 1, p, False))
    extra_keys = [_hash_at(cp, at, p, bits, gram_doc[at - 1] if trailing else gram_doc[at])
                  for at, p, trailing in extra]
    flat = np.compress(valid.ravel(), keys.ravel())
    all_keys = np.concatenate([flat] + extra_keys) if extra_keys else flat
    if not occurrences:
        return _Chunk(all_keys)

    # occurrences: position-major (then n) within the chunk, the extras merged in
    nn = hi - lo + 1
    flat_valid = np.ascontiguousarray(valid.T).ravel()
    okeys = np.compress(flat_valid, np.ascontiguousarray(keys.T).ravel())
    doc_start = _exclusive_cumsum(lengths + 1) + 1  # position of each text in the joined string
    off = (np.arange(length) - doc_start[gram_doc]).astype(np.int32)  # offset in its text, per position
    sp8 = np.append(space, np.ones(hi, dtype=bool)).view(np.int8)
    ends = np.empty((length, nn), dtype=np.int32)
    for j in range(nn):  # a trailing padding space is not part of the n-gram's span
        np.subtract(off + np.int32(lo + j), sp8[lo + j - 1:lo + j - 1 + length], out=ends[:, j], casting="unsafe")
    end = np.compress(flat_valid, ends.ravel())
    per_pos = np.count_nonzero(valid, axis=0)
    start = np.repeat(off + sp8[:length], per_pos)  # nor a leading one
    pos = n_arr = None
    if extra or strings:
        pos = np.repeat(np.arange(length), per_pos)
        n_arr = np.compress(flat_valid, np.tile(np.arange(lo, hi + 1), length))
    if extra:
        trailing = [np.zeros(pos.size, dtype=bool)]
        for at, p, is_trailing in extra:
            if is_trailing:  # at the word's end, an empty span
                o = at - doc_start[gram_doc[at - 1]]
                start_x, end_x = o, o
            else:  # the whole padded word
                o = at - doc_start[gram_doc[at]]
                start_x, end_x = o + 1, o + p - 1
            pos = np.concatenate((pos, at))
            n_arr = np.concatenate((n_arr, np.full(at.size, p)))
            start = np.concatenate((start, start_x))
            end = np.concatenate((end, end_x))
            trailing.append(np.full(at.size, is_trailing))
        okeys = np.concatenate([okeys] + extra_keys)
        trailing = np.concatenate(trailing)
        order = np.lexsort((n_arr, ~trailing, pos))  # a trailing pad before the next word's n-grams
        pos, n_arr, okeys, start, end = pos[order], n_arr[order], okeys[order], start[order], end[order]
    end = np.maximum(end, start)
    doc = (okeys >> _U32(bits)).astype(np.int32)
    col = (okeys & _U32((1 << bits) - 1)).astype(np.int32)
    occ = Occurrences(doc, col, start.astype(np.int32), end.astype(np.int32))
    gram_strings = None
    if strings:
        joined = "".join(map(chr, cp.tolist()))
        gram_strings = [joined[p:p + n] for p, n in zip(pos.tolist(), n_arr.tolist())]
    return _Chunk(all_keys, occ, gram_strings)


def _hash_at(cp: np.ndarray, at: np.ndarray, p: int, bits: int, pos_doc: np.ndarray) -> np.ndarray:
    """Keys of the ``p``-grams of the joined string starting at positions ``at``."""
    R, S = _constants(1)
    table = _char_table()
    h = np.zeros(at.size, dtype=_U32)
    for k in range(p):
        h += table[cp[at + k]] * R[k]
    h += S[p]
    return (h >> _U32(32 - bits)) | (pos_doc << _U32(bits))


def _word_chunk(docs, lo, hi, bits, occurrences, strings) -> _Chunk:
    """Word n-grams: consecutive tokens (runs of 2+ ``\\w`` characters) of the same text."""
    n_docs = len(docs)
    text = "\n".join(docs)
    cp = _codepoints(text)
    isw = _word_mask(cp)
    starts, ends = _runs(isw)
    rlen = ends - starts
    keep = rlen >= 2
    if not keep.any():
        return _empty_chunk(occurrences, strings)
    ts, te = starts[keep], ends[keep]
    # token hash: sum_j T[c_j] * P**j over its characters, from prefix sums of T[c_i] * P**i
    powers, inverse = _powers_for(cp.size + 1)
    prefix = np.zeros(cp.size + 1, dtype=_U32)
    v = _char_table()[cp]
    v *= powers[:cp.size]
    np.cumsum(v, out=prefix[1:])
    tok = prefix[te] - prefix[ts]
    tok *= inverse[ts]
    n_tok = tok.size
    lengths = np.fromiter(map(len, docs), dtype=np.int64, count=n_docs)
    doc_start = _exclusive_cumsum(lengths + 1)
    tdoc = (np.searchsorted(doc_start, ts, side="right") - 1).astype(_U32)
    keys = _hash_rows(tok, lo, hi, bits, 2, tdoc << _U32(bits))
    # tokens left in the text from each token
    doc_end = np.cumsum(np.bincount(tdoc, minlength=n_docs))
    left = doc_end[tdoc] - np.arange(n_tok)
    valid = left[None, :] >= np.arange(lo, hi + 1)[:, None]
    flat = np.compress(valid.ravel(), keys.ravel())
    if not occurrences:
        return _Chunk(flat)
    t, j = np.nonzero(valid.T)
    okeys = keys[j, t]
    n_arr = j + lo
    doc = (okeys >> _U32(bits)).astype(np.int32)
    col = (okeys & _U32((1 << bits) - 1)).astype(np.int32)
    start = (ts[t] - doc_start[doc]).astype(np.int32)
    end = (te[t + n_arr - 1] - doc_start[doc]).astype(np.int32)
    gram_strings = None
    if strings:
        tokens = [text[s:e] for s, e in zip(ts.tolist(), te.tolist())]
        gram_strings = [" ".join(tokens[a:a + n]) for a, n in zip(t.tolist(), n_arr.tolist())]
    return _Chunk(flat, Occurrences(doc, col, start, end), gram_strings)


def _empty_chunk(occurrences, strings) -> _Chunk:
    e = np.zeros(0, dtype=np.int32)
    occ = Occurrences(e, e.copy(), e.copy(), e.copy()) if occurrences or strings else None
    return _Chunk(np.zeros(0, dtype=_U32), occ, [] if strings else None)
