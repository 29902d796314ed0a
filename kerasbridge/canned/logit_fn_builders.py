"""`dnn_logit_fn_builder`, `linear_logit_fn_builder`: the canned networks as logit fns.

The original exported these as `tf.compat.v1.estimator.experimental.*` for custom
`model_fn`s that reuse a canned network (often with `call_logit_fn` and a head).
They build the same graphs, with the same variable names, as the canned
estimators: `dnn/hiddenlayer_<i>/...` and `linear_model/<column>/weights`.
"""

import tensorflow as tf

import featurec
from kerasbridge.canned import dnn as _dnn
from kerasbridge.canned import linear as _linear


def _check_units(units):
    if isinstance(units, bool) or not isinstance(units, int):
        raise ValueError(f"units must be an int.  Given type: {type(units)}")


def dnn_logit_fn_builder(units, hidden_units, feature_columns, activation_fn,
                         dropout, input_layer_partitioner, batch_norm):
    """Returns `dnn_logit_fn(features, mode)` building the canned DNN's network.

    Args:
        units: Logits dimension (an int).
        hidden_units: Widths of the hidden layers.
        feature_columns: The input's feature columns.
        activation_fn: Activation after each hidden layer.
        dropout: Drop probability in training, or None.
        input_layer_partitioner: Must be None (variables are not partitioned
            here; the original used it to shard large embeddings).
        batch_norm: Whether to batch-normalize after each hidden layer; the
            moving-statistics updates go to `tf.GraphKeys.UPDATE_OPS`.

    Returns:
        A function `(features, mode) -> logits [batch, units]`.

    Raises:
        ValueError: `units` is not an int, bad `hidden_units`/`dropout`, or a
            partitioner was given.
    """
    _check_units(units)
    hidden_units = _dnn._check_dnn_args(hidden_units, dropout)
    if input_layer_partitioner is not None:
        raise ValueError(
            "input_layer_partitioner is not supported by kerasbridge (variables "
            "are not partitioned); pass None.")
    columns = tuple(feature_columns)

    def dnn_logit_fn(features, mode):
        logits, _, update_ops = _dnn.dnn_logits(
            features, mode, units, hidden_units, columns, activation_fn, dropout,
            batch_norm)
        for op in update_ops:
            tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.UPDATE_OPS, op)
        return logits

    return dnn_logit_fn


def linear_logit_fn_builder(units, feature_columns, sparse_combiner="sum"):
    """Returns `linear_logit_fn(features)` building `linear_model` over the columns.

    Args:
        units: Logits dimension (an int).
        feature_columns: The model's feature columns.
        sparse_combiner: "sum", "mean" or "sqrtn": how a multivalent
            categorical column reduces its weights.

    Returns:
        A function `features -> logits [batch, units]`.

    Raises:
        ValueError: `units` is not an int or an unknown `sparse_combiner`.
    """
    _check_units(units)
    _linear.check_sparse_combiner(sparse_combiner)
    columns = list(feature_columns)

    def linear_logit_fn(features):
        return featurec.linear_model(
            features, columns, units=units, sparse_combiner=sparse_combiner)

    return linear_logit_fn
