"""`MultiHead`: several named heads trained together on one logits tensor."""

import tensorflow as tf

from kerasbridge.estimator_spec import EstimatorSpec
from kerasbridge.export import PredictOutput
from kerasbridge.heads import _metrics
from kerasbridge.heads import _train_op
from kerasbridge.heads._keys import DEFAULT_SERVING_KEY
from kerasbridge.heads._keys import PREDICT_SERVING_KEY
from kerasbridge.heads._keys import MetricKeys
from kerasbridge.heads.head import Head
from kerasbridge.mode_keys import ModeKeys


def _no_op_train_fn(loss):
    del loss
    return tf.no_op()


class MultiHead(Head):
    """Combines named heads; the loss is their (weighted) sum.

    Logits are a dict `{head.name: logits}` or one tensor whose last
    dimension is split among the heads in order. Labels are a dict keyed by
    head name. Predictions are keyed `(head.name, key)`; metrics keep each
    head's (name-suffixed) keys and add `loss/<head name>`. Export outputs:
    `serving_default` is the first head's default, each head's outputs
    appear as `<head name>` (its default) and `<head name>/<key>`, and
    `predict` merges all heads' predictions as `<head name>/<key>`.

    Args:
        heads: Heads, each with a `name`.
        head_weights: Optional floats, one per head, weighting their losses.

    Raises:
        ValueError: No heads, an unnamed head, or `head_weights` of another
            length.
    """

    def __init__(self, heads, head_weights=None):
        if not heads:
            raise ValueError(f"Must specify heads. Given: {heads}")
        if head_weights and len(head_weights) != len(heads):
            raise ValueError(
                "heads and head_weights must have the same size. "
                f"Given len(heads): {len(heads)}. "
                f"Given len(head_weights): {len(head_weights)}."
            )
        for head in heads:
            if head.name is None:
                raise ValueError(
                    f"All given heads must have name specified. Given: {head}"
                )
        self._heads = tuple(heads)
        self._head_weights = tuple(head_weights) if head_weights else tuple()
        self._logits_dimension = sum(h.logits_dimension for h in heads)

    @property
    def name(self):
        return "_".join(h.name for h in self._heads)

    @property
    def logits_dimension(self):
        return self._logits_dimension

    @property
    def loss_reduction(self):
        reductions = [h.loss_reduction for h in self._heads]
        if len(set(reductions)) > 1:
            raise ValueError(
                "The loss_reduction must be the same for different heads. "
                f"Given: {reductions}"
            )
        return reductions[0]

    def _loss_key(self, head):
        return f"{MetricKeys.LOSS}/{head.name}"

    def _split_logits(self, logits):
        with tf.compat.v1.name_scope("split_logits", values=[logits]):
            logits = tf.convert_to_tensor(logits)
            dims = [h.logits_dimension for h in self._heads]
            last = logits.shape.as_list()[-1] if logits.shape.rank else None
            if last is not None and last != sum(dims):
                raise ValueError(
                    f"Could not split logits of shape {logits.shape.as_list()!r} "
                    "among the heads with individual logits dimensions: "
                    f"{dims!r}. The last dimension of the logits tensor should "
                    f"equal {sum(dims)} but is {last}."
                )
            parts = tf.split(logits, dims, axis=-1)
            return {h.name: part for h, part in zip(self._heads, parts)}

    def _check_logits_and_labels(self, logits, labels=None):
        names = [h.name for h in self._heads]
        if isinstance(logits, dict):
            missing = sorted(set(names) - set(logits))
            if missing:
                raise ValueError(
                    f"logits has missing values for head(s): {missing}"
                )
            logits_dict = logits
        else:
            logits_dict = self._split_logits(logits)
        if labels is not None:
            if not isinstance(labels, dict):
                raise ValueError(f"labels must be a dict. Given: {labels}")
            missing = sorted(set(names) - set(labels))
            if missing:
                raise ValueError(
                    f"labels has missing values for head(s): {missing}"
                )
        return logits_dict

    def loss(
        self,
        labels,
        logits,
        features=None,
        mode=None,
        regularization_losses=None,
    ):
        """Sum of the heads' losses (times `head_weights`) plus
        regularization."""
        logits_dict = self._check_logits_and_labels(logits, labels)
        losses = [
            head.loss(
                logits=logits_dict[head.name],
                labels=labels[head.name],
                features=features,
                mode=mode,
            )
            for head in self._heads
        ]
        with tf.compat.v1.name_scope("merge_losses"):
            if self._head_weights:
                losses = [
                    tf.math.multiply(loss, weight)
                    for loss, weight in zip(losses, self._head_weights)
                ]
            merged = tf.math.add_n(losses)
            if regularization_losses is not None:
                merged = merged + tf.math.add_n(regularization_losses)
            return merged

    def predictions(self, logits, keys=None):
        """`{(head name, key): tensor}` for every head's predictions."""
        del keys  # The original returned every head's predictions.
        logits_dict = self._check_logits_and_labels(logits)
        predictions = {}
        with tf.compat.v1.name_scope("merge_pred"):
            for head in self._heads:
                for key, value in head.predictions(
                    logits=logits_dict[head.name]
                ).items():
                    predictions[(head.name, key)] = value
        return predictions

    def metrics(self, regularization_losses=None):
        """`loss/<head>` means (and regularization_loss); the heads' own
        metrics are created in `update_metrics`, as in the original."""
        m = {}
        if regularization_losses is not None:
            m[self._summary_key(MetricKeys.LOSS_REGULARIZATION)] = _metrics.Mean(
                MetricKeys.LOSS_REGULARIZATION
            )
        with tf.compat.v1.name_scope("merge_eval"):
            for head in self._heads:
                key = self._loss_key(head)
                m[key] = _metrics.Mean(key)
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
        """Updates the loss means and adds each head's updated metrics."""
        del mode  # Unused by this head.
        logits_dict = self._check_logits_and_labels(logits, labels)
        if regularization_losses is not None:
            eval_metrics[
                self._summary_key(MetricKeys.LOSS_REGULARIZATION)
            ].update_state(tf.math.add_n(regularization_losses))
        for head in self._heads:
            head_logits = logits_dict[head.name]
            head_labels = labels[head.name]
            training_loss = head.loss(
                logits=head_logits, labels=head_labels, features=features
            )
            eval_metrics[self._loss_key(head)].update_state(training_loss)
            updated = head.update_metrics(
                head.metrics(), features, head_logits, head_labels
            )
            eval_metrics.update(updated or {})
        return eval_metrics

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
        """The merged `EstimatorSpec`; see `Head.create_estimator_spec`.

        In TRAIN mode the spec also carries the heads' TRAIN-mode metric
        ops (none for the built-in heads), as in the original.
        """
        with tf.compat.v1.name_scope(self.name, "multi_head"):
            logits_dict = self._check_logits_and_labels(logits, labels)
            specs = [
                head.create_estimator_spec(
                    features=features,
                    mode=mode,
                    logits=logits_dict[head.name],
                    labels=labels[head.name] if labels else None,
                    train_op_fn=_no_op_train_fn,
                )
                for head in self._heads
            ]
            predictions = self.predictions(logits)
            if mode == ModeKeys.PREDICT:
                return EstimatorSpec(
                    mode=ModeKeys.PREDICT,
                    predictions=predictions,
                    export_outputs=self._merged_export_outputs(specs),
                )
            loss = self.loss(
                labels, logits, features, mode, regularization_losses
            )
            if mode == ModeKeys.EVAL:
                eval_metrics = self.update_metrics(
                    self.metrics(regularization_losses=regularization_losses),
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
            if mode != ModeKeys.TRAIN:
                raise ValueError(f"mode={mode} unrecognized")
            train_op = _train_op.create_train_op(
                optimizer, trainable_variables, train_op_fn, update_ops, loss
            )
            _train_op.add_summaries(loss, regularization_losses)
            eval_metric_ops = {}
            for spec in specs:
                eval_metric_ops.update(spec.eval_metric_ops or {})
            return EstimatorSpec(
                mode=ModeKeys.TRAIN,
                loss=loss,
                train_op=train_op,
                predictions=predictions,
                eval_metric_ops=eval_metric_ops,
            )

    def _merged_export_outputs(self, specs):
        first = self._heads[0]
        export_outputs = {
            DEFAULT_SERVING_KEY: _default_export_output(
                specs[0].export_outputs, first.name
            )
        }
        merged_predict = {}
        for head, spec in zip(self._heads, specs):
            for key, output in spec.export_outputs.items():
                name = (
                    head.name
                    if key == DEFAULT_SERVING_KEY
                    else f"{head.name}/{key}"
                )
                export_outputs[name] = output
                if key == PREDICT_SERVING_KEY and isinstance(
                    output, PredictOutput
                ):
                    for out_key, tensor in output.outputs.items():
                        merged_predict[f"{head.name}/{out_key}"] = tensor
        export_outputs[PREDICT_SERVING_KEY] = PredictOutput(merged_predict)
        return export_outputs


def _default_export_output(export_outputs, head_name):
    if len(export_outputs) == 1:
        return next(iter(export_outputs.values()))
    try:
        return export_outputs[DEFAULT_SERVING_KEY]
    except KeyError:
        raise ValueError(
            f"{head_name} did not specify default export_outputs. Given: "
            f"{export_outputs} Suggested fix: Use one of the heads in "
            "tf.estimator, or include key "
            f"{DEFAULT_SERVING_KEY} in export_outputs."
        ) from None
