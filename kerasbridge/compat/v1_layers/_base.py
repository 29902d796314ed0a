"""`Layer`: the TF1 `tf.layers.Layer` contract on `tf.compat.v1.get_variable`.

A layer owns one variable scope, chosen on first use the way TF1 chose it:
`variable_scope(None, default_name=<snake_case class name>)` (so `dense`,
`dense_1`, ... inside the enclosing scope), or the `name`/`scope` given
(exactly, when `reuse` is set). Variables come from `get_variable`, so
variable-scope reuse, partitioners, custom getters and the original's
"already exists" / "does not exist" / shape errors all apply unchanged. Ops
live in the scope's name scope. Regularization losses go to
`REGULARIZATION_LOSSES`, update ops (batch-norm moving statistics) to
`UPDATE_OPS`, as the original's layers did.
"""

import re
import weakref

import tensorflow as tf
from keras.src.utils import naming

from kerasbridge import _keras_naming

v1 = tf.compat.v1

# graph -> {base name: count} of unnamed layers, for the layer's own `name`
# ("dense_1", "dense_2", ... as the original's Keras-2 object names counted;
# it appears in input errors, not in variable names).
_name_counters = weakref.WeakKeyDictionary()


def _to_snake_case(name):
    intermediate = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    insecure = re.sub("([a-z])([A-Z])", r"\1_\2", intermediate).lower()
    # Private classes ("_Foo") keep a leading "private" as Keras 2 did.
    if insecure[0] != "_":
        return insecure
    return "private" + insecure


def _unique_layer_name(base_name):
    if _keras_naming.naming_scope_active():
        # Inside a model_fn, Keras 3 layers count names in the same map (as
        # Keras 2 layers shared TF1 layers' per-graph map), so a Keras `Dense`
        # after a `tf.layers.dense` gets the name the original gave it.
        uid = naming.get_uid(base_name)
    else:
        counters = _name_counters.setdefault(v1.get_default_graph(), {})
        uid = counters[base_name] = counters.get(base_name, 0) + 1
    return f"{base_name}_{uid}"


def _shape_text(shape):
    return str(tuple(shape.as_list())) if shape.rank is not None else "None"


def _add_to_collection(elements, key):
    collection = v1.get_collection_ref(key)
    present = {id(e) for e in collection}
    for element in elements:
        if id(element) not in present:
            collection.append(element)
            present.add(id(element))


class InputSpec:
    """Rank and fixed-axis constraints a layer checks its input against.

    Args:
        ndim: Exact rank, or None.
        min_ndim: Minimum rank, or None.
        axes: dict of axis -> required size.
    """

    def __init__(self, ndim=None, min_ndim=None, axes=None):
        self.ndim = ndim
        self.min_ndim = min_ndim
        self.axes = dict(axes or {})

    def check(self, layer_name, shape):
        """Raises the original's `ValueError` if `shape` does not fit."""
        if shape.rank is None:
            return
        prefix = (
            f'Input 0 of layer "{layer_name}" is incompatible with the layer: '
        )
        if self.ndim is not None and shape.rank != self.ndim:
            raise ValueError(
                f"{prefix}expected ndim={self.ndim}, found ndim={shape.rank}. "
                f"Full shape received: {_shape_text(shape)}"
            )
        if self.min_ndim is not None and shape.rank < self.min_ndim:
            raise ValueError(
                f"{prefix}expected min_ndim={self.min_ndim}, found "
                f"ndim={shape.rank}. Full shape received: {_shape_text(shape)}"
            )
        for axis, size in self.axes.items():
            actual = shape[axis] if -shape.rank <= axis < shape.rank else None
            if size is not None and actual not in (None, size):
                raise ValueError(
                    f"{prefix}expected axis {axis} of input shape to have "
                    f"value {size}, but received input with shape "
                    f"{_shape_text(shape)}"
                )


class Layer:
    """Base class of the TF1 layers: subclass and override `build`/`call`.

    Args:
        trainable: Whether the layer's variables are trainable (in
            `TRAINABLE_VARIABLES` and `trainable_weights`).
        name: The layer's name; also its variable scope's base name.
        dtype: Variable dtype; by default that of the first input.
        activity_regularizer: Optional callable on the output whose value
            (divided by the batch size) joins `REGULARIZATION_LOSSES`.
    """

    def __init__(
        self,
        trainable=True,
        name=None,
        dtype=None,
        activity_regularizer=None,
        _scope=None,
        _reuse=None,
        **kwargs,
    ):
        for key in kwargs:
            if key not in ("input_shape", "batch_input_shape", "autocast"):
                raise TypeError(f"Keyword argument not understood: {key}")
        self.trainable = trainable
        self._dtype = None if dtype is None else tf.as_dtype(dtype)
        self.activity_regularizer = activity_regularizer
        self._reuse = _reuse
        self.built = False
        self.input_spec = None
        self._trainable_weights = []
        self._non_trainable_weights = []
        self._updates = []
        self._losses = []
        class_name = _to_snake_case(type(self).__name__)
        if isinstance(name, v1.VariableScope):
            # A scope given as the name is the scope base, as in TF1.
            self._name, self._base_name = _unique_layer_name(class_name), name.name
        elif name:
            self._name = self._base_name = name
        else:
            self._name, self._base_name = _unique_layer_name(class_name), class_name
        self._scope = None
        self._current_scope = None
        if _scope:
            with v1.variable_scope(_scope) as captured:
                self._scope = captured

    # -- what the original exposed --------------------------------------
    @property
    def name(self):
        return self._name

    @property
    def dtype(self):
        return None if self._dtype is None else self._dtype.name

    @property
    def scope_name(self):
        if self._scope is None:
            raise ValueError(
                f'No name available for layer scope because the layer "'
                f'{self._name}" has not been used yet. The scope name  is '
                "determined the first time the layer instance is called. You "
                "must therefore call the layer before querying `scope_name`."
            )
        return self._scope.name

    @property
    def trainable_weights(self):
        return list(self._trainable_weights) if self.trainable else []

    @property
    def non_trainable_weights(self):
        if self.trainable:
            return list(self._non_trainable_weights)
        return self._trainable_weights + self._non_trainable_weights

    @property
    def weights(self):
        return self.trainable_weights + self.non_trainable_weights

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights
    variables = weights

    @property
    def updates(self):
        return list(self._updates)

    @property
    def losses(self):
        return list(self._losses)

    def add_update(self, update):
        """Records an update op; it joins `UPDATE_OPS` after the call."""
        self._updates.append(update)

    def add_loss(self, loss):
        """Records a loss tensor and adds it to `REGULARIZATION_LOSSES`."""
        self._losses.append(loss)
        _add_to_collection([loss], v1.GraphKeys.REGULARIZATION_LOSSES)

    def build(self, input_shape):
        """Creates the layer's variables (override). Called once."""
        self.built = True

    def call(self, inputs, **kwargs):
        """The layer's computation (override)."""
        return inputs

    def apply(self, inputs, *args, **kwargs):
        return self(inputs, *args, **kwargs)

    # -- variables -------------------------------------------------------
    def add_weight(
        self,
        name,
        shape,
        dtype=None,
        initializer=None,
        regularizer=None,
        trainable=None,
        constraint=None,
        partitioner=None,
        use_resource=None,
        synchronization=tf.VariableSynchronization.AUTO,
        aggregation=tf.VariableAggregation.NONE,
        getter=None,
    ):
        """Creates (or, on reuse, fetches) a variable in the layer's scope.

        Args:
            name: Variable name inside the layer scope (`kernel`).
            shape: Variable shape.
            dtype: Defaults to the layer's dtype.
            initializer: Defaults to the variable scope's initializer, then
                `get_variable`'s (Glorot uniform for floats), as in TF1.
            regularizer: Callable on the variable; its value joins
                `REGULARIZATION_LOSSES` when the variable is created.
            trainable: False keeps the variable out of `TRAINABLE_VARIABLES`
                (so does the layer's own `trainable=False`).
            constraint, partitioner, use_resource, synchronization,
            aggregation: passed to `tf.compat.v1.get_variable`.
            getter: unused; accepted for signature compatibility.

        Returns:
            The variable.

        Raises:
            ValueError: `get_variable`'s errors on bad reuse (missing
                variable, existing variable, shape mismatch).
        """
        del getter
        if synchronization == tf.VariableSynchronization.ON_READ:
            if trainable:
                raise ValueError(
                    "Synchronization value can be set to "
                    "VariableSynchronization.ON_READ only for non-trainable "
                    "variables. You have specified trainable=True and "
                    "synchronization=VariableSynchronization.ON_READ."
                )
            trainable = False
        elif trainable is None:
            trainable = True
        dtype = tf.as_dtype(dtype or self._dtype or tf.float32)
        self._set_scope(None)
        reuse = True if self.built else self._reuse
        # A regularizer counts once, when its variable is created (not reused).
        existing = (
            set(id(v) for v in v1.global_variables())
            if regularizer is not None
            else set()
        )
        with v1.variable_scope(
            self._scope, reuse=reuse, auxiliary_name_scope=False
        ) as scope:
            self._current_scope = scope
            with v1.get_default_graph().name_scope(scope.original_name_scope):
                variable = v1.get_variable(
                    name,
                    shape=shape,
                    dtype=dtype,
                    initializer=initializer,
                    trainable=trainable and self.trainable,
                    constraint=constraint,
                    partitioner=partitioner,
                    use_resource=use_resource,
                    synchronization=synchronization,
                    aggregation=aggregation,
                )
                # A partitioner yields a PartitionedVariable: regularize
                # (and check newness of) each part.
                parts = (
                    [variable]
                    if isinstance(variable, tf.Variable)
                    else list(variable)
                )
                if regularizer is not None and all(
                    id(p) not in existing for p in parts
                ):
                    with tf.name_scope(name + "/Regularizer"):
                        for part in parts:
                            loss = regularizer(part)
                            if loss is not None:
                                self.add_loss(loss)
        if trainable and self.trainable:
            self._trainable_weights.append(variable)
        else:
            self._non_trainable_weights.append(variable)
        return variable

    # -- calling ---------------------------------------------------------
    def _set_scope(self, scope=None):
        if self._scope is not None:
            return
        if self._reuse:
            with v1.variable_scope(
                scope if scope is not None else self._base_name
            ) as captured:
                self._scope = captured
        else:
            with v1.variable_scope(
                scope, default_name=self._base_name
            ) as captured:
                self._scope = captured

    def _convert_inputs(self, inputs):
        if isinstance(inputs, (tf.SparseTensor, tf.RaggedTensor)):
            return inputs
        return tf.convert_to_tensor(inputs)

    def __call__(self, inputs, *args, **kwargs):
        """Builds the layer on first use, then applies `call`.

        Args:
            inputs: A tensor (or something convertible to one).
            *args, **kwargs: passed to `call`; `scope=` names the variable
                scope on first use, as in TF1.

        Returns:
            The output tensor(s).

        Raises:
            RuntimeError: when executing eagerly (these layers need a graph).
            ValueError: for incompatible inputs, with the original's message.
        """
        if tf.executing_eagerly():
            raise RuntimeError(
                f"tf.compat.v1.layers ({type(self).__name__}) needs graph "
                "mode: call it inside a model_fn, a tf.Graph().as_default() "
                "block or tf.compat.v1.wrap_function; in eager code use "
                "tf.keras.layers."
            )
        scope = kwargs.pop("scope", None)
        inputs = self._convert_inputs(inputs)
        self._set_scope(scope)
        reuse = True if self.built else self._reuse
        with v1.variable_scope(
            self._scope, reuse=reuse, auxiliary_name_scope=False
        ) as var_scope:
            self._current_scope = var_scope
            with v1.get_default_graph().name_scope(
                var_scope.original_name_scope
            ):
                if not self.built:
                    if self._dtype is None:
                        self._dtype = self._infer_dtype(inputs)
                    self._check_input(inputs)
                    self.build(inputs.shape)
                    self.built = True
                self._check_input(inputs)
                outputs = self.call(inputs, *args, **kwargs)
                if self.activity_regularizer is not None:
                    self._regularize_activity(outputs)
        _add_to_collection(self._updates, v1.GraphKeys.UPDATE_OPS)
        return outputs

    def _infer_dtype(self, inputs):
        dtype = inputs.dtype.base_dtype
        return dtype if dtype.is_floating else tf.float32

    def _check_input(self, inputs):
        if self.input_spec is not None:
            self.input_spec.check(self._name, inputs.shape)

    def _regularize_activity(self, outputs):
        with tf.name_scope("ActivityRegularizer"):
            for output in tf.nest.flatten(outputs):
                loss = self.activity_regularizer(output)
                batch = tf.cast(tf.shape(output)[0], loss.dtype)
                self.add_loss(loss / batch)
