"""Normalizers that work both as a TF `normalizer_fn` and inside featurec.

Pass one of these as `normalizer_fn=` to `tf.feature_column.numeric_column`:
the same column object then runs in `tf.compat.v1.feature_column.input_layer`
(the object is called on a TF tensor) and in `featurec.compile` (the compiler
reads the op code and parameters and runs a generic numba kernel).

Dtype semantics (fixed by these objects, identical on both sides): the raw
input is first cast to float32; `zscore` and `clip` then compute in float32,
`log1p` computes in float64 and rounds the result to float32.

Any other normalizer must be a plain Python function that numba can compile
for a numpy array of the column's input dtype (e.g. `lambda x: x * 2`);
featurec applies it to the raw `[batch, width]` array, as TF applies it to
the raw tensor. Results agree with TF whenever numpy and TF agree on the
function's dtype rules (integer overflow is the usual exception).
"""

import numpy as np

# Op codes read by `featurec._kernels.normalize_numeric`.
OP_IDENTITY = 0
OP_ZSCORE = 1
OP_LOG1P = 2
OP_CLIP = 3


class Normalizer:
    """Base class: a callable on TF tensors that carries its featurec plan.

    Attributes:
        op: integer op code understood by the numba kernel.
        params: tuple of two floats (unused ones are 0.0).
    """

    op = OP_IDENTITY
    params = (0.0, 0.0)

    @property
    def kernel_params(self):
        """The two float parameters the numba kernel reads (as float32)."""
        return self.params

    def __call__(self, x):
        import tensorflow as tf

        return self._tf(tf, tf.cast(x, tf.float32))

    def _tf(self, tf, x):
        raise NotImplementedError

    def __eq__(self, other):
        return type(self) is type(other) and self.params == other.params

    def __hash__(self):
        return hash((type(self).__name__, self.params))


class _ZScore(Normalizer):
    op = OP_ZSCORE

    def __init__(self, mean, std):
        mean, std = float(mean), float(std)
        if not np.isfinite(mean) or not np.isfinite(std) or std == 0.0:
            raise ValueError(
                f"zscore needs a finite mean and a finite non-zero std; got "
                f"mean={mean}, std={std}."
            )
        self.params = (mean, std)

    @property
    def kernel_params(self):
        return (self.params[0], 1.0 / self.params[1])

    def _tf(self, tf, x):
        mean = tf.constant(self.params[0], tf.float32)
        inv_std = tf.constant(1.0 / self.params[1], tf.float32)
        return (x - mean) * inv_std

    def __repr__(self):
        return f"featurec.normalizers.zscore(mean={self.params[0]!r}, std={self.params[1]!r})"


class _Log1p(Normalizer):
    op = OP_LOG1P

    def _tf(self, tf, x):
        return tf.cast(tf.math.log1p(tf.cast(x, tf.float64)), tf.float32)

    def __repr__(self):
        return "featurec.normalizers.log1p()"


class _Clip(Normalizer):
    op = OP_CLIP

    def __init__(self, lo, hi):
        lo, hi = float(lo), float(hi)
        if np.isnan(lo) or np.isnan(hi) or not np.float32(lo) <= np.float32(hi):
            raise ValueError(f"clip needs lo <= hi (as float32); got lo={lo}, hi={hi}.")
        self.params = (lo, hi)

    def _tf(self, tf, x):
        lo = tf.constant(self.params[0], tf.float32)
        hi = tf.constant(self.params[1], tf.float32)
        return tf.clip_by_value(x, lo, hi)

    def __repr__(self):
        return f"featurec.normalizers.clip(lo={self.params[0]!r}, hi={self.params[1]!r})"


def zscore(mean, std):
    """`(float32(x) - mean) * (1 / std)`, computed in float32.

    The scale is the float32 reciprocal of `std` (TF's graph optimizer turns a
    division by a constant into this multiplication anyway, so a division
    would not give the same bits in graph and eager mode).

    Args:
        mean: the mean to subtract.
        std: the (non-zero) standard deviation to divide by.

    Returns:
        A `Normalizer` usable as `normalizer_fn` in TF and in featurec.

    Raises:
        ValueError: if mean or std is not finite or std is zero.
    """
    return _ZScore(mean, std)


def log1p(x=None):
    """`float32(log1p(float64(float32(x))))`; NaN for x < -1, -inf at -1.

    Both `normalizer_fn=log1p()` and `normalizer_fn=log1p` work.

    Args:
        x: when given (TF calling the bare function), the tensor to normalize.

    Returns:
        A `Normalizer` usable as `normalizer_fn` in TF and in featurec, or the
        normalized tensor when `x` is given.
    """
    if x is None:
        return _Log1p()
    return _Log1p()(x)


def clip(lo, hi):
    """`min(max(float32(x), lo), hi)` in float32; NaN passes through.

    Args:
        lo: lower bound.
        hi: upper bound, `>= lo`.

    Returns:
        A `Normalizer` usable as `normalizer_fn` in TF and in featurec.

    Raises:
        ValueError: if `lo > hi` or either is NaN.
    """
    return _Clip(lo, hi)
