"""`PoissonRegressionHead`: Poisson loss on log-rate logits."""

import tensorflow as tf

from kerasbridge.heads.regression_head import RegressionHead


class PoissonRegressionHead(RegressionHead):
    """Regression with `tf.nn.log_poisson_loss`; predictions are `exp(logits)`.

    Args:
        label_dimension: Number of regression targets per example.
        weight_column: A feature key or numeric column of example weights.
        loss_reduction: A `tf.losses.Reduction` except NONE.
        compute_full_loss: Whether to add the Stirling term (constant in
            the logits) to the loss.
        name: Suffix for metric/summary keys; name scope for the ops.
    """

    def __init__(
        self,
        label_dimension=1,
        weight_column=None,
        loss_reduction="sum_over_batch_size",
        compute_full_loss=True,
        name=None,
    ):
        self._compute_full_loss = compute_full_loss
        super().__init__(
            label_dimension=label_dimension,
            weight_column=weight_column,
            loss_reduction=loss_reduction,
            loss_fn=self._poisson_loss,
            inverse_link_fn=tf.math.exp,
            name=name,
        )

    def _poisson_loss(self, labels, logits):
        return tf.nn.log_poisson_loss(
            targets=labels,
            log_input=logits,
            compute_full_loss=self._compute_full_loss,
        )
