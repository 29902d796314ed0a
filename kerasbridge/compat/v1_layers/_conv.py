"""Convolution layers: `Conv1D/2D/3D`, `Conv2D/3DTranspose`, `SeparableConv1D/2D`.

Kernels are `kernel_size + (in_channels, filters)` (transposed:
`kernel_size + (filters, in_channels)`; separable: `depthwise_kernel`
`kernel_size + (in_channels, depth_multiplier)` and `pointwise_kernel`
`(1,)*rank + (in_channels*depth_multiplier, filters)`), as in TF1, so
checkpoints are interchangeable.
"""

import tensorflow as tf

from kerasbridge.compat.v1_layers import _args
from kerasbridge.compat.v1_layers import _callables
from kerasbridge.compat.v1_layers._base import InputSpec
from kerasbridge.compat.v1_layers._base import Layer

v1 = tf.compat.v1


class _Conv(Layer):
    """N-D convolution (`rank` spatial axes) with optional bias and activation."""

    _transposed = False

    def __init__(
        self,
        rank,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format="channels_last",
        dilation_rate=1,
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
        if filters is not None and filters <= 0:
            raise ValueError(
                "Invalid value for argument `filters`. Expected a strictly "
                f"positive value. Received filters={filters}."
            )
        self.rank = rank
        self.filters = filters
        self.kernel_size = _args.normalize_tuple(kernel_size, rank, "kernel_size")
        self.strides = _args.normalize_tuple(strides, rank, "strides")
        self.padding = _args.normalize_padding(padding, allow_causal=rank == 1)
        self.data_format = _args.normalize_data_format(data_format)
        self.dilation_rate = _args.normalize_tuple(
            dilation_rate, rank, "dilation_rate"
        )
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                "`strides > 1` not supported in conjunction with "
                f"`dilation_rate > 1`. Received: strides={self.strides} and "
                f"dilation_rate={self.dilation_rate}"
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
        self.input_spec = InputSpec(min_ndim=rank + 2)

    @property
    def _channel_axis(self):
        return 1 if self.data_format == "channels_first" else -1

    @property
    def _nn_format(self):
        return _args.nn_data_format(self.data_format, self.rank)

    def _input_channels(self, input_shape):
        channels = tf.compat.dimension_value(input_shape[self._channel_axis])
        if channels is None:
            raise ValueError(
                "The channel dimension of the inputs should be defined. The "
                f"input_shape received is {tuple(input_shape.as_list())}, "
                f"where axis {self._channel_axis} (0-based) is the channel "
                "dimension, which found to be `None`."
            )
        self.input_spec = InputSpec(
            min_ndim=self.rank + 2, axes={self._channel_axis: channels}
        )
        return channels

    def _kernel_shape(self, channels):
        return self.kernel_size + (channels, self.filters)

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self.kernel = self.add_weight(
            "kernel",
            shape=self._kernel_shape(channels),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self._build_bias()

    def _build_bias(self):
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                "bias",
                shape=(self.filters,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def _causal_pad(self, inputs):
        # Left-pad the time axis so output t sees inputs <= t only.
        left = self.dilation_rate[0] * (self.kernel_size[0] - 1)
        pad = [[0, 0], [left, 0], [0, 0]]
        if self.data_format == "channels_first":
            pad = [[0, 0], [0, 0], [left, 0]]
        return tf.pad(inputs, pad)

    def _convolve(self, inputs):
        padding = self.padding
        if padding == "causal":
            inputs = self._causal_pad(inputs)
            padding = "valid"
        return tf.nn.convolution(
            inputs,
            self.kernel,
            strides=list(self.strides),
            padding=padding.upper(),
            dilations=list(self.dilation_rate),
            data_format=self._nn_format,
        )

    def call(self, inputs):
        if inputs.dtype.base_dtype != self._dtype:
            inputs = tf.cast(inputs, self._dtype)
        outputs = self._convolve(inputs)
        if self.use_bias:
            bias_format = "NC..." if self.data_format == "channels_first" else "N...C"
            outputs = tf.nn.bias_add(outputs, self.bias, data_format=bias_format)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs


class Conv1D(_Conv):
    """1-D convolution (`padding` may also be `'causal'`)."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid",
                 data_format="channels_last", dilation_rate=1, **kwargs):
        super().__init__(1, filters, kernel_size, strides, padding,
                         data_format, dilation_rate, **kwargs)


class Conv2D(_Conv):
    """2-D convolution."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 data_format="channels_last", dilation_rate=(1, 1), **kwargs):
        super().__init__(2, filters, kernel_size, strides, padding,
                         data_format, dilation_rate, **kwargs)


class Conv3D(_Conv):
    """3-D convolution."""

    def __init__(self, filters, kernel_size, strides=(1, 1, 1),
                 padding="valid", data_format="channels_last",
                 dilation_rate=(1, 1, 1), **kwargs):
        super().__init__(3, filters, kernel_size, strides, padding,
                         data_format, dilation_rate, **kwargs)


class _ConvTranspose(_Conv):
    """Transposed convolution; output size as TF1 computed it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # TF1's transposed layers take no dilation_rate; refuse rather than ignore one.
        if max(self.dilation_rate) > 1:
            raise ValueError(
                f"{type(self).__name__} does not support `dilation_rate` "
                f"(got dilation_rate={self.dilation_rate})."
            )

    def _kernel_shape(self, channels):
        return self.kernel_size + (self.filters, channels)

    def _convolve(self, inputs):
        dynamic = tf.shape(inputs)
        first = 2 if self.data_format == "channels_first" else 1
        sizes = []
        for i in range(self.rank):
            static = tf.compat.dimension_value(inputs.shape[first + i])
            length = static if static is not None else dynamic[first + i]
            sizes.append(
                _args.deconv_output_length(
                    length, self.kernel_size[i], self.padding, self.strides[i]
                )
            )
        if self.data_format == "channels_first":
            shape = [dynamic[0], self.filters] + sizes
        else:
            shape = [dynamic[0]] + sizes + [self.filters]
        op = tf.nn.conv2d_transpose if self.rank == 2 else tf.nn.conv3d_transpose
        outputs = op(
            inputs,
            self.kernel,
            tf.stack(shape),
            strides=list(self.strides),
            padding=self.padding.upper(),
            data_format=self._nn_format,
        )
        static_shape = [tf.compat.dimension_value(inputs.shape[0])] + [
            s if isinstance(s, int) else None for s in sizes
        ]
        if self.data_format == "channels_first":
            static_shape.insert(1, self.filters)
        else:
            static_shape.append(self.filters)
        outputs.set_shape(static_shape)
        return outputs


class Conv2DTranspose(_ConvTranspose):
    """2-D transposed convolution (deconvolution)."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 data_format="channels_last", **kwargs):
        super().__init__(2, filters, kernel_size, strides, padding,
                         data_format, **kwargs)


class Conv3DTranspose(_ConvTranspose):
    """3-D transposed convolution (deconvolution)."""

    def __init__(self, filters, kernel_size, strides=(1, 1, 1),
                 padding="valid", data_format="channels_last", **kwargs):
        super().__init__(3, filters, kernel_size, strides, padding,
                         data_format, **kwargs)


class _SeparableConv(_Conv):
    """Depthwise then pointwise convolution (`rank` 1 or 2)."""

    def __init__(self, rank, filters, kernel_size, strides, padding,
                 data_format, dilation_rate, depth_multiplier=1,
                 depthwise_initializer=None, pointwise_initializer=None,
                 depthwise_regularizer=None, pointwise_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None,
                 **kwargs):
        super().__init__(rank, filters, kernel_size, strides, padding,
                         data_format, dilation_rate, **kwargs)
        self.depth_multiplier = depth_multiplier
        self.depthwise_initializer = _callables.initializer(
            depthwise_initializer, "depthwise_initializer"
        )
        self.pointwise_initializer = _callables.initializer(
            pointwise_initializer, "pointwise_initializer"
        )
        self.depthwise_regularizer = depthwise_regularizer
        self.pointwise_regularizer = pointwise_regularizer
        self.depthwise_constraint = depthwise_constraint
        self.pointwise_constraint = pointwise_constraint

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel",
            shape=self.kernel_size + (channels, self.depth_multiplier),
            initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint,
        )
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel",
            shape=(1,) * self.rank
            + (self.depth_multiplier * channels, self.filters),
            initializer=self.pointwise_initializer,
            regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint,
        )
        self._build_bias()

    def _convolve(self, inputs):
        padding = self.padding
        if padding == "causal":
            inputs = self._causal_pad(inputs)
            padding = "valid"
        depthwise, pointwise = self.depthwise_kernel, self.pointwise_kernel
        strides, rate = self.strides, self.dilation_rate
        # 1-D runs as 2-D over a unit height axis, as TF1 did.
        spatial = 2 if self.data_format == "channels_first" else 1
        if self.rank == 1:
            inputs = tf.expand_dims(inputs, spatial)
            depthwise = tf.expand_dims(depthwise, 0)
            pointwise = tf.expand_dims(pointwise, 0)
            strides, rate = (1,) + strides, (1,) + rate
        if self.data_format == "channels_first":
            op_strides = (1, 1) + strides
        else:
            op_strides = (1,) + strides + (1,)
        outputs = v1.nn.separable_conv2d(
            inputs,
            depthwise,
            pointwise,
            strides=op_strides,
            padding=padding.upper(),
            rate=rate,
            data_format=_args.nn_data_format(self.data_format, 2),
        )
        if self.rank == 1:
            outputs = tf.squeeze(outputs, [spatial])
        return outputs


class SeparableConv1D(_SeparableConv):
    """1-D depthwise separable convolution."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid",
                 data_format="channels_last", dilation_rate=1, **kwargs):
        super().__init__(1, filters, kernel_size, strides, padding,
                         data_format, dilation_rate, **kwargs)


class SeparableConv2D(_SeparableConv):
    """2-D depthwise separable convolution."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 data_format="channels_last", dilation_rate=(1, 1), **kwargs):
        super().__init__(2, filters, kernel_size, strides, padding,
                         data_format, dilation_rate, **kwargs)


def _functional(layer_class, doc):
    def apply(inputs, filters, kernel_size, *args, name=None, reuse=None,
              **kwargs):
        layer = layer_class(filters, kernel_size, *args, name=name,
                            _scope=name, _reuse=reuse, **kwargs)
        return layer(inputs)

    apply.__name__ = doc.split("`")[1]
    apply.__doc__ = (
        f"{doc}\n\nArgs:\n    inputs: The input tensor.\n    filters, "
        "kernel_size, ...: as the layer class takes them.\n    name: "
        "Variable scope name.\n    reuse: Reuse a same-named layer's "
        "variables.\n\nReturns:\n    The output tensor.\n"
    )
    return apply


conv1d = _functional(Conv1D, "Functional `conv1d` (`Conv1D`).")
conv2d = _functional(Conv2D, "Functional `conv2d` (`Conv2D`).")
conv3d = _functional(Conv3D, "Functional `conv3d` (`Conv3D`).")
conv2d_transpose = _functional(
    Conv2DTranspose, "Functional `conv2d_transpose` (`Conv2DTranspose`)."
)
conv3d_transpose = _functional(
    Conv3DTranspose, "Functional `conv3d_transpose` (`Conv3DTranspose`)."
)
separable_conv1d = _functional(
    SeparableConv1D, "Functional `separable_conv1d` (`SeparableConv1D`)."
)
separable_conv2d = _functional(
    SeparableConv2D, "Functional `separable_conv2d` (`SeparableConv2D`)."
)
