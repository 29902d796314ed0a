"""examples/iris_custom_estimator.py (the classic TF1 tutorial code), end to end."""

import importlib.util
import os

import numpy as np
import pytest

EXAMPLE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "examples",
    "iris_custom_estimator.py",
)


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location(
        "iris_custom_estimator", EXAMPLE
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_trains_evaluates_and_predicts(example, tmp_path, capsys):
    result, predictions, export_dir = example.main(
        ["--steps", "300", "--model-dir", str(tmp_path), "--quiet"]
    )
    assert result["global_step"] == 300
    assert result["accuracy"] >= 0.8
    assert [int(p["class_ids"][0]) for p in predictions] == [0, 1, 2]
    for p in predictions:
        np.testing.assert_allclose(p["probabilities"].sum(), 1.0, rtol=1e-5)
    out = capsys.readouterr().out
    assert "Test set accuracy:" in out
    assert 'Prediction is "Setosa"' in out and 'expected "Virginica"' in out
    assert f"SavedModel written to {export_dir}" in out

    # The export answers raw measurements like predict() did.
    import tensorflow as tf  # noqa: PLC0415

    serve = tf.saved_model.load(export_dir).signatures["serving_default"]
    rows = {
        "SepalLength": [5.1, 5.9, 6.9],
        "SepalWidth": [3.3, 3.0, 3.1],
        "PetalLength": [1.7, 4.2, 5.4],
        "PetalWidth": [0.5, 1.5, 2.1],
    }
    served = serve(**{k: tf.constant(v, tf.float32) for k, v in rows.items()})
    np.testing.assert_allclose(
        served["probabilities"].numpy(),
        np.stack([p["probabilities"] for p in predictions]),
        rtol=1e-5,
        atol=1e-6,
    )


def test_tutorial_code_runs_on_kerasbridge_with_tf1_names(example, tmp_path):
    import tensorflow as tf  # noqa: PLC0415

    from kerasbridge.compat import v1_layers  # noqa: PLC0415
    from kerasbridge.estimator import Estimator  # noqa: PLC0415

    result, predictions, _ = example.main(
        ["--steps", "20", "--model-dir", str(tmp_path), "--quiet"]
    )
    # Only the imports changed: tf.estimator and tf.layers are kerasbridge's.
    assert example.tf.estimator.Estimator is Estimator
    assert example.tf.layers is v1_layers
    assert result["global_step"] == 20
    assert len(predictions) == 3
    names = tf.train.list_variables(str(tmp_path))
    kernels = sorted(n for n, _ in names if n.endswith("/kernel"))
    assert kernels == ["dense/kernel", "dense_1/kernel", "dense_2/kernel"]
