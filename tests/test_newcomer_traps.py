"""What a newcomer trips over (issue 15): each trap has its own test.

* an eagerly built dataset used by an input_fn;
* a single feature column given to featurec.compile / featurec.input_layer;
* a public numeric argument of the wrong type;
* featurec.dataset on an unbatched dataset, and its embedding output given to
  TF's input_layer;
* TF deprecation warnings printed for kerasbridge's own v1 API use.
"""

import logging

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.util import deprecation

import featurec
import kerasbridge as kb

fc = tf.feature_column
X = np.arange(8, dtype=np.float32)


def _model_fn(features, labels, mode):
    w = tf.compat.v1.get_variable("w", initializer=0.0)
    predictions = features["x"] * w
    if mode == kb.ModeKeys.PREDICT:
        return kb.EstimatorSpec(mode, predictions={"y": predictions})
    loss = tf.reduce_mean(tf.square(predictions - labels))
    train_op = tf.compat.v1.train.GradientDescentOptimizer(0.01).minimize(
        loss, global_step=tf.compat.v1.train.get_global_step()
    )
    return kb.EstimatorSpec(mode, loss=loss, train_op=train_op)


@pytest.fixture()
def estimator(tmp_path):
    return kb.Estimator(_model_fn, model_dir=str(tmp_path))


# -- an eagerly built dataset ---------------------------------------------


def test_dataset_built_before_the_input_fn_trains(estimator):
    raw_ds = tf.data.Dataset.from_tensor_slices(({"x": X}, 2 * X))
    # Batching inside the input_fn (what the README's Keras snippet did).
    estimator.train(lambda: raw_ds.batch(4).repeat(), steps=3)
    assert estimator.get_variable_value("global_step") == 3
    # Returning the eager dataset itself; a numpy_function inside it.
    mapped = raw_ds.batch(4).map(
        lambda f, l: (
            {"x": tf.numpy_function(lambda a: a + 0, [f["x"]], tf.float32)},
            l,
        )
    )
    estimator.train(lambda: mapped, steps=10)
    # The dataset ends after its 2 batches.
    assert estimator.get_variable_value("global_step") == 5
    predictions = list(estimator.predict(lambda: raw_ds.batch(8)))
    assert len(predictions) == 8


def test_eager_tensors_from_outside_become_constants(estimator):
    x, y = tf.constant(X), tf.constant(2 * X)
    estimator.train(lambda: ({"x": x}, y), steps=2)
    assert estimator.get_variable_value("global_step") == 2


def test_unusable_eager_capture_says_to_build_inside_input_fn(estimator):
    scale = tf.constant(2.0)  # eager, used in graph ops by the input_fn

    def input_fn():
        return {"x": scale * tf.ones([4])}, tf.ones([4])

    with pytest.raises(ValueError, match="Build the dataset inside input_fn"):
        estimator.train(input_fn, steps=1)


# -- a single feature column ----------------------------------------------


def test_featurec_compile_accepts_a_single_column():
    age = fc.numeric_column("age")
    transform = featurec.compile(age)
    out = transform({"age": np.array([1.0, 2.5])})
    np.testing.assert_array_equal(out, [[1.0], [2.5]])


def test_featurec_input_layer_accepts_a_single_column_like_tf():
    city = fc.indicator_column(
        fc.categorical_column_with_vocabulary_list("city", ["a", "b", "c"])
    )
    with tf.Graph().as_default():
        features = {"city": tf.constant([["b"], ["c"]])}
        ours = featurec.input_layer(features, city)
        theirs = tf.compat.v1.feature_column.input_layer(features, city)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.tables_initializer())
            ours, theirs = session.run([ours, theirs])
    np.testing.assert_array_equal(ours, theirs)


# -- numeric arguments ----------------------------------------------------


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda est: est.train(lambda: None, steps="10"), "steps"),
        (lambda est: est.train(lambda: None, max_steps=2.5), "max_steps"),
        (lambda est: est.evaluate(lambda: None, steps="1"), "steps"),
        (lambda est: kb.TrainSpec(lambda: None, max_steps="9"), "max_steps"),
        (lambda est: kb.EvalSpec(lambda: None, steps="9"), "steps"),
        (
            lambda est: kb.EvalSpec(lambda: None, throttle_secs="60"),
            "throttle_secs",
        ),
        (
            lambda est: kb.EvalSpec(lambda: None, start_delay_secs="120"),
            "start_delay_secs",
        ),
        (lambda est: kb.RunConfig(save_summary_steps="5"), "save_summary_steps"),
        (
            lambda est: kb.RunConfig(save_checkpoints_secs="5"),
            "save_checkpoints_secs",
        ),
        (lambda est: kb.RunConfig(keep_checkpoint_max=True), "keep_checkpoint_max"),
        (
            lambda est: kb.experimental.stop_if_no_decrease_hook(
                est, "loss", max_steps_without_decrease="100"
            ),
            "max_steps_without_decrease",
        ),
        (
            lambda est: kb.experimental.stop_if_higher_hook(
                est, "accuracy", 0.9, min_steps="5"
            ),
            "min_steps",
        ),
        (
            lambda est: kb.experimental.make_early_stopping_hook(
                est, lambda: False, run_every_secs="60"
            ),
            "run_every_secs",
        ),
    ],
)
def test_numeric_arguments_name_themselves(estimator, call, name):
    with pytest.raises(TypeError, match=rf"^{name} must be"):
        call(estimator)


# -- featurec.dataset -----------------------------------------------------


def test_featurec_dataset_rejects_an_unbatched_dataset_up_front():
    unbatched = tf.data.Dataset.from_tensor_slices(({"age": X}, X))
    age = fc.numeric_column("age")
    with pytest.raises(ValueError, match=r"needs a batched dataset.*'age'"):
        featurec.dataset(unbatched, [age])
    with pytest.raises(ValueError, match="keras_dataset needs a batched"):
        featurec.keras_dataset(unbatched, [age])


def test_featurec_dataset_embedding_output_explains_itself_to_tf():
    age = fc.numeric_column("age")
    emb = fc.embedding_column(fc.categorical_column_with_identity("c", 5), 2)
    with tf.Graph().as_default():
        raw = tf.data.Dataset.from_tensor_slices(
            {"age": X[:4], "c": np.arange(4)}
        ).batch(2)
        features = tf.compat.v1.data.make_one_shot_iterator(
            featurec.dataset(raw, [age, emb])
        ).get_next()
        assert featurec.DENSE_KEY in features
        assert "age" not in features  # ordinary lookups stay ordinary
        with pytest.raises(ValueError, match="featurec.input_layer"):
            tf.compat.v1.feature_column.input_layer(features, [age, emb])
        assert featurec.input_layer(features, [age, emb]).shape[1] == 3


# -- deprecation warnings ---------------------------------------------------


def _deprecations(caplog):
    return [r.getMessage() for r in caplog.records if "is deprecated" in r.getMessage()]


def test_train_and_export_print_no_deprecations_of_our_own_but_the_users_do(
    estimator, tmp_path, monkeypatch, caplog
):
    def input_fn():
        return tf.data.Dataset.from_tensor_slices(({"x": X}, X)).batch(4)

    estimator.train(input_fn, steps=1)
    # TF prints each deprecation once per process: start from a clean slate.
    monkeypatch.setattr(deprecation, "_PRINTED_WARNING", {})
    caplog.set_level(logging.WARNING, logger="tensorflow")
    estimator.train(input_fn, steps=1)  # resumes: the Saver recovers checkpoints
    receiver = kb.export.build_raw_serving_input_receiver_fn(
        {"x": tf.TensorSpec([None], tf.float32)}
    )
    estimator.export_saved_model(str(tmp_path / "export"), receiver)
    assert _deprecations(caplog) == []
    # The same deprecated function called by the user still warns.
    with tf.Graph().as_default():
        tf.compat.v1.saved_model.utils.build_tensor_info(tf.constant([1.0]))
    assert any("build_tensor_info" in m for m in _deprecations(caplog))
    assert deprecation._PRINT_DEPRECATION_WARNINGS  # noqa: SLF001
