"""Heads: loss, predictions, metrics and `EstimatorSpec`s on top of logits.

The original's v2 head API (`tf.estimator.BinaryClassHead` etc.), one module
per head; see `Head` for the interface.
"""

from kerasbridge.heads._keys import MetricKeys
from kerasbridge.heads._keys import PredictionKeys
from kerasbridge.heads.binary_class_head import BinaryClassHead
from kerasbridge.heads.head import Head
from kerasbridge.heads.logistic_regression_head import LogisticRegressionHead
from kerasbridge.heads.multi_class_head import MultiClassHead
from kerasbridge.heads.multi_head import MultiHead
from kerasbridge.heads.multi_label_head import MultiLabelHead
from kerasbridge.heads.poisson_regression_head import PoissonRegressionHead
from kerasbridge.heads.regression_head import RegressionHead

__all__ = [
    "BinaryClassHead",
    "Head",
    "LogisticRegressionHead",
    "MetricKeys",
    "MultiClassHead",
    "MultiHead",
    "MultiLabelHead",
    "PoissonRegressionHead",
    "PredictionKeys",
    "RegressionHead",
]
