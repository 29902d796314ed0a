"""Stable Keras 3 layer and variable names inside an Estimator graph.

Keras 3 names objects from one process-wide counter (`dense`, `dense_1`, ...
keep counting across calls and models), and its TensorFlow backend opens a
fresh `tf.name_scope(layer.name)` for `build()` and again for `call()`, which
a TF1 graph uniquifies (`dense_1` -> `dense_1_1`). A checkpoint written by one
`model_fn` call would then not restore in the next one. `keras_naming_scope()`
gives each `model_fn` call what `tf.estimator` + Keras 2 gave it: auto names
counted from zero, and one graph name scope per layer that its variables and
ops share (`dense/kernel`, `dense_1/kernel`, ...).
"""

import collections
import contextlib
import random
import threading

import keras
import tensorflow as tf
from keras.src.backend.common import global_state
from keras.src.backend.tensorflow import core as _tf_core

_UIDS_KEY = "object_name_uids"
_STACK_KEY = "name_scope_stack"

_state = threading.local()
_patch_lock = threading.Lock()
_original_enter = None


class _ScopeRegistry:
    """The graph name scope each Keras object got on first entry."""

    def __init__(self):
        # id(graph), id(caller), name -> (caller, graph scope). The caller is
        # held so that its id cannot be reused while the registry lives.
        self._scopes = {}

    def scope_for(self, graph, caller, name):
        key = (id(graph), id(caller), name)
        entry = self._scopes.get(key)
        if entry is None:
            # Entering once reserves a unique name in the graph ("dense",
            # then "dense_1", ...); later entries reuse it verbatim.
            with graph.name_scope(name) as scope:
                pass
            entry = (caller, scope)
            self._scopes[key] = entry
        return entry[1]

    def callers(self):
        """The Keras objects that opened a name scope, in first-use order."""
        seen, callers = set(), []
        for caller, _ in self._scopes.values():
            if id(caller) not in seen:
                seen.add(id(caller))
                callers.append(caller)
        return callers


class KerasNamingRecord:
    """What a `keras_naming_scope` saw: the Keras layers used inside it."""

    def __init__(self, registry):
        self._registry = registry

    def layers(self):
        """Keras layers (outer and nested) called or built inside the scope."""
        return [
            c
            for c in self._registry.callers()
            if isinstance(c, keras.layers.Layer)
        ]


def _in_v1_graph():
    if tf.executing_eagerly():
        return False
    graph = tf.compat.v1.get_default_graph()
    # Inside a tf.function trace Keras' own behaviour is right; leave it.
    return not getattr(graph, "building_function", False)


def _stable_enter(self):
    """`name_scope.__enter__` that reuses one graph scope per Keras object."""
    registry = getattr(_state, "registry", None)
    if registry is None or self.caller is None or not _in_v1_graph():
        return _original_enter(self)
    stack = global_state.get_global_attribute(
        _STACK_KEY, default=[], set_to_default=True
    )
    if self.deduplicate and stack:
        parent = stack[-1]
        if self.caller is parent.caller and self.name == parent.name:
            return self
    stack.append(self)
    self._pop_on_exit = True
    graph = tf.compat.v1.get_default_graph()
    scope = registry.scope_for(graph, self.caller, self.name)
    # A scope name ending in "/" re-enters that exact scope.
    self._tf_name_scope = graph.name_scope(scope)
    self._tf_name_scope.__enter__()
    return self


def _install_patch():
    """Routes Keras' TF-backend `name_scope.__enter__` through ours, once.

    Keras offers no hook for how its TF backend opens graph name scopes, so
    the method is replaced process-wide; outside a `keras_naming_scope` (or
    outside a TF1 graph) the replacement calls the original unchanged.
    """
    global _original_enter
    with _patch_lock:
        if _original_enter is None:
            _original_enter = _tf_core.name_scope.__enter__
            _tf_core.name_scope.__enter__ = _stable_enter


def naming_scope_active():
    """Whether a `keras_naming_scope` is open in this thread."""
    return getattr(_state, "registry", None) is not None


@contextlib.contextmanager
def keras_naming_scope(seed=None):
    """Fresh Keras auto-naming (and optionally seeding) for a `model_fn` call.

    Inside the scope Keras objects are auto-named as in a fresh process
    (`dense`, `dense_1`, ...) and, in a TF1 graph, each layer's variables and
    ops live under one graph name scope, so the same `model_fn` yields the
    same variable names in every call and every process. The process-wide
    counters are restored on exit, so Keras code outside is unaffected.

    Args:
        seed: Optional int. Keras 3 initializers without an explicit seed
            draw one from Python's `random`, not from the graph seed; with
            `seed` that source is seeded inside the scope (and restored on
            exit), so `RunConfig(tf_random_seed=...)` makes Keras layer
            initialisation repeatable as it was with `tf.estimator`.

    Yields:
        A `KerasNamingRecord` listing the Keras layers used in the scope.
    """
    _install_patch()
    saved_random_state = None
    if seed is not None:
        saved_random_state = random.getstate()
        random.seed(seed)
    saved_uids = global_state.get_global_attribute(_UIDS_KEY)
    saved_registry = getattr(_state, "registry", None)
    global_state.set_global_attribute(_UIDS_KEY, collections.defaultdict(int))
    registry = _ScopeRegistry()
    _state.registry = registry
    try:
        yield KerasNamingRecord(registry)
    finally:
        _state.registry = saved_registry
        global_state.set_global_attribute(_UIDS_KEY, saved_uids)
        if saved_random_state is not None:
            random.setstate(saved_random_state)
