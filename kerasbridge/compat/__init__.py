"""Compatibility modules for TF1-era code on TensorFlow 2.21.

`kerasbridge.compat.v1_layers` is `tf.compat.v1.layers` (`tf.layers` under
`import tensorflow.compat.v1 as tf`) for graph-mode code such as a `model_fn`;
`kerasbridge.install()` makes `tf.compat.v1.layers` resolve to it.
"""

from kerasbridge.compat import v1_layers

__all__ = ["v1_layers"]
