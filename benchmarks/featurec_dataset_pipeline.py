"""tf.data input pipelines yielding model-ready batches: featurec vs input_layer.

The input stage as Estimator users run it in training: in-memory raw features
(`from_tensor_slices` of the Criteo-like set's arrays: float32 numerics and
`S8` strings, which become `tf.string` tensors) batched by 1,024, then turned
into the float32 matrix the model takes. Columns: the set's non-embedding
columns (13 numeric, 3 bucketized, 13 hashed indicators; 1,346 floats a row),
because a `Dataset.map` cannot hold input_layer's trainable embedding tables.

  featurec      featurec.dataset(ds, columns)  (numba kernels in a parallel map)
  input_layer   ds.map(lambda f: input_layer(f, columns), AUTOTUNE).prefetch(AUTOTUNE)
  raw floor     the same pipeline with no transform (batching the raw
                features only): what the rest of the pipeline costs
  (cached raw batches)  both transforms over the raw batches held in memory
                (`Dataset.cache()` filled before timing): the transform
                stage alone, ratio against input_layer on the same batches
  no-op numpy_function floor  featurec's path with its kernels' work at
                zero (strings joined in the graph, one numpy_function
                returning a ready matrix): the best featurec.dataset can do
  featurec.batches  featurec.batches(features, columns, batch_size=1024):
                batches cut from the in-memory arrays inside the kernels'
                numpy_function, so no raw feature becomes a tensor
                (`shuffled`: rows in a shuffled order, one gather a feature
                a batch)
  input_layer, batch-sliced  the fairest TF pipeline from the same arrays:
                whole batches sliced from constant tensors
                (`Dataset.range(n).map(slice)`), then input_layer in a
                parallel map; and that slicing alone (its floor)

Outputs of the two pipelines are checked equal on the first batches before
anything is timed. Rows/s is the median of interleaved passes over the whole
data set (each pipeline iterated to the end).

Run:
    TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/featurec_dataset_pipeline.py [--rows 65536] [--repeats 5]
"""

import argparse
import os
import statistics
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import featurec  # noqa: E402
import featurec_vs_feature_column as bench  # noqa: E402
from featurec import _input_layer  # noqa: E402

tf.get_logger().setLevel("ERROR")
_BATCH = 1024


def dense_columns():
    return [c for c in bench.build_columns() if "embedding" not in c.name]


def pipelines(data, columns):
    raw = tf.data.Dataset.from_tensor_slices(data).batch(_BATCH)
    # The same raw batches held in memory after one pass: the transform stage
    # alone, without slicing and batching the raw features.
    cached = raw.cache()
    for _ in cached:
        pass

    def with_input_layer(ds):
        return ds.map(
            lambda f: tf.compat.v1.feature_column.input_layer(f, columns),
            num_parallel_calls=tf.data.AUTOTUNE,
        ).prefetch(tf.data.AUTOTUNE)

    transform = featurec.compile(columns)
    keys = transform._plan.feature_keys

    def no_op(features):
        # featurec's crossing into numpy with the kernels' work at zero: the
        # same tensors in (strings joined in the graph), a preallocated
        # matrix out.
        flat, _ = _input_layer._flatten_features(features, keys, transform._plan)
        zeros = np.zeros((_BATCH, transform.output_width), np.float32)
        out = tf.numpy_function(lambda *a: zeros, flat, tf.float32)
        out.set_shape([None, transform.output_width])
        return out

    constants = {k: tf.constant(v) for k, v in data.items()}
    sliced = tf.data.Dataset.range(len(next(iter(data.values()))) // _BATCH).map(
        lambda i: {k: v[i * _BATCH:(i + 1) * _BATCH] for k, v in constants.items()}
    )
    return {
        "featurec.batches": featurec.batches(data, columns, batch_size=_BATCH),
        "featurec.batches, shuffled": featurec.batches(
            data, columns, batch_size=_BATCH, shuffle=True),
        "input_layer, batch-sliced": with_input_layer(sliced),
        "batch-sliced floor": sliced.prefetch(tf.data.AUTOTUNE),
        "featurec": featurec.dataset(raw, columns),
        "input_layer": with_input_layer(raw),
        "raw floor": raw.prefetch(tf.data.AUTOTUNE),
        "featurec (cached raw batches)": featurec.dataset(cached, columns),
        "input_layer (cached raw batches)": with_input_layer(cached),
        "no-op numpy_function floor (cached raw batches)": cached.map(
            no_op, num_parallel_calls=tf.data.AUTOTUNE
        ).prefetch(tf.data.AUTOTUNE),
    }


def rows_per_second(ds, rows):
    start = time.perf_counter()
    for _ in ds:
        pass
    return rows / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=65536, help="a multiple of 1,024")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    columns = dense_columns()
    data = bench.make_data(args.rows)
    pipes = pipelines(data, columns)
    for name in ("featurec", "featurec.batches", "input_layer, batch-sliced"):
        for got, want in zip(pipes[name].take(3), pipes["input_layer"].take(3)):
            np.testing.assert_array_equal(got.numpy(), want.numpy())
    print("featurec.dataset, featurec.batches and batch-sliced input_layer batches checked "
          "equal to input_layer's", flush=True)
    for ds in pipes.values():  # warm-up: tracing, kernel loading
        rows_per_second(ds, args.rows)
    rates = {name: [] for name in pipes}
    load = [os.getloadavg()]
    for _ in range(args.repeats):
        for name, ds in pipes.items():
            rates[name].append(rows_per_second(ds, args.rows))
    load.append(os.getloadavg())
    med = {name: statistics.median(r) for name, r in rates.items()}
    print(f"\n{os.cpu_count()} logical CPUs, load average (1/5/15 min) before "
          f"{'/'.join(f'{x:.1f}' for x in load[0])}, after {'/'.join(f'{x:.1f}' for x in load[1])}; "
          f"TF {tf.__version__}; batch {_BATCH}, {args.rows:,} rows, median of {args.repeats}")
    print("\n| pipeline | rows/s (median) | best | ratio to input_layer |")
    print("|---|---:|---:|---:|")
    for name in pipes:
        base = med["input_layer (cached raw batches)" if "cached" in name else "input_layer"]
        print(f"| {name} | {med[name]:,.0f} | {max(rates[name]):,.0f} | {med[name] / base:.2f}x |")


if __name__ == "__main__":
    main()
