"""Training on a loopback TF_CONFIG cluster: steps/s by trainers and ps tasks.

For each layout this starts a real cluster (one process per task, 127.0.0.1)
running this same file as the task script, and measures the global step rate
in the steady part of training (steps 20%..95% of `--steps`, timed by a hook
in every trainer); plus local training (no cluster) of the same model in one
process. Layouts: 1 trainer (the chief) or 2 (chief + worker), 1 or 2 ps.

The model is a dense net 128 -> 256 -> 256 -> 1 (about 100k float32
parameters, 400 KB) with plain SGD at batch 64: each step of a trainer pulls
every parameter from the ps and pushes every gradient back.

`--impl original` runs the same layouts with the original `tf.estimator`
(TF 2.15 + tensorflow-estimator 2.15) through `--original-python`, side by
side with ours.

Run:
    TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/distributed.py [--steps 1500]
        [--impl ours original] [--original-python PATH]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import _original

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HIDDEN = 256
FEATURES = 128
BATCH = 64


# --- the task script (both implementations) ------------------------------------


def _task_main(args):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf

    if args.impl == "ours":
        import kerasbridge as est_lib
    else:
        est_lib = tf.estimator
    v1 = tf.compat.v1
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1024, FEATURES)).astype(np.float32)
    y = x[:, :1] * 2.0

    def input_fn():
        return tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(BATCH)

    def model_fn(features, labels, mode):
        net = features
        for i, (n_in, n_out) in enumerate([(FEATURES, HIDDEN), (HIDDEN, HIDDEN), (HIDDEN, 1)]):
            w = v1.get_variable(f"w{i}", [n_in, n_out], initializer=v1.glorot_uniform_initializer())
            b = v1.get_variable(f"b{i}", [n_out], initializer=v1.zeros_initializer())
            net = tf.matmul(net, w) + b
            if i < 2:
                net = tf.nn.relu(net)
        loss = tf.reduce_mean(tf.square(net - labels))
        train_op = v1.train.GradientDescentOptimizer(0.001).minimize(
            loss, global_step=v1.train.get_global_step()
        )
        return est_lib.EstimatorSpec(mode, loss=loss, train_op=train_op)

    times = []

    class Timer(v1.train.SessionRunHook):
        def begin(self):
            self._step = v1.train.get_global_step()

        def before_run(self, run_context):
            return v1.train.SessionRunArgs(self._step)

        def after_run(self, run_context, run_values):
            times.append((time.time(), int(run_values.results)))

    config = est_lib.RunConfig(
        model_dir=args.model_dir,
        save_checkpoints_steps=10**6,  # only the first and the final one
        save_summary_steps=10**6,
        log_step_count_steps=10**6,
        experimental_max_worker_delay_secs=0,
    )
    estimator = est_lib.Estimator(model_fn, config=config)
    train_spec = est_lib.TrainSpec(input_fn, max_steps=args.steps, hooks=[Timer()])
    eval_spec = est_lib.EvalSpec(input_fn, steps=1)
    if "TF_CONFIG" in os.environ:
        est_lib.train_and_evaluate(estimator, train_spec, eval_spec)
    else:
        estimator.train(input_fn, max_steps=args.steps, hooks=[Timer()])
    task = json.loads(os.environ.get("TF_CONFIG", "{}")).get("task", {"type": "local", "index": 0})
    with open(os.path.join(args.record_dir, f"{task['type']}-{task['index']}.json"), "w") as f:
        json.dump(times, f)


# --- the driver ------------------------------------------------------------------


def _steady_rate(record_dir, steps):
    """Global steps/s between 20% and 95% of the run, over all trainers."""
    records = []
    for name in os.listdir(record_dir):
        with open(os.path.join(record_dir, name)) as f:
            records.extend(json.load(f))
    window = sorted(r for r in records if 0.2 * steps <= r[1] <= 0.95 * steps)
    (t0, s0), (t1, s1) = window[0], window[-1]
    return (s1 - s0) / (t1 - t0)


def _run(impl, python, trainers, ps, steps):
    sys.path.insert(0, ROOT)  # this checkout's kerasbridge, not an installed one
    from kerasbridge._runtime._cluster_launcher import LocalCluster

    with tempfile.TemporaryDirectory() as tmp:
        record_dir = os.path.join(tmp, "records")
        os.makedirs(record_dir)
        command = [
            python, os.path.abspath(__file__), "--task", "--impl", impl,
            "--steps", str(steps), "--model-dir", os.path.join(tmp, "model"),
            "--record-dir", record_dir,
        ]
        env = {"TF_CPP_MIN_LOG_LEVEL": "2"}
        if impl == "ours":
            env["PYTHONPATH"] = ROOT
        if trainers == 0:  # local: one process, no cluster
            subprocess.run(command, check=True, env=dict(os.environ, **env),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900)
        else:
            cluster = LocalCluster(command, ps=ps, workers=trainers - 1,
                                   log_dir=os.path.join(tmp, "logs"), env=env, echo=False)
            code = cluster.run(timeout=900)
            if code:
                log = open(cluster.log_path("chief")).read()[-3000:]
                raise RuntimeError(f"{impl} cluster failed with {code}:\n{log}")
        return _steady_rate(record_dir, steps)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--impl", nargs="+", default=["ours", "original"])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--model-dir")
    parser.add_argument("--record-dir")
    _original.add_option(parser)
    args = parser.parse_args()
    if args.task:
        args.impl = args.impl[0]
        return _task_main(args)
    if args.original_python is None:
        args.impl = [impl for impl in args.impl if impl != "original"]
        print(_original.NO_RATIO)
    elif "original" in args.impl:
        _original.check_interpreter(args.original_python)
    print(f"load before: {os.getloadavg()}")
    layouts = [(0, 0), (1, 1), (2, 1), (1, 2), (2, 2)]
    results = {}
    for impl in args.impl:
        python = sys.executable if impl == "ours" else args.original_python
        for trainers, ps in layouts:
            start = time.monotonic()
            rate = _run(impl, python, trainers, ps, args.steps)
            results[(impl, trainers, ps)] = rate
            name = "local" if trainers == 0 else f"{trainers} trainer(s), {ps} ps"
            print(f"{impl:9s} {name:22s} {rate:8.1f} steps/s  "
                  f"({1000 / rate:.2f} ms/step; run took {time.monotonic() - start:.0f} s)",
                  flush=True)
    for impl in args.impl:
        local = results[(impl, 0, 0)]
        one = results[(impl, 1, 1)]
        print(f"{impl}: ps round trip per step = {1000 / one - 1000 / local:.2f} ms "
              f"(1 trainer + 1 ps vs local); 2 trainers / 1 trainer = "
              f"{results[(impl, 2, 1)] / one:.2f}x; 2 ps / 1 ps (1 trainer) = "
              f"{results[(impl, 1, 2)] / one:.2f}x")
    if "original" in args.impl and "ours" in args.impl:
        for trainers, ps in layouts:
            ratio = results[("ours", trainers, ps)] / results[("original", trainers, ps)]
            name = "local" if trainers == 0 else f"{trainers} trainer(s), {ps} ps"
            print(f"ours / original, {name}: {ratio:.2f}x")
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    sys.exit(main())
