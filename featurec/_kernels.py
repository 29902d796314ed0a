"""Generic numba kernels the plan drives with parameter arrays.

Every kernel is compiled once per argument *type* (cached on disk), never per
user column: column parameters (boundaries, bucket counts, vocabulary tables,
output offsets) arrive as arguments. Categorical data flows between kernels as
CSR: `row_splits` (int64, batch+1) plus per-value arrays.

The output matrix itself is written by `featurec._write`.

Loops switch to `prange` above `PARALLEL_MIN_VALUES` values: starting a
parallel region costs more than it saves on small batches, and far more on a
busy machine.
"""

import math

import numpy as np
from numba import njit, prange

from featurec._hash import fingerprint64, fingerprint64_int, fingerprint_cat64

PARALLEL_MIN_VALUES = 16384

_EMPTY = np.int64(-1)
_TINY32 = np.float32(np.finfo(np.float32).tiny)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


# ---------------------------------------------------------------------------
# Strings.
# ---------------------------------------------------------------------------


@njit(cache=True)
def fixed_width_lengths(buf2d):
    """Lengths of numpy `S` strings: the width minus trailing NUL bytes.

    Args:
        buf2d: `uint8[n, width]` view of an `S<width>` array.

    Returns:
        int64[n] lengths.
    """
    n, w = buf2d.shape
    out = np.empty(n, np.int64)
    for i in range(n):
        k = w
        while k > 0 and buf2d[i, k - 1] == 0:
            k -= 1
        out[i] = k
    return out


@njit(cache=True)
def split_joined(buf, starts, ends):
    """Bounds of the strings `"\\x00".join` packed into `buf`, in one pass.

    Args:
        buf: uint8 bytes of `len(starts)` (>= 1) strings joined by NUL.
        starts, ends: int64 outputs, one per string.

    Returns:
        False if `buf` holds a different number of NULs (a string contained
        one); the outputs are then meaningless.
    """
    count = starts.shape[0]
    k = 0
    starts[0] = 0
    for i in range(buf.shape[0]):
        if buf[i] == 0:
            if k + 1 >= count:
                return False
            ends[k] = i
            k += 1
            starts[k] = i + 1
    if k != count - 1:
        return False
    ends[k] = buf.shape[0]
    return True


@njit(cache=True)
def compact(row_splits, keep):
    """Drops values where `keep` is False, keeping CSR rows aligned.

    Returns:
        (new_row_splits int64[n+1], kept value indices int64[m]).
    """
    n = row_splits.shape[0] - 1
    new_splits = np.empty(n + 1, np.int64)
    idx = np.empty(keep.shape[0], np.int64)
    m = 0
    new_splits[0] = 0
    for r in range(n):
        for j in range(row_splits[r], row_splits[r + 1]):
            if keep[j]:
                idx[m] = j
                m += 1
        new_splits[r + 1] = m
    return new_splits, idx[:m]


# ---------------------------------------------------------------------------
# Numeric and bucketized.
# ---------------------------------------------------------------------------


@njit(cache=True, inline="always")
def ftz(v):
    """Flushes a float32 subnormal to (signed) zero.

    TF's CPU kernels in a session run with flush-to-zero and
    denormals-are-zero set, so every float32 op input and result is flushed.
    """
    if -_TINY32 < v < _TINY32:
        return v * np.float32(0.0)
    return v


@njit(cache=True, inline="always")
def _normalize(v, op, p0, p1):
    v = ftz(v)
    if op == 1:
        return ftz(ftz(v - p0) * p1)
    if op == 2:
        return ftz(np.float32(math.log1p(np.float64(v))))
    if op == 3:
        if v != v:
            return v
        if v < p0:
            return p0
        if v > p1:
            return p1
    return v


@njit(cache=True)
def normalize_numeric(x, op, params):
    """Applies a built-in normalizer to a float32 `[n, w]` array.

    Args:
        x: float32 `[n, w]` (the raw input already cast to float32).
        op: normalizer op code (see `featurec.normalizers`).
        params: float32[2] normalizer parameters.

    Returns:
        A new float32 `[n, w]` array.
    """
    n, w = x.shape
    out = np.empty((n, w), np.float32)
    p0 = params[0]
    p1 = params[1]
    for i in range(n):
        for j in range(w):
            out[i, j] = _normalize(x[i, j], op, p0, p1)
    return out


@njit(cache=True, inline="always")
def _upper_bound(bounds, v):
    # Number of boundaries <= v; NaN compares false everywhere -> len(bounds),
    # the last bucket, as TF's std::upper_bound.
    lo = 0
    hi = bounds.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if v < bounds[mid]:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(cache=True)
def bucketize_ids(x, bounds):
    """Bucket ids `bucket + (nb+1)*j` of float32 `x[n, d]`, row-major."""
    n, d = x.shape
    nb1 = bounds.shape[0] + 1
    out = np.empty(n * d, np.int64)
    for i in range(n):
        for j in range(d):
            out[i * d + j] = _upper_bound(bounds, ftz(x[i, j])) + nb1 * j
    return out


# ---------------------------------------------------------------------------
# Hashing and lookup (one value at a time; value arrays are flat).
# ---------------------------------------------------------------------------


@njit(cache=True, parallel=True)
def fingerprint_strs(buf, starts, ends, out):
    """`out[i] = Fingerprint64(string i)` (uint64)."""
    n = starts.shape[0]
    if n < PARALLEL_MIN_VALUES:
        for i in range(n):
            out[i] = fingerprint64(buf, starts[i], ends[i])
    else:
        for i in prange(n):
            out[i] = fingerprint64(buf, starts[i], ends[i])


@njit(cache=True)
def build_str_table(vbuf, vstarts, vends):
    """Open-addressing table over the vocabulary's Fingerprint64 values.

    Returns:
        (slots int64[2**k], fps uint64[V]); slots hold vocabulary indices or -1.
    """
    v = vstarts.shape[0]
    size = 1
    while size < 2 * v:
        size *= 2
    mask = np.uint64(size - 1)
    slots = np.full(size, _EMPTY)
    fps = np.empty(v, np.uint64)
    for k in range(v):
        fp = fingerprint64(vbuf, vstarts[k], vends[k])
        fps[k] = fp
        h = fp & mask
        while slots[h] != _EMPTY:
            h = (h + np.uint64(1)) & mask
        slots[h] = k
    return slots, fps


@njit(cache=True, inline="always")
def _bytes_equal(a, a0, a1, b, b0, b1):
    if a1 - a0 != b1 - b0:
        return False
    for k in range(a1 - a0):
        if a[a0 + k] != b[b0 + k]:
            return False
    return True


@njit(cache=True, inline="always")
def _lookup_str_one(buf, s0, s1, vbuf, vstarts, vends, slots, fps, default, num_oov):
    fp = fingerprint64(buf, s0, s1)
    mask = np.uint64(slots.shape[0] - 1)
    h = fp & mask
    while True:
        k = slots[h]
        if k == _EMPTY:
            break
        if fps[k] == fp and _bytes_equal(buf, s0, s1, vbuf, vstarts[k], vends[k]):
            return k
        h = (h + np.uint64(1)) & mask
    if num_oov > 0:
        return vstarts.shape[0] + np.int64(fp % np.uint64(num_oov))
    return default


@njit(cache=True, parallel=True)
def lookup_str(buf, starts, ends, vbuf, vstarts, vends, slots, fps, default, num_oov, out):
    """Vocabulary ids of strings; misses get `V + fp % num_oov` or `default`."""
    n = starts.shape[0]
    if n < PARALLEL_MIN_VALUES:
        for i in range(n):
            out[i] = _lookup_str_one(
                buf, starts[i], ends[i], vbuf, vstarts, vends, slots, fps, default, num_oov
            )
    else:
        for i in prange(n):
            out[i] = _lookup_str_one(
                buf, starts[i], ends[i], vbuf, vstarts, vends, slots, fps, default, num_oov
            )


@njit(cache=True, inline="always")
def _int_slot(key, mask):
    return (np.uint64(key) * _GOLDEN) & mask


@njit(cache=True)
def build_int_table(keys):
    """Open-addressing table over int64 vocabulary keys (indices or -1)."""
    v = keys.shape[0]
    size = 1
    while size < 2 * v:
        size *= 2
    mask = np.uint64(size - 1)
    slots = np.full(size, _EMPTY)
    for k in range(v):
        h = _int_slot(keys[k], mask)
        while slots[h] != _EMPTY:
            h = (h + np.uint64(1)) & mask
        slots[h] = k
    return slots


@njit(cache=True, inline="always")
def _lookup_int_one(x, keys, slots, default, num_oov):
    mask = np.uint64(slots.shape[0] - 1)
    h = _int_slot(x, mask)
    while True:
        k = slots[h]
        if k == _EMPTY:
            break
        if keys[k] == x:
            return k
        h = (h + np.uint64(1)) & mask
    if num_oov > 0:
        return keys.shape[0] + np.int64(fingerprint64_int(x) % np.uint64(num_oov))
    return default


@njit(cache=True, parallel=True)
def lookup_int(values, keys, slots, default, num_oov, out):
    """Vocabulary ids of int64 values; OOV hashes the decimal string."""
    n = values.shape[0]
    if n < PARALLEL_MIN_VALUES:
        for i in range(n):
            out[i] = _lookup_int_one(values[i], keys, slots, default, num_oov)
    else:
        for i in prange(n):
            out[i] = _lookup_int_one(values[i], keys, slots, default, num_oov)


# ---------------------------------------------------------------------------
# Crosses.
# ---------------------------------------------------------------------------


@njit(cache=True)
def cross_row_splits(splits):
    """Row splits of the cross of K CSR inputs (`splits` int64[K, n+1])."""
    k, n1 = splits.shape
    out = np.empty(n1, np.int64)
    out[0] = 0
    for r in range(n1 - 1):
        c = 1
        for q in range(k):
            c *= splits[q, r + 1] - splits[q, r]
        out[r + 1] = out[r] + c
    return out


@njit(cache=True)
def _cross_rows(splits, values, offsets, hash_key, num_buckets, out_splits, out, lo, hi):
    k = splits.shape[0]
    # One odometer for the whole range: allocating it per row cost as much
    # as the hashing.
    pos = np.empty(k, np.int64)
    for r in range(lo, hi):
        if out_splits[r + 1] - out_splits[r] == 1:
            # One value in every input (dense 1-D keys): no odometer, so the
            # rows' hash chains overlap (2 keys, 4,096 rows: 83 -> 19 us).
            h = hash_key
            for q in range(k):
                h = fingerprint_cat64(h, values[offsets[q] + splits[q, r]])
            out[out_splits[r]] = np.int64(h % num_buckets)
            continue
        for q in range(k):
            pos[q] = 0
        for m in range(out_splits[r], out_splits[r + 1]):
            h = hash_key
            for q in range(k):
                h = fingerprint_cat64(h, values[offsets[q] + splits[q, r] + pos[q]])
            out[m] = np.int64(h % num_buckets)
            # Odometer step: the last input varies fastest (itertools.product).
            q = k - 1
            while q >= 0:
                pos[q] += 1
                if pos[q] < splits[q, r + 1] - splits[q, r]:
                    break
                pos[q] = 0
                q -= 1


_CROSS_CHUNK_ROWS = 1024


@njit(cache=True, parallel=True)
def cross_ids(splits, values, offsets, hash_key, num_buckets, out_splits, out):
    """TF's SparseCross(hashed): FingerprintCat64 chain per product tuple.

    Args:
        splits: int64[K, n+1] row splits of the K inputs (in hashing order).
        values: uint64 values of all inputs concatenated.
        offsets: int64[K] start of each input's values in `values`.
        hash_key: uint64 seed.
        num_buckets: uint64 modulus.
        out_splits: from `cross_row_splits`.
        out: int64 ids, written in product order (last input fastest).
    """
    n = splits.shape[1] - 1
    if out.shape[0] < PARALLEL_MIN_VALUES:
        _cross_rows(splits, values, offsets, hash_key, num_buckets, out_splits, out, 0, n)
    else:
        chunks = (n + _CROSS_CHUNK_ROWS - 1) // _CROSS_CHUNK_ROWS
        for c in prange(chunks):
            lo = c * _CROSS_CHUNK_ROWS
            _cross_rows(
                splits, values, offsets, hash_key, num_buckets, out_splits, out, lo,
                min(n, lo + _CROSS_CHUNK_ROWS),
            )  # fmt: skip
