"""Keras lookup layers rebuilt inside a TF1 graph with their vocabularies.

`StringLookup`, `IntegerLookup` and the lookup inside `TextVectorization`
(all `IndexLookup`s) keep their vocabulary in a `tf.lookup` table, which is
neither a variable nor, once adapted, part of `get_config()`: Keras' own
`.keras` format writes it as an asset and calls `set_vocabulary` on load.
The rebuilt model does the same, in memory: `LookupVocabularies` reads every
lookup layer's vocabulary (and TF-IDF weights) eagerly from the user's model,
and `install` calls `set_vocabulary` on the rebuilt layers inside the graph.
There `set_vocabulary` builds a `KeyValueTensorInitializer` table, whose
init op lands in the graph's `TABLE_INITIALIZERS`, so the Estimator's
`Scaffold` (`tables_initializer` in its `local_init_op`) and the exported
SavedModel's main op initialise it.

One Keras method does not work in a TF1 graph: `IndexLookup.vocabulary_size`
returns a tensor there, so `set_vocabulary` (and `from_config` with a
vocabulary in the config) fails for the `one_hot`, `multi_hot`, `count` and
`tf_idf` output modes, whose output width is that size. Inside
`static_vocabulary_sizes()` it returns the Python int the table was built
with, as it does eagerly.
"""

import contextlib
import threading

import numpy as np
import tensorflow as tf
from keras.src.layers.preprocessing.index_lookup import IndexLookup

_state = threading.local()
_patch_lock = threading.Lock()
_original_vocabulary_size = None


def _static_table_size(table):
    # A table built from in-memory tokens has constant keys and values.
    initializer = getattr(table, "_initializer", None)
    for name in ("_keys", "_values"):
        tensor = getattr(initializer, name, None)
        shape = getattr(tensor, "shape", None)
        if shape is not None and shape.rank == 1 and shape[0] is not None:
            return int(shape[0])
    return None


def _vocabulary_size(self):
    """`IndexLookup.vocabulary_size`, an int in a graph when it is known."""
    if getattr(_state, "depth", 0) and not tf.executing_eagerly():
        size = _static_table_size(self.lookup_table)
        if size is not None:
            return size + self._token_start_index()
    return _original_vocabulary_size(self)


def _install_patch():
    global _original_vocabulary_size
    with _patch_lock:
        if _original_vocabulary_size is None:
            _original_vocabulary_size = IndexLookup.vocabulary_size
            IndexLookup.vocabulary_size = _vocabulary_size


@contextlib.contextmanager
def static_vocabulary_sizes():
    """Lookup layers report static vocabulary sizes in a graph, in this thread.

    Keras offers no hook for this, so `IndexLookup.vocabulary_size` is
    replaced process-wide once; outside this scope (and when executing
    eagerly) the replacement calls the original unchanged.
    """
    _install_patch()
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        yield
    finally:
        _state.depth -= 1


def lookup_layers(model):
    """The model's `IndexLookup` layers, nested ones included.

    Yields:
        `((layer index, position inside that layer), lookup layer, name)`:
        positions identify the same layer in a model rebuilt from the same
        config (auto-generated names of nested layers may differ); `name`
        is the lookup layer's, or for a nested one, e.g. the lookup inside
        a `TextVectorization`, the top-level layer's that holds it.
    """
    for index, layer in enumerate(getattr(model, "layers", [])):
        position = 0
        for sublayer in layer._flatten_layers(include_self=True, recursive=True):
            if isinstance(sublayer, IndexLookup):
                yield (index, position), sublayer, layer.name
                position += 1


class LookupVocabularies:
    """The vocabularies of a model's lookup layers that its config lacks.

    Read eagerly from the user's model; a vocabulary passed to the layer's
    constructor is in its config and is rebuilt by `from_config` itself.

    Args:
        model: The user's Keras model.
    """

    def __init__(self, model):
        self._entries = {}
        for position, layer, name in lookup_layers(model):
            if layer.input_vocabulary is not None:
                continue
            if int(layer.lookup_table.size()) == 0:
                raise ValueError(
                    f"The lookup layer {name!r} has no vocabulary. Call its "
                    "`adapt()` or pass it a `vocabulary` before converting the "
                    "model."
                )
            vocabulary = [
                _python_scalar(token)
                for token in layer.get_vocabulary(include_special_tokens=True)
            ]
            idf_weights = None
            if layer.output_mode == "tf_idf":
                # Keras pads the weights to `max_tokens` with zeros when
                # `pad_to_max_tokens`; `set_vocabulary` pads them again.
                weights = np.asarray(layer.idf_weights_const)
                idf_weights = weights[: len(vocabulary)].copy()
            self._entries[position] = (type(layer), name, vocabulary, idf_weights)

    def __bool__(self):
        return bool(self._entries)

    def install(self, model):
        """Sets the captured vocabularies on the rebuilt model's layers.

        Must run in the graph the model was rebuilt in, inside
        `static_vocabulary_sizes()`.

        Raises:
            ValueError: if the rebuilt model's lookup layers do not match.
        """
        found = {position: layer for position, layer, _ in lookup_layers(model)}
        for position, (cls, name, vocabulary, idf_weights) in self._entries.items():
            layer = found.get(position)
            if type(layer) is not cls:
                raise ValueError(
                    f"The rebuilt Keras model has no {cls.__name__} where the "
                    f"original has {name!r}: its `get_config()` does not "
                    "describe its lookup layers."
                )
            try:
                layer.set_vocabulary(vocabulary, idf_weights=idf_weights)
            except (RuntimeError, TypeError, ValueError) as e:
                raise ValueError(
                    f"Could not set the vocabulary of the lookup layer {name!r} "
                    "inside the Estimator graph: {e}. Adapt the layer "
                    "or pass it a `vocabulary` before converting the model."
                ) from e


def _python_scalar(token):
    # get_vocabulary() mixes numpy scalars and Python values.
    return token.item() if isinstance(token, np.generic) else token
