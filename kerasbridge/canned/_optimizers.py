"""Optimizers of the canned estimators, as graph ops with the original's variable names.

The original (TF 2.15, v2 canned estimators) trained with `tf.keras.optimizers.legacy`
optimizers, whose variables a model_dir holds as `training/<Name>/<hyper>` (e.g.
`training/Adagrad/learning_rate`), `training/<Name>/<variable>/<slot>` (e.g.
`.../dnn/logits/kernel/accumulator`) and, unless `iterations` was the global step,
`training/<Name>/iter`. Keras 3 has no graph-mode optimizer, so `GraphOptimizer`
rebuilds those optimizers' updates with the same TF training kernels
(`ResourceApplyAdagradV2`, `ResourceApplyFtrl`, `ResourceApplyAdam`, ...) and the
same variables, which makes the original's checkpoints restore and keep training.

`get_optimizer(opt, learning_rate)` accepts what the original accepted: a name
('Adagrad', 'Adam', 'Ftrl', 'RMSProp', 'SGD'), an optimizer instance (a Keras 3 or
tf_keras optimizer of those classes is converted from its config; a
`tf.compat.v1.train.Optimizer` is used as it is), or a callable returning one.
"""

import math
import re

import tensorflow as tf
from tensorflow.python.eager import context as _context

# Canonical name -> hyperparameter defaults (the Keras legacy optimizer's).
_DEFAULTS = {
    "Adagrad": {"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7},
    "Adam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
             "amsgrad": False},
    "Ftrl": {"learning_rate": 0.001, "learning_rate_power": -0.5,
             "initial_accumulator_value": 0.1, "l1_regularization_strength": 0.0,
             "l2_regularization_strength": 0.0, "l2_shrinkage_regularization_strength": 0.0,
             "beta": 0.0},
    "RMSProp": {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7,
                "centered": False},
    "SGD": {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False},
}
# Keras class name -> canonical name.
_CLASS_NAMES = {"Adagrad": "Adagrad", "Adam": "Adam", "Ftrl": "Ftrl", "RMSprop": "RMSProp",
                "SGD": "SGD"}
# The legacy optimizers' default names (their variable scope): RMSprop's differs.
_SCOPE_NAMES = {"Adagrad": "Adagrad", "Adam": "Adam", "Ftrl": "Ftrl", "RMSProp": "RMSprop",
                "SGD": "SGD"}
# Hyperparameters the legacy optimizers kept as variables (so checkpoints hold them).
_HYPER_VARIABLES = {
    "Adagrad": ("learning_rate", "decay"),
    "Adam": ("learning_rate", "decay", "beta_1", "beta_2"),
    "Ftrl": ("learning_rate", "decay", "learning_rate_power", "l1_regularization_strength",
             "l2_regularization_strength", "beta"),
    "RMSProp": ("learning_rate", "decay", "rho", "momentum"),
    "SGD": ("learning_rate", "decay", "momentum"),
}
# Keras 3 options the graph optimizers do not implement: their "off" values.
_UNSUPPORTED_KERAS_OPTIONS = {
    "weight_decay": (None, 0, 0.0), "clipnorm": (None,), "global_clipnorm": (None,),
    "clipvalue": (None,), "use_ema": (False,), "loss_scale_factor": (None, 1, 1.0),
    "gradient_accumulation_steps": (None, 1), "decay": (None, 0, 0.0),
}


class GraphOptimizer:
    """A `tf.keras.optimizers.legacy` optimizer's updates and variables, in a TF1 graph.

    Args:
        name: 'Adagrad', 'Adam', 'Ftrl', 'RMSProp' or 'SGD'.
        scope: variable-name prefix (default `training/<name>`, as the original's).
        **hyper: hyperparameters (see `_DEFAULTS`); others are a ValueError.
    """

    def __init__(self, name, scope=None, **hyper):
        if name not in _DEFAULTS:
            raise ValueError(
                f"Unsupported optimizer name: {name}. Supported names are: "
                f"{tuple(sorted(_DEFAULTS))}"
            )
        unknown = set(hyper) - set(_DEFAULTS[name])
        if unknown:
            raise ValueError(f"Unknown arguments for optimizer {name}: {sorted(unknown)}.")
        self.name = name
        self.scope = scope
        self.hyper = {**_DEFAULTS[name], **hyper}
        if name == "Adam" and self.hyper["amsgrad"]:
            raise ValueError("Adam with amsgrad=True is not supported by the canned estimators.")
        lr = self.hyper["learning_rate"]
        if callable(lr) or not isinstance(lr, (int, float)):
            raise ValueError(
                f"The {name} optimizer's learning_rate must be a number for the canned "
                f"estimators; got {lr!r}."
            )

    def __repr__(self):
        return f"GraphOptimizer({self.name!r}, {self.hyper})"

    def get_updates(self, loss, var_list, iterations=None):
        """Builds the gradient step of `loss` over `var_list`.

        Args:
            loss: scalar `Tensor`.
            var_list: variables to train.
            iterations: int64 variable counted up by one per step (the original
                passed the global step); `None` creates `<scope>/iter`.

        Returns:
            The update `Operation` (increments `iterations` after the updates).

        Raises:
            ValueError: a variable without a gradient (as Keras raised).
        """
        grads = tf.compat.v1.gradients(loss, var_list)
        for var, grad in zip(var_list, grads):
            if grad is None:
                raise ValueError(
                    f"Variable {var} has `None` for gradient. Please make sure that all of "
                    "your ops have a gradient defined (i.e. are differentiable)."
                )
        scope = self.scope or _unique_scope(f"training/{_SCOPE_NAMES[self.name]}")
        self._scope = scope
        root = tf.compat.v1.VariableScope(reuse=False, name="")
        with tf.compat.v1.variable_scope(root, auxiliary_name_scope=False), \
                tf.compat.v1.name_scope(None), tf.name_scope(scope + "/"):
            # Each hyperparameter is read once per step and shared by every update
            # (as the legacy optimizers' `_prepare_local` did), not once per variable.
            hypers = {
                key: _variable(f"{scope}/{key}", float(self.hyper.get(key, 0.0)),
                               ()).read_value()
                for key in _HYPER_VARIABLES[self.name]
            }
            if iterations is None:
                iterations = _variable(f"{scope}/iter", 0, (), tf.int64)
            step = tf.cast(iterations.read_value() + 1, tf.float32)
            hypers.update(self._derived(hypers, step))
            updates = []
            for grad, var in zip(grads, var_list):
                name = var.op.name
                if isinstance(grad, tf.IndexedSlices):
                    values, indices = _deduplicate(grad)
                    updates.append(self._sparse(var, name, values, indices, hypers))
                else:
                    updates.append(self._dense(var, name, grad, hypers))
            with tf.control_dependencies(updates):
                increment = iterations.assign_add(1, read_value=False)
                return getattr(increment, "op", increment)

    def _derived(self, h, step):
        """Per-step values every variable's update shares."""
        out = {"epsilon": tf.constant(self.hyper.get("epsilon", 0.0), tf.float32)}
        if self.name == "Adam":
            out["beta_1_power"] = tf.pow(h["beta_1"], step)
            out["beta_2_power"] = tf.pow(h["beta_2"], step)
            out["adam_lr"] = (h["learning_rate"] * tf.sqrt(1 - out["beta_2_power"])
                              / (1 - out["beta_1_power"]))
        if self.name == "Ftrl":
            # The legacy Ftrl folds `beta` into the L2 strength.
            out["adjusted_l2"] = (h["l2_regularization_strength"]
                                  + h["beta"] / (2.0 * h["learning_rate"]))
        return out

    # -- slots ---------------------------------------------------------------

    def _slot(self, var, name, slot, value=0.0):
        return _variable(f"{self._scope}/{name}/{slot}", value, var.shape)

    # -- updates ---------------------------------------------------------------

    def _dense(self, var, name, grad, h):
        n = self.name
        if n == "Adagrad":
            acc = self._slot(var, name, "accumulator", self.hyper["initial_accumulator_value"])
            return tf.raw_ops.ResourceApplyAdagradV2(
                var=var.handle, accum=acc.handle, lr=h["learning_rate"], epsilon=h["epsilon"],
                grad=grad)
        if n == "Ftrl":
            acc, lin = self._ftrl_slots(var, name)
            return self._ftrl_op(False)(var=var.handle, accum=acc.handle, linear=lin.handle,
                                        grad=grad, **self._ftrl_args(h))
        if n == "Adam":
            m, v = self._slot(var, name, "m"), self._slot(var, name, "v")
            return tf.raw_ops.ResourceApplyAdam(
                var=var.handle, m=m.handle, v=v.handle,
                beta1_power=h["beta_1_power"], beta2_power=h["beta_2_power"],
                lr=h["learning_rate"], beta1=h["beta_1"], beta2=h["beta_2"],
                epsilon=h["epsilon"], grad=grad)
        if n == "RMSProp":
            return self._rmsprop(var, name, grad, None, h)
        if self.hyper["momentum"]:
            mom = self._slot(var, name, "momentum")
            return tf.raw_ops.ResourceApplyKerasMomentum(
                var=var.handle, accum=mom.handle, lr=h["learning_rate"], grad=grad,
                momentum=h["momentum"], use_nesterov=bool(self.hyper["nesterov"]))
        return tf.raw_ops.ResourceApplyGradientDescent(
            var=var.handle, alpha=h["learning_rate"], delta=grad)

    def _sparse(self, var, name, grad, indices, h):
        n = self.name
        if n == "Adagrad":
            acc = self._slot(var, name, "accumulator", self.hyper["initial_accumulator_value"])
            return tf.raw_ops.ResourceSparseApplyAdagradV2(
                var=var.handle, accum=acc.handle, lr=h["learning_rate"], epsilon=h["epsilon"],
                grad=grad, indices=indices)
        if n == "Ftrl":
            acc, lin = self._ftrl_slots(var, name)
            return self._ftrl_op(True)(var=var.handle, accum=acc.handle, linear=lin.handle,
                                       grad=grad, indices=indices, **self._ftrl_args(h))
        if n == "Adam":
            return self._sparse_adam(var, name, grad, indices, h)
        if n == "RMSProp":
            return self._rmsprop(var, name, grad, indices, h)
        if self.hyper["momentum"]:
            mom = self._slot(var, name, "momentum")
            return tf.raw_ops.ResourceSparseApplyKerasMomentum(
                var=var.handle, accum=mom.handle, lr=h["learning_rate"], grad=grad,
                indices=indices, momentum=h["momentum"],
                use_nesterov=bool(self.hyper["nesterov"]))
        return tf.raw_ops.ResourceScatterAdd(
            resource=var.handle, indices=indices, updates=-grad * h["learning_rate"])

    def _ftrl_slots(self, var, name):
        acc = self._slot(var, name, "accumulator", self.hyper["initial_accumulator_value"])
        return acc, self._slot(var, name, "linear")

    def _ftrl_op(self, sparse):
        v2 = self.hyper["l2_shrinkage_regularization_strength"] > 0
        if sparse:
            return tf.raw_ops.ResourceSparseApplyFtrlV2 if v2 else tf.raw_ops.ResourceSparseApplyFtrl
        return tf.raw_ops.ResourceApplyFtrlV2 if v2 else tf.raw_ops.ResourceApplyFtrl

    def _ftrl_args(self, h):
        args = {
            "lr": h["learning_rate"],
            "l1": h["l1_regularization_strength"],
            "l2": h["adjusted_l2"],
            "lr_power": h["learning_rate_power"],
        }
        if self.hyper["l2_shrinkage_regularization_strength"] > 0:
            args["l2_shrinkage"] = tf.constant(
                self.hyper["l2_shrinkage_regularization_strength"], tf.float32)
        return args

    def _sparse_adam(self, var, name, grad, indices, h):
        m, v = self._slot(var, name, "m"), self._slot(var, name, "v")
        b1, b2 = h["beta_1"], h["beta_2"]
        m_t = _decay_then_scatter_add(m, b1, indices, grad * (1 - b1))
        v_t = _decay_then_scatter_add(v, b2, indices, grad * grad * (1 - b2))
        return var.assign_sub(h["adam_lr"] * m_t / (tf.sqrt(v_t) + h["epsilon"]),
                              read_value=False)

    def _rmsprop(self, var, name, grad, indices, h):
        rms = self._slot(var, name, "rms")
        lr, rho, eps = h["learning_rate"], h["rho"], h["epsilon"]
        centered, momentum = self.hyper["centered"], self.hyper["momentum"] > 0
        if momentum or centered:
            mom = self._slot(var, name, "momentum")
            args = {"var": var.handle, "ms": rms.handle, "mom": mom.handle, "lr": lr,
                    "rho": rho, "momentum": h["momentum"], "epsilon": eps, "grad": grad}
            if centered:
                args["mg"] = self._slot(var, name, "mg").handle
            if indices is not None:
                args["indices"] = indices
            op = {(False, False): tf.raw_ops.ResourceApplyRMSProp,
                  (False, True): tf.raw_ops.ResourceApplyCenteredRMSProp,
                  (True, False): tf.raw_ops.ResourceSparseApplyRMSProp,
                  (True, True): tf.raw_ops.ResourceSparseApplyCenteredRMSProp}
            return op[(indices is not None, bool(centered))](**args)
        if indices is None:
            update = rms.assign(rho * rms + (1 - rho) * tf.square(grad), read_value=False)
            with tf.control_dependencies([update]):
                denom = tf.sqrt(rms.read_value()) + eps
            return var.assign_sub(lr * grad / denom, read_value=False)
        rms_t = _decay_then_scatter_add(rms, rho, indices, grad * grad * (1 - rho))
        denom = tf.sqrt(tf.gather(rms_t, indices)) + eps
        return tf.raw_ops.ResourceScatterAdd(
            resource=var.handle, indices=indices, updates=-lr * grad / denom)


def _decay_then_scatter_add(slot, decay, indices, values):
    """`slot = slot * decay`, then `slot[indices] += values`; returns the new value
    as a tensor read after both writes (an unread variable would not order the read)."""
    scaled = slot.assign(slot * decay, read_value=False)
    with tf.control_dependencies([scaled]):
        added = tf.raw_ops.ResourceScatterAdd(
            resource=slot.handle, indices=indices, updates=values)
    with tf.control_dependencies([added]):
        return slot.read_value()


def _variable(name, value, shape, dtype=tf.float32):
    var = tf.compat.v1.get_variable(
        name, shape=shape, dtype=dtype, trainable=False, use_resource=True,
        initializer=tf.compat.v1.constant_initializer(value),
        collections=[tf.compat.v1.GraphKeys.GLOBAL_VARIABLES],
    )
    return var


def _unique_scope(prefix):
    """`prefix`, or `prefix_1`, ... when variables already live under it (two
    optimizers of one class in one graph, as Keras' name scopes uniquified)."""
    names = [v.op.name for v in tf.compat.v1.global_variables()]
    scope, i = prefix, 0
    while any(n.startswith(scope + "/") for n in names):
        i += 1
        scope = f"{prefix}_{i}"
    return scope


def _deduplicate(grad):
    """Sums the rows of duplicate indices (the legacy optimizers' sparse path)."""
    unique, positions = tf.unique(grad.indices)
    values = tf.math.unsorted_segment_sum(grad.values, positions, tf.shape(unique)[0])
    return values, unique


def get_optimizer(opt, learning_rate=None):
    """The optimizer the canned estimators train with (`get_optimizer_instance_v2`).

    Args:
        opt: a name ('Adagrad', 'Adam', 'Ftrl', 'RMSProp', 'SGD'), a `GraphOptimizer`,
            a Keras 3 / tf_keras optimizer of those classes, a
            `tf.compat.v1.train.Optimizer`, or a callable returning one of these.
        learning_rate: used with a name; `None` keeps the optimizer's default.

    Returns:
        A `GraphOptimizer` or a `tf.compat.v1.train.Optimizer`.

    Raises:
        ValueError: an unknown name, an unsupported optimizer or option.
    """
    if isinstance(opt, str):
        if opt not in _DEFAULTS:
            raise ValueError(
                f"Unsupported optimizer name: {opt}. Supported names are: "
                f"{tuple(sorted(_DEFAULTS))}"
            )
        return GraphOptimizer(opt, **({"learning_rate": learning_rate} if learning_rate else {}))
    if isinstance(opt, (GraphOptimizer, tf.compat.v1.train.Optimizer)):
        return opt
    if callable(opt) and not hasattr(opt, "get_config"):
        # Called eagerly: a Keras optimizer made inside the graph could not be read.
        with _context.eager_mode():
            return get_optimizer(opt(), learning_rate)
    if hasattr(opt, "get_config") and type(opt).__name__ in _CLASS_NAMES:
        # A Keras optimizer's config reads its variables: only eagerly.
        with _context.eager_mode():
            return _from_keras(opt)
    raise ValueError(
        "The given object is not an Optimizer instance. Given: {}. Pass a name "
        f"({', '.join(sorted(_DEFAULTS))}), a tf.keras optimizer of those classes, a "
        "tf.compat.v1.train.Optimizer or a callable returning one.".format(opt)
    )


def _from_keras(opt):
    config = dict(opt.get_config())
    cls = type(opt).__name__
    name = _CLASS_NAMES[cls]
    for key, off in _UNSUPPORTED_KERAS_OPTIONS.items():
        if key in config and config[key] not in off:
            raise ValueError(
                f"The canned estimators cannot train with {cls}({key}={config[key]!r}): "
                "they rebuild the optimizer as graph ops without that option. Use "
                f"{cls} without it, or a tf.compat.v1.train optimizer."
            )
    lr = config.get("learning_rate")
    if isinstance(lr, dict):
        raise ValueError(
            f"The canned estimators cannot train with a {cls} learning-rate schedule "
            f"({lr.get('class_name', lr)}); give a number, or use a tf.compat.v1.train "
            "optimizer with a schedule tensor."
        )
    hyper = {k: config[k] for k in _DEFAULTS[name] if k in config}
    if "lr" in config and "learning_rate" not in config:
        hyper["learning_rate"] = config["lr"]
    hyper["learning_rate"] = float(hyper["learning_rate"])
    # Honour a custom name (checkpoint scope); Keras 3's default names ('adam',
    # 'rm_sprop_1', ...) map to the legacy defaults.
    custom = config.get("name") or ""
    scope = None
    if re.sub(r"_\d+$", "", custom).replace("_", "").lower() != cls.lower():
        scope = f"training/{custom}"
    return GraphOptimizer(name, scope=scope, **hyper)


def linear_learning_rate(num_linear_feature_columns):
    """The original's default Ftrl learning rate: min(0.2, 1/sqrt(n columns))."""
    return min(0.2, 1.0 / math.sqrt(num_linear_feature_columns))
