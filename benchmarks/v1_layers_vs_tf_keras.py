"""kerasbridge's `tf.compat.v1.layers` against tf-keras' TF1 layer classes.

Both implementations in fresh processes, side by side: import cost (after
`import tensorflow`), the time to build a TF1 CNN + DNN graph (conv2d, batch
normalization, max pooling, flatten, dropout, dense, Adagrad) and one
training step of it. tf-keras' classes are what `tf.compat.v1.layers` was up
to TF 2.15; they need the `tf-keras` package (which requires the full
`tensorflow` wheel).

Run:
    TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/v1_layers_vs_tf_keras.py
"""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import json, statistics, sys, time
t0 = time.perf_counter()
import numpy as np
import tensorflow as tf
t1 = time.perf_counter()
if sys.argv[1] == "kerasbridge":
    from kerasbridge.compat import v1_layers as L
else:
    from tf_keras.api._v1.keras.__internal__.legacy import layers as L
t2 = time.perf_counter()
v1 = tf.compat.v1

def build():
    g = tf.Graph()
    with g.as_default():
        x = v1.placeholder(tf.float32, [None, 28, 28, 1])
        y = v1.placeholder(tf.int32, [None])
        net = L.conv2d(x, 16, 3, padding="same", activation=tf.nn.relu)
        net = L.batch_normalization(net, training=True)
        net = L.max_pooling2d(net, 2, 2)
        net = L.conv2d(net, 32, 3, padding="same", activation=tf.nn.relu)
        net = L.max_pooling2d(net, 2, 2)
        net = L.dropout(L.flatten(net), 0.4, training=True)
        for units in (128, 64):
            net = L.dense(net, units, activation=tf.nn.relu)
        logits = L.dense(net, 10)
        loss = v1.losses.sparse_softmax_cross_entropy(y, logits)
        with tf.control_dependencies(v1.get_collection(v1.GraphKeys.UPDATE_OPS)):
            train = v1.train.AdagradOptimizer(0.1).minimize(loss)
        init = v1.global_variables_initializer()
    return g, x, y, train, init

builds = []
for _ in range(15):
    s = time.perf_counter(); built = build(); builds.append(time.perf_counter() - s)
g, x, y, train, init = built
rng = np.random.default_rng(0)
feed = {x: rng.random((64, 28, 28, 1), np.float32), y: rng.integers(0, 10, 64)}
with v1.Session(graph=g) as sess:
    sess.run(init)
    for _ in range(5):
        sess.run(train, feed)
    steps = []
    for _ in range(30):
        s = time.perf_counter(); sess.run(train, feed); steps.append(time.perf_counter() - s)
print(json.dumps({"import_tf": t1 - t0, "import_layers": t2 - t1,
                  "build": statistics.median(builds), "step": statistics.median(steps)}))
"""


def measure(which, repeats=3):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    runs = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", CHILD, which], check=True,
                             capture_output=True, text=True, env=env).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    return {k: sorted(r[k] for r in runs)[len(runs) // 2] for k in runs[0]}


def main():
    ours, theirs = measure("kerasbridge"), measure("tf_keras")
    print(f"{'':28}{'kerasbridge':>14}{'tf-keras':>14}{'ratio':>8}")
    for key, label, scale, unit in [
        ("import_layers", "import layers (after tf)", 1e3, "ms"),
        ("build", "build CNN graph", 1e3, "ms"),
        ("step", "train step (batch 64)", 1e3, "ms"),
    ]:
        a, b = ours[key] * scale, theirs[key] * scale
        print(f"{label:28}{a:>11.1f} {unit}{b:>11.1f} {unit}{b / a:>7.2f}x")


if __name__ == "__main__":
    main()
