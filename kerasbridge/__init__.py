"""kerasbridge: the `tf.estimator` workflow on TensorFlow 2.21 + Keras 3.

The public API mirrors `tf.estimator`: `Estimator`, `EstimatorSpec`, `ModeKeys`,
`RunConfig`, the standard hooks, `train_and_evaluate`, exporters,
`add_metrics`, the parse-example-spec helpers, `kb.export`, `kb.experimental`
and `kb.inputs`; the canned estimators (`DNNClassifier`, `LinearClassifier`,
`DNNLinearCombinedClassifier`, `BaselineClassifier`, ...) and the heads they
are built on (`BinaryClassHead`, `MultiClassHead`, `RegressionHead`, ...);
plus `model_to_estimator` for Keras 3 models and `install()`, which makes
`tf.estimator` resolve to this package.
"""

from kerasbridge import experimental
from kerasbridge import export
from kerasbridge import inputs
from kerasbridge.canned import BaselineClassifier
from kerasbridge.canned import BaselineEstimator
from kerasbridge.canned import BaselineRegressor
from kerasbridge.canned import DNNClassifier
from kerasbridge.canned import DNNEstimator
from kerasbridge.canned import DNNLinearCombinedClassifier
from kerasbridge.canned import DNNLinearCombinedEstimator
from kerasbridge.canned import DNNLinearCombinedRegressor
from kerasbridge.canned import DNNRegressor
from kerasbridge.canned import LinearClassifier
from kerasbridge.canned import LinearEstimator
from kerasbridge.canned import LinearRegressor
from kerasbridge.estimator import Estimator
from kerasbridge.estimator_spec import EstimatorSpec
from kerasbridge.exporter import Exporter
from kerasbridge.exporters import BestExporter
from kerasbridge.exporters import FinalExporter
from kerasbridge.exporters import LatestExporter
from kerasbridge.extenders import add_metrics
from kerasbridge.heads import BinaryClassHead
from kerasbridge.heads import Head
from kerasbridge.heads import LogisticRegressionHead
from kerasbridge.heads import MultiClassHead
from kerasbridge.heads import MultiHead
from kerasbridge.heads import MultiLabelHead
from kerasbridge.heads import PoissonRegressionHead
from kerasbridge.heads import RegressionHead
from kerasbridge.hooks import CheckpointSaverHook
from kerasbridge.hooks import CheckpointSaverListener
from kerasbridge.hooks import FeedFnHook
from kerasbridge.hooks import FinalOpsHook
from kerasbridge.hooks import GlobalStepWaiterHook
from kerasbridge.hooks import LoggingTensorHook
from kerasbridge.hooks import NanLossDuringTrainingError
from kerasbridge.hooks import NanTensorHook
from kerasbridge.hooks import ProfilerHook
from kerasbridge.hooks import SecondOrStepTimer
from kerasbridge.hooks import SessionRunArgs
from kerasbridge.hooks import SessionRunContext
from kerasbridge.hooks import SessionRunHook
from kerasbridge.hooks import SessionRunValues
from kerasbridge.hooks import StepCounterHook
from kerasbridge.hooks import StopAtStepHook
from kerasbridge.hooks import SummarySaverHook
from kerasbridge.install import install
from kerasbridge.keras import estimator_weights_to_keras
from kerasbridge.keras import model_to_estimator
from kerasbridge.mode_keys import ModeKeys
from kerasbridge.parsing_utils import classifier_parse_example_spec
from kerasbridge.parsing_utils import regressor_parse_example_spec
from kerasbridge.predictor import Predictor
from kerasbridge.predictor import make_predictor
from kerasbridge.run_config import RunConfig
from kerasbridge.training import EvalSpec
from kerasbridge.training import TrainSpec
from kerasbridge.training import train_and_evaluate
from kerasbridge.warm_starting import VocabInfo
from kerasbridge.warm_starting import WarmStartSettings

__version__ = "0.1.0.dev0"
