"""`RegressionHead`: mean squared error over `label_dimension` outputs."""

import tensorflow as tf

from kerasbridge.export import PredictOutput
from kerasbridge.export import RegressionOutput
from kerasbridge.heads import _checks
from kerasbridge.heads import _losses
from kerasbridge.heads import _metrics
from kerasbridge.heads import _validation
from kerasbridge.heads._keys import DEFAULT_SERVING_KEY
from kerasbridge.heads._keys import PREDICT_SERVING_KEY
from kerasbridge.heads._keys import REGRESS_SERVING_KEY
from kerasbridge.heads._keys import MetricKeys
from kerasbridge.heads._keys import PredictionKeys
from kerasbridge.heads._single_head import _SingleHead


class RegressionHead(_SingleHead):
    """Regression with squared error (or a custom `loss_fn`).

    Logits and labels are `[D0, ..., DN, label_dimension]` (labels may lack
    the last dimension when it is 1); labels are cast to float32.

    Args:
        label_dimension: Number of regression targets per example.
        weight_column: A feature key or numeric column of example weights;
            per-target weights `[D0, ..., DN, label_dimension]` are allowed.
        loss_reduction: A `tf.losses.Reduction` except NONE.
        loss_fn: Optional `loss_fn(labels, logits[, features])` returning
            `[D0, ..., DN, label_dimension]`.
        inverse_link_fn: Optional `logits -> predictions` (e.g. `tf.exp`);
            then `logits` is also a prediction key.
        name: Suffix for metric/summary keys; name scope for the ops.

    Raises:
        ValueError: `label_dimension` < 1, bad `loss_reduction` or `loss_fn`.
    """

    def __init__(
        self,
        label_dimension=1,
        weight_column=None,
        loss_reduction="sum_over_batch_size",
        loss_fn=None,
        inverse_link_fn=None,
        name=None,
    ):
        if label_dimension < 1:
            raise ValueError(f"Invalid label_dimension {label_dimension}.")
        _validation.validate_loss_reduction(loss_reduction)
        if loss_fn:
            _validation.validate_loss_fn_args(loss_fn)
        self._logits_dimension = label_dimension
        self._weight_column = weight_column
        self._loss_reduction = loss_reduction
        self._loss_fn = loss_fn
        self._inverse_link_fn = inverse_link_fn
        self._name = name

    @property
    def logits_dimension(self):
        return self._logits_dimension

    def _processed_labels(self, logits, labels):
        labels = _checks.dense_labels(labels, logits, self._logits_dimension)
        if not (labels.dtype.is_floating or labels.dtype.is_integer):
            raise ValueError(
                "Labels dtype should be numeric for regression. "
                f"Instead got {labels.dtype}."
            )
        return tf.cast(labels, tf.float32)

    def _unweighted_loss_and_weights(self, logits, labels, features):
        if self._loss_fn:
            unweighted_loss = _losses.call_loss_fn(
                self._loss_fn,
                labels,
                logits,
                features,
                expected_loss_dim=self._logits_dimension,
            )
        else:
            unweighted_loss = tf.math.squared_difference(logits, labels)
        weights = _checks.weights_matching_logits(
            features,
            self._weight_column,
            logits,
            allow_per_logit_weights=True,
        )
        return unweighted_loss, weights

    def predictions(self, logits, keys=None):
        """`predictions` (and `logits` when there is an `inverse_link_fn`),
        or only those in `keys`."""
        valid_keys = [PredictionKeys.PREDICTIONS]
        if self._inverse_link_fn:
            valid_keys.append(PredictionKeys.LOGITS)
        if keys:
            _validation.check_prediction_keys(keys, valid_keys)
        else:
            keys = valid_keys
        logits = _checks.logits_with_final_dim(logits, self._logits_dimension)
        with tf.compat.v1.name_scope("predictions", values=(logits,)):
            predictions = {}
            if PredictionKeys.PREDICTIONS in keys:
                predictions[PredictionKeys.PREDICTIONS] = (
                    self._inverse_link_fn(logits)
                    if self._inverse_link_fn
                    else logits
                )
            if PredictionKeys.LOGITS in keys:
                predictions[PredictionKeys.LOGITS] = logits
            return predictions

    def metrics(self, regularization_losses=None):
        """Fresh metrics: average_loss, prediction/mean, label/mean
        (, regularization_loss)."""
        k = self._summary_key
        with tf.compat.v1.name_scope("metrics"):
            m = {
                k(MetricKeys.LOSS_MEAN): _metrics.Mean(MetricKeys.LOSS_MEAN),
                k(MetricKeys.PREDICTION_MEAN): _metrics.Mean(
                    MetricKeys.PREDICTION_MEAN
                ),
                k(MetricKeys.LABEL_MEAN): _metrics.Mean(MetricKeys.LABEL_MEAN),
            }
            if regularization_losses is not None:
                m[k(MetricKeys.LOSS_REGULARIZATION)] = _metrics.Mean(
                    MetricKeys.LOSS_REGULARIZATION
                )
        return m

    def update_metrics(
        self,
        eval_metrics,
        features,
        logits,
        labels,
        mode=None,
        regularization_losses=None,
    ):
        """Updates the metrics from `metrics()` with one batch."""
        del mode  # Unused by this head.
        k = self._summary_key
        predicted = self.predictions(logits)[PredictionKeys.PREDICTIONS]
        _, labels, unweighted_loss, weights = self._loss_parts(
            logits, labels, features
        )
        self._update_loss_metrics(
            eval_metrics, unweighted_loss, weights, regularization_losses
        )
        eval_metrics[k(MetricKeys.LABEL_MEAN)].update_state(labels, weights)
        eval_metrics[k(MetricKeys.PREDICTION_MEAN)].update_state(
            predicted, weights
        )
        return eval_metrics

    def _export_outputs(self, predictions):
        regression_output = RegressionOutput(
            value=predictions[PredictionKeys.PREDICTIONS]
        )
        return {
            DEFAULT_SERVING_KEY: regression_output,
            REGRESS_SERVING_KEY: regression_output,
            PREDICT_SERVING_KEY: PredictOutput(predictions),
        }
