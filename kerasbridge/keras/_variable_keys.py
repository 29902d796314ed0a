"""Checkpoint keys for the variables of a Keras model and its optimizer.

The Estimator's checkpoints are name-based (`tf.compat.v1.train.Saver`). The
graph names Keras 3 gives variables are not stable: auto-named objects
(`seed_generator_3`, `adam_2`) count from a process-wide counter, and layer
names of auto-named layers depend on what the process built before. So the
checkpoint key of each variable is chosen here, from the model's structure,
and the Saver maps keys to the graph's variables explicitly.

Two key schemes, selected by `model_to_estimator(checkpoint_format=...)`:

* `'checkpoint'` (default): structural keys, independent of layer names:
  `layer-<i>/<variable name>` where `i` is the layer's index in
  `model.layers` (a second variable of the same name in one layer gets a
  `_<n>` suffix). A checkpoint restores into any model of the same
  architecture, whatever its layer names are, in any process.
* `'saver'`: the Keras variable path of the user's model
  (`dense_1/kernel`), i.e. what a plain TF1 `Saver` would have written for
  a Keras-2 model. Readable, but restoring requires the same layer names.

Optimizer variables are keyed after the weight they belong to:
`optimizer/<weight key>/<slot>` (e.g. `optimizer/layer-2/kernel/momentum`);
the rest are `optimizer/<name>`. The optimizer's own step counter is never
saved: it is driven by `global_step` (see `_graph_model`).
"""

import collections

CHECKPOINT_FORMATS = ("checkpoint", "saver")
OPTIMIZER_PREFIX = "optimizer"


def structural_variables(model):
    """The model's variables in a fixed, structure-defined order.

    Args:
        model: A Keras model.

    Returns:
        A list of `(variable, structural_key)` pairs covering every variable
        in `model.variables` exactly once.
    """
    seen = set()
    pairs = []
    for index, layer in enumerate(model.layers):
        counts = collections.Counter()
        for variable in layer.variables:
            if id(variable) in seen:
                # A shared layer or weight keeps the key of its first owner.
                continue
            seen.add(id(variable))
            pairs.append((variable, _dedupe(f"layer-{index}/", variable.name, counts)))
    counts = collections.Counter()
    for variable in model.variables:
        if id(variable) not in seen:
            seen.add(id(variable))
            pairs.append((variable, _dedupe("model/", variable.name, counts)))
    return pairs


def _dedupe(prefix, name, counts):
    n = counts[name]
    counts[name] += 1
    return f"{prefix}{name}" if n == 0 else f"{prefix}{name}_{n}"


def model_variable_keys(model, checkpoint_format):
    """Checkpoint keys of the model's variables, in structural order.

    Args:
        model: A Keras model (the user's, or a clone of it).
        checkpoint_format: `'checkpoint'` or `'saver'`.

    Returns:
        A list of keys aligned with `structural_variables(model)`.
    """
    pairs = structural_variables(model)
    if checkpoint_format == "checkpoint":
        return [key for _, key in pairs]
    keys = []
    counts = collections.Counter()
    for variable, _ in pairs:
        keys.append(_dedupe("", variable.path, counts))
    return keys


def optimizer_variable_keys(optimizer, weight_keys):
    """Checkpoint keys of an optimizer's variables.

    Args:
        optimizer: A built Keras 3 optimizer.
        weight_keys: dict mapping `id(trainable Keras variable)` to its key.

    Returns:
        A list of `(variable, key)` pairs; the iteration counter is left out.
    """
    # Keras names a slot `<weight path with / as _>_<slot name>`.
    prefixes = {}
    for variable in getattr(optimizer, "_trainable_variables", []):
        if id(variable) in weight_keys:
            prefixes[variable.path.replace("/", "_") + "_"] = weight_keys[id(variable)]
    ordered = sorted(prefixes, key=len, reverse=True)
    pairs = []
    counts = collections.Counter()
    for variable in optimizer.variables:
        if variable is optimizer.iterations:
            continue
        name = variable.name
        prefix = next((p for p in ordered if name.startswith(p)), None)
        if prefix is not None:
            key = f"{OPTIMIZER_PREFIX}/{prefixes[prefix]}/{name[len(prefix):]}"
        else:
            key = f"{OPTIMIZER_PREFIX}/{name}"
        n = counts[key]
        counts[key] += 1
        pairs.append((variable, key if n == 0 else f"{key}_{n}"))
    return pairs
