"""Small data for the README's code blocks (see tests/test_readme.py).

A block marked `<!-- readme-test: setup=NAME -->` runs after `NAME(tmp_path)`
here; the names it returns fill in the block's `name = ...` lines. Keep the
data tiny: each block must run in a few seconds.
"""

import numpy as np
import tensorflow as tf

_RNG_SEED = 0


def _iris_like(rows=60):
    rng = np.random.default_rng(_RNG_SEED)
    labels = rng.integers(0, 3, rows)
    centers = np.array(
        [[5.0, 3.4, 1.5, 0.2], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.6, 2.0]]
    )
    x = (centers[labels] + rng.normal(0, 0.3, (rows, 4))).astype(np.float32)
    return x, labels.astype(np.int64)


_IRIS_KEYS = ("SepalLength", "SepalWidth", "PetalLength", "PetalWidth")


def iris(tmp_path):
    """feature_columns and train/eval/predict input_fns for the legacy block."""
    x, y = _iris_like()
    features = {k: x[:, i] for i, k in enumerate(_IRIS_KEYS)}

    def train_input_fn():
        ds = tf.data.Dataset.from_tensor_slices((features, y))
        return ds.shuffle(64).repeat().batch(16)

    def eval_input_fn():
        return tf.data.Dataset.from_tensor_slices((features, y)).batch(32)

    def predict_input_fn():
        return tf.data.Dataset.from_tensor_slices(
            {k: v[:3] for k, v in features.items()}
        ).batch(3)

    return {
        "feature_columns": [tf.feature_column.numeric_column(k) for k in _IRIS_KEYS],
        "train_input_fn": train_input_fn,
        "eval_input_fn": eval_input_fn,
        "predict_input_fn": predict_input_fn,
    }


def keras_estimator(tmp_path):
    """est: an Estimator trained briefly, taking {'x': float32 [batch, 4]}."""
    import keras  # noqa: PLC0415

    import kerasbridge as kb  # noqa: PLC0415

    x, y = _iris_like(32)
    inputs = keras.Input(shape=(4,), name="x")
    model = keras.Model(inputs, keras.layers.Dense(3, name="logits")(inputs))
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    est = kb.model_to_estimator(keras_model=model, model_dir=str(tmp_path / "est"))
    est.train(
        lambda: tf.data.Dataset.from_tensor_slices(({"x": x}, y)).batch(16), steps=2
    )
    return {"est": est}


def featurec_columns(tmp_path):
    """columns (incl. embedding 'C14_embedding'), features, feature_tensors, table."""
    fc = tf.feature_column
    c14 = fc.categorical_column_with_hash_bucket("C14", 100)
    columns = [
        fc.numeric_column("age"),
        fc.bucketized_column(fc.numeric_column("age"), [20.0, 40.0, 60.0]),
        fc.indicator_column(
            fc.categorical_column_with_vocabulary_list("city", ["a", "b", "c"])
        ),
        fc.embedding_column(c14, 4),
    ]
    features = {
        "age": np.array([25.0, 47.0, 71.0], np.float32),
        "city": np.array([b"a", b"c", b"z"]),
        "C14": np.array([b"x1", b"x2", b"x1"]),
    }
    table = np.random.default_rng(_RNG_SEED).normal(size=(100, 4)).astype(np.float32)
    feature_tensors = {k: tf.constant(v) for k, v in features.items()}
    return {
        "columns": columns,
        "features": features,
        "feature_tensors": feature_tensors,
        "table": table,
    }


def keras_path(tmp_path):
    """columns (age, hours, embedded hashed city) and raw_ds (unbatched rows)."""
    fc = tf.feature_column
    columns = [
        fc.numeric_column("age"),
        fc.numeric_column("hours"),
        fc.embedding_column(fc.categorical_column_with_hash_bucket("city", 50), 3),
    ]
    rng = np.random.default_rng(_RNG_SEED)
    rows = 512
    raw = {
        "age": rng.uniform(18, 80, rows).astype(np.float32),
        "hours": rng.uniform(10, 60, rows).astype(np.float32),
        "city": rng.choice([b"paris", b"lima", b"oslo", b"pune"], rows),
    }
    labels = (raw["hours"] > 40).astype(np.float32)
    raw_ds = tf.data.Dataset.from_tensor_slices((raw, labels))
    return {"columns": columns, "raw_ds": raw_ds}
