"""The bare cost of a ps round trip in TensorFlow's gRPC runtime, 2.21 vs 2.15.

No Estimator: one process starts a ps server and a worker server on
127.0.0.1, places the `distributed.py` model's variables on the ps with
`replica_device_setter`, and times `session.run([train_op, loss])` on the
worker's target (3 x 1,000 steps after 200 warm-up steps). Run under both
TensorFlow versions (and, for 2.21, with `share_cluster_devices_in_session`,
which kerasbridge's default distributed session config sets), this separates
the runtime's cost from the Estimator's.

Run:
    TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/ps_round_trip.py
        [--original-python PATH]
"""

import argparse
import os
import socket
import subprocess
import sys
import time

import _original

FEATURES, HIDDEN, BATCH = 128, 256, 64


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _measure(share):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf

    v1 = tf.compat.v1
    cluster = tf.train.ClusterSpec({
        "worker": [f"127.0.0.1:{_free_port()}"],
        "ps": [f"127.0.0.1:{_free_port()}"],
    })
    servers = [  # noqa: F841 (kept alive while timing)
        tf.distribute.Server(cluster, job_name="ps", task_index=0),
        tf.distribute.Server(cluster, job_name="worker", task_index=0),
    ]
    x = np.random.default_rng(0).normal(size=(BATCH, FEATURES)).astype(np.float32)
    graph = tf.Graph()
    with graph.as_default():
        setter = v1.train.replica_device_setter(
            ps_tasks=1, worker_device="/job:worker/task:0", cluster=cluster
        )
        with graph.device(setter):
            step = v1.train.get_or_create_global_step()
            net = tf.constant(x)
            for i, (n_in, n_out) in enumerate([(FEATURES, HIDDEN), (HIDDEN, HIDDEN), (HIDDEN, 1)]):
                w = v1.get_variable(f"w{i}", [n_in, n_out])
                b = v1.get_variable(f"b{i}", [n_out], initializer=v1.zeros_initializer())
                net = tf.matmul(net, w) + b
                if i < 2:
                    net = tf.nn.relu(net)
            loss = tf.reduce_mean(tf.square(net))
            train_op = v1.train.GradientDescentOptimizer(0.001).minimize(loss, global_step=step)
        config = v1.ConfigProto(device_filters=["/job:ps", "/job:worker/task:0"])
        if share:
            config.experimental.share_cluster_devices_in_session = True
        with v1.Session(servers[1].target, config=config) as session:
            session.run(v1.global_variables_initializer())
            for _ in range(200):
                session.run([train_op, loss])
            times = []
            for _ in range(3):
                start = time.perf_counter()
                for _ in range(1000):
                    session.run([train_op, loss])
                times.append(time.perf_counter() - start)  # secs/1000 = ms/step
    label = f"TF {tf.__version__}" + (" share_cluster_devices" if share else "")
    print(f"{label:36s} ms/step: " + ", ".join(f"{t:.2f}" for t in times), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--measure", choices=["plain", "share"])
    _original.add_option(parser)
    args = parser.parse_args()
    if args.measure:
        return _measure(args.measure == "share")
    runs = [(sys.executable, "plain"), (sys.executable, "share")]
    if args.original_python is None:
        print(_original.NO_RATIO)
    else:
        _original.check_interpreter(args.original_python)
        runs.insert(0, (args.original_python, "plain"))
    print(f"load before: {os.getloadavg()}")
    for python, mode in runs:
        subprocess.run([python, os.path.abspath(__file__), "--measure", mode], check=True,
                       stderr=subprocess.DEVNULL)
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    sys.exit(main())
