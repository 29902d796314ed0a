"""Data and columns of the TF 2.15 canned-estimator fixtures (tests/fixtures/canned_tf215).

Shared by the fixture script (run under TF 2.15) and the tests (TF 2.21): only numpy
here, and `make_columns` takes the `tf` module so either interpreter builds them.
"""
import numpy as np

VOCAB = ["a", "b", "c", "d"]

# name -> estimator class, constructor kwargs (column names resolved by make_columns),
# task ('binary', 'binary_vocab', 'multi' or 'regression') and training steps.
MODELS = {
    "dnn_classifier": {
        "class": "DNNClassifier",
        "task": "multi",
        "steps": 30,
        "kwargs": {"hidden_units": [5, 3], "n_classes": 3,
                   "feature_columns": ["x", "c_emb"]},
    },
    "linear_classifier": {
        "class": "LinearClassifier",
        "task": "binary",
        "steps": 30,
        "kwargs": {"feature_columns": ["x", "c", "h", "xb"]},
    },
    "wide_deep_classifier": {
        "class": "DNNLinearCombinedClassifier",
        "task": "binary_vocab",
        "steps": 30,
        "kwargs": {"linear_feature_columns": ["c", "h", "cross"],
                   "dnn_feature_columns": ["x", "c_emb"],
                   "dnn_hidden_units": [4], "label_vocabulary": ["no", "yes"]},
    },
    "dnn_regressor": {
        "class": "DNNRegressor",
        "task": "regression",
        "steps": 30,
        "kwargs": {"hidden_units": [4, 4], "feature_columns": ["x", "c_ind"],
                   "batch_norm": True, "dropout": 0.1,
                   "optimizer": {"class": "Adam", "config": {"learning_rate": 0.01}}},
    },
    "dnn_regressor_bn_rmsprop": {
        "class": "DNNRegressor",
        "task": "regression",
        "steps": 20,
        "kwargs": {"hidden_units": [4], "feature_columns": ["x", "c_emb"],
                   "batch_norm": True,
                   "optimizer": {"class": "RMSprop", "config": {"learning_rate": 0.01}}},
    },
    "dnn_rmsprop": {
        "class": "DNNRegressor",
        "task": "regression",
        "steps": 20,
        "kwargs": {"hidden_units": [4], "feature_columns": ["x", "c_emb"],
                   "optimizer": {"class": "RMSprop", "config": {"learning_rate": 0.01}}},
    },
    "dnn_adam_embedding": {
        "class": "DNNClassifier",
        "task": "binary",
        "steps": 20,
        "kwargs": {"hidden_units": [3], "feature_columns": ["x", "c_emb"],
                   "optimizer": {"class": "Adam", "config": {"learning_rate": 0.02}}},
    },
    "linear_sgd_momentum": {
        "class": "LinearClassifier",
        "task": "multi",
        "steps": 20,
        "kwargs": {"feature_columns": ["x", "c", "cross"], "n_classes": 3,
                   "sparse_combiner": "sqrtn",
                   "optimizer": {"class": "SGD",
                                 "config": {"learning_rate": 0.05, "momentum": 0.9}}},
    },
    "linear_regressor": {
        "class": "LinearRegressor",
        "task": "regression",
        "steps": 30,
        "kwargs": {"feature_columns": ["x", "c", "h"], "sparse_combiner": "mean",
                   "weight_column": "w"},
    },
}


def make_columns(tf):
    """The feature columns by name, built with the given TensorFlow module."""
    fc = tf.feature_column
    c = fc.categorical_column_with_vocabulary_list("c", VOCAB)
    h = fc.categorical_column_with_hash_bucket("h", 5)
    x = fc.numeric_column("x", shape=(2,))
    return {
        "x": x,
        "c": c,
        "h": h,
        "xb": fc.bucketized_column(fc.numeric_column("x1"), [-0.5, 0.0, 0.5]),
        "cross": fc.crossed_column(["c", "h"], 7),
        "c_emb": fc.embedding_column(c, 3),
        "c_ind": fc.indicator_column(c),
    }


_SIZES = {"train": 64, "eval": 24, "predict": 6}
_SEEDS = {"train": 1, "eval": 2, "predict": 3}


def make_data(split, task):
    """Features and labels of one split: deterministic, learnable from x and c."""
    rng = np.random.RandomState(_SEEDS[split])
    n = _SIZES[split]
    x = rng.normal(size=(n, 2)).astype(np.float32)
    ci = rng.randint(0, len(VOCAB), size=n)
    c = np.array([[VOCAB[i], VOCAB[(i + 1) % 4]] if i % 2 else [VOCAB[i], ""]
                  for i in ci])
    h = np.array(["k%d" % rng.randint(0, 9) for _ in range(n)]).reshape(n, 1)
    feats = {"x": x, "x1": x[:, :1].copy(), "c": c, "h": h,
             "w": rng.uniform(0.5, 2.0, size=(n, 1)).astype(np.float32)}
    score = x[:, 0] - 0.5 * x[:, 1] + (ci - 1.5) * 0.6
    if task == "binary":
        labels = (score > 0).astype(np.int64).reshape(n, 1)
    elif task == "binary_vocab":
        labels = np.where(score > 0, "yes", "no").reshape(n, 1)
    elif task == "multi":
        labels = np.digitize(score, [-0.7, 0.7]).astype(np.int64).reshape(n, 1)
    else:
        labels = (score + 0.1 * rng.normal(size=n)).astype(np.float32).reshape(n, 1)
    return feats, labels
