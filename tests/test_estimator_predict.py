"""Estimator.predict: values, keys, batching, checkpoints, laziness."""

import logging
import threading

import numpy as np
import pytest
import tensorflow as tf

from _kb_models import X
from _kb_models import Y
from _kb_models import dnn_model_fn
from _kb_models import numpy_logits
from _kb_models import predict_input_fn
from _kb_models import train_input_fn
from kerasbridge._runtime import _session
from kerasbridge.estimator import Estimator
from kerasbridge.estimator_spec import EstimatorSpec
from kerasbridge.run_config import get_default_session_config

v1 = tf.compat.v1


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    estimator = Estimator(
        dnn_model_fn, model_dir=str(tmp_path_factory.mktemp("p")), params={}
    )
    estimator.train(train_input_fn, steps=20)
    return estimator


@pytest.fixture(scope="module")
def all_predictions(trained):
    return list(trained.predict(lambda: predict_input_fn(batch_size=10)))


def test_one_dict_per_example_matching_the_checkpoint(trained, all_predictions):
    assert len(all_predictions) == len(X)
    logits = np.stack([p["logits"] for p in all_predictions])
    np.testing.assert_allclose(
        logits, numpy_logits(trained, X), rtol=1e-4, atol=1e-5
    )
    assert [int(p["class_ids"]) for p in all_predictions] == list(
        logits.argmax(1)
    )
    assert set(all_predictions[0]) == {"class_ids", "logits", "probabilities"}


def test_whole_batches_when_not_single_examples(trained, all_predictions):
    batches = list(
        trained.predict(
            lambda: predict_input_fn(batch_size=10), yield_single_examples=False
        )
    )
    assert [len(b["logits"]) for b in batches] == [10] * 6 + [4]
    np.testing.assert_array_equal(
        np.concatenate([b["logits"] for b in batches]),
        np.stack([p["logits"] for p in all_predictions]),
    )


def test_predict_keys_filter(trained):
    first = next(trained.predict(predict_input_fn, predict_keys=["class_ids"]))
    assert set(first) == {"class_ids"}
    first = next(trained.predict(predict_input_fn, predict_keys="logits"))
    assert set(first) == {"logits"}


def test_unknown_predict_key_lists_the_available_ones(trained):
    with pytest.raises(
        ValueError,
        match=r"nope.*Available prediction keys: \['class_ids', 'logits', 'probabilities'\]",
    ):
        next(trained.predict(predict_input_fn, predict_keys=["logits", "nope"]))


def _tensor_model_fn(features, mode):
    weight = v1.get_variable("w", initializer=2.0)
    return EstimatorSpec(mode, predictions=features["x"][:, 0] * weight)


def test_single_tensor_predictions_and_keys_error(tmp_path):
    estimator = Estimator(_tensor_model_fn, model_dir=str(tmp_path))
    values = list(estimator.predict(predict_input_fn))
    np.testing.assert_allclose(values, X[:, 0] * 2.0)
    with pytest.raises(
        ValueError,
        match="predict_keys argument is not valid in case of non-dict predictions",
    ):
        next(estimator.predict(predict_input_fn, predict_keys=["a"]))


def test_batch_length_mismatch_is_an_error(tmp_path):
    def model_fn(features, mode):
        weight = v1.get_variable("w", initializer=1.0)
        x = features["x"] * weight
        return EstimatorSpec(mode, predictions={"rows": x, "first_two": x[:2]})

    estimator = Estimator(model_fn, model_dir=str(tmp_path))
    with pytest.raises(
        ValueError,
        match="Batch length of predictions should be same. first_two",
    ):
        next(estimator.predict(predict_input_fn))
    batch = next(
        estimator.predict(predict_input_fn, yield_single_examples=False)
    )
    assert batch["first_two"].shape == (2, 4)


def test_scalar_prediction_cannot_be_split(tmp_path):
    def model_fn(features, mode):
        weight = v1.get_variable("w", initializer=1.0)
        return EstimatorSpec(
            mode, predictions={"total": tf.reduce_sum(features["x"]) * weight}
        )

    estimator = Estimator(model_fn, model_dir=str(tmp_path))
    with pytest.raises(ValueError, match="'total' is a scalar"):
        next(estimator.predict(predict_input_fn))


def test_without_checkpoint_uses_fresh_variables(tmp_path, caplog):
    estimator = Estimator(_tensor_model_fn, model_dir=str(tmp_path))
    with caplog.at_level(logging.INFO, logger="tensorflow"):
        first = next(estimator.predict(predict_input_fn))
    assert first == pytest.approx(X[0, 0] * 2.0)
    assert "Could not find trained model in model_dir" in caplog.text
    assert estimator.latest_checkpoint() is None


def test_labels_are_ignored_and_model_fn_gets_none(trained):
    seen = []

    def model_fn(features, labels, mode, params):
        seen.append(labels)
        return dnn_model_fn(features, labels, mode, params)

    estimator = Estimator(model_fn, model_dir=trained.model_dir, params={})
    dataset_fn = lambda: tf.data.Dataset.from_tensor_slices(
        ({"x": X}, Y)
    ).batch(
        16
    )  # noqa: E731
    assert len(list(estimator.predict(dataset_fn))) == len(X)
    assert seen == [None]


def test_predict_is_lazy_and_runs_prediction_hooks(trained):
    calls = []

    class Counter(v1.train.SessionRunHook):
        def after_run(self, run_context, run_values):
            calls.append("hook")

    def model_fn(features, labels, mode, params):
        calls.append("model_fn")
        spec = dnn_model_fn(features, labels, mode, params)
        return spec._replace(prediction_hooks=[Counter()])

    estimator = Estimator(model_fn, model_dir=trained.model_dir, params={})
    generator = estimator.predict(lambda: predict_input_fn(batch_size=32))
    assert calls == []
    assert len(list(generator)) == len(X)
    assert calls == ["model_fn", "hook", "hook"]


def test_input_without_dataset_warns_that_it_never_ends(trained, caplog):
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        generator = trained.predict(lambda: {"x": tf.constant(X[:3])})
        for _ in range(6):  # the same 3 rows again and again
            next(generator)
        generator.close()
    assert "predict yields forever" in caplog.text


# -- session lifetime, restore and recovery ----------------------------------


def _write_checkpoint(model_dir, **values):
    """A name-based checkpoint with `global_step` and the given variables."""
    with tf.Graph().as_default():
        v1.train.get_or_create_global_step()
        for name, value in values.items():
            v1.get_variable(name, initializer=value)
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            return v1.train.Saver().save(session, f"{model_dir}/model.ckpt")


def _scaled_x_model_fn(features, mode):
    weight = v1.get_variable("w", initializer=1.0)
    return EstimatorSpec(mode, predictions=features["x"][:, 0] * weight)


class _SessionGrabber(v1.train.SessionRunHook):
    def __init__(self):
        self.sessions = []

    def after_create_session(self, session, coord):
        self.sessions.append(session)


def test_closing_the_generator_early_closes_the_session(trained):
    threads = threading.active_count()
    grabber = _SessionGrabber()
    generator = trained.predict(predict_input_fn, hooks=[grabber])
    for i, _ in enumerate(generator):
        if i == 2:
            break
    generator.close()
    (session,) = grabber.sessions
    global_step = session.graph.get_tensor_by_name("global_step:0")
    with pytest.raises(
        (RuntimeError, tf.errors.CancelledError), match="(?i)closed"
    ):
        session.run(global_step)
    assert threading.active_count() == threads


def test_hooks_that_watch_runs_see_every_batch_in_order(trained):
    seen = []

    class Record(v1.train.SessionRunHook):
        def before_run(self, run_context):
            return v1.train.SessionRunArgs(run_context.original_args.fetches)

        def after_run(self, run_context, run_values):
            seen.append(run_values.results["logits"])

    rows = list(
        trained.predict(
            lambda: predict_input_fn(batch_size=10), hooks=[Record()]
        )
    )
    assert [len(batch) for batch in seen] == [10] * 6 + [4]
    np.testing.assert_array_equal(
        np.concatenate(seen), np.stack([row["logits"] for row in rows])
    )


def test_lookup_tables_and_local_variables_are_initialised(tmp_path):
    def model_fn(features, mode):
        weight = v1.get_variable("w", initializer=1.0)
        table = v1.lookup.StaticHashTable(
            v1.lookup.KeyValueTensorInitializer(
                tf.constant([0, 1, 2, 3], tf.int64),
                tf.constant([10.0, 20.0, 30.0, 40.0]),
            ),
            default_value=-1.0,
        )
        offset = v1.get_variable(
            "offset",
            initializer=0.5,
            collections=[v1.GraphKeys.LOCAL_VARIABLES],
        )
        ids = tf.cast(features["x"][:, 0], tf.int64) % 4
        return EstimatorSpec(
            mode, predictions=table.lookup(ids) * weight + offset
        )

    _write_checkpoint(tmp_path, w=2.0)
    estimator = Estimator(model_fn, model_dir=str(tmp_path))
    ids = np.trunc(X[:, 0]).astype(np.int64) % 4
    np.testing.assert_allclose(
        list(estimator.predict(predict_input_fn)),
        np.array([10.0, 20.0, 30.0, 40.0])[ids] * 2.0 + 0.5,
    )


def test_a_saver_in_the_scaffold_restores(tmp_path):
    def model_fn(features, mode):
        weight = v1.get_variable("w", initializer=1.0)
        saver = v1.train.Saver(
            {"stored_w": weight, "global_step": v1.train.get_global_step()}
        )
        return EstimatorSpec(
            mode,
            predictions=features["x"][:, 0] * weight,
            scaffold=v1.train.Scaffold(saver=saver),
        )

    _write_checkpoint(tmp_path, stored_w=5.0)
    estimator = Estimator(model_fn, model_dir=str(tmp_path))
    np.testing.assert_allclose(
        list(estimator.predict(predict_input_fn)), X[:, 0] * 5.0
    )


def test_a_custom_local_init_op_runs(tmp_path):
    def model_fn(features, mode):
        weight = v1.get_variable(
            "scale",
            initializer=0.0,
            collections=[v1.GraphKeys.LOCAL_VARIABLES],
        )
        scaffold = v1.train.Scaffold(local_init_op=weight.assign(7.0).op)
        return EstimatorSpec(
            mode, predictions=features["x"][:, 0] * weight, scaffold=scaffold
        )

    _write_checkpoint(tmp_path)
    estimator = Estimator(model_fn, model_dir=str(tmp_path))
    np.testing.assert_allclose(
        list(estimator.predict(predict_input_fn)), X[:, 0] * 7.0
    )


def _saver_restore_error(checkpoint, build_graph):
    """The error `tf.compat.v1.train.Saver.restore` raises for a graph."""
    with tf.Graph().as_default():
        v1.train.get_or_create_global_step()
        build_graph()
        saver = v1.train.Saver()
        with v1.Session() as session:
            with pytest.raises(tf.errors.OpError) as info:
                saver.restore(session, checkpoint)
    return info.value


def _restore_failure_summary(error):
    return type(error), error.message.split("Original error:")[0]


def test_restore_errors_are_the_savers_for_a_variable_a_hook_adds(tmp_path):
    class AddsVariable(v1.train.SessionRunHook):
        def begin(self):
            v1.get_variable("added_by_hook", initializer=1.0)

    checkpoint = _write_checkpoint(tmp_path, w=2.0)
    expected = _saver_restore_error(
        checkpoint,
        lambda: (
            v1.get_variable("w", initializer=1.0),
            v1.get_variable("added_by_hook", initializer=1.0),
        ),
    )
    estimator = Estimator(_scaled_x_model_fn, model_dir=str(tmp_path))
    with pytest.raises(tf.errors.NotFoundError) as info:
        next(estimator.predict(predict_input_fn, hooks=[AddsVariable()]))
    assert _restore_failure_summary(info.value) == _restore_failure_summary(
        expected
    )
    assert "added_by_hook" in info.value.message


def test_restore_errors_are_the_savers_for_another_dtype(tmp_path):
    checkpoint = _write_checkpoint(tmp_path, w=np.float64(2.0))
    expected = _saver_restore_error(
        checkpoint, lambda: v1.get_variable("w", initializer=1.0)
    )
    estimator = Estimator(_scaled_x_model_fn, model_dir=str(tmp_path))
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        next(estimator.predict(predict_input_fn))
    assert _restore_failure_summary(info.value) == _restore_failure_summary(
        expected
    )


def test_a_preempted_run_recovers_as_in_a_monitored_session(
    tmp_path, monkeypatch
):
    """An AbortedError recreates the session, whether hooks watch or not."""
    _write_checkpoint(tmp_path, w=3.0)
    make_callable = v1.Session.make_callable

    def predict(hooks):
        calls = []

        def failing_third_call(self, fetches, *args, **kwargs):
            run = make_callable(self, fetches, *args, **kwargs)

            def wrapped(*run_args, **run_kwargs):
                calls.append(None)
                if len(calls) == 3:
                    raise tf.errors.AbortedError(None, None, "preempted")
                return run(*run_args, **run_kwargs)

            return wrapped

        monkeypatch.setattr(v1.Session, "make_callable", failing_third_call)
        estimator = Estimator(_scaled_x_model_fn, model_dir=str(tmp_path))
        return [
            float(value)
            for value in estimator.predict(
                lambda: predict_input_fn(X[:10], batch_size=4), hooks=hooks
            )
        ]

    class Watch(v1.train.SessionRunHook):
        def after_run(self, run_context, run_values):
            pass

    unwatched, watched = predict([]), predict([Watch()])
    assert unwatched == watched
    # The recreated session re-initialises the input: it starts over.
    assert len(unwatched) > 10
    np.testing.assert_allclose(unwatched[-10:], X[:10, 0] * 3.0, rtol=1e-6)


def test_the_session_config_a_user_gives_is_used_unchanged():
    user_config = v1.ConfigProto(inter_op_parallelism_threads=1)
    assert _session.with_pruned_placement(user_config, "") is user_config
    default = get_default_session_config()
    assert _session.with_pruned_placement(default, "grpc://a:1") is default
    tuned = _session.with_pruned_placement(default, "")
    assert tuned.graph_options.place_pruned_graph
    assert default == get_default_session_config()
    tuned.graph_options.place_pruned_graph = False
    assert tuned == default


def test_a_checkpoint_saver_hook_finds_the_default_saver(trained, tmp_path):
    hook = v1.train.CheckpointSaverHook(str(tmp_path), save_steps=1000)
    rows = list(trained.predict(predict_input_fn, hooks=[hook]))
    assert len(rows) == len(X)
    assert tf.train.load_variable(
        tf.train.latest_checkpoint(str(tmp_path)), "global_step"
    ) == tf.train.load_variable(trained.latest_checkpoint(), "global_step")
