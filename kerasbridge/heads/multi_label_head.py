"""`MultiLabelHead`: independent sigmoid per class (any number of labels)."""

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
    PredictionKeys.CLASSES,
)


class MultiLabelHead(_SingleHead):
    """Multi-label classification with sigmoid cross entropy per class.

    Logits are `[D0, ..., DN, n_classes]`. Labels are a 0/1 indicator
    tensor of the same shape, or a `SparseTensor` of class ids (integers, or
    strings from `label_vocabulary`). The per-example loss is the mean over
    classes.

    Args:
        n_classes: Number of classes, > 1.
        weight_column: A feature key or numeric column of example weights.
        thresholds: Floats in (0, 1); each adds accuracy, precision and
            recall metrics at that threshold on the probabilities.
        label_vocabulary: List/tuple of `n_classes` strings (sparse string
            labels only).
        loss_reduction: A `tf.losses.Reduction` except NONE.
        loss_fn: Optional `loss_fn(labels, logits[, features])` taking the
            indicator labels and returning `[D0, ..., DN, 1]`.
        classes_for_class_based_metrics: Class ids or names (with a
            vocabulary) getting their own probability mean, AUC and PR AUC.
        name: Suffix for metric/summary keys; name scope for the ops.

    Raises:
        ValueError: Bad `n_classes`, `thresholds`, `label_vocabulary`,
            `loss_reduction`, `loss_fn` or `classes_for_class_based_metrics`.
    """

    def __init__(
        self,
        n_classes,
        weight_column=None,
        thresholds=None,
        label_vocabulary=None,
        loss_reduction="sum_over_batch_size",
        loss_fn=None,
        classes_for_class_based_metrics=None,
        name=None,
    ):
        if n_classes is None or n_classes < 2:
            raise ValueError(
                "n_classes must be > 1 for multi-label classification. "
                f"Given: {n_classes}"
            )
        thresholds = tuple(thresholds) if thresholds else tuple()
        for threshold in thresholds:
            if threshold <= 0.0 or threshold >= 1.0:
                raise ValueError(
                    f"thresholds must be in (0, 1) range. Given: {threshold}"
                )
        if label_vocabulary is not None:
            if not isinstance(label_vocabulary, (list, tuple)):
                raise ValueError(
                    "label_vocabulary must be a list or tuple. "
                    f"Given type: {type(label_vocabulary)}"
                )
            if len(label_vocabulary) != n_classes:
                raise ValueError(
                    "Length of label_vocabulary must be n_classes "
                    f"({n_classes}). Given: {len(label_vocabulary)}"
                )
        if loss_fn:
            _validation.validate_loss_fn_args(loss_fn)
        _validation.validate_loss_reduction(loss_reduction)
        self._n_classes = n_classes
        self._weight_column = weight_column
        self._thresholds = thresholds
        self._label_vocabulary = label_vocabulary
        self._loss_reduction = loss_reduction
        self._loss_fn = loss_fn
        self._class_ids = _class_ids_for_metrics(
            classes_for_class_based_metrics, label_vocabulary, n_classes
        )
        self._name = name

    @property
    def logits_dimension(self):
        return self._n_classes

    def _processed_labels(self, logits, labels):
        """Dense int64 indicator labels `[D0, ..., DN, n_classes]`."""
        if labels is None:
            raise ValueError(_checks.LABEL_NONE_ERR_MSG)
        labels = tf.compat.v1.convert_to_tensor_or_sparse_tensor(labels)
        if isinstance(labels, tf.sparse.SparseTensor):
            if labels.dtype == tf.string:
                if self._label_vocabulary is None:
                    raise ValueError(
                        "String labels need a label_vocabulary. "
                        f"Given labels dtype: {labels.dtype}"
                    )
                table = _classes.class_id_table(self._label_vocabulary)
                ids = table.lookup(labels.values)
                # Strings outside the vocabulary map to -1; to_indicator
                # then fails at run time, as in the original.
                label_ids = tf.SparseTensor(
                    labels.indices, ids, labels.dense_shape
                )
                processed = tf.sparse.to_indicator(label_ids, self._n_classes)
            else:
                if not labels.values.dtype.is_integer:
                    raise ValueError(
                        "Labels dtype should be integer. "
                        f"Instead got {labels.values.dtype}."
                    )
                err_msg = (
                    "labels must be an integer SparseTensor with values in "
                    f"[0, {self._n_classes})"
                )
                checked = _checks.label_range(
                    labels.values, self._n_classes, message=err_msg
                )
                with tf.control_dependencies([checked]):
                    processed = tf.sparse.to_indicator(labels, self._n_classes)
            processed = tf.cast(processed, tf.int64)
        else:
            err_msg = (
                "labels must be an integer indicator Tensor with values in "
                "[0, 1]"
            )
            processed = _checks.label_range(labels, 2, message=err_msg)
        return _checks.dense_labels(processed, logits, self._n_classes)

    def _unweighted_loss_and_weights(self, logits, processed_labels, features):
        if self._loss_fn:
            unweighted_loss = _losses.call_loss_fn(
                self._loss_fn,
                processed_labels,
                logits,
                features,
                expected_loss_dim=1,
            )
        else:
            per_class = tf.nn.sigmoid_cross_entropy_with_logits(
                labels=tf.cast(processed_labels, tf.float32), logits=logits
            )
            unweighted_loss = tf.reduce_mean(per_class, axis=-1, keepdims=True)
        weights = _checks.weights_matching_logits(
            features, self._weight_column, logits
        )
        return unweighted_loss, weights

    def predictions(self, logits, keys=None):
        """`logits`, `probabilities`, `classes` (all class names per row)."""
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
                predictions[PredictionKeys.PROBABILITIES] = tf.math.sigmoid(
                    logits, name=PredictionKeys.PROBABILITIES
                )
            if PredictionKeys.CLASSES in keys:
                predictions[PredictionKeys.CLASSES] = _classes.all_classes(
                    logits, self._n_classes, self._label_vocabulary
                )
        return predictions

    def _threshold_keys(self, threshold):
        k = self._summary_key
        return (
            k(MetricKeys.ACCURACY_AT_THRESHOLD % threshold),
            k(MetricKeys.PRECISION_AT_THRESHOLD % threshold),
            k(MetricKeys.RECALL_AT_THRESHOLD % threshold),
        )

    def _class_keys(self, class_id):
        if self._label_vocabulary is None:
            names = (
                MetricKeys.PROBABILITY_MEAN_AT_CLASS % class_id,
                MetricKeys.AUC_AT_CLASS % class_id,
                MetricKeys.AUC_PR_AT_CLASS % class_id,
            )
        else:
            label = self._label_vocabulary[class_id]
            names = (
                MetricKeys.PROBABILITY_MEAN_AT_NAME % label,
                MetricKeys.AUC_AT_NAME % label,
                MetricKeys.AUC_PR_AT_NAME % label,
            )
        return tuple(self._summary_key(n) for n in names)

    def metrics(self, regularization_losses=None):
        """Fresh metrics: average_loss, auc, auc_precision_recall, the
        per-threshold and per-class ones (, regularization_loss)."""
        k = self._summary_key
        with tf.compat.v1.name_scope("metrics"):
            m = {
                k(MetricKeys.LOSS_MEAN): _metrics.Mean(MetricKeys.LOSS_MEAN),
                k(MetricKeys.AUC): _metrics.AUC(MetricKeys.AUC),
                k(MetricKeys.AUC_PR): _metrics.AUC(
                    MetricKeys.AUC_PR, curve="PR"
                ),
            }
            if regularization_losses is not None:
                m[k(MetricKeys.LOSS_REGULARIZATION)] = _metrics.Mean(
                    MetricKeys.LOSS_REGULARIZATION
                )
            for threshold in self._thresholds:
                acc, prec, rec = self._threshold_keys(threshold)
                m[acc] = _metrics.BinaryAccuracy(acc, threshold=threshold)
                m[prec] = _metrics.Precision(prec, threshold=threshold)
                m[rec] = _metrics.Recall(rec, threshold=threshold)
            for class_id in self._class_ids:
                prob, auc, auc_pr = self._class_keys(class_id)
                m[prob] = _metrics.Mean(prob)
                m[auc] = _metrics.AUC(auc)
                m[auc_pr] = _metrics.AUC(auc_pr, curve="PR")
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
        logits, processed, unweighted_loss, weights = self._loss_parts(
            logits, labels, features
        )
        probabilities = self.predictions(
            logits, [PredictionKeys.PROBABILITIES]
        )[PredictionKeys.PROBABILITIES]
        self._update_loss_metrics(
            eval_metrics, unweighted_loss, weights, regularization_losses
        )
        for key in (MetricKeys.AUC, MetricKeys.AUC_PR):
            eval_metrics[k(key)].update_state(processed, probabilities, weights)
        for threshold in self._thresholds:
            for key in self._threshold_keys(threshold):
                eval_metrics[key].update_state(
                    processed, probabilities, weights
                )
        for class_id in self._class_ids:
            prob, auc, auc_pr = self._class_keys(class_id)
            class_probabilities = probabilities[..., class_id : class_id + 1]
            class_labels = processed[..., class_id : class_id + 1]
            eval_metrics[prob].update_state(class_probabilities, weights)
            eval_metrics[auc].update_state(
                class_labels, class_probabilities, weights
            )
            eval_metrics[auc_pr].update_state(
                class_labels, class_probabilities, weights
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


def _class_ids_for_metrics(classes, label_vocabulary, n_classes):
    """`classes_for_class_based_metrics` as a tuple of class ids."""
    if not classes:
        return tuple()
    classes = tuple(classes)
    if isinstance(classes[0], str):
        if not label_vocabulary:
            raise ValueError(
                "label_vocabulary must be provided when "
                "classes_for_class_based_metrics are strings."
            )
        ids = []
        for name in classes:
            if name not in label_vocabulary:
                raise ValueError(
                    f"classes_for_class_based_metrics: {name!r} is not in "
                    f"label_vocabulary {list(label_vocabulary)}."
                )
            ids.append(list(label_vocabulary).index(name))
        return tuple(ids)
    for class_id in classes:
        if class_id < 0 or class_id >= n_classes:
            raise ValueError(
                "All classes_for_class_based_metrics must be in range "
                f"[0, {n_classes - 1}]. Given: {class_id}"
            )
    return classes
