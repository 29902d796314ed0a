"""`classifier_parse_example_spec` / `regressor_parse_example_spec`.

The `tf.io.parse_example` spec for the features of `feature_columns` plus the
label (and weight) a canned classifier or regressor reads from the same
`tf.Example`.
"""

import tensorflow as tf


def classifier_parse_example_spec(
    feature_columns,
    label_key,
    label_dtype=tf.int64,
    label_default=None,
    weight_column=None,
):
    """The parsing spec for a classifier's features, label and weight.

    Args:
        feature_columns: The feature columns the model reads.
        label_key: The `tf.Example` key holding the label.
        label_dtype: `tf.int64` (default), or `tf.string` with a label
            vocabulary, or `tf.float32` for binary labels.
        label_default: The label of examples without `label_key`, or None
            (parsing fails on them).
        weight_column: A feature key or `numeric_column` holding example
            weights, or None.

    Returns:
        A dict of feature key to `FixedLenFeature`/`VarLenFeature`; the label
        is `FixedLenFeature((1,), label_dtype, label_default)`.

    Raises:
        ValueError: the label or weight key is also a feature, or
            `weight_column` is not a numeric column.
    """
    label_spec = tf.io.FixedLenFeature((1,), label_dtype, label_default)
    return _with_label_and_weight(
        feature_columns, label_key, label_spec, weight_column
    )


def regressor_parse_example_spec(
    feature_columns,
    label_key,
    label_dtype=tf.float32,
    label_default=None,
    label_dimension=1,
    weight_column=None,
):
    """The parsing spec for a regressor's features, label and weight.

    Args:
        feature_columns: The feature columns the model reads.
        label_key: The `tf.Example` key holding the label.
        label_dtype: The label's dtype (default `tf.float32`).
        label_default: The label of examples without `label_key`, or None.
        label_dimension: Regression targets per example.
        weight_column: A feature key or `numeric_column` holding example
            weights, or None.

    Returns:
        A dict of feature key to `FixedLenFeature`/`VarLenFeature`; the label
        is `FixedLenFeature((label_dimension,), label_dtype, label_default)`.

    Raises:
        ValueError: the label or weight key is also a feature, or
            `weight_column` is not a numeric column.
    """
    label_spec = tf.io.FixedLenFeature(
        (label_dimension,), label_dtype, label_default
    )
    return _with_label_and_weight(
        feature_columns, label_key, label_spec, weight_column
    )


def _with_label_and_weight(feature_columns, label_key, label_spec, weight):
    # The v1 function accepts v1 and v2 columns (incl. v1 shared embeddings).
    spec = tf.compat.v1.feature_column.make_parse_example_spec(feature_columns)
    if label_key in spec:
        raise ValueError(
            "label should not be used as feature. "
            f"label_key: {label_key}, features: {spec.keys()}"
        )
    spec[label_key] = label_spec
    if weight is None:
        return spec
    if isinstance(weight, str):
        weight = tf.feature_column.numeric_column(weight)
    if type(weight).__name__ != "NumericColumn":
        raise ValueError(
            "weight_column should be an instance of "
            "tf.feature_column.numeric_column. "
            f"Given type: {type(weight)} value: {weight}"
        )
    if weight.key in spec:
        raise ValueError(
            "weight_column should not be used as feature. "
            f"weight_column: {weight.key}, features: {spec.keys()}"
        )
    spec.update(weight.parse_example_spec)
    return spec
