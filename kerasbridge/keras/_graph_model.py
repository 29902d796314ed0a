"""A compiled Keras 3 model rebuilt inside a TF1 graph, for one Estimator mode.

Keras 3 layers and optimizers update state with variable assignments whose
ops they never return: called directly in a TF1 graph, BatchNormalization's
moving statistics and Dropout's seed state are never updated (their assign
ops are orphaned), optimizer updates read slots with no ordering against
their writes, and `Metric.update_state` yields no op. Everything stateful is
therefore run inside a `tf.function` called from the graph: the function's
automatic control dependencies order every read after the writes before it
and make all its stateful ops run whenever the call op runs, exactly as in
`model.fit` (which runs the same Keras code in a `tf.function`).

Variables are created outside any function, in the graph itself, so the
Estimator's Saver, initialisers and collections see them. Metric and
loss-tracker variables are moved to the LOCAL / METRIC collections: they are
initialised fresh by every evaluation and never written to checkpoints.
"""

import tensorflow as tf

from kerasbridge._keras_naming import keras_naming_scope
from kerasbridge.keras import _variable_keys
from kerasbridge.keras._io import ModelIO
from kerasbridge.mode_keys import ModeKeys

_GLOBAL = tf.compat.v1.GraphKeys.GLOBAL_VARIABLES
_LOCAL = tf.compat.v1.GraphKeys.LOCAL_VARIABLES
_METRIC = tf.compat.v1.GraphKeys.METRIC_VARIABLES
_TRAINABLE = tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES


def _tf_variable(keras_variable):
    # The backing tf.Variable (`.value` would be a cast under mixed precision).
    return keras_variable._value


def _call(model, x, training):
    if getattr(model, "_call_has_training_arg", True):
        return model(x, training=training)
    return model(x)


class GraphModel:
    """Builds predictions, loss, train op and metrics of a Keras model.

    Must be constructed inside the graph being built (an Estimator calls its
    `model_fn` with that graph as default).

    Args:
        spec: The `KerasModelSpec` of the user's model.
        features: What the `input_fn` returned as features.
        labels: What the `input_fn` returned as labels (`None` in PREDICT).
        mode: A `ModeKeys` value.

    Attributes:
        model: The rebuilt Keras model.
        io: Its `ModelIO`.
        predictions: dict of output name to tensor.
        loss: Scalar loss tensor (TRAIN/EVAL), else `None`.
        train_op: Op running one optimizer step and incrementing the global
            step (TRAIN), else `None`.
        eval_metric_ops: dict of Keras metric name to `(value, update_op)`
            (EVAL), else `None`: the compiled metrics and, for multi-output
            models, the per-output losses, named as `model.evaluate` names
            them.
        compiled_metric_names: The compiled metrics' names among them.
        var_list: dict of checkpoint key to `tf.Variable` for the Saver.
        model_var_list: the subset of `var_list` holding model weights.
    """

    def __init__(self, spec, features, labels, mode):
        self._spec = spec
        self.mode = mode
        self.loss = None
        self.train_op = None
        self.eval_metric_ops = None
        self.compiled_metric_names = []
        graph = tf.compat.v1.get_default_graph()
        with keras_naming_scope():
            self._build(features, labels, mode)
        self.var_list, self.model_var_list = self._organise_variables(graph)

    def _build(self, features, labels, mode):
        graph = tf.compat.v1.get_default_graph()
        before = {id(v) for v in graph.get_collection(_GLOBAL)}
        self.model = model = self._spec.rebuild(compile_model=mode != ModeKeys.PREDICT)
        # Variables the rebuild created, for `_untracked_variables`.
        self._rebuilt = [v for v in graph.get_collection(_GLOBAL) if id(v) not in before]
        self.io = ModelIO(model)
        features, sample_weights = self.io.split_sample_weights(features)
        x = self.io.inputs(features)
        # A direct call builds unbuilt models and gives the tensors Keras'
        # loss and metric containers are built from (they create variables,
        # which must happen here, outside any tf.function).
        y_pred = _call(model, x, training=False)
        self.io.bind_outputs(y_pred)
        if mode == ModeKeys.PREDICT:
            self.predictions = self.io.predictions(y_pred)
        else:
            y = self.io.targets(labels)
            sample_weights = self.io.sample_weights(sample_weights)
            if model._compile_loss is not None and not model._compile_loss.built:
                model._compile_loss.build(y, y_pred)
            if mode == ModeKeys.TRAIN:
                self._build_train(x, y, sample_weights)
            else:
                self._build_eval(x, y, y_pred, sample_weights)

    # -- TRAIN ----------------------------------------------------------------

    def _build_train(self, x, y, sample_weights):
        model = self.model
        optimizer = model.optimizer
        if not optimizer.built:
            optimizer.build(model.trainable_variables)
        trainable = list(model.trainable_variables)
        global_step = tf.compat.v1.train.get_or_create_global_step()
        iterations = optimizer.iterations

        @tf.function(autograph=False)
        def train_step(x, y, sample_weights):
            # The optimizer's counter drives schedules and bias corrections;
            # follow the Estimator's global step so they survive restarts.
            iterations.assign(tf.cast(global_step, iterations.dtype))
            # As `TensorFlowTrainer.train_step` (what `model.fit` runs).
            with tf.GradientTape() as tape:
                y_pred = _call(model, x, training=True)
                loss = model._compute_loss(
                    x=x, y=y, y_pred=y_pred, sample_weight=sample_weights,
                    training=True,
                )
                scaled_loss = optimizer.scale_loss(loss)
            if trainable:
                gradients = tape.gradient(scaled_loss, trainable)
                optimizer.apply_gradients(zip(gradients, trainable))
            global_step.assign_add(1)
            return loss, y_pred

        loss, y_pred = train_step(x, y, sample_weights)
        self.loss = tf.identity(loss, name="loss")
        self.train_op = loss.op
        self.predictions = self.io.predictions(y_pred)

    # -- EVAL -----------------------------------------------------------------

    def _build_eval(self, x, y, y_pred_symbolic, sample_weights):
        model = self.model
        compile_metrics = model._compile_metrics
        if compile_metrics is not None and not compile_metrics.built:
            compile_metrics.build(y, y_pred_symbolic)

        @tf.function(autograph=False)
        def eval_step(x, y, sample_weights):
            # As `TensorFlowTrainer.test_step`; the loss also updates Keras'
            # per-output loss trackers of multi-output models.
            y_pred = _call(model, x, training=False)
            loss = model._compute_loss(
                x=x, y=y, y_pred=y_pred, sample_weight=sample_weights,
                training=False,
            )
            return loss, y_pred

        loss, y_pred = eval_step(x, y, sample_weights)
        self.loss = tf.identity(loss, name="loss")
        self.predictions = self.io.predictions(y_pred)
        self.eval_metric_ops = {}
        if compile_metrics is not None:

            @tf.function(autograph=False)
            def update_metrics(y, y_pred, sample_weights):
                compile_metrics.update_state(y, y_pred, sample_weights)
                return compile_metrics.result()

            updated = update_metrics(y, y_pred, sample_weights)
            for name, value in compile_metrics.result().items():
                self.eval_metric_ops[name] = (value, updated[name])
                self.compiled_metric_names.append(name)
        if model._compile_loss is not None:
            for tracker in model._compile_loss.metrics:
                self.eval_metric_ops[tracker.name] = (tracker.result(), loss)

    # -- variables ------------------------------------------------------------

    def _metric_variables(self):
        model = self.model
        containers = [model._compile_metrics, model._compile_loss, model._loss_tracker]
        found = []
        for container in containers:
            if container is not None:
                found.extend(container.variables)
        return found

    def _untracked_variables(self):
        """Plain `tf.Variable`s that layers created while being rebuilt.

        Keras 3 neither tracks nor saves these (e.g. a TF-IDF lookup's
        `idf_weights`, set from its vocabulary): like Keras, every session
        starts them from the value the layer gave them, as local variables.
        """
        model = self.model
        keras_owned = list(model.variables) + self._metric_variables()
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None:
            keras_owned.extend(optimizer.variables)
            keras_owned.append(optimizer.iterations)
        owned = {id(_tf_variable(v)) for v in keras_owned}
        return [v for v in self._rebuilt if id(v) not in owned]

    def _organise_variables(self, graph):
        model = self.model
        pairs = _variable_keys.structural_variables(model)
        keys = self._spec.variable_keys
        if not keys:
            # The user's (subclassed) model was never built: key the clone's
            # own variables, which have the same structure.
            keys = _variable_keys.model_variable_keys(
                model, self._spec.checkpoint_format
            )
        if len(pairs) != len(keys):
            raise ValueError(
                f"The rebuilt Keras model has {len(pairs)} variables but the "
                f"original has {len(keys)}; the model's `get_config()` does not "
                "describe all of its state."
            )
        model_var_list = {
            key: _tf_variable(v) for (v, _), key in zip(pairs, keys)
        }
        var_list = dict(model_var_list)
        local = [_tf_variable(v) for v in self._metric_variables()]
        metric_ids = {id(v) for v in local}
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and self.mode != ModeKeys.PREDICT:
            if self.mode == ModeKeys.TRAIN:
                weight_keys = {id(v): key for (v, _), key in zip(pairs, keys)}
                for v, key in _variable_keys.optimizer_variable_keys(
                    optimizer, weight_keys
                ):
                    var_list[key] = _tf_variable(v)
                # Re-assigned from global_step before every update.
                local.append(_tf_variable(optimizer.iterations))
            else:
                local.extend(_tf_variable(v) for v in optimizer.variables)
        local.extend(self._untracked_variables())
        global_step = tf.compat.v1.train.get_global_step(graph)
        if global_step is not None:
            var_list["global_step"] = global_step
        _make_local(graph, local, metric_ids)
        # Anything else global (e.g. state created by custom code) is saved
        # under its graph name rather than silently dropped.
        saved = {id(v) for v in var_list.values()}
        for v in graph.get_collection(_GLOBAL):
            if id(v) not in saved:
                var_list[v.op.name] = v
        return var_list, model_var_list


def _make_local(graph, variables, metric_ids):
    ids = {id(v) for v in variables}
    for collection in (_GLOBAL, _TRAINABLE):
        ref = graph.get_collection_ref(collection)
        ref[:] = [v for v in ref if id(v) not in ids]
    local_ids = {id(v) for v in graph.get_collection(_LOCAL)}
    for v in variables:
        if id(v) not in local_ids:
            graph.add_to_collection(_LOCAL, v)
        if id(v) in metric_ids:
            graph.add_to_collection(_METRIC, v)
