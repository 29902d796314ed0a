"""A compiled Keras 3 model as an Estimator, and its trained weights back in Keras.

The flow of `tf.keras.estimator.model_to_estimator`, which TensorFlow
dropped in 2.16, on TensorFlow 2.21 + Keras 3 through kerasbridge:

1. build and compile a functional Keras model with dict inputs;
2. `model_to_estimator` turns it into an Estimator that starts from the
   model's current weights;
3. `train` / `evaluate` / `predict` with ordinary `input_fn`s;
4. `estimator_weights_to_keras` loads the trained checkpoint back into the
   Keras model, whose `predict` then equals the Estimator's.

Then a structured-data model that carries its own preprocessing, built with
`keras.utils.FeatureSpace` (normalised floats, a string and an integer
categorical, a hashed integer and a cross): converted as it is, it predicts
like Keras before training, trains as an Estimator, and its SavedModel is
served on raw rows (strings as strings, no preprocessing outside the model).

The data are generated (three classes from an age and eight dense features;
house purchases from a few mixed columns), so nothing is downloaded. Runs in
well under a minute on a laptop CPU.

Run:
    python examples/keras_to_estimator.py [--steps 500] [--model-dir DIR]
"""

import argparse
import json
import os
import shlex
import tempfile

import keras
import numpy as np
import tensorflow as tf

from kerasbridge import export
from kerasbridge.keras import estimator_weights_to_keras
from kerasbridge.keras import model_to_estimator
from kerasbridge.run_config import RunConfig

SPECIES = ["setosa", "versicolor", "virginica"]


def make_data(rows, seed):
    """Features dict and integer labels: the class shifts the feature means."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=rows)
    age = rng.uniform(0, 1, size=(rows, 1)) + 0.3 * labels[:, None]
    dense = rng.normal(size=(rows, 8)) + labels[:, None] * np.linspace(-1, 1, 8)
    features = {"age": age.astype(np.float32), "dense_feats": dense.astype(np.float32)}
    return features, labels.astype(np.int64)


def build_model():
    inputs = {
        "age": keras.Input((1,), name="age"),
        "dense_feats": keras.Input((8,), name="dense_feats"),
    }
    x = keras.layers.Concatenate()([inputs["age"], inputs["dense_feats"]])
    x = keras.layers.Dense(32, activation="relu")(x)
    x = keras.layers.Dropout(0.1)(x)
    out = keras.layers.Dense(3, name="species")(x)
    model = keras.Model(inputs, out)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


CITIES = ["Lyon", "Nantes", "Lille", "Nice"]
FS = keras.utils.FeatureSpace


def make_rows(rows, seed):
    """Raw columns (floats, strings, ints) and whether the house was bought."""
    rng = np.random.default_rng(seed)
    city = rng.choice(CITIES, size=rows)
    rooms = rng.integers(1, 6, size=rows)
    features = {
        "age": rng.uniform(20, 70, size=rows).astype(np.float32),
        "income": rng.lognormal(10.5, 0.4, size=rows).astype(np.float32),
        "city": city,
        "rooms": rooms.astype(np.int64),
        "zip": rng.integers(10000, 99999, size=rows).astype(np.int64),
    }
    score = (
        (features["income"] > 40000).astype(int)
        + (city == "Nice")
        + (rooms >= 3) * (city != "Lille")
        - (features["age"] > 55)
    )
    return features, (score >= 2).astype(np.float32)


def build_feature_space_model(train_features):
    """The keras.io structured-data recipe: preprocessing inside the model."""
    feature_space = FS(
        features={
            "age": FS.float_normalized(),
            "income": FS.float_normalized(),
            "city": FS.string_categorical(),
            "rooms": FS.integer_categorical(),
            "zip": FS.integer_hashed(num_bins=64),
        },
        crosses=[FS.cross(("city", "rooms"), crossing_dim=32)],
        output_mode="concat",
    )
    feature_space.adapt(tf.data.Dataset.from_tensor_slices(train_features).batch(256))
    x = keras.layers.Dense(16, activation="relu")(feature_space.get_encoded_features())
    out = keras.layers.Dense(1, activation="sigmoid", name="bought")(x)
    model = keras.Model(feature_space.get_inputs(), out)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


def feature_space_flow(model_dir, steps):
    """Converts, trains, exports and serves the FeatureSpace model.

    Returns:
        dict with `before_training_error` (max |est.predict - model.predict|
        before any training), `metrics` (evaluate), `served` (the SavedModel's
        answers for `RAW_ROWS`) and `predicted` (`est.predict` on them).
    """
    train_x, train_y = make_rows(2000, seed=2)
    test_x, test_y = make_rows(500, seed=3)
    model = build_feature_space_model(train_x)
    est = model_to_estimator(
        keras_model=model,
        config=RunConfig(model_dir=model_dir, log_step_count_steps=250),
    )

    def rows_fn(features, labels=None, repeat=False):
        def input_fn():
            data = features if labels is None else (features, labels)
            ds = tf.data.Dataset.from_tensor_slices(data)
            return ds.shuffle(2000, seed=0).repeat() if repeat else ds
        return lambda: input_fn().batch(64)

    # Before any training the Estimator answers like the Keras model.
    first = np.stack([p["bought"] for p in est.predict(rows_fn(test_x))])
    # Keras wants string tensors, not numpy unicode arrays (keys in its order).
    keras_x = {k: tf.constant(test_x[k]) for k in sorted(test_x)}
    before_error = float(np.abs(first - model.predict(keras_x, verbose=0)).max())
    print(f"feature space: max |est.predict - keras.predict| before training: {before_error:.2e}")

    est.train(rows_fn(train_x, train_y, repeat=True), steps=steps)
    metrics = est.evaluate(rows_fn(test_x, test_y))
    print(
        f"feature space evaluate: loss={metrics['loss']:.4f} "
        f"accuracy={metrics['accuracy']:.3f}"
    )

    # Export: the receiver takes the raw columns (one example fixes dtypes).
    examples = {k: v[:1] for k, v in train_x.items()}
    export_dir = est.export_saved_model(
        os.path.join(model_dir, "export"),
        export.build_raw_serving_input_receiver_fn(examples),
    ).decode()
    serve = tf.saved_model.load(export_dir).signatures["serving_default"]
    # A client sends rows; columns go in as the signature's dtypes.
    specs = serve.structured_input_signature[1]
    columns = {
        k: tf.constant([row[k] for row in RAW_ROWS], dtype=specs[k].dtype)
        for k in specs
    }
    served = serve(**columns)["bought"].numpy()[:, 0]
    row_features = {k: np.asarray([row[k] for row in RAW_ROWS]) for k in specs}
    row_features = {
        k: v.astype(train_x[k].dtype) if v.dtype.kind != "U" else v
        for k, v in row_features.items()
    }
    predicted = np.stack([p["bought"] for p in est.predict(rows_fn(row_features))])[:, 0]
    for row, p in zip(RAW_ROWS, served):
        print(f"served {row} -> P(bought)={p:.3f}")
    print(f"SavedModel: {export_dir}")
    command = cli_command(export_dir)
    print(f"The same rows from the command line:\n{command}")
    return {
        "before_training_error": before_error,
        "metrics": metrics,
        "served": served,
        "predicted": predicted,
        "cli_command": command,
    }


def cli_command(export_dir):
    """A `saved_model_cli run` command scoring `RAW_ROWS` (strings as strings)."""
    exprs = [
        f"{key}={json.dumps([row[key] for row in RAW_ROWS])}" for key in RAW_ROWS[0]
    ]
    return (
        f"saved_model_cli run --dir {shlex.quote(export_dir)} --tag_set serve "
        "--signature_def serving_default --input_exprs "
        + shlex.quote(";".join(exprs))
    )


RAW_ROWS = [
    {"age": 34.0, "income": 52000.0, "city": "Nice", "rooms": 3, "zip": 6000},
    {"age": 61.0, "income": 21000.0, "city": "Lille", "rooms": 1, "zip": 59000},
    {"age": 45.0, "income": 38000.0, "city": "Paris", "rooms": 4, "zip": 75011},
]


def main(argv=None):
    """Runs both flows.

    Returns:
        (evaluate results, predictions, round-trip error) of the first flow,
        and `feature_space_flow`'s dict.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--model-dir", default=None)
    parser.add_argument(
        "--feature-space-model-dir",
        default=None,
        help="model_dir of the FeatureSpace model (default: a new temp dir)",
    )
    args = parser.parse_args(argv)
    model_dir = args.model_dir or tempfile.mkdtemp(prefix="keras_to_estimator_")
    fs_model_dir = args.feature_space_model_dir or tempfile.mkdtemp(
        prefix="keras_feature_space_"
    )

    train_x, train_y = make_data(2000, seed=0)
    test_x, test_y = make_data(500, seed=1)

    def input_fn():
        ds = tf.data.Dataset.from_tensor_slices((train_x, train_y))
        return ds.shuffle(2000, seed=0).repeat().batch(32)

    def eval_input_fn():
        return tf.data.Dataset.from_tensor_slices((test_x, test_y)).batch(128)

    def pred_input_fn():
        return tf.data.Dataset.from_tensor_slices(test_x).batch(128)

    model = build_model()
    est = model_to_estimator(
        keras_model=model,
        config=RunConfig(model_dir=model_dir, log_step_count_steps=250),
    )
    est.train(input_fn, steps=args.steps)
    metrics = est.evaluate(eval_input_fn)
    print(
        f"evaluate: loss={metrics['loss']:.4f} accuracy={metrics['accuracy']:.3f} "
        f"global_step={metrics['global_step']}"
    )

    predictions = list(est.predict(pred_input_fn))
    first = predictions[0]
    print(f"first prediction: {first}  ->  {SPECIES[int(np.argmax(first['species']))]}")

    # The way back: the trained weights into the Keras model.
    estimator_weights_to_keras(est, model)
    keras_logits = model.predict(test_x, verbose=0)
    est_logits = np.stack([p["species"] for p in predictions])
    round_trip_error = float(np.abs(keras_logits - est_logits).max())
    print(
        "max |keras.predict - est.predict| after estimator_weights_to_keras: "
        f"{round_trip_error:.2e}"
    )
    keras_metrics = model.evaluate(test_x, test_y, verbose=0, return_dict=True)
    print("keras evaluate:", keras_metrics)
    print(f"model_dir: {model_dir}")

    structured = feature_space_flow(fs_model_dir, args.steps)
    return metrics, predictions, round_trip_error, structured


if __name__ == "__main__":
    main()
