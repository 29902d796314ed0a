"""A whole classic TF1 Estimator script runs with only its imports changed.

`tests/fixtures/classic_tf1/classic_tf1_estimator.py` touches the TF1
surface such code used (feature columns + `input_layer`, `tf.layers`,
`tf.losses`, `tf.metrics`, `tf.summary`, `tf.train` optimizers and decay,
`tf.estimator` train_and_evaluate and export).
"""

import glob
import importlib.util
import os

import numpy as np
import tensorflow as tf

SCRIPT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "fixtures", "classic_tf1", "classic_tf1_estimator.py",
)


def _load():
    spec = importlib.util.spec_from_file_location("classic_tf1_estimator", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_classic_script_trains_evaluates_and_exports(tmp_path):
    script = _load()
    classifier, metrics, export_dir = script.main(str(tmp_path), steps=300)
    assert metrics["global_step"] == 300
    assert metrics["accuracy"] > 0.8 and metrics["auc"] > 0.85
    for key in ("precision", "recall", "mean_probability", "loss"):
        assert 0 <= metrics[key] < 2
    names = classifier.get_variable_names()
    for name in ("hidden_0/kernel", "hidden_1/bias", "logits/kernel",
                 "hidden_0/kernel/Momentum",
                 "input_layer/color_embedding/embedding_weights"):
        assert name in names
    # Summaries were written for training and evaluation.
    events = glob.glob(str(tmp_path / "events.out.tfevents.*"))
    assert events and glob.glob(str(tmp_path / "eval" / "events.out.tfevents.*"))
    tags = set()
    for event in tf.compat.v1.train.summary_iterator(events[0]):
        tags.update(v.tag for v in event.summary.value)
    assert {"learning_rate", "hidden_0_activation"} <= tags
    # TF1 uniquified the tag against the metric's own "accuracy" name scope.
    assert "accuracy_1" in tags

    # The export parses tf.Examples and answers as predict() does.
    test_x, _ = script.make_data(4, seed=7)
    examples = []
    for i in range(4):
        feature = {
            "age": tf.train.Feature(float_list=tf.train.FloatList(value=[test_x["age"][i]])),
            "hours": tf.train.Feature(float_list=tf.train.FloatList(value=[test_x["hours"][i]])),
            "color": tf.train.Feature(bytes_list=tf.train.BytesList(
                value=[test_x["color"][i].encode()])),
        }
        examples.append(tf.train.Example(
            features=tf.train.Features(feature=feature)).SerializeToString())
    serve = tf.saved_model.load(export_dir.decode()).signatures["serving_default"]
    served = serve(examples=tf.constant(examples))["probabilities"].numpy()
    predicted = np.stack([
        p["probabilities"] for p in classifier.predict(
            lambda: tf.data.Dataset.from_tensor_slices(test_x).batch(4))
    ])
    np.testing.assert_allclose(served, predicted, rtol=1e-5, atol=1e-6)
