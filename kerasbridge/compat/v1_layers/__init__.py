"""`tf.compat.v1.layers` for graph-mode TF1 code on TensorFlow 2.21.

TensorFlow 2.16+ routes `tf.compat.v1.layers` to Keras 3, which has none of
it (`'dense' is not available with Keras 3`). This module is the TF1 layers
API built on `tf.compat.v1.get_variable`: the same variable names
(`dense/kernel`, `dense_1/bias`, `conv2d/kernel`,
`batch_normalization/moving_mean`, ...), variable-scope and `reuse`
semantics and errors, `REGULARIZATION_LOSSES`, `UPDATE_OPS` and
`trainable=False`, so TF1 checkpoints restore into it. Use it directly
(`from kerasbridge.compat import v1_layers as layers`) or through
`kerasbridge.install()`, which makes `tf.compat.v1.layers` (hence `tf.layers`
under `import tensorflow.compat.v1 as tf`) this module.

The layers need a graph (a `model_fn`, `tf.Graph().as_default()`,
`tf.compat.v1.wrap_function`); they are not Keras layers.
"""

from kerasbridge.compat.v1_layers._base import InputSpec
from kerasbridge.compat.v1_layers._base import Layer
from kerasbridge.compat.v1_layers._conv import Conv1D
from kerasbridge.compat.v1_layers._conv import Conv2D
from kerasbridge.compat.v1_layers._conv import Conv2DTranspose
from kerasbridge.compat.v1_layers._conv import Conv3D
from kerasbridge.compat.v1_layers._conv import Conv3DTranspose
from kerasbridge.compat.v1_layers._conv import SeparableConv1D
from kerasbridge.compat.v1_layers._conv import SeparableConv2D
from kerasbridge.compat.v1_layers._conv import conv1d
from kerasbridge.compat.v1_layers._conv import conv2d
from kerasbridge.compat.v1_layers._conv import conv2d_transpose
from kerasbridge.compat.v1_layers._conv import conv3d
from kerasbridge.compat.v1_layers._conv import conv3d_transpose
from kerasbridge.compat.v1_layers._conv import separable_conv1d
from kerasbridge.compat.v1_layers._conv import separable_conv2d
from kerasbridge.compat.v1_layers._core import Dense
from kerasbridge.compat.v1_layers._core import Dropout
from kerasbridge.compat.v1_layers._core import Flatten
from kerasbridge.compat.v1_layers._core import dense
from kerasbridge.compat.v1_layers._core import dropout
from kerasbridge.compat.v1_layers._core import flatten
from kerasbridge.compat.v1_layers._normalization import BatchNormalization
from kerasbridge.compat.v1_layers._normalization import batch_normalization
from kerasbridge.compat.v1_layers._pooling import AveragePooling1D
from kerasbridge.compat.v1_layers._pooling import AveragePooling2D
from kerasbridge.compat.v1_layers._pooling import AveragePooling3D
from kerasbridge.compat.v1_layers._pooling import MaxPooling1D
from kerasbridge.compat.v1_layers._pooling import MaxPooling2D
from kerasbridge.compat.v1_layers._pooling import MaxPooling3D
from kerasbridge.compat.v1_layers._pooling import average_pooling1d
from kerasbridge.compat.v1_layers._pooling import average_pooling2d
from kerasbridge.compat.v1_layers._pooling import average_pooling3d
from kerasbridge.compat.v1_layers._pooling import max_pooling1d
from kerasbridge.compat.v1_layers._pooling import max_pooling2d
from kerasbridge.compat.v1_layers._pooling import max_pooling3d

# The TF1 aliases.
Convolution1D = Conv1D
Convolution2D = Conv2D
Convolution3D = Conv3D
Convolution2DTranspose = Deconvolution2D = Deconv2D = Conv2DTranspose
Convolution3DTranspose = Deconvolution3D = Deconv3D = Conv3DTranspose
SeparableConvolution1D = SeparableConv1D
SeparableConvolution2D = SeparableConv2D
AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D
AvgPool3D = AveragePooling3D
MaxPool1D = MaxPooling1D
MaxPool2D = MaxPooling2D
MaxPool3D = MaxPooling3D
BatchNorm = BatchNormalization
convolution1d = conv1d
convolution2d = conv2d
convolution3d = conv3d
convolution2d_transpose = deconvolution2d = conv2d_transpose
convolution3d_transpose = deconvolution3d = conv3d_transpose
separable_convolution1d = separable_conv1d
separable_convolution2d = separable_conv2d
FullyConnected = Dense
fully_connected = dense

__all__ = sorted(name for name in dir() if not name.startswith("_"))
