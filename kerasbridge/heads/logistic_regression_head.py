"""`LogisticRegressionHead`: regression of values in [0, 1] with a sigmoid."""

import tensorflow as tf

from kerasbridge.heads import _checks
from kerasbridge.heads.regression_head import RegressionHead


class LogisticRegressionHead(RegressionHead):
    """Sigmoid cross entropy against float labels in [0, 1].

    Predictions are `sigmoid(logits)`; labels outside [0, 1] fail at run
    time ("Labels must be in range [0, 1]").

    Args:
        weight_column: A feature key or numeric column of example weights.
        loss_reduction: A `tf.losses.Reduction` except NONE.
        name: Suffix for metric/summary keys; name scope for the ops.
    """

    def __init__(
        self,
        weight_column=None,
        loss_reduction="sum_over_batch_size",
        name=None,
    ):
        super().__init__(
            label_dimension=1,
            weight_column=weight_column,
            loss_reduction=loss_reduction,
            loss_fn=self._logistic_loss,
            inverse_link_fn=tf.math.sigmoid,
            name=name,
        )

    def _logistic_loss(self, labels, logits):
        labels = _checks.label_range(
            labels, n_classes=2, message="Labels must be in range [0, 1]"
        )
        return tf.nn.sigmoid_cross_entropy_with_logits(
            labels=labels, logits=logits
        )
