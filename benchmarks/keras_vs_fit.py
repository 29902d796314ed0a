"""Training speed of `model_to_estimator`'s Estimator against `model.fit`.

Same compiled Keras model (MLP 32 -> 256 -> 256 -> 10, Adam, sparse
categorical cross-entropy, `accuracy` metric), same in-memory data through
the same `tf.data` pipeline, same process. For each batch size:

* `fit`: `model.fit(dataset, steps_per_epoch=S, epochs=1, verbose=0)`, timed
  as a second call (the first traces the train function). That is fit's
  steady state plus its small per-call cost.
* Estimator, whole call: `est.train(input_fn, steps=S)` with the default
  `RunConfig` (summaries every 100 steps, step-rate logging, a checkpoint at
  the start and the end), including graph build, session creation and
  checkpointing; also timed as a second call.
* Estimator, steady state: the rate over steps S/4..S of that call, timed by
  a `SessionRunHook`.

Run:
    TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/keras_vs_fit.py [--repeats 3]

Reports the best of `--repeats` runs of each measurement, in steps per wall
second and per CPU second of this process, and the ratios Estimator / fit
(targets from issue 3: >= 0.8x at batch 32, >= 1.0x at 1024).
"""

import argparse
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from kerasbridge.keras import model_to_estimator
from kerasbridge.run_config import RunConfig

ROWS = 16_384
STEPS = {32: 5000, 1024: 1000}
TARGETS = {32: 0.8, 1024: 1.0}


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(ROWS, 32)).astype(np.float32)
    y = (np.abs(x[:, :10]).argmax(axis=1)).astype(np.int64)
    return x, y


def _dataset(batch):
    x, y = _data()
    return tf.data.Dataset.from_tensor_slices(({"x": x}, y)).repeat().batch(batch)


def _model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32,), name="x")
    h = keras.layers.Dense(256, activation="relu")(inputs)
    h = keras.layers.Dense(256, activation="relu")(h)
    outputs = keras.layers.Dense(10, name="logits")(h)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def _now():
    # Wall time, and CPU time of this process (all threads): on a machine
    # shared with other jobs the second is the steadier measure of cost.
    return np.array([time.perf_counter(), time.process_time()])


class _SteadyRate(tf.compat.v1.train.SessionRunHook):
    """Steps/second between local step `start` and the end of the call."""

    def __init__(self, start):
        self._start = start
        self._step = 0
        self._t0 = None
        self._t1 = None

    def after_run(self, run_context, run_values):
        self._step += 1
        if self._step == self._start:
            self._t0 = _now()
        self._t1 = _now()

    def rate(self):
        return (self._step - self._start) / (self._t1 - self._t0)


def bench_fit(batch, steps):
    model = _model()
    model.fit(_dataset(batch), steps_per_epoch=20, epochs=1, verbose=0)
    t0 = _now()
    model.fit(_dataset(batch), steps_per_epoch=steps, epochs=1, verbose=0)
    return steps / (_now() - t0)


def bench_estimator(batch, steps):
    model = _model()
    est = model_to_estimator(
        keras_model=model, config=RunConfig(model_dir=tempfile.mkdtemp())
    )
    est.train(lambda: _dataset(batch), steps=20)
    hook = _SteadyRate(start=steps // 4)
    t0 = _now()
    est.train(lambda: _dataset(batch), steps=steps, hooks=[hook])
    return steps / (_now() - t0), hook.rate()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.WARN)
    rows = []
    for batch, steps in STEPS.items():
        fits, runs = [], []
        for _ in range(args.repeats):
            # Interleaved, so load from other processes hits both alike.
            fits.append(bench_fit(batch, steps))
            runs.append(bench_estimator(batch, steps))
        fit = np.max(fits, axis=0)
        whole = np.max([w for w, _ in runs], axis=0)
        steady = np.max([s for _, s in runs], axis=0)
        # Per call: time not explained by its steps at that call's steady
        # rate (graph build, session creation, first-run graph optimisation,
        # checkpoints, summaries); the least over the repeats.
        fixed = np.min([steps / w - steps / s for w, s in runs], axis=0)
        rows.append((batch, steps, fit, whole, steady, fixed))
    for index, clock in enumerate(["wall", "CPU"]):
        print(f"\nsteps per {clock} second (best of {args.repeats})\n")
        print("| batch | steps/call | fit | Estimator, whole call | ratio "
              "| Estimator, steady | ratio | fixed cost/call | target |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for batch, steps, fit, whole, steady, fixed in rows:
            f, w, s, c = fit[index], whole[index], steady[index], fixed[index]
            print(f"| {batch} | {steps} | {f:,.0f} | {w:,.0f} | {w / f:.2f}x "
                  f"| {s:,.0f} | {s / f:.2f}x | {c:.2f} s "
                  f"| >= {TARGETS[batch]}x |")

if __name__ == "__main__":
    main()
