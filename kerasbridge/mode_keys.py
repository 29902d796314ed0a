"""Standard names for the three Estimator modes.

`ModeKeys` is TF core's `EstimatorModeKeys` itself (not a copy), exactly as in
the original `tf.estimator`: TF's SavedModel export utilities
(`export_outputs_for_mode`, `EXPORT_TAG_MAP`, signature building) compare modes
against that class, so sharing it keeps `kb.ModeKeys.PREDICT` interchangeable
with what those utilities expect.

* `ModeKeys.TRAIN == 'train'`
* `ModeKeys.EVAL == 'eval'`
* `ModeKeys.PREDICT == 'infer'`
"""

from tensorflow.python.saved_model.model_utils import mode_keys as _tf_mode_keys

ModeKeys = _tf_mode_keys.EstimatorModeKeys

__all__ = ["ModeKeys"]
