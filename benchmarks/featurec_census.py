"""featurec vs input_layer on the tutorial's census columns, and where featurec's time goes.

The columns of `examples/census_wide_deep.py` (the README's main job): two
numeric columns with z-score normalizers, a bucketized age, three
vocabulary-list columns and a hash bucket as indicators, and an
(education, occupation) cross of 1,000 buckets as an indicator; 1,114 floats
a row. The data is the example's generated table (strings as `object` arrays
of `str`, as the example holds them, and as numpy `S` bytes).

Unlike the Criteo-like set of `featurec_vs_feature_column.py` (all string
hash buckets, which the writer hashes in its own pass with a cached call
layout), vocabulary columns take featurec's general path: their ids are
looked up by a kernel of their own before the writer runs, and the call's
layout is built afresh. This benchmark measures what that costs:

* rows/s of `t(features)` and of input_layer in a Session, side by side in
  one process, taking turns (the harness of featurec_vs_feature_column.py);
* featurec's call split into the writer, the vocabulary lookups and the
  rest (Python, packing the strings, dispatch).

Run:
    PYTHONPATH=$PWD TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/featurec_census.py [--batches 256,4096]
"""

import argparse
import os
import platform
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import featurec_breakdown  # noqa: E402
import featurec_vs_feature_column as bench  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
import census_wide_deep as census  # noqa: E402

import featurec  # noqa: E402
from featurec import _kernels, _write  # noqa: E402

_ROWS = 65536


class InputLayer:
    """input_layer over the census columns in a v1 graph + Session."""

    def __init__(self, columns, example):
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.placeholders = {
                k: tf.compat.v1.placeholder(
                    tf.string if v.dtype.kind in "OSU" else tf.as_dtype(v.dtype), [None], k
                )
                for k, v in example.items()
            }
            self.output = tf.compat.v1.feature_column.input_layer(self.placeholders, columns)
            self.sess = tf.compat.v1.Session(graph=self.graph)
            self.sess.run(
                [tf.compat.v1.global_variables_initializer(), tf.compat.v1.tables_initializer()]
            )

    def __call__(self, features):
        return self.sess.run(self.output, {self.placeholders[k]: v for k, v in features.items()})


def as_bytes(features):
    """The same features with strings as numpy `S` arrays of UTF-8 bytes."""
    return {
        k: np.char.encode(v.astype(str), "utf-8") if v.dtype == object else v
        for k, v in features.items()
    }


def breakdown(transform, batches):
    """ms a call: the whole call, the writer, the vocabulary lookups, the rest."""
    stages = [(_write, "write_outputs", "writer"), (_kernels, "lookup_str", "vocabulary lookups")]
    per_call, parts = featurec_breakdown.time_stages(transform, batches, stages)
    parts["rest (Python, string packing, dispatch)"] = per_call - sum(parts.values())
    return per_call, parts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--batches", type=lambda v: [int(x) for x in v.split(",")], default=[256, 4096],
        help="comma-separated batch sizes (default 256,4096)",
    )  # fmt: skip
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    columns = census.feature_columns()[0]
    raw, _ = census.make_table(_ROWS, seed=0)
    forms = {"object": raw, "S": as_bytes(raw)}
    transform = featurec.compile(columns)
    input_layer = InputLayer(columns, raw)
    for form, data in forms.items():
        probe = {k: v[:1024] for k, v in data.items()}
        np.testing.assert_array_equal(transform(probe), input_layer(probe))
    print(f"outputs checked equal to input_layer's ({transform.output_width} floats a row)")

    print(f"\n{platform.machine()}, {os.cpu_count()} logical CPUs, load average "
          f"{'/'.join(f'{x:.1f}' for x in os.getloadavg())}; TF {tf.__version__}\n")
    print("| batch | strings | input_layer rows/s | featurec rows/s | featurec / input_layer "
          "| featurec ms a call | writer | vocabulary lookups | rest |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for batch in args.batches:
        for form, data in forms.items():
            batches = [{k: v[i : i + batch] for k, v in data.items()} for i in range(0, _ROWS, batch)]
            rates = bench.rows_per_second(
                {"input_layer": input_layer, "featurec": transform}, batches, args.repeats, 2.0
            )
            per_call, parts = breakdown(transform, batches[:16])
            print(
                f"| {batch:,} | {form} | {rates['input_layer']:,.0f} | {rates['featurec']:,.0f} "
                f"| {rates['featurec'] / rates['input_layer']:.1f}x | {1e3 * per_call:.3f} | "
                + " | ".join(f"{1e3 * v:.3f}" for v in parts.values())
                + " |",
                flush=True,
            )


if __name__ == "__main__":
    main()
