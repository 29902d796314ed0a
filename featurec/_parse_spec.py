"""`make_parse_example_spec`: the `tf.io.parse_example` spec for columns.

Serving receivers (`build_parsing_serving_input_receiver_fn`) and input_fns
reading `tf.Example`s need the spec `tf.feature_column.make_parse_example_spec`
returns. Built here from the column objects' fields: dense numeric sources
are `FixedLenFeature(shape, dtype, default_value)`; every categorical input
(and a crossed column's raw string keys) is a `VarLenFeature`.
"""

import tensorflow as tf

_VARLEN_OWN_DTYPE = {
    "HashedCategoricalColumn",
    "VocabularyListCategoricalColumn",
    "VocabularyFileCategoricalColumn",
    "SequenceNumericColumn",
}
_WRAPPERS = {
    "IndicatorColumn",
    "EmbeddingColumn",
    "SharedEmbeddingColumn",
    "SequenceCategoricalColumn",
}


def make_parse_example_spec(feature_columns):
    """Maps each feature key the columns read to its parsing spec.

    Equal to `tf.feature_column.make_parse_example_spec` (and, for v1
    `shared_embedding_columns`, to the `tf.compat.v1` version).

    Args:
        feature_columns: iterable of `tf.feature_column` columns.

    Returns:
        dict feature key -> `tf.io.FixedLenFeature` or `tf.io.VarLenFeature`.

    Raises:
        ValueError: an item that is not a feature column, or two columns that
            need different specs for the same key.
    """
    result = {}
    for column in feature_columns:
        config = _column_spec(column)
        for key, value in config.items():
            if key in result and value != result[key]:
                raise ValueError(
                    f"feature_columns contain different parse_spec for key {key}. "
                    f"Given {value} and {result[key]}"
                )
        result.update(config)
    return result


def _kind(column):
    return type(column).__name__.lstrip("_")


def _column_spec(column):
    kind = _kind(column)
    if kind == "NumericColumn":
        return {
            column.key: tf.io.FixedLenFeature(column.shape, column.dtype, column.default_value)
        }
    if kind == "BucketizedColumn":
        return _column_spec(column.source_column)
    if kind in _VARLEN_OWN_DTYPE:
        return {column.key: tf.io.VarLenFeature(column.dtype)}
    if kind == "IdentityCategoricalColumn":
        return {column.key: tf.io.VarLenFeature(tf.int64)}
    if kind in _WRAPPERS:
        return _column_spec(column.categorical_column)
    if kind == "WeightedCategoricalColumn":
        config = _column_spec(column.categorical_column)
        if column.weight_feature_key in config:
            raise ValueError(
                f"Parse config {config[column.weight_feature_key]} already exists for "
                f"{column.weight_feature_key}."
            )
        config[column.weight_feature_key] = tf.io.VarLenFeature(column.dtype)
        return config
    if kind == "CrossedColumn":
        config = {}
        for key in column.keys:
            if isinstance(key, str):
                config[key] = tf.io.VarLenFeature(tf.string)
            else:
                config.update(_column_spec(key))
        return config
    raise ValueError(f"All feature_columns must be FeatureColumn instances. Given: {column}")
