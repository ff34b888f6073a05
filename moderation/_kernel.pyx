# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled scoring kernel: hashed TF-IDF rows and their linear scores, one text at a time.

``unit_logits`` computes, for each normalised text, exactly what
``HashedTfidf.transform`` of both feature blocks followed by ``X @ coef`` gives,
without building the sparse matrix: the same n-grams and hashes (``features``),
the same float32 TF-IDF values and row norms (numpy's pairwise summation,
reproduced), the same float64 products summed in column order (scipy's
``csr_matvecs``). ``moderation.features`` holds the reference in numpy, and the
tests compare the two bit for bit.
"""

from cpython.unicode cimport PyUnicode_GET_LENGTH, PyUnicode_KIND, PyUnicode_DATA, PyUnicode_READ
from libc.stdint cimport uint8_t, uint16_t, uint32_t, int64_t, uint64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset
from libc.math cimport exp, sqrtf

import numpy as np

cdef extern from "Python.h":
    bint Py_UNICODE_ISSPACE(Py_UCS4 ch) nogil
    bint Py_UNICODE_ISALNUM(Py_UCS4 ch) nogil
    Py_UCS4 _read_char "PyUnicode_READ" (int kind, const void* data, Py_ssize_t index) nogil  # a macro

cdef extern from *:
    void _prefetch "__builtin_prefetch" (const void* address) nogil  # GCC's and Clang's


# each ASCII character as the kernel reads it: white space as 32, word characters marked
cdef uint32_t _ASCII[128]
for _c in range(128):
    _ASCII[_c] = 32 if chr(_c).isspace() else (_c | 0x80000000u if (chr(_c).isalnum() or _c == 95) else _c)


ctypedef fused weight_t:  # the table of idf and coefficients: float64, or float32 when its values are float32's
    float
    double


cdef struct Block:
    int word            # 1: word n-grams, 0: char_wb n-grams
    int lo, hi, bits
    const uint32_t* R   # multiplier by position in the n-gram
    const uint32_t* S   # offset by length
    const float* tf     # tf of each count
    Py_ssize_t tf_size
    Py_ssize_t offset   # first column of the block in the table


cdef struct Buffers:
    uint32_t* keys      # n-gram columns, then the distinct ones
    uint32_t* tmp       # for sorting
    uint32_t* counts    # of the distinct columns
    uint32_t* cols      # the columns kept (idf not 0)
    float* data
    float* sq
    uint32_t* cp        # code points of one text (white space as 32, word characters marked)
    uint32_t* tok       # token hashes; a padded word's character values
    Py_ssize_t cap_keys, cap_cp
    # a text's sentences' char columns marked with their sentence, then the text's distinct ones and counts;
    # each sentence's distinct ones and counts (runs: where each starts, and how many)
    uint32_t* arena_cols
    uint32_t* arena_counts
    uint32_t* sentence_cols
    uint32_t* sentence_counts
    Py_ssize_t cap_arena
    Py_ssize_t* runs    # start and length of each run
    Py_ssize_t cap_runs


cdef inline float _pairwise(const float* a, Py_ssize_t n) noexcept nogil:
    """numpy's pairwise sum of float32 (``FLOAT_pairwise_sum``), operation for operation."""
    cdef float res, r0, r1, r2, r3, r4, r5, r6, r7
    cdef Py_ssize_t i, n2
    if n < 8:
        res = -0.0
        for i in range(n):
            res = res + a[i]
        return res
    elif n <= 128:
        r0 = a[0]; r1 = a[1]; r2 = a[2]; r3 = a[3]
        r4 = a[4]; r5 = a[5]; r6 = a[6]; r7 = a[7]
        i = 8
        while i < n - (n % 8):
            r0 = r0 + a[i]; r1 = r1 + a[i + 1]; r2 = r2 + a[i + 2]; r3 = r3 + a[i + 3]
            r4 = r4 + a[i + 4]; r5 = r5 + a[i + 5]; r6 = r6 + a[i + 6]; r7 = r7 + a[i + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res = res + a[i]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise(a, n2) + _pairwise(a + n2, n - n2)


cdef void _scatter(const uint32_t* src, uint32_t* dst, Py_ssize_t n, int shift, uint32_t mask) noexcept nogil:
    """One counting-sort pass: ``src`` into ``dst`` by the digit ``(key >> shift) & mask`` (at most 12 bits),
    keys of the same digit in their order."""
    cdef Py_ssize_t i, total = 0, c
    cdef uint32_t v
    cdef Py_ssize_t count[4096]
    memset(count, 0, (mask + 1) * sizeof(Py_ssize_t))
    for i in range(n):
        count[(src[i] >> shift) & mask] += 1
    for i in range(mask + 1):
        c = count[i]
        count[i] = total
        total += c
    for i in range(n):
        v = src[i]
        dst[count[(v >> shift) & mask]] = v
        count[(v >> shift) & mask] += 1


cdef void _sort_keys(uint32_t* keys, uint32_t* tmp, Py_ssize_t n, int bits) noexcept nogil:
    """Sort ``n`` keys below ``2**bits`` (at most 32) in place. Up to 4096 keys: scattered into about ``n``
    buckets by their top bits, then finished by insertion sort (each key moves within its bucket only); more:
    LSD radix sort in two passes (three above 24 bits), linear whatever the keys."""
    cdef Py_ssize_t i, j
    cdef uint32_t v, p, lo
    cdef int d = 1
    if n > 4096:
        if bits <= 24:
            d = (bits + 1) // 2
            _scatter(keys, tmp, n, 0, (<uint32_t>1 << d) - 1)
            _scatter(tmp, keys, n, d, (<uint32_t>1 << d) - 1)
        else:
            d = (bits + 2) // 3
            _scatter(keys, tmp, n, 0, (<uint32_t>1 << d) - 1)
            _scatter(tmp, keys, n, d, (<uint32_t>1 << d) - 1)
            _scatter(keys, tmp, n, 2 * d, (<uint32_t>1 << (bits - 2 * d)) - 1)
            memcpy(keys, tmp, n * sizeof(uint32_t))
        return
    while d < 12 and (<Py_ssize_t>1 << d) < n:
        d += 1
    if d > bits:
        d = bits
    if n > 32:
        _scatter(keys, tmp, n, bits - d, (<uint32_t>1 << d) - 1)
        memcpy(keys, tmp, n * sizeof(uint32_t))
    # each key and the one before it put in order without a branch (whether they are out of order is
    # unpredictable), then the smaller moved further down in the rare case that it must
    for i in range(1, n):
        v = keys[i]
        p = keys[i - 1]
        lo = v if v < p else p
        keys[i] = p if v < p else v
        keys[i - 1] = lo
        if i >= 2 and keys[i - 2] > lo:
            j = i - 2
            while j >= 0 and keys[j] > lo:
                keys[j + 1] = keys[j]
                j -= 1
            keys[j + 1] = lo


cdef Py_ssize_t _tokens(const uint32_t* T, uint32_t power, const uint32_t* cp, Py_ssize_t length, uint32_t* tok,
                        Py_ssize_t* tstart, Py_ssize_t* tend) noexcept nogil:
    """The tokens of one text (runs of 2+ word characters, marked by the caller): their hashes in ``tok`` and,
    unless NULL, where each starts and ends in ``tstart`` and ``tend``; how many."""
    cdef Py_ssize_t i = 0, start, n_tok = 0
    cdef uint32_t h, p
    while i < length:
        if cp[i] & 0x80000000u:
            start = i
            h = 0
            p = 1
            while i < length and (cp[i] & 0x80000000u):
                h += T[cp[i] & 0x7FFFFFFFu] * p
                p *= power
                i += 1
            if i - start >= 2:
                tok[n_tok] = h
                if tstart != NULL:
                    tstart[n_tok] = start
                    tend[n_tok] = i
                n_tok += 1
        else:
            i += 1
    return n_tok


cdef Py_ssize_t _word_keys(const Block* b, const uint32_t* T, uint32_t power, const uint32_t* cp, Py_ssize_t length,
                           uint32_t* tok, uint32_t* keys) noexcept nogil:
    """Columns of the word n-grams (tokens: runs of 2+ ``\\w`` characters) of one text."""
    cdef Py_ssize_t t, k, n_keys = 0
    cdef Py_ssize_t n_tok = _tokens(T, power, cp, length, tok, NULL, NULL)
    cdef uint32_t h
    cdef int shift = 32 - b.bits, n
    for n in range(b.lo, b.hi + 1):
        for t in range(n_tok - n + 1):
            h = 0
            for k in range(n):
                h += tok[t + k] * b.R[k]
            keys[n_keys] = (h + b.S[n]) >> shift
            n_keys += 1
    return n_keys


cdef Py_ssize_t _char_keys(const Block* b, const uint32_t* T, const uint32_t* cp, Py_ssize_t length,
                           uint32_t* padded, uint32_t* keys) noexcept nogil:
    """Columns of the ``char_wb`` n-grams of one text: those of scikit-learn's loop over each word padded with a
    space either side (every n-gram with min_n <= n <= max_n, or the whole padded word when it is shorter)."""
    cdef Py_ssize_t i = 0, start, w_len, o, n_keys = 0, k, top
    cdef int n, shift = 32 - b.bits
    cdef uint32_t h, space = T[32]
    while i < length:
        if cp[i] == 32:
            i += 1
            continue
        start = i
        padded[0] = space
        while i < length and cp[i] != 32:
            padded[i - start + 1] = T[cp[i]]
            i += 1
        w_len = i - start + 2
        padded[w_len - 1] = space
        if w_len < b.lo:
            h = 0
            for k in range(w_len):
                h += padded[k] * b.R[k]
            keys[n_keys] = (h + b.S[w_len]) >> shift
            n_keys += 1
            continue
        for o in range(w_len - b.lo + 1):
            top = w_len - o
            if top > b.hi:
                top = b.hi
            h = 0
            for k in range(b.lo - 1):
                h += padded[o + k] * b.R[k]
            for n in range(b.lo, top + 1):
                h += padded[o + n - 1] * b.R[n - 1]
                keys[n_keys] = (h + b.S[n]) >> shift
                n_keys += 1
    return n_keys


cdef Py_ssize_t _distinct(uint32_t* keys, Py_ssize_t n_keys, uint32_t* counts, uint32_t* tmp, int bits) noexcept nogil:
    """Sort the keys and keep each once (in ``keys``), with how often it came (in ``counts``); how many."""
    cdef Py_ssize_t i, m = 0
    cdef uint32_t col, new, run = 0, last
    if n_keys == 0:
        return 0
    _sort_keys(keys, tmp, n_keys, bits)
    last = ~keys[0]
    # without branches on the keys (whether a key repeats the one before is unpredictable): each key is written
    # at the slot of its run, which moves on when the key is new, with the run's count so far
    for i in range(n_keys):
        col = keys[i]
        new = col != last
        m += new
        run = (run & (new - 1)) + 1
        keys[m - 1] = col  # m - 1 <= i: written after keys[i] is read
        counts[m - 1] = run
        last = col
    return m


cdef inline Py_ssize_t _tfidf(const Block* b, const uint32_t* distinct, const uint32_t* counts, Py_ssize_t m,
                              Buffers* buf, const weight_t* block, Py_ssize_t stride, float* norm) noexcept nogil:
    """The TF-IDF row of one block's distinct columns and counts, as numpy's ``_rows`` computes it: the columns
    kept (idf not 0) in ``buf.cols``, their values before normalising in ``buf.data`` and the row's L2 norm in
    ``norm``; how many, or -1 if a count is beyond the tf table. ``block`` is the block's first table row."""
    cdef Py_ssize_t i, n = 0
    cdef uint32_t count
    cdef float value
    for i in range(m):
        if i + 16 < m:
            # the table's rows are spread over tens of megabytes: ask for one well ahead of its use, by its first
            # and its last value (a row of six float32 values crosses a cache line one time in four, of six float64
            # values one time in two)
            _prefetch(block + distinct[i + 16] * stride)
            _prefetch(block + distinct[i + 16] * stride + stride - 1)
        count = counts[i]
        if count >= b.tf_size:
            return -1
        value = b.tf[count] * <float>block[distinct[i] * stride]
        if value != 0:
            buf.cols[n] = distinct[i]
            buf.data[n] = value
            n += 1
    if n == 0:
        return 0
    for i in range(n):
        buf.sq[i] = buf.data[i] * buf.data[i]
    # np.add.reduceat: the first value plus the pairwise sum of the rest
    norm[0] = sqrtf(buf.sq[0] + _pairwise(buf.sq + 1, n - 1) if n > 1 else buf.sq[0])
    return n


cdef int _weigh_dot(const Block* b, const uint32_t* distinct, const uint32_t* counts, Py_ssize_t m, Buffers* buf,
                    const weight_t* table, Py_ssize_t n_cols, double* acc) noexcept nogil:
    """Add the TF-IDF row of one block's distinct columns and counts, times the coefficients, to ``acc`` (as
    numpy's ``_rows`` and scipy's ``csr_matvecs`` compute it); -1 if a count is beyond the tf table.

    ``table`` has a row of ``1 + n_cols`` values per column: its idf, then its coefficients, so that the
    column's one cache miss (the columns are spread over tens of megabytes) brings both.
    """
    cdef Py_ssize_t i, j, n, stride = n_cols + 1
    cdef float value, norm = 0
    cdef const weight_t* row
    cdef const weight_t* block = table + b.offset * stride
    cdef uint32_t* cols = buf.cols
    cdef float* data = buf.data
    cdef double total, dv, l0, l1, l2, l3, l4, l5, l6, l7
    cdef double local[8]
    n = _tfidf(b, distinct, counts, m, buf, block, stride, &norm)
    if n <= 0:
        return <int>n
    if n_cols == 1:
        total = acc[0]
        for i in range(n):
            total = total + <double>(data[i] / norm) * <double>block[cols[i] * 2 + 1]
        acc[0] = total
    elif n_cols <= 8:
        # named sums, which the compiler keeps in registers (an array's go through memory); n_cols is the same
        # each time round, so its tests cost next to nothing
        for j in range(8):
            local[j] = acc[j] if j < n_cols else 0
        l0 = local[0]; l1 = local[1]; l2 = local[2]; l3 = local[3]
        l4 = local[4]; l5 = local[5]; l6 = local[6]; l7 = local[7]
        for i in range(n):
            dv = <double>(data[i] / norm)
            row = block + cols[i] * stride + 1
            l0 = l0 + dv * <double>row[0]
            l1 = l1 + dv * <double>row[1]
            if n_cols > 2:
                l2 = l2 + dv * <double>row[2]
            if n_cols > 3:
                l3 = l3 + dv * <double>row[3]
            if n_cols > 4:
                l4 = l4 + dv * <double>row[4]
            if n_cols > 5:
                l5 = l5 + dv * <double>row[5]
            if n_cols > 6:
                l6 = l6 + dv * <double>row[6]
            if n_cols > 7:
                l7 = l7 + dv * <double>row[7]
        local[0] = l0; local[1] = l1; local[2] = l2; local[3] = l3
        local[4] = l4; local[5] = l5; local[6] = l6; local[7] = l7
        for j in range(n_cols):
            acc[j] = local[j]
    else:
        for i in range(n):
            value = data[i] / norm
            row = block + cols[i] * stride + 1
            for j in range(n_cols):
                acc[j] = acc[j] + <double>value * <double>row[j]
    return 0


cdef int _grow(Buffers* buf, Py_ssize_t keys, Py_ssize_t chars) noexcept nogil:
    if keys > buf.cap_keys:
        free(buf.keys); free(buf.tmp); free(buf.counts); free(buf.cols); free(buf.data); free(buf.sq)
        buf.keys = <uint32_t*>malloc(keys * sizeof(uint32_t))
        buf.tmp = <uint32_t*>malloc(keys * sizeof(uint32_t))
        buf.counts = <uint32_t*>malloc(keys * sizeof(uint32_t))
        buf.cols = <uint32_t*>malloc(keys * sizeof(uint32_t))
        buf.data = <float*>malloc(keys * sizeof(float))
        buf.sq = <float*>malloc(keys * sizeof(float))
        buf.cap_keys = keys
        if not (buf.keys and buf.tmp and buf.counts and buf.cols and buf.data and buf.sq):
            return -1
    if chars > buf.cap_cp:
        free(buf.cp); free(buf.tok)
        buf.cp = <uint32_t*>malloc(chars * sizeof(uint32_t))
        buf.tok = <uint32_t*>malloc(chars * sizeof(uint32_t))
        buf.cap_cp = chars
        if not (buf.cp and buf.tok):
            return -1
    return 0


cdef int _grow_arena(Buffers* buf, Py_ssize_t size, Py_ssize_t runs) noexcept nogil:
    if size > buf.cap_arena:
        free(buf.arena_cols); free(buf.arena_counts); free(buf.sentence_cols); free(buf.sentence_counts)
        buf.arena_cols = <uint32_t*>malloc(size * sizeof(uint32_t))
        buf.arena_counts = <uint32_t*>malloc(size * sizeof(uint32_t))
        buf.sentence_cols = <uint32_t*>malloc(size * sizeof(uint32_t))
        buf.sentence_counts = <uint32_t*>malloc(size * sizeof(uint32_t))
        buf.cap_arena = size
        if not (buf.arena_cols and buf.arena_counts and buf.sentence_cols and buf.sentence_counts):
            return -1
    if runs > buf.cap_runs:
        free(buf.runs)
        buf.runs = <Py_ssize_t*>malloc(2 * runs * sizeof(Py_ssize_t))
        buf.cap_runs = runs
        if not buf.runs:
            return -1
    return 0


cdef inline int _bit_length(Py_ssize_t v) noexcept nogil:
    cdef int n = 0
    while v:
        n += 1
        v >>= 1
    return n


cdef Py_ssize_t _split_counts(Buffers* buf, Py_ssize_t used, Py_ssize_t k, int bits, int sbits) noexcept nogil:
    """Count the char columns of a text's ``k`` sentences at once: ``buf.arena_cols[:used]`` holds each column
    shifted left by ``sbits`` with its sentence's index in the low bits. Sorted, they give the whole text's
    distinct columns and counts (left in ``buf.arena_cols`` and ``buf.arena_counts``; how many is returned) and
    each sentence's, in column order (``buf.sentence_cols`` and ``buf.sentence_counts``, from ``buf.runs[2 * s]``,
    ``buf.runs[2 * s + 1]`` of them): what ``_distinct`` of the whole and of each sentence give, in one sort.
    ``buf.runs[2 * s]`` holds where sentence ``s`` may start (each has room for all of its columns)."""
    cdef Py_ssize_t j, w = 0, at
    cdef uint32_t v, key, si, new, run = 0, last, smask = (<uint32_t>1 << sbits) - 1
    cdef uint32_t* cols = buf.arena_cols
    cdef uint32_t* counts = buf.arena_counts
    cdef uint32_t* scols = buf.sentence_cols
    cdef uint32_t* scounts = buf.sentence_counts
    cdef uint32_t* slast = buf.tmp  # each sentence's last column (free once sorted)
    cdef Py_ssize_t* runs = buf.runs
    for j in range(k):
        runs[2 * j + 1] = 0
    if used == 0:
        return 0
    _sort_keys(cols, buf.tmp, used, bits + sbits)
    last = ~(cols[0] >> sbits)  # no column: the keys are below 2 ** (32 - sbits)
    for j in range(k):
        slast[j] = last
    # without branches on the keys, as in _distinct: for the text and for the key's sentence, the slot of the
    # column's run moves on when the column is new there, and holds the run's count so far
    for j in range(used):
        v = cols[j]
        key = v >> sbits
        si = v & smask
        new = key != last
        w += new
        run = (run & (new - 1)) + 1
        cols[w - 1] = key  # w - 1 <= j: written after cols[j] is read
        counts[w - 1] = run
        last = key
        new = key != slast[si]
        runs[2 * si + 1] += new
        at = runs[2 * si] + runs[2 * si + 1] - 1
        scounts[at] = (scounts[at] & (new - 1)) + 1  # a new run's slot: whatever it held is masked out
        scols[at] = key
        slast[si] = key
    return w


cdef void _free(Buffers* buf) noexcept nogil:
    free(buf.keys); free(buf.tmp); free(buf.counts); free(buf.cols); free(buf.data); free(buf.sq)
    free(buf.cp); free(buf.tok)
    free(buf.arena_cols); free(buf.arena_counts); free(buf.sentence_cols); free(buf.sentence_counts); free(buf.runs)


cdef void _set_block(Block* b, tuple spec):
    cdef const uint32_t[::1] R = spec[4]
    cdef const uint32_t[::1] S = spec[5]
    cdef const float[::1] tf = spec[6]
    b.word = spec[0]
    b.lo = spec[1]
    b.hi = spec[2]
    b.bits = spec[3]
    b.R = &R[0]
    b.S = &S[0]
    b.tf = &tf[0]
    b.tf_size = tf.shape[0]
    b.offset = spec[7]


cdef inline Py_ssize_t _bound(const Block* bw, const Block* bc, Py_ssize_t length) noexcept nogil:
    """At most this many n-grams in a text of ``length`` characters: (max_n - min_n + 1) per character for words,
    and as many per character of the text with each word padded with a space either side for chars."""
    return (bc.hi - bc.lo + 1) * (3 * length + 2) + (bw.hi - bw.lo + 1) * (length + 1)


cdef enum:
    NO_MEMORY = -2  # a status: memory ran out (-1: a count beyond the tf table)


cdef struct Text:  # a str's characters, read without the GIL while the str is held
    const void* data
    Py_ssize_t length
    int kind


cdef int _text(object text, Text* t) except -1:
    if not isinstance(text, str):
        raise TypeError(f"texts must be str (normalised), not {type(text).__name__}")
    t.data = PyUnicode_DATA(text)
    t.length = PyUnicode_GET_LENGTH(text)
    t.kind = PyUnicode_KIND(text)
    return 0


cdef Py_ssize_t _read_text(const Text* t, Buffers* buf, const Block* bw, const Block* bc) noexcept nogil:
    """Read one text into ``buf.cp``, growing the buffers for it; its length, or -1 when memory ran out."""
    cdef Py_ssize_t j, length = t.length
    cdef Py_UCS4 c
    if _grow(buf, _bound(bw, bc, length), length + 2) != 0:
        return -1
    for j in range(length):
        c = _read_char(t.kind, t.data, j)
        if <uint32_t>c < 128:
            buf.cp[j] = _ASCII[<uint32_t>c]
        elif Py_UNICODE_ISSPACE(c):
            buf.cp[j] = 32
        elif Py_UNICODE_ISALNUM(c) or <uint32_t>c == 95:
            buf.cp[j] = (<uint32_t>c) | 0x80000000u
        else:
            buf.cp[j] = <uint32_t>c
    return length


cdef Py_ssize_t _read(object text, Buffers* buf, const Block* bw, const Block* bc) except -1:
    """``_read_text`` of a str, raising when it is not one or memory ran out."""
    cdef Text t
    cdef Py_ssize_t length
    _text(text, &t)
    length = _read_text(&t, buf, bw, bc)
    if length < 0:
        raise MemoryError()
    return length


cdef int _words(const Block* bw, const uint32_t* table, uint32_t power, Buffers* buf, Py_ssize_t length,
                const weight_t* coef, Py_ssize_t n_cols, double* acc) noexcept nogil:
    """The word block of the text in ``buf.cp``, then the character values unmarked for the char block."""
    cdef Py_ssize_t j, n_keys, m
    n_keys = _word_keys(bw, table, power, buf.cp, length, buf.tok, buf.keys)
    m = _distinct(buf.keys, n_keys, buf.counts, buf.tmp, bw.bits)
    for j in range(length):
        buf.cp[j] &= 0x7FFFFFFFu
    return _weigh_dot(bw, buf.keys, buf.counts, m, buf, coef, n_cols, acc)


cdef bint _joins(const Text* texts, Py_ssize_t i, Py_ssize_t k) noexcept nogil:
    """Whether ``texts[i] == " ".join(texts[i + 1:i + k + 1])``."""
    cdef const Text* whole = &texts[i]
    cdef const Text* part
    cdef Py_ssize_t total = -1, c, j, at = 0
    for c in range(i + 1, i + k + 1):
        total += texts[c].length + 1
    if total != whole.length:
        return False
    for c in range(i + 1, i + k + 1):
        part = &texts[c]
        if c > i + 1:
            if _read_char(whole.kind, whole.data, at) != 32:
                return False
            at += 1
        for j in range(part.length):
            if _read_char(whole.kind, whole.data, at + j) != _read_char(part.kind, part.data, j):
                return False
        at += part.length
    return True


def unit_logits(list texts, tuple words, tuple chars, const uint32_t[::1] table, uint32_t power,
                const weight_t[:, ::1] weights, double[:, ::1] out, const int[::1] parts=None):
    """Add ``transform(texts) @ coef`` to ``out`` (one row per text), for the word and char blocks.

    Each block is ``(is_word, min_n, max_n, bits, R, S, tf, first_column)`` with
    the hashing constants of ``features`` and ``tf[count]`` the tf of a count.
    ``weights`` has a row per column of both blocks: the column's idf, then its
    row of ``coef``. ``table`` is ``features._char_table()``, ``power`` the token
    hash's multiplier.
    ``parts[i] = k`` (k >= 2) says that the next k texts are the sentences of
    ``texts[i]``: when ``texts[i] == " ".join(texts[i + 1:i + k + 1])`` (checked
    here), its words are theirs, so its char n-grams are theirs together, and
    they are counted from theirs (sorted once, marked with their sentence) instead of hashed again.
    The arrays given must outlive the call (they are read without copies).
    """
    cdef Block bw, bc
    cdef Buffers buf
    cdef Py_ssize_t i, c, j, k, length, n_keys, m, used, at
    cdef int sbits
    cdef Text* spans
    cdef tuple held
    cdef Py_ssize_t n_cols = weights.shape[1] - 1
    cdef Py_ssize_t n_texts = len(texts)
    cdef int status = 0
    cdef const weight_t* w = &weights[0, 0]
    cdef const uint32_t* T = &table[0]
    if out.shape[0] != n_texts or out.shape[1] != n_cols:
        raise ValueError("out must have one row per text and one column per coefficient column")
    if parts is not None and parts.shape[0] != n_texts:
        raise ValueError("parts must have one entry per text")
    _set_block(&bw, words)
    _set_block(&bc, chars)
    if bw.word != 1 or bc.word != 0:
        raise ValueError("the blocks must be (words, chars)")
    held = tuple(texts)  # the strs stay alive while they are read without the GIL
    spans = <Text*>malloc(max(n_texts, 1) * sizeof(Text))
    if spans == NULL:
        raise MemoryError()
    memset(&buf, 0, sizeof(buf))
    try:
        for i in range(n_texts):
            _text(held[i], &spans[i])
        # without the GIL: another thread of this process (a pool's result handler, a server's event loop) runs
        # while a chunk is scored
        with nogil:
            i = 0
            while i < n_texts and status == 0:
                k = parts[i] if parts is not None else 0
                sbits = _bit_length(k - 1) if k >= 2 else 0
                if k >= 2 and i + k < n_texts and bc.bits + sbits <= 32 and _joins(spans, i, k):
                    # the sentences' word blocks, and their char columns marked with the sentence, one after the other
                    if _grow_arena(&buf, _bound(&bw, &bc, spans[i].length), k) != 0:
                        status = NO_MEMORY
                        break
                    used = 0
                    for c in range(i + 1, i + k + 1):
                        length = _read_text(&spans[c], &buf, &bw, &bc)
                        if length < 0:
                            status = NO_MEMORY
                            break
                        status = _words(&bw, T, power, &buf, length, w, n_cols, &out[c, 0])
                        if status != 0:
                            break
                        n_keys = _char_keys(&bc, T, buf.cp, length, buf.tok, buf.keys)
                        buf.runs[2 * (c - i - 1)] = used
                        for j in range(n_keys):
                            buf.arena_cols[used + j] = (buf.keys[j] << sbits) | <uint32_t>(c - i - 1)
                        used += n_keys
                    if status == 0:
                        # reading the whole text sizes the buffers for it: its bound holds every column kept
                        length = _read_text(&spans[i], &buf, &bw, &bc)
                        status = NO_MEMORY if length < 0 else _words(&bw, T, power, &buf, length, w, n_cols,
                                                                      &out[i, 0])
                    if status == 0:
                        m = _split_counts(&buf, used, k, bc.bits, sbits)
                        for j in range(k):  # sentence j is text i + 1 + j
                            at = buf.runs[2 * j]
                            status = _weigh_dot(&bc, buf.sentence_cols + at, buf.sentence_counts + at,
                                                buf.runs[2 * j + 1], &buf, w, n_cols, &out[i + 1 + j, 0])
                            if status != 0:
                                break
                    if status == 0:
                        status = _weigh_dot(&bc, buf.arena_cols, buf.arena_counts, m, &buf, w, n_cols, &out[i, 0])
                    i += k + 1
                else:
                    length = _read_text(&spans[i], &buf, &bw, &bc)
                    if length < 0:
                        status = NO_MEMORY
                        break
                    status = _words(&bw, T, power, &buf, length, w, n_cols, &out[i, 0])
                    if status == 0:
                        n_keys = _char_keys(&bc, T, buf.cp, length, buf.tok, buf.keys)
                        m = _distinct(buf.keys, n_keys, buf.counts, buf.tmp, bc.bits)
                        status = _weigh_dot(&bc, buf.keys, buf.counts, m, &buf, w, n_cols, &out[i, 0])
                    i += 1
        if status == NO_MEMORY:
            raise MemoryError()
        if status != 0:
            raise ValueError("a count beyond the tf table")
    finally:
        _free(&buf)
        free(spans)


# -- reasons -------------------------------------------------------------------------------------

cdef Py_ssize_t _word_grams(const Block* b, const uint32_t* T, uint32_t power, const uint32_t* cp, Py_ssize_t length,
                            uint32_t* tok, Py_ssize_t* tstart, Py_ssize_t* tend, uint32_t* keys, Py_ssize_t* gstart,
                            Py_ssize_t* gend) noexcept nogil:
    """The word n-grams of one text (the columns of ``_word_keys``) in the order of ``features``'s occurrences
    (by first token, then by length), with the character range of each."""
    cdef Py_ssize_t t, g = 0
    cdef Py_ssize_t n_tok = _tokens(T, power, cp, length, tok, tstart, tend)
    cdef uint32_t h
    cdef int shift = 32 - b.bits, n
    for t in range(n_tok):
        h = 0
        for n in range(1, b.hi + 1):
            if t + n > n_tok:
                break
            h += tok[t + n - 1] * b.R[n - 1]
            if n >= b.lo:
                keys[g] = (h + b.S[n]) >> shift
                gstart[g] = tstart[t]
                gend[g] = tend[t + n - 1]
                g += 1
    return g


def top_words(list texts, tuple words, const uint32_t[::1] table, uint32_t power, const weight_t[:, ::1] weights,
              int k):
    """Per text, the ``k`` word n-grams with the largest positive contribution to the main score (column 1 of
    ``weights``, whose rows are ``unit_logits``'s), each as its first occurrence, joined by "; ".

    What ``LinearHead.top_terms`` gives from the word block's matrix and
    occurrences: contributions are the float32 TF-IDF value times the
    coefficient, in float64; equal ones are taken in column order; an n-gram's
    first occurrence is the first by token, then by length.
    """
    cdef Block bw
    cdef Buffers buf
    cdef Py_ssize_t i, j, r, g, n_g, m, n, length, cap = 0, n_best
    cdef Py_ssize_t stride = weights.shape[1]
    cdef const weight_t* block = &weights[0, 0]
    cdef const uint32_t* T = &table[0]
    cdef float norm = 0
    cdef double c
    cdef uint32_t* grams = NULL
    cdef Py_ssize_t* tstart = NULL
    cdef Py_ssize_t* tend = NULL
    cdef Py_ssize_t* gstart = NULL
    cdef Py_ssize_t* gend = NULL
    cdef double* best = NULL
    cdef uint32_t* best_col = NULL
    cdef list out = [], phrases
    _set_block(&bw, words)
    if bw.word != 1 or bw.offset != 0:
        raise ValueError("the block must be the word block, the table's first columns")
    if stride < 2:
        raise ValueError("the table needs the main classifier's column")
    if k <= 0:
        return ["" for _ in texts]
    memset(&buf, 0, sizeof(buf))
    best = <double*>malloc(k * sizeof(double))
    best_col = <uint32_t*>malloc(k * sizeof(uint32_t))
    try:
        if not (best and best_col):
            raise MemoryError()
        for text in texts:
            length = _read(text, &buf, &bw, &bw)
            if length + 2 > cap or buf.cap_keys > cap:
                cap = max(length + 2, buf.cap_keys)
                free(grams); free(tstart); free(tend); free(gstart); free(gend)
                grams = <uint32_t*>malloc(cap * sizeof(uint32_t))
                tstart = <Py_ssize_t*>malloc(cap * sizeof(Py_ssize_t))
                tend = <Py_ssize_t*>malloc(cap * sizeof(Py_ssize_t))
                gstart = <Py_ssize_t*>malloc(cap * sizeof(Py_ssize_t))
                gend = <Py_ssize_t*>malloc(cap * sizeof(Py_ssize_t))
                if not (grams and tstart and tend and gstart and gend):
                    raise MemoryError()
            n_g = _word_grams(&bw, T, power, buf.cp, length, buf.tok, tstart, tend, grams, gstart, gend)
            memcpy(buf.keys, grams, n_g * sizeof(uint32_t))
            m = _distinct(buf.keys, n_g, buf.counts, buf.tmp, bw.bits)
            n = _tfidf(&bw, buf.keys, buf.counts, m, &buf, block, stride, &norm)  # as the scores weigh it
            if n < 0:
                raise ValueError("a count beyond the tf table")
            n_best = 0
            if n:
                for i in range(n):
                    c = <double>(buf.data[i] / norm) * <double>block[buf.cols[i] * stride + 1]
                    if c > 0 and (n_best < k or c > best[n_best - 1]):
                        j = n_best if n_best < k else k - 1
                        while j > 0 and best[j - 1] < c:
                            best[j] = best[j - 1]
                            best_col[j] = best_col[j - 1]
                            j -= 1
                        best[j] = c
                        best_col[j] = buf.cols[i]
                        if n_best < k:
                            n_best += 1
            if n_best == 0:
                out.append("")
                continue
            phrases = []
            for r in range(n_best):
                for g in range(n_g):
                    if grams[g] == best_col[r]:
                        phrases.append(text[gstart[g]:gend[g]])
                        break
            out.append("; ".join(phrases))
    finally:
        _free(&buf)
        free(grams); free(tstart); free(tend); free(gstart); free(gend); free(best); free(best_col)
    return out



# -- sentences -----------------------------------------------------------------------------------

cdef bint _ALNUM256[256]  # str.isalnum and str.isspace of the characters a str can store in one byte
cdef bint _SPACE256[256]
for _c in range(256):
    _ALNUM256[_c] = chr(_c).isalnum()
    _SPACE256[_c] = chr(_c).isspace()


cdef inline bint _isalnum(Py_UCS4 c) noexcept nogil:
    return _ALNUM256[c] if c < 256 else Py_UNICODE_ISALNUM(c)


cdef inline bint _isspace(Py_UCS4 c) noexcept nogil:
    return _SPACE256[c] if c < 256 else Py_UNICODE_ISSPACE(c)


cdef inline bint _is_end(Py_UCS4 c) noexcept nogil:  # sentence punctuation: [.!?…]
    return c == 46 or c == 33 or c == 63 or c == 0x2026


cdef inline bint _is_closer(Py_UCS4 c) noexcept nogil:  # closing quotes and brackets: ["'”’)\]]
    return c == 34 or c == 39 or c == 0x201D or c == 0x2019 or c == 41 or c == 93


cdef inline bint _is_break(Py_UCS4 c) noexcept nogil:  # [\r\n]
    return c == 13 or c == 10


ctypedef fused ucs_t:  # characters, one, two or four bytes each (as a str stores them)
    uint8_t
    uint16_t
    uint32_t


cdef Py_ssize_t _split_one(str text, int min_chars, Py_ssize_t* spans, Py_ssize_t* alnum) noexcept:
    """``sentences.split`` of one text (see ``split_many``), left in ``spans`` (start, end, start, end...); how
    many. ``spans`` and ``alnum`` hold len(text) + 1 each."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text)
    cdef int kind = PyUnicode_KIND(text)
    cdef void* data = PyUnicode_DATA(text)
    if kind == 1:
        return _split_chars(<const uint8_t*>data, n, min_chars, spans, alnum)
    if kind == 2:
        return _split_chars(<const uint16_t*>data, n, min_chars, spans, alnum)
    return _split_chars(<const uint32_t*>data, n, min_chars, spans, alnum)


cdef Py_ssize_t _split_chars(const ucs_t* data, Py_ssize_t n, int min_chars, Py_ssize_t* spans,
                             Py_ssize_t* alnum) noexcept nogil:
    """``_split_one`` of a text's characters, read in the width they are stored in."""
    cdef Py_ssize_t p, q, r, j, pos = 0, n_spans = 0, k, start, end, carry_start = -1, carry_end = 0
    cdef Py_ssize_t n_merged = 0
    cdef bint newline, matched
    cdef ucs_t c
    cdef Py_ssize_t n_out = 0
    # alnum[i]: letters and digits before position i
    alnum[0] = 0
    for j in range(n):
        alnum[j + 1] = alnum[j] + (1 if _isalnum(data[j]) else 0)
    # the matches of _BOUNDARY, as finditer finds them: at each position from the last match's end, the first
    # branch (after [.!?…]: closers, then white space) and then the second (white space holding a line break)
    p = 0
    while p < n:
        matched = False
        if p >= 1 and _is_end(data[p - 1]):
            q = p
            while q < n and _is_closer(data[q]):
                q += 1
            r = q
            while r < n and _isspace(data[r]):
                r += 1
            if r > q:
                matched = True
                end = q  # closing quotes and brackets stay with their sentence
        if not matched and _isspace(data[p]):
            r = p
            newline = False
            while r < n:
                c = data[r]
                if not _isspace(c):
                    break
                if _is_break(c):
                    newline = True
                r += 1
            if newline:
                matched = True
                end = p
            else:  # no match starts in this run of white space, nor at its end (after white space, not [.!?…])
                p = r
                continue
        if matched:
            if end > pos:
                spans[2 * n_spans] = pos
                spans[2 * n_spans + 1] = end
                n_spans += 1
            pos = p = r
        else:
            p += 1
    if pos < n:
        spans[2 * n_spans] = pos
        spans[2 * n_spans + 1] = n
        n_spans += 1
    # short pieces join the next sentence (or the last one), then white space is trimmed
    for k in range(n_spans):
        start = spans[2 * k]
        end = spans[2 * k + 1]
        if carry_start >= 0:
            start = carry_start
        if alnum[end] - alnum[start] < min_chars:
            carry_start = start
            carry_end = end
            continue
        carry_start = -1
        spans[2 * n_merged] = start
        spans[2 * n_merged + 1] = end
        n_merged += 1
    if carry_start >= 0:
        if n_merged:
            spans[2 * n_merged - 1] = carry_end
        else:
            spans[0] = carry_start
            spans[1] = carry_end
            n_merged = 1
    for k in range(n_merged):
        start = spans[2 * k]
        end = spans[2 * k + 1]
        while start < end and _isspace(data[start]):
            start += 1
        while end > start and _isspace(data[end - 1]):
            end -= 1
        if end > start:
            spans[2 * n_out] = start
            spans[2 * n_out + 1] = end
            n_out += 1
    return n_out


def pieces(list texts, list normalized, const int64_t[::1] counts, const int64_t[:, ::1] spans):
    """For each plain ASCII text (``normalize.normalize_many_plain``) and its normalised form, the normalised
    form of each of its ``counts[i]`` pieces ``text[s:e]`` (the next rows of ``spans``, in order, each cut at
    white space): the matching piece of the normalised text, one list for all.

    The normalised text is the text's words joined by single spaces, so a piece
    starting at character ``s`` starts after the words before ``s`` and a space
    after each: the characters of those words plus their number.
    """
    cdef list out = []
    cdef Py_ssize_t i, j, n, s, e, pos, chars, words, a, r, row = 0
    cdef const unsigned char* data
    cdef unsigned char word, before
    cdef str text, norm
    if counts.shape[0] != len(texts) or len(normalized) != len(texts):
        raise ValueError("counts and normalized must have one entry per text")
    for i in range(len(texts)):
        text = texts[i]
        norm = normalized[i]
        if not text.isascii() or PyUnicode_KIND(text) != 1:
            raise ValueError("pieces takes ASCII texts")
        if counts[i] < 0 or row + counts[i] > spans.shape[0]:
            raise ValueError("counts must add up to at most the rows of spans")
        data = <const unsigned char*>PyUnicode_DATA(text)
        n = PyUnicode_GET_LENGTH(text)
        pos = 0
        chars = 0       # characters of words before pos
        words = 0       # words started before pos
        before = 0      # whether the character before pos is a word's
        for r in range(row, row + counts[i]):
            s = spans[r, 0]
            e = spans[r, 1]
            if not (pos <= s < e <= n):
                raise ValueError("spans must be in order, within the text")
            if (s > 0 and not _SPACE256[data[s - 1]]) or _SPACE256[data[s]] or _SPACE256[data[e - 1]] or (
                    e < n and not _SPACE256[data[e]]):
                raise ValueError("a piece must be cut at white space")
            for j in range(pos, s):
                word = not _SPACE256[data[j]]
                chars += word
                words += word & (not before)
                before = word
            a = chars + words
            for j in range(s, e):
                word = not _SPACE256[data[j]]
                chars += word
                words += word & (not before)
                before = word
            out.append(norm[a:chars + words - 1])
            pos = e
        row += counts[i]
    return out


def split_many(list texts, int min_chars, Py_ssize_t most):
    """``sentences.split`` of each text, at most ``most`` sentences each: how many each text has (an int64
    array), and their character ranges one after the other (an int64 array of (start, end) rows). The same
    ranges as ``split``, in one pass over each text.

    ``_BOUNDARY`` is matched as finditer does: from the end of the last match,
    the first position where the first branch (just after ``.!?…``: closing quotes
    and brackets, then white space) or else the second (white space holding a
    line break) matches; both end where the white space ends. ``\\s`` is
    ``str.isspace`` and a letter or digit ``str.isalnum``, as in ``re``.
    """
    cdef Py_ssize_t longest = 0, n, i, k, used = 0, cap = 0
    cdef Py_ssize_t* spans = NULL
    cdef Py_ssize_t* alnum = NULL
    cdef int64_t* found = NULL
    cdef int64_t* grown
    cdef int64_t[::1] counts = np.zeros(len(texts), dtype=np.int64)
    cdef int64_t[:, ::1] out
    for text in texts:
        if isinstance(text, str):
            n = PyUnicode_GET_LENGTH(text)
            if n > longest:
                longest = n
    try:
        spans = <Py_ssize_t*>malloc((2 * longest + 4) * sizeof(Py_ssize_t))
        alnum = <Py_ssize_t*>malloc((longest + 2) * sizeof(Py_ssize_t))
        if not spans or not alnum:
            raise MemoryError()
        for i in range(len(texts)):
            text = texts[i]
            if not isinstance(text, str):
                continue
            k = _split_one(text, min_chars, spans, alnum)
            if k > most:
                k = most
            if used + k > cap:
                cap = 2 * (used + k) + 1024
                grown = <int64_t*>malloc(2 * cap * sizeof(int64_t))
                if not grown:
                    raise MemoryError()
                if used:
                    memcpy(grown, found, 2 * used * sizeof(int64_t))
                free(found)
                found = grown
            for n in range(2 * k):
                found[2 * used + n] = spans[n]
            used += k
            counts[i] = k
        out = np.empty((used, 2), dtype=np.int64)
        if used:
            memcpy(&out[0, 0], found, 2 * used * sizeof(int64_t))
    finally:
        free(spans); free(alnum); free(found)
    return np.asarray(counts), np.asarray(out)


# -- normalisation ---------------------------------------------------------------------------------

cdef extern from "Python.h":
    object PyUnicode_FromKindAndData(int kind, const void* buffer, Py_ssize_t size)
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)
    bint PyUnicode_IS_ASCII(object text)

# classes of ASCII characters that ``collapse_many`` reports (normalize._CLASS's, as bits)
cdef unsigned char _CLS[128]
for _c in range(128):
    _ch = chr(_c)
    _CLS[_c] = ((1 if _ch in "abcdefghijklmnopqrstuvwxyz" else 0)
                | (2 if _ch in "0123456789@$*#%|+_" else 0)
                | (4 if _ch in "abcdefghijklmnopqrstuvwxyz0123456789@$!*" else 0)
                | (8 if _ch in " .-_" else 0)
                | (16 if _ch in "abcdefghijklmnopqrstuvwxyz0123456789@$*#" else 0)
                | (32 if (_c < 32 or _c == 127) and not _ch.isspace() else 0))
cdef uint8_t _LOWER[128]  # each ASCII character lower-cased
for _c in range(128):
    _LOWER[_c] = ord(chr(_c).lower())


cdef inline unsigned char _cls(uint32_t c) noexcept nogil:
    return _CLS[c] if c < 128 else 0


cdef inline bint _ascii_alnum(uint32_t c) noexcept nogil:  # re's [a-z0-9]
    return (97 <= c <= 122) or (48 <= c <= 57)


# "ht" and "ww" as pairs of characters: where "http" and "www." start
cdef uint64_t _HT = (<uint64_t>104 << 32) | 116
cdef uint64_t _WW = (<uint64_t>119 << 32) | 119


cdef unsigned char _checks(const ucs_t* buf, Py_ssize_t m) noexcept nogil:
    """The flags of ``collapse_many`` for one collapsed text. Each check is tried only where its cheapest part
    holds (a leetspeak, mask or control character or "!" near, a character repeated, an "h" or a "w", a
    separator after one character), since most characters are letters and spaces that start none."""
    cdef Py_ssize_t j
    cdef unsigned char f = 0, a, b2
    cdef uint32_t c, n1
    cdef uint64_t pair
    if m == 0:
        return 0
    b2 = _cls(buf[0])
    for j in range(m - 1):
        c = buf[j]
        n1 = buf[j + 1]
        a = b2
        b2 = _cls(n1)
        if ((a | b2) & 34) or c == 33:
            if a & 32:
                f |= 4
            if ((a & 1) and (b2 & 2)) or ((a & 2) and (b2 & 1)) or (c == 33 and (b2 & 3)):
                f |= 1
        if c == n1 and j + 2 < m and (a & 1) and buf[j + 2] == c:
            f |= 2
        pair = (<uint64_t>c << 32) | n1
        if (pair == _HT or pair == _WW) and j + 3 < m and (
                (c == 104 and buf[j + 2] == 116 and buf[j + 3] == 112)
                or (c == 119 and buf[j + 2] == 119 and buf[j + 3] == 46)):
            f |= 4
        if (j + 4 < m and buf[j + 3] == n1 and (b2 & 8) and (a & 4) and (_cls(buf[j + 2]) & 4)
                and (_cls(buf[j + 4]) & 4) and (j == 0 or not (_cls(buf[j - 1]) & 16))
                and (j + 5 == m or not _ascii_alnum(buf[j + 5]))):
            f |= 4
    if _cls(buf[m - 1]) & 32:
        f |= 4
    return f


def collapse_many(list texts, object fold):
    """Per text: its folded words joined by single spaces, and what ``normalize_many`` needs to know of it.

    An ASCII text is folded by lower-casing, any other by ``text.translate(fold)``.
    The second list holds per text: bit 1, a ``_WORD`` token that decoding might
    change (a letter next to a leetspeak or mask character other than ``!``, or
    ``!`` before a letter or such a character); bit 2, a letter three times in a
    row; bit 4, a control character, ``http``, ``www.``, or a ``_SPACED``
    match (see ``normalize._collapse_numpy``). These are
    the numpy checks of ``normalize_many``, made while the text is copied.
    """
    cdef list out = []
    cdef bytearray flags = bytearray(len(texts))
    cdef Py_ssize_t i, j, n, m, cap = 0
    cdef int kind
    cdef void* data
    cdef const uint8_t* src
    cdef Py_UCS4 c
    cdef uint32_t* buf = NULL
    cdef uint8_t* bytes_ = NULL
    cdef uint32_t u
    cdef bint space, ascii
    cdef Py_ssize_t white, pending
    cdef object text, folded
    try:
        for i in range(len(texts)):
            text = texts[i]
            ascii = PyUnicode_IS_ASCII(text)
            folded = text if ascii else text.translate(fold)
            n = PyUnicode_GET_LENGTH(folded)
            if n + 1 > cap:
                free(buf)
                free(bytes_)
                cap = 2 * n + 16
                buf = <uint32_t*>malloc(cap * sizeof(uint32_t))
                bytes_ = <uint8_t*>malloc(cap)
                if buf == NULL or bytes_ == NULL:
                    raise MemoryError()
            m = 0
            space = False
            pending = 0
            if ascii:
                src = <const uint8_t*>PyUnicode_DATA(folded)
                # without branches: white space is frequent and irregular, so a branch on it is often mispredicted.
                # Each character is written, and kept (m moves on) unless it is white space; a space is written
                # before it, and kept, when white space came between it and the last character kept.
                for j in range(n):
                    white = _SPACE256[src[j]]
                    bytes_[m] = 32
                    m += pending & (1 - white)
                    bytes_[m] = _LOWER[src[j]]
                    m += 1 - white
                    pending = white & (pending | (m > 0))
                flags[i] = _checks(bytes_, m)
                folded = PyUnicode_New(m, 127)
                memcpy(PyUnicode_DATA(folded), bytes_, m)
                out.append(folded)
                continue
            kind = PyUnicode_KIND(folded)
            data = PyUnicode_DATA(folded)
            for j in range(n):
                c = PyUnicode_READ(kind, data, j)
                u = <uint32_t>c
                if u < 128:
                    if _SPACE256[u]:
                        space = m > 0
                        continue
                    if 65 <= u <= 90:
                        u += 32
                elif Py_UNICODE_ISSPACE(c):
                    space = m > 0
                    continue
                if space:
                    buf[m] = 32
                    m += 1
                    space = False
                buf[m] = u
                m += 1
            flags[i] = _checks(buf, m)
            out.append(PyUnicode_FromKindAndData(4, buf, m))  # stored as compactly as its characters allow
    finally:
        free(buf)
        free(bytes_)
    return out, bytes(flags)


# -- the calibrator's logistic function ------------------------------------------------------------

def expit(const double[::1] x):
    """``1 / (1 + exp(-x))`` of each value with the C library's ``exp``: what ``scipy.special.expit`` (and so
    scikit-learn's ``predict_proba``) computes, bit for bit, without importing ``scipy.special``, which took a
    quarter of the time of loading a model and scoring one comment in a fresh process."""
    out = np.empty(x.shape[0], dtype=np.float64)
    cdef double[::1] o = out
    cdef Py_ssize_t i
    with nogil:
        for i in range(x.shape[0]):
            o[i] = 1.0 / (1.0 + exp(-x[i]))
    return out
