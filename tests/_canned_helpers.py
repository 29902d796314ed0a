"""Shared helpers of the canned-estimator tests: estimators from the fixture specs,
input functions over numpy data."""
import tensorflow as tf

import kerasbridge as kb
from _canned_tf215_data import make_columns


def input_fn(data, labels=None, batch=None, epochs=1):
    """An input_fn over dicts of numpy arrays (like the fixture script's)."""
    def fn():
        feats = {k: tf.constant(v) for k, v in data.items()}
        if labels is None:
            ds = tf.data.Dataset.from_tensor_slices(feats)
        else:
            ds = tf.data.Dataset.from_tensor_slices((feats, tf.constant(labels)))
        return ds.repeat(epochs).batch(batch or len(next(iter(data.values()))))
    return fn


def estimator_from_spec(spec, model_dir, **config):
    """The kerasbridge estimator the fixture spec describes (see _canned_tf215_data)."""
    fc = make_columns(tf)
    kw = dict(spec["kwargs"])
    for key in ("feature_columns", "linear_feature_columns", "dnn_feature_columns"):
        if key in kw:
            kw[key] = [fc[name] for name in kw[key]]
    if isinstance(kw.get("optimizer"), dict):
        opt = kw.pop("optimizer")
        kw["optimizer"] = getattr(tf.keras.optimizers, opt["class"])(**opt["config"])
    cfg = kb.RunConfig(tf_random_seed=7, save_summary_steps=1000, **config)
    return getattr(kb, spec["class"])(model_dir=model_dir, config=cfg, **kw)
