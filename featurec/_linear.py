"""`featurec.linear_model`: `linear_model` semantics from featurec's specs, in TF ops.

`tf.compat.v1.feature_column.linear_model` (and the canned estimators'
`LinearModel`) computes, per column sorted by name, a weighted sum: for a
categorical column (bucketized included) the rows of its `weights`
`[num_buckets, units]` picked by the column's ids and reduced by
`sparse_combiner`; for a dense column its output times `weights`
`[width, units]`; then adds `bias_weights` `[units]`. Here the ids and dense
outputs come from featurec's lowering (`_lower_tf.Lowering`), the same TF ops
`featurec.input_layer` runs, instead of TF's feature-column graph. Variables
are named as linear_model names them (`<scope>/<column>/weights`,
`<scope>/bias_weights`), so checkpoints are interchangeable.
"""

import re

import tensorflow as tf

from featurec import _input_layer, _lower_tf, _spec

_COMBINERS = ("mean", "sqrtn", "sum")
_INVALID_SCOPE_CHARS = re.compile(r"[^A-Za-z0-9_.\-]")


def linear_model(
    features,
    feature_columns,
    units=1,
    sparse_combiner="sum",
    weight_collections=None,
    trainable=True,
    cols_to_vars=None,
    scope_name="linear_model",
):
    """Returns what `tf.compat.v1.feature_column.linear_model` returns.

    Args:
        features: dict feature key -> `Tensor` / `SparseTensor` / `RaggedTensor`.
        feature_columns: categorical and dense `tf.feature_column` columns.
        units: output dimension.
        sparse_combiner: "sum", "mean" or "sqrtn": how a categorical column
            with several ids in a row reduces their weights.
        weight_collections: extra collections for the variables.
        trainable: whether the variables are trainable.
        cols_to_vars: if a dict, filled with column -> [weights variable] and
            'bias' -> [bias variable].
        scope_name: the variable scope opened for the model.

    Returns:
        float32 `Tensor` `[batch, units]`.

    Raises:
        ValueError: an empty column list, an unknown combiner, duplicate
            column names, a column linear_model rejects, a missing feature.
    """
    if sparse_combiner not in _COMBINERS:
        raise ValueError(
            f"sparse_combiner must be one of {list(_COMBINERS)}; got {sparse_combiner!r}."
        )
    columns = _sorted_columns(feature_columns)
    specs = [_read(column) for column in columns]
    collections = list(weight_collections or [])
    for key in (tf.compat.v1.GraphKeys.GLOBAL_VARIABLES, tf.compat.v1.GraphKeys.MODEL_VARIABLES):
        if key not in collections:
            collections.append(key)
    with tf.compat.v1.variable_scope(None, default_name=scope_name, values=list(features.values())):
        tables = {}
        weights = []
        for column, spec in zip(columns, specs):
            with tf.compat.v1.variable_scope(_INVALID_SCOPE_CHARS.sub("_", column.name)):
                if isinstance(spec, _spec.EmbeddingSpec):
                    tables[spec.table_name] = _variable(
                        "embedding_weights", (spec.cat.num_buckets, spec.dim),
                        column.initializer, collections, trainable,
                    )
                rows = spec.num_buckets if _is_categorical(spec) else spec.width
                var = _variable("weights", (rows, units), tf.zeros_initializer(),
                                collections, trainable)
                weights.append(var)
                if cols_to_vars is not None:
                    cols_to_vars[column] = [var]
        bias = _variable("bias_weights", (units,), tf.zeros_initializer(), collections, trainable)
        if cols_to_vars is not None:
            cols_to_vars["bias"] = [bias]
        lowering = _lower_tf.Lowering(features, tables)
        sums, group, batch = {}, [], None
        for spec, var in zip(specs, weights):
            with tf.name_scope(_INVALID_SCOPE_CHARS.sub("_", spec.name)):
                if not _is_categorical(spec) or isinstance(spec, _spec.WeightedSpec):
                    sums[spec.name] = _weighted_sum(lowering, spec, var, sparse_combiner, units)
                elif lowering.single_ids(spec) is not None:
                    # One id a row: its weight row, whatever the combiner.
                    sums[spec.name] = lowering.single_lookup(spec, var)
                else:
                    rows, ids, batch = lowering.pruned_ids(spec)
                    group.append((spec, rows, ids, var))
        if group:
            # The multi-valued categorical columns in one gather + segment op, as
            # input_layer's embeddings (`_input_layer._fused_lookup`): equal to the
            # per-column safe lookups, in a few ops instead of ~20 per column.
            sums.update(_input_layer._fused_lookup(
                [g[:3] for g in group], sparse_combiner, units,
                {g[0].name: g[3] for g in group}, batch))
        # Summed in column order, as linear_model adds its columns.
        total = tf.add_n([sums[spec.name] for spec in specs])
        return tf.nn.bias_add(total, bias, name="weighted_sum")


def _sorted_columns(feature_columns):
    if feature_columns is None:
        raise ValueError("feature_columns must not be None.")
    if hasattr(feature_columns, "name") and hasattr(feature_columns, "_parse_example_spec"):
        feature_columns = [feature_columns]
    columns = list(feature_columns)
    if not columns:
        raise ValueError("Expected feature_columns to be iterable, found: []")
    names = set()
    for column in columns:
        name = getattr(column, "name", None)
        if name in names:
            raise ValueError(f"Duplicate feature column name found for columns: {name}")
        names.add(name)
    return sorted(columns, key=lambda c: c.name)


def _read(column):
    kind = type(column).__name__.lstrip("_")
    if kind in _spec._CATEGORICAL or kind.endswith("CategoricalColumn"):
        return _spec.read_categorical(column)
    try:
        return _spec._read_dense(column)
    except TypeError:
        raise ValueError(
            "Items of feature_columns must be either a DenseColumn or CategoricalColumn. "
            f"Given: {column}"
        ) from None


def _is_categorical(spec):
    return not isinstance(spec, (_spec.NumericSpec, _spec.IndicatorSpec, _spec.EmbeddingSpec))


def _variable(name, shape, initializer, collections, trainable):
    return tf.compat.v1.get_variable(
        name, shape=shape, dtype=tf.float32, initializer=initializer,
        trainable=trainable, collections=collections, use_resource=True,
    )


def _weighted_sum(lowering, spec, var, combiner, units):
    if not _is_categorical(spec):
        return tf.matmul(lowering.dense(spec), var, name="weighted_sum")
    ids, weights = lowering.ids(spec)
    # Ids outside the table are an error in TF's lookup as well; linear_model
    # reshapes multi-dimensional ids to [batch, -1] before the lookup.
    return tf.nn.safe_embedding_lookup_sparse(
        var, ids, weights, combiner=combiner, name="weighted_sum"
    )
