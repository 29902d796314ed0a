"""featurec vs tf.feature_column input_layer vs Keras 3 preprocessing layers.

Criteo-like column set (issue 4), synthetic data with a fixed seed:
  I1..I13   numeric_column (float32)
  I1..I3    bucketized_column, boundaries [0, 1, 2, 4, ..., 256]
  C1..C13   categorical_column_with_hash_bucket(100) -> indicator_column
  C14..C26  categorical_column_with_hash_bucket, sizes geometric 1,000..100,000
            -> embedding_column(8, combiner='mean')
  C1xC2, C14xC15  crossed_column(hash_bucket_size=10,000) -> embedding_column(8)
String values are 8-character hex tokens. Output: 1,466 float32 a row.

Measured side by side in one process, rows/second at batch 256, 4,096 and
32,768, with string features held three ways (converting them is part of
what a user pays): numpy `S8` arrays, `object` arrays of Python `str`, and a
pandas DataFrame passed whole (pandas 3's `str` dtype, Arrow-backed with
pyarrow; input_layer and keras get its columns' `to_numpy()`). Every call is
`t(features)` without `out=`, as users call it:
  featurec        t = featurec.compile(columns); t(features)
  featurec_1t     the same, with numba.set_num_threads(1) (a shared machine
                  stalls numba's parallel regions; TF keeps its own threads)
  input_layer     tf.compat.v1.feature_column.input_layer in a Session (feed_dict)
  keras           the same transform from Keras 3 preprocessing layers
                  (Hashing, Discretization, CategoryEncoding, Embedding,
                  HashedCrossing) under tf.function
  ceiling         numpy writing the output matrix (ndarray.fill of a
                  preallocated [batch, 1466] float32 array)
All three transforms get the same embedding tables, and their outputs are
checked equal to input_layer's on one batch before anything is timed.

Also measures featurec's start-up in fresh subprocesses: `import featurec`,
`featurec.compile(columns)` and the first call, with an empty numba cache
(cold; a temporary NUMBA_CACHE_DIR) and again with that cache (warm).

Run:
    TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/featurec_vs_feature_column.py [--quick]

On a machine shared with other busy processes, numba's OpenMP threads
spin-waiting between parallel regions can slow featurec down many times;
`OMP_WAIT_POLICY=PASSIVE` in the environment avoids that (see RESULTS.md).
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# feature_column constructors print deprecation notices on every call.
warnings.filterwarnings("ignore")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel("ERROR")

_NUMERIC = [f"I{i}" for i in range(1, 14)]
_BUCKETIZED = ["I1", "I2", "I3"]
_BOUNDARIES = [0.0] + [float(2**k) for k in range(9)]  # 0, 1, 2, 4, ..., 256
_INDICATOR = [f"C{i}" for i in range(1, 14)]
_EMBEDDED = [f"C{i}" for i in range(14, 27)]
_EMBEDDED_BUCKETS = [int(round(x)) for x in np.geomspace(1_000, 100_000, 13)]
_CROSSES = [("C1", "C2"), ("C14", "C15")]
_CROSS_BUCKETS = 10_000
_DIM = 8
_WIDTH = 1466
_BATCHES = (256, 4096, 32768)
_SEED = 0


# ---------------------------------------------------------------------------
# Columns and data.
# ---------------------------------------------------------------------------


def build_columns():
    """The Criteo-like list of dense columns, exactly what input_layer takes."""
    fc = tf.feature_column
    numeric = {k: fc.numeric_column(k, dtype=tf.float32) for k in _NUMERIC}
    columns = list(numeric.values())
    columns += [fc.bucketized_column(numeric[k], _BOUNDARIES) for k in _BUCKETIZED]
    hashed = {k: fc.categorical_column_with_hash_bucket(k, 100) for k in _INDICATOR}
    columns += [fc.indicator_column(hashed[k]) for k in _INDICATOR]
    for key, size in zip(_EMBEDDED, _EMBEDDED_BUCKETS):
        cat = fc.categorical_column_with_hash_bucket(key, size)
        columns.append(fc.embedding_column(cat, _DIM, combiner="mean"))
    for a, b in _CROSSES:
        cross = fc.crossed_column([a, b], hash_bucket_size=_CROSS_BUCKETS)
        columns.append(fc.embedding_column(cross, _DIM, combiner="mean"))
    return columns


def make_data(n, seed=_SEED):
    """Synthetic Criteo-like features: float32 numerics and `S8` hex tokens."""
    rng = np.random.default_rng(seed)
    data = {}
    for k in _NUMERIC:
        # Non-negative, heavy-tailed counts with many zeros, like Criteo's.
        x = np.floor(rng.lognormal(1.0, 1.8, n)) * (rng.random(n) > 0.2)
        data[k] = x.astype(np.float32)
    for i, k in enumerate(_INDICATOR + _EMBEDDED):
        cardinality = int(np.geomspace(10, 1_000_000, 26)[i])
        tokens = rng.integers(0, cardinality, n, dtype=np.uint64) * np.uint64(2654435761)
        data[k] = np.array([b"%08x" % (int(t) & 0xFFFFFFFF) for t in tokens], dtype="S8")
    return data


def as_object_strings(data):
    """The same features with strings as `object` arrays of Python `str`."""
    out = {}
    for k, v in data.items():
        out[k] = v.astype(str).astype(object) if v.dtype.kind == "S" else v
    return out


def make_tables(seed=_SEED):
    """Embedding tables keyed by embedding column name, like the TF initializer."""
    rng = np.random.default_rng(seed + 1)
    sizes = {f"{k}_embedding": n for k, n in zip(_EMBEDDED, _EMBEDDED_BUCKETS)}
    sizes.update({f"{a}_X_{b}_embedding": _CROSS_BUCKETS for a, b in _CROSSES})
    std = 1.0 / np.sqrt(_DIM)
    return {
        name: np.clip(rng.normal(0, std, (n, _DIM)), -2 * std, 2 * std).astype(np.float32)
        for name, n in sizes.items()
    }


def as_pandas(data):
    """The same features as one pandas DataFrame: strings in pandas 3's
    default `str` dtype (Arrow-backed when pyarrow is installed), numbers as
    float32 columns."""
    import pandas as pd

    return pd.DataFrame(
        {k: pd.Series(v.astype(str), dtype="str") if v.dtype.kind == "S" else v for k, v in data.items()}
    )


def batches_of(data, batch):
    if hasattr(data, "iloc"):  # a DataFrame, sliced as users slice it (zero-copy)
        return [data.iloc[i : i + batch] for i in range(0, len(data) - batch + 1, batch)]
    n = len(next(iter(data.values())))
    return [{k: v[i : i + batch] for k, v in data.items()} for i in range(0, n - batch + 1, batch)]


def _rows(features):
    return len(features) if hasattr(features, "iloc") else len(next(iter(features.values())))


def _as_numpy(features):
    """What TF-based transforms are fed: a DataFrame's columns as numpy."""
    if hasattr(features, "iloc"):
        return {k: features[k].to_numpy() for k in features.columns}
    return features


# ---------------------------------------------------------------------------
# The transforms.
# ---------------------------------------------------------------------------


class InputLayer:
    """input_layer in a v1 graph + Session, fed through placeholders."""

    def __init__(self, columns, tables):
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.placeholders = {
                k: tf.compat.v1.placeholder(tf.float32, [None], k) for k in _NUMERIC
            }
            for k in _INDICATOR + _EMBEDDED:
                self.placeholders[k] = tf.compat.v1.placeholder(tf.string, [None], k)
            self.output = tf.compat.v1.feature_column.input_layer(self.placeholders, columns)
            self.sess = tf.compat.v1.Session(graph=self.graph)
            self.sess.run(tf.compat.v1.global_variables_initializer())
            self.sess.run(tf.compat.v1.tables_initializer())
            loaded = set()
            for var in tf.compat.v1.global_variables():
                name = var.op.name  # input_layer/<column>/embedding_weights
                column = name.split("/")[1]
                if name.endswith("/embedding_weights") and column in tables:
                    var.load(tables[column], self.sess)
                    loaded.add(column)
            missing = set(tables) - loaded
            if missing:
                raise RuntimeError(f"input_layer has no variables for {sorted(missing)}")

    def __call__(self, features):
        feed = {self.placeholders[k]: v for k, v in _as_numpy(features).items()}
        return self.sess.run(self.output, feed)


class KerasLayers:
    """The same transform from Keras 3 preprocessing layers under tf.function.

    Blocks are concatenated in input_layer's order (sorted by column name).
    """

    def __init__(self, columns, tables):
        L = keras.layers
        blocks = {}  # column name -> callable(features) -> [batch, width]
        for k in _NUMERIC:
            blocks[k] = lambda f, k=k: tf.reshape(f[k], [-1, 1])
        for k in _BUCKETIZED:
            disc = L.Discretization(bin_boundaries=_BOUNDARIES)
            onehot = L.CategoryEncoding(num_tokens=len(_BOUNDARIES) + 1, output_mode="one_hot")
            blocks[f"{k}_bucketized"] = lambda f, k=k, d=disc, o=onehot: o(d(f[k]))
        for k in _INDICATOR:
            hashing = L.Hashing(num_bins=100)
            onehot = L.CategoryEncoding(num_tokens=100, output_mode="one_hot")
            blocks[f"{k}_indicator"] = lambda f, k=k, h=hashing, o=onehot: o(h(f[k]))
        for k, n in zip(_EMBEDDED, _EMBEDDED_BUCKETS):
            name = f"{k}_embedding"
            hashing = L.Hashing(num_bins=n)
            emb = L.Embedding(n, _DIM)
            emb.build((None,))
            emb.set_weights([tables[name]])
            blocks[name] = lambda f, k=k, h=hashing, e=emb: e(h(f[k]))
        for a, b in _CROSSES:
            name = f"{a}_X_{b}_embedding"
            cross = L.HashedCrossing(num_bins=_CROSS_BUCKETS)
            emb = L.Embedding(_CROSS_BUCKETS, _DIM)
            emb.build((None,))
            emb.set_weights([tables[name]])
            blocks[name] = lambda f, a=a, b=b, c=cross, e=emb: e(c((f[a], f[b])))
        order = sorted(c.name for c in columns)
        if sorted(blocks) != order:
            raise RuntimeError("Keras blocks do not cover the columns")
        signature = {k: tf.TensorSpec([None], tf.float32) for k in _NUMERIC}
        signature.update({k: tf.TensorSpec([None], tf.string) for k in _INDICATOR + _EMBEDDED})

        @tf.function(input_signature=[signature])
        def transform(features):
            parts = [tf.cast(blocks[name](features), tf.float32) for name in order]
            return tf.concat(parts, axis=1)

        self._transform = transform

    def __call__(self, features):
        return self._transform(_as_numpy(features)).numpy()


class Featurec:
    """featurec: compile once, set the tables, call."""

    def __init__(self, columns, tables):
        import featurec

        self.transform = featurec.compile(columns)
        for name, table in tables.items():
            self.transform.set_embedding_table(name, table)

    def __call__(self, features):
        return self.transform(features)


class FeaturecOneThread:
    """featurec with numba limited to one thread (robust on a shared machine)."""

    def __init__(self, featurec_transform):
        self.inner = featurec_transform

    def __call__(self, features):
        import numba

        threads = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            return self.inner(features)
        finally:
            numba.set_num_threads(threads)


class WriteCeiling:
    """numpy writing the output matrix only: the memory-bandwidth bound."""

    def __init__(self, batch):
        self.out = np.empty((batch, _WIDTH), np.float32)
        self.out.fill(0.0)  # fault the pages in once

    def __call__(self, features):
        self.out.fill(1.0)
        return self.out


# ---------------------------------------------------------------------------
# Measurement.
# ---------------------------------------------------------------------------


# A pass lasts at least this long (cycling through the batches again when
# they run out): the first batches after another transform ran pay to bring
# their tables and buffers back into cache (~20% of a 26 ms featurec pass of
# sixteen 4,096-row batches right after an input_layer pass, measured), which
# a pass of input_layer's length (~0.3 s) hardly notices. Equal minimum
# lengths give every transform its steady-state rate.
_MIN_PASS_SECONDS = 0.25


def _one_pass(fn, batches, budget, min_seconds=None):
    """(rows per wall second, rows per process-CPU second) of one pass over
    `batches`, repeated until `min_seconds` have passed, stopped early after
    `budget` seconds."""
    min_seconds = _MIN_PASS_SECONDS if min_seconds is None else min_seconds
    start = time.perf_counter()
    cpu = time.process_time()
    rows = 0
    while True:
        for b in batches:
            fn(b)
            rows += _rows(b)
            if time.perf_counter() - start > budget:
                break
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds or elapsed > budget:
            break
    return rows / (time.perf_counter() - start), rows / max(time.process_time() - cpu, 1e-9)


# Rows per process-CPU second of the last `rows_per_second` call, by name:
# other processes on a shared machine disturb it much less than wall time.
CPU_RATES = {}


def rows_per_second(fns, batches, repeats, budget):
    """Median rows/s of each transform in `fns` (a dict name -> callable).

    The transforms take turns, one pass each per round, so load from other
    processes on a shared machine hits all of them alike; one warm-up call
    each comes first. The median rows per CPU second go to `CPU_RATES`.
    """
    for fn in fns.values():
        fn(batches[0])
    rates = {name: [] for name in fns}
    cpu_rates = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            wall, cpu = _one_pass(fn, batches, budget)
            rates[name].append(wall)
            cpu_rates[name].append(cpu)
    CPU_RATES.clear()
    CPU_RATES.update({name: statistics.median(r) for name, r in cpu_rates.items()})
    return {name: statistics.median(r) for name, r in rates.items()}


def check_equal(name, got, expected, exact=True):
    got = np.asarray(got)
    if got.shape != expected.shape:
        raise AssertionError(f"{name}: shape {got.shape} != input_layer's {expected.shape}")
    if exact and not np.array_equal(got, expected):
        diff = np.abs(got - expected)
        raise AssertionError(
            f"{name}: output differs from input_layer's at {int((diff > 0).sum())} "
            f"entries (max {diff.max():.3g}); refusing to time a wrong answer"
        )
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6, err_msg=name)


_STARTUP_SCRIPT = r"""
import json, os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, {bench_dir!r})  # a -c script: find the sibling module
import featurec_vs_feature_column as bench
columns = bench.build_columns()
tables = bench.make_tables()
data = bench.make_data(4096)
t0 = time.perf_counter()
import featurec
t1 = time.perf_counter()
t = featurec.compile(columns)
t.set_embedding_tables(tables)
t2 = time.perf_counter()
x = t(data)
t3 = time.perf_counter()
print(json.dumps({{"import": t1 - t0, "compile": t2 - t1, "first_call": t3 - t2,
                  "compile_and_first_call": t3 - t1}}))
"""

# numba's own one-time cost in a fresh process (LLVM and runtime start-up),
# paid by the first call of any jitted function, cached or not.
_NUMBA_FLOOR_SCRIPT = r"""
import json, time
t0 = time.perf_counter()
import numba
t1 = time.perf_counter()
numba.njit(lambda x: x + 1)(1)
t2 = time.perf_counter()
print(json.dumps({"import_numba": t1 - t0, "first_trivial_njit": t2 - t1}))
"""


def startup_times(cache_dir, script=None):
    """Runs import + compile + first call in a fresh process; returns seconds."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, TF_CPP_MIN_LOG_LEVEL="3")
    bench_dir = os.path.dirname(os.path.abspath(__file__))
    if script is None:
        script = _STARTUP_SCRIPT.format(bench_dir=bench_dir)
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"startup subprocess failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def featurec_available():
    try:
        import featurec

        return hasattr(featurec, "compile")
    except ImportError:
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run: fewer rows and repeats")
    parser.add_argument(
        "--skip-featurec", action="store_true", help="time only the alternatives"
    )
    parser.add_argument("--skip-startup", action="store_true", help="skip cold/warm start")
    parser.add_argument(
        "--batches", type=lambda v: [int(x) for x in v.split(",")], default=list(_BATCHES),
        help="comma-separated batch sizes (default 256,4096,32768)",
    )
    args = parser.parse_args()

    total_rows = 32768 * (1 if args.quick else 2)
    repeats = 2 if args.quick else 5
    budget = 0.5 if args.quick else 2.0  # seconds per pass
    columns = build_columns()
    tables = make_tables()
    data_s = make_data(total_rows)
    data_o = as_object_strings(data_s)
    data_p = as_pandas(data_s)
    forms = (("S8", data_s), ("object", data_o), ("pandas", data_p))
    run_featurec = not args.skip_featurec and featurec_available()

    transforms = {
        "input_layer": InputLayer(columns, tables),
        "keras": KerasLayers(columns, tables),
    }
    if run_featurec:
        transforms["featurec"] = Featurec(columns, tables)
        transforms["featurec_1t"] = FeaturecOneThread(transforms["featurec"])

    # Correctness first: every transform equals input_layer on one batch,
    # for both string representations.
    for _, data in forms:
        probe = batches_of(data, 4096)[0]
        expected = transforms["input_layer"](probe)
        assert expected.shape == (4096, _WIDTH), expected.shape
        for name in ("keras", "featurec", "featurec_1t"):
            if name in transforms:
                check_equal(name, transforms[name](probe), expected)
    print("outputs checked equal to input_layer's", flush=True)

    results = {}  # (name, strings, batch) -> rows/s
    for batch in args.batches:
        ceiling = WriteCeiling(batch)
        dummy = [{"I1": np.empty(batch)}] * max(1, total_rows // batch)
        ceiling_rate = rows_per_second({"ceiling": ceiling}, dummy, repeats, budget)
        results[("ceiling", "-", batch)] = ceiling_rate["ceiling"]
        for strings, data in forms:
            parts = batches_of(data, batch)
            rates = rows_per_second(transforms, parts, repeats, budget)
            for name, rate in rates.items():
                results[(name, strings, batch)] = rate
                results[("cpu:" + name, strings, batch)] = CPU_RATES[name]
                print(f"  batch {batch:>6} {strings:>6} {name:>12}: {rate:>12,.0f} rows/s",
                      flush=True)

    print()
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
          f"load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())} (1/5/15 min); Python {platform.python_version()}, "
          f"TF {tf.__version__}, Keras {keras.__version__}, numpy {np.__version__}")
    if run_featurec:
        import numba

        print(f"numba {numba.__version__}: threading layer {numba.threading_layer()}, "
              f"{numba.get_num_threads()} threads, "
              f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}")
    print()
    print("| batch | strings | input_layer rows/s | keras rows/s | featurec rows/s "
          "| featurec / input_layer | featurec / keras | featurec / ceiling "
          "| featurec 1 thread rows/s | 1 thread / input_layer |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for batch in args.batches:
        ceil = results[("ceiling", "-", batch)]
        for strings, _ in forms:
            il = results[("input_layer", strings, batch)]
            ke = results[("keras", strings, batch)]
            fc = results.get(("featurec", strings, batch))
            fc1 = results.get(("featurec_1t", strings, batch))
            if fc is None:
                cells = ["pending", "-", "-", "-", "pending", "-"]
            else:
                cells = [f"{fc:,.0f}", f"{fc / il:.1f}x", f"{fc / ke:.1f}x", f"{fc / ceil:.2f}",
                         f"{fc1:,.0f}", f"{fc1 / il:.1f}x"]
            print(f"| {batch:,} | {strings} | {il:,.0f} | {ke:,.0f} | " + " | ".join(cells) + " |")
    if run_featurec:
        print()
        print("Rows per process-CPU second (all threads of the process; other processes on a "
              "shared machine disturb this far less than wall time):")
        print()
        print("| batch | strings | input_layer rows/cpu-s | featurec rows/cpu-s | featurec / input_layer "
              "| featurec 1 thread rows/cpu-s | 1 thread / input_layer |")
        print("|---:|---|---:|---:|---:|---:|---:|")
        for batch in args.batches:
            for strings, _ in forms:
                il = results[("cpu:input_layer", strings, batch)]
                fc = results[("cpu:featurec", strings, batch)]
                fc1 = results[("cpu:featurec_1t", strings, batch)]
                print(f"| {batch:,} | {strings} | {il:,.0f} | {fc:,.0f} | {fc / il:.1f}x "
                      f"| {fc1:,.0f} | {fc1 / il:.1f}x |")
    print()
    print("| batch | numpy write ceiling rows/s | GB/s | input_layer / ceiling (S8) "
          "| keras / ceiling (S8) |")
    print("|---:|---:|---:|---:|---:|")
    for batch in args.batches:
        ceil = results[("ceiling", "-", batch)]
        print(f"| {batch:,} | {ceil:,.0f} | {ceil * _WIDTH * 4 / 1e9:.1f} "
              f"| {results[('input_layer', 'S8', batch)] / ceil:.3f} "
              f"| {results[('keras', 'S8', batch)] / ceil:.3f} |")

    if run_featurec and not args.skip_startup:
        with tempfile.TemporaryDirectory(prefix="featurec-numba-cache-") as cache:
            cold = startup_times(cache)
            warm = startup_times(cache)
            floor = startup_times(cache, _NUMBA_FLOOR_SCRIPT)
        print()
        print("| start-up (fresh process, batch 4,096 S8) | import featurec | compile | "
              "first call | compile + first call |")
        print("|---|---:|---:|---:|---:|")
        runs = (("cold: empty numba cache", cold), ("warm: cache from the cold run", warm))
        for label, t in runs:
            print(f"| {label} | {t['import']:.2f} s | {t['compile']:.2f} s | "
                  f"{t['first_call']:.2f} s | {t['compile_and_first_call']:.2f} s |")
        print(f"\nnumba floor in a fresh process: import numba {floor['import_numba']:.2f} s, "
              f"first call of a trivial njit function {floor['first_trivial_njit']:.2f} s")
    elif not run_featurec:
        print("\nfeaturec not measured (not available or --skip-featurec).")


if __name__ == "__main__":
    main()
