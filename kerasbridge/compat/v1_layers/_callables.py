"""Initializer and activation arguments given by name, as TF1 layers took them."""

import tensorflow as tf

_INITIALIZERS = (
    "zeros",
    "ones",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "identity",
    "lecun_normal",
    "lecun_uniform",
    "orthogonal",
    "random_normal",
    "random_uniform",
    "truncated_normal",
    "variance_scaling",
)


def initializer(value, argument):
    """None, a callable, or a name (`'zeros'`, `'glorot_uniform'`, ...).

    Names map to the `tf.compat.v1` initializers the original resolved them to.

    Raises:
        ValueError: naming `argument` for an unknown name.
    """
    if value is None or callable(value):
        return value
    if isinstance(value, str) and value.lower() in _INITIALIZERS:
        return getattr(tf.compat.v1.initializers, value.lower())()
    raise ValueError(f"Could not interpret initializer identifier for "
                     f"`{argument}`: {value}")


def activation(value):
    """None, a callable, or the name of a `tf.keras.activations` function."""
    if value is None or callable(value):
        return value
    if isinstance(value, str):
        if value == "linear":
            return None
        return tf.keras.activations.get(value)
    raise ValueError(f"Could not interpret activation function identifier: "
                     f"{value}")
