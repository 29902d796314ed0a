"""Serving-time inputs and outputs: `kb.export.*` (was `tf.estimator.export`)."""

from kerasbridge.export._outputs import ClassificationOutput
from kerasbridge.export._outputs import EvalOutput
from kerasbridge.export._outputs import ExportOutput
from kerasbridge.export._outputs import PredictOutput
from kerasbridge.export._outputs import RegressionOutput
from kerasbridge.export._outputs import TrainOutput
from kerasbridge.export._receivers import ServingInputReceiver
from kerasbridge.export._receivers import SupervisedInputReceiver
from kerasbridge.export._receivers import TensorServingInputReceiver
from kerasbridge.export._receivers import build_parsing_serving_input_receiver_fn
from kerasbridge.export._receivers import build_raw_serving_input_receiver_fn
from kerasbridge.export._receivers import build_raw_supervised_input_receiver_fn

__all__ = [
    "ClassificationOutput",
    "EvalOutput",
    "ExportOutput",
    "PredictOutput",
    "RegressionOutput",
    "ServingInputReceiver",
    "SupervisedInputReceiver",
    "TensorServingInputReceiver",
    "TrainOutput",
    "build_parsing_serving_input_receiver_fn",
    "build_raw_serving_input_receiver_fn",
    "build_raw_supervised_input_receiver_fn",
]
