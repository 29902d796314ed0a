"""Canned (premade) estimators over kerasbridge's heads and featurec.

One module per family, the original's v2 constructor arguments and defaults:
`DNN*` (dnn.py), `Linear*` (linear.py), `DNNLinearCombined*`
(dnn_linear_combined.py), `Baseline*` (baseline.py). Model and optimizer
variables carry the original's checkpoint names (`_optimizers.py`).
"""

from kerasbridge.canned.baseline import BaselineClassifier
from kerasbridge.canned.baseline import BaselineEstimator
from kerasbridge.canned.baseline import BaselineRegressor
from kerasbridge.canned.dnn import DNNClassifier
from kerasbridge.canned.dnn import DNNEstimator
from kerasbridge.canned.dnn import DNNRegressor
from kerasbridge.canned.dnn_linear_combined import DNNLinearCombinedClassifier
from kerasbridge.canned.dnn_linear_combined import DNNLinearCombinedEstimator
from kerasbridge.canned.dnn_linear_combined import DNNLinearCombinedRegressor
from kerasbridge.canned.linear import LinearClassifier
from kerasbridge.canned.linear import LinearEstimator
from kerasbridge.canned.linear import LinearRegressor

__all__ = [
    "BaselineClassifier",
    "BaselineEstimator",
    "BaselineRegressor",
    "DNNClassifier",
    "DNNEstimator",
    "DNNLinearCombinedClassifier",
    "DNNLinearCombinedEstimator",
    "DNNLinearCombinedRegressor",
    "DNNRegressor",
    "LinearClassifier",
    "LinearEstimator",
    "LinearRegressor",
]
