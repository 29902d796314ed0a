"""`_SingleHead`: what the one-output heads share (their `loss`)."""

import tensorflow as tf

from kerasbridge.heads import _checks
from kerasbridge.heads import _losses
from kerasbridge.heads._keys import MetricKeys
from kerasbridge.heads.head import Head


class _SingleHead(Head):
    """A head with one logits tensor of `logits_dimension` columns.

    Subclasses give `_processed_labels(logits, labels)` and
    `_unweighted_loss_and_weights(logits, processed_labels, features)`;
    the loss reduces and regularizes them the same way for every such head.
    Constructors set `_name` and `_loss_reduction`.
    """

    @property
    def name(self):
        return self._name

    @property
    def loss_reduction(self):
        return self._loss_reduction

    def loss(
        self,
        labels,
        logits,
        features=None,
        mode=None,
        regularization_losses=None,
    ):
        """The regularized training loss; see `Head.loss`."""
        del mode  # Unused by the single heads.
        with tf.compat.v1.name_scope("losses"):
            _, _, unweighted_loss, weights = self._loss_parts(logits, labels, features)
            training_loss = _losses.weighted_loss(
                unweighted_loss, weights, self._loss_reduction
            )
            return _losses.regularized(training_loss, regularization_losses)

    def _loss_parts(self, logits, labels, features):
        """(checked logits, processed labels, unweighted loss, weights)."""
        logits = _checks.logits_with_final_dim(logits, self.logits_dimension)
        labels = self._processed_labels(logits, labels)
        unweighted_loss, weights = self._unweighted_loss_and_weights(
            logits, labels, features
        )
        return logits, labels, unweighted_loss, weights

    def _update_loss_metrics(
        self, eval_metrics, unweighted_loss, weights, regularization_losses
    ):
        """Updates `average_loss` (and `regularization_loss` when given)."""
        k = self._summary_key
        eval_metrics[k(MetricKeys.LOSS_MEAN)].update_state(unweighted_loss, weights)
        if regularization_losses is not None:
            eval_metrics[k(MetricKeys.LOSS_REGULARIZATION)].update_state(
                tf.math.add_n(regularization_losses)
            )
