"""Estimator overhead: `train()` / `predict()` against a bare Session loop.

Measures, in one worker process per side and on the same graph and input:

* steps/second of a whole `Estimator.train()` call (DNN 4 -> 64 -> 64 -> 3,
  Adagrad, batch 32, 2,000 steps, default `RunConfig`), and its steady-state
  rate (steps 500..2,000, timed by a hook);
* the same model trained by a hand-written `tf.compat.v1.Session` loop (the
  floor: no hooks, no checkpoints, no summaries);
* the fixed cost of a `train()` call (total time minus steps at the steady
  rate);
* `predict()` rows/second over 10,000 rows at batch 32, whole call and
  steady state.

Run:
    TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/estimator_overhead.py [--repeats 3]
        [--only train|predict] [--original-python /path/to/v215/bin/python]

With `--original-python` (a TF 2.15 + tensorflow-estimator 2.15 interpreter)
the same workload, with the same script text (`tf.estimator` is kerasbridge's
after `kb.install()` on our side), runs under the original too, rounds
alternating ours, original, ...; each row then gives the medians of both and
their ratio. Without it only our figures are printed: absolute figures of the
original measured elsewhere do not carry to this machine.
"""

import argparse
import atexit
import shutil
import statistics
import tempfile
import time

import numpy as np
import tensorflow as tf

import _original

v1 = tf.compat.v1

BATCH = 32
STEPS = 2000
STEADY_FROM = 500
PREDICT_ROWS = 10_000


def _data(rows, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32) + (x[:, 1] > 0.5).astype(np.int32)
    return x, y


def train_input_fn():
    x, y = _data(1024)
    return tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(BATCH)


def predict_input_fn():
    x, _ = _data(PREDICT_ROWS, seed=1)
    return tf.data.Dataset.from_tensor_slices(x).batch(BATCH)


def _logits(x):
    net = tf.keras.layers.Dense(64, activation="relu")(x)
    net = tf.keras.layers.Dense(64, activation="relu")(net)
    return tf.keras.layers.Dense(3)(net)


def model_fn(features, labels, mode):
    est = _original.tf_estimator()
    logits = _logits(features)
    if mode == est.ModeKeys.PREDICT:
        return est.EstimatorSpec(
            mode,
            predictions={"class_ids": tf.argmax(logits, 1), "logits": logits},
        )
    loss = v1.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    train_op = v1.train.AdagradOptimizer(0.05).minimize(
        loss, global_step=v1.train.get_global_step()
    )
    return est.EstimatorSpec(mode, loss=loss, train_op=train_op)


class _StepTimer(tf.compat.v1.train.SessionRunHook):
    """Records wall time at step STEADY_FROM and at the last step."""

    def __init__(self):
        self.steps = 0
        self.t_from = self.t_last = None

    def after_run(self, run_context, run_values):
        self.steps += 1
        now = time.perf_counter(), time.process_time()
        if self.steps == STEADY_FROM:
            self.t_from = now
        self.t_last = now

    def steady_rate(self, clock=0):
        """Steps per second of wall (clock=0) or process CPU (1) time."""
        elapsed = self.t_last[clock] - self.t_from[clock]
        return (self.steps - STEADY_FROM) / elapsed


def bench_session_floor():
    """Steps/s of a plain Session loop over the same graph and input."""
    with tf.Graph().as_default():
        global_step = v1.train.get_or_create_global_step()
        iterator = v1.data.make_initializable_iterator(train_input_fn())
        x, y = iterator.get_next()
        loss = v1.losses.sparse_softmax_cross_entropy(
            labels=y, logits=_logits(x)
        )
        train_op = v1.train.AdagradOptimizer(0.05).minimize(
            loss, global_step=global_step
        )
        with v1.Session() as session:
            session.run(
                [v1.global_variables_initializer(), iterator.initializer]
            )
            fetches = [train_op, loss]
            for _ in range(STEADY_FROM):
                session.run(fetches)
            start = time.perf_counter()
            for _ in range(STEPS - STEADY_FROM):
                session.run(fetches)
            return (STEPS - STEADY_FROM) / (time.perf_counter() - start)


def bench_train():
    """Whole-call and steady steps/s, and fixed cost, of `train()`."""
    with tempfile.TemporaryDirectory() as model_dir:
        estimator = _original.tf_estimator().Estimator(
            model_fn, model_dir=model_dir
        )
        timer = _StepTimer()
        start, start_cpu = time.perf_counter(), time.process_time()
        estimator.train(train_input_fn, steps=STEPS, hooks=[timer])
        total = time.perf_counter() - start
        total_cpu = time.process_time() - start_cpu
    steady = timer.steady_rate()
    return {
        "steps_per_sec": STEPS / total,
        "steady": steady,
        "fixed": total - STEPS / steady,
        # CPU seconds of the process: less sensitive to other jobs on a
        # shared machine than wall time.
        "fixed_cpu": total_cpu - STEPS / timer.steady_rate(clock=1),
        "total": total,
    }


def bench_predict(model_dir):
    estimator = _original.tf_estimator().Estimator(model_fn, model_dir=model_dir)
    start, start_cpu = time.perf_counter(), time.process_time()
    rows = 0
    first_at = None
    for _ in estimator.predict(predict_input_fn):
        rows += 1
        if rows == 1:
            first_at = time.perf_counter()
    end, end_cpu = time.perf_counter(), time.process_time()
    assert rows == PREDICT_ROWS, rows
    return {
        "rows_per_sec": rows / (end - start),
        "rows_per_cpu_sec": rows / (end_cpu - start_cpu),
        "steady_rows_per_sec": (rows - 1) / (end - first_at),
    }


# --- workloads, run in each side's worker ---------------------------------

_predict_dir = None


def _trained_dir():
    """A model_dir trained for 10 steps, made once per worker."""
    global _predict_dir
    if _predict_dir is None:
        _predict_dir = tempfile.mkdtemp(prefix="estimator_overhead_")
        atexit.register(shutil.rmtree, _predict_dir, ignore_errors=True)
        _original.tf_estimator().Estimator(
            model_fn, model_dir=_predict_dir
        ).train(train_input_fn, steps=10)
    return _predict_dir


def warm_up(only):
    """First graph builds pay one-off import and tracing costs."""
    tf.get_logger().setLevel("ERROR")
    if only in (None, "train"):
        bench_session_floor()
        with tempfile.TemporaryDirectory() as model_dir:
            _original.tf_estimator().Estimator(
                model_fn, model_dir=model_dir
            ).train(train_input_fn, steps=10)
    if only in (None, "predict"):
        bench_predict(_trained_dir())
    return {}


def one_round(only):
    """One repeat: session floor, train() and predict(), as selected."""
    result = {}
    if only in (None, "train"):
        floor = bench_session_floor()
        train = bench_train()
        result.update(
            floor=floor,
            whole=train["steps_per_sec"],
            steady=train["steady"],
            fixed=train["fixed"],
            fixed_cpu=train["fixed_cpu"],
            # Floor and steady rate of the same repeat ran back to back:
            # their ratio is steadier on a shared machine than either alone.
            overhead=floor / train["steady"],
        )
    if only in (None, "predict"):
        predict = bench_predict(_trained_dir())
        result.update(
            rows=predict["rows_per_sec"],
            rows_cpu=predict["rows_per_cpu_sec"],
            rows_steady=predict["steady_rows_per_sec"],
        )
    return result


# --- the benchmark ----------------------------------------------------------

# key: (label, unit, better: max for rates / min for costs, target of issue 2)
_METRICS = {
    "floor": ("session floor (steady)", "steps/s", max, ""),
    "whole": ("train() whole call", "steps/s", max, "ratio >= 1.2"),
    "steady": ("train() steady", "steps/s", max, ""),
    "fixed": ("train() fixed cost", "s", min, "ours <= 0.3 s"),
    "fixed_cpu": ("train() fixed cost, CPU time", "cpu-s", min, ""),
    "overhead": ("train() per-step time / floor", "x", min, "ours <= 1.3"),
    "rows": ("predict() whole call", "rows/s", max, "ratio >= 2"),
    "rows_cpu": ("predict() whole call, CPU time", "rows/cpu-s", max, ""),
    "rows_steady": ("predict() steady", "rows/s", max, ""),
}


def _fmt(value, unit):
    return f"{value:.3f}" if unit in ("s", "x", "cpu-s") else f"{value:,.0f}"


def report(results, repeats):
    """Prints a markdown table: per side median (best), ratio of medians."""
    original = _original.ORIGINAL in results
    head = "| measurement | unit | ours median (best) |"
    if original:
        head += " original median (best) | ours / original (medians) |"
    print(f"\n{repeats} rounds per side\n")
    print(head + " target |")
    print("|---|---|---:|" + ("---:|---:|" if original else "") + "---|")
    for key, (label, unit, best, target) in _METRICS.items():
        if key not in results[_original.OURS][0]:
            continue
        cells = []
        for side_results in results.values():
            values = [r[key] for r in side_results]
            cells.append(
                f"{_fmt(statistics.median(values), unit)} "
                f"({_fmt(best(values), unit)})"
            )
        if original:
            cells.append(f"{_original.ratio(results, key):.2f}x")
        print(f"| {label} | {unit} | " + " | ".join(cells) + f" | {target} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3,
                        help="rounds per side")
    parser.add_argument(
        "--only",
        choices=("train", "predict"),
        help="run only the train() (with its session floor) or the "
        "predict() measurements",
    )
    _original.add_option(parser)
    args = parser.parse_args(argv)
    sides = _original.start(__file__, args.original_python, parser)
    try:
        _original.interleave(sides, "warm_up", rounds=1, only=args.only)
        results = _original.interleave(
            sides, "one_round", rounds=args.repeats, only=args.only
        )
        print("\n".join(_original.describe(sides)))
        report(results, args.repeats)
    finally:
        _original.stop(sides)


if __name__ == "__main__":
    if _original.is_worker():
        _original.serve({"warm_up": warm_up, "one_round": one_round})
    else:
        main()
