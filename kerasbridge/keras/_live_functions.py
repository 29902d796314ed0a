"""Layers rebuilt with the user's own Python functions.

`Lambda.get_config()` stores a Python lambda as marshalled bytecode, which
Keras refuses to load in safe mode and which, once loaded, runs with the
wrong globals (a lambda that names `keras` or `tf` fails); a plain function
(a `Lambda`'s, or a `TextVectorization`'s custom `standardize`/`split`) is
stored by name and only loads if registered. The user handed
`model_to_estimator` the live model (or loaded it themselves, under their
`safe_mode`), so its functions are already trusted: the rebuilt layers get
those very function objects, passed through Keras' custom objects under a
private name instead of being serialized.
"""

import keras

_REF_PREFIX = "kerasbridge_live_function_"
# Per layer class: config keys holding a callable, and the attribute holding it.
_CALLABLE_FIELDS = (
    (keras.layers.Lambda, (("function", "function"), ("output_shape", "_output_shape"))),
    (keras.layers.TextVectorization, (("standardize", "_standardize"), ("split", "_split"))),
)


def bind_live_functions(config, model):
    """Replaces serialized functions of layers in `config` by references.

    Walks the layer list of a functional or Sequential config (and of
    nested models), matching entries to `model`'s layers by name.

    Args:
        config: The model's `get_config()` dict; modified in place.
        model: The live model the config came from.

    Returns:
        dict of reference name to function, to add to the custom objects
        used when rebuilding from `config`.
    """
    refs = {}
    _bind(config, model, refs)
    return refs


def _bind(config, model, refs):
    entries = config.get("layers") if isinstance(config, dict) else None
    if not isinstance(entries, list):
        return
    by_name = {layer.name: layer for layer in getattr(model, "layers", [])}
    for entry in entries:
        inner = entry.get("config") if isinstance(entry, dict) else None
        if not isinstance(inner, dict):
            continue
        layer = by_name.get(inner.get("name"))
        if isinstance(layer, keras.Model):
            _bind(inner, layer, refs)
            continue
        for cls, fields in _CALLABLE_FIELDS:
            if not isinstance(layer, cls):
                continue
            for key, attribute in fields:
                value = getattr(layer, attribute, None)
                if key in inner and callable(value):
                    ref = f"{_REF_PREFIX}{len(refs)}"
                    refs[ref] = value
                    # How Keras serializes a registered function.
                    inner[key] = {
                        "module": None,
                        "class_name": "function",
                        "config": ref,
                        "registered_name": ref,
                    }
