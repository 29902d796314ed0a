"""`_SingleHead`: what the one-output heads share (their `loss`)."""

import tensorflow as tf

from kerasbridge.heads import _checks
from kerasbridge.heads import _losses
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
            logits = _checks.logits_with_final_dim(logits, self.logits_dimension)
            labels = self._processed_labels(logits, labels)
            unweighted_loss, weights = self._unweighted_loss_and_weights(
                logits, labels, features
            )
            training_loss = _losses.weighted_loss(
                unweighted_loss, weights, self._loss_reduction
            )
            return _losses.regularized(training_loss, regularization_losses)
