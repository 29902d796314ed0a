"""`kb.inputs`: the original's `tf.compat.v1.estimator.inputs`, built on `tf.data`."""

from kerasbridge.inputs._numpy_io import numpy_input_fn
from kerasbridge.inputs._pandas_io import pandas_input_fn

__all__ = ["numpy_input_fn", "pandas_input_fn"]
