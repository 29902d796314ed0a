"""Fast repeated prediction on in-memory features.

`Estimator.predict()` builds a new graph, opens a session and restores the
checkpoint on every call: 0.1-0.2 s before the first row comes out. A
`Predictor` does that once and then answers each call with one `session.run`
that feeds the features into placeholders:

```python
with kb.make_predictor(est) as predict_fn:
    out = predict_fn({"x": np.array([[1.0, 2.0]], np.float32)})
    out["probabilities"]  # ndarray, one row per input row
```

It can also be built from an exported SavedModel
(`Predictor.from_saved_model(export_dir)`), and, if asked, picks up a newer
checkpoint in `model_dir` by restoring it into the same graph.
"""

import collections
import os
import threading

import numpy as np
import tensorflow as tf
from absl import logging

from kerasbridge._runtime import _checkpoints
from kerasbridge.export._model_graph import model_graph
from kerasbridge.export._receivers import build_raw_serving_input_receiver_fn
from kerasbridge.mode_keys import ModeKeys

# What a call runs: a finalized graph, its session, the placeholders fed
# (by input key) and the fetched structure (a dict or one tensor).
_Loaded = collections.namedtuple("_Loaded", ["graph", "session", "inputs", "outputs"])


class Predictor:
    """A graph and session kept open to answer repeated prediction calls.

    Build one with `make_predictor(estimator, ...)` or
    `Predictor.from_saved_model(export_dir)`. Calling it with a dict of input
    key (feature name, or the receiver tensors' keys) to array-like returns
    the predictions for the whole batch: a dict of name to `np.ndarray` when
    the model predicts a dict, else one `np.ndarray`. Unlike `predict()`, no
    prediction hooks run. Close it (or use it as a context manager) to free
    the session.
    """

    def __init__(self, loaded=None, source=None):
        # Not for direct use: see make_predictor / from_saved_model.
        self._loaded = loaded
        self._source = source
        self._closed = False
        self._build_lock = threading.Lock()

    @classmethod
    def from_saved_model(
        cls, export_dir, signature_key="serving_default", tags=("serve",)
    ):
        """Loads a SavedModel (e.g. from `export_saved_model`) for prediction.

        Args:
            export_dir: the SavedModel directory (str or bytes).
            signature_key: the signature to serve.
            tags: the tags of the MetaGraph to load.

        Returns:
            A `Predictor` fed by the signature's input keys and returning a
            dict keyed by its output keys.

        Raises:
            ValueError: if the SavedModel has no such signature.
        """
        export_dir = os.fsdecode(export_dir)
        graph = tf.Graph()
        session = tf.compat.v1.Session(graph=graph)
        try:
            with graph.as_default():
                meta_graph = tf.compat.v1.saved_model.loader.load(
                    session, list(tags), export_dir
                )
                signatures = meta_graph.signature_def
                if signature_key not in signatures:
                    raise ValueError(
                        f"signature_key {signature_key!r} is not in the "
                        f"SavedModel at {export_dir}; it has "
                        f"{sorted(signatures.keys())}."
                    )
                tensor = tf.compat.v1.saved_model.utils.get_tensor_from_tensor_info
                signature = signatures[signature_key]
                inputs = {k: tensor(v, graph) for k, v in signature.inputs.items()}
                outputs = {k: tensor(v, graph) for k, v in signature.outputs.items()}
        except BaseException:
            session.close()
            raise
        graph.finalize()
        return cls(_Loaded(graph, session, inputs, outputs))

    @property
    def graph(self):
        """The finalized `tf.Graph` calls run in; None until a predictor
        whose inputs come from its first call is first called."""
        return None if self._loaded is None else self._loaded.graph

    @property
    def input_keys(self):
        """The sorted input keys a call feeds (None until built)."""
        return None if self._loaded is None else sorted(self._loaded.inputs)

    @property
    def checkpoint_path(self):
        """The checkpoint currently loaded (None for a SavedModel)."""
        return None if self._source is None else self._source.checkpoint_path

    def __call__(self, features):
        """Predicts for a batch of in-memory features.

        Args:
            features: dict of input key to array-like with a leading batch
                dimension; a lone array-like if there is exactly one input.

        Returns:
            A dict of name to `np.ndarray`, or one `np.ndarray` when the
            model's predictions are a single tensor.

        Raises:
            ValueError: if the predictor is closed, or a feature is missing
                or unexpected. Values TF cannot convert to an input's dtype
                or shape raise TF's own error.
        """
        if self._closed:
            raise ValueError("This Predictor is closed.")
        if self._loaded is None:
            with self._build_lock:  # Concurrent first calls build once.
                if self._loaded is None:
                    self._loaded = self._source.build_for(features)
        elif self._source is not None:
            self._source.maybe_reload(self._loaded)
        loaded = self._loaded
        return loaded.session.run(
            loaded.outputs, feed_dict=_feed_dict(loaded.inputs, features)
        )

    def close(self):
        """Closes the session. Further calls raise `ValueError`."""
        if not self._closed:
            self._closed = True
            if self._loaded is not None:
                self._loaded.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __del__(self):
        # A forgotten predictor must not keep its session's memory alive.
        try:
            self.close()
        except Exception:  # pylint: disable=broad-except
            pass


def _feed_dict(inputs, features):
    """Maps `features` onto the input placeholders, naming bad keys."""
    if not isinstance(features, dict):
        if len(inputs) != 1:
            raise ValueError(
                "features must be a dict of input key to array; this "
                f"predictor takes {sorted(inputs)}."
            )
        (key,) = inputs
        features = {key: features}
    missing = sorted(set(inputs) - set(features))
    if missing:
        raise ValueError(
            f"features is missing {missing}; this predictor takes " f"{sorted(inputs)}."
        )
    unexpected = sorted(set(features) - set(inputs), key=str)
    if unexpected:
        raise ValueError(
            f"features has unexpected keys {unexpected}; this predictor "
            f"takes {sorted(inputs)}."
        )
    return {inputs[k]: v for k, v in features.items()}


class _EstimatorSource:
    """Builds a predictor's graph from an Estimator and keeps it current."""

    def __init__(self, estimator, receiver_fn, checkpoint_path, reload):
        self._estimator = estimator
        self._receiver_fn = receiver_fn
        self._fixed_checkpoint = checkpoint_path
        self._reload = reload and checkpoint_path is None
        self._lock = threading.Lock()
        self._saver = None
        self._state_stamp = None
        self.checkpoint_path = None

    def build_for(self, features):
        """Builds the graph, with raw-feature placeholders shaped like
        `features` unless the predictor was given a receiver fn."""
        return self.build(self._receiver_fn or _raw_receiver_fn(features))

    def build(self, receiver_fn):
        """Builds graph + session and restores the checkpoint; a `_Loaded`."""
        estimator = self._estimator
        mode = ModeKeys.PREDICT
        with model_graph(estimator, receiver_fn, mode) as (graph, receiver, spec):
            scaffold = spec.scaffold
            saver = scaffold.saver or tf.compat.v1.train.Saver(sharded=True)
            init_op = scaffold.init_op
            if init_op is None:
                init_op = tf.compat.v1.global_variables_initializer()
            local_init_op = scaffold.local_init_op
            if local_init_op is None:
                local_init_op = tf.compat.v1.train.Scaffold.default_local_init_op()
        session = tf.compat.v1.Session(
            graph=graph, config=estimator.config.session_config
        )
        try:
            # A Saver restores in graph mode only, inside its own graph.
            with graph.as_default():
                checkpoint_path = _checkpoints.resolve_checkpoint(
                    self._fixed_checkpoint, estimator.model_dir, "predict"
                )
                if checkpoint_path:
                    saver.restore(session, checkpoint_path)
                else:
                    # As predict(): no checkpoint means initialised weights,
                    # then the scaffold's init_fn (a Keras model's warm start).
                    session.run(init_op)
                    if scaffold.init_fn is not None:
                        scaffold.init_fn(session)
                session.run(local_init_op)
        except BaseException:
            session.close()
            raise
        # Nothing may be added per call: a growing graph is a slow leak.
        graph.finalize()
        self._saver = saver
        self.checkpoint_path = checkpoint_path
        self._state_stamp = self._checkpoint_state_stamp()
        return _Loaded(
            graph, session, dict(receiver.receiver_tensors), spec.predictions
        )

    def maybe_reload(self, loaded):
        """Restores a newer checkpoint into `loaded`, if reloading is on."""
        if not self._reload:
            return
        stamp = self._checkpoint_state_stamp()
        if stamp == self._state_stamp:
            return
        with self._lock:
            self._state_stamp = stamp
            latest = self._estimator.latest_checkpoint()
            if latest and latest != self.checkpoint_path:
                logging.info("Predictor: restoring newer checkpoint %s", latest)
                with loaded.graph.as_default():
                    self._saver.restore(loaded.session, latest)
                self.checkpoint_path = latest

    def _checkpoint_state_stamp(self):
        # The `checkpoint` state file is rewritten on every save; stat-ing it
        # costs microseconds where parsing it on every call would not.
        try:
            st = os.stat(os.path.join(self._estimator.model_dir, "checkpoint"))
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)


def _raw_receiver_fn(features):
    """A raw-feature receiver fn typed and shaped like one call's features."""
    if not isinstance(features, dict):
        raise ValueError(
            "features must be a dict of feature name to array when the "
            "predictor has no serving_input_receiver_fn."
        )
    arrays = {}
    for key, value in features.items():
        arrays[key] = np.asarray(value)
        if arrays[key].ndim == 0:
            raise ValueError(
                f"feature {key!r} must have a leading batch dimension, got a " "scalar."
            )
    return build_raw_serving_input_receiver_fn(arrays)


def make_predictor(
    estimator,
    serving_input_receiver_fn=None,
    checkpoint_path=None,
    reload_on_new_checkpoint=False,
):
    """Returns a `Predictor` that answers from `estimator`'s `model_fn`.

    Args:
        estimator: the `Estimator` whose `model_fn` (PREDICT mode) to run.
        serving_input_receiver_fn: no-argument function returning a
            `ServingInputReceiver`; its receiver tensors' keys are what calls
            feed. Default: one placeholder per feature, with the dtype and
            the shape past the batch dimension of the first call's arrays
            (so pass float32 arrays there if the model expects float32).
        checkpoint_path: checkpoint to load; default the latest in
            `model_dir` (fresh initialisation if there is none, as
            `predict()`).
        reload_on_new_checkpoint: if True (and no `checkpoint_path` is
            given), each call first checks `model_dir` and restores a newer
            checkpoint into the open graph.

    Returns:
        A `Predictor`; with a receiver fn its graph is built right away,
        otherwise on the first call.

    Raises:
        ValueError: if `checkpoint_path` names no checkpoint.
    """
    source = _EstimatorSource(
        estimator, serving_input_receiver_fn, checkpoint_path, reload_on_new_checkpoint
    )
    loaded = None
    if serving_input_receiver_fn is not None:
        loaded = source.build(serving_input_receiver_fn)
    return Predictor(loaded, source)
