"""featurec: tf.feature_column definitions compiled into numba batch transforms."""

from featurec import normalizers
from featurec.transform import Transform
from featurec.transform import compile

__all__ = ["Transform", "compile", "normalizers"]
