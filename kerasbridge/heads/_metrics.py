"""Streaming metrics for the heads, in a TF1 graph, with Keras 2's numbers.

The original heads returned Keras 2 metric objects (`Mean`, `Accuracy`,
`Precision`, `AUC`, ...). Keras 3 metrics do not return update ops in a TF1
graph and differ in small ways, so the heads use these instead: each keeps its
state in local variables (collections LOCAL_VARIABLES and METRIC_VARIABLES, so
never checkpointed and reset by every evaluation, as the original's), each
`update_state` call returns its update op, and `as_tuple()` gives the
`(value, update_op)` pair `EstimatorSpec.eval_metric_ops` takes. The
arithmetic follows Keras 2 (`tf_keras`) exactly: weights broadcast to the
values, `divide_no_nan` results, AUC over 200 evenly spaced thresholds with
bucketed counts and Keras' interpolation for both ROC and PR curves.
"""

import tensorflow as tf

_COLLECTIONS = (
    tf.compat.v1.GraphKeys.LOCAL_VARIABLES,
    tf.compat.v1.GraphKeys.METRIC_VARIABLES,
)
_EPSILON = 1e-7


def _local_variable(name, shape=()):
    return tf.compat.v1.Variable(
        tf.zeros(shape, tf.float32),
        trainable=False,
        collections=list(_COLLECTIONS),
        name=name,
    )


def _broadcast_weights(weights, values):
    """Weights broadcast to `values`' shape (float32), or None."""
    if weights is None:
        return None
    weights = tf.cast(weights, tf.float32)
    return tf.compat.v2.__internal__.ops.broadcast_weights(weights, values)


def _squeeze_weights_to(weights, values):
    """Keras 2's squeeze: `[B, 1]` weights for `[B]` values become `[B]`."""
    weights = tf.convert_to_tensor(weights, tf.float32)
    w_rank, v_rank = weights.shape.rank, values.shape.rank
    if w_rank is not None and v_rank is not None and w_rank == v_rank + 1:
        return tf.squeeze(weights, -1)
    return weights


class Metric:
    """A streaming metric: local state, update ops, a result tensor.

    Attributes:
        name: The metric's name.
        variables: Its state variables (local, not checkpointed).
    """

    def __init__(self, name):
        self.name = name
        self.variables = []
        self._update_ops = []
        with tf.compat.v1.variable_scope(None, default_name=_scope_name(name)):
            self._build()

    def _build(self):
        raise NotImplementedError

    def _add_variable(self, name, shape=()):
        variable = _local_variable(name, shape)
        self.variables.append(variable)
        return variable

    def update_state(self, *args, **kwargs):
        """Adds one batch; returns the update op (also kept for `as_tuple`)."""
        op = self._update(*args, **kwargs)
        self._update_ops.append(op)
        return op

    def result(self):
        """The metric's value tensor."""
        raise NotImplementedError

    @property
    def update_op(self):
        """One op running every update added so far."""
        return tf.group(*self._update_ops)

    def as_tuple(self):
        """`(value_tensor, update_op)`, the form `eval_metric_ops` takes."""
        return self.result(), self.update_op

    def reset_op(self):
        """An op zeroing the state."""
        return tf.group(*[v.assign(tf.zeros_like(v)) for v in self.variables])


def _scope_name(name):
    # Variable names may not hold '/' in a scope's default name.
    return name.replace("/", "_").replace(".", "_")


class Mean(Metric):
    """Weighted mean: `sum(w * v) / sum(w)`, weights broadcast to values."""

    def _build(self):
        self.total = self._add_variable("total")
        self.count = self._add_variable("count")

    def _update(self, values, sample_weight=None):
        values = tf.cast(values, tf.float32)
        weights = _broadcast_weights(sample_weight, values)
        if weights is None:
            count = tf.cast(tf.size(values), tf.float32)
        else:
            values = values * weights
            count = tf.reduce_sum(weights)
        update_total = self.total.assign_add(tf.reduce_sum(values))
        # The count may be a constant (a scalar's size): without this
        # dependency it would still be added when the input pipeline raises
        # OutOfRange at the end of an evaluation (as Keras 2 orders it).
        with tf.control_dependencies([update_total]):
            return self.count.assign_add(count).op

    def result(self):
        return tf.math.divide_no_nan(self.total, self.count)


class Accuracy(Mean):
    """Keras 2 `Accuracy`: mean of `y_true == y_pred` (elementwise)."""

    def _update(self, y_true, y_pred, sample_weight=None):
        matches = tf.cast(
            tf.equal(tf.cast(y_true, tf.float32), tf.cast(y_pred, tf.float32)),
            tf.float32,
        )
        return super()._update(matches, sample_weight)


class BinaryAccuracy(Mean):
    """Keras 2 `BinaryAccuracy`: `y_pred > threshold` equals `y_true`,
    averaged over the last axis per example, then weighted over examples."""

    def __init__(self, name, threshold=0.5):
        self._threshold = threshold
        super().__init__(name)

    def _update(self, y_true, y_pred, sample_weight=None):
        y_pred = tf.cast(y_pred, tf.float32)
        predicted = tf.cast(y_pred > self._threshold, tf.float32)
        matches = tf.cast(
            tf.equal(tf.cast(y_true, tf.float32), predicted), tf.float32
        )
        per_example = tf.reduce_mean(matches, axis=-1)
        if sample_weight is not None:
            sample_weight = _squeeze_weights_to(sample_weight, per_example)
        return super()._update(per_example, sample_weight)


class _Confusion(Metric):
    """True/false positives/negatives at one threshold (`pred > t`)."""

    def __init__(self, name, threshold=0.5):
        self._threshold = threshold
        super().__init__(name)

    def _build(self):
        self.tp = self._add_variable("true_positives", (1,))
        self.fp = self._add_variable("false_positives", (1,))
        self.fn = self._add_variable("false_negatives", (1,))

    def _update(self, y_true, y_pred, sample_weight=None):
        y_pred = tf.cast(y_pred, tf.float32)
        weights = _broadcast_weights(sample_weight, y_pred)
        if weights is None:
            weights = tf.ones_like(y_pred)
        positive = tf.cast(tf.cast(y_true, tf.bool), tf.float32)
        predicted = tf.cast(y_pred > self._threshold, tf.float32)
        tp = tf.reduce_sum(weights * positive * predicted)
        fp = tf.reduce_sum(weights * (1.0 - positive) * predicted)
        fn = tf.reduce_sum(weights * positive * (1.0 - predicted))
        return tf.group(
            self.tp.assign_add([tp]),
            self.fp.assign_add([fp]),
            self.fn.assign_add([fn]),
        )


class Precision(_Confusion):
    """Keras 2 `Precision(thresholds=t)`: `tp / (tp + fp)`."""

    def result(self):
        return tf.math.divide_no_nan(self.tp, self.tp + self.fp)[0]


class Recall(_Confusion):
    """Keras 2 `Recall(thresholds=t)`: `tp / (tp + fn)`."""

    def result(self):
        return tf.math.divide_no_nan(self.tp, self.tp + self.fn)[0]


class AUC(Metric):
    """Keras 2 `AUC(num_thresholds=200)`, curve 'ROC' or 'PR'.

    Thresholds are `[-eps, 1/199, ..., 198/199, 1 + eps]`; counts are taken
    by bucketing predictions (`ceil(p * 199) - 1`, clipped at 0) and summing
    buckets from the top, as Keras 2 does for evenly spaced thresholds. ROC
    uses trapezoids; PR uses Keras' interpolation (Davis & Goadrich).
    """

    NUM_THRESHOLDS = 200

    def __init__(self, name, curve="ROC"):
        if curve not in ("ROC", "PR"):
            raise ValueError(f"curve must be 'ROC' or 'PR', given: {curve!r}")
        self._curve = curve
        super().__init__(name)

    def _build(self):
        n = self.NUM_THRESHOLDS
        self.tp = self._add_variable("true_positives", (n,))
        self.fp = self._add_variable("false_positives", (n,))
        self.tn = self._add_variable("true_negatives", (n,))
        self.fn = self._add_variable("false_negatives", (n,))

    def _update(self, y_true, y_pred, sample_weight=None):
        n = self.NUM_THRESHOLDS
        y_pred = tf.cast(y_pred, tf.float32)
        weights = _broadcast_weights(sample_weight, y_pred)
        weights = 1.0 if weights is None else tf.reshape(weights, [-1])
        y_pred = tf.reshape(tf.clip_by_value(y_pred, 0.0, 1.0), [-1])
        positive = tf.reshape(
            tf.cast(tf.cast(y_true, tf.bool), tf.float32), [-1]
        )
        true_labels = positive * weights
        false_labels = (1.0 - positive) * weights
        # Bucket k holds predictions in (k/(n-1), (k+1)/(n-1)]; thresholds
        # carry epsilons, so [0, 1/(n-1)] all count above the first one.
        buckets = tf.cast(
            tf.nn.relu(tf.math.ceil(y_pred * (n - 1)) - 1), tf.int32
        )
        tp = tf.cumsum(
            tf.math.unsorted_segment_sum(true_labels, buckets, n), reverse=True
        )
        fp = tf.cumsum(
            tf.math.unsorted_segment_sum(false_labels, buckets, n),
            reverse=True,
        )
        return tf.group(
            self.tp.assign_add(tp),
            self.fp.assign_add(fp),
            self.tn.assign_add(tf.reduce_sum(false_labels) - fp),
            self.fn.assign_add(tf.reduce_sum(true_labels) - tp),
        )

    def result(self):
        if self._curve == "PR":
            return self._interpolated_pr_auc()
        recall = tf.math.divide_no_nan(self.tp, self.tp + self.fn)
        fp_rate = tf.math.divide_no_nan(self.fp, self.fp + self.tn)
        heights = (recall[:-1] + recall[1:]) / 2.0
        return tf.reduce_sum((fp_rate[:-1] - fp_rate[1:]) * heights)

    def _interpolated_pr_auc(self):
        # Precision interpolated linearly in the true-positive count between
        # thresholds (Davis & Goadrich 2006), integrated over recall.
        tp, fp, fn = self.tp, self.fp, self.fn
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = tf.math.divide_no_nan(dtp, tf.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        safe_p_ratio = tf.where(
            tf.logical_and(p[:-1] > 0, p[1:] > 0),
            tf.math.divide_no_nan(p[:-1], tf.maximum(p[1:], 0)),
            tf.ones_like(p[1:]),
        )
        increments = tf.math.divide_no_nan(
            slope * (dtp + intercept * tf.math.log(safe_p_ratio)),
            tf.maximum(tp[1:] + fn[1:], 0),
        )
        return tf.reduce_sum(increments)


class AccuracyBaseline(Metric):
    """`max(label_mean, 1 - label_mean)`: always predicting one class.

    Reads the `label/mean` metric's state; has no state of its own.
    """

    def __init__(self, name, label_mean):
        self._label_mean = label_mean
        super().__init__(name)

    def _build(self):
        pass

    def _update(self):
        return tf.no_op()

    def result(self):
        total, count = self._label_mean.total, self._label_mean.count
        return tf.math.divide_no_nan(tf.maximum(total, count - total), count)

    @property
    def update_op(self):
        return tf.group(self._label_mean.update_op, *self._update_ops)


def as_metric_ops(metrics):
    """`{name: metric}` -> `{name: (value, update_op)}` for `EstimatorSpec`."""
    return {name: metric.as_tuple() for name, metric in metrics.items()}
