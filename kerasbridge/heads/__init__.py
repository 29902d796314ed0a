"""Heads: loss, predictions, metrics and `EstimatorSpec`s on top of logits.

The original's v2 head API (`tf.estimator.BinaryClassHead` etc.), one module
per head; see `Head` for the interface.
"""

from kerasbridge.heads._keys import MetricKeys
from kerasbridge.heads._keys import PredictionKeys
from kerasbridge.heads.binary_class_head import BinaryClassHead
from kerasbridge.heads.head import Head
from kerasbridge.heads.multi_class_head import MultiClassHead
from kerasbridge.heads.regression_head import RegressionHead

__all__ = [
    "BinaryClassHead",
    "Head",
    "MetricKeys",
    "MultiClassHead",
    "PredictionKeys",
    "RegressionHead",
]
