"""Keras path: a functional model's inputs built from the compiled layout.

featurec's kernels turn raw features into what a Keras model can take
(`keras_features`): the non-embedding part of input_layer's output as one
float32 matrix, and each embedding column's ids (and weights) padded with
-1 (and 0). `keras_inputs(columns)` gives the matching `keras.Input`s and
`InputLayer(columns)` assembles input_layer's output from them, holding the
embedding tables as trainable weights (the equivalent of input_layer's
`embedding_weights` variables)::

    inputs = featurec.keras_inputs(columns)
    x = featurec.KerasInputLayer(columns)(inputs)      # [batch, width]
    model = keras.Model(inputs, keras.layers.Dense(1)(x))
    model.fit(featurec.keras_features(raw_features, columns), labels)
"""

import keras
import numpy as np
from keras import ops

from featurec import _input_layer, _plan, _spec

DENSE_INPUT = "featurec_dense"


def _build_plan(feature_columns):
    return _plan.build(_spec.read_columns(feature_columns))


def _dense_columns(plan):
    """Output column indices of the non-embedding part, in output order."""
    cols = [
        np.arange(col0, col0 + spec.width)
        for spec, col0 in plan.outputs
        if not isinstance(spec, _spec.EmbeddingSpec)
    ]
    return np.concatenate(cols) if cols else np.zeros(0, np.int64)


def ids_input_name(column_name):
    return f"{column_name}_ids"


def weights_input_name(column_name):
    return f"{column_name}_weights"


def keras_inputs(feature_columns):
    """The `keras.Input`s for a model over featurec's output.

    Args:
        feature_columns: the dense feature columns (as input_layer takes).

    Returns:
        dict input name -> `keras.Input`: `'featurec_dense'` (float32
        `[batch, n]`, the non-embedding columns) and, per embedding column,
        `'<column>_ids'` (int64 `[batch, None]`, padded with -1) and for
        weighted columns `'<column>_weights'` (float32, padded with 0).
    """
    plan = _build_plan(feature_columns)
    inputs = {
        DENSE_INPUT: keras.Input(
            shape=(len(_dense_columns(plan)),), dtype="float32", name=DENSE_INPUT
        )
    }
    for spec, _ in plan.embeddings:
        name = ids_input_name(spec.name)
        inputs[name] = keras.Input(shape=(None,), dtype="int64", name=name)
        if _input_layer._weighted(spec):
            name = weights_input_name(spec.name)
            inputs[name] = keras.Input(shape=(None,), dtype="float32", name=name)
    return inputs


def keras_features(features, feature_columns):
    """Raw features -> the numpy dict `keras_inputs` describes (numba kernels).

    Args:
        features: raw feature dict, as `featurec.compile(...)(features)` takes.
        feature_columns: the same columns given to `keras_inputs`.

    Returns:
        dict input name -> numpy array.
    """
    return KerasFeatureRunner(_build_plan(feature_columns))(features)


class KerasFeatureRunner:
    """Compiled once, turns raw feature batches into `keras_inputs`' dict.

    Attributes:
        names: the input names, in the order `flat` returns arrays.
        dtypes: their numpy dtypes.
        dense_width: width of the `'featurec_dense'` input.
    """

    def __init__(self, plan):
        self._plan = plan
        self._runner = _input_layer.KernelRunner(plan)
        self._dense_columns = _dense_columns(plan)
        self.dense_width = len(self._dense_columns)
        self.names, self.dtypes = [DENSE_INPUT], [np.float32]
        for spec, _ in plan.embeddings:
            self.names.append(ids_input_name(spec.name))
            self.dtypes.append(np.int64)
            if _input_layer._weighted(spec):
                self.names.append(weights_input_name(spec.name))
                self.dtypes.append(np.float32)

    def flat(self, features):
        """The arrays of `__call__`, as a list in `names` order."""
        results = self._runner(features)
        out = [np.ascontiguousarray(results[0][:, self._dense_columns])]
        rest = iter(results[1:])
        for spec, _ in self._plan.embeddings:
            splits, ids = next(rest), next(rest)
            out.append(_pad(splits, ids, -1, np.int64))
            if _input_layer._weighted(spec):
                out.append(_pad(splits, next(rest), 0.0, np.float32))
        return out

    def __call__(self, features):
        return dict(zip(self.names, self.flat(features)))


def keras_features_tf(features, feature_columns):
    """`keras_features` in plain TF ops, for graphs: a `model_fn` wrapping the
    Keras model, or a serving graph that must take raw features.

    Args:
        features: dict feature key -> `Tensor` / `SparseTensor` /
            `RaggedTensor` (raw features, as input_layer takes).
        feature_columns: the same columns given to `keras_inputs`.

    Returns:
        dict input name -> `tf.Tensor`, the inputs `keras_inputs` describes.
        Ids keep their input positions, padded with -1 (weights with 0), so
        the model's output equals its output on `keras_features`.
    """
    import tensorflow as tf

    from featurec import _lower_tf

    plan = _build_plan(feature_columns)
    lowering = _lower_tf.Lowering(features, {})
    dense = [
        lowering.dense(spec)
        for spec, _ in plan.outputs
        if not isinstance(spec, _spec.EmbeddingSpec)
    ]
    out = {}
    if dense:
        out[DENSE_INPUT] = tf.concat(dense, axis=1)
    for spec, _ in plan.embeddings:
        ids, weights = lowering.ids(spec.cat)
        out[ids_input_name(spec.name)] = tf.sparse.to_dense(ids, default_value=-1)
        if weights is not None:
            out[weights_input_name(spec.name)] = tf.sparse.to_dense(weights, default_value=0.0)
    if DENSE_INPUT not in out:
        batch = tf.shape(next(iter(out.values())))[0]
        out[DENSE_INPUT] = tf.zeros([batch, 0], tf.float32)
    return out


def _pad(splits, values, fill, dtype):
    n = splits.shape[0] - 1
    lengths = np.diff(splits)
    width = max(int(lengths.max()) if n else 0, 1)
    out = np.full((n, width), fill, dtype)
    rows = np.repeat(np.arange(n), lengths)
    cols = np.arange(values.shape[0]) - np.repeat(splits[:-1], lengths)
    out[rows, cols] = values
    return out


@keras.saving.register_keras_serializable(package="featurec")
class KerasInputLayer(keras.layers.Layer):
    """input_layer's output, in its column order, from `keras_inputs`.

    Embedding tables are trainable weights named after input_layer's
    variables' scopes (`<column>_embedding`, or the shared collection name
    for v1 shared embeddings), initialised like input_layer's default:
    truncated normal, stddev 1/sqrt(dimension). Lookups follow
    `safe_embedding_lookup_sparse`: negative ids (padding) are dropped,
    weights <= 0 too for `mean`/`sqrtn`, empty rows give zeros, `max_norm`
    clips each looked-up row.

    Args:
        feature_columns: the dense feature columns.
    """

    def __init__(self, feature_columns, **kwargs):
        super().__init__(**kwargs)
        self._columns = _spec.as_column_list(feature_columns)
        plan = _build_plan(self._columns)
        self._layout = []
        dense_at = 0
        for spec, _ in plan.outputs:
            if isinstance(spec, _spec.EmbeddingSpec):
                self._layout.append(spec)
            else:
                self._layout.append((dense_at, spec.width))
                dense_at += spec.width
        self.tables = {}
        for name, (rows, dim, _) in plan.tables.items():
            self.tables[name] = self.add_weight(
                name=name,
                shape=(rows, dim),
                initializer=keras.initializers.TruncatedNormal(0.0, 1.0 / np.sqrt(dim)),
                trainable=True,
            )

    def call(self, inputs):
        dense = inputs[DENSE_INPUT]
        pieces = []
        for item in self._layout:
            if isinstance(item, tuple):
                pieces.append(dense[:, item[0] : item[0] + item[1]])
                continue
            weights = inputs.get(weights_input_name(item.name))
            pieces.append(
                _combine(
                    self.tables[item.table_name],
                    inputs[ids_input_name(item.name)],
                    weights,
                    item.combiner,
                    item.max_norm,
                )
            )
        return ops.concatenate(pieces, axis=1)

    def get_config(self):
        config = super().get_config()
        config["feature_columns"] = _serialize_columns(self._columns)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["feature_columns"] = _deserialize_columns(config["feature_columns"])
        return cls(**config)


# Columns TF cannot serialize (v1 shared embeddings, Python normalizer_fns)
# are kept by reference: such a config rebuilds the layer in the process that
# made it (`clone_model`, `model_to_estimator`), not from a saved file.
_COLUMNS_BY_REF = {}


def _serialize_columns(columns):
    import tensorflow as tf

    try:
        return [tf.__internal__.feature_column.serialize_feature_column(c) for c in columns]
    except (ValueError, TypeError, AttributeError, RuntimeError):
        key = f"featurec-columns-{id(columns):x}"
        _COLUMNS_BY_REF[key] = columns
        return {"columns_ref": key}


def _deserialize_columns(value):
    import tensorflow as tf

    if isinstance(value, dict):
        if value.get("columns_ref") not in _COLUMNS_BY_REF:
            raise ValueError(
                "KerasInputLayer: this config refers to feature columns that TF cannot "
                "serialize (v1 shared embeddings or Python normalizer functions); it can "
                "only be rebuilt in the process that created the layer."
            )
        return _COLUMNS_BY_REF[value["columns_ref"]]
    columns = []
    for c in value:
        columns.append(
            tf.__internal__.feature_column.deserialize_feature_column(c) if isinstance(c, dict) else c
        )
    return columns


def _combine(table, ids, weights, combiner, max_norm):
    valid = ops.greater_equal(ids, 0)
    w = ops.ones_like(ids, dtype="float32") if weights is None else ops.cast(weights, "float32")
    if weights is not None and combiner != "sum":
        valid = ops.logical_and(valid, ops.greater(w, 0.0))
    w = ops.where(valid, w, ops.zeros_like(w))
    rows = ops.take(table, ops.where(valid, ids, ops.zeros_like(ids)), axis=0)
    if max_norm is not None:
        norm = ops.sqrt(ops.sum(ops.square(rows), axis=-1, keepdims=True))
        rows = rows * max_norm / ops.maximum(norm, max_norm)
    total = ops.sum(rows * ops.expand_dims(w, -1), axis=1)
    if combiner == "sum":
        return total
    den = ops.sum(w, axis=1) if combiner == "mean" else ops.sqrt(ops.sum(w * w, axis=1))
    den = ops.expand_dims(den, -1)
    safe = ops.where(ops.greater(den, 0.0), den, ops.ones_like(den))
    return ops.where(ops.greater(den, 0.0), total / safe, ops.zeros_like(total))
