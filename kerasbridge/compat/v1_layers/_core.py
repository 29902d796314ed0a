"""`Dense`, `Dropout`, `Flatten` and their functional forms (`tf.layers.dense`, ...)."""

import math

import tensorflow as tf

from kerasbridge.compat.v1_layers import _callables
from kerasbridge.compat.v1_layers._args import normalize_data_format
from kerasbridge.compat.v1_layers._base import InputSpec
from kerasbridge.compat.v1_layers._base import Layer

v1 = tf.compat.v1


class Dense(Layer):
    """Densely connected layer: `activation(inputs @ kernel + bias)`.

    Variables `kernel` `[input_dim, units]` and `bias` `[units]`. Inputs of
    rank > 2 are contracted over their last axis.
    """

    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer=None,
        bias_initializer=v1.zeros_initializer(),
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        trainable=True,
        name=None,
        **kwargs,
    ):
        super().__init__(
            trainable=trainable,
            name=name,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )
        self.units = int(units)
        if self.units <= 0:
            raise ValueError(
                "Received an invalid value for `units`, expected a positive "
                f"integer. Received: units={units}"
            )
        self.activation = _callables.activation(activation)
        self.use_bias = use_bias
        self.kernel_initializer = _callables.initializer(
            kernel_initializer, "kernel_initializer"
        )
        self.bias_initializer = _callables.initializer(
            bias_initializer, "bias_initializer"
        )
        self.kernel_regularizer = kernel_regularizer
        self.bias_regularizer = bias_regularizer
        self.kernel_constraint = kernel_constraint
        self.bias_constraint = bias_constraint
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape):
        last_dim = tf.compat.dimension_value(input_shape[-1])
        if last_dim is None:
            raise ValueError(
                "The last dimension of the inputs to a Dense layer should be "
                "defined. Found None. Full input shape received: "
                f"{tuple(input_shape.as_list())}"
            )
        self.input_spec = InputSpec(min_ndim=2, axes={-1: last_dim})
        self.kernel = self.add_weight(
            "kernel",
            shape=[last_dim, self.units],
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                "bias",
                shape=[self.units],
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def call(self, inputs):
        if inputs.dtype.base_dtype != self._dtype:
            inputs = tf.cast(inputs, self._dtype)
        rank = inputs.shape.rank
        if isinstance(inputs, tf.SparseTensor):
            outputs = tf.sparse.sparse_dense_matmul(inputs, self.kernel)
        elif rank == 2 or rank is None:
            outputs = tf.matmul(inputs, self.kernel)
        else:
            outputs = tf.tensordot(inputs, self.kernel, [[rank - 1], [0]])
            outputs.set_shape(inputs.shape[:-1].concatenate([self.units]))
        if self.use_bias:
            outputs = tf.nn.bias_add(outputs, self.bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs


def dense(
    inputs,
    units,
    activation=None,
    use_bias=True,
    kernel_initializer=None,
    bias_initializer=v1.zeros_initializer(),
    kernel_regularizer=None,
    bias_regularizer=None,
    activity_regularizer=None,
    kernel_constraint=None,
    bias_constraint=None,
    trainable=True,
    name=None,
    reuse=None,
):
    """Functional `Dense`: `tf.layers.dense(inputs, units, ...)`.

    Args:
        inputs: Tensor of rank >= 2 with a known last dimension.
        units: Output size.
        name: Variable scope name (default `dense`, `dense_1`, ...).
        reuse: Reuse the variables of a layer with the same `name`.
        (the other arguments as in `Dense`)

    Returns:
        The output tensor.
    """
    layer = Dense(
        units,
        activation=activation,
        use_bias=use_bias,
        kernel_initializer=kernel_initializer,
        bias_initializer=bias_initializer,
        kernel_regularizer=kernel_regularizer,
        bias_regularizer=bias_regularizer,
        activity_regularizer=activity_regularizer,
        kernel_constraint=kernel_constraint,
        bias_constraint=bias_constraint,
        trainable=trainable,
        name=name,
        _scope=name,
        _reuse=reuse,
    )
    return layer(inputs)


class Dropout(Layer):
    """Drops units with probability `rate` when `training`, scaling the rest."""

    def __init__(self, rate=0.5, noise_shape=None, seed=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        if isinstance(rate, (int, float)) and not 0 <= rate <= 1:
            raise ValueError(
                "Invalid value received for `rate`, expected a value between "
                f"0 and 1, got: {rate}"
            )
        self.rate = rate
        self.noise_shape = noise_shape
        self.seed = seed

    def _noise_shape(self, inputs):
        if self.noise_shape is None:
            return None
        dynamic = tf.shape(inputs)
        return tf.stack(
            [
                dynamic[i] if size is None else size
                for i, size in enumerate(self.noise_shape)
            ]
        )

    def call(self, inputs, training=False):
        if isinstance(self.rate, (int, float)) and self.rate == 0:
            return tf.identity(inputs)

        def dropped():
            return tf.nn.dropout(
                inputs,
                rate=self.rate,
                noise_shape=self._noise_shape(inputs),
                seed=self.seed,
            )

        return tf.__internal__.smart_cond.smart_cond(
            training, dropped, lambda: tf.identity(inputs)
        )


def dropout(
    inputs, rate=0.5, noise_shape=None, seed=None, training=False, name=None
):
    """Functional `Dropout`; inactive unless `training` (bool or tensor).

    Returns:
        The output tensor.
    """
    layer = Dropout(rate, noise_shape=noise_shape, seed=seed, name=name)
    return layer(inputs, training=training)


class Flatten(Layer):
    """Flattens all but the batch axis (channels last first)."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format)
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        rank = inputs.shape.rank
        if self.data_format == "channels_first" and rank is not None and rank > 1:
            inputs = tf.transpose(inputs, [0] + list(range(2, rank)) + [1])
        if rank == 1:
            return tf.expand_dims(inputs, 1)
        batch = tf.compat.dimension_value(inputs.shape[0])
        rest = inputs.shape[1:]
        if rest.is_fully_defined():
            shape = tf.constant([-1, math.prod(rest.as_list())])
        elif batch is not None:
            shape = tf.constant([int(batch), -1])
        else:
            shape = [tf.shape(inputs)[0], -1]
        return tf.reshape(inputs, shape)


def flatten(inputs, name=None, data_format="channels_last"):
    """Functional `Flatten`: `[batch, ...]` -> `[batch, prod(...)]`."""
    return Flatten(name=name, data_format=data_format)(inputs)
