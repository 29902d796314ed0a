"""Where a featurec call's time goes, stage by stage.

Runs the Criteo-like column set of `featurec_vs_feature_column.py` over 16
distinct batches (so embedding rows are not all in cache) and times each
kernel stage with perf_counter wrappers: the writer (`_write.write_outputs`,
which also hashes the string hash-bucket columns of indicator and embedding
columns, read in place), hashing string columns it does not (`_hash.
hash_string_columns_mod`) and its Python preparation, crosses, packing
`object` string arrays (`_pyobjects.pack_many`). Prints the
best of 5 passes, in ms per call.

Run (PYTHONPATH=. so a checkout's featurec is the one measured):
    TF_CPP_MIN_LOG_LEVEL=2 PYTHONPATH=. python benchmarks/featurec_breakdown.py [--batch 4096] [--object | --pandas]
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
    args = parser.parse_args()

    transform = featurec.compile(bench.build_columns())
    transform.set_embedding_tables(bench.make_tables())
    data = bench.make_data(16 * args.batch)
    if args.object:
        data = bench.as_object_strings(data)
    elif args.pandas:
        data = bench.as_pandas(data)
    batches = bench.batches_of(data, args.batch)

    spent = collections.defaultdict(float)

    def timed(fn, label):
        def wrapper(*a, **k):
            start = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[label] += time.perf_counter() - start

        return wrapper

    for module, name, label in _STAGES:
        setattr(module, name, timed(getattr(module, name), label))
    prepare = _execute.Batch._hash_string_columns
    _execute.Batch._hash_string_columns = timed(prepare, "hash stage incl. Python preparation")

    for b in batches:  # warm-up: compile/load kernels, fault pages in
        transform(b)
    best = None
    for _ in range(5):
        spent.clear()
        start = time.perf_counter()
        for b in batches:
            transform(b)
        per_call = (time.perf_counter() - start) / len(batches)
        if best is None or per_call < best[0]:
            best = (per_call, dict(spent))
    per_call, stages = best
    kind = "object" if args.object else "pandas" if args.pandas else "S8"
    print(f"batch {args.batch} {kind}: {1e3 * per_call:.3f} ms a call, {args.batch / per_call:,.0f} rows/s")
    for label, seconds in stages.items():
        print(f"  {label:<40s} {1e3 * seconds / len(batches):7.3f} ms")


if __name__ == "__main__":
    main()
