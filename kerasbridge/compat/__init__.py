"""Compatibility modules for TF1-era code on TensorFlow 2.21.

`kerasbridge.compat.v1_layers` is `tf.compat.v1.layers` (`tf.layers` under
`import tensorflow.compat.v1 as tf`) for graph-mode code such as a `model_fn`;
`kerasbridge.install()` makes `tf.compat.v1.layers` resolve to it. It is
imported on first use, so `import kerasbridge` does not pay for it.
"""

import importlib

__all__ = ["v1_layers"]


def __getattr__(name):
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
