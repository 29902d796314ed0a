"""Turning a spec's `eval_metric_ops` into value tensors and one update op."""

import keras
import tensorflow as tf

from kerasbridge import estimator_spec as _spec_lib

LOSS_METRIC_KEY = "loss"
GLOBAL_STEP_KEY = "global_step"


def build_eval_metrics(spec):
    """Adds the mean-loss metric and splits metrics into values and updates.

    Keras 3 `Metric` objects are converted to `(result, update_op)`, and
    their variables move from the global to the local and metric
    collections: they are then neither checkpointed nor restored, and start
    from zero in every evaluation, as the original's metrics did.

    Args:
        spec: The EVAL-mode `EstimatorSpec`.

    Returns:
        `(value_ops, update_op)`: a dict name -> value tensor (sorted by name,
        including `loss`) and a single op running every metric's update.

    Raises:
        ValueError: The spec defines a metric named `loss` or `global_step`.
    """
    metric_ops = dict(spec.eval_metric_ops)
    for reserved in (LOSS_METRIC_KEY, GLOBAL_STEP_KEY):
        if reserved in metric_ops:
            quoted = (
                f'"{reserved}"'
                if reserved == LOSS_METRIC_KEY
                else f"`{reserved}`"
            )
            raise ValueError(
                f"Metric with name {quoted} is not allowed, because Estimator "
                "already defines a default metric with the same name."
            )
    for name, value in list(metric_ops.items()):
        if isinstance(value, keras.metrics.Metric):
            _localize_keras_metric(value)
            metric_ops[name] = _spec_lib.keras_metric_as_tuple(value)
    metric_ops[LOSS_METRIC_KEY] = tf.compat.v1.metrics.mean(spec.loss)
    value_ops, update_ops = {}, []
    for name in sorted(metric_ops):
        value, update = metric_ops[name]
        value_ops[name] = value
        update_ops.append(update)
    return value_ops, tf.group(*update_ops)


def localize_keras_metrics(eval_metric_ops):
    """Moves Keras metric variables out of the checkpointed collections.

    Also used in TRAIN mode, where a spec may carry the same metrics.
    """
    for value in eval_metric_ops.values():
        if isinstance(value, keras.metrics.Metric):
            _localize_keras_metric(value)


def _localize_keras_metric(metric):
    graph = tf.compat.v1.get_default_graph()
    tf_variables = [getattr(v, "value", v) for v in metric.variables]
    ids = {id(v) for v in tf_variables}
    # Identity, not ==: variables compare elementwise under TF2 semantics.
    global_vars = graph.get_collection_ref(
        tf.compat.v1.GraphKeys.GLOBAL_VARIABLES
    )
    global_vars[:] = [v for v in global_vars if id(v) not in ids]
    for key in (
        tf.compat.v1.GraphKeys.LOCAL_VARIABLES,
        tf.compat.v1.GraphKeys.METRIC_VARIABLES,
    ):
        collection = graph.get_collection_ref(key)
        present = {id(v) for v in collection}
        collection.extend(v for v in tf_variables if id(v) not in present)
