"""End-to-end `Estimator.train()` rows/second: featurec vs tf.feature_column.

The Criteo-like column set of `featurec_vs_feature_column.py` (1,466 floats a
row: 13 numeric, 3 bucketized, 13 hashed indicators, 13 hashed embeddings and
two crossed embeddings, all embeddings 8-dim with trainable tables), a 2-layer
ReLU DNN (256, 128) and a logistic output, Adagrad, batch 1,024. The same
`model_fn` is trained three ways, in one process, plus a floor:

  input_layer    `tf.compat.v1.feature_column.input_layer(features, columns)`
                 in the model_fn (the baseline);
  featurec       `featurec.input_layer(features, columns)` in the same place
                 (numba kernels through one `tf.numpy_function` in the step;
                 embedding tables are graph variables as input_layer makes);
  tf.data        featurec's kernels run in the input pipeline instead
                 (`featurec.dataset`: a parallel `map` + prefetch): the
                 pipeline yields the dense part and the embedding ids, and
                 `featurec.input_layer` in the model_fn only looks the ids up
                 in its trainable tables;
  floor          the tf.data path with the pipeline's output cached after
                 one pass over the data: input costs nothing, so this is the
                 bound any input layer can reach with this model.

Raw features (numpy `S8` strings and float32) enter through the same
`tf.data` generator in every mode. Before anything is timed the three input
matrices are checked equal on one batch with the same table values.

Reported: rows/s of each whole `train()` call (graph build, session start,
checkpoints at start and end, default `RunConfig`) and at steady state
(steps after the first quarter, timed by a hook); best of `--repeats`
interleaved runs after one warm-up call per mode.

Run:
    OMP_WAIT_POLICY=PASSIVE TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/train_end_to_end.py [--quick]
"""

import argparse
import os
import platform
import tempfile
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import featurec  # noqa: E402
from featurec import _dataset, _input_layer  # noqa: E402
from featurec_vs_feature_column import build_columns, make_data  # noqa: E402
from kerasbridge.estimator import Estimator  # noqa: E402
from kerasbridge.estimator_spec import EstimatorSpec  # noqa: E402
from kerasbridge.mode_keys import ModeKeys  # noqa: E402

v1 = tf.compat.v1
BATCH = 1024
HIDDEN = (256, 128)  # default; --hidden changes it
MODES = ("input_layer", "featurec", "tf.data", "floor")


# ---------------------------------------------------------------------------
# Data.
# ---------------------------------------------------------------------------


def make_labels(data):
    """A 0/1 label that depends on a numeric and a categorical feature."""
    hashed = np.frombuffer(data["C1"].tobytes(), np.uint8).reshape(-1, 8)[:, 0]
    return ((data["I1"] > 2.0) ^ (hashed % 2 == 0)).astype(np.float32)


def raw_dataset(data, labels):
    """Raw batches of `data`, cycled forever: every mode's source.

    A generator rather than `from_tensor_slices`: that would embed the whole
    table as graph constants, which every checkpoint's meta graph and the
    `graph.pbtxt` of each `train()` call would then rewrite.
    """
    n = len(labels)
    signature = (
        {k: tf.TensorSpec([BATCH], tf.string if v.dtype.kind == "S" else tf.float32)
         for k, v in data.items()},
        tf.TensorSpec([BATCH], tf.float32),
    )

    def batches():
        while True:
            for i in range(0, n - BATCH + 1, BATCH):
                yield {k: v[i : i + BATCH] for k, v in data.items()}, labels[i : i + BATCH]

    return tf.data.Dataset.from_generator(batches, output_signature=signature)


# ---------------------------------------------------------------------------
# The model and the three ways of feeding it.
# ---------------------------------------------------------------------------


def make_model_fn(net_fn, hidden):
    """The shared model_fn; `net_fn(features)` builds the input matrix."""

    def model_fn(features, labels, mode):
        net = net_fn(features)
        for units in hidden:
            net = keras.layers.Dense(units, activation="relu")(net)
        logits = tf.squeeze(keras.layers.Dense(1)(net), 1)
        if mode == ModeKeys.PREDICT:
            return EstimatorSpec(mode, predictions={"logits": logits})
        loss = v1.losses.sigmoid_cross_entropy(labels, logits)
        train_op = v1.train.AdagradOptimizer(0.05).minimize(
            loss, global_step=v1.train.get_global_step()
        )
        return EstimatorSpec(mode, loss=loss, train_op=train_op)

    return model_fn


def build_modes(columns, data, labels):
    """mode -> (net_fn, input_fn)."""

    def raw_input_fn():
        return raw_dataset(data, labels).prefetch(tf.data.AUTOTUNE)

    def pipeline_input_fn():
        return featurec_dataset(raw_dataset(data, labels), columns)

    def cached_input_fn():
        # One pass over the data is featurized, then replayed from memory:
        # a step whose input costs nothing, the bound for any input layer.
        batches = len(labels) // BATCH
        ds = featurec_dataset(raw_dataset(data, labels), columns, prefetch=None)
        return ds.take(batches).cache().repeat().prefetch(tf.data.AUTOTUNE)

    def featurec_net(features):
        return featurec_input_layer(features, columns)

    return {
        "input_layer": (lambda f: v1.feature_column.input_layer(f, columns), raw_input_fn),
        "featurec": (featurec_net, raw_input_fn),
        "tf.data": (featurec_net, pipeline_input_fn),
        "floor": (featurec_net, cached_input_fn),
    }


# Until `featurec/__init__.py` exports them.
def featurec_input_layer(features, columns):
    fn = getattr(featurec, "input_layer", None) or _input_layer.input_layer
    return fn(features, columns)


def featurec_dataset(dataset, columns, **kwargs):
    fn = getattr(featurec, "dataset", None) or _dataset.dataset
    return fn(dataset, columns, **kwargs)


# ---------------------------------------------------------------------------
# Checks and measurement.
# ---------------------------------------------------------------------------


def check_same_inputs(columns, data):
    """The three input matrices agree on one batch given the same tables."""
    probe = {k: v[:BATCH] for k, v in data.items()}
    with tf.Graph().as_default():
        feats = {k: tf.constant(v) for k, v in probe.items()}
        outs = {}
        with v1.variable_scope("a"):
            outs["input_layer"] = v1.feature_column.input_layer(feats, columns)
        with v1.variable_scope("b"):
            outs["featurec"] = featurec_input_layer(feats, columns)
        with v1.variable_scope("c"):
            ds = tf.data.Dataset.from_tensors((probe, np.zeros(BATCH, np.float32)))
            mapped, _ = v1.data.make_one_shot_iterator(featurec_dataset(ds, columns)).get_next()
            outs["tf.data"] = featurec_input_layer(mapped, columns)
        tables = {
            v.op.name: v
            for v in v1.global_variables()
            if v.op.name.endswith("/embedding_weights")
        }
        with v1.Session() as sess:
            sess.run([v1.global_variables_initializer(), v1.tables_initializer()])
            for scope in ("b", "c"):
                for name, var in tables.items():
                    if name.startswith(scope + "/"):
                        suffix = name.split("/", 1)[1]
                        var.load(sess.run(tables["a/" + suffix]), sess)
            got = sess.run(outs)
    expected = got["input_layer"]
    for mode in ("featurec", "tf.data"):
        same = got[mode].shape == expected.shape and np.allclose(got[mode], expected, atol=1e-6)
        if not same:
            diff = np.abs(got[mode] - expected).max()
            raise AssertionError(
                f"{mode}: input matrix differs from input_layer's (max {diff:.3g})"
            )


class _StepTimer(v1.train.SessionRunHook):
    """Wall time of the steps after `start` (the steady state)."""

    def __init__(self, start):
        self._start = start
        self.steps = 0
        self.t0 = self.t1 = None

    def after_run(self, run_context, run_values):
        self.steps += 1
        now = time.perf_counter()
        if self.steps == self._start:
            self.t0 = now
        self.t1 = now

    def rows_per_second(self):
        return (self.steps - self._start) * BATCH / (self.t1 - self.t0)


def train_once(model_fn, input_fn, steps):
    """(whole-call rows/s, steady rows/s) of one `train()` into a fresh dir."""
    with tempfile.TemporaryDirectory() as model_dir:
        est = Estimator(model_fn, model_dir=model_dir)
        timer = _StepTimer(max(1, steps // 4))
        start = time.perf_counter()
        est.train(input_fn, steps=steps, hooks=[timer])
        total = time.perf_counter() - start
    return steps * BATCH / total, timer.rows_per_second()


def input_only_ms(net_fn, input_fn, steps):
    """Median ms per batch of computing only the input matrix (no DNN).

    A plain Session loop over the same input pipeline and input layer, so
    the input layer's share of a training step can be read off.
    """
    with tf.Graph().as_default():
        features, _ = v1.data.make_one_shot_iterator(input_fn()).get_next()
        # Reduce in the graph: the step never copies the matrix out either.
        fetch = tf.reduce_sum(net_fn(features))
        with v1.Session() as sess:
            sess.run([v1.global_variables_initializer(), v1.tables_initializer()])
            for _ in range(5):
                sess.run(fetch)
            times = []
            for _ in range(steps):
                start = time.perf_counter()
                sess.run(fetch)
                times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and repeats")
    parser.add_argument("--steps", type=int, default=None, help="steps per train() call")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument(
        "--hidden", default=",".join(map(str, HIDDEN)), help="DNN layer sizes, e.g. 256,128"
    )
    args = parser.parse_args(argv)
    hidden = tuple(int(u) for u in args.hidden.split(","))
    steps = args.steps or (40 if args.quick else 200)
    repeats = args.repeats or (1 if args.quick else 3)
    tf.get_logger().setLevel("ERROR")

    columns = build_columns()
    # The floor mode replays one featurized pass over the data: keep it
    # shorter than the steps before the steady-state timer starts.
    data = make_data(BATCH * (8 if args.quick else 32))
    labels = make_labels(data)
    modes = build_modes(columns, data, labels)
    check_same_inputs(columns, data)
    print("input matrices checked equal to input_layer's", flush=True)

    model_fns = {name: make_model_fn(net_fn, hidden) for name, (net_fn, _) in modes.items()}
    for name, (_, input_fn) in modes.items():
        train_once(model_fns[name], input_fn, 8)  # warm-up: imports, numba, TF kernels
    results = {name: [] for name in modes}
    for r in range(repeats):
        for name, (_, input_fn) in modes.items():
            whole, steady = train_once(model_fns[name], input_fn, steps)
            results[name].append((whole, steady))
            print(
                f"  run {r + 1} {name:>12}: whole call {whole:>9,.0f} rows/s, "
                f"steady {steady:>9,.0f} rows/s",
                flush=True,
            )

    input_ms = {
        name: input_only_ms(net_fn, input_fn, 10 if args.quick else 30)
        for name, (net_fn, input_fn) in modes.items()
        if name != "floor"
    }
    best = {
        name: (max(w for w, _ in runs), max(s for _, s in runs))
        for name, runs in results.items()
    }
    base_whole, base_steady = best["input_layer"]
    print()
    print(
        f"Estimator.train(), batch {BATCH}, {steps} steps a call, DNN {hidden}, "
        f"best of {repeats}:"
    )
    print(
        "| mode | whole call rows/s | ratio | steady rows/s | ratio | ms/step "
        "| input only ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in modes:
        whole, steady = best[name]
        ms = f"{input_ms[name]:.1f}" if name in input_ms else "0 (replayed)"
        print(
            f"| {name} | {whole:,.0f} | {whole / base_whole:.2f}x | "
            f"{steady:,.0f} | {steady / base_steady:.2f}x | {1000 * BATCH / steady:.1f} | {ms} |"
        )
    import numba

    print()
    print(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
        f"load average {os.getloadavg()[0]:.1f}; Python {platform.python_version()}, "
        f"TF {tf.__version__}, Keras {keras.__version__}, numba {numba.__version__} "
        f"({numba.get_num_threads()} threads, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')})"
    )
    return best


if __name__ == "__main__":
    main()
