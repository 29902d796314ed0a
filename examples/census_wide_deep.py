"""Census income, wide & deep: raw features -> featurec -> Keras -> Estimator -> SavedModel.

The main job of kerasbridge + featurec, end to end:

1. generate a census-income-like table (fixed seed, nothing downloaded):
   age, hours per week, education, occupation, marital status, a
   native-country column with a long tail, and an income label that depends
   on them (including an education x occupation interaction);
2. describe the features with ordinary `tf.feature_column` columns and
   compile them once with `featurec.compile`;
3. build a Keras functional model whose `Input`s come from the compiled
   layout (one input per column, `transform.layout` gives its width): a
   *wide* part (a linear model over the bucketized age, every indicator
   column and the crossed education x occupation column) and a *deep* part
   (an 8-dim embedding per categorical column plus the normalised numerics,
   then a 2-layer MLP). An embedding here is a bias-free `Dense` layer on
   the column's one-hot slice: a one-hot row times the kernel *is* the
   embedding lookup (`Embedding` with a sum combiner), trained as a Keras
   weight;
4. `kb.model_to_estimator` turns it into an Estimator; `train()` logs step
   and loss as it goes; `evaluate()` reports accuracy and AUC; `predict()`
   scores a few rows;
5. `export_saved_model` writes a SavedModel whose serving signature takes the
   RAW features: the serving receiver builds the same featurec plan with
   plain TF ops (featurec's TF lowering), so the exported graph holds no
   `py_func` / `numpy_function` and any TF server can run it;
6. prints the export directory and a `saved_model_cli run` command that
   answers from it.

Training input: `tf.data` shuffles and batches the raw table, and
`featurec.dataset` runs featurec's numba kernels on each batch in a parallel
map (off the training step's critical path, prefetched). Serving uses the TF
lowering instead.

Which path this uses: the Keras path (`model_to_estimator` over a model fed
by featurec's output), not the `featurec.input_layer` fallback.

Run (about a minute on 2 CPU cores):
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


def feature_columns():
    """The `tf.feature_column` description of the table.

    Returns:
        (columns, wide_names, deep_embedded_names, deep_numeric_names): the
        dense columns featurec compiles, and which compiled column (by name)
        feeds the wide part, the deep embeddings and the deep numerics.
    """
    fc = tf.feature_column
    age = fc.numeric_column("age", dtype=tf.int64, normalizer_fn=normalizers.zscore(39.0, 13.0))
    hours = fc.numeric_column(
        "hours_per_week", normalizer_fn=normalizers.zscore(40.0, 12.0)
    )
    age_raw = fc.numeric_column("age", dtype=tf.int64)
    age_buckets = fc.bucketized_column(age_raw, [18, 25, 30, 35, 40, 45, 50, 55, 60, 65])
    education = fc.categorical_column_with_vocabulary_list("education", EDUCATION)
    occupation = fc.categorical_column_with_vocabulary_list("occupation", OCCUPATION)
    marital = fc.categorical_column_with_vocabulary_list("marital_status", MARITAL)
    country = fc.categorical_column_with_hash_bucket("native_country", 64)
    edu_x_occ = fc.crossed_column(["education", "occupation"], hash_bucket_size=1000)

    categorical = [education, occupation, marital, country]
    columns = [age, hours, age_buckets, fc.indicator_column(edu_x_occ)]
    columns += [fc.indicator_column(c) for c in categorical]
    wide = [age_buckets.name, f"{edu_x_occ.name}_indicator"] + [
        f"{c.name}_indicator" for c in categorical
    ]
    deep_embedded = [f"{c.name}_indicator" for c in categorical]
    return columns, wide, deep_embedded, [age.name, hours.name]


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
    # Step / loss lines from the Estimator's logging hook show progress.
    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.INFO)
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
            model_dir=model_dir, log_step_count_steps=max(1, args.steps // 10), tf_random_seed=0
        ),
    )
    est.train(train_input_fn, steps=args.steps)
    metrics = est.evaluate(eval_input_fn)
    print(
        f"evaluate: accuracy={metrics['accuracy']:.4f} auc={metrics['auc']:.4f} "
        f"loss={metrics['loss']:.4f} global_step={metrics['global_step']} "
        f"(label mean {test_y.mean():.3f})"
    )

    few = {k: v[:5] for k, v in test_raw.items()}

    def predict_input_fn():
        return featurize_batches(tf.data.Dataset.from_tensor_slices(few).batch(5), transform)

    predictions = [float(p[LABEL][0]) for p in est.predict(predict_input_fn)]
    for i, p in enumerate(predictions):
        row = ", ".join(f"{k}={test_raw[k][i]}" for k in RAW_FEATURES)
        print(f"predict: {row} -> P(income>50K)={p:.4f} (label {int(test_y[i])})")

    export_base = os.path.join(model_dir, "export")
    export_dir = est.export_saved_model(export_base, serving_input_receiver_fn_for(transform))
    export_dir = export_dir.decode() if isinstance(export_dir, bytes) else export_dir
    command = cli_command(export_dir, test_raw)
    print(f"SavedModel (serving signature takes raw features): {export_dir}")
    print("Score two raw rows from it with:")
    print(f"  {command}")
    return {
        "metrics": metrics,
        "predictions": predictions,
        "export_dir": export_dir,
        "command": command,
        "raw_rows": {k: v[:5] for k, v in test_raw.items()},
    }


if __name__ == "__main__":
    main(sys.argv[1:])
