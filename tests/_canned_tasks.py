"""Synthetic tasks for the canned-estimator tests: learnable from a numeric pair
`x` and a categorical `c`, with a weight feature `w`."""
import numpy as np
import tensorflow as tf

VOCAB = ["a", "b", "c", "d"]
C_EFFECT = np.array([-1.0, -0.3, 0.4, 1.2], np.float32)


def columns():
    fc = tf.feature_column
    c = fc.categorical_column_with_vocabulary_list("c", VOCAB)
    x = fc.numeric_column("x", shape=(2,))
    return {"x": x, "c": c, "c_emb": fc.embedding_column(c, 3), "c_ind": fc.indicator_column(c)}


def make(n, seed, task):
    """(features, labels) for task 'binary', 'multi', 'vocab' or 'regression'."""
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(n, 2)).astype(np.float32)
    ci = rng.randint(0, 4, size=n)
    score = 1.5 * x[:, 0] - x[:, 1] + C_EFFECT[ci]
    feats = {"x": x, "c": np.array(VOCAB)[ci].reshape(n, 1),
             "w": np.ones((n, 1), np.float32)}
    if task == "binary":
        labels = (score > 0).astype(np.int64)
    elif task == "vocab":
        labels = np.where(score > 0, "yes", "no")
    elif task == "multi":
        labels = np.digitize(score, [-0.8, 0.8]).astype(np.int64)
    else:
        labels = (2.0 * score + 1.0).astype(np.float32)
    return feats, labels.reshape(n, 1)
