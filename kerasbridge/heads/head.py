"""`Head`: the top of a model: loss, predictions, metrics and the spec.

The original's v2 head API (`tf.estimator.Head`, TF 2.15) in a TF1 graph:
a `model_fn` computes logits and returns `head.create_estimator_spec(...)`.
"""

import abc

import tensorflow as tf

from kerasbridge.estimator_spec import EstimatorSpec
from kerasbridge.export import PredictOutput
from kerasbridge.heads import _metrics
from kerasbridge.heads import _train_op
from kerasbridge.heads._keys import DEFAULT_SERVING_KEY
from kerasbridge.heads._keys import PREDICT_SERVING_KEY
from kerasbridge.mode_keys import ModeKeys


class Head(abc.ABC):
    """Interface for the head/top of a model.

    Given logits, a head computes predictions, the loss, the train op,
    evaluation metrics and export outputs. Subclasses implement `name`,
    `logits_dimension`, `loss_reduction`, `loss`, `predictions`, `metrics`
    and `update_metrics`; `create_estimator_spec` is built from those.

    Metrics are `kerasbridge.heads` metric objects (not Keras ones): each has
    `update_state(...)` returning its update op, `result()` and
    `as_tuple()` -> `(value, update_op)` for `EstimatorSpec.eval_metric_ops`.
    """

    @property
    @abc.abstractmethod
    def name(self):
        """The head's name (suffixes metric keys), or None."""

    @property
    @abc.abstractmethod
    def logits_dimension(self):
        """Size of the logits' last dimension."""

    @property
    @abc.abstractmethod
    def loss_reduction(self):
        """One of `tf.losses.Reduction` (not NONE)."""

    @abc.abstractmethod
    def loss(
        self,
        labels,
        logits,
        features=None,
        mode=None,
        regularization_losses=None,
    ):
        """The scalar regularized training loss."""

    @abc.abstractmethod
    def predictions(self, logits, keys=None):
        """A dict of prediction tensors (all keys, or those in `keys`)."""

    @abc.abstractmethod
    def metrics(self, regularization_losses=None):
        """A dict of fresh metric objects keyed by metric name."""

    @abc.abstractmethod
    def update_metrics(
        self,
        eval_metrics,
        features,
        logits,
        labels,
        mode=None,
        regularization_losses=None,
    ):
        """Updates `eval_metrics` with one batch; returns the dict."""

    def _summary_key(self, key):
        return f"{key}/{self.name}" if self.name else key

    def _export_outputs(self, predictions):
        """Export outputs in PREDICT mode; heads override per the original."""
        output = PredictOutput(predictions)
        return {DEFAULT_SERVING_KEY: output, PREDICT_SERVING_KEY: output}

    def create_estimator_spec(
        self,
        features,
        mode,
        logits,
        labels=None,
        optimizer=None,
        trainable_variables=None,
        train_op_fn=None,
        update_ops=None,
        regularization_losses=None,
    ):
        """Returns the `EstimatorSpec` a `model_fn` can return.

        Args:
            features: The features dict (weights are read from it).
            mode: A `ModeKeys` value.
            logits: Logits `[D0, ..., DN, logits_dimension]`.
            labels: Labels; required in TRAIN and EVAL.
            optimizer: A `tf.compat.v1.train.Optimizer` (or an object with
                Keras 2's `get_updates(loss, params)`); TRAIN mode needs
                exactly one of `optimizer` and `train_op_fn`.
            trainable_variables: Variables the optimizer trains (list/tuple).
            train_op_fn: `loss -> train_op`.
            update_ops: Ops grouped into the train op.
            regularization_losses: Scalar losses added to the training loss.

        Returns:
            A `kerasbridge.EstimatorSpec`.

        Raises:
            ValueError: Missing/duplicate optimizer and train_op_fn, bad
                labels or logits (see `loss`).
        """
        with tf.compat.v1.name_scope(self.name, "head"):
            predictions = self.predictions(logits)
            if mode == ModeKeys.PREDICT:
                return EstimatorSpec(
                    mode=ModeKeys.PREDICT,
                    predictions=predictions,
                    export_outputs=self._export_outputs(predictions),
                )
            loss = self.loss(
                labels=labels,
                logits=logits,
                features=features,
                mode=mode,
                regularization_losses=regularization_losses,
            )
            if mode == ModeKeys.EVAL:
                eval_metrics = self.metrics(
                    regularization_losses=regularization_losses
                )
                eval_metrics = self.update_metrics(
                    eval_metrics,
                    features,
                    logits,
                    labels,
                    regularization_losses=regularization_losses,
                )
                return EstimatorSpec(
                    mode=ModeKeys.EVAL,
                    predictions=predictions,
                    loss=loss,
                    eval_metric_ops=_metrics.as_metric_ops(eval_metrics),
                )
            train_op = _train_op.create_train_op(
                optimizer, trainable_variables, train_op_fn, update_ops, loss
            )
        _train_op.add_summaries(
            loss, regularization_losses, summary_key_fn=self._summary_key
        )
        return EstimatorSpec(
            mode=ModeKeys.TRAIN,
            predictions=predictions,
            loss=loss,
            train_op=train_op,
        )
