"""Each canned estimator trains on a small synthetic task to a stated metric, with the
original's metric keys, prediction keys and export signatures.

Estimators are trained once per module (`trained` fixture) and shared by the tests.
"""
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import kerasbridge as kb
from _canned_helpers import input_fn
from _canned_tasks import columns, make

BINARY_METRICS = {"accuracy", "accuracy_baseline", "auc", "auc_precision_recall",
                  "average_loss", "label/mean", "loss", "precision", "prediction/mean",
                  "recall", "global_step"}
MULTI_METRICS = {"accuracy", "average_loss", "loss", "global_step"}
REGRESSION_METRICS = {"average_loss", "label/mean", "loss", "prediction/mean", "global_step"}
BINARY_PREDICTIONS = {"logits", "logistic", "probabilities", "class_ids", "classes",
                      "all_class_ids", "all_classes"}
MULTI_PREDICTIONS = BINARY_PREDICTIONS - {"logistic"}
CLASSIFIER_SIGNATURES = {"serving_default", "classification", "predict"}


def _cases():
    c = columns()
    adagrad = lambda: tf.keras.optimizers.Adagrad(learning_rate=0.3)  # noqa: E731
    return {
        # name: (task, constructor, kwargs, metric, (bound, direction), steps)
        "dnn_multi": ("multi", kb.DNNClassifier, dict(
            hidden_units=[8, 8], feature_columns=[c["x"], c["c_emb"]], n_classes=3,
            optimizer=adagrad()), "accuracy", 0.85, 150),
        "dnn_regressor": ("regression", kb.DNNRegressor, dict(
            hidden_units=[8], feature_columns=[c["x"], c["c_ind"]],
            optimizer=tf.keras.optimizers.Adam(learning_rate=0.05)),
            "average_loss", -2.0, 150),
        "linear_binary": ("binary", kb.LinearClassifier, dict(
            feature_columns=[c["x"], c["c"]], weight_column="w"), "accuracy", 0.9, 150),
        "linear_regressor": ("regression", kb.LinearRegressor, dict(
            feature_columns=[c["x"], c["c"]], optimizer="SGD", sparse_combiner="mean"),
            "average_loss", -0.2, 150),
        "wide_deep_vocab": ("vocab", kb.DNNLinearCombinedClassifier, dict(
            linear_feature_columns=[c["c"]], dnn_feature_columns=[c["x"], c["c_emb"]],
            dnn_hidden_units=[8], dnn_optimizer=adagrad(), linear_optimizer="Ftrl",
            label_vocabulary=["no", "yes"]), "accuracy", 0.85, 150),
        "wide_deep_regressor": ("regression", kb.DNNLinearCombinedRegressor, dict(
            linear_feature_columns=[c["x"], c["c"]], dnn_feature_columns=[c["x"]],
            dnn_hidden_units=[4], dnn_optimizer=adagrad(),
            linear_optimizer=tf.keras.optimizers.Ftrl(learning_rate=0.5)),
            "average_loss", -1.0, 150),
        "baseline_binary": ("binary", kb.BaselineClassifier, {}, "accuracy", 0.0, 100),
        "baseline_regressor": ("regression", kb.BaselineRegressor, {}, "average_loss",
                               -1e9, 100),
    }


CASES = _cases()


WITH_FEATURES = sorted(n for n in CASES if not n.startswith("baseline"))
BASELINES = sorted(n for n in CASES if n.startswith("baseline"))


@pytest.fixture(scope="module")
def train_once(tmp_path_factory):
    """name -> (name, estimator trained on its task, evaluate() on held-out data),
    each trained once per module."""
    cache = {}

    def get(name):
        if name not in cache:
            task, cls, kwargs, _, _, steps = CASES[name]
            est = cls(model_dir=str(tmp_path_factory.mktemp(name)),
                      config=kb.RunConfig(tf_random_seed=1, save_summary_steps=10_000,
                                          log_step_count_steps=10_000), **kwargs)
            data, labels = make(512, 0, task)
            est.train(input_fn(data, labels, batch=32, epochs=100), steps=steps)
            test, test_labels = make(256, 1, task)
            cache[name] = name, est, est.evaluate(input_fn(test, test_labels, batch=128))
        return cache[name]

    return get


@pytest.fixture(params=sorted(CASES))
def trained(request, train_once):
    return train_once(request.param)


@pytest.fixture(params=WITH_FEATURES)
def trained_with_features(request, train_once):
    return train_once(request.param)


@pytest.fixture(params=BASELINES)
def trained_baseline(request, train_once):
    return train_once(request.param)


def test_trains_to_the_stated_metric(trained):
    name, _, metrics = trained
    _, _, _, metric, bound, steps = CASES[name]
    assert metrics["global_step"] == steps
    if bound >= 0:
        assert metrics[metric] >= bound, metrics
    else:
        assert metrics[metric] <= -bound, metrics


def test_metric_keys_are_the_originals(trained):
    name, _, metrics = trained
    task = CASES[name][0]
    expected = {"multi": MULTI_METRICS, "regression": REGRESSION_METRICS}.get(task, BINARY_METRICS)
    assert set(metrics) == expected


def test_prediction_keys_are_the_originals(trained):
    name, est, _ = trained
    task = CASES[name][0]
    data, _ = make(4, 2, task)
    preds = list(est.predict(input_fn(data, batch=4)))
    assert len(preds) == 4
    expected = {"multi": MULTI_PREDICTIONS, "regression": {"predictions"}}.get(
        task, BINARY_PREDICTIONS)
    assert set(preds[0]) == expected
    if task == "vocab":
        assert {p["classes"][0] for p in preds} <= {b"no", b"yes"}


def test_baselines_learn_the_label_statistics(trained_baseline):
    name, est, _ = trained_baseline
    task = CASES[name][0]
    data, labels = make(512, 0, task)
    pred = next(est.predict(input_fn({"x": data["x"][:1]}, batch=1)))
    if task == "binary":
        # Ftrl at 0.3 for 100 steps approaches the positive rate.
        assert pred["probabilities"][1] == pytest.approx(labels.mean(), abs=0.05)
    else:
        assert pred["predictions"][0] == pytest.approx(labels.mean(), abs=0.3)


def _export(est, tmp_path, parse_columns):
    spec = tf.feature_column.make_parse_example_spec(parse_columns)
    receiver = kb.export.build_parsing_serving_input_receiver_fn(spec)
    path = est.export_saved_model(str(tmp_path / "export"), receiver)
    return path.decode() if isinstance(path, bytes) else path


def _examples(data, n):
    out = []
    for i in range(n):
        feature = {
            "x": tf.train.Feature(float_list=tf.train.FloatList(value=data["x"][i])),
            "c": tf.train.Feature(bytes_list=tf.train.BytesList(
                value=[v.encode() for v in data["c"][i]])),
        }
        out.append(tf.train.Example(features=tf.train.Features(feature=feature))
                   .SerializeToString())
    return out


def test_export_signatures_are_the_originals(trained_with_features, tmp_path):
    name, est, _ = trained_with_features
    task = CASES[name][0]
    c = columns()
    export_dir = _export(est, tmp_path, [c["x"], c["c"]])
    loaded = tf.saved_model.load(export_dir)
    signatures = set(loaded.signatures)
    if task == "regression":
        assert signatures == {"serving_default", "regression", "predict"}
    elif task == "multi":
        assert signatures == CLASSIFIER_SIGNATURES
    else:
        assert signatures == CLASSIFIER_SIGNATURES | {"regression"}
    data, _ = make(3, 2, task)
    served = loaded.signatures["predict"](examples=tf.constant(_examples(data, 3)))
    preds = list(est.predict(input_fn({"x": data["x"], "c": data["c"]}, batch=3)))
    key = "predictions" if task == "regression" else "probabilities"
    np.testing.assert_allclose(served[key].numpy(), [p[key] for p in preds], atol=1e-5)


def test_saved_model_cli_classification_signature_answers_tf_examples(train_once, tmp_path):
    _, est, _ = train_once("linear_binary")
    c = columns()
    export_dir = _export(est, tmp_path, [c["x"], c["c"]])
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    examples = 'inputs=[{"x":[1.5,-1.0],"c":[b"d"]},{"x":[-1.5,1.0],"c":[b"a"]}]'
    proc = subprocess.run(
        [cli, "run", "--dir", export_dir, "--tag_set", "serve", "--signature_def",
         "classification", "--input_examples", examples],
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Result for output key scores" in proc.stdout and "classes" in proc.stdout
    data = {"x": np.array([[1.5, -1.0], [-1.5, 1.0]], np.float32),
            "c": np.array([["d"], ["a"]])}
    probs = [p["probabilities"] for p in est.predict(input_fn(data, batch=2))]
    scores = proc.stdout.split("Result for output key scores:")[1]
    values = [float(v) for v in scores.replace("[", " ").replace("]", " ").split()[:4]]
    np.testing.assert_allclose(values, np.ravel(probs), atol=1e-5)


def _summary_tags(model_dir):
    tags = set()
    for path in tf.io.gfile.glob(os.path.join(model_dir, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(v.tag for v in event.summary.value)
    return tags


@pytest.mark.parametrize("name, expected", [
    ("dnn_multi", {"loss", "dnn/hiddenlayer_0/fraction_of_zero_values",
                   "dnn/hiddenlayer_1/activation", "dnn/logits/fraction_of_zero_values"}),
    ("linear_binary", {"loss", "bias", "fraction_of_zero_weights"}),
    ("wide_deep_vocab", {"loss", "bias", "fraction_of_zero_weights", "linear/activation",
                         "linear/fraction_of_zero_values", "dnn/hiddenlayer_0/activation",
                         "dnn/hiddenlayer_0/fraction_of_zero_values", "dnn/logits/activation",
                         "dnn/logits/fraction_of_zero_values"}),
])
def test_training_writes_the_originals_summaries(train_once, name, expected):
    """The tags the original wrote (wide & deep: exactly its set, as listed by TF 2.15)."""
    _, est, _ = train_once(name)
    tags = _summary_tags(est.model_dir)
    if name == "wide_deep_vocab":
        assert tags == expected
    else:
        assert expected <= tags


def test_estimator_variants_take_any_head(tmp_path):
    """`*Estimator` classes train and predict with the head they are given."""
    c = columns()
    data, labels = make(64, 0, "regression")
    two = np.concatenate([labels, -labels], axis=1)
    cfg = kb.RunConfig(tf_random_seed=1, save_summary_steps=10_000, log_step_count_steps=10_000)
    linear = kb.LinearEstimator(kb.RegressionHead(label_dimension=2), [c["x"], c["c"]],
                                model_dir=str(tmp_path / "linear"), config=cfg)
    linear.train(input_fn(data, two, batch=16, epochs=5), steps=4)
    pred = next(linear.predict(input_fn({"x": data["x"][:1], "c": data["c"][:1]})))
    assert pred["predictions"].shape == (2,)
    multi, mlabels = make(64, 0, "multi")
    base = kb.BaselineEstimator(kb.MultiClassHead(3), model_dir=str(tmp_path / "base"),
                                config=cfg)
    base.train(input_fn(multi, mlabels, batch=16, epochs=5), steps=4)
    assert {"accuracy", "average_loss", "loss"} <= set(
        base.evaluate(input_fn(multi, mlabels, batch=64)))
    wd = kb.DNNLinearCombinedEstimator(
        kb.BinaryClassHead(), linear_feature_columns=[c["c"]], dnn_feature_columns=[c["x"]],
        dnn_hidden_units=[2], model_dir=str(tmp_path / "wd"), config=cfg)
    bdata, blabels = make(64, 0, "binary")
    wd.train(input_fn(bdata, blabels, batch=16, epochs=5), steps=4)
    assert wd.get_variable_value("global_step") == 4
    assert "training/Ftrl/iter" in wd.get_variable_names()
