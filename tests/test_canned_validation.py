"""Canned estimators: constructor validation with the original's messages, the
optimizer forms the original accepted, default learning rates, warm starting and
`tf.estimator.*` after `kb.install()`."""
import math

import numpy as np
import pytest
import tensorflow as tf

import kerasbridge as kb
from _canned_helpers import input_fn
from _canned_tasks import columns, make

C = columns()
NAMES = "('Adagrad', 'Adam', 'Ftrl', 'RMSProp', 'SGD')"


def _config():
    return kb.RunConfig(tf_random_seed=3, save_summary_steps=10_000, log_step_count_steps=10_000)


def _train(est, task="binary", steps=1):
    data, labels = make(64, 0, task)
    est.train(input_fn(data, labels, batch=16, epochs=10), steps=steps)
    return est


# -- constructor validation ------------------------------------------------------


@pytest.mark.parametrize("make_est", [
    lambda: kb.DNNClassifier([4], [C["x"]], optimizer="Adadelta"),
    lambda: kb.LinearRegressor([C["x"]], optimizer="Adadelta"),
    lambda: kb.DNNLinearCombinedClassifier(linear_feature_columns=[C["c"]],
                                           linear_optimizer="Adadelta"),
    lambda: kb.BaselineRegressor(optimizer="Adadelta"),
])
def test_unknown_optimizer_name_is_the_originals_error(make_est):
    with pytest.raises(ValueError) as err:
        make_est()
    assert str(err.value) == f"Unsupported optimizer name: Adadelta. Supported names are: {NAMES}"


def test_v1_feature_columns_are_rejected_as_the_original_did():
    with tf.Graph().as_default():  # v1 shared embeddings are graph-only
        v1 = tf.compat.v1.feature_column.shared_embedding_columns([C["c"]], 2)
    for make_est in (lambda: kb.DNNClassifier([4], v1),
                     lambda: kb.LinearClassifier(v1),
                     lambda: kb.DNNLinearCombinedRegressor(dnn_feature_columns=v1,
                                                           dnn_hidden_units=[2])):
        with pytest.raises(ValueError, match="Received a feature column from TensorFlow v1"):
            make_est()


def test_wide_and_deep_needs_columns_and_hidden_units():
    with pytest.raises(ValueError, match="^Either linear_feature_columns or dnn_feature_columns "
                       "must be defined.$"):
        kb.DNNLinearCombinedClassifier()
    with pytest.raises(ValueError, match="^dnn_hidden_units must be defined when "
                       "dnn_feature_columns is specified.$"):
        kb.DNNLinearCombinedRegressor(dnn_feature_columns=[C["x"]])


def test_bad_layer_arguments_name_the_argument():
    with pytest.raises(ValueError, match="hidden_units"):
        kb.DNNClassifier([4, 0], [C["x"]])
    with pytest.raises(ValueError, match="dropout"):
        kb.DNNRegressor([4], [C["x"]], dropout=1.5)
    with pytest.raises(ValueError, match="sparse_combiner"):
        kb.LinearClassifier([C["c"]], sparse_combiner="max")
    with pytest.raises(ValueError, match="linear_sparse_combiner"):
        kb.DNNLinearCombinedClassifier(linear_feature_columns=[C["c"]],
                                       linear_sparse_combiner="max")


def test_n_classes_and_weight_column_errors():
    with pytest.raises(ValueError, match="n_classes"):
        kb.DNNClassifier([4], [C["x"]], n_classes=1)
    with pytest.raises(TypeError, match="^Weight column must be either a string or "
                       "NumericColumn"):
        kb.BaselineClassifier(weight_column=3)


@pytest.mark.parametrize("opt, match", [
    (lambda: tf.keras.optimizers.Adam(clipnorm=1.0), "clipnorm"),
    (lambda: tf.keras.optimizers.SGD(weight_decay=0.1), "weight_decay"),
    (lambda: tf.keras.optimizers.Adagrad(
        tf.keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)), "schedule"),
    (lambda: tf.keras.optimizers.Nadam(), "not an Optimizer instance"),
    (lambda: object(), "not an Optimizer instance"),
])
def test_keras_optimizers_we_cannot_rebuild_are_a_clear_error(opt, match):
    with pytest.raises(ValueError, match=match):
        kb.DNNClassifier([4], [C["x"]], optimizer=opt())


def test_features_must_be_a_dict(tmp_path):
    est = kb.LinearClassifier([C["x"]], model_dir=str(tmp_path), config=_config())

    def bad_input_fn():
        return tf.data.Dataset.from_tensors((tf.zeros([2, 2]), tf.zeros([2, 1])))

    with pytest.raises(ValueError, match="^features should be a dictionary of `Tensor`s"):
        est.train(bad_input_fn, steps=1)


# -- optimizers, learning rates ----------------------------------------------------


def test_default_learning_rates_are_the_originals(tmp_path):
    """DNN: Adagrad 0.001; wide & deep: Ftrl at min(0.005, 1/sqrt(n)) counting its own
    iterations while the DNN optimizer counts the global step."""
    est = _train(kb.DNNLinearCombinedClassifier(
        linear_feature_columns=[C["c"], C["x"]], dnn_feature_columns=[C["x"]],
        dnn_hidden_units=[2], model_dir=str(tmp_path / "wd"), config=_config()), steps=2)
    assert est.get_variable_value("training/Adagrad/learning_rate") == pytest.approx(0.001)
    assert est.get_variable_value("training/Ftrl/learning_rate") == pytest.approx(0.005)
    assert est.get_variable_value("training/Ftrl/iter") == 2
    assert est.get_variable_value("global_step") == 2
    assert "training/Adagrad/iter" not in est.get_variable_names()


def test_linear_default_optimizer_rules(tmp_path):
    """'Ftrl' (the default argument) trains at 0.2; optimizer=None at
    min(0.2, 1/sqrt(number of columns))."""
    named = _train(kb.LinearClassifier([C["x"], C["c"]], model_dir=str(tmp_path / "a"),
                                       config=_config()))
    assert named.get_variable_value("training/Ftrl/learning_rate") == pytest.approx(0.2)
    many = [tf.feature_column.numeric_column(f"n{i}") for i in range(49)] + [C["x"]]
    data, labels = make(64, 0, "binary")
    data.update({f"n{i}": data["x"][:, 0] for i in range(49)})
    est = kb.LinearClassifier(many, optimizer=None, model_dir=str(tmp_path / "b"),
                              config=_config())
    est.train(input_fn(data, labels, batch=16), steps=1)
    assert est.get_variable_value("training/Ftrl/learning_rate") == pytest.approx(
        1 / math.sqrt(50))


def test_v1_optimizer_and_callable_are_accepted(tmp_path):
    sgd = _train(kb.DNNClassifier(
        [3], [C["x"]], optimizer=tf.compat.v1.train.GradientDescentOptimizer(0.1),
        model_dir=str(tmp_path / "v1"), config=_config()), steps=3)
    assert sgd.get_variable_value("global_step") == 3
    assert not [n for n in sgd.get_variable_names() if n.startswith("training/")]
    adam = _train(kb.LinearRegressor(
        [C["x"]], optimizer=lambda: tf.keras.optimizers.Adam(learning_rate=0.05),
        model_dir=str(tmp_path / "call"), config=_config()), task="regression", steps=2)
    assert adam.get_variable_value("training/Adam/learning_rate") == pytest.approx(0.05)
    assert adam.get_variable_value("global_step") == 2


def test_warm_start_from_another_model_dir(tmp_path):
    first = _train(kb.DNNClassifier([3], [C["x"], C["c_emb"]],
                                    model_dir=str(tmp_path / "a"), config=_config()), steps=3)
    second = kb.DNNClassifier(
        [3], [C["x"], C["c_emb"]], model_dir=str(tmp_path / "b"), config=_config(),
        optimizer=tf.keras.optimizers.SGD(learning_rate=0.0), warm_start_from=first.model_dir)
    _train(second, steps=1)
    for name in first.get_variable_names():
        if name.startswith("dnn/"):
            np.testing.assert_array_equal(second.get_variable_value(name),
                                          first.get_variable_value(name), err_msg=name)


def test_install_makes_tf_estimator_canned_estimators_resolve():
    kb.install()
    for name in ("DNNClassifier", "DNNRegressor", "DNNEstimator", "LinearClassifier",
                 "LinearRegressor", "LinearEstimator", "DNNLinearCombinedClassifier",
                 "DNNLinearCombinedRegressor", "DNNLinearCombinedEstimator",
                 "BaselineClassifier", "BaselineRegressor", "BaselineEstimator"):
        assert getattr(tf.estimator, name) is getattr(kb, name)
