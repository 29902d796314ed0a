"""Where a featurec call's time goes, stage by stage.

Runs the Criteo-like column set of `featurec_vs_feature_column.py` over 16
distinct batches (so embedding rows are not all in cache) and times each
kernel stage with perf_counter wrappers: the writer (`_write.write_outputs`,
which also hashes the string hash-bucket columns of indicator and embedding
columns, read in place), hashing string columns it does not (`_hash.
hash_string_columns_mod`) and its Python preparation, crosses, packing
`object` string arrays (`_pyobjects.pack_many`). Prints the
best of 5 passes, in ms per call, and "the rest": the call's time outside
those kernels (Python reading the features, laying out the ids, dispatch).

`--writer` times the writer kernel alone on the calls it received (captured
from the 16 batches, one output array), in interleaved rounds: the whole
writer; with the fused ids precomputed (so without string hashing); without
the embedding columns; only the output zeroing; and the whole writer with the
embedding tables copied into memory on 4 KiB pages instead of the transform's
huge-page buffer (decision 78). Each on all numba threads and on one.

`--floor` also times what a call would cost with featurec's own compute at
zero: writing the `[batch, 1466]` float32 output (numpy `fill` on one thread;
a numba kernel zeroing it row by row on every numba thread, as the writer
does) plus the call's Python without the writer (the writer replaced by a
no-op).

Run (PYTHONPATH=. so a checkout's featurec is the one measured):
    TF_CPP_MIN_LOG_LEVEL=2 PYTHONPATH=. python benchmarks/featurec_breakdown.py [--batch 4096] [--object | --pandas] [--floor] [--writer]
"""

import argparse
import collections
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import featurec_vs_feature_column as bench  # noqa: E402

import featurec  # noqa: E402
from featurec import _execute, _hash, _kernels, _pyobjects, _write  # noqa: E402

_STAGES = [
    (_write, "write_outputs", "writer (fused hashing + all output columns)"),
    (_hash, "hash_string_columns_mod", "hash kernel (all string columns)"),
    (_kernels, "cross_ids", "cross kernel"),
    (_kernels, "fingerprint_strs", "raw cross-key fingerprints"),
    (_pyobjects, "pack_many", "object strings packed (numba, C API)"),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--object", action="store_true", help="strings as object arrays of str")
    parser.add_argument("--pandas", action="store_true", help="one pandas DataFrame (str dtype)")
    parser.add_argument("--floor", action="store_true", help="also time the output write and the Python alone")
    parser.add_argument("--writer", action="store_true", help="also time the writer kernel's parts")
    args = parser.parse_args()

    transform = featurec.compile(bench.build_columns())
    transform.set_embedding_tables(bench.make_tables())
    data = bench.make_data(16 * args.batch)
    if args.object:
        data = bench.as_object_strings(data)
    elif args.pandas:
        data = bench.as_pandas(data)
    batches = bench.batches_of(data, args.batch)

    stages = _STAGES + [(_execute.Batch, "_hash_string_columns", "hash stage incl. Python preparation")]
    per_call, stages = time_stages(transform, batches, stages)
    kind = "object" if args.object else "pandas" if args.pandas else "S8"
    print(f"batch {args.batch} {kind}: {1e3 * per_call:.3f} ms a call, {args.batch / per_call:,.0f} rows/s")
    for label, seconds in stages.items():
        if seconds:
            print(f"  {label:<40s} {1e3 * seconds:7.3f} ms")
    outer = ("writer", "object strings", "cross kernel", "raw cross-key", "hash stage")
    inner = sum(v for k, v in stages.items() if k.startswith(outer))
    print(f"  {'the rest (Python, dispatch)':<40s} {1e3 * (per_call - inner):7.3f} ms")
    if args.floor:
        floor(transform, batches)
    if args.writer:
        writer_parts(transform, batches)


def time_stages(transform, batches, stages, repeats=5):
    """Calls `transform` on every batch, `repeats` passes after a warm-up
    pass, with each stage's function wrapped in a timer (put back after).

    Args:
        stages: (module or class, attribute name, label) of each function.

    Returns:
        (seconds a call, {label: seconds a call in that stage}) of the
        fastest pass.
    """
    spent = collections.defaultdict(float)
    originals = []
    for owner, name, label in stages:
        fn = getattr(owner, name)
        originals.append((owner, name, fn))

        def timed(*a, _fn=fn, _label=label, **k):
            start = time.perf_counter()
            try:
                return _fn(*a, **k)
            finally:
                spent[_label] += time.perf_counter() - start

        setattr(owner, name, timed)
    try:
        for b in batches:  # warm-up: compile/load kernels, fault pages in
            transform(b)
        best = None
        for _ in range(repeats):
            spent.clear()
            start = time.perf_counter()
            for b in batches:
                transform(b)
            per_call = (time.perf_counter() - start) / len(batches)
            if best is None or per_call < best[0]:
                best = (per_call, {label: spent[label] / len(batches) for _, _, label in stages})
    finally:
        for owner, name, fn in originals:
            setattr(owner, name, fn)
    return best


def _best(fn, repeats=7):
    best = None
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best


def floor(transform, batches):
    """The call with featurec's own compute at zero: the output write, and
    the Python around the writer."""
    import numba  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415

    out = np.empty((bench._rows(batches[0]), transform.output_width), np.float32)

    @numba.njit(parallel=True)
    def zero_rows(out, chunk):
        n, width = out.shape
        flat = out.reshape(n * width)
        for c in numba.prange((n + chunk - 1) // chunk):
            for r in range(c * chunk, min(n, (c + 1) * chunk)):
                flat[r * width : (r + 1) * width] = 0.0

    zero_rows(out, _write.CHUNK_ROWS)
    fill = _best(lambda: [out.fill(0.0) for _ in range(20)]) / 20
    zero = _best(lambda: [zero_rows(out, _write.CHUNK_ROWS) for _ in range(20)]) / 20
    real = _write.write_outputs
    _write.write_outputs = lambda *a: (-1, -1)
    try:
        python = _best(lambda: [transform(b) for b in batches]) / len(batches)
    finally:
        _write.write_outputs = real
    print(f"floor: output write {1e3 * fill:.3f} ms (numpy fill, 1 thread), "
          f"{1e3 * zero:.3f} ms (numba row zeroing, {numba.get_num_threads()} threads); "
          f"the call without the writer {1e3 * python:.3f} ms; "
          f"sum {1e3 * (min(fill, zero) + python):.3f} ms")


def _small_page_copy(arr):
    """A copy of `arr` in memory advised never to use huge pages (Linux)."""
    import mmap  # noqa: PLC0415

    import numpy as np  # noqa: PLC0415

    mapping = mmap.mmap(-1, max(arr.nbytes, 1), flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    if hasattr(mmap, "MADV_NOHUGEPAGE"):
        mapping.madvise(mmap.MADV_NOHUGEPAGE)
    copy = np.frombuffer(mapping, np.uint8)[: arr.nbytes].view(arr.dtype)
    copy[...] = arr
    return copy


def writer_parts(transform, batches, rounds=3):
    """The writer kernel alone on the calls it received, part by part."""
    import numba  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415

    calls = []
    real = _write.write_outputs

    def capture(*a):
        calls.append(a)
        return real(*a)

    _write.write_outputs = capture
    try:
        for b in batches:
            transform(b)
    finally:
        _write.write_outputs = real
    out = calls[0][0]
    calls = [(out, *a[1:]) for a in calls]  # one output array, as the pool gives
    # Argument positions in write_outputs' signature.
    num_ops, bkt_ops, ind_ops, emb_ops, table_buf, fused = 2, 3, 8, 12, 14, 17

    def replace(a, changes):
        a = list(a)
        for position, value in changes.items():
            a[position] = value
        return tuple(a)

    def indicator_fused(a):
        return a[fused][a[fused][:, _write.FUSED_TARGET] == _write.TARGET_INDICATOR]

    no_emb = np.zeros((0, calls[0][emb_ops].shape[1]), np.int64)
    small_pages = _small_page_copy(calls[0][table_buf])
    # What numpy gave the buffer before (a malloc'ed block: its data 16 bytes
    # past a 64-byte boundary), so half of the 32-byte rows of dimension 8
    # straddle two cache lines.
    unaligned = _small_page_copy(np.zeros(calls[0][table_buf].size + 16, np.float32))
    unaligned = unaligned[4 : 4 + calls[0][table_buf].size]
    unaligned[...] = calls[0][table_buf]
    variants = {
        "whole writer": calls,
        # The first pass above filled each call's ids; without `fused` the
        # writer reads them instead of hashing.
        "fused ids precomputed (no hashing)": [replace(a, {fused: _write.NO_FUSED}) for a in calls],
        "no embedding columns": [replace(a, {emb_ops: no_emb, fused: indicator_fused(a)}) for a in calls],
        "output zeroing only": [
            replace(a, {num_ops: a[num_ops][:0], bkt_ops: a[bkt_ops][:0], ind_ops: a[ind_ops][:0],
                        emb_ops: no_emb, fused: _write.NO_FUSED})
            for a in calls
        ],  # fmt: skip
        "whole writer, tables on 4 KiB pages": [replace(a, {table_buf: small_pages}) for a in calls],
        "the same, tables 16 bytes past a cache line": [replace(a, {table_buf: unaligned}) for a in calls],
    }
    threads = numba.get_num_threads()
    for n_threads in (threads, 1):
        numba.set_num_threads(n_threads)
        best = {name: float("inf") for name in variants}
        for _ in range(rounds):
            for name, args in variants.items():
                best[name] = min(best[name], _best(lambda args=args: [real(*a) for a in args], 3) / len(args))
        print(f"writer alone, {n_threads} thread(s), ms a call (best of {rounds} interleaved rounds):")
        for name, seconds in best.items():
            print(f"  {name:<46s} {1e3 * seconds:7.3f}")
    numba.set_num_threads(threads)


if __name__ == "__main__":
    main()
