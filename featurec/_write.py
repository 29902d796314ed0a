"""The output writer: every column of a batch in one pass over row chunks.

Numeric, bucketized, indicator and embedding columns are written chunk of rows
by chunk of rows in a single kernel call, so

* a large batch starts one parallel region per call, not one per column
  (waking numba's sleeping worker costs tens of microseconds, which per-column
  regions paid 15-40 times and which ate the second core's gain), and
* a chunk of output rows stays in cache while all of its columns are filled;
* string hash-bucket columns and crosses of dense 1-D string keys get their
  ids in the same pass, chunk by chunk (decisions 45, 73), and the table rows
  and string bytes a chunk reads next are prefetched (decision 75).

The kernel is generic: columns arrive as parameter arrays built by
`featurec._plan` and ids prepared by `featurec._execute`; embedding tables as
one float32 buffer holding every table (`TableStorage`), so no typed
container (whose methods numba compiles afresh in every process) is needed.
"""

import logging
import os

import numpy as np
from numba import njit, prange

from featurec._embedding import _combine_rows, copy_one_id_rows, first_id_past_table
from featurec._kernels import _upper_bound, ftz
from featurec._memory import huge_page_empty
from featurec._prefetch import prefetch
from featurec._strings import SEG_COUNT, chain_items, hash_items

# Batches with fewer rows run on one thread. Measured on the issue-4 column set
# (idle 2-core machine): 2,048 rows 1.3 ms on one thread vs 0.8 ms on two.
PARALLEL_MIN_ROWS = 1024
CHUNK_ROWS = 128
# Embedding columns whose table rows a chunk requests before its dense
# columns are written (each later column's rows are requested while the
# column before it is combined). Measured one thread, Criteo-like 4,096 rows:
# 1 as good as any; all 15 no better (the misses queue behind each other).
PREFETCH_COLUMNS = 1

# Only the explicit `prange` runs in parallel. With `parallel=True` numba also
# turns the small bookkeeping arrays (`np.zeros`, `np.full`) into parallel
# regions, which woke the sleeping OpenMP workers on every call, even below
# PARALLEL_MIN_ROWS: 256 rows took 0.41 ms in the writer instead of 0.28 ms
# (2 threads, idle machine, benchmarks/featurec_breakdown.py --batch 256).
_PRANGE_ONLY = {
    "prange": True, "numpy": False, "setitem": False, "reduction": False,
    "comprehension": False, "inplace_binop": False, "stencil": False, "fusion": False,
}

_cold_cache_checked = False


def notice_cold_cache():
    """Logs once per process when the kernels are not in numba's cache yet.

    The first call on a machine compiles every kernel (about 30 s on 2 cores)
    with no output of its own; later processes load them in ~0.3 s.
    """
    global _cold_cache_checked
    if _cold_cache_checked:
        return
    _cold_cache_checked = True
    where = _kernel_cache_missing()
    if where is not None:
        logging.getLogger("featurec").warning(
            "featurec: compiling its numba kernels for first use (about 30 s on 2 cores); "
            "they are cached in %s for later runs.",
            where,
        )


def _kernel_cache_missing():
    """The cache directory if the writer kernel has no cache index there yet."""
    try:  # numba internals: without them, no notice (never an error)
        cache = write_outputs._cache
        index = cache._cache_file._index_path
        where = cache.cache_path
    except AttributeError:
        return None
    return None if os.path.exists(index) else where


class TableStorage:
    """Every embedding table of a plan in one float32 buffer.

    Args:
        shapes: list of (rows, dim), in the plan's table order.

    Attributes:
        buf: float32 `[sum(rows * dim)]`, allocated on first `view`,
            starting on a cache line and on huge pages where the system
            offers them (`featurec._memory`, decision 78).
        meta: int64 `[T, 3]` (offset in `buf`, rows, dim) per table.
    """

    def __init__(self, shapes):
        sizes = [r * d for r, d in shapes]
        offsets = np.cumsum([0] + sizes[:-1]) if sizes else np.zeros(0, np.int64)
        self.meta = np.array(
            [(o, r, d) for o, (r, d) in zip(offsets, shapes)], np.int64
        ).reshape(-1, 3)
        self._total = int(sum(sizes))
        self.buf = None

    def view(self, index):
        """The writable `[rows, dim]` view of table `index` in the buffer."""
        if self.buf is None:
            self.buf = huge_page_empty(max(self._total, 1), np.float32)
        o, r, d = self.meta[index]
        return self.buf[o : o + r * d].reshape(r, d)


_NO_TABLES = (np.zeros(1, np.float32), np.zeros((0, 3), np.int64))


@njit(cache=True, inline="always")
def _table(table_buf, table_meta, t):
    o, r, d = table_meta[t, 0], table_meta[t, 1], table_meta[t, 2]
    return table_buf[o : o + r * d].reshape((r, d))


@njit(cache=True)
def _write_dense_rows(lo, hi, out, num, num_ops, bkt_ops, bounds, ind_splits, ind_ids, ind_w, ind_ops):
    # Zero each whole row right before its scatter: measured 1.3 ms vs 2.2 ms
    # for 4,096 rows of the issue-4 columns when every one-hot block was
    # zeroed on its own, and (Criteo-like set, one thread, the whole writer)
    # 2.9 ms vs 3.4 ms against one sweep over the chunk, whose large memset
    # left the lines out of cache for the stores that follow. Plain loops
    # otherwise: this runs inside a parallel region, where each slice
    # assignment on `out[r]` would become a parfor of its own.
    width = out.shape[1]
    flat = out.reshape(out.shape[0] * width)
    for r in range(lo, hi):
        flat[r * width : (r + 1) * width] = 0.0
        for k in range(num_ops.shape[0]):
            src, w, oc = num_ops[k, 0], num_ops[k, 1], num_ops[k, 2]
            for j in range(w):
                out[r, oc + j] = num[src + j, r]
        for k in range(bkt_ops.shape[0]):
            src, dim, b0 = bkt_ops[k, 0], bkt_ops[k, 1], bkt_ops[k, 2]
            nb, oc = bkt_ops[k, 3], bkt_ops[k, 4]
            for j in range(dim):
                b = _upper_bound(bounds[b0 : b0 + nb], ftz(num[src + j, r]))
                out[r, oc + j * (nb + 1) + b] = 1.0
        for k in range(ind_ops.shape[0]):
            off, nb, oc, has_w = ind_ops[k, 0], ind_ops[k, 1], ind_ops[k, 2], ind_ops[k, 3]
            sr = ind_ops[k, IND_SPLITS_ROW]
            for j in range(off + ind_splits[sr, r], off + ind_splits[sr, r + 1]):
                i = ind_ids[j]
                # Ids outside [0, nb) add nothing, as TF's one_hot / sparse_slice.
                if 0 <= i < nb:
                    if has_w:
                        out[r, oc + i] = ftz(out[r, oc + i] + ind_w[j])
                    else:
                        out[r, oc + i] += 1.0


@njit(cache=True)
def _prefetch_rows(table_buf, table_meta, t, ids, splits, lo, hi):
    # The table rows a chunk's ids look up, requested ahead of the combiner
    # that reads them (the previous column's combine runs meanwhile).
    o, vocab, dim = table_meta[t, 0], table_meta[t, 1], table_meta[t, 2]
    for j in range(splits[lo], splits[hi]):
        i = ids[j]
        if 0 <= i < vocab:
            prefetch(table_buf, o + i * dim)


@njit(cache=True)
def _prefetch_embedding_rows(lo, hi, emb_splits, emb_ids, emb_ops, table_buf, table_meta, columns):
    """Requests the table rows of the first `columns` embedding columns'
    ids in rows lo:hi (see `_prefetch_rows`)."""
    last = emb_splits.shape[1] - 1
    for e in range(min(columns, emb_ops.shape[0])):
        splits = emb_splits[emb_ops[e, EMB_SPLITS_ROW]]
        off = emb_ops[e, 0]
        _prefetch_rows(table_buf, table_meta, emb_ops[e, 1], emb_ids[off : off + splits[last]], splits, lo, hi)


@njit(cache=True)
def _write_embedding_rows(
    lo, hi, out, emb_splits, emb_unit, emb_ids, emb_w, emb_ops, emb_max_norm, table_buf, table_meta,
    max_len,
):  # fmt: skip
    sel = np.empty(max_len, np.int64)
    wsel = np.empty(max(max_len, 1), np.float32)
    den = np.empty(max_len, np.float32)
    last = emb_splits.shape[1] - 1
    for e in range(emb_ops.shape[0]):
        off, t, combiner, oc, has_w = emb_ops[e, 0], emb_ops[e, 1], emb_ops[e, 2], emb_ops[e, 3], emb_ops[e, 4]
        splits = emb_splits[emb_ops[e, EMB_SPLITS_ROW]]
        nnz = splits[last]
        mn = emb_max_norm[e]
        clip = mn > 0.0  # False for NaN too.
        table = _table(table_buf, table_meta, t)
        if e + 1 < emb_ops.shape[0]:
            nxt = emb_splits[emb_ops[e + 1, EMB_SPLITS_ROW]]
            noff = emb_ops[e + 1, 0]
            _prefetch_rows(table_buf, table_meta, emb_ops[e + 1, 1], emb_ids[noff : noff + nxt[last]], nxt, lo, hi)
        if emb_unit[emb_ops[e, EMB_SPLITS_ROW]] and has_w == 0 and not clip:
            copy_one_id_rows(lo, hi, emb_ids[off : off + nnz], table, out, oc)
            continue
        _combine_rows(
            lo, hi, splits, emb_ids[off : off + nnz], emb_w[off : off + nnz],
            has_w != 0, has_w != 0 and combiner != 0, table, combiner,
            clip, mn,
            out, oc, sel, wsel, den,
        )  # fmt: skip


# Columns of a fused column's row in `fused`: a string hash-bucket column
# (KIND_HASH; SEG_LO:SEG_HI are rows of `seg`) or a cross of dense 1-D string
# keys (KIND_CROSS; SEG_LO:SEG_HI are rows of `cross_keys`, one a key, in
# hashing order; HASH_KEY is the seed's uint64 bits).
(FUSED_SEG_LO, FUSED_SEG_HI, FUSED_PER_ROW, FUSED_BUCKETS, FUSED_TARGET, FUSED_COLUMN,
 FUSED_KIND, FUSED_HASH_KEY) = range(8)  # fmt: skip
FUSED_COLUMNS = 8
TARGET_INDICATOR = 0
TARGET_EMBEDDING = 1
KIND_HASH = 0
KIND_CROSS = 1
NO_FUSED = np.zeros((0, FUSED_COLUMNS), np.int64)
NO_CROSS_KEYS = np.zeros((0, 2), np.int64)

# The row of `ind_splits` / `emb_splits` a column's ids follow, in its ops
# row: columns with the same row splits (every dense input of a batch with
# the same items per row) share one, so a call builds and the writer reads
# a few rows instead of one per column.
IND_SPLITS_ROW = 4
EMB_SPLITS_ROW = 5


@njit(cache=True)
def _cross_fused_rows(lo, hi, seg, cross_keys, q_lo, q_hi, hash_key, num_buckets, ids, off, chain):
    """Ids of rows lo:hi of a cross of dense 1-D string keys (one value a
    row each, so one id a row): TF's FingerprintCat64 chain over the keys'
    Fingerprint64, modulo num_buckets, into `ids[off + lo : off + hi]`.

    Returns:
        False if a key's strings are malformed.
    """
    m = hi - lo
    for j in range(m):
        chain[j] = hash_key
    for q in range(q_lo, q_hi):
        if not chain_items(seg, cross_keys[q, 0], cross_keys[q, 1], lo, hi, chain):
            return False
    nb = np.uint64(num_buckets)
    for j in range(m):
        ids[off + lo + j] = np.int64(chain[j] % nb)
    return True


@njit(cache=True)
def _hash_fused_rows(lo, hi, seg, fused, ind_ids, ind_ops, emb_ids, emb_ops, cross_keys):
    """Ids of rows lo:hi of every fused column, into its slot of the ids.

    Returns:
        -1, or the first fused column whose strings are malformed.
    """
    chain = np.empty(hi - lo, np.uint64)
    for f in range(fused.shape[0]):
        k = fused[f, FUSED_PER_ROW]
        col = fused[f, FUSED_COLUMN]
        if fused[f, FUSED_TARGET] == TARGET_INDICATOR:
            ids, off = ind_ids, ind_ops[col, 0]
        else:
            ids, off = emb_ids, emb_ops[col, 0]
        if fused[f, FUSED_KIND] == KIND_CROSS:
            ok = _cross_fused_rows(
                lo, hi, seg, cross_keys, fused[f, FUSED_SEG_LO], fused[f, FUSED_SEG_HI],
                np.uint64(fused[f, FUSED_HASH_KEY]), fused[f, FUSED_BUCKETS], ids, off, chain,
            )  # fmt: skip
        else:
            ok = hash_items(seg, fused[f, FUSED_SEG_LO], fused[f, FUSED_SEG_HI], lo * k, hi * k,
                            fused[f, FUSED_BUCKETS], ids, off)
        if not ok:
            return f
    return -1


@njit(cache=True)
def _segment_items(seg, s_lo, s_hi):
    """Items in segments s_lo:s_hi, or -1 if that range is not in `seg`."""
    if s_lo < 0 or s_hi < s_lo or s_hi > seg.shape[0]:
        return -1
    items = 0
    for s in range(s_lo, s_hi):
        items += seg[s, SEG_COUNT]
    return items


@njit(cache=True)
def _check_splits(splits, what):
    """Every row of a row-splits array starts at 0 and never decreases.

    Returns:
        (the most ids a row holds, bool `[U]`: which rows hold exactly one
        id a row, the form `_embedding.copy_one_id_rows` takes).
    """
    max_len = 0
    unit = np.ones(splits.shape[0], np.bool_)
    for u in range(splits.shape[0]):
        if splits.shape[1] and splits[u, 0] != 0:
            raise ValueError(what)
        for b in range(splits.shape[1] - 1):
            m = splits[u, b + 1] - splits[u, b]
            if m < 0:
                raise ValueError(what)
            if m != 1:
                unit[u] = False
            if m > max_len:
                max_len = m
    return max_len, unit


@njit(cache=True)
def _check_fused(
    n, seg, fused, cross_keys, ind_splits, ind_ids, ind_ops, emb_splits, emb_ids, emb_ops, table_meta
):
    """Checks the fused columns' parameters fit the arrays (a caller bug
    otherwise): their segments, their ids slots, their tables."""
    for f in range(fused.shape[0]):
        s_lo, s_hi, k = fused[f, FUSED_SEG_LO], fused[f, FUSED_SEG_HI], fused[f, FUSED_PER_ROW]
        col, target = fused[f, FUSED_COLUMN], fused[f, FUSED_TARGET]
        if k < 0 or fused[f, FUSED_BUCKETS] < 1:
            raise ValueError("write_outputs: fused column parameters out of range.")
        if fused[f, FUSED_KIND] == KIND_CROSS:
            if k != 1 or s_lo < 0 or s_hi < s_lo or s_hi > cross_keys.shape[0]:
                raise ValueError("write_outputs: fused cross parameters out of range.")
            for q in range(s_lo, s_hi):
                if _segment_items(seg, cross_keys[q, 0], cross_keys[q, 1]) != n:
                    raise ValueError("write_outputs: fused cross key segments do not hold every row.")
        elif fused[f, FUSED_KIND] == KIND_HASH:
            if _segment_items(seg, s_lo, s_hi) != n * k:
                raise ValueError("write_outputs: fused column segments do not hold every row.")
        else:
            raise ValueError("write_outputs: unknown fused column kind.")
        if target == TARGET_INDICATOR:
            if col < 0 or col >= ind_ops.shape[0] or ind_ops[col, 0] < 0:
                raise ValueError("write_outputs: fused indicator column out of range.")
            if ind_ops[col, 0] + n * k > ind_ids.shape[0] or ind_splits[ind_ops[col, IND_SPLITS_ROW], n] != n * k:
                raise ValueError("write_outputs: fused indicator ids slot out of range.")
        else:
            if col < 0 or col >= emb_ops.shape[0] or emb_ops[col, 0] < 0:
                raise ValueError("write_outputs: fused embedding column out of range.")
            if emb_ops[col, 0] + n * k > emb_ids.shape[0] or emb_splits[emb_ops[col, EMB_SPLITS_ROW], n] != n * k:
                raise ValueError("write_outputs: fused embedding ids slot out of range.")
            if fused[f, FUSED_BUCKETS] > table_meta[emb_ops[col, 1], 1]:
                raise ValueError("write_outputs: fused embedding buckets exceed its table.")


@njit(cache=True)
def _check_dense(n, num, num_ops, bkt_ops, bounds):
    """Checks the numeric and bucketized parameters fit the arrays (a caller
    bug otherwise)."""
    if (num_ops.shape[0] or bkt_ops.shape[0]) and num.shape[1] != n:
        raise ValueError("write_outputs: numeric values do not have n columns.")
    for k in range(num_ops.shape[0]):
        if num_ops[k, 0] < 0 or num_ops[k, 1] < 0 or num_ops[k, 0] + num_ops[k, 1] > num.shape[0]:
            raise ValueError("write_outputs: numeric parameters out of range.")
    for k in range(bkt_ops.shape[0]):
        src, dim, b0, nb = bkt_ops[k, 0], bkt_ops[k, 1], bkt_ops[k, 2], bkt_ops[k, 3]
        if src < 0 or dim < 0 or src + dim > num.shape[0] or b0 < 0 or nb < 0 or b0 + nb > bounds.shape[0]:
            raise ValueError("write_outputs: bucketized parameters out of range.")


@njit(cache=True)
def _check_indicators(n, ind_splits, ind_ids, ind_w, ind_ops):
    """Checks the indicator columns' parameters fit the arrays (a caller bug
    otherwise), so the writer's reads stay inside them."""
    if ind_splits.shape[1] != n + 1 and ind_ops.shape[0]:
        raise ValueError("write_outputs: indicator row splits do not have n + 1 columns.")
    _check_splits(ind_splits, "write_outputs: indicator row splits do not start at 0 or decrease.")
    for k in range(ind_ops.shape[0]):
        off, sr, has_w = ind_ops[k, 0], ind_ops[k, IND_SPLITS_ROW], ind_ops[k, 3]
        if sr < 0 or sr >= ind_splits.shape[0] or off < 0:
            raise ValueError("write_outputs: indicator parameters out of range.")
        nnz = ind_splits[sr, n]
        if off + nnz > ind_ids.shape[0] or (has_w and off + nnz > ind_w.shape[0]):
            raise ValueError("write_outputs: indicator ids shorter than their row splits.")


@njit(cache=True)
def _check_embeddings(n, emb_splits, emb_ids, emb_w, emb_ops, table_buf, table_meta, emb_fused):
    """(column, index into its ids) of the first id past its table, or
    (-1, -1); the most ids any row of any column has; and which rows of
    `emb_splits` hold one id a row (see `_check_splits`).

    Also checks the parameter arrays the caller built, so no later index can
    fall outside an array: a failed check is a caller bug (ValueError).
    """
    if emb_splits.shape[1] != n + 1 and emb_ops.shape[0]:
        raise ValueError("write_outputs: embedding row splits do not have n + 1 columns.")
    max_len, unit = _check_splits(emb_splits, "write_outputs: embedding row splits do not start at 0 or decrease.")
    for e in range(emb_ops.shape[0]):
        off, t, combiner, has_w = emb_ops[e, 0], emb_ops[e, 1], emb_ops[e, 2], emb_ops[e, 4]
        sr = emb_ops[e, EMB_SPLITS_ROW]
        if sr < 0 or sr >= emb_splits.shape[0]:
            raise ValueError("write_outputs: embedding parameters out of range.")
        nnz = emb_splits[sr, n]
        if off < 0 or nnz < 0 or off + nnz > emb_ids.shape[0] or t < 0 or t >= table_meta.shape[0]:
            raise ValueError("write_outputs: embedding parameters out of range.")
        o, rows, dim = table_meta[t, 0], table_meta[t, 1], table_meta[t, 2]
        if o < 0 or rows < 0 or dim < 0 or o + rows * dim > table_buf.shape[0]:
            raise ValueError("write_outputs: embedding table outside its buffer.")
        if has_w and off + nnz > emb_w.shape[0]:
            raise ValueError("write_outputs: embedding weights shorter than ids.")
        if emb_fused[e]:
            continue  # ids hashed in the pass itself, below num_buckets by construction
        bad = first_id_past_table(
            emb_ids[off : off + nnz], emb_w[off : off + nnz], has_w != 0 and combiner != 0, rows
        )
        if bad >= 0:
            return e, bad, max_len, unit
    return -1, -1, max_len, unit


@njit(cache=True, parallel=_PRANGE_ONLY)
def write_outputs(
    out, num, num_ops, bkt_ops, bounds, ind_splits, ind_ids, ind_w, ind_ops,
    emb_splits, emb_ids, emb_w, emb_ops, emb_max_norm, table_buf, table_meta, seg, fused,
    cross_keys,
):  # fmt: skip
    """Hashes the fused string columns and writes every output column of a batch.

    Args:
        out: float32 `[n, W]` output; every column listed below is written
            for every row.
        num: float32 `[Wn, n]` numeric values (normalized) of every source,
            one row per value column (a batch-wide row is one memcpy to
            build; `[n, Wn]` took a strided copy, 48 vs 7 us at 4,096 rows).
        num_ops: int64 `[K, 3]` (num column, width, out column) per numeric.
        bkt_ops: int64 `[K, 5]` (num column, dim, bounds offset, n bounds,
            out column) per bucketized column; one-hot per dimension.
        bounds: float32 boundaries of all bucketized columns, concatenated.
        ind_splits: int64 `[U, n+1]` distinct row splits of the indicator
            columns (columns with equal splits may share a row).
        ind_ids: int64 ids of all indicator columns, concatenated.
        ind_w: float32 weights aligned with `ind_ids` (read when weighted).
        ind_ops: int64 `[K, 5]` (ids offset, num_buckets, out column,
            weighted, row of ind_splits) per indicator column.
        emb_splits: int64 `[V, n+1]` distinct row splits of the embedding
            columns.
        emb_ids, emb_w: int64 ids and float32 weights of all embedding
            columns, concatenated (weights read when weighted).
        emb_ops: int64 `[E, 6]` (ids offset, table index, combiner code,
            out column, weighted, row of emb_splits) per embedding column;
            its ids count is the last of its row splits. A column whose
            splits row is one id a row, unweighted and unclipped, is copied
            from its table (`_embedding.copy_one_id_rows`, decision 79).
        emb_max_norm: float32 `[E]` clip norms (`<= 0` or NaN: no clipping).
        table_buf, table_meta: every table in one buffer (`TableStorage`).
        seg: int64 `[S, _strings.SEG_COLUMNS]` string segments
            (`featurec._strings`), read in place.
        fused: int64 `[F, FUSED_COLUMNS]` columns whose ids this pass
            computes: (first segment, end segment, items per row,
            num_buckets, TARGET_INDICATOR/TARGET_EMBEDDING, index into
            ind_ops/emb_ops, KIND_HASH/KIND_CROSS, cross seed bits). Their
            ids slot (row splits strided by items per row) is filled chunk
            by chunk before the chunk is written. String hash buckets:
            empty strings and nulls get -1 (no id). Crosses: the segments
            are rows of `cross_keys`, one id a row.
        cross_keys: int64 `[Q, 2]` (first segment, end segment) of each
            key of the fused crosses.

    Returns:
        (-1, -1) on success; (embedding column, index into its ids) of the
        first id past its table; or (-2, fused column) whose string
        buffers are malformed. `out` is then not fully written.
    """
    n = out.shape[0]
    emb_fused = np.zeros(emb_ops.shape[0], np.bool_)
    for f in range(fused.shape[0]):
        if fused[f, FUSED_TARGET] == TARGET_EMBEDDING and 0 <= fused[f, FUSED_COLUMN] < emb_ops.shape[0]:
            emb_fused[fused[f, FUSED_COLUMN]] = True
    # Structure first (row indices, offsets, splits), then what reads through it.
    _check_dense(n, num, num_ops, bkt_ops, bounds)
    _check_indicators(n, ind_splits, ind_ids, ind_w, ind_ops)
    bad_e, bad_j, max_len, emb_unit = _check_embeddings(
        n, emb_splits, emb_ids, emb_w, emb_ops, table_buf, table_meta, emb_fused
    )
    if bad_e >= 0:
        return bad_e, bad_j
    _check_fused(
        n, seg, fused, cross_keys, ind_splits, ind_ids, ind_ops, emb_splits, emb_ids, emb_ops, table_meta
    )
    if n < PARALLEL_MIN_ROWS:
        bad_f = _hash_fused_rows(0, n, seg, fused, ind_ids, ind_ops, emb_ids, emb_ops, cross_keys)
        if bad_f >= 0:
            return -2, bad_f
        _prefetch_embedding_rows(0, n, emb_splits, emb_ids, emb_ops, table_buf, table_meta, PREFETCH_COLUMNS)
        _write_dense_rows(0, n, out, num, num_ops, bkt_ops, bounds, ind_splits, ind_ids, ind_w, ind_ops)
        _write_embedding_rows(
            0, n, out, emb_splits, emb_unit, emb_ids, emb_w, emb_ops, emb_max_norm, table_buf, table_meta,
            max_len,
        )  # fmt: skip
        return -1, -1
    chunks = (n + CHUNK_ROWS - 1) // CHUNK_ROWS
    failed = np.full(chunks, -1, np.int64)
    for c in prange(chunks):
        lo = c * CHUNK_ROWS
        hi = min(n, lo + CHUNK_ROWS)
        bad_f = _hash_fused_rows(lo, hi, seg, fused, ind_ids, ind_ops, emb_ids, emb_ops, cross_keys)
        if bad_f >= 0:
            failed[c] = bad_f
            continue
        _prefetch_embedding_rows(lo, hi, emb_splits, emb_ids, emb_ops, table_buf, table_meta, PREFETCH_COLUMNS)
        _write_dense_rows(lo, hi, out, num, num_ops, bkt_ops, bounds, ind_splits, ind_ids, ind_w, ind_ops)
        _write_embedding_rows(
            lo, hi, out, emb_splits, emb_unit, emb_ids, emb_w, emb_ops, emb_max_norm, table_buf,
            table_meta, max_len,
        )  # fmt: skip
    for c in range(chunks):
        if failed[c] >= 0:
            return -2, failed[c]
    return -1, -1
