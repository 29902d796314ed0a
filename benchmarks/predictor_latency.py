"""Predictor vs `Estimator.predict()`: latency per call, single row and 1,024 rows.

`predict()` builds a graph, opens a session and restores the checkpoint on
every call; `make_predictor` does that once and then runs one `session.run`
per call. `Predictor.from_saved_model` does the same from an export.

Run:
    TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/predictor_latency.py [--quick]

Prints a markdown table (median latency per call, ratio to `predict()`).
"""

import argparse
import functools
import os
import platform
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kerasbridge import export  # noqa: E402
from kerasbridge.estimator import Estimator  # noqa: E402
from kerasbridge.estimator_spec import EstimatorSpec  # noqa: E402
from kerasbridge.mode_keys import ModeKeys  # noqa: E402
from kerasbridge.predictor import Predictor  # noqa: E402
from kerasbridge.predictor import make_predictor  # noqa: E402

_N_DENSE = 16


def _model_fn(features, labels, mode):
    """A 2-layer DNN (64, 32) over 16 dense features and a hashed string."""
    color = tf.strings.to_hash_bucket_fast(features["color"], 8)
    embedded = keras.layers.Embedding(8, 4, name="color_embedding")(color)
    net = tf.concat([features["x"], embedded], axis=1)
    net = keras.layers.Dense(64, activation="relu", name="hidden_1")(net)
    net = keras.layers.Dense(32, activation="relu", name="hidden_2")(net)
    logits = keras.layers.Dense(1, name="logits")(net)
    predictions = {"logits": logits, "probabilities": tf.sigmoid(logits)}
    if mode == ModeKeys.PREDICT:
        return EstimatorSpec(mode, predictions=predictions)
    loss = tf.compat.v1.losses.sigmoid_cross_entropy(labels, logits)
    train_op = tf.compat.v1.train.AdamOptimizer(0.01).minimize(
        loss, tf.compat.v1.train.get_global_step()
    )
    return EstimatorSpec(mode, loss=loss, train_op=train_op)


def _features(n, seed=0):
    rng = np.random.RandomState(seed)
    return {
        "x": rng.normal(size=(n, _N_DENSE)).astype(np.float32),
        "color": rng.choice(["red", "green", "blue", "cyan"], size=n),
    }


def _median_seconds(fn, repeats):
    fn()  # Warm-up: first-call costs (lazy build, caches) are not per-call latency.
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _estimator_predict(est, features):
    def input_fn():
        return tf.data.Dataset.from_tensor_slices(features).batch(len(features["x"]))

    return lambda: list(est.predict(input_fn, yield_single_examples=False))


def _machine():
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, "
        f"TF {tf.__version__}, Keras {keras.__version__}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    predict_repeats, predictor_repeats = (5, 100) if args.quick else (20, 1000)

    model_dir = tempfile.mkdtemp(prefix="predictor_latency_")
    est = Estimator(_model_fn, model_dir=model_dir)
    train = _features(4096, seed=1)
    labels = (train["x"][:, :1] > 0).astype(np.float32)
    est.train(
        lambda: tf.data.Dataset.from_tensor_slices((train, labels)).batch(256).repeat(),
        steps=50,
    )
    receiver_fn = export.build_raw_serving_input_receiver_fn(
        {
            "x": tf.TensorSpec([None, _N_DENSE], tf.float32),
            "color": tf.TensorSpec([None], tf.string),
        }
    )
    export_dir = est.export_saved_model(os.path.join(model_dir, "export"), receiver_fn)

    rows = []
    with (
        make_predictor(est) as from_model_fn,
        Predictor.from_saved_model(export_dir) as from_export,
    ):
        for n in (1, 1024):
            features = _features(n, seed=2)
            # Same answers before timing anything.
            reference = _estimator_predict(est, features)()[0]
            for p in (from_model_fn, from_export):
                np.testing.assert_allclose(
                    p(features)["probabilities"], reference["probabilities"], rtol=1e-5
                )
            base = _median_seconds(_estimator_predict(est, features), predict_repeats)
            repeats = predictor_repeats if n == 1 else predictor_repeats // 5
            t_model_fn = _median_seconds(
                functools.partial(from_model_fn, features), repeats
            )
            t_export = _median_seconds(
                functools.partial(from_export, features), repeats
            )
            rows.append((n, base, t_model_fn, t_export))

    print(f"Machine: {_machine()}")
    print()
    print(
        "| rows/call | `est.predict()` | `make_predictor(est)` | ratio "
        "| `Predictor.from_saved_model` | ratio |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for n, base, t_model_fn, t_export in rows:
        print(
            f"| {n:,} | {base * 1e3:.1f} ms | {t_model_fn * 1e3:.3f} ms | "
            f"{base / t_model_fn:.0f}x | {t_export * 1e3:.3f} ms | "
            f"{base / t_export:.0f}x |"
        )


if __name__ == "__main__":
    main()
