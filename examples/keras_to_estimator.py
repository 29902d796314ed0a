"""A compiled Keras 3 model as an Estimator, and its trained weights back in Keras.

The flow of `tf.keras.estimator.model_to_estimator`, which TensorFlow
dropped in 2.16, on TensorFlow 2.21 + Keras 3 through kerasbridge:

1. build and compile a functional Keras model with dict inputs;
2. `model_to_estimator` turns it into an Estimator that starts from the
   model's current weights;
3. `train` / `evaluate` / `predict` with ordinary `input_fn`s;
4. `estimator_weights_to_keras` loads the trained checkpoint back into the
   Keras model, whose `predict` then equals the Estimator's.

The data are generated (three classes from an age and eight dense features),
so nothing is downloaded. Runs in well under a minute on a laptop CPU.

Run:
    python examples/keras_to_estimator.py [--steps 500] [--model-dir DIR]
"""

import argparse
import tempfile

import keras
import numpy as np
import tensorflow as tf

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


def main(argv=None):
    """Runs the flow; returns (evaluate results, predictions, round-trip error)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--model-dir", default=None)
    args = parser.parse_args(argv)
    model_dir = args.model_dir or tempfile.mkdtemp(prefix="keras_to_estimator_")

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
    return metrics, predictions, round_trip_error


if __name__ == "__main__":
    main()
