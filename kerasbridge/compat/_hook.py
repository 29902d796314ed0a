"""Wires `v1_layers` in as `tf.compat.v1.layers` (called by `kb.install()`)."""

import importlib
import sys

import tensorflow as tf

_MODULE_NAME = "tensorflow.compat.v1.layers"


def v1_modules():
    """The module objects a script may know as `tf.compat.v1`.

    `import tensorflow.compat.v1 as tf` imports a module object distinct from
    the `tf.compat.v1` attribute when it was not imported before; names set
    on one are missing from the other, so both get them.

    Returns:
        A list of distinct modules.
    """
    modules = [tf.compat.v1, importlib.import_module("tensorflow.compat.v1")]
    return [m for i, m in enumerate(modules) if m not in modules[:i]]


def _tf_has_v1_layers():
    # Under TF_USE_LEGACY_KERAS=1 with tf-keras installed, TF routes
    # tf.compat.v1.layers to tf-keras' TF1 layers; those are left in place.
    try:
        tf.compat.v1.layers.dense  # noqa: B018
    except (AttributeError, ImportError):
        return False
    return True


def install_v1_layers():
    """Makes `tf.compat.v1.layers` kerasbridge's TF1 layers, where TF has none.

    Returns:
        The module now behind `tf.compat.v1.layers`.
    """
    from kerasbridge.compat import v1_layers  # noqa: PLC0415

    if tf.compat.v1.layers is not v1_layers and _tf_has_v1_layers():
        return tf.compat.v1.layers
    for module in v1_modules():
        module.layers = v1_layers
    sys.modules[_MODULE_NAME] = v1_layers
    return v1_layers
