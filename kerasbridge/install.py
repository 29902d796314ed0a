"""`install()`: let unchanged legacy scripts say `tf.estimator.*`.

TensorFlow >= 2.16 has no `tf.estimator`. After `kerasbridge.install()`,
`tf.estimator` (and `tf.compat.v1.estimator`, and `import
tensorflow.estimator`) is a module whose names resolve to kerasbridge:
`tf.estimator.Estimator`, `.ModeKeys`, `.EstimatorSpec`, `.RunConfig`,
`.TrainSpec`, `.EvalSpec`, `.train_and_evaluate`, `.WarmStartSettings`, the
hook classes, `.add_metrics`, the parse-example-spec helpers,
`.experimental.*` (early stopping, `InMemoryEvaluatorHook`, ...), `.export.*`,
`tf.compat.v1.estimator.inputs.{numpy,pandas}_input_fn`, and whatever else the
`kerasbridge` package exports (canned estimators, exporters, ...). Names the
original had that mean nothing on TF 2.21 + CPU (`tpu`, `LinearSDCA`, ...)
raise an `AttributeError` saying what to use instead (`_unsupported`).
`tf.estimator` and `tf.compat.v1.estimator` are one module holding the union
of both name sets. Names resolve lazily, so installing costs nothing until
they are used.

It also makes `tf.compat.v1.layers` (`tf.layers` under `import
tensorflow.compat.v1 as tf`) work again in graph mode, as
`kerasbridge.compat.v1_layers`, unless TF already routes it to tf-keras
(`TF_USE_LEGACY_KERAS=1`).
"""

import importlib
import sys
import types

import tensorflow as tf

from kerasbridge import _unsupported
from kerasbridge import experimental as _experimental
from kerasbridge import hooks as _hooks
from kerasbridge.compat._hook import install_v1_layers as _install_v1_layers
from kerasbridge.compat._hook import v1_modules as _v1_modules

_MODULE_NAME = "tensorflow.estimator"

# tf.estimator name -> (kerasbridge module, attribute). Names not listed here
# are looked up on the `kerasbridge` package itself.
_NAMES = {
    "Estimator": ("kerasbridge.estimator", "Estimator"),
    "EstimatorSpec": ("kerasbridge.estimator_spec", "EstimatorSpec"),
    "ModeKeys": ("kerasbridge.mode_keys", "ModeKeys"),
    "RunConfig": ("kerasbridge.run_config", "RunConfig"),
    "WarmStartSettings": ("kerasbridge.warm_starting", "WarmStartSettings"),
    "TrainSpec": ("kerasbridge.training", "TrainSpec"),
    "EvalSpec": ("kerasbridge.training", "EvalSpec"),
    "train_and_evaluate": ("kerasbridge.training", "train_and_evaluate"),
    "Exporter": ("kerasbridge.exporter", "Exporter"),
    "LatestExporter": ("kerasbridge.exporters", "LatestExporter"),
    "BestExporter": ("kerasbridge.exporters", "BestExporter"),
    "FinalExporter": ("kerasbridge.exporters", "FinalExporter"),
    "add_metrics": ("kerasbridge.extenders", "add_metrics"),
    "classifier_parse_example_spec": (
        "kerasbridge.parsing_utils",
        "classifier_parse_example_spec",
    ),
    "regressor_parse_example_spec": (
        "kerasbridge.parsing_utils",
        "regressor_parse_example_spec",
    ),
}
_NAMES.update({name: ("kerasbridge.hooks", name) for name in _hooks.__all__})
_EXPERIMENTAL_NAMES = {
    name: ("kerasbridge.experimental", name) for name in _experimental.__all__
}
_SUBMODULES = {"export": "kerasbridge.export", "inputs": "kerasbridge.inputs"}
# Module name -> the names it raises a "use this instead" AttributeError for.
_UNSUPPORTED = {
    _MODULE_NAME: _unsupported.TOP_LEVEL,
    _MODULE_NAME + ".experimental": _unsupported.EXPERIMENTAL,
}

_installed = None


def _lazy_module(name, names, fallback_module, submodules=()):
    module = types.ModuleType(name)
    module.__doc__ = f"kerasbridge's stand-in for `{name}`."
    static = {"VocabInfo": tf.compat.v1.train.VocabInfo}

    def __getattr__(attr):
        if attr in static:
            return static[attr]
        missing = _unsupported.error(_UNSUPPORTED.get(name, {}), attr)
        if missing is not None:
            raise missing
        if attr in submodules:
            value = importlib.import_module(submodules[attr])
        elif attr in names:
            module_name, source = names[attr]
            value = getattr(importlib.import_module(module_name), source)
        elif fallback_module and not attr.startswith("_"):
            try:
                value = getattr(importlib.import_module(fallback_module), attr)
            except (AttributeError, ImportError):
                raise AttributeError(
                    f"module {name!r} (kerasbridge) has no attribute {attr!r}"
                ) from None
        else:
            raise AttributeError(f"module {name!r} has no attribute {attr!r}")
        setattr(module, attr, value)
        return value

    def __dir__():
        return sorted(
            set(names) | set(submodules) | set(static) | set(vars(module))
        )

    module.__getattr__ = __getattr__
    module.__dir__ = __dir__
    return module


def install():
    """Makes `tf.estimator` resolve to kerasbridge. Idempotent.

    Also makes `tf.compat.v1.layers` kerasbridge's TF1 layers
    (`kerasbridge.compat.v1_layers`) where TensorFlow has none.

    Returns:
        The module installed as `tf.estimator`.
    """
    global _installed
    if _installed is None:
        experimental = _lazy_module(
            _MODULE_NAME + ".experimental", _EXPERIMENTAL_NAMES, None
        )
        _installed = _lazy_module(
            _MODULE_NAME, _NAMES, "kerasbridge", _SUBMODULES
        )
        _installed.experimental = experimental
    sys.modules[_MODULE_NAME] = _installed
    sys.modules[_MODULE_NAME + ".experimental"] = _installed.experimental
    tf.estimator = _installed
    for v1_module in _v1_modules():  # `import tensorflow.compat.v1 as tf` too
        v1_module.estimator = _installed
    _install_v1_layers()
    return _installed
