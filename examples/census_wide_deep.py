"""Census income, wide & deep: a premade baseline first, then a custom Keras model.

The workflow the Estimator guide taught: "if a suitable premade Estimator
exists, build your first model with it and use its results as the baseline;
then write a custom model". End to end, on TensorFlow 2.21:

1. generate a census-income-like table (fixed seed, nothing downloaded):
   age, hours per week, education, occupation, marital status, a
   native-country column with a long tail, and an income label that depends
   on them (including an education x occupation interaction);
2. describe the features with ordinary `tf.feature_column` columns;
3. BASELINE: the premade `kb.DNNLinearCombinedClassifier` on those columns
   (linear part: bucketized age, the categorical columns and the education x
   occupation cross; DNN part: an 8-dim embedding per categorical column plus
   the normalised numerics, hidden layers 64 and 32). It reads raw features:
   featurec computes its DNN input (`featurec.input_layer`) and its linear
   part (`linear_model` semantics) in TF ops inside the model;
4. CUSTOM: compile the columns once with `featurec.compile` and build a Keras
   functional model whose `Input`s come from the compiled layout (one input
   per column, `transform.layout` gives its width): the same *wide* and *deep*
   parts. An embedding here is a bias-free `Dense` layer on the column's
   one-hot slice: a one-hot row times the kernel *is* the embedding lookup
   (`Embedding` with a sum combiner), trained as a Keras weight;
   `kb.model_to_estimator` turns it into an Estimator; `train()` logs step
   and loss as it goes;
5. prints both models' metrics side by side, with the majority-class
   accuracy (what always answering the most frequent label scores), so one
   can tell that the models learn; `predict()` scores a few rows;
6. `export_saved_model` writes a SavedModel of the custom model whose serving
   signature takes the RAW features: the serving receiver builds the same
   featurec plan with plain TF ops (featurec's TF lowering), so the exported
   graph holds no `py_func` / `numpy_function` and any TF server can run it;
   prints the export directory and a `saved_model_cli run` command that
   answers from it.

Custom model's training input: `tf.data` shuffles and batches the raw table,
and `featurec.dataset` runs featurec's numba kernels on each batch in a
parallel map (off the training step's critical path, prefetched).

Run (about a minute and a half on 2 CPU cores):
    python examples/census_wide_deep.py [--steps 1500] [--model-dir DIR]
"""

import argparse
import json
import os
import shlex
import sys
import tempfile
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore", category=DeprecationWarning)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import featurec  # noqa: E402
from featurec import normalizers  # noqa: E402
from kerasbridge.canned import DNNLinearCombinedClassifier  # noqa: E402
from kerasbridge.export import ServingInputReceiver  # noqa: E402
from kerasbridge.keras import model_to_estimator  # noqa: E402
from kerasbridge.run_config import RunConfig  # noqa: E402

EDUCATION = [
    "Preschool", "1st-4th", "5th-6th", "7th-8th", "9th", "10th", "11th", "12th",
    "HS-grad", "Some-college", "Assoc-voc", "Assoc-acdm", "Bachelors",
    "Masters", "Prof-school", "Doctorate",
]  # fmt: skip
OCCUPATION = [
    "Adm-clerical", "Armed-Forces", "Craft-repair", "Exec-managerial",
    "Farming-fishing", "Handlers-cleaners", "Machine-op-inspct",
    "Other-service", "Priv-house-serv", "Prof-specialty", "Protective-serv",
    "Sales", "Tech-support", "Transport-moving",
]  # fmt: skip
MARITAL = [
    "Married-civ-spouse", "Divorced", "Never-married", "Separated", "Widowed",
    "Married-spouse-absent", "Married-AF-spouse",
]  # fmt: skip
# A handful of frequent countries and a long tail of rare ones: the column
# is hashed, as one would for an open-ended vocabulary.
COUNTRIES = ["United-States", "Mexico", "Philippines", "Germany", "Canada", "India"] + [
    f"Country-{i:03d}" for i in range(120)
]
RAW_FEATURES = [
    "age", "hours_per_week", "education", "occupation", "marital_status", "native_country",
]  # fmt: skip
LABEL = "income_over_50k"
EMBEDDING_DIM = 8


def make_table(rows, seed):
    """A census-like table: dict of raw numpy columns and a 0/1 label."""
    rng = np.random.default_rng(seed)
    age = np.clip(rng.normal(39, 13, rows), 17, 90).astype(np.int64)
    hours = np.clip(rng.normal(40, 12, rows), 1, 99).round().astype(np.float32)
    edu = rng.choice(len(EDUCATION), rows, p=_zipf_like(len(EDUCATION), rng))
    occ = rng.integers(0, len(OCCUPATION), rows)
    marital = rng.choice(len(MARITAL), rows, p=_zipf_like(len(MARITAL), rng))
    # Zipf-distributed country ranks give the long tail.
    country = np.minimum(rng.zipf(1.6, rows) - 1, len(COUNTRIES) - 1)

    # The label's log-odds: more schooling, more hours, middle age, being
    # married, and some (education, occupation) pairs pay extra.
    pair_bonus = np.sin(edu * 7.0 + occ * 3.0) * 1.2
    logit = (
        -1.6
        + 0.25 * (edu - 8)
        + 0.04 * (hours - 40)
        - 0.002 * (age - 47) ** 2
        + 1.3 * (marital == 0)
        + 0.6 * np.isin(occ, [3, 9, 12])
        + pair_bonus
        - 0.4 * (country > 5)
    )
    label = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    features = {
        "age": age,
        "hours_per_week": hours,
        "education": np.array(EDUCATION, dtype=object)[edu],
        "occupation": np.array(OCCUPATION, dtype=object)[occ],
        "marital_status": np.array(MARITAL, dtype=object)[marital],
        "native_country": np.array(COUNTRIES, dtype=object)[country],
    }
    return features, label


def _zipf_like(n, rng):
    p = 1.0 / np.arange(1, n + 1) ** 0.7
    p = rng.permutation(p)
    return p / p.sum()


def base_columns():
    """The table's `tf.feature_column` columns, shared by both models.

    Returns:
        dict name -> column: the numerics (`age`, `hours`, z-scored), the
        bucketized age, the four categorical columns and the cross.
    """
    fc = tf.feature_column
    age_raw = fc.numeric_column("age", dtype=tf.int64)
    return {
        "age": fc.numeric_column(
            "age", dtype=tf.int64, normalizer_fn=normalizers.zscore(39.0, 13.0)
        ),
        "hours": fc.numeric_column(
            "hours_per_week", normalizer_fn=normalizers.zscore(40.0, 12.0)
        ),
        "age_buckets": fc.bucketized_column(age_raw, [18, 25, 30, 35, 40, 45, 50, 55, 60, 65]),
        "education": fc.categorical_column_with_vocabulary_list("education", EDUCATION),
        "occupation": fc.categorical_column_with_vocabulary_list("occupation", OCCUPATION),
        "marital": fc.categorical_column_with_vocabulary_list("marital_status", MARITAL),
        "country": fc.categorical_column_with_hash_bucket("native_country", 64),
        "edu_x_occ": fc.crossed_column(["education", "occupation"], hash_bucket_size=1000),
    }


CATEGORICAL = ["education", "occupation", "marital", "country"]


def premade_columns():
    """(linear_feature_columns, dnn_feature_columns) of the premade baseline:
    the same wide and deep inputs as the custom model."""
    c = base_columns()
    linear = [c["age_buckets"], c["edu_x_occ"]] + [c[name] for name in CATEGORICAL]
    dnn = [tf.feature_column.embedding_column(c[name], EMBEDDING_DIM) for name in CATEGORICAL]
    return linear, dnn + [c["age"], c["hours"]]


def feature_columns():
    """The dense columns featurec compiles for the custom model.

    Returns:
        (columns, wide_names, deep_embedded_names, deep_numeric_names): the
        dense columns featurec compiles, and which compiled column (by name)
        feeds the wide part, the deep embeddings and the deep numerics.
    """
    fc = tf.feature_column
    c = base_columns()
    categorical = [c[name] for name in CATEGORICAL]
    columns = [c["age"], c["hours"], c["age_buckets"], fc.indicator_column(c["edu_x_occ"])]
    columns += [fc.indicator_column(col) for col in categorical]
    wide = [c["age_buckets"].name, f"{c['edu_x_occ'].name}_indicator"] + [
        f"{col.name}_indicator" for col in categorical
    ]
    deep_embedded = [f"{col.name}_indicator" for col in categorical]
    return columns, wide, deep_embedded, [c["age"].name, c["hours"].name]


def train_premade(steps, model_dir, train_raw, train_y, test_raw, test_y):
    """Trains and evaluates the premade baseline; returns its metrics.

    The optimizers are the defaults' classes with learning rates fit for a
    short run (the defaults, Adagrad 0.001 and Ftrl 0.005, are slow here).
    """
    linear, dnn = premade_columns()
    est = DNNLinearCombinedClassifier(
        linear_feature_columns=linear,
        linear_optimizer=keras.optimizers.Ftrl(learning_rate=0.1),
        dnn_feature_columns=dnn,
        dnn_hidden_units=[64, 32],
        dnn_optimizer=keras.optimizers.Adagrad(learning_rate=0.1),
        model_dir=model_dir,
        config=RunConfig(log_step_count_steps=max(1, steps // 10), tf_random_seed=0),
    )

    def train_input_fn():
        ds = tf.data.Dataset.from_tensor_slices((train_raw, train_y))
        return ds.shuffle(10_000, seed=0).repeat().batch(256).prefetch(2)

    def eval_input_fn():
        return tf.data.Dataset.from_tensor_slices((test_raw, test_y)).batch(2048)

    est.train(train_input_fn, steps=steps)
    return est.evaluate(eval_input_fn)


def side_by_side(premade, custom, majority):
    """The two models' metrics as printed lines (and the majority-class accuracy)."""
    lines = [f"{'metric':26s} {'premade DNNLinearCombined':>26s} {'custom Keras model':>20s}"]
    for key in ("accuracy", "auc", "loss"):
        lines.append(f"{key:26s} {premade[key]:26.4f} {custom[key]:20.4f}")
    lines.append(f"{'majority-class accuracy':26s} {majority:26.4f} {majority:20.4f}")
    return lines


def build_model(layout, wide_names, deep_embedded, deep_numeric):
    """The wide & deep Keras functional model over featurec's output.

    Args:
        layout: `transform.layout` (column name -> slice of the output).
        wide_names / deep_embedded / deep_numeric: column names per part.

    Returns:
        A compiled `keras.Model` with one `Input` per compiled column (named
        after it) and one output, `income_over_50k`, the probability.
    """
    inputs = {
        name: keras.Input((part.stop - part.start,), name=name) for name, part in layout.items()
    }
    wide = keras.layers.Concatenate(name="wide_inputs")([inputs[n] for n in wide_names])
    wide_logit = keras.layers.Dense(1, name="wide_logit")(wide)

    # A bias-free Dense on a one-hot slice is an embedding lookup.
    embedded = [
        keras.layers.Dense(
            EMBEDDING_DIM, use_bias=False, name=name.replace("_indicator", "_embedding")
        )(inputs[name])
        for name in deep_embedded
    ]
    deep = keras.layers.Concatenate(name="deep_inputs")(
        embedded + [inputs[n] for n in deep_numeric]
    )
    deep = keras.layers.Dense(64, activation="relu", name="deep_1")(deep)
    deep = keras.layers.Dense(32, activation="relu", name="deep_2")(deep)
    deep_logit = keras.layers.Dense(1, name="deep_logit")(deep)

    logit = keras.layers.Add(name="logit")([wide_logit, deep_logit])
    prob = keras.layers.Activation("sigmoid", name=LABEL)(logit)
    model = keras.Model(inputs, prob, name="census_wide_deep")
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.BinaryCrossentropy(),
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")],
    )
    return model


def split_by_layout(matrix, layout):
    """featurec's `[batch, width]` output as the model's dict of inputs.

    Works on numpy arrays and on TF tensors alike (the serving graph).
    """
    return {name: matrix[:, part.start : part.stop] for name, part in layout.items()}


def featurize_batches(dataset, transform):
    """Maps a batched dataset of raw features through featurec's kernels.

    `featurec.dataset` runs the numba transform in the input pipeline
    (parallel map + prefetch), off the training step's critical path; the
    graph keeps only the raw table, not the much wider transformed matrix.

    Args:
        dataset: yields raw feature dicts, or `(raw feature dict, labels)`.
        transform: the compiled `featurec.Transform`.

    Returns:
        A dataset of model input dicts (and labels, if given).
    """
    mapped = featurec.dataset(dataset, transform)
    if isinstance(mapped.element_spec, tuple):
        return mapped.map(lambda x, y: (split_by_layout(x, transform.layout), y))
    return mapped.map(lambda x: split_by_layout(x, transform.layout))


def serving_input_receiver_fn_for(transform):
    """A receiver taking RAW features, transformed by featurec's TF lowering.

    The placeholders are what a client sends (one value per row); the
    features handed to the model are the compiled layout's slices, computed
    with plain TF ops (no `numpy_function`), so the SavedModel is servable.
    """
    dtypes = {"age": tf.int64, "hours_per_week": tf.float32}

    def serving_input_receiver_fn():
        raw = {
            key: tf.compat.v1.placeholder(dtypes.get(key, tf.string), [None], name=key)
            for key in RAW_FEATURES
        }
        matrix = transform.to_tf(raw)
        return ServingInputReceiver(split_by_layout(matrix, transform.layout), raw)

    return serving_input_receiver_fn


def cli_command(export_dir, features, rows=2):
    """A `saved_model_cli run` command scoring `rows` raw rows."""
    # JSON lists: double-quoted strings, so the shell quoting stays readable.
    exprs = [f"{key}={json.dumps(features[key][:rows].tolist())}" for key in RAW_FEATURES]
    return (
        "saved_model_cli run --dir "
        + shlex.quote(export_dir)
        + " --tag_set serve --signature_def serving_default --input_exprs "
        + shlex.quote(";".join(exprs))
    )


def main(argv=None):
    """Runs the whole job; returns a dict of what it produced."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500, help="training steps (batch 256)")
    parser.add_argument("--model-dir", default=None, help="checkpoints; a temp dir if unset")
    parser.add_argument("--rows", type=int, default=40_000, help="training rows to generate")
    args = parser.parse_args(argv)
    model_dir = args.model_dir or tempfile.mkdtemp(prefix="census_wide_deep_")
    # The Keras model's initial weights (the Estimator warm-starts from them).
    keras.utils.set_random_seed(0)
    train_raw, train_y = make_table(args.rows, seed=0)
    test_raw, test_y = make_table(10_000, seed=1)
    # tf.feature_column's deprecation notices say nothing to act on here.
    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
    columns, wide_names, deep_embedded, deep_numeric = feature_columns()
    premade_columns()  # built once quietly: its deprecation notices say nothing either
    # Step / loss lines from the Estimator's logging hook show progress.
    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.INFO)

    # 1. The baseline: a premade estimator on the same columns.
    premade = train_premade(
        args.steps, os.path.join(model_dir, "premade"), train_raw, train_y, test_raw, test_y
    )
    print(
        f"premade: accuracy={premade['accuracy']:.4f} auc={premade['auc']:.4f} "
        f"loss={premade['loss']:.4f} global_step={premade['global_step']}"
    )

    # 2. The custom model: Keras on featurec's compiled output.
    transform = featurec.compile(columns)
    print(f"featurec: {len(columns)} columns -> {transform.output_width} floats a row")
    for name, part in transform.layout.items():
        print(f"  {name:42s} [{part.start}:{part.stop}]")

    def train_input_fn():
        ds = tf.data.Dataset.from_tensor_slices((train_raw, train_y))
        return featurize_batches(ds.shuffle(10_000, seed=0).repeat().batch(256), transform)

    def eval_input_fn():
        ds = tf.data.Dataset.from_tensor_slices((test_raw, test_y))
        return featurize_batches(ds.batch(2048), transform)

    model = build_model(transform.layout, wide_names, deep_embedded, deep_numeric)
    est = model_to_estimator(
        keras_model=model,
        config=RunConfig(
            model_dir=os.path.join(model_dir, "custom"),
            log_step_count_steps=max(1, args.steps // 10),
            tf_random_seed=0,
        ),
    )
    est.train(train_input_fn, steps=args.steps)
    metrics = est.evaluate(eval_input_fn)
    print(
        f"evaluate: accuracy={metrics['accuracy']:.4f} auc={metrics['auc']:.4f} "
        f"loss={metrics['loss']:.4f} global_step={metrics['global_step']} "
        f"(label mean {test_y.mean():.3f})"
    )
    majority = float(max(test_y.mean(), 1.0 - test_y.mean()))
    print("\n".join(side_by_side(premade, metrics, majority)))

    few = {k: v[:5] for k, v in test_raw.items()}

    def predict_input_fn():
        return featurize_batches(tf.data.Dataset.from_tensor_slices(few).batch(5), transform)

    predictions = [float(p[LABEL][0]) for p in est.predict(predict_input_fn)]
    for i, p in enumerate(predictions):
        row = ", ".join(f"{k}={test_raw[k][i]}" for k in RAW_FEATURES)
        print(f"predict: {row} -> P(income>50K)={p:.4f} (label {int(test_y[i])})")

    export_base = os.path.join(model_dir, "custom", "export")
    export_dir = est.export_saved_model(export_base, serving_input_receiver_fn_for(transform))
    export_dir = export_dir.decode() if isinstance(export_dir, bytes) else export_dir
    command = cli_command(export_dir, test_raw)
    print(f"SavedModel (serving signature takes raw features): {export_dir}")
    print("Score two raw rows from it with:")
    print(f"  {command}")
    return {
        "premade_metrics": premade,
        "majority_accuracy": majority,
        "metrics": metrics,
        "predictions": predictions,
        "export_dir": export_dir,
        "command": command,
        "raw_rows": {k: v[:5] for k, v in test_raw.items()},
    }


if __name__ == "__main__":
    main(sys.argv[1:])
