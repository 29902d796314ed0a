"""Keras path end to end: a model on featurec.keras_inputs + KerasInputLayer,
trained by kb.model_to_estimator on raw features (featurec.keras_dataset),
predicting like the Keras model itself, and exported for raw-feature serving
through featurec.keras_features_tf."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import featurec
import kerasbridge as kb

fc = tf.feature_column


def _columns():
    x = fc.numeric_column("x", shape=(2,))
    tok = fc.categorical_column_with_hash_bucket("tok", 13)
    ident = fc.categorical_column_with_identity("i", 6)
    return [
        x,
        fc.indicator_column(fc.categorical_column_with_hash_bucket("tok", 5)),
        fc.embedding_column(tok, 3, combiner="mean"),
        fc.embedding_column(fc.weighted_categorical_column(ident, "w"), 2, "sqrtn"),
    ]


def _raw(n, seed):
    rng = np.random.default_rng(seed)
    tokens = np.array(["red", "green", "blue", "", "é"], object)
    ids = rng.integers(-1, 6, size=(n, 2))
    raw = {
        "x": rng.normal(size=(n, 2)).astype(np.float32),
        "tok": rng.choice(tokens, size=(n, 2)),
        "i": ids,
        "w": np.where(ids < 0, 0.0, rng.uniform(0.5, 2.0, size=(n, 2))).astype(np.float32),
    }
    # A label only the token columns can explain.
    labels = (raw["tok"] == "red").any(axis=1).astype(np.float32)[:, None]
    return raw, labels


def _model(columns):
    keras.utils.set_random_seed(0)
    inputs = featurec.keras_inputs(columns)
    x = featurec.KerasInputLayer(columns, name="features")(inputs)
    x = keras.layers.Dense(8, activation="relu")(x)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))
    model.compile(keras.optimizers.Adam(0.05), "binary_crossentropy", metrics=["accuracy"])
    return model


def _estimator_predictions(est, raw, columns, batch):
    def input_fn():
        return featurec.keras_dataset(tf.data.Dataset.from_tensor_slices(raw).batch(batch), columns)

    # Keyed by the output layer's name, which depends on models built earlier.
    batches = est.predict(input_fn, yield_single_examples=False)
    return np.concatenate([next(iter(p.values())) if isinstance(p, dict) else p for p in batches])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    columns = _columns()
    model = _model(columns)
    initial_tables = {k: v.numpy().copy() for k, v in model.get_layer("features").tables.items()}
    est = kb.model_to_estimator(keras_model=model, model_dir=str(tmp_path_factory.mktemp("m2e")))
    raw, labels = _raw(512, 0)

    def train_input_fn():
        ds = tf.data.Dataset.from_tensor_slices((raw, labels)).shuffle(512, seed=1).repeat()
        return featurec.keras_dataset(ds.batch(64), columns)

    def eval_input_fn():
        ds = tf.data.Dataset.from_tensor_slices((raw, labels)).batch(128)
        return featurec.keras_dataset(ds, columns)

    est.train(train_input_fn, steps=1)
    first = est.evaluate(eval_input_fn)
    est.train(train_input_fn, steps=80)
    last = est.evaluate(eval_input_fn)
    return columns, model, est, initial_tables, first, last


def test_model_to_estimator_trains_embedding_tables_on_raw_features(trained):
    columns, _, est, initial_tables, first, last = trained
    assert last["global_step"] == 81
    assert last["loss"] < first["loss"] * 0.7, (first, last)
    assert last["accuracy"] > 0.85, last
    for name, before in initial_tables.items():
        var = next(v for v in est.get_variable_names() if v.endswith(f"{name}") or f"/{name}" in v)
        after = est.get_variable_value(var)
        assert after.shape == before.shape
        assert not np.allclose(after, before), name


def test_estimator_predict_equals_the_keras_model_with_its_weights(trained):
    columns, model, est, _, _, _ = trained
    raw, _ = _raw(40, 5)
    got = _estimator_predictions(est, raw, columns, 16)
    kb.estimator_weights_to_keras(est, model)
    want = model.predict(featurec.keras_features(raw, columns), verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_export_serves_raw_features(trained, tmp_path):
    columns, _, est, _, _, _ = trained

    def serving_input_receiver_fn():
        raw = {
            "x": tf.compat.v1.placeholder(tf.float32, [None, 2], name="x"),
            "tok": tf.compat.v1.placeholder(tf.string, [None, 2], name="tok"),
            "i": tf.compat.v1.placeholder(tf.int64, [None, 2], name="i"),
            "w": tf.compat.v1.placeholder(tf.float32, [None, 2], name="w"),
        }
        # featurec's plan lowered to TF ops: no py_func in the export.
        features = featurec.keras_features_tf(raw, columns)
        return kb.export.ServingInputReceiver(features, raw)

    path = est.export_saved_model(str(tmp_path), serving_input_receiver_fn)
    raw, _ = _raw(24, 9)
    expected = _estimator_predictions(est, raw, columns, 24)
    serve = tf.saved_model.load(path).signatures["serving_default"]
    out = serve(**{k: tf.constant(v) for k, v in raw.items()})
    (value,) = out.values()
    np.testing.assert_allclose(value.numpy(), expected, rtol=1e-5, atol=1e-6)
    graph_ops = {
        node.op
        for f in tf.saved_model.load(path).signatures["serving_default"].graph.as_graph_def().library.function
        for node in f.node_def
    }
    assert not graph_ops & {"PyFunc", "PyFuncStateless", "EagerPyFunc"}
