"""The `ExportOutput` classes that describe a serving signature's outputs.

These are TF core's own classes (`tensorflow.python.saved_model.model_utils`),
as in the original `tf.estimator.export`: TF's signature building
(`export_outputs_for_mode`, `build_all_signature_defs`) type-checks
`EstimatorSpec.export_outputs` against exactly these classes, so a copy would
be rejected at export time.

* `ClassificationOutput(scores=None, classes=None)`: the `classify` method.
* `RegressionOutput(value)`: the `regress` method.
* `PredictOutput(outputs)`: the generic `predict` method; the default
  `serving_default` output built from `EstimatorSpec.predictions`.
"""

from tensorflow.python.saved_model.model_utils import export_output as _tf_export_output

ExportOutput = _tf_export_output.ExportOutput
ClassificationOutput = _tf_export_output.ClassificationOutput
RegressionOutput = _tf_export_output.RegressionOutput
PredictOutput = _tf_export_output.PredictOutput
EvalOutput = _tf_export_output.EvalOutput
TrainOutput = _tf_export_output.TrainOutput
