"""`BatchNormalization` / `batch_normalization` as TF1 graphs ran them.

Variables `gamma`, `beta`, `moving_mean`, `moving_variance`. With `training`
true (a bool or a boolean tensor) the batch moments normalise and the moving
statistics get `moving -= (moving - batch) * (1 - momentum)` ops, which are
added to `tf.GraphKeys.UPDATE_OPS` for the user to run (usually with
`control_dependencies` around the train op), exactly as TF1 required.
4-D and 5-D inputs over the channel axis use the fused kernel, as the
original did; as there, its moving variance follows the unbiased batch
variance, the non-fused path's the biased one.
"""

import tensorflow as tf

from kerasbridge.compat.v1_layers import _callables
from kerasbridge.compat.v1_layers._base import InputSpec
from kerasbridge.compat.v1_layers._base import Layer

v1 = tf.compat.v1
_smart_cond = tf.__internal__.smart_cond.smart_cond
_FUSED_FORMATS = {(4, 1): "NCHW", (4, 3): "NHWC", (5, 1): "NCDHW", (5, 4): "NDHWC"}


def _static_bool(value):
    if isinstance(value, (bool, int)):
        return bool(value)
    if isinstance(value, tf.Variable):
        return None
    static = tf.get_static_value(value)
    return None if static is None else bool(static)


class BatchNormalization(Layer):
    """Batch normalization over `axis` (int or list of ints).

    `renorm`, `virtual_batch_size` and `adjustment` are not supported
    (a `ValueError` names them); everything else follows TF1.
    """

    def __init__(
        self,
        axis=-1,
        momentum=0.99,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer=v1.zeros_initializer(),
        gamma_initializer=v1.ones_initializer(),
        moving_mean_initializer=v1.zeros_initializer(),
        moving_variance_initializer=v1.ones_initializer(),
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        renorm=False,
        renorm_clipping=None,
        renorm_momentum=0.99,
        fused=None,
        trainable=True,
        virtual_batch_size=None,
        adjustment=None,
        name=None,
        **kwargs,
    ):
        super().__init__(trainable=trainable, name=name, **kwargs)
        for argument, value in (
            ("renorm", renorm),
            ("virtual_batch_size", virtual_batch_size),
            ("adjustment", adjustment),
        ):
            if value:
                raise ValueError(
                    f"kerasbridge's tf.compat.v1.layers.BatchNormalization "
                    f"does not support `{argument}` (got {argument}={value}); "
                    "use tf.keras.layers.BatchNormalization instead."
                )
        del renorm_clipping, renorm_momentum
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else axis
        self.momentum = momentum
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.beta_initializer = _callables.initializer(
            beta_initializer, "beta_initializer"
        )
        self.gamma_initializer = _callables.initializer(
            gamma_initializer, "gamma_initializer"
        )
        self.moving_mean_initializer = _callables.initializer(
            moving_mean_initializer, "moving_mean_initializer"
        )
        self.moving_variance_initializer = _callables.initializer(
            moving_variance_initializer, "moving_variance_initializer"
        )
        self.beta_regularizer = beta_regularizer
        self.gamma_regularizer = gamma_regularizer
        self.beta_constraint = beta_constraint
        self.gamma_constraint = gamma_constraint
        self.fused = fused

    def _validate_axis(self, input_shape):
        rank = input_shape.rank
        if rank is None:
            raise ValueError(
                f"Input has undefined rank. Received: input_shape={input_shape}."
            )
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        normalized = []
        for axis in axes:
            if not -rank <= axis < rank:
                raise ValueError(
                    f"Invalid value for `axis` argument. Expected 0 <= axis < "
                    f"inputs.rank (with inputs.rank={rank}). Received: "
                    f"axis={self.axis}"
                )
            normalized.append(axis % rank)
        if len(normalized) != len(set(normalized)):
            raise ValueError(f"Duplicate axis: {self.axis}")
        return normalized

    def build(self, input_shape):
        rank = input_shape.rank
        self.axis = self._validate_axis(input_shape)
        fused_format = (
            _FUSED_FORMATS.get((rank, self.axis[0]))
            if len(self.axis) == 1
            else None
        )
        if self.fused is False or self._dtype not in (
            tf.float16, tf.bfloat16, tf.float32
        ):
            fused_format = None
        self._fused_format = fused_format
        sizes = {a: tf.compat.dimension_value(input_shape[a]) for a in self.axis}
        if any(size is None for size in sizes.values()):
            raise ValueError(
                "Input has undefined `axis` dimension. Received input with "
                f"shape {tuple(input_shape.as_list())} and "
                f"axis={tuple(self.axis)}"
            )
        self.input_spec = InputSpec(ndim=rank, axes=sizes)
        if len(sizes) == 1:
            param_shape = (next(iter(sizes.values())),)
        else:
            param_shape = [sizes.get(i, 1) for i in range(rank)]
        # Batch-norm statistics are float32 even for 16-bit inputs.
        param_dtype = (
            tf.float32 if self._dtype in (tf.float16, tf.bfloat16) else self._dtype
        )
        self.gamma = self.beta = None
        if self.scale:
            self.gamma = self.add_weight(
                "gamma", param_shape, dtype=param_dtype,
                initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
            )
        if self.center:
            self.beta = self.add_weight(
                "beta", param_shape, dtype=param_dtype,
                initializer=self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint,
            )
        # The moving statistics are never partitioned (as in TF1).
        partitioner = self._scope.partitioner
        self._scope.set_partitioner(None)
        try:
            self.moving_mean = self.add_weight(
                "moving_mean", param_shape, dtype=param_dtype,
                initializer=self.moving_mean_initializer,
                synchronization=tf.VariableSynchronization.ON_READ,
                aggregation=tf.VariableAggregation.MEAN,
                trainable=False,
            )
            self.moving_variance = self.add_weight(
                "moving_variance", param_shape, dtype=param_dtype,
                initializer=self.moving_variance_initializer,
                synchronization=tf.VariableSynchronization.ON_READ,
                aggregation=tf.VariableAggregation.MEAN,
                trainable=False,
            )
        finally:
            self._scope.set_partitioner(partitioner)

    def _assign_moving_average(self, variable, value, momentum):
        with tf.name_scope("AssignMovingAvg") as scope:
            decay = tf.cast(1.0 - tf.convert_to_tensor(momentum), variable.dtype)
            delta = (variable - tf.cast(value, variable.dtype)) * decay
            return v1.assign_sub(variable, delta, name=scope)

    def _add_moving_updates(self, mean, variance, training, momentum):
        def update(variable, value):
            return _smart_cond(
                training,
                lambda: self._assign_moving_average(variable, value, momentum),
                lambda: variable,
            )

        # UPDATE_OPS holds operations, as TF1's layers put there.
        self.add_update(update(self.moving_mean, mean).op)
        self.add_update(update(self.moving_variance, variance).op)

    def _fused_call(self, inputs, training):
        param_dtype = self.moving_mean.dtype.base_dtype
        channels = self.moving_mean.shape
        gamma = self.gamma if self.scale else tf.ones(channels, param_dtype)
        beta = self.beta if self.center else tf.zeros(channels, param_dtype)

        def train():
            return v1.nn.fused_batch_norm(
                inputs, gamma, beta, epsilon=self.epsilon, is_training=True,
                data_format=self._fused_format,
            )

        def infer():
            return v1.nn.fused_batch_norm(
                inputs, gamma, beta, mean=self.moving_mean,
                variance=self.moving_variance, epsilon=self.epsilon,
                is_training=False, data_format=self._fused_format,
            )

        # The fused kernel returns the unbiased (Bessel-corrected) batch
        # variance, and TF1 fed that to the moving variance unchanged.
        outputs, mean, variance = _smart_cond(training, train, infer)
        training_value = _static_bool(training)
        if training_value is not False:
            momentum = (
                tf.convert_to_tensor(self.momentum)
                if training_value
                else _smart_cond(training, lambda: self.momentum, lambda: 1.0)
            )
            self._add_moving_updates(mean, variance, training, momentum)
        return outputs

    def call(self, inputs, training=False):
        if self._fused_format is not None:
            return self._fused_call(inputs, training)
        input_dtype = inputs.dtype.base_dtype
        if input_dtype in (tf.float16, tf.bfloat16):
            inputs = tf.cast(inputs, tf.float32)
        rank = inputs.shape.rank
        reduction_axes = [i for i in range(rank) if i not in self.axis]
        broadcast_shape = [1] * rank
        broadcast_shape[self.axis[0]] = self.moving_mean.shape[0]

        def broadcast(value):
            if (
                value is not None
                and value.shape.rank != rank
                and reduction_axes != list(range(rank - 1))
            ):
                return tf.reshape(value, broadcast_shape)
            return value

        scale, offset = broadcast(self.gamma), broadcast(self.beta)
        if _static_bool(training) is False:
            mean, variance = self.moving_mean, self.moving_variance
        else:
            batch_mean, batch_variance = tf.nn.moments(
                inputs, reduction_axes, keepdims=len(self.axis) > 1
            )
            mean = _smart_cond(
                training,
                lambda: batch_mean,
                lambda: tf.convert_to_tensor(self.moving_mean),
            )
            variance = _smart_cond(
                training,
                lambda: batch_variance,
                lambda: tf.convert_to_tensor(self.moving_variance),
            )
            self._add_moving_updates(mean, variance, training, self.momentum)
        outputs = tf.nn.batch_normalization(
            inputs,
            broadcast(tf.cast(mean, inputs.dtype)),
            broadcast(tf.cast(variance, inputs.dtype)),
            None if offset is None else tf.cast(offset, inputs.dtype),
            None if scale is None else tf.cast(scale, inputs.dtype),
            self.epsilon,
        )
        if input_dtype in (tf.float16, tf.bfloat16):
            outputs = tf.cast(outputs, input_dtype)
        outputs.set_shape(inputs.shape)
        return outputs


def batch_normalization(
    inputs,
    axis=-1,
    momentum=0.99,
    epsilon=1e-3,
    center=True,
    scale=True,
    beta_initializer=v1.zeros_initializer(),
    gamma_initializer=v1.ones_initializer(),
    moving_mean_initializer=v1.zeros_initializer(),
    moving_variance_initializer=v1.ones_initializer(),
    beta_regularizer=None,
    gamma_regularizer=None,
    beta_constraint=None,
    gamma_constraint=None,
    training=False,
    trainable=True,
    name=None,
    reuse=None,
    renorm=False,
    renorm_clipping=None,
    renorm_momentum=0.99,
    fused=None,
    virtual_batch_size=None,
    adjustment=None,
):
    """Functional `BatchNormalization`; `training` selects batch statistics.

    The moving-statistics updates land in `tf.GraphKeys.UPDATE_OPS`; run them
    with the train op (`tf.control_dependencies(tf.get_collection(
    tf.GraphKeys.UPDATE_OPS))`), as TF1 required.

    Returns:
        The normalized tensor.
    """
    layer = BatchNormalization(
        axis=axis, momentum=momentum, epsilon=epsilon, center=center,
        scale=scale, beta_initializer=beta_initializer,
        gamma_initializer=gamma_initializer,
        moving_mean_initializer=moving_mean_initializer,
        moving_variance_initializer=moving_variance_initializer,
        beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer,
        beta_constraint=beta_constraint, gamma_constraint=gamma_constraint,
        renorm=renorm, renorm_clipping=renorm_clipping,
        renorm_momentum=renorm_momentum, fused=fused, trainable=trainable,
        virtual_batch_size=virtual_batch_size, adjustment=adjustment,
        name=name, _scope=name, _reuse=reuse,
    )
    return layer(inputs, training=training)
