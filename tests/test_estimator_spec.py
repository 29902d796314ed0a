"""EstimatorSpec validation and normalisation, as in tf.estimator 2.15."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st
from tensorflow.python.saved_model.model_utils import export_output
from tensorflow.python.saved_model.model_utils import mode_keys as tf_mode_keys

from kerasbridge.estimator_spec import EstimatorSpec
from kerasbridge.estimator_spec import keras_metric_as_tuple
from kerasbridge.mode_keys import ModeKeys


@pytest.fixture
def graph():
    g = tf.Graph()
    with g.as_default():
        yield g


def _train_op():
    return tf.no_op(name="train")


def test_mode_keys_are_tf_core_estimator_mode_keys():
    assert ModeKeys is tf_mode_keys.EstimatorModeKeys
    assert (ModeKeys.TRAIN, ModeKeys.EVAL, ModeKeys.PREDICT) == (
        "train",
        "eval",
        "infer",
    )


# --- required fields per mode ---------------------------------------------


@pytest.mark.parametrize(
    "mode, kwargs, message",
    [
        (ModeKeys.TRAIN, {"loss": "scalar"}, "Missing train_op."),
        (ModeKeys.TRAIN, {"train_op": "op"}, "Missing loss."),
        (ModeKeys.EVAL, {}, "Missing loss."),
        (ModeKeys.PREDICT, {}, "Missing predictions."),
    ],
)
def test_missing_required_field_raises(graph, mode, kwargs, message):
    values = {"scalar": tf.constant(1.0), "op": _train_op()}
    kwargs = {k: values[v] for k, v in kwargs.items()}
    with pytest.raises(ValueError, match=f"^{message}$"):
        EstimatorSpec(mode, **kwargs)


def test_each_mode_accepts_its_minimal_fields(graph):
    loss = tf.constant(2.0)
    train = EstimatorSpec(ModeKeys.TRAIN, loss=loss, train_op=_train_op())
    evaluation = EstimatorSpec(ModeKeys.EVAL, loss=loss)
    predict = EstimatorSpec(ModeKeys.PREDICT, predictions=tf.constant([1.0]))
    assert train.mode == "train" and evaluation.mode == "eval"
    assert predict.loss is None and predict.train_op is None


def test_defaults_are_normalised(graph):
    spec = EstimatorSpec(ModeKeys.EVAL, loss=tf.constant(1.0))
    assert spec.predictions == {}
    assert spec.eval_metric_ops == {}
    assert spec.export_outputs is None  # only PREDICT gets defaults
    for field in (
        "training_chief_hooks",
        "training_hooks",
        "evaluation_hooks",
        "prediction_hooks",
    ):
        assert getattr(spec, field) == ()
    assert isinstance(spec.scaffold, tf.compat.v1.train.Scaffold)


# --- loss -----------------------------------------------------------------


def test_loss_of_shape_one_is_reshaped_to_scalar(graph):
    spec = EstimatorSpec(ModeKeys.EVAL, loss=tf.constant([3.5]))
    assert spec.loss.shape == tf.TensorShape([])
    with tf.compat.v1.Session() as sess:
        assert sess.run(spec.loss) == 3.5


@given(
    dims=st.lists(st.integers(1, 3), min_size=0, max_size=3),
)
def test_loss_accepted_iff_one_element(dims):
    with tf.Graph().as_default():
        value = np.arange(1, int(np.prod(dims)) + 1, dtype=np.float32).reshape(dims)
        loss = tf.constant(value)
        if value.size == 1:
            spec = EstimatorSpec(ModeKeys.EVAL, loss=loss)
            with tf.compat.v1.Session() as sess:
                assert sess.run(spec.loss) == value.item()
        else:
            with pytest.raises(ValueError, match="Loss must be scalar, given: "):
                EstimatorSpec(ModeKeys.EVAL, loss=loss)


def test_loss_with_unknown_shape_is_accepted(graph):
    loss = tf.compat.v1.placeholder(tf.float32, shape=None)
    spec = EstimatorSpec(ModeKeys.EVAL, loss=loss)
    assert spec.loss is loss


def test_loss_must_be_tensor(graph):
    with pytest.raises(TypeError, match="loss must be Tensor, given: 1.0"):
        EstimatorSpec(ModeKeys.EVAL, loss=1.0)


def test_variable_loss_is_accepted(graph):
    variable = tf.compat.v1.Variable(2.0, use_resource=True)
    spec = EstimatorSpec(ModeKeys.EVAL, loss=variable)
    assert spec.loss is variable


# --- train_op -------------------------------------------------------------


def test_train_op_must_be_op_or_tensor(graph):
    with pytest.raises(TypeError, match="train_op must be Operation or Tensor"):
        EstimatorSpec(ModeKeys.TRAIN, loss=tf.constant(1.0), train_op="step")


def test_tensor_train_op_is_kept_and_variable_becomes_its_op(graph):
    loss = tf.constant(1.0)
    tensor_op = tf.constant(0)
    assert (
        EstimatorSpec(ModeKeys.TRAIN, loss=loss, train_op=tensor_op).train_op
        is tensor_op
    )
    variable = tf.compat.v1.Variable(0, use_resource=True)
    spec = EstimatorSpec(ModeKeys.TRAIN, loss=loss, train_op=variable)
    assert spec.train_op is variable.op


# --- predictions ----------------------------------------------------------


def test_predictions_dict_values_must_be_tensors(graph):
    with pytest.raises(TypeError, match=r"predictions\[probs\] must be Tensor"):
        EstimatorSpec(ModeKeys.PREDICT, predictions={"probs": [0.1]})
    with pytest.raises(TypeError, match="predictions must be Tensor"):
        EstimatorSpec(ModeKeys.PREDICT, predictions=[0.1])


# --- export_outputs -------------------------------------------------------


def test_predict_mode_gets_default_predict_output(graph):
    predictions = {"y": tf.constant([1.0]), "z": tf.constant([2.0])}
    spec = EstimatorSpec(ModeKeys.PREDICT, predictions=predictions)
    assert list(spec.export_outputs) == ["serving_default"]
    default = spec.export_outputs["serving_default"]
    assert isinstance(default, export_output.PredictOutput)
    assert default.outputs == predictions


def test_single_export_output_is_also_serving_default(graph):
    given_output = export_output.RegressionOutput(tf.constant([1.0]))
    user_dict = {"regress": given_output}
    spec = EstimatorSpec(
        ModeKeys.PREDICT,
        predictions=tf.constant([1.0]),
        export_outputs=user_dict,
    )
    assert spec.export_outputs == {
        "regress": given_output,
        "serving_default": given_output,
    }
    assert user_dict == {"regress": given_output}  # caller's dict untouched


def test_several_export_outputs_need_a_default(graph):
    outputs = {
        "a": export_output.RegressionOutput(tf.constant([1.0])),
        "b": export_output.RegressionOutput(tf.constant([2.0])),
    }
    with pytest.raises(ValueError, match="none of them are specified as the default"):
        EstimatorSpec(
            ModeKeys.PREDICT,
            predictions=tf.constant([1.0]),
            export_outputs=outputs,
        )


def test_export_outputs_types_are_checked(graph):
    predictions = tf.constant([1.0])
    with pytest.raises(TypeError, match="`export_outputs` must be dict"):
        EstimatorSpec(ModeKeys.PREDICT, predictions=predictions, export_outputs=[1])
    with pytest.raises(TypeError, match="must be ExportOutput objects"):
        EstimatorSpec(
            ModeKeys.PREDICT,
            predictions=predictions,
            export_outputs={"a": predictions},
        )


# --- hooks and scaffold ---------------------------------------------------


@pytest.mark.parametrize(
    "field",
    [
        "training_chief_hooks",
        "training_hooks",
        "evaluation_hooks",
        "prediction_hooks",
    ],
)
def test_hooks_must_be_session_run_hooks(graph, field):
    with pytest.raises(TypeError, match=f"SessionRunHook instances.*`{field}`"):
        EstimatorSpec(ModeKeys.EVAL, loss=tf.constant(1.0), **{field: ["not a hook"]})


def test_hooks_become_tuples(graph):
    hook = tf.compat.v1.train.StopAtStepHook(last_step=3)
    spec = EstimatorSpec(ModeKeys.EVAL, loss=tf.constant(1.0), evaluation_hooks=[hook])
    assert spec.evaluation_hooks == (hook,)


def test_scaffold_type_is_checked(graph):
    with pytest.raises(TypeError, match="scaffold must be tf.train.Scaffold. Given: "):
        EstimatorSpec(ModeKeys.EVAL, loss=tf.constant(1.0), scaffold="s")
    scaffold = tf.compat.v1.train.Scaffold()
    spec = EstimatorSpec(ModeKeys.EVAL, loss=tf.constant(1.0), scaffold=scaffold)
    assert spec.scaffold is scaffold


# --- eval_metric_ops ------------------------------------------------------


def test_v1_metric_tuples_are_accepted(graph):
    metric = tf.compat.v1.metrics.mean(tf.constant([1.0, 3.0]))
    spec = EstimatorSpec(
        ModeKeys.EVAL, loss=tf.constant(1.0), eval_metric_ops={"mean": metric}
    )
    assert spec.eval_metric_ops == {"mean": metric}


def test_eval_metric_ops_types_are_checked(graph):
    loss = tf.constant(1.0)
    with pytest.raises(TypeError, match="eval_metric_ops must be a dict"):
        EstimatorSpec(ModeKeys.EVAL, loss=loss, eval_metric_ops=[1])
    with pytest.raises(TypeError, match=r"\(metric_value, update_op\) tuples.*key: m"):
        EstimatorSpec(ModeKeys.EVAL, loss=loss, eval_metric_ops={"m": loss})
    with pytest.raises(
        TypeError, match=r"eval_metric_ops\[m\] must be Operation or Tensor"
    ):
        EstimatorSpec(ModeKeys.EVAL, loss=loss, eval_metric_ops={"m": (loss, "update")})


def test_keras_metric_is_stored_and_convertible(graph):
    metric = keras.metrics.Mean(name="avg")
    values = tf.compat.v1.placeholder(tf.float32, [None])
    metric.update_state(values)
    spec = EstimatorSpec(
        ModeKeys.EVAL, loss=tf.constant(1.0), eval_metric_ops={"avg": metric}
    )
    assert spec.eval_metric_ops["avg"] is metric

    value, update_op = keras_metric_as_tuple(metric)
    with tf.compat.v1.Session() as sess:
        sess.run([v.value.initializer for v in metric.variables])
        sess.run(update_op, {values: [1.0, 2.0]})
        sess.run(update_op, {values: [6.0]})
        assert sess.run(value) == pytest.approx(3.0)


def test_keras_metric_without_update_state_raises(graph):
    metric = keras.metrics.Mean(name="never_updated")
    with pytest.raises(
        ValueError,
        match=r'Please call update_state\(\.\.\.\) on the "never_updated" metric',
    ):
        EstimatorSpec(
            ModeKeys.EVAL, loss=tf.constant(1.0), eval_metric_ops={"m": metric}
        )


# --- default graph --------------------------------------------------------


def test_tensors_from_another_graph_are_rejected():
    with tf.Graph().as_default():
        stale = tf.constant(1.0, name="stale")
        stale_op = tf.no_op(name="stale_op")
        stale_metric = tf.compat.v1.metrics.mean(stale)
        stale_keras = keras.metrics.Mean(name="stale_keras")
        stale_keras.update_state(stale)
    with tf.Graph().as_default():
        loss = tf.constant(1.0)
        cases = [
            ("loss", dict(mode=ModeKeys.EVAL, loss=stale)),
            (
                "train_op",
                dict(mode=ModeKeys.TRAIN, loss=loss, train_op=stale_op),
            ),
            (
                "prediction values",
                dict(mode=ModeKeys.PREDICT, predictions=stale),
            ),
            (
                "prediction values",
                dict(mode=ModeKeys.PREDICT, predictions={"p": stale}),
            ),
            (
                "eval_metric_ops",
                dict(
                    mode=ModeKeys.EVAL,
                    loss=loss,
                    eval_metric_ops={"m": stale_metric},
                ),
            ),
            (
                "eval_metric_ops",
                dict(
                    mode=ModeKeys.EVAL,
                    loss=loss,
                    eval_metric_ops={"k": stale_keras},
                ),
            ),
        ]
        for what, kwargs in cases:
            with pytest.raises(
                ValueError,
                match=f"^{what} with .* must be from the default graph",
            ):
                EstimatorSpec(**kwargs)


# --- _replace -------------------------------------------------------------


def test_replace_revalidates_and_keeps_mode(graph):
    spec = EstimatorSpec(ModeKeys.EVAL, loss=tf.constant(1.0))
    new_loss = tf.constant([2.0])
    replaced = spec._replace(loss=new_loss, mode=ModeKeys.EVAL)
    assert isinstance(replaced, EstimatorSpec)
    assert replaced.loss.shape == tf.TensorShape([])  # re-validated: reshaped
    with pytest.raises(ValueError, match="^mode of EstimatorSpec cannot be changed.$"):
        spec._replace(mode=ModeKeys.TRAIN)
    with pytest.raises(ValueError, match="Loss must be scalar"):
        spec._replace(loss=tf.constant([1.0, 2.0]))
