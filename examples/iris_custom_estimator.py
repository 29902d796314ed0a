"""A custom Estimator on iris-like data: train, evaluate, predict, export.

The classic TF 1.x custom-Estimator tutorial (`premade_estimator.py` ->
`custom_estimator.py`): a `model_fn` with `tf.layers.dense` hidden layers,
`tf.losses`, `tf.metrics.accuracy`, `tf.summary.scalar` and an Adagrad
optimizer, run by `tf.estimator.Estimator`. It runs on TensorFlow 2.21 +
Keras 3 through kerasbridge with only its imports changed: `import
tensorflow.compat.v1 as tf` and `kerasbridge.install()`, which provides
`tf.estimator` and `tf.layers` again. The data are generated here (three
Gaussian clusters with the per-class means and spreads of Fisher's iris
measurements), so nothing is downloaded.

It then exports a SavedModel whose serving signature takes the four raw
measurements, and prints a `saved_model_cli run` command that answers from it.

Run:
    python examples/iris_custom_estimator.py [--steps 2000] [--model-dir DIR]
"""

import argparse
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow.compat.v1 as tf  # TF 1.x: import tensorflow as tf

import kerasbridge

kerasbridge.install()  # tf.estimator and tf.layers, on TF 2.21 + Keras 3

FEATURES = ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth"]
SPECIES = ["Setosa", "Versicolor", "Virginica"]
# Per-class mean and standard deviation of the four iris measurements (cm).
_MEANS = np.array(
    [
        [5.01, 3.43, 1.46, 0.25],
        [5.94, 2.77, 4.26, 1.33],
        [6.59, 2.97, 5.55, 2.03],
    ]
)
_STDS = np.array(
    [
        [0.35, 0.38, 0.17, 0.11],
        [0.52, 0.31, 0.47, 0.20],
        [0.64, 0.32, 0.55, 0.27],
    ]
)


def make_data(per_class, seed):
    """Returns `(features dict, labels)` with `per_class` rows per species."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(SPECIES)), per_class)
    values = rng.normal(_MEANS[labels], _STDS[labels]).astype(np.float32)
    order = rng.permutation(len(labels))
    features = {name: values[order, i] for i, name in enumerate(FEATURES)}
    return features, labels[order].astype(np.int32)


def train_input_fn(features, labels, batch_size):
    dataset = tf.data.Dataset.from_tensor_slices((features, labels))
    return dataset.shuffle(1000, seed=0).repeat().batch(batch_size)


def eval_input_fn(features, labels, batch_size):
    inputs = features if labels is None else (features, labels)
    return tf.data.Dataset.from_tensor_slices(inputs).batch(batch_size)


def my_model(features, labels, mode, params):
    """DNN with `params['hidden_units']` and `params['n_classes']` logits."""
    net = tf.feature_column.input_layer(features, params["feature_columns"])
    for units in params["hidden_units"]:
        net = tf.layers.dense(net, units=units, activation=tf.nn.relu)
    # Compute logits (1 per class).
    logits = tf.layers.dense(net, params["n_classes"], activation=None)

    # Compute predictions.
    predicted_classes = tf.argmax(logits, 1)
    if mode == tf.estimator.ModeKeys.PREDICT:
        predictions = {
            "class_ids": predicted_classes[:, tf.newaxis],
            "probabilities": tf.nn.softmax(logits),
            "logits": logits,
        }
        return tf.estimator.EstimatorSpec(mode, predictions=predictions)

    # Compute loss.
    loss = tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)

    # Compute evaluation metrics.
    accuracy = tf.metrics.accuracy(
        labels=labels, predictions=predicted_classes, name="acc_op"
    )
    metrics = {"accuracy": accuracy}
    tf.summary.scalar("accuracy", accuracy[1])

    if mode == tf.estimator.ModeKeys.EVAL:
        return tf.estimator.EstimatorSpec(
            mode, loss=loss, eval_metric_ops=metrics
        )

    # Create training op.
    assert mode == tf.estimator.ModeKeys.TRAIN
    optimizer = tf.train.AdagradOptimizer(learning_rate=0.1)
    train_op = optimizer.minimize(loss, global_step=tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)


def main(argv=None):
    """Trains, evaluates, predicts and exports.

    Returns:
        `(eval_result, predictions, export_dir)`.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--model-dir", default=None)
    parser.add_argument(
        "--quiet", action="store_true", help="no per-step progress logging"
    )
    args = parser.parse_args(argv)
    model_dir = args.model_dir or tempfile.mkdtemp(prefix="iris_")
    if not args.quiet:
        # Progress as tf.estimator showed it: "loss = ..., step = ..." and
        # "global_step/sec" every RunConfig.log_step_count_steps steps.
        tf.logging.set_verbosity(tf.logging.INFO)

    train_x, train_y = make_data(per_class=40, seed=0)
    test_x, test_y = make_data(per_class=10, seed=1)
    feature_columns = [
        tf.feature_column.numeric_column(key=k) for k in FEATURES
    ]

    classifier = tf.estimator.Estimator(
        model_fn=my_model,
        model_dir=model_dir,
        params={
            "feature_columns": feature_columns,
            "hidden_units": [10, 10],
            "n_classes": len(SPECIES),
        },
    )
    classifier.train(
        input_fn=lambda: train_input_fn(train_x, train_y, args.batch_size),
        steps=args.steps,
    )
    eval_result = classifier.evaluate(
        input_fn=lambda: eval_input_fn(test_x, test_y, args.batch_size)
    )
    print(
        "\nTest set accuracy: {accuracy:0.3f}, loss: {loss:0.3f}, "
        "global_step: {global_step}\n".format(**eval_result)
    )

    expected = ["Setosa", "Versicolor", "Virginica"]
    predict_x = {
        "SepalLength": np.array([5.1, 5.9, 6.9], np.float32),
        "SepalWidth": np.array([3.3, 3.0, 3.1], np.float32),
        "PetalLength": np.array([1.7, 4.2, 5.4], np.float32),
        "PetalWidth": np.array([0.5, 1.5, 2.1], np.float32),
    }
    predictions = list(
        classifier.predict(
            input_fn=lambda: eval_input_fn(predict_x, None, args.batch_size)
        )
    )
    for prediction, expect in zip(predictions, expected):
        class_id = int(prediction["class_ids"][0])
        probability = prediction["probabilities"][class_id]
        print(
            f'Prediction is "{SPECIES[class_id]}" ({100 * probability:.1f}%), '
            f'expected "{expect}"'
        )

    # Serving takes the raw measurements: one float32 tensor per feature.
    receiver_fn = tf.estimator.export.build_raw_serving_input_receiver_fn(
        {name: tf.TensorSpec([None], tf.float32) for name in FEATURES}
    )
    export_dir = classifier.export_saved_model(
        os.path.join(model_dir, "export"), receiver_fn
    ).decode()
    inputs = ";".join(
        f"{name}=[{float(predict_x[name][0]):g}]" for name in FEATURES
    )
    print(f"\nSavedModel written to {export_dir}")
    print("Ask it for a prediction with:")
    print(
        f"  saved_model_cli run --dir {export_dir} --tag_set serve "
        f"--signature_def serving_default --input_exprs '{inputs}'"
    )
    return eval_result, predictions, export_dir


if __name__ == "__main__":
    main()
