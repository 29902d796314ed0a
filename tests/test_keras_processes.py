"""A checkpoint written by `train()` in one process restores in another.

The other process builds the same architecture after other Keras objects,
so Keras 3 auto-names every layer differently (`dense_3` instead of
`dense`); the default structural checkpoint keys must not care.
"""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from kerasbridge.keras import model_to_estimator
from kerasbridge.run_config import RunConfig

_MODEL_SOURCE = textwrap.dedent(
    """
    import keras
    import numpy as np
    import tensorflow as tf

    def build_model():
        keras.utils.set_random_seed(5)
        inputs = keras.Input((4,))
        h = keras.layers.Dense(8, activation="relu")(inputs)
        h = keras.layers.BatchNormalization()(h)
        h = keras.layers.Dropout(0.2)(h)
        outputs = keras.layers.Dense(2)(h)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer=keras.optimizers.Adam(0.01),
                      loss=keras.losses.MeanSquaredError(), metrics=["mae"])
        return model

    def data():
        rng = np.random.RandomState(0)
        x = rng.normal(size=(64, 4)).astype("float32")
        return x, np.stack([x[:, 0] - x[:, 1], x[:, 2] * 2], axis=1)

    def input_fn():
        return tf.data.Dataset.from_tensor_slices(data()).batch(16)

    def predict_fn():
        return tf.data.Dataset.from_tensor_slices(data()[0][:4]).batch(4)
    """
)

_TRAIN_SCRIPT = _MODEL_SOURCE + textwrap.dedent(
    """
    import json, sys
    from kerasbridge.keras import model_to_estimator
    from kerasbridge.run_config import RunConfig

    model = build_model()
    est = model_to_estimator(keras_model=model, config=RunConfig(model_dir=sys.argv[1]))
    est.train(input_fn, steps=4)
    result = {k: float(v) for k, v in est.evaluate(input_fn).items()}
    predictions = [p[model.output_names[0]].tolist() for p in est.predict(predict_fn)]
    print(json.dumps({"layer_names": [l.name for l in model.layers],
                      "evaluate": result, "predict": predictions}))
    """
)


@pytest.fixture(scope="module")
def trained_elsewhere(tmp_path_factory):
    model_dir = str(tmp_path_factory.mktemp("other_process"))
    done = subprocess.run(
        [sys.executable, "-c", _TRAIN_SCRIPT, model_dir],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return model_dir, json.loads(done.stdout.strip().splitlines()[-1])


def test_checkpoint_from_another_process_evaluates_and_predicts_identically(
    trained_elsewhere,
):
    model_dir, theirs = trained_elsewhere
    namespace = {}
    exec(_MODEL_SOURCE, namespace)
    # Shift Keras' process-wide auto-naming counters first.
    for _ in range(3):
        keras.layers.Dense(1)
        keras.layers.Dropout(0.1)
        keras.layers.BatchNormalization()
    model = namespace["build_model"]()
    assert [l.name for l in model.layers] != theirs["layer_names"]

    est = model_to_estimator(keras_model=model, config=RunConfig(model_dir=model_dir))
    ours = est.evaluate(namespace["input_fn"])
    assert ours["global_step"] == 4
    for name in ("loss", "mae"):
        assert ours[name] == pytest.approx(theirs["evaluate"][name], abs=1e-6)
    predictions = [
        p[model.output_names[0]].tolist() for p in est.predict(namespace["predict_fn"])
    ]
    np.testing.assert_allclose(predictions, theirs["predict"], atol=1e-6)
    # Training resumes from that checkpoint too.
    est.train(namespace["input_fn"], steps=1)
    assert est.get_variable_value("global_step") == 5
