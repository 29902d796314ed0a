"""Label, logits and weight checks shared by the heads, with the original's messages.

Static problems (wrong last dimension, wrong dtype, sparse labels) are
`ValueError`s while the graph is built; dynamic ones (labels out of range,
batch shapes that differ) are assertions that fail at run time with
`InvalidArgumentError`, as in the original's graph mode.
"""

import tensorflow as tf

LABEL_NONE_ERR_MSG = (
    "You must provide a labels Tensor. Given: None. "
    "Suggested troubleshooting steps: Check that your data contains your label "
    "feature. Check that your input_fn properly parses and returns labels."
)
_SPARSE_LABEL_ERR_MSG = (
    "SparseTensor labels are not supported. Labels must be a Tensor of shape "
    "[D0, D1, ..., DN, {}], e.g. [batch_size, {}].Suggested Fix (1): Check the"
    " label feature in your data. Each example must contain {} value(s). If "
    "not, your choice of label was probably incorrect. Suggested Fix (2): In "
    "your input_fn, use tf.sparse_tensor_to_dense() to turn labels into a "
    "Tensor."
)
_MISMATCHED_LABEL_DIM_ERR_MSG = (
    "Mismatched label shape. Expected labels dimension={}.  Received {}. "
    "Suggested Fix: If your classifier expects one-hot encoding label, check "
    "your n_classes argument to the estimator and/or the shape of your label. "
    "Otherwise, check the shape of your label."
)
_LABEL_SHAPE_ERR_MSG = (
    "labels shape must be [D0, D1, ... DN, {}]. Suggested Fix: check your "
    "n_classes argument to the head and/or the shape of your label."
)


def dense_labels(labels, logits, expected_labels_dimension):
    """Labels checked against logits: `[D0, ..., DN, dim]` (or without dim).

    Args:
        labels: Labels tensor (or array); `None` is an error.
        logits: The logits tensor `[D0, ..., DN, logits_dimension]`.
        expected_labels_dimension: The labels' last dimension.

    Returns:
        The labels tensor, reshaped to `[D0, ..., DN, dim]`.

    Raises:
        ValueError: labels are None, sparse, or have a wrong static last dim.
    """
    if labels is None:
        raise ValueError(LABEL_NONE_ERR_MSG)
    with tf.compat.v1.name_scope("labels", values=(labels, logits)) as scope:
        labels = tf.compat.v1.convert_to_tensor_or_sparse_tensor(labels)
        if isinstance(labels, tf.sparse.SparseTensor):
            dim = expected_labels_dimension
            raise ValueError(_SPARSE_LABEL_ERR_MSG.format(dim, dim, dim))
        if (
            labels.shape.ndims is not None
            and logits.shape.ndims is not None
            and labels.shape.ndims == logits.shape.ndims - 1
        ):
            labels = tf.expand_dims(labels, -1)
        message = _LABEL_SHAPE_ERR_MSG.format(expected_labels_dimension)
        assert_rank = tf.compat.v1.debugging.assert_rank_at_least(
            labels, 2, message=message
        )
        with tf.control_dependencies([assert_rank]):
            static_shape = labels.shape
            if static_shape.ndims is not None:
                final_dim = static_shape[-1]
                if final_dim is not None and final_dim != expected_labels_dimension:
                    raise ValueError(
                        _MISMATCHED_LABEL_DIM_ERR_MSG.format(
                            expected_labels_dimension, final_dim
                        )
                    )
            logits_shape = tf.shape(logits)
            expected_shape = tf.concat(
                [logits_shape[:-1], [expected_labels_dimension]], axis=0
            )
            labels_shape = tf.shape(labels)
            assert_dimension = tf.compat.v1.debugging.assert_equal(
                expected_shape,
                labels_shape,
                message=message,
                data=[
                    "expected_labels_shape: ",
                    expected_shape,
                    "labels_shape: ",
                    labels_shape,
                ],
            )
            with tf.control_dependencies([assert_dimension]):
                return tf.identity(labels, name=scope)


def logits_with_final_dim(logits, expected_logits_dimension):
    """Float32 logits, checked to be `[D0, ..., DN, logits_dimension]`."""
    with tf.compat.v1.name_scope("logits", values=(logits,)) as scope:
        logits = tf.cast(logits, tf.float32)
        logits_shape = tf.shape(logits)
        assert_rank = tf.compat.v1.debugging.assert_rank_at_least(
            logits,
            2,
            data=[logits_shape],
            message="logits shape must be [D0, D1, ... DN, logits_dimension]",
        )
        with tf.control_dependencies([assert_rank]):
            static_shape = logits.shape
            if static_shape.ndims is not None and static_shape[-1] is not None:
                if static_shape[-1] != expected_logits_dimension:
                    raise ValueError(
                        "logits shape must be [D0, D1, ... DN, logits_dimension], "
                        f"got {static_shape}."
                    )
                return logits
            assert_dimension = tf.compat.v1.debugging.assert_equal(
                expected_logits_dimension,
                logits_shape[-1],
                data=[logits_shape],
                message="logits shape must be [D0, D1, ... DN, logits_dimension]",
            )
            with tf.control_dependencies([assert_dimension]):
                return tf.identity(logits, name=scope)


def label_range(labels, n_classes, message=None):
    """Labels with run-time checks that they lie in `[0, n_classes)`."""
    with tf.compat.v1.name_scope("check_label_range", values=(labels,)):
        assert_less = tf.compat.v1.debugging.assert_less_equal(
            labels,
            tf.convert_to_tensor(n_classes - 1, dtype=labels.dtype),
            message=message or "Labels must be <= n_classes - 1",
        )
        assert_greater = tf.compat.v1.debugging.assert_non_negative(
            labels, message=message or "Labels must be >= 0"
        )
        with tf.control_dependencies((assert_less, assert_greater)):
            return tf.identity(labels)


def weights_matching_logits(
    features, weight_column, logits, allow_per_logit_weights=False
):
    """Example weights from `features`, checked and shaped against logits.

    Args:
        features: The features dict.
        weight_column: A feature key, a `tf.feature_column.numeric_column`,
            or None (then the weight is the Python float 1.0).
        logits: The logits tensor.
        allow_per_logit_weights: Whether `[D0, ..., DN, logits_dimension]`
            weights are allowed (regression heads).

    Returns:
        Float32 weights `[D0, ..., DN, 1]` (or per logit), or 1.0.

    Raises:
        TypeError: `weight_column` is neither a string nor a NumericColumn.
        ValueError: The weights are not numeric, or statically misshapen.
    """
    if allow_per_logit_weights:
        err_msg = (
            "weights shape must be [D0, D1, ... DN], [D0, D1, ... DN, 1] or "
            "[D0, D1, ... DN, logits_dimension]"
        )
    else:
        err_msg = "weights shape must be [D0, D1, ... DN] or [D0, D1, ... DN, 1]"
    values = tuple((features or {}).values()) + (logits,)
    with tf.compat.v1.name_scope("weights", values=values) as scope:
        if weight_column is None:
            return 1.0
        weights = _weight_tensor(features, weight_column)
        weights = tf.cast(weights, name="weights", dtype=tf.float32)
        weights_shape = tf.shape(weights, name="weights_shape")
        logits_shape = tf.shape(logits, name="logits_shape")
        if (
            weights.shape.ndims is not None
            and logits.shape.ndims is not None
            and weights.shape.ndims == logits.shape.ndims - 1
        ):
            assert_dimension = tf.compat.v1.debugging.assert_equal(
                logits_shape[:-1],
                weights_shape,
                message=err_msg,
                data=[
                    "logits_shape: ",
                    logits_shape,
                    "weights_shape: ",
                    weights_shape,
                ],
            )
            with tf.control_dependencies([assert_dimension]):
                return tf.expand_dims(weights, -1, name=scope)
        supported_shape = tf.concat([logits_shape[:-1], [1]], axis=0)
        if allow_per_logit_weights:
            condition = tf.reduce_any(
                [
                    tf.reduce_all(tf.equal(logits_shape, weights_shape)),
                    tf.reduce_all(tf.equal(supported_shape, weights_shape)),
                ]
            )
            assert_dimension = tf.debugging.Assert(
                condition=condition,
                data=[
                    err_msg,
                    "logits_shape: ",
                    logits_shape,
                    "weights_shape: ",
                    weights_shape,
                ],
            )
        else:
            assert_dimension = tf.compat.v1.debugging.assert_equal(
                supported_shape,
                weights_shape,
                message=err_msg,
                data=[
                    "logits_shape: ",
                    logits_shape,
                    "weights_shape: ",
                    weights_shape,
                ],
            )
        with tf.control_dependencies([assert_dimension]):
            return tf.identity(weights, name=scope)


def _weight_tensor(features, weight_column):
    """The weight column's dense values, as `numeric_column` produces them."""
    if isinstance(weight_column, str):
        key, normalizer_fn = weight_column, None
    elif _is_numeric_column(weight_column):
        key, normalizer_fn = weight_column.key, weight_column.normalizer_fn
    else:
        raise TypeError(
            "Weight column must be either a string or NumericColumn."
            f" Given type: {type(weight_column)}."
        )
    if features is None or key not in features:
        raise ValueError(
            f"The weight column {key!r} is not in features. "
            f"Given feature keys: {sorted((features or {}).keys())}."
        )
    weights = tf.compat.v1.convert_to_tensor_or_sparse_tensor(features[key])
    if isinstance(weights, tf.sparse.SparseTensor):
        raise ValueError(
            "The corresponding Tensor of numerical column must be a Tensor. "
            f"SparseTensor is not supported. key: {key}"
        )
    if not (weights.dtype.is_floating or weights.dtype.is_integer):
        raise ValueError(
            "Weight column should be castable to float. "
            f"Given dtype: {weights.dtype}"
        )
    if normalizer_fn is not None:
        weights = normalizer_fn(weights)
    return weights


def _is_numeric_column(column):
    # Both the v2 `NumericColumn` and the v1 `_NumericColumn` have these.
    return type(column).__name__ in ("NumericColumn", "_NumericColumn") and (
        hasattr(column, "key") and hasattr(column, "normalizer_fn")
    )
