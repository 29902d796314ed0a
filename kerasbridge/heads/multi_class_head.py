"""`MultiClassHead`: softmax cross entropy over `n_classes` logits."""

import tensorflow as tf

from kerasbridge.export import PredictOutput
from kerasbridge.heads import _checks
from kerasbridge.heads import _classes
from kerasbridge.heads import _losses
from kerasbridge.heads import _metrics
from kerasbridge.heads import _validation
from kerasbridge.heads._keys import CLASSIFY_SERVING_KEY
from kerasbridge.heads._keys import DEFAULT_SERVING_KEY
from kerasbridge.heads._keys import PREDICT_SERVING_KEY
from kerasbridge.heads._keys import MetricKeys
from kerasbridge.heads._keys import PredictionKeys
from kerasbridge.heads._single_head import _SingleHead

_VALID_KEYS = (
    PredictionKeys.LOGITS,
    PredictionKeys.PROBABILITIES,
    PredictionKeys.CLASS_IDS,
    PredictionKeys.CLASSES,
    PredictionKeys.ALL_CLASS_IDS,
    PredictionKeys.ALL_CLASSES,
)


class MultiClassHead(_SingleHead):
    """Multi-class classification with sparse softmax cross entropy.

    Logits are `[D0, ..., DN, n_classes]`; labels are `[D0, ..., DN, 1]` (or
    without the last dimension): integer class ids in `[0, n_classes)`, or
    strings from `label_vocabulary`.

    Args:
        n_classes: Number of classes, > 2 (use `BinaryClassHead` for 2).
        weight_column: A feature key or numeric column of example weights.
        label_vocabulary: List/tuple of `n_classes` string labels.
        loss_reduction: A `tf.losses.Reduction` except NONE.
        loss_fn: Optional `loss_fn(labels, logits[, features])` taking
            integer label ids and returning `[D0, ..., DN, 1]`.
        name: Suffix for metric/summary keys; name scope for the ops.

    Raises:
        ValueError: Bad `n_classes`, `label_vocabulary`, `loss_reduction` or
            `loss_fn`.
    """

    def __init__(
        self,
        n_classes,
        weight_column=None,
        label_vocabulary=None,
        loss_reduction="sum_over_batch_size",
        loss_fn=None,
        name=None,
    ):
        if n_classes is None:
            raise ValueError("n_classes cannot be None")
        _validation.validate_label_vocabulary(label_vocabulary)
        if label_vocabulary is not None and len(label_vocabulary) != n_classes:
            raise ValueError(
                '"label_vocabulary" does not have "n_classes" items. '
                f"len(label_vocabulary)={len(label_vocabulary)}, "
                f"n_classes={n_classes}, label_vocabulary={label_vocabulary}"
            )
        _validation.validate_loss_reduction(loss_reduction)
        if loss_fn:
            _validation.validate_loss_fn_args(loss_fn)
        self._n_classes = _validation.validate_n_classes(n_classes)
        self._weight_column = weight_column
        self._label_vocabulary = label_vocabulary
        self._loss_reduction = loss_reduction
        self._loss_fn = loss_fn
        self._name = name

    @property
    def logits_dimension(self):
        return self._n_classes

    def _processed_labels(self, logits, labels):
        labels = _checks.dense_labels(labels, logits, 1)
        if self._label_vocabulary is None:
            if not labels.dtype.is_integer:
                raise ValueError(
                    f"Labels dtype should be integer. Instead got {labels.dtype}."
                )
            label_ids = labels
        else:
            if labels.dtype != tf.string:
                raise ValueError(
                    "Labels dtype should be string if there is a vocabulary. "
                    f"Instead got {labels.dtype}"
                )
            table = _classes.class_id_table(self._label_vocabulary)
            label_ids = table.lookup(labels)
        return _checks.label_range(label_ids, self._n_classes)

    def _unweighted_loss_and_weights(self, logits, label_ids, features):
        if self._loss_fn:
            unweighted_loss = _losses.call_loss_fn(
                self._loss_fn, label_ids, logits, features, expected_loss_dim=1
            )
        else:
            unweighted_loss = tf.expand_dims(
                tf.nn.sparse_softmax_cross_entropy_with_logits(
                    labels=tf.squeeze(label_ids, axis=-1), logits=logits
                ),
                axis=-1,
            )
        weights = _checks.weights_matching_logits(
            features, self._weight_column, logits
        )
        return unweighted_loss, weights

    def predictions(self, logits, keys=None):
        """`logits`, `probabilities`, `class_ids`, `classes`,
        `all_class_ids`, `all_classes` (or only those in `keys`)."""
        if keys:
            _validation.check_prediction_keys(keys, _VALID_KEYS)
        else:
            keys = _VALID_KEYS
        logits = _checks.logits_with_final_dim(logits, self._n_classes)
        predictions = {}
        with tf.compat.v1.name_scope("predictions", values=(logits,)):
            if PredictionKeys.LOGITS in keys:
                predictions[PredictionKeys.LOGITS] = logits
            if PredictionKeys.PROBABILITIES in keys:
                predictions[PredictionKeys.PROBABILITIES] = tf.nn.softmax(
                    logits, name=PredictionKeys.PROBABILITIES
                )
            if PredictionKeys.CLASS_IDS in keys or PredictionKeys.CLASSES in keys:
                class_ids = tf.expand_dims(
                    tf.math.argmax(logits, axis=-1, name=PredictionKeys.CLASS_IDS),
                    axis=-1,
                )
                if PredictionKeys.CLASS_IDS in keys:
                    predictions[PredictionKeys.CLASS_IDS] = class_ids
                if PredictionKeys.CLASSES in keys:
                    if self._label_vocabulary:
                        table = _classes.class_string_table(
                            self._label_vocabulary
                        )
                        classes = table.lookup(class_ids)
                    else:
                        classes = tf.strings.as_string(
                            class_ids, name="str_classes"
                        )
                    predictions[PredictionKeys.CLASSES] = classes
            if PredictionKeys.ALL_CLASS_IDS in keys:
                predictions[PredictionKeys.ALL_CLASS_IDS] = (
                    _classes.all_class_ids(logits, self._n_classes)
                )
            if PredictionKeys.ALL_CLASSES in keys:
                predictions[PredictionKeys.ALL_CLASSES] = _classes.all_classes(
                    logits, self._n_classes, self._label_vocabulary
                )
        return predictions

    def metrics(self, regularization_losses=None):
        """Fresh metrics: average_loss, accuracy (, regularization_loss)."""
        k = self._summary_key
        with tf.compat.v1.name_scope("metrics"):
            m = {k(MetricKeys.LOSS_MEAN): _metrics.Mean(MetricKeys.LOSS_MEAN)}
            if regularization_losses is not None:
                m[k(MetricKeys.LOSS_REGULARIZATION)] = _metrics.Mean(
                    MetricKeys.LOSS_REGULARIZATION
                )
            m[k(MetricKeys.ACCURACY)] = _metrics.Accuracy(MetricKeys.ACCURACY)
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
        class_ids = self.predictions(logits, [PredictionKeys.CLASS_IDS])[
            PredictionKeys.CLASS_IDS
        ]
        _, label_ids, unweighted_loss, weights = self._loss_parts(
            logits, labels, features
        )
        self._update_loss_metrics(
            eval_metrics, unweighted_loss, weights, regularization_losses
        )
        eval_metrics[k(MetricKeys.ACCURACY)].update_state(
            label_ids, class_ids, weights
        )
        return eval_metrics

    def _export_outputs(self, predictions):
        classifier_output = _classes.classification_output(
            scores=predictions[PredictionKeys.PROBABILITIES],
            n_classes=self._n_classes,
            label_vocabulary=self._label_vocabulary,
        )
        return {
            DEFAULT_SERVING_KEY: classifier_output,
            CLASSIFY_SERVING_KEY: classifier_output,
            PREDICT_SERVING_KEY: PredictOutput(predictions),
        }
