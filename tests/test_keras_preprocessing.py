"""Keras models that carry their own preprocessing, as Estimators.

Each model goes through the whole life of a converted model: convert,
predict before training (equals `model.predict`), train, evaluate (the
compiled metrics' names and values equal `model.evaluate` on the trained
weights), predict, and export with a raw receiver whose serving signature
answers like `predict`. Then the same model saved to a `.keras` file and
converted from `keras_model_path`. String features come from `tf.data` of
numpy / Python strings, and serving takes string tensors.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasbridge import export
from kerasbridge.keras import estimator_weights_to_keras
from kerasbridge.keras import model_to_estimator
from kerasbridge.run_config import RunConfig

_N = 32
_FS = keras.utils.FeatureSpace


def _compile(model):
    model.compile(
        optimizer=keras.optimizers.Adam(0.05),
        loss="binary_crossentropy",
        metrics=["accuracy", keras.metrics.AUC(name="auc")],
    )
    return model


def _head(x):
    return keras.layers.Dense(1, activation="sigmoid", name="p")(x)


# -- models -------------------------------------------------------------------


def _lookups():
    """StringLookup and IntegerLookup in every output mode, adapted or given."""
    rng = np.random.default_rng(0)
    words = np.array(["ant", "bee", "cat", "dog", "eel", "fox"])
    s = rng.choice(words, size=(_N, 3))
    s[0, 0] = "yak"  # out of vocabulary
    i = rng.integers(0, 7, size=(_N, 3)).astype("int64")
    features = {"s": s, "i": i}
    labels = ((s == "cat").any(axis=1) ^ (i[:, 0] > 3)).astype("float32")

    s_in = keras.Input((3,), dtype="string", name="s")
    i_in = keras.Input((3,), dtype="int64", name="i")
    branches = []
    for mode in ("int", "one_hot", "multi_hot", "count", "tf_idf"):
        given = mode in ("one_hot", "tf_idf")  # vocabulary in the config
        kwargs = {}
        if given:
            kwargs["vocabulary"] = ["ant", "bee", "cat", "dog"]
            if mode == "tf_idf":
                kwargs["idf_weights"] = [0.5, 1.0, 1.5, 2.0]
        layer = keras.layers.StringLookup(output_mode=mode, name=f"s_{mode}", **kwargs)
        if not given:
            layer.adapt(s[:20])
        branches.append(_encode(layer(s_in), mode))
        given = mode in ("int", "multi_hot")
        kwargs = {}
        if given:
            kwargs["vocabulary"] = [1, 2, 3, 5]
        layer = keras.layers.IntegerLookup(
            output_mode=mode, num_oov_indices=2 if mode == "count" else 1,
            name=f"i_{mode}", **kwargs,
        )
        if not given:
            layer.adapt(i[:20])
        branches.append(_encode(layer(i_in), mode))
    x = keras.layers.Concatenate()(branches)
    model = _compile(keras.Model({"s": s_in, "i": i_in}, _head(x)))
    return model, features, labels


def _encode(x, mode):
    if mode == "int":
        x = keras.layers.Embedding(12, 2)(x)
    if mode in ("int", "one_hot"):
        x = keras.layers.Flatten()(x)
    return x


def _hashing_numeric():
    """Hashing, HashedCrossing, Discretization, adapted Normalization."""
    rng = np.random.default_rng(1)
    n = rng.normal(size=(_N, 1)).astype("float32")
    h = rng.integers(0, 50, size=(_N, 1)).astype("int64")
    c = rng.choice(np.array(["x", "y", "z"]), size=(_N, 1))
    features = {"n": n, "h": h, "c": c}
    labels = ((n[:, 0] > 0) ^ (c[:, 0] == "x")).astype("float32")

    n_in = keras.Input((1,), name="n")
    h_in = keras.Input((1,), dtype="int64", name="h")
    c_in = keras.Input((1,), dtype="string", name="c")
    norm = keras.layers.Normalization()
    norm.adapt(n)
    disc = keras.layers.Discretization(num_bins=4, output_mode="one_hot")
    disc.adapt(n)
    branches = [
        norm(n_in),
        disc(n_in),
        keras.layers.Hashing(num_bins=6, output_mode="one_hot")(c_in),
        keras.layers.Hashing(num_bins=5, salt=7, output_mode="one_hot")(h_in),
        keras.layers.HashedCrossing(num_bins=8, output_mode="one_hot")([c_in, h_in]),
    ]
    x = keras.layers.Concatenate()(branches)
    model = _compile(keras.Model({"n": n_in, "h": h_in, "c": c_in}, _head(x)))
    return model, features, labels


def _strip_digits(text):
    # An unregistered function naming this module's `tf`: only the live
    # function object can be used (a `.keras` file would need it registered).
    return tf.strings.regex_replace(tf.strings.lower(text), "[0-9]", "")


def _text(custom_standardize=True):
    """TextVectorization on raw strings: int sequences and TF-IDF bigrams."""
    texts = [
        "the cat sat on the mat", "a dog ran fast", "the dog sat",
        "cats and dogs", "A fast cat!", "mat on the floor", "dog, cat, eel",
        "nothing here 42",
    ]
    texts = [texts[k % len(texts)] for k in range(_N)]  # a Python list
    labels = np.array(["cat" in t for t in texts], dtype="float32")
    inp = keras.Input((), dtype="string", name="text")
    standardize = _strip_digits if custom_standardize else "lower_and_strip_punctuation"
    seq = keras.layers.TextVectorization(
        max_tokens=16, output_sequence_length=5, standardize=standardize
    )
    seq.adapt(texts[:10])
    idf = keras.layers.TextVectorization(max_tokens=20, ngrams=2, output_mode="tf_idf")
    idf.adapt(texts[:10])
    x = keras.layers.Embedding(16, 3)(seq(inp))
    x = keras.layers.GlobalAveragePooling1D()(x)
    x = keras.layers.Concatenate()([x, idf(inp)])
    model = _compile(keras.Model(inp, _head(x)))
    return model, {"text": texts}, labels


def _feature_space():
    """The keras.io structured-data recipe, preprocessing inside the model."""
    rng = np.random.default_rng(2)
    features = {
        "age": rng.uniform(18, 80, _N).astype("float32"),
        "color": rng.choice(np.array(["red", "green", "blue"]), _N),
        "rooms": rng.integers(1, 5, _N).astype("int64"),
        "zip": rng.integers(10000, 10100, _N).astype("int64"),
    }
    labels = ((features["age"] > 45) ^ (features["color"] == "red")).astype("float32")
    fs = _FS(
        features={
            "age": _FS.float_normalized(),
            "color": _FS.string_categorical(),
            "rooms": _FS.integer_categorical(),
            "zip": _FS.integer_hashed(num_bins=16),
        },
        crosses=[_FS.cross(("color", "rooms"), crossing_dim=8)],
        output_mode="concat",
    )
    fs.adapt(tf.data.Dataset.from_tensor_slices(features).batch(8))
    x = keras.layers.Dense(8, activation="relu")(fs.get_encoded_features())
    model = _compile(keras.Model(fs.get_inputs(), _head(x)))
    return model, features, labels


@keras.saving.register_keras_serializable(package="kb_tests")
class ScaleShift(keras.layers.Layer):
    """A custom registered layer with a weight and a config argument."""

    def __init__(self, shift=0.0, **kwargs):
        super().__init__(**kwargs)
        self.shift = shift

    def build(self, input_shape):
        self.scale = self.add_weight(
            shape=(input_shape[-1],), initializer="ones", name="scale"
        )

    def call(self, x):
        return x * self.scale + self.shift

    def get_config(self):
        return {**super().get_config(), "shift": self.shift}


def _lambda_custom(module_global=True):
    """Lambda layers (one naming `keras` from its module) and a custom layer."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(_N, 3)).astype("float32")
    labels = (x.sum(axis=1) > 0).astype("float32")
    inp = keras.Input((3,), name="x")
    y = keras.layers.Lambda(lambda t: t * 2.0 + 1.0, name="affine")(inp)
    if module_global:
        # Refers to this module's `keras`: only the live function has it.
        y = keras.layers.Lambda(lambda t: keras.ops.tanh(t), name="squash")(y)
    y = ScaleShift(shift=0.5, name="scale_shift")(y)
    model = _compile(keras.Model(inp, _head(y)))
    return model, {"x": x}, labels


_MODELS = {
    "lookups": _lookups,
    "hashing_numeric": _hashing_numeric,
    "text": _text,
    "feature_space": _feature_space,
    "lambda_custom": _lambda_custom,
}


# -- the life of a converted model ----------------------------------------------


def _input_fn(features, labels=None, repeat=False):
    def input_fn():
        data = features if labels is None else (features, labels)
        ds = tf.data.Dataset.from_tensor_slices(data)
        return (ds.repeat() if repeat else ds).batch(_N)

    return input_fn


def _keras_x(features):
    # Keras' predict/evaluate take string tensors, not numpy unicode arrays.
    return {k: tf.constant(v) for k, v in features.items()}


def _predict(est, features):
    return np.stack([p["p"] for p in est.predict(_input_fn(features))])


def _lifecycle(tmp_path, model, features, labels, **convert):
    """Runs every step; `model` is the Keras model the Estimator must match."""
    config = RunConfig(model_dir=str(tmp_path / "model_dir"), save_summary_steps=1000)
    est = model_to_estimator(config=config, **convert)
    x = _keras_x(features)
    np.testing.assert_allclose(
        _predict(est, features), model.predict(x, verbose=0), rtol=1e-5, atol=1e-5
    )

    est.train(_input_fn(features, labels, repeat=True), steps=4)
    metrics = est.evaluate(_input_fn(features, labels))
    assert set(metrics) == {"loss", "accuracy", "auc", "global_step"}
    assert metrics["global_step"] == 4
    predictions = _predict(est, features)

    # The trained weights back in Keras: same answers and metrics.
    estimator_weights_to_keras(est, model)
    np.testing.assert_allclose(predictions, model.predict(x, verbose=0), atol=1e-5)
    expected = model.evaluate(x, labels, batch_size=_N, verbose=0, return_dict=True)
    for name in ("loss", "accuracy", "auc"):
        np.testing.assert_allclose(metrics[name], expected[name], rtol=1e-5, atol=1e-5)

    # Served from the SavedModel on raw features (strings as strings).
    examples = {k: np.asarray(v)[:1] for k, v in features.items()}
    path = est.export_saved_model(
        str(tmp_path / "export"), export.build_raw_serving_input_receiver_fn(examples)
    )
    serve = tf.saved_model.load(path.decode()).signatures["serving_default"]
    served = serve(**x)["p"].numpy()
    np.testing.assert_allclose(served, predictions, atol=1e-5)
    return est


@pytest.mark.parametrize("name", sorted(_MODELS))
def test_in_memory_model(name, tmp_path):
    model, features, labels = _MODELS[name]()
    _lifecycle(tmp_path, model, features, labels, keras_model=model)


@pytest.mark.parametrize("name", sorted(_MODELS))
def test_model_from_keras_file(name, tmp_path):
    # Without the functions a `.keras` file cannot hold unregistered.
    if name == "lambda_custom":
        model, features, labels = _lambda_custom(module_global=False)
    elif name == "text":
        model, features, labels = _text(custom_standardize=False)
    else:
        model, features, labels = _MODELS[name]()
    path = str(tmp_path / f"{name}.keras")
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=False)
    _lifecycle(
        tmp_path, loaded, features, labels, keras_model_path=path, safe_mode=False
    )


def test_keras_file_lambda_refused_in_safe_mode(tmp_path):
    model, _, _ = _lambda_custom(module_global=False)
    path = str(tmp_path / "lambda.keras")
    model.save(path)
    with pytest.raises(ValueError, match="safe_mode=False"):
        model_to_estimator(keras_model_path=path, model_dir=str(tmp_path / "m"))
    assert not (tmp_path / "m").exists() or not list((tmp_path / "m").iterdir())


def test_lookup_without_vocabulary_fails_at_conversion(tmp_path):
    inp = keras.Input((1,), dtype="string", name="s")
    lookup = keras.layers.StringLookup(name="never_adapted")
    x = keras.layers.Flatten()(keras.layers.Embedding(5, 2)(lookup(inp)))
    model = _compile(keras.Model(inp, _head(x)))
    with pytest.raises(ValueError, match="'never_adapted' has no vocabulary.*adapt"):
        model_to_estimator(keras_model=model, model_dir=str(tmp_path))


class _EagerOnly(keras.layers.Layer):
    def call(self, x):
        # Host numpy inside call: fine eagerly, impossible in a graph.
        return x + np.asarray(x).mean()

    def compute_output_shape(self, input_shape):
        return input_shape


def test_layer_that_cannot_run_in_a_graph_fails_at_conversion(tmp_path):
    inp = keras.Input((2,), name="x")
    out = _head(_EagerOnly(name="eager_only")(inp))
    model = _compile(keras.Model(inp, out))
    with pytest.raises(ValueError, match=r"(?s)layer 'eager_only'.*input_fn"):
        model_to_estimator(
            keras_model=model,
            model_dir=str(tmp_path),
            custom_objects={"_EagerOnly": _EagerOnly},
        )
