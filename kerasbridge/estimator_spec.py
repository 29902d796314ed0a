"""`EstimatorSpec`: the validated value a `model_fn` returns to an Estimator.

Validation follows `tf.estimator.EstimatorSpec` (tensorflow_estimator 2.15,
`model_fn.py`), including its error messages. The one deliberate difference is
how Keras metrics in `eval_metric_ops` are treated (see `EstimatorSpec`).
"""

import collections

import keras
import tensorflow as tf
from tensorflow.python.saved_model.model_utils import export_utils
from tensorflow.python.types import core

from kerasbridge.mode_keys import ModeKeys

# Raised when a tensor/op handed to the spec lives in another graph: the usual
# cause is a tensor captured from an earlier `model_fn` call (every Estimator
# call builds a fresh graph).
_DEFAULT_GRAPH_ERROR_TEMPLATE = (
    '{0} with "{1}" must be from the default graph. '
    "Possible causes of this error include: \n\n"
    "1) {0} was created outside the context of the default graph."
    "\n\n"
    "2) The object passed through to EstimatorSpec was not created "
    'in the most recent call to "model_fn".'
)

# Resource-variable ops that write a variable; Keras 3 metric updates in a TF1
# graph show up as these ops on the metric variables' handles.
_VARIABLE_WRITE_OPS = frozenset(
    ["AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp"]
)


class EstimatorSpec(
    collections.namedtuple(
        "EstimatorSpec",
        [
            "mode",
            "predictions",
            "loss",
            "train_op",
            "eval_metric_ops",
            "export_outputs",
            "training_chief_hooks",
            "training_hooks",
            "scaffold",
            "evaluation_hooks",
            "prediction_hooks",
        ],
    )
):
    """Ops and objects returned from a `model_fn` and passed to an Estimator.

    Required fields depend on `mode`: TRAIN needs `loss` and `train_op`, EVAL
    needs `loss`, PREDICT needs `predictions`. Fields not needed by a mode are
    accepted and ignored by the Estimator.

    Normalisation done here (as in `tf.estimator`):
    * `loss` must have exactly one element; shape `[1]` is reshaped to `[]`.
    * `predictions=None` becomes `{}` outside PREDICT mode.
    * In PREDICT mode `export_outputs` gets a `serving_default` entry: a
      `PredictOutput(predictions)` when none is given, or the single given
      output under that key as well.
    * Hook arguments become tuples; `scaffold` defaults to
      `tf.compat.v1.train.Scaffold()`.
    * A `tf.Variable` `train_op` is replaced by its op.

    `eval_metric_ops` values are either `(metric_tensor, update_op)` tuples
    (e.g. from `tf.compat.v1.metrics.*`) or Keras 3 `keras.metrics.Metric`
    objects whose `update_state` was called inside the current graph. Keras 3
    `update_state` returns no op in graph mode, so unlike the original (which
    converted Keras-2 metrics to `(result(), updates[0])` here) the spec
    stores the `Metric` object unchanged and leaves its variable collections
    alone; the Estimator runtime converts it, e.g. with
    `keras_metric_as_tuple`. The spec only checks that the metric's variables
    belong to the default graph and that `update_state` was called.

    Args:
      mode: A `ModeKeys` value.
      predictions: Predictions `Tensor` or dict of `Tensor`.
      loss: Training loss `Tensor`, scalar or shape `[1]`.
      train_op: Op (or tensor) for the training step.
      eval_metric_ops: Dict of metric results keyed by name, see above.
      export_outputs: Dict `{name: ExportOutput}` for SavedModel signatures.
      training_chief_hooks: `SessionRunHook`s run on the chief in training.
      training_hooks: `SessionRunHook`s run on all workers in training.
      scaffold: A `tf.compat.v1.train.Scaffold`.
      evaluation_hooks: `SessionRunHook`s run during evaluation.
      prediction_hooks: `SessionRunHook`s run during prediction.

    Raises:
      ValueError: A required field is missing, the loss is not scalar, or a
        tensor/op is not from the default graph.
      TypeError: A field has the wrong type.
    """

    def __new__(
        cls,
        mode,
        predictions=None,
        loss=None,
        train_op=None,
        eval_metric_ops=None,
        export_outputs=None,
        training_chief_hooks=None,
        training_hooks=None,
        scaffold=None,
        evaluation_hooks=None,
        prediction_hooks=None,
    ):
        train_op = _validate_train_op(train_op, mode)
        loss = _validate_loss(loss, mode)
        predictions = _validate_predictions(predictions, mode)
        export_outputs = _validate_export_outputs(
            export_outputs, predictions, mode
        )
        training_hooks = _validate_hooks(training_hooks, "training_hooks")
        evaluation_hooks = _validate_hooks(evaluation_hooks, "evaluation_hooks")
        prediction_hooks = _validate_hooks(prediction_hooks, "prediction_hooks")
        training_chief_hooks = _validate_hooks(
            training_chief_hooks, "training_chief_hooks"
        )
        eval_metric_ops = _validate_eval_metric_ops(eval_metric_ops)
        scaffold = _validate_scaffold(scaffold)
        return super().__new__(
            cls,
            mode=mode,
            predictions=predictions,
            loss=loss,
            train_op=train_op,
            eval_metric_ops=eval_metric_ops,
            export_outputs=export_outputs,
            training_chief_hooks=training_chief_hooks,
            training_hooks=training_hooks,
            scaffold=scaffold,
            evaluation_hooks=evaluation_hooks,
            prediction_hooks=prediction_hooks,
        )

    def _replace(self, **kwds):
        """Returns a new, re-validated spec with some fields replaced.

        Raises:
          ValueError: If `mode` would change.
        """
        if "mode" in kwds and self.mode != kwds["mode"]:
            raise ValueError("mode of EstimatorSpec cannot be changed.")
        new_fields = map(kwds.pop, self._fields, list(self))
        return EstimatorSpec(*new_fields)


def keras_metric_update_ops(metric):
    """Returns the ops `metric.update_state(...)` added to the default graph.

    Keras 3 metrics return `None` from `update_state` in graph mode; the
    updates are the variable writes on the metric's variables other than
    their initializers.
    """
    update_ops = []
    for variable in metric.variables:
        tf_variable = _tf_variable(variable)
        initializer = tf_variable.initializer
        for consumer in tf_variable.handle.consumers():
            if (
                consumer.type in _VARIABLE_WRITE_OPS
                and consumer is not initializer
            ):
                update_ops.append(consumer)
    return update_ops


def keras_metric_as_tuple(metric):
    """Converts a Keras 3 metric to the `(value_tensor, update_op)` form.

    Must be called in the graph where `update_state` was called; builds the
    `result()` ops there.
    """
    return metric.result(), tf.group(*keras_metric_update_ops(metric))


def _tf_variable(variable):
    # Keras 3 variables wrap the backend `tf.Variable` in `.value`.
    if isinstance(variable, keras.Variable):
        return variable.value
    return variable


def _check_is_tensor_or_operation(x, name):
    if not isinstance(x, (tf.Operation, core.Tensor)):
        raise TypeError(f"{name} must be Operation or Tensor, given: {x}")


def _check_is_tensor(x, name):
    if not isinstance(x, core.Tensor):
        raise TypeError(f"{name} must be Tensor, given: {x}")
    return x


def _check_default_graph(x, what, label):
    if x.graph is not tf.compat.v1.get_default_graph():
        raise ValueError(_DEFAULT_GRAPH_ERROR_TEMPLATE.format(what, label))


def _validate_train_op(train_op, mode):
    if train_op is None:
        if mode == ModeKeys.TRAIN:
            raise ValueError("Missing train_op.")
        return None
    _check_is_tensor_or_operation(train_op, "train_op")
    if isinstance(train_op, tf.Variable):
        train_op = train_op.op
    _check_default_graph(train_op, "train_op", train_op.name)
    return train_op


def _validate_loss(loss, mode):
    if loss is None:
        if mode in (ModeKeys.TRAIN, ModeKeys.EVAL):
            raise ValueError("Missing loss.")
        return None
    loss = _check_is_tensor(loss, "loss")
    loss_shape = loss.get_shape()
    if loss_shape.num_elements() not in (None, 1):
        raise ValueError(f"Loss must be scalar, given: {loss}")
    _check_default_graph(loss, "loss", loss.name)
    if not loss_shape.is_compatible_with(tf.TensorShape([])):
        loss = tf.reshape(loss, [])
    return loss


def _validate_predictions(predictions, mode):
    if predictions is None:
        if mode == ModeKeys.PREDICT:
            raise ValueError("Missing predictions.")
        return {}
    if isinstance(predictions, dict):
        predictions = {
            key: _check_is_tensor(value, f"predictions[{key}]")
            for key, value in predictions.items()
        }
        for key, value in predictions.items():
            _check_default_graph(
                value, "prediction values", f"{key}: {value.name}"
            )
        return predictions
    predictions = _check_is_tensor(predictions, "predictions")
    _check_default_graph(predictions, "prediction values", predictions.name)
    return predictions


def _validate_export_outputs(export_outputs, predictions, mode):
    if mode != ModeKeys.PREDICT:
        return export_outputs
    if isinstance(export_outputs, dict):
        # TF core adds the default key in place; don't mutate the user's dict.
        export_outputs = dict(export_outputs)
    # The 2.15 estimator delegates to this TF core helper, so its messages
    # ("`export_outputs` must be dict, ...") are the original's.
    return export_utils.get_export_outputs(export_outputs, predictions)


def _validate_hooks(hooks, field_name):
    hooks = tuple(hooks or [])
    for hook in hooks:
        if not isinstance(hook, tf.compat.v1.train.SessionRunHook):
            raise TypeError(
                "All hooks must be SessionRunHook instances, given: "
                f"{hook} (in `{field_name}`)"
            )
    return hooks


def _validate_eval_metric_ops(eval_metric_ops):
    if eval_metric_ops is None:
        return {}
    if not isinstance(eval_metric_ops, dict):
        raise TypeError(
            f"eval_metric_ops must be a dict, given: {eval_metric_ops}"
        )
    eval_metric_ops = dict(eval_metric_ops)
    for key, value in eval_metric_ops.items():
        if isinstance(value, keras.metrics.Metric):
            _validate_keras_metric(key, value)
            continue
        if not isinstance(value, tuple) or len(value) != 2:
            raise TypeError(
                "Values of eval_metric_ops must be (metric_value, update_op) "
                f"tuples, given: {value} for key: {key}"
            )
        metric_value, update_op = value
        for member in tf.nest.flatten(metric_value) + [update_op]:
            _check_is_tensor_or_operation(member, f"eval_metric_ops[{key}]")
            _check_default_graph(
                member, "eval_metric_ops", f"{key}: {member.name}"
            )
    return eval_metric_ops


def _validate_keras_metric(key, metric):
    for variable in metric.variables:
        tf_variable = _tf_variable(variable)
        _check_default_graph(
            tf_variable, "eval_metric_ops", f"{key}: {tf_variable.name}"
        )
    if not keras_metric_update_ops(metric):
        raise ValueError(
            f'Please call update_state(...) on the "{metric.name}" metric'
        )


def _validate_scaffold(scaffold):
    scaffold = scaffold or tf.compat.v1.train.Scaffold()
    if not isinstance(scaffold, tf.compat.v1.train.Scaffold):
        raise TypeError(
            f"scaffold must be tf.train.Scaffold. Given: {scaffold}"
        )
    return scaffold
