"""Embedding combiner kernel, bit-exact with ``safe_embedding_lookup_sparse``.

TensorFlow's result depends on its float32 summation order, so this kernel
reproduces the orders of the CPU kernels rather than summing naively:

* unweighted (``SparseSegmentSum/Mean/SqrtN``): the first ``n % 8`` (or 8/9)
  values summed left to right, then blocks of 8 each summed on their own and
  added; ``n < 10`` scales by a float32 reciprocal before the blocks, ``n >= 10``
  divides after them;
* weighted (``E[id] * w`` then ``segment_sum``): in columns covered by full
  8-float packets, rows with at least 16 values use 4 interleaved
  accumulators; every other sum is sequential;
* ``max_norm`` (``clip_by_norm``): squares summed in 8 packet lanes plus a
  sequential tail, lanes reduced pairwise, then ``(row*max_norm) / max(norm,
  max_norm)``.

``combine_embeddings`` runs one column; ``featurec._write.write_outputs`` runs
the same row combiner (``_combine_rows``) for every embedding column of a
batch at once.

All arithmetic stays in float32; every constant is an ``np.float32`` so numba
never widens an expression to float64.

Two known differences, both at most a few ulps: weighted ``sqrtn`` squares
the weights exactly (``w * w``) where TF uses Eigen's vectorised ``pow(w, 2)``,
which is off by one ulp for about a quarter of weights; and TF flushes
subnormal floats (below 1.2e-38) to zero, this kernel does not.
"""

import numpy as np
from numba import njit, prange

COMBINER_SUM = 0
COMBINER_MEAN = 1
COMBINER_SQRTN = 2

_COMBINERS = {"sum": COMBINER_SUM, "mean": COMBINER_MEAN, "sqrtn": COMBINER_SQRTN}

# Batches with fewer rows run on one thread: 4,096 rows of one id and D=8 take
# about 60 us on one thread, comparable to waking a sleeping worker thread.
PARALLEL_MIN_ROWS = 8192
_CHUNK_ROWS = 256

_F0 = np.float32(0.0)
_F1 = np.float32(1.0)


def combiner_code(name):
    """Maps an embedding combiner name to the kernel's integer code.

    Args:
        name: ``'sum'``, ``'mean'`` or ``'sqrtn'``.

    Returns:
        ``COMBINER_SUM``, ``COMBINER_MEAN`` or ``COMBINER_SQRTN``.

    Raises:
        ValueError: for any other name.
    """
    try:
        return _COMBINERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Invalid combiner: {name!r}. Expected one of 'mean', 'sqrtn', 'sum'."
        ) from None


@njit(cache=True)
def _clip_denominator(table, row, max_norm):
    """``max(l2norm(table[row]), max_norm)`` in Eigen's reduction order."""
    dim = table.shape[1]
    packed = (dim // 8) * 8
    p0 = p1 = p2 = p3 = p4 = p5 = p6 = p7 = _F0
    for base in range(0, packed, 8):
        x0 = table[row, base]
        x1 = table[row, base + 1]
        x2 = table[row, base + 2]
        x3 = table[row, base + 3]
        x4 = table[row, base + 4]
        x5 = table[row, base + 5]
        x6 = table[row, base + 6]
        x7 = table[row, base + 7]
        p0 = p0 + x0 * x0
        p1 = p1 + x1 * x1
        p2 = p2 + x2 * x2
        p3 = p3 + x3 * x3
        p4 = p4 + x4 * x4
        p5 = p5 + x5 * x5
        p6 = p6 + x6 * x6
        p7 = p7 + x7 * x7
    tail = _F0
    for c in range(packed, dim):
        x = table[row, c]
        tail = tail + x * x
    l2sum = tail + (((p0 + p4) + (p2 + p6)) + ((p1 + p5) + (p3 + p7)))
    # clip_by_norm keeps l2sum itself (0) where it is not positive.
    l2norm = np.sqrt(l2sum) if l2sum > _F0 else l2sum
    return l2norm if l2norm > max_norm else max_norm


@njit(cache=True, inline="always")
def _value(table, sel, den, clip, max_norm, k, c):
    """Column c of the k-th surviving id's row, clipped when max_norm is set."""
    x = table[sel[k], c]
    if clip:
        return (x * max_norm) / den[k]
    return x


# Both combiners loop over columns outside and ids inside, keeping the sums in
# registers: for the small dimensions embeddings use this measured about 2x
# faster than accumulating whole rows in a scratch buffer.


@njit(cache=True)
def _combine_unweighted(table, sel, den, clip, max_norm, n, combiner, out, b, col0):
    dim = table.shape[1]
    r = n & 7
    first = r if r >= 2 else (8 if r == 0 else 9)
    if first > n:
        first = n
    scaled = combiner != COMBINER_SUM and n > 1
    if combiner == COMBINER_MEAN:
        divisor = np.float32(n)
    else:
        divisor = np.float32(np.sqrt(np.float64(n)))
    reciprocal = _F1 / divisor
    for c in range(dim):
        acc = _value(table, sel, den, clip, max_norm, 0, c)
        for k in range(1, first):
            acc = acc + _value(table, sel, den, clip, max_norm, k, c)
        if scaled and n < 10:
            acc = acc * reciprocal
        for k in range(first, n, 8):
            block = _value(table, sel, den, clip, max_norm, k, c)
            for q in range(1, 8):
                block = block + _value(table, sel, den, clip, max_norm, k + q, c)
            acc = acc + block
        if scaled and n >= 10:
            acc = acc / divisor
        out[b, col0 + c] = acc


@njit(cache=True)
def _combine_weighted(
    table, sel, wsel, den, clip, max_norm, n, combiner, out, b, col0
):
    dim = table.shape[1]
    packed = (dim // 8) * 8
    n4 = (n // 4) * 4
    if combiner == COMBINER_MEAN:
        total = _F0
        for k in range(n):
            total = total + wsel[k]
        divisor = total
    elif combiner == COMBINER_SQRTN:
        total = _F0
        for k in range(n):
            w = wsel[k]
            total = total + w * w
        divisor = np.sqrt(total)
    else:
        divisor = _F1
    for c in range(dim):
        # Columns in full 8-float packets: 4 interleaved accumulators once the
        # row has 16 values; everything else sums sequentially.
        if c < packed and n >= 16:
            a0 = a1 = a2 = a3 = _F0
            for k in range(0, n4, 4):
                a0 = a0 + _value(table, sel, den, clip, max_norm, k, c) * wsel[k]
                a1 = a1 + _value(table, sel, den, clip, max_norm, k + 1, c) * wsel[k + 1]
                a2 = a2 + _value(table, sel, den, clip, max_norm, k + 2, c) * wsel[k + 2]
                a3 = a3 + _value(table, sel, den, clip, max_norm, k + 3, c) * wsel[k + 3]
            acc = ((a0 + a1) + a2) + a3
            start = n4
        else:
            acc = _F0
            start = 0
        for k in range(start, n):
            acc = acc + _value(table, sel, den, clip, max_norm, k, c) * wsel[k]
        if combiner != COMBINER_SUM:
            # div_no_nan: a zero denominator gives 0.
            acc = acc / divisor if divisor != _F0 else _F0
        out[b, col0 + c] = acc


@njit(cache=True, inline="always")
def _copy_id_row(table, i, out, b, col0, dim):
    """Row b of one unweighted id: table row i as it is, zeros for no id (i < 0)."""
    if i >= 0:
        for c in range(dim):
            out[b, col0 + c] = table[i, c]
    else:
        for c in range(dim):
            out[b, col0 + c] = _F0


@njit(cache=True, inline="always")
def _copy_id_rows(lo, hi, ids, table, out, col0, dim):
    for b in range(lo, hi):
        _copy_id_row(table, ids[b], out, b, col0, dim)


@njit(cache=True)
def copy_one_id_rows(lo, hi, ids, table, out, col0):
    """Rows lo:hi of an unweighted, unclipped column with exactly one id a
    row (`ids[b]` is row b's): its table row as it is (every combiner of one
    id gives it unchanged), or zeros for a negative id (no id).

    Every id must be below the table's rows (checked by the caller). Common
    dimensions get a copy of constant length, which LLVM unrolls: on the
    Criteo-like set (15 columns of dimension 8, 4,096 rows, one thread) the
    writer's embedding part took 0.45 ms instead of 0.67 through
    `_combine_rows`' single-id branch (decision 79).
    """
    dim = table.shape[1]
    if dim == 8:
        _copy_id_rows(lo, hi, ids, table, out, col0, 8)
    elif dim == 16:
        _copy_id_rows(lo, hi, ids, table, out, col0, 16)
    elif dim == 4:
        _copy_id_rows(lo, hi, ids, table, out, col0, 4)
    elif dim == 32:
        _copy_id_rows(lo, hi, ids, table, out, col0, 32)
    else:
        _copy_id_rows(lo, hi, ids, table, out, col0, dim)


@njit(cache=True)
def _combine_rows(
    lo, hi, row_splits, ids, weights, has_weights, prune_weights, table,
    combiner, clip, max_norm, out, col0, sel, wsel, den,
):  # fmt: skip
    dim = table.shape[1]
    single = not has_weights and not clip
    for b in range(lo, hi):
        if single and row_splits[b + 1] - row_splits[b] == 1:
            # One unweighted id: half the time of the general path below.
            _copy_id_row(table, ids[row_splits[b]], out, b, col0, dim)
            continue
        # Survivors in sparse order, pruned as safe_embedding_lookup_sparse does.
        n = 0
        for j in range(row_splits[b], row_splits[b + 1]):
            if ids[j] < 0:
                continue
            if prune_weights and not weights[j] > _F0:
                continue
            # Survivors' table rows (and weights): one indirection less below.
            sel[n] = ids[j]
            if has_weights:
                wsel[n] = weights[j]
            n += 1
        if n == 0:
            for c in range(dim):
                out[b, col0 + c] = _F0
            continue
        if clip:
            for k in range(n):
                den[k] = _clip_denominator(table, sel[k], max_norm)
        if has_weights:
            _combine_weighted(
                table, sel, wsel, den, clip, max_norm, n, combiner, out, b, col0
            )
        elif n == 1 and not clip:
            for c in range(dim):
                out[b, col0 + c] = table[sel[0], c]
        else:
            _combine_unweighted(
                table, sel, den, clip, max_norm, n, combiner, out, b, col0
            )


@njit(cache=True)
def first_id_past_table(ids, weights, prune_weights, vocab):
    """Index of the first id ``>= vocab`` the lookup would read, else -1.

    Ids whose weight drops them first (``prune_weights``: weight ``<= 0`` or
    NaN) are never looked up, so they are not errors (TF never sees them).
    """
    for j in range(ids.shape[0]):
        if ids[j] >= vocab and not (prune_weights and not weights[j] > _F0):
            return j
    return -1


@njit(cache=True, parallel=True)
def combine_embeddings(
    row_splits, ids, weights, has_weights, table, combiner, max_norm, out, col0
):
    """Embedding lookup and combine of a ragged id batch, as TF computes it.

    Equals ``tf.nn.safe_embedding_lookup_sparse`` (as used by
    ``embedding_column`` and ``shared_embedding_columns``) bit for bit on the
    8-float-packet CPU build.

    Args:
        row_splits: int64 ``[batch + 1]``; row b's ids are
            ``ids[row_splits[b]:row_splits[b + 1]]``.
        ids: int64 ``[nnz]`` categorical ids; negative ids are dropped.
        weights: float32 ``[nnz]``, read only when ``has_weights``; with a
            non-sum combiner, weights ``<= 0`` (and NaN) drop their id.
        has_weights: whether the column is weighted.
        table: float32 ``[V, D]`` embedding table.
        combiner: ``COMBINER_SUM``, ``COMBINER_MEAN`` or ``COMBINER_SQRTN``.
        max_norm: clip norm; ``<= 0`` or NaN means no clipping.
        out: float32 ``[batch, W]`` output; columns ``col0:col0 + D`` of
            every row are written (rows with no surviving id get zeros).
        col0: first output column.

    Returns:
        -1 on success; otherwise the index into ``ids`` of the first id
        ``>= V`` that would be looked up, and ``out`` is left untouched.

    Raises:
        ValueError: if the array shapes are inconsistent (a caller bug).
    """
    batch = row_splits.shape[0] - 1
    nnz = ids.shape[0]
    vocab = table.shape[0]
    dim = table.shape[1]
    if batch < 0 or out.shape[0] != batch:
        raise ValueError("combine_embeddings: row_splits and out disagree on batch size.")
    if col0 < 0 or col0 + dim > out.shape[1]:
        raise ValueError("combine_embeddings: columns col0:col0+D fall outside out.")
    if has_weights and weights.shape[0] != nnz:
        raise ValueError("combine_embeddings: weights and ids differ in length.")
    if combiner < COMBINER_SUM or combiner > COMBINER_SQRTN:
        raise ValueError("combine_embeddings: unknown combiner code.")
    max_len = 0
    prev = row_splits[0]
    if batch >= 0 and prev != 0:
        raise ValueError("combine_embeddings: row_splits must start at 0.")
    for b in range(batch):
        cur = row_splits[b + 1]
        if cur < prev:
            raise ValueError("combine_embeddings: row_splits must be non-decreasing.")
        if cur - prev > max_len:
            max_len = cur - prev
        prev = cur
    if prev != nnz:
        raise ValueError("combine_embeddings: row_splits must end at len(ids).")

    mn = np.float32(max_norm)
    clip = mn > _F0  # False for NaN too.
    prune_weights = has_weights and combiner != COMBINER_SUM
    bad = first_id_past_table(ids, weights, prune_weights, vocab)
    if bad >= 0:
        return bad

    if batch < PARALLEL_MIN_ROWS:
        sel = np.empty(max_len, np.int64)
        wsel = np.empty(max_len if has_weights else 0, np.float32)
        den = np.empty(max_len if clip else 0, np.float32)
        _combine_rows(
            0, batch, row_splits, ids, weights, has_weights, prune_weights, table,
            combiner, clip, mn, out, col0, sel, wsel, den,
        )  # fmt: skip
    else:
        # Fixed-size chunks: the scratch arrays are allocated once per chunk.
        chunks = (batch + _CHUNK_ROWS - 1) // _CHUNK_ROWS
        for t in prange(chunks):
            sel = np.empty(max_len, np.int64)
            wsel = np.empty(max_len if has_weights else 0, np.float32)
            den = np.empty(max_len if clip else 0, np.float32)
            _combine_rows(
                t * _CHUNK_ROWS, min(batch, (t + 1) * _CHUNK_ROWS), row_splits, ids,
                weights, has_weights, prune_weights, table, combiner, clip, mn,
                out, col0, sel, wsel, den,
            )  # fmt: skip
    return -1

