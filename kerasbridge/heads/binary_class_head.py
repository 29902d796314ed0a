"""`BinaryClassHead`: sigmoid cross entropy over one logit."""

import tensorflow as tf

from kerasbridge.export import PredictOutput
from kerasbridge.export import RegressionOutput
from kerasbridge.heads import _checks
from kerasbridge.heads import _classes
from kerasbridge.heads import _losses
from kerasbridge.heads import _metrics
from kerasbridge.heads import _validation
from kerasbridge.heads._keys import CLASSIFY_SERVING_KEY
from kerasbridge.heads._keys import DEFAULT_SERVING_KEY
from kerasbridge.heads._keys import PREDICT_SERVING_KEY
from kerasbridge.heads._keys import REGRESS_SERVING_KEY
from kerasbridge.heads._keys import MetricKeys
from kerasbridge.heads._keys import PredictionKeys
from kerasbridge.heads._single_head import _SingleHead

_VALID_KEYS = (
    PredictionKeys.LOGITS,
    PredictionKeys.LOGISTIC,
    PredictionKeys.PROBABILITIES,
    PredictionKeys.CLASS_IDS,
    PredictionKeys.CLASSES,
    PredictionKeys.ALL_CLASS_IDS,
    PredictionKeys.ALL_CLASSES,
)


class BinaryClassHead(_SingleHead):
    """Binary classification with `sigmoid_cross_entropy_with_logits`.

    Logits are `[D0, ..., DN, 1]`; labels match them (or lack the last
    dimension) and are 0/1 numbers, or strings from `label_vocabulary`.

    Args:
        weight_column: A feature key or `tf.feature_column.numeric_column`
            holding example weights.
        thresholds: Floats in (0, 1); each adds accuracy, precision and
            recall metrics at that threshold on the logistic.
        label_vocabulary: List/tuple of the two string labels.
        loss_reduction: A `tf.losses.Reduction` except NONE; default
            SUM_OVER_BATCH_SIZE.
        loss_fn: Optional `loss_fn(labels, logits[, features,
            loss_reduction])` returning `[D0, ..., DN, 1]`.
        name: Suffix for metric/summary keys; name scope for the ops.

    Raises:
        ValueError: Bad `label_vocabulary`, `thresholds`, `loss_reduction`
            or `loss_fn` arguments.
    """

    def __init__(
        self,
        weight_column=None,
        thresholds=None,
        label_vocabulary=None,
        loss_reduction="sum_over_batch_size",
        loss_fn=None,
        name=None,
    ):
        _validation.validate_label_vocabulary(label_vocabulary)
        thresholds = tuple(thresholds) if thresholds else tuple()
        for threshold in thresholds:
            if threshold <= 0.0 or threshold >= 1.0:
                raise ValueError(f"thresholds not in (0, 1): {(thresholds,)}.")
        _validation.validate_loss_reduction(loss_reduction)
        if loss_fn:
            _validation.validate_loss_fn_args(loss_fn)
        self._weight_column = weight_column
        self._thresholds = thresholds
        self._label_vocabulary = label_vocabulary
        self._loss_reduction = loss_reduction
        self._loss_fn = loss_fn
        self._name = name

    @property
    def logits_dimension(self):
        return 1

    def _processed_labels(self, logits, labels):
        labels = _checks.dense_labels(labels, logits, 1)
        if self._label_vocabulary is not None:
            if labels.dtype != tf.string:
                raise ValueError(
                    "Labels dtype should be string if there is a vocabulary. "
                    f"Instead got {labels.dtype}"
                )
            labels = _classes.class_id_table(self._label_vocabulary).lookup(
                labels
            )
        elif labels.dtype == tf.string:
            raise ValueError(
                "Labels dtype should be numeric (0 or 1) when there is no "
                f"label_vocabulary. Instead got {labels.dtype}"
            )
        labels = tf.cast(labels, tf.float32)
        return _checks.label_range(labels, n_classes=2)

    def _unweighted_loss_and_weights(self, logits, labels, features):
        if self._loss_fn:
            unweighted_loss = _losses.call_loss_fn(
                self._loss_fn, labels, logits, features, expected_loss_dim=1
            )
        else:
            unweighted_loss = tf.nn.sigmoid_cross_entropy_with_logits(
                labels=labels, logits=logits
            )
        weights = _checks.weights_matching_logits(
            features, self._weight_column, logits
        )
        return unweighted_loss, weights

    def predictions(self, logits, keys=None):
        """`logits`, `logistic`, `probabilities`, `class_ids`, `classes`,
        `all_class_ids`, `all_classes` (or only those in `keys`)."""
        if keys:
            _validation.check_prediction_keys(keys, _VALID_KEYS)
        else:
            keys = _VALID_KEYS
        logits = _checks.logits_with_final_dim(logits, 1)
        predictions = {}
        with tf.compat.v1.name_scope("predictions", values=(logits,)):
            if PredictionKeys.LOGITS in keys:
                predictions[PredictionKeys.LOGITS] = logits
            if PredictionKeys.LOGISTIC in keys:
                predictions[PredictionKeys.LOGISTIC] = tf.math.sigmoid(
                    logits, name=PredictionKeys.LOGISTIC
                )
            two_class_logits = tf.concat(
                (tf.zeros_like(logits), logits),
                axis=-1,
                name="two_class_logits",
            )
            if PredictionKeys.PROBABILITIES in keys:
                predictions[PredictionKeys.PROBABILITIES] = tf.nn.softmax(
                    two_class_logits, name=PredictionKeys.PROBABILITIES
                )
            if PredictionKeys.CLASS_IDS in keys or PredictionKeys.CLASSES in keys:
                class_ids = tf.expand_dims(
                    tf.math.argmax(
                        two_class_logits, axis=-1, name=PredictionKeys.CLASS_IDS
                    ),
                    axis=-1,
                )
                if PredictionKeys.CLASS_IDS in keys:
                    predictions[PredictionKeys.CLASS_IDS] = class_ids
                if PredictionKeys.CLASSES in keys:
                    if self._label_vocabulary is not None:
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
                    _classes.all_class_ids(logits, n_classes=2)
                )
            if PredictionKeys.ALL_CLASSES in keys:
                predictions[PredictionKeys.ALL_CLASSES] = _classes.all_classes(
                    logits, 2, self._label_vocabulary
                )
        return predictions

    def _keys(self):
        k = self._summary_key
        return {
            "loss_mean": k(MetricKeys.LOSS_MEAN),
            "accuracy": k(MetricKeys.ACCURACY),
            "precision": k(MetricKeys.PRECISION),
            "recall": k(MetricKeys.RECALL),
            "prediction_mean": k(MetricKeys.PREDICTION_MEAN),
            "label_mean": k(MetricKeys.LABEL_MEAN),
            "accuracy_baseline": k(MetricKeys.ACCURACY_BASELINE),
            "auc": k(MetricKeys.AUC),
            "auc_pr": k(MetricKeys.AUC_PR),
            "regularization": k(MetricKeys.LOSS_REGULARIZATION),
        }

    def _threshold_keys(self, threshold):
        k = self._summary_key
        return (
            k(MetricKeys.ACCURACY_AT_THRESHOLD % threshold),
            k(MetricKeys.PRECISION_AT_THRESHOLD % threshold),
            k(MetricKeys.RECALL_AT_THRESHOLD % threshold),
        )

    def metrics(self, regularization_losses=None):
        """Fresh metrics: average_loss, accuracy, precision, recall,
        prediction/mean, label/mean, accuracy_baseline, auc,
        auc_precision_recall, per-threshold ones, regularization_loss."""
        keys = self._keys()
        with tf.compat.v1.name_scope("metrics"):
            m = {}
            m[keys["loss_mean"]] = _metrics.Mean(MetricKeys.LOSS_MEAN)
            m[keys["accuracy"]] = _metrics.Accuracy(MetricKeys.ACCURACY)
            m[keys["precision"]] = _metrics.Precision(MetricKeys.PRECISION)
            m[keys["recall"]] = _metrics.Recall(MetricKeys.RECALL)
            m[keys["prediction_mean"]] = _metrics.Mean(
                MetricKeys.PREDICTION_MEAN
            )
            label_mean = _metrics.Mean(MetricKeys.LABEL_MEAN)
            m[keys["label_mean"]] = label_mean
            m[keys["accuracy_baseline"]] = _metrics.AccuracyBaseline(
                MetricKeys.ACCURACY_BASELINE, label_mean
            )
            m[keys["auc"]] = _metrics.AUC(MetricKeys.AUC)
            m[keys["auc_pr"]] = _metrics.AUC(MetricKeys.AUC_PR, curve="PR")
            if regularization_losses is not None:
                m[keys["regularization"]] = _metrics.Mean(
                    MetricKeys.LOSS_REGULARIZATION
                )
            for threshold in self._thresholds:
                acc, prec, rec = self._threshold_keys(threshold)
                m[acc] = _metrics.BinaryAccuracy(acc, threshold=threshold)
                m[prec] = _metrics.Precision(prec, threshold=threshold)
                m[rec] = _metrics.Recall(rec, threshold=threshold)
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
        keys = self._keys()
        preds = self.predictions(
            logits, [PredictionKeys.CLASS_IDS, PredictionKeys.LOGISTIC]
        )
        class_ids = preds[PredictionKeys.CLASS_IDS]
        logistic = preds[PredictionKeys.LOGISTIC]
        _, labels, unweighted_loss, weights = self._loss_parts(logits, labels, features)
        self._update_loss_metrics(
            eval_metrics, unweighted_loss, weights, regularization_losses
        )
        for key in ("accuracy", "precision", "recall"):
            eval_metrics[keys[key]].update_state(labels, class_ids, weights)
        eval_metrics[keys["prediction_mean"]].update_state(logistic, weights)
        eval_metrics[keys["label_mean"]].update_state(labels, weights)
        eval_metrics[keys["accuracy_baseline"]].update_state()
        eval_metrics[keys["auc"]].update_state(labels, logistic, weights)
        eval_metrics[keys["auc_pr"]].update_state(labels, logistic, weights)
        for threshold in self._thresholds:
            for key in self._threshold_keys(threshold):
                eval_metrics[key].update_state(labels, logistic, weights)
        return eval_metrics

    def _export_outputs(self, predictions):
        classifier_output = _classes.classification_output(
            scores=predictions[PredictionKeys.PROBABILITIES],
            n_classes=2,
            label_vocabulary=self._label_vocabulary,
        )
        return {
            DEFAULT_SERVING_KEY: classifier_output,
            CLASSIFY_SERVING_KEY: classifier_output,
            REGRESS_SERVING_KEY: RegressionOutput(
                value=predictions[PredictionKeys.LOGISTIC]
            ),
            PREDICT_SERVING_KEY: PredictOutput(predictions),
        }
