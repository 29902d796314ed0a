"""TF reference for featurec tests: input_layer in a cached graph + session.

Graph building is slow, so one graph per (column configuration, feature
signature) is built and kept; examples are fed through placeholders. Embedding
variables are loaded with the same tables featurec gets.
"""

import numpy as np
import tensorflow as tf

import featurec

_CACHE = {}


def _signature(features):
    sig = []
    for name in sorted(features):
        v = features[name]
        if isinstance(v, tf.compat.v1.SparseTensorValue):
            sig.append((name, "sparse", np.asarray(v.values).dtype.str))
        else:
            sig.append((name, "dense", v.dtype.str, v.ndim))
    return tuple(sig)


def _placeholder(value):
    if isinstance(value, tf.compat.v1.SparseTensorValue):
        dtype = np.asarray(value.values).dtype
        return tf.compat.v1.sparse_placeholder(
            tf.string if dtype.kind in "OSU" else tf.as_dtype(dtype)
        )
    dtype = tf.string if value.dtype.kind in "OSU" else tf.as_dtype(value.dtype)
    return tf.compat.v1.placeholder(dtype, shape=[None] * value.ndim)


class Reference:
    """input_layer and featurec for one column configuration.

    Args:
        make_columns: zero-argument function returning the feature columns;
            called inside a fresh graph (v1 shared embeddings need one).
        features: an example feature dict (fixes placeholder dtypes/ranks).
    """

    def __init__(self, make_columns, features):
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.columns = make_columns()
            self.placeholders = {k: _placeholder(v) for k, v in features.items()}
            self.output = tf.compat.v1.feature_column.input_layer(
                self.placeholders, self.columns
            )
            self.variables = {
                v.op.name: v
                for v in tf.compat.v1.global_variables()
                if "embedding_weights" in v.op.name
            }
            self.session = tf.compat.v1.Session(graph=self.graph)
            self.session.run(
                [
                    tf.compat.v1.global_variables_initializer(),
                    tf.compat.v1.tables_initializer(),
                ]
            )
        self.transform = featurec.compile(self.columns)
        self.loaded = None

    def load_tables(self, tables):
        """Loads {table name: array} into TF variables and the transform."""
        if tables is self.loaded:
            return
        with self.graph.as_default():
            for name, arr in tables.items():
                self.variables[f"input_layer/{name}/embedding_weights"].load(
                    arr, self.session
                )
        self.transform.set_embedding_tables(tables)
        self.loaded = tables

    def tf_output(self, features):
        feed = {}
        for k, v in features.items():
            feed[self.placeholders[k]] = v
        return self.session.run(self.output, feed)


def reference(config_key, make_columns, features):
    """The cached `Reference` for a configuration and feature signature."""
    key = (config_key, _signature(features))
    if key not in _CACHE:
        _CACHE[key] = Reference(make_columns, features)
    return _CACHE[key]


def assert_parity(config_key, make_columns, features, tables=None, exact=True):
    """Asserts featurec's output equals input_layer's (or both fail).

    input_layer run-time errors (e.g. embedding id out of range, weighted id/
    weight count mismatch) must be a ValueError in featurec.
    """
    ref = reference(config_key, make_columns, features)
    if tables is not None:
        ref.load_tables(tables)
    try:
        expected = ref.tf_output(features)
    except tf.errors.InvalidArgumentError:
        try:
            ref.transform(features)
        except ValueError:
            return None
        raise AssertionError(
            "input_layer raised InvalidArgumentError but featurec did not"
        )
    got = ref.transform(features)
    assert got.dtype == np.float32
    assert got.shape == expected.shape, (got.shape, expected.shape)
    if exact:
        if not np.array_equal(got, expected, equal_nan=True):
            diff = np.argwhere(
                ~((got == expected) | (np.isnan(got) & np.isnan(expected)))
            )
            raise AssertionError(
                f"mismatch at {diff[:5].tolist()}: featurec {got[tuple(diff[0])]} "
                f"vs input_layer {expected[tuple(diff[0])]}\nlayout {ref.transform.layout}"
            )
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    return got
