"""`TF_USE_LEGACY_KERAS=1` (tf.keras is tf-keras, Keras 2), in its own process.

A custom model_fn on `tf.keras.layers` trains and evaluates with stable
names and its batch-norm updates; `kb.model_to_estimator` refuses a tf-keras
model with a ValueError that names the alternatives.
"""

import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def test_keras2_model_fn_and_model_to_estimator_error():
    root = os.path.dirname(HERE)
    # This checkout's kerasbridge, whatever the installed one.
    path = os.pathsep.join([root] + [p for p in [os.environ.get("PYTHONPATH")] if p])
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_USE_LEGACY_KERAS="1",
               PYTHONPATH=path)
    out = subprocess.run(
        [sys.executable, os.path.join(HERE, "_legacy_keras_mode.py")],
        check=True, capture_output=True, text=True, env=env,
        cwd=root,
    ).stdout
    got = json.loads(out.strip().splitlines()[-1])
    assert got["keras"].startswith("tf_keras")
    assert [n for n in got["names"] if "Adagrad" not in n] == [
        "batch_normalization/beta", "batch_normalization/gamma",
        "batch_normalization/moving_mean", "batch_normalization/moving_variance",
        "dense/bias", "dense/kernel", "dense_1/bias", "dense_1/kernel", "global_step",
    ]
    assert np.abs(got["moving_mean"]).max() > 1e-3  # the updates ran
    assert got["step"] == 10
    # A second Estimator (new graph, new layer objects) restores the same names.
    assert got["loss"][0] == got["loss"][1]
    assert got["layers_module"].startswith("tf_keras.")
    assert "tf-keras (Keras 2) model" in got["error"]
    assert "custom model_fn" in got["error"] and "Keras 3" in got["error"]
