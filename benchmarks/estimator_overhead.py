"""Estimator overhead: `train()` / `predict()` against a bare Session loop.

Measures, in one process and on the same graph and input:

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
        [--only train|predict]

Reference numbers for the original `tf.estimator` on this class of machine
(issue 2): 1,450 steps/s for the whole call (2,300 steady), 0.46 s fixed cost,
45k rows/s for predict at batch 32.
"""

import argparse
import statistics
import tempfile
import time

import numpy as np
import tensorflow as tf

from kerasbridge.estimator import Estimator
from kerasbridge.estimator_spec import EstimatorSpec
from kerasbridge.mode_keys import ModeKeys

v1 = tf.compat.v1

BATCH = 32
STEPS = 2000
STEADY_FROM = 500
PREDICT_ROWS = 10_000
ORIGINAL = {
    "steps_per_sec": 1450.0,
    "steady": 2300.0,
    "fixed": 0.46,
    "rows": 45_000.0,
}


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
    logits = _logits(features)
    if mode == ModeKeys.PREDICT:
        return EstimatorSpec(
            mode,
            predictions={"class_ids": tf.argmax(logits, 1), "logits": logits},
        )
    loss = v1.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    train_op = v1.train.AdagradOptimizer(0.05).minimize(
        loss, global_step=v1.train.get_global_step()
    )
    return EstimatorSpec(mode, loss=loss, train_op=train_op)


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
        estimator = Estimator(model_fn, model_dir=model_dir)
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
    estimator = Estimator(model_fn, model_dir=model_dir)
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--only",
        choices=("train", "predict"),
        help="run only the train() (with its session floor) or the "
        "predict() measurements",
    )
    args = parser.parse_args(argv)
    run_train = args.only in (None, "train")
    run_predict = args.only in (None, "predict")
    tf.get_logger().setLevel("ERROR")

    # Warm-up: first graph builds pay one-off import/JIT costs.
    if run_train:
        bench_session_floor()
        with tempfile.TemporaryDirectory() as model_dir:
            Estimator(model_fn, model_dir=model_dir).train(
                train_input_fn, steps=10
            )

    floors, trains, predicts = [], [], []
    with tempfile.TemporaryDirectory() as predict_dir:
        Estimator(model_fn, model_dir=predict_dir).train(
            train_input_fn, steps=10
        )
        for _ in range(args.repeats):
            if run_train:
                floors.append(bench_session_floor())
                trains.append(bench_train())
            if run_predict:
                predicts.append(bench_predict(predict_dir))

    metrics = {
        "floor": (floors, "steps/s", max),
        "whole": ([t["steps_per_sec"] for t in trains], "steps/s", max),
        "steady": ([t["steady"] for t in trains], "steps/s", max),
        "fixed": ([t["fixed"] for t in trains], "s", min),
        "fixed_cpu": ([t["fixed_cpu"] for t in trains], "cpu-s", min),
        # Floor and steady rate of the same repeat ran back to back: their
        # ratio is steadier on a shared machine than either number alone.
        "overhead": (
            [f / t["steady"] for f, t in zip(floors, trains)],
            "x",
            min,
        ),
        "rows": ([p["rows_per_sec"] for p in predicts], "rows/s", max),
        "rows_cpu": (
            [p["rows_per_cpu_sec"] for p in predicts],
            "rows/cpu-s",
            max,
        ),
        "rows_steady": (
            [p["steady_rows_per_sec"] for p in predicts],
            "rows/s",
            max,
        ),
    }
    labels = {
        "floor": "session floor (steady)",
        "whole": "train() whole call",
        "steady": "train() steady",
        "fixed": "train() fixed cost",
        "fixed_cpu": "train() fixed cost, CPU time",
        "overhead": "train() per-step time / floor",
        "rows": "predict() whole call",
        "rows_cpu": "predict() whole call, CPU time",
        "rows_steady": "predict() steady",
    }
    targets = {
        "whole": lambda v: f"x{v / ORIGINAL['steps_per_sec']:.2f} of the "
        "original (target >= 1.2)",
        "fixed": lambda v: f"original {ORIGINAL['fixed']} s (target <= 0.3)",
        "overhead": lambda v: "target <= 1.3",
        "rows": lambda v: f"x{v / ORIGINAL['rows']:.2f} of the original "
        "(target >= 2)",
        "rows_steady": lambda v: f"x{v / ORIGINAL['rows']:.2f} of the original",
    }
    print(f"{args.repeats} repeats: best (median)")
    for key, (values, unit, pick) in metrics.items():
        if not values:
            continue
        best, median = pick(values), statistics.median(values)
        note = targets[key](best) if key in targets else ""
        fmt = "{:.3f}" if unit in ("s", "x", "cpu-s") else "{:,.0f}"
        print(
            f"{labels[key]:31s} {fmt.format(best):>9s} "
            f"({fmt.format(median)}) {unit:7s} {note}"
        )


if __name__ == "__main__":
    main()
