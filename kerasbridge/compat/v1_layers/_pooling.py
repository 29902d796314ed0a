"""Max and average pooling over 1, 2 or 3 spatial axes (`max_pooling2d`, ...)."""

import tensorflow as tf

from kerasbridge.compat.v1_layers import _args
from kerasbridge.compat.v1_layers._base import InputSpec
from kerasbridge.compat.v1_layers._base import Layer


class _Pooling(Layer):
    """Pooling with window `pool_size` and `strides` (both required, as in TF1)."""

    _rank = None
    _kind = None  # "max" or "avg"

    def __init__(self, pool_size, strides, padding="valid",
                 data_format="channels_last", name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        if data_format is None:
            data_format = "channels_last"
        self.pool_size = _args.normalize_tuple(pool_size, self._rank, "pool_size")
        self.strides = _args.normalize_tuple(strides, self._rank, "strides")
        self.padding = _args.normalize_padding(padding)
        self.data_format = _args.normalize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self._rank + 2)

    def call(self, inputs):
        first = self.data_format == "channels_first"
        pool_size, strides = self.pool_size, self.strides
        if self._rank == 1:
            # 1-D pools as 2-D over a unit height axis, as TF1 did.
            axis = 2 if first else 1
            inputs = tf.expand_dims(inputs, axis)
            pool_size, strides = (1,) + pool_size, (1,) + strides
        rank = max(self._rank, 2)
        window = (1, 1) + pool_size if first else (1,) + pool_size + (1,)
        steps = (1, 1) + strides if first else (1,) + strides + (1,)
        data_format = _args.nn_data_format(self.data_format, rank)
        if rank == 2:
            op = tf.nn.max_pool2d if self._kind == "max" else tf.nn.avg_pool2d
        else:
            op = tf.nn.max_pool3d if self._kind == "max" else tf.nn.avg_pool3d
        outputs = op(inputs, window, steps, self.padding.upper(),
                     data_format=data_format)
        if self._rank == 1:
            outputs = tf.squeeze(outputs, [axis])
        return outputs


def _pooling_class(name, rank, kind, doc):
    return type(name, (_Pooling,), {"_rank": rank, "_kind": kind, "__doc__": doc})


MaxPooling1D = _pooling_class("MaxPooling1D", 1, "max", "1-D max pooling.")
MaxPooling2D = _pooling_class("MaxPooling2D", 2, "max", "2-D max pooling.")
MaxPooling3D = _pooling_class("MaxPooling3D", 3, "max", "3-D max pooling.")
AveragePooling1D = _pooling_class(
    "AveragePooling1D", 1, "avg", "1-D average pooling."
)
AveragePooling2D = _pooling_class(
    "AveragePooling2D", 2, "avg", "2-D average pooling."
)
AveragePooling3D = _pooling_class(
    "AveragePooling3D", 3, "avg", "3-D average pooling."
)


def _functional(layer_class, name):
    def apply(inputs, pool_size, strides, padding="valid",
              data_format="channels_last", name=None):
        layer = layer_class(pool_size, strides, padding=padding,
                            data_format=data_format, name=name)
        return layer(inputs)

    apply.__name__ = name
    apply.__doc__ = (
        f"Functional `{name}` (`{layer_class.__name__}`).\n\nReturns:\n"
        "    The pooled tensor.\n"
    )
    return apply


max_pooling1d = _functional(MaxPooling1D, "max_pooling1d")
max_pooling2d = _functional(MaxPooling2D, "max_pooling2d")
max_pooling3d = _functional(MaxPooling3D, "max_pooling3d")
average_pooling1d = _functional(AveragePooling1D, "average_pooling1d")
average_pooling2d = _functional(AveragePooling2D, "average_pooling2d")
average_pooling3d = _functional(AveragePooling3D, "average_pooling3d")
