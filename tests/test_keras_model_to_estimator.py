"""`model_to_estimator` end to end: train / evaluate / predict, the way back.

Estimators are trained once per module fixture; tests read their results.
Evaluation results are compared with Keras' own `model.evaluate` on the same
weights (after `estimator_weights_to_keras`), which pins the loss (with
`loss_weights` and regularization), the metric values and their names.
"""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasbridge import export
from kerasbridge.keras import estimator_weights_to_keras
from kerasbridge.keras import model_to_estimator
from kerasbridge.keras._variable_keys import model_variable_keys
from kerasbridge.keras._variable_keys import structural_variables
from kerasbridge.mode_keys import ModeKeys
from kerasbridge.run_config import RunConfig

_N = 96


def _config(model_dir):
    return RunConfig(model_dir=str(model_dir), save_summary_steps=1000)


def _dataset_fn(features, labels=None, batch=32, repeat=False):
    def input_fn():
        data = features if labels is None else (features, labels)
        ds = tf.data.Dataset.from_tensor_slices(data)
        return (ds.repeat() if repeat else ds).batch(batch)

    return input_fn


def _predict_all(est, features, key=None):
    out = list(est.predict(_dataset_fn(features, batch=32)))
    if key is None:
        return out
    return np.stack([p[key] for p in out])


# -- the issue's example: dict inputs, one output ----------------------------


def _species_model():
    keras.utils.set_random_seed(0)
    inputs = {
        "age": keras.Input((1,), name="age"),
        "dense_feats": keras.Input((8,), name="dense_feats"),
    }
    x = keras.layers.Concatenate()([inputs["age"], inputs["dense_feats"]])
    x = keras.layers.Dense(32, activation="relu")(x)
    out = keras.layers.Dense(3, name="species")(x)
    model = keras.Model(inputs, out)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def _species_data(seed=0):
    rng = np.random.RandomState(seed)
    features = {
        "age": rng.uniform(0, 1, size=(_N, 1)).astype("float32"),
        "dense_feats": rng.normal(size=(_N, 8)).astype("float32"),
    }
    labels = (features["dense_feats"][:, 0] > 0).astype("int64") + (
        features["age"][:, 0] > 0.5
    )
    return features, labels


@pytest.fixture(scope="module")
def species(tmp_path_factory):
    model = _species_model()
    model_dir = tmp_path_factory.mktemp("species")
    initial = [w.numpy() for w in model.weights]
    est = model_to_estimator(keras_model=model, config=_config(model_dir))
    features, labels = _species_data()
    est.train(_dataset_fn(features, labels, repeat=True), steps=20)
    return est, model, initial, str(model_dir)


def test_issue_example_train_evaluate_predict(species):
    est, _, _, _ = species
    features, labels = _species_data(seed=1)
    result = est.evaluate(_dataset_fn(features, labels))
    assert set(result) == {"loss", "accuracy", "global_step"}
    assert result["global_step"] == 20
    first = next(est.predict(_dataset_fn(features)))
    assert set(first) == {"species"}
    assert first["species"].dtype == np.float32
    assert first["species"].shape == (3,)


def test_evaluate_equals_keras_evaluate_on_the_same_weights(species):
    est, _, _, _ = species
    features, labels = _species_data(seed=2)
    keras_model = estimator_weights_to_keras(est, _species_model())
    ours = est.evaluate(_dataset_fn(features, labels, batch=_N))
    theirs = keras_model.evaluate(
        features, labels, batch_size=_N, verbose=0, return_dict=True
    )
    assert set(ours) - {"global_step"} == set(theirs)
    for name, value in theirs.items():
        assert ours[name] == pytest.approx(value, abs=1e-5), name


def test_sample_weights_weight_the_loss_as_in_keras(species):
    est, _, _, _ = species
    features, labels = _species_data(seed=6)
    weights = np.random.RandomState(6).uniform(0, 2, size=_N).astype("float32")
    ours = est.evaluate(
        _dataset_fn({"features": features, "sample_weights": weights}, labels, batch=_N)
    )
    unweighted = est.evaluate(_dataset_fn(features, labels, batch=_N))
    keras_model = estimator_weights_to_keras(est, _species_model())
    theirs = keras_model.evaluate(
        features, labels, sample_weight=weights, batch_size=_N, verbose=0,
        return_dict=True,
    )
    assert ours["loss"] == pytest.approx(theirs["loss"], abs=1e-5)
    assert ours["loss"] != pytest.approx(unweighted["loss"], abs=1e-4)
    # `metrics` (unlike `weighted_metrics`) ignore sample weights, as in Keras.
    assert ours["accuracy"] == pytest.approx(theirs["accuracy"], abs=1e-6)


def test_round_trip_keras_predict_equals_estimator_predict(species):
    est, _, _, _ = species
    features, _ = _species_data(seed=3)
    keras_model = _species_model()
    before = keras_model.predict(features, verbose=0)
    assert estimator_weights_to_keras(est, keras_model) is keras_model
    after = keras_model.predict(features, verbose=0)
    ours = _predict_all(est, features, "species")
    assert not np.allclose(before, ours)
    np.testing.assert_allclose(after, ours, atol=1e-5, rtol=0)


def test_first_checkpoint_holds_the_keras_weights(species):
    _, model, initial, model_dir = species
    warm = tf.train.load_checkpoint(
        os.path.join(model_dir, "keras", "keras_model.ckpt")
    )
    step0 = tf.train.load_checkpoint(os.path.join(model_dir, "model.ckpt-0"))
    keys = dict(zip(
        [id(v) for v, _ in structural_variables(model)],
        model_variable_keys(model, "checkpoint"),
    ))
    for weight, value in zip(model.weights, initial):
        np.testing.assert_array_equal(warm.get_tensor(keys[id(weight)]), value)
        # The first train() started from them.
        np.testing.assert_array_equal(step0.get_tensor(keys[id(weight)]), value)


def test_checkpoint_keys_are_structural_and_stable(species):
    est, _, _, _ = species
    names = set(est.get_variable_names())
    assert {"global_step", "layer-3/kernel", "layer-3/bias", "layer-4/kernel",
            "optimizer/layer-4/kernel/momentum", "optimizer/learning_rate"} <= names


def test_metric_names_map_renames_metrics(species):
    est, model, _, model_dir = species
    renamed = model_to_estimator(
        keras_model=model, config=_config(model_dir),
        metric_names_map={"accuracy": "acc"},
    )
    features, labels = _species_data(seed=4)
    result = renamed.evaluate(_dataset_fn(features, labels))
    assert set(result) == {"loss", "acc", "global_step"}
    assert result["acc"] == pytest.approx(
        est.evaluate(_dataset_fn(features, labels))["accuracy"]
    )


@pytest.mark.parametrize(
    "names_map, message",
    [
        ({"acc": "x"}, "do not exist in the `metric_names_map`"),
        ({"accuracy": "a", "auc": "b"}, "unexpected keys in the `metric_names_map`"),
    ],
)
def test_metric_names_map_must_cover_exactly_the_metrics(species, names_map, message):
    _, model, _, model_dir = species
    est = model_to_estimator(
        keras_model=model, config=_config(model_dir), metric_names_map=names_map
    )
    features, labels = _species_data()
    with pytest.raises(ValueError, match=message):
        est.evaluate(_dataset_fn(features, labels))


# -- multi-input (list) / multi-output, BN, regularization, loss_weights --------


def _multi_model():
    keras.utils.set_random_seed(1)
    a = keras.Input((3,), name="a")
    b = keras.Input((2,), name="b")
    x = keras.layers.Concatenate()([a, b])
    x = keras.layers.Dense(
        16, activation="relu", kernel_regularizer=keras.regularizers.l2(1e-2)
    )(x)
    x = keras.layers.BatchNormalization()(x)
    cls = keras.layers.Dense(2, activation="softmax", name="cls")(x)
    reg = keras.layers.Dense(1, name="reg")(x)
    model = keras.Model([a, b], [cls, reg])
    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-2),
        loss=["sparse_categorical_crossentropy", "mse"],
        loss_weights=[1.0, 0.3],
        metrics=[["accuracy"], ["mae", keras.metrics.RootMeanSquaredError()]],
    )
    return model


def _multi_data(seed):
    rng = np.random.RandomState(seed)
    a = rng.normal(size=(_N, 3)).astype("float32")
    b = rng.normal(size=(_N, 2)).astype("float32")
    cls = (a[:, 0] + b[:, 0] > 0).astype("int64")
    reg = (a.sum(axis=1, keepdims=True) - b[:, :1]).astype("float32")
    return {"a": a, "b": b}, {"cls": cls, "reg": reg}


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    model = _multi_model()
    features, labels = _multi_data(0)
    # Pre-train in Keras so the starting point is not an initialiser's.
    model.fit([features["a"], features["b"]], [labels["cls"], labels["reg"]],
              epochs=1, verbose=0)
    initial = {w.path: w.numpy() for w in model.weights}
    model_dir = tmp_path_factory.mktemp("multi")
    est = model_to_estimator(
        keras_model=model, config=_config(model_dir),
        export_outputs={"reg": export.RegressionOutput},
    )
    # Features as a dict by Input name, labels as a dict by output name.
    est.train(_dataset_fn(features, labels, repeat=True), steps=10)
    return est, model, initial, str(model_dir)


def test_multi_output_evaluate_reports_per_output_losses_and_metrics(multi):
    est, _, _, _ = multi
    features, labels = _multi_data(1)
    ours = est.evaluate(_dataset_fn(features, labels, batch=_N))
    keras_model = estimator_weights_to_keras(est, _multi_model())
    theirs = keras_model.evaluate(
        [features["a"], features["b"]], [labels["cls"], labels["reg"]],
        batch_size=_N, verbose=0, return_dict=True,
    )
    assert set(ours) - {"global_step"} == set(theirs)
    assert {"cls_loss", "reg_loss", "cls_accuracy", "reg_mae"} <= set(ours)
    for name, value in theirs.items():
        assert ours[name] == pytest.approx(value, abs=1e-5), name


def test_multi_output_predictions_have_every_output(multi):
    est, _, _, _ = multi
    features, _ = _multi_data(2)
    predictions = _predict_all(est, features)
    assert set(predictions[0]) == {"cls", "reg"}
    keras_model = estimator_weights_to_keras(est, _multi_model())
    cls, reg = keras_model.predict([features["a"], features["b"]], verbose=0)
    for name, expected in (("cls", cls), ("reg", reg)):
        ours = np.stack([p[name] for p in predictions])
        np.testing.assert_allclose(ours, expected, atol=1e-5, rtol=0)


def test_list_features_and_list_labels_train_too(multi, tmp_path):
    _, model, _, _ = multi
    features, labels = _multi_data(3)
    est = model_to_estimator(keras_model=model, config=_config(tmp_path))
    est.train(
        _dataset_fn((features["a"], features["b"]), (labels["cls"], labels["reg"])),
        steps=2,
    )
    assert est.get_variable_value("global_step") == 2


def test_warm_start_includes_batch_norm_statistics(multi):
    _, model, initial, model_dir = multi
    step0 = tf.train.load_checkpoint(os.path.join(model_dir, "model.ckpt-0"))
    bn = next(l for l in model.layers if isinstance(l, keras.layers.BatchNormalization))
    index = model.layers.index(bn)
    np.testing.assert_array_equal(
        step0.get_tensor(f"layer-{index}/moving_mean"), initial[bn.moving_mean.path]
    )
    assert np.any(initial[bn.moving_mean.path] != 0)


def test_export_outputs_adds_signatures_next_to_serving_default(multi):
    est, _, _, _ = multi
    with tf.Graph().as_default():
        features = {
            "a": tf.compat.v1.placeholder(tf.float32, [None, 3]),
            "b": tf.compat.v1.placeholder(tf.float32, [None, 2]),
        }
        spec = est.model_fn(features, None, ModeKeys.PREDICT, est.config)
    assert set(spec.export_outputs) == {"serving_default", "reg"}
    assert isinstance(spec.export_outputs["reg"], export.RegressionOutput)
    assert set(spec.export_outputs["serving_default"].outputs) == {"cls", "reg"}


# -- Sequential, 'saver' format, keras_model_path ------------------------------


def _sequential():
    keras.utils.set_random_seed(2)
    model = keras.Sequential([
        keras.Input((4,)),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(1, name="score"),
    ])
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss="mse",
                  metrics=["mae"])
    return model


def _sequential_data(seed):
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(_N, 4)).astype("float32")
    return x, (x @ np.array([[1.0], [-2.0], [0.5], [0.0]], "float32"))


@pytest.mark.parametrize("checkpoint_format", ["checkpoint", "saver"])
def test_sequential_round_trip(tmp_path, checkpoint_format):
    model = _sequential()
    est = model_to_estimator(
        keras_model=model, config=_config(tmp_path), checkpoint_format=checkpoint_format
    )
    x, y = _sequential_data(0)
    # A single tensor as features for a single-input model.
    est.train(_dataset_fn(x, y, repeat=True), steps=5)
    names = set(est.get_variable_names())
    if checkpoint_format == "saver":
        expected = {w.path for w in model.weights}
    else:
        expected = {"layer-0/kernel", "layer-0/bias", "layer-1/kernel", "layer-1/bias"}
    assert expected <= names
    ours = _predict_all(est, x, "score")
    assert set(next(est.predict(_dataset_fn(x)))) == {"score"}
    result = est.evaluate(_dataset_fn(x, y))
    assert set(result) == {"loss", "mae", "global_step"}
    estimator_weights_to_keras(est, model)
    np.testing.assert_allclose(model.predict(x, verbose=0), ours, atol=1e-5, rtol=0)


def test_keras_model_path_loads_a_saved_model(tmp_path):
    model = _species_model()
    features, labels = _species_data()
    model.fit(features, labels, epochs=1, verbose=0)
    path = str(tmp_path / "species.keras")
    model.save(path)
    est = model_to_estimator(keras_model_path=path, config=_config(tmp_path / "est"))
    est.train(_dataset_fn(features, labels), steps=1)
    step0 = tf.train.load_checkpoint(str(tmp_path / "est" / "model.ckpt-0"))
    np.testing.assert_array_equal(
        step0.get_tensor("layer-3/kernel"), model.layers[3].kernel.numpy()
    )
    assert set(est.evaluate(_dataset_fn(features, labels))) == {
        "loss", "accuracy", "global_step"
    }


# -- subclassed models -----------------------------------------------------------


@keras.saving.register_keras_serializable(package="kerasbridge_tests")
class TwoLayerModel(keras.Model):
    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = keras.layers.Dense(units, activation="relu")
        self.out = keras.layers.Dense(1)

    def call(self, x):
        return self.out(self.hidden(x))

    def get_config(self):
        return {"units": self.units, **super().get_config()}


def test_subclassed_model_with_config_trains_from_its_weights(tmp_path):
    keras.utils.set_random_seed(4)
    model = TwoLayerModel(4)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    x, y = _sequential_data(1)
    model(x[:1])
    initial = model.out.kernel.numpy()
    est = model_to_estimator(keras_model=model, config=_config(tmp_path))
    est.train(_dataset_fn(x, y), steps=3)
    step0 = tf.train.load_checkpoint(str(tmp_path / "model.ckpt-0"))
    np.testing.assert_array_equal(step0.get_tensor("layer-1/kernel"), initial)
    # Outputs of subclassed models are named as in the original.
    ours = _predict_all(est, x, "output_1")
    estimator_weights_to_keras(est, model)
    np.testing.assert_allclose(model.predict(x, verbose=0), ours, atol=1e-5, rtol=0)


# -- preprocessing layers inside the model ----------------------------------------


def test_string_lookup_and_embedding_inside_the_model(tmp_path):
    # Lookup tables need the Estimator's table initialisers in every graph.
    keras.utils.set_random_seed(5)
    color = keras.Input((1,), dtype="string", name="color")
    ids = keras.layers.StringLookup(vocabulary=["red", "green", "blue"])(color)
    x = keras.layers.Flatten()(keras.layers.Embedding(4, 2)(ids))
    out = keras.layers.Dense(1, name="out")(x)
    model = keras.Model({"color": color}, out)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    colors = np.array([["red"], ["blue"], ["mauve"], ["green"]] * 8, dtype=object)
    targets = np.array([[1.0], [2.0], [0.0], [3.0]] * 8, dtype="float32")
    est = model_to_estimator(keras_model=model, config=_config(tmp_path))
    est.train(_dataset_fn({"color": colors}, targets, batch=8), steps=4)
    ours = _predict_all(est, {"color": colors[:4]}, "out")
    estimator_weights_to_keras(est, model)
    theirs = model.predict({"color": tf.constant(colors[:4])}, verbose=0)
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)
    # Three known colours and the out-of-vocabulary one map to four rows.
    assert len(np.unique(ours.round(5))) == 4


# -- SavedModel export -----------------------------------------------------------------


def test_export_saved_model_serves_the_estimator_predictions(multi, tmp_path):
    est, _, _, _ = multi
    features, _ = _multi_data(4)
    receiver_fn = export.build_raw_serving_input_receiver_fn(
        {
            "a": tf.TensorSpec([None, 3], tf.float32),
            "b": tf.TensorSpec([None, 2], tf.float32),
        }
    )
    export_dir = est.export_saved_model(str(tmp_path), receiver_fn)
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        meta = tf.compat.v1.saved_model.load(session, ["serve"], export_dir)
        # (The fixture's extra RegressionOutput signature needs a receiver of
        # serialized tf.Examples; TF drops it for raw tensor receivers.)
        assert "serving_default" in meta.signature_def
        signature = meta.signature_def["serving_default"]
        fetches = {k: v.name for k, v in signature.outputs.items()}
        feeds = {signature.inputs[k].name: features[k] for k in ("a", "b")}
        served = session.run(fetches, feeds)
    ours = _predict_all(est, features)
    for name in ("cls", "reg"):
        np.testing.assert_allclose(
            served[name], np.stack([p[name] for p in ours]), atol=1e-6, rtol=0
        )
