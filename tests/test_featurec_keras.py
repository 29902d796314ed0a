"""Keras path: keras_inputs + KerasInputLayer over keras_features == input_layer; fit trains."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from featurec._keras import KerasInputLayer, keras_features, keras_features_tf, keras_inputs

fc = tf.feature_column
fc1 = tf.compat.v1.feature_column


def _columns():
    x = fc.numeric_column("x", shape=(2,))
    ident = fc.categorical_column_with_identity("i", 6)
    return [
        x,
        fc.bucketized_column(x, [0.0, 1.0]),
        fc.indicator_column(fc.categorical_column_with_hash_bucket("h", 5)),
        fc.embedding_column(fc.categorical_column_with_hash_bucket("h", 11), 3),
        fc.embedding_column(fc.weighted_categorical_column(ident, "w"), 4, "sqrtn"),
        fc.embedding_column(fc.crossed_column(["h", "k"], 13), 2, "sum", max_norm=0.5),
        fc.embedding_column(
            fc.categorical_column_with_vocabulary_list("v", ["a", "b", "c"]), 2, "mean"
        ),
    ]


def _features(rng, n):
    ids = rng.integers(-1, 6, size=(n, 3))
    return {
        "x": rng.normal(size=(n, 2)).astype(np.float32),
        "h": rng.choice(np.array(["a", "b", "", "zz", "é"], object), size=(n, 2)),
        "i": ids,
        "w": np.where(ids < 0, 0.0, rng.uniform(-1, 2, size=(n, 3))).astype(np.float32),
        "k": rng.integers(-1, 4, size=(n, 1)),
        "v": rng.choice(np.array(["a", "b", "c", "q", ""], object), size=(n, 2)),
    }


@pytest.fixture(scope="module")
def reference():
    """input_layer's output and tables for one batch."""
    features = _features(np.random.default_rng(0), 16)
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        out = tf.compat.v1.feature_column.input_layer(features, _columns())
        sess.run([tf.compat.v1.global_variables_initializer(), tf.compat.v1.tables_initializer()])
        tables = {
            v.op.name.split("/")[1]: sess.run(v) for v in tf.compat.v1.global_variables()
        }
        return features, sess.run(out), tables


def test_layer_over_keras_features_equals_input_layer(reference):
    features, want, tables = reference
    columns = _columns()
    inputs = keras_inputs(columns)
    layer = KerasInputLayer(columns)
    model = keras.Model(inputs, layer(inputs))
    for name, var in layer.tables.items():
        var.assign(tables[name])
    got = model.predict(keras_features(features, columns), verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_inputs_describe_the_layout():
    inputs = keras_inputs(_columns())
    assert set(inputs) == {
        "featurec_dense", "h_embedding_ids", "i_weighted_by_w_embedding_ids",
        "i_weighted_by_w_embedding_weights", "h_X_k_embedding_ids", "v_embedding_ids",
    }
    # x (2) + x_bucketized (2 * 3) + h_indicator (5)
    assert inputs["featurec_dense"].shape == (None, 13)


def test_fit_trains_embedding_tables_and_clones():
    rng = np.random.default_rng(1)
    columns = _columns()
    raw = _features(rng, 256)
    x = keras_features(raw, columns)
    y = (raw["x"][:, :1] > 0).astype(np.float32)
    inputs = keras_inputs(columns)
    layer = KerasInputLayer(columns)
    hidden = keras.layers.Dense(8, activation="relu")(layer(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))
    model.compile(keras.optimizers.Adam(0.05), "binary_crossentropy")
    before = {k: v.numpy().copy() for k, v in layer.tables.items()}
    history = model.fit(x, y, epochs=5, batch_size=64, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    for name, table in layer.tables.items():
        assert not np.array_equal(table.numpy(), before[name]), name
    clone = keras.models.clone_model(model)
    assert len(clone.trainable_weights) == len(model.trainable_weights)


def test_tf_ops_inputs_give_the_same_model_output(reference):
    """keras_features_tf (plain TF ops, for serving graphs) == keras_features."""
    features, want, tables = reference
    columns = _columns()
    inputs = keras_inputs(columns)
    layer = KerasInputLayer(columns)
    model = keras.Model(inputs, layer(inputs))
    for name, var in layer.tables.items():
        var.assign(tables[name])
    tensors = keras_features_tf({k: tf.constant(v) for k, v in features.items()}, columns)
    assert set(tensors) == set(inputs)
    got = model.predict({k: v.numpy() for k, v in tensors.items()}, verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
