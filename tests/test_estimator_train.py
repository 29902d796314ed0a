"""Estimator.train: steps, checkpoints, hooks, listeners, summaries, inputs."""

import glob
import logging
import os

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st

from _kb_models import X
from _kb_models import Y
from _kb_models import dnn_model_fn
from _kb_models import eval_input_fn
from _kb_models import train_input_fn
from kerasbridge._runtime import _session
from kerasbridge.estimator import Estimator
from kerasbridge.estimator_spec import EstimatorSpec
from kerasbridge.mode_keys import ModeKeys
from kerasbridge.run_config import RunConfig

v1 = tf.compat.v1
PARAMS = {"hidden": [8]}


def _estimator(model_dir, config=None, **kwargs):
    return Estimator(
        dnn_model_fn,
        model_dir=str(model_dir),
        config=config,
        params=dict(PARAMS, **kwargs),
    )


def _checkpoint_paths(model_dir):
    state = tf.train.get_checkpoint_state(str(model_dir))
    return [os.path.basename(p) for p in state.all_model_checkpoint_paths]


def _event_tags(directory):
    tags = {}
    for path in glob.glob(
        os.path.join(str(directory), "events.out.tfevents.*")
    ):
        for event in v1.train.summary_iterator(path):
            for value in event.summary.value:
                tags.setdefault(value.tag, []).append(event.step)
    return tags


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """An estimator trained 5 then 5 more steps, with a recording hook."""
    model_dir = tmp_path_factory.mktemp("trained")
    estimator = _estimator(model_dir)
    estimator.train(train_input_fn, steps=5)
    first = _checkpoint_paths(model_dir)
    estimator.train(train_input_fn, steps=5)
    return estimator, first


def test_steps_add_up_across_calls(trained):
    estimator, _ = trained
    assert estimator.get_variable_value("global_step") == 10


def test_checkpoints_at_start_and_end_of_a_call(trained):
    estimator, first = trained
    assert first == ["model.ckpt-0", "model.ckpt-5"]
    assert os.path.basename(estimator.latest_checkpoint()) == "model.ckpt-10"


def test_variable_names_are_the_original_names(trained):
    estimator, _ = trained
    names = set(estimator.get_variable_names())
    assert {
        "global_step",
        "dense/kernel",
        "dense/bias",
        "dense_1/kernel",
        "dense_1/bias",
    } <= names
    assert "dense/kernel/Adagrad" in names


def test_summaries_have_loss_and_steps_per_second(trained):
    estimator, _ = trained
    tags = _event_tags(estimator.model_dir)
    # SummarySaverHook records a step's summaries at the step count after it.
    assert sorted(tags["loss"]) == [1, 6]
    assert os.path.exists(os.path.join(estimator.model_dir, "graph.pbtxt"))


def test_max_steps_is_absolute_and_skips_when_reached(tmp_path):
    estimator = _estimator(tmp_path)
    estimator.train(train_input_fn, max_steps=5)
    assert estimator.train(train_input_fn, max_steps=5) is estimator
    assert estimator.get_variable_value("global_step") == 5
    assert _checkpoint_paths(tmp_path) == ["model.ckpt-0", "model.ckpt-5"]
    estimator.train(train_input_fn, max_steps=7)
    assert estimator.get_variable_value("global_step") == 7


def test_keep_checkpoint_max_and_saving_listeners(tmp_path):
    events = []

    class Listener(v1.train.CheckpointSaverListener):
        def begin(self):
            events.append("begin")

        def after_save(self, session, global_step_value):
            events.append(("save", int(global_step_value)))

        def end(self, session, global_step_value):
            events.append(("end", int(global_step_value)))

    config = RunConfig(save_checkpoints_steps=2, keep_checkpoint_max=2)
    estimator = _estimator(tmp_path, config=config)
    estimator.train(train_input_fn, steps=5, saving_listeners=[Listener()])
    assert _checkpoint_paths(tmp_path) == ["model.ckpt-4", "model.ckpt-5"]
    assert events[0] == "begin" and events[-1] == ("end", 5)
    assert [e for e in events if e[0] == "save"] == [
        ("save", s) for s in (0, 2, 4, 5)
    ]


def test_saving_listeners_need_checkpointing(tmp_path):
    config = RunConfig(save_checkpoints_steps=None, save_checkpoints_secs=None)
    estimator = _estimator(tmp_path, config=config)
    with pytest.raises(
        ValueError, match="There should be a CheckpointSaverHook"
    ):
        estimator.train(
            train_input_fn,
            steps=1,
            saving_listeners=[v1.train.CheckpointSaverListener()],
        )
    assert estimator.latest_checkpoint() is None


def test_hooks_from_user_and_spec_run(tmp_path):
    calls = {"user": 0, "training": 0, "chief": 0}

    class Counter(v1.train.SessionRunHook):
        def __init__(self, key):
            self.key = key

        def after_run(self, run_context, run_values):
            calls[self.key] += 1

    def model_fn(features, labels, mode, params):
        spec = dnn_model_fn(features, labels, mode, params)
        return spec._replace(
            training_hooks=[Counter("training")],
            training_chief_hooks=[Counter("chief")],
        )

    Estimator(model_fn, model_dir=str(tmp_path), params=PARAMS).train(
        train_input_fn, steps=3, hooks=[Counter("user")]
    )
    assert calls == {"user": 3, "training": 3, "chief": 3}


def test_logs_loss_and_steps_per_second(tmp_path, caplog):
    config = RunConfig(log_step_count_steps=2)
    estimator = _estimator(tmp_path, config=config)
    with caplog.at_level(logging.INFO, logger="tensorflow"):
        estimator.train(train_input_fn, steps=5)
    text = caplog.text
    assert "loss = " in text and "step = 2" in text
    assert "global_step/sec" in text
    assert "Loss for final step" in text
    assert "global_step/sec" in _event_tags(tmp_path)


def test_user_summaries_are_written_every_save_summary_steps(tmp_path):
    def model_fn(features, labels, mode):
        weight = v1.get_variable("w", initializer=1.0)
        loss = tf.reduce_mean(features["x"]) * weight
        v1.summary.scalar("my_metric", loss * 2.0)
        train_op = v1.train.GradientDescentOptimizer(0.0).minimize(
            loss, global_step=v1.train.get_global_step()
        )
        return EstimatorSpec(mode, loss=loss, train_op=train_op)

    config = RunConfig(save_summary_steps=2)
    Estimator(model_fn, model_dir=str(tmp_path), config=config).train(
        train_input_fn, steps=5
    )
    tags = _event_tags(tmp_path)
    assert sorted(tags["my_metric"]) == [1, 3, 5]
    assert sorted(tags["loss"]) == [1, 3, 5]


def test_nan_loss_stops_training_and_keeps_checkpoints(tmp_path):
    estimator = _estimator(tmp_path)
    estimator.train(train_input_fn, steps=3)
    before = estimator.get_variable_value("dense/kernel")

    def nan_model_fn(features, labels, mode, params):
        spec = dnn_model_fn(features, labels, mode, params)
        step = v1.train.get_global_step()
        loss = tf.where(step >= 4, np.float32(np.nan), spec.loss)
        return spec._replace(loss=loss)

    nan_estimator = Estimator(
        nan_model_fn, model_dir=str(tmp_path), params=PARAMS
    )
    with pytest.raises(v1.train.NanLossDuringTrainingError):
        nan_estimator.train(train_input_fn, steps=10)
    for path in tf.train.get_checkpoint_state(
        str(tmp_path)
    ).all_model_checkpoint_paths:
        assert (
            tf.train.load_variable(path, "dense/kernel").shape == before.shape
        )
    np.testing.assert_array_equal(
        estimator.get_variable_value("dense/kernel"), before
    )
    assert estimator.evaluate(eval_input_fn)["global_step"] == 3


def test_input_fn_forms_and_declared_args(tmp_path):
    seen = {}

    def tuple_input_fn(mode, params, config, input_context):
        seen.update(mode=mode, params=params, config=config, ctx=input_context)
        return {"x": tf.constant(X[:8])}, tf.constant(Y[:8])

    estimator = _estimator(tmp_path)
    estimator.train(tuple_input_fn, steps=2)
    assert estimator.get_variable_value("global_step") == 2
    assert seen["mode"] == ModeKeys.TRAIN
    assert seen["params"] == PARAMS
    assert seen["config"].model_dir == str(tmp_path)
    assert seen["ctx"].num_input_pipelines == 1


def test_features_only_dataset_for_unsupervised_model(tmp_path):
    def model_fn(features, mode, config):
        center = v1.get_variable(
            "center", shape=[4], initializer=tf.zeros_initializer()
        )
        loss = tf.reduce_mean(tf.square(features["x"] - center))
        train_op = v1.train.GradientDescentOptimizer(0.5).minimize(
            loss, global_step=v1.train.get_global_step()
        )
        return EstimatorSpec(mode, loss=loss, train_op=train_op)

    def input_fn():
        return tf.data.Dataset.from_tensor_slices({"x": X}).repeat().batch(64)

    estimator = Estimator(model_fn, model_dir=str(tmp_path))
    estimator.train(input_fn, steps=20)
    np.testing.assert_allclose(
        estimator.get_variable_value("center"), X.mean(0), atol=1e-3
    )


def test_empty_input_ends_training_without_steps(tmp_path):
    estimator = _estimator(tmp_path)
    estimator.train(lambda: eval_input_fn().take(0), steps=5)
    assert estimator.get_variable_value("global_step") == 0


def test_tf_random_seed_makes_initialisation_repeatable(tmp_path):
    config = RunConfig(tf_random_seed=7)
    values = []
    for name in ("a", "b"):
        estimator = _estimator(tmp_path / name, config=config, lr=0.0)
        estimator.train(train_input_fn, steps=1)
        values.append(estimator.get_variable_value("dense/kernel"))
    np.testing.assert_array_equal(values[0], values[1])


def _write_legacy_checkpoint(model_dir, step=42):
    """A checkpoint as the original tf.estimator + Keras 2 wrote it."""
    rng = np.random.default_rng(3)
    values = {
        "dense/kernel": rng.normal(size=(4, 8)).astype(np.float32),
        "dense/bias": rng.normal(size=(8,)).astype(np.float32),
        "dense_1/kernel": rng.normal(size=(8, 3)).astype(np.float32),
        "dense_1/bias": rng.normal(size=(3,)).astype(np.float32),
    }
    slots = {
        f"{name}/Adagrad": np.full_like(v, 0.1) for name, v in values.items()
    }
    with tf.Graph().as_default():
        variables = [
            v1.Variable(value, name=name)
            for name, value in {**values, **slots}.items()
        ]
        variables.append(v1.Variable(np.int64(step), name="global_step"))
        saver = v1.train.Saver(variables)
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            saver.save(
                session,
                os.path.join(str(model_dir), "model.ckpt"),
                global_step=step,
            )
    return values


def test_legacy_checkpoint_evaluates_and_continues_training(tmp_path):
    values = _write_legacy_checkpoint(tmp_path)
    estimator = _estimator(tmp_path)
    result = estimator.evaluate(eval_input_fn)
    assert result["global_step"] == 42
    hidden = np.maximum(X @ values["dense/kernel"] + values["dense/bias"], 0)
    logits = hidden @ values["dense_1/kernel"] + values["dense_1/bias"]
    shifted = logits - logits.max(1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    batch_losses = [
        -log_probs[i : i + 16][np.arange(16), Y[i : i + 16]].mean()
        for i in range(0, 64, 16)
    ]
    np.testing.assert_allclose(result["loss"], np.mean(batch_losses), rtol=1e-5)
    estimator.train(train_input_fn, steps=3)
    assert estimator.get_variable_value("global_step") == 45
    assert not np.array_equal(
        estimator.get_variable_value("dense/kernel"), values["dense/kernel"]
    )


def test_batch_norm_moving_statistics_are_updated(tmp_path):
    batch = np.array([[1.0, 2.0], [3.0, 6.0]], np.float32)

    def model_fn(features, labels, mode):
        out = tf.keras.layers.BatchNormalization(momentum=0.9)(
            features, training=mode == ModeKeys.TRAIN
        )
        loss = tf.reduce_mean(tf.square(out))
        train_op = v1.train.GradientDescentOptimizer(0.0).minimize(
            loss, global_step=v1.train.get_global_step()
        )
        return EstimatorSpec(mode, loss=loss, train_op=train_op)

    estimator = Estimator(model_fn, model_dir=str(tmp_path))
    estimator.train(
        lambda: tf.data.Dataset.from_tensors((batch, batch)).repeat(), steps=4
    )
    expected_mean = batch.mean(0) * (1 - 0.9**4)
    expected_var = 1 + (batch.var(0) - 1) * (1 - 0.9**4)
    np.testing.assert_allclose(
        estimator.get_variable_value("batch_normalization/moving_mean"),
        expected_mean,
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        estimator.get_variable_value("batch_normalization/moving_variance"),
        expected_var,
        rtol=1e-5,
    )


def test_dropout_draws_a_new_mask_every_step(tmp_path):
    masks = []

    class MaskRecorder(v1.train.SessionRunHook):
        def __init__(self, tensor):
            self.tensor = tensor

        def before_run(self, run_context):
            return v1.train.SessionRunArgs(self.tensor)

        def after_run(self, run_context, run_values):
            masks.append(run_values.results != 0)

    def model_fn(features, labels, mode):
        weight = v1.get_variable("w", initializer=1.0)
        dropped = tf.keras.layers.Dropout(0.5)(features * weight, training=True)
        loss = tf.reduce_mean(dropped)
        train_op = v1.train.GradientDescentOptimizer(0.0).minimize(
            loss, global_step=v1.train.get_global_step()
        )
        return EstimatorSpec(
            mode,
            loss=loss,
            train_op=train_op,
            training_hooks=[MaskRecorder(dropped)],
        )

    ones = np.ones((1, 64), np.float32)
    Estimator(model_fn, model_dir=str(tmp_path)).train(
        lambda: tf.data.Dataset.from_tensors((ones, ones)).repeat(), steps=4
    )
    assert len(masks) == 4
    assert all(not np.array_equal(a, b) for a, b in zip(masks, masks[1:]))


def test_properties_and_temporary_model_dir():
    estimator = Estimator(dnn_model_fn, params={"hidden": [4]})
    assert os.path.isdir(estimator.model_dir)
    assert estimator.config.model_dir == estimator.model_dir
    estimator.params["hidden"].append(99)
    assert estimator.params == {"hidden": [4]}
    with tf.Graph().as_default():
        v1.train.create_global_step()
        features = {"x": tf.constant(X[:2])}
        spec = estimator.model_fn(
            features, None, ModeKeys.PREDICT, estimator.config
        )
    assert isinstance(spec, EstimatorSpec)
    assert set(spec.predictions) == {"class_ids", "logits", "probabilities"}


@pytest.fixture(scope="module")
def fetch_graph():
    graph = tf.Graph()
    with graph.as_default():
        counter = v1.Variable(0, dtype=tf.int64, name="counter")
        step = counter.assign_add(1)
        tensors = [tf.constant(i, name=f"c{i}") * 10 for i in range(3)]
        session = v1.Session(graph=graph)
        session.run(counter.initializer)
    yield graph, session, [step, *tensors]
    session.close()


_fetch_structures = st.recursive(
    st.integers(0, 3),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(st.sampled_from("abc"), children, max_size=3),
    ),
    max_leaves=6,
)


@given(structure=_fetch_structures, repeats=st.integers(1, 3))
def test_cached_session_runs_return_what_session_run_returns(
    fetch_graph, structure, repeats
):
    """The training loop's fetch-caching session against `Session.run`."""
    graph, session, leaves = fetch_graph

    def build(s):
        if isinstance(s, int):
            return leaves[s]
        if isinstance(s, dict):
            return {k: build(v) for k, v in s.items()}
        return type(s)(build(v) for v in s)

    def without_counter(result, s):
        # The stateful leaf 0 differs between runs; compare the rest.
        if isinstance(s, int):
            return None if s == 0 else result
        if isinstance(s, dict):
            return {k: without_counter(result[k], s[k]) for k in s}
        return [without_counter(r, x) for r, x in zip(result, s)]

    fetches = build(structure)
    cached = _session._CachedRunSession(session)
    with graph.as_default():
        for _ in range(repeats):
            got = cached.run(fetches)
            expected = session.run(fetches)
            assert type(got) is type(expected)
            assert without_counter(got, structure) == without_counter(
                expected, structure
            )


def test_no_step_logging_when_log_step_count_steps_is_none(tmp_path, caplog):
    config = RunConfig(log_step_count_steps=None)
    estimator = _estimator(tmp_path, config=config)
    with caplog.at_level(logging.INFO, logger="tensorflow"):
        estimator.train(train_input_fn, steps=3)
    assert estimator.get_variable_value("global_step") == 3
    assert "loss = " not in caplog.text and "global_step/sec" not in caplog.text
