"""Warm-start settings: initialise a new model from an existing checkpoint.

`WarmStartSettings` mirrors `tf.estimator.WarmStartSettings` (2.15). The
Estimator applies them with `tf.compat.v1.train.warm_start` only when its
model_dir has no checkpoint yet; `global_step` is never warm-started.
"""

import collections
import os

import tensorflow as tf

# `VocabInfo` is TF core's class itself, as in the original, so objects made
# with `tf.compat.v1.train.VocabInfo` and `kb.VocabInfo` are interchangeable.
VocabInfo = tf.compat.v1.train.VocabInfo

# Relative path of the variables checkpoint inside a SavedModel directory.
_SAVED_MODEL_VARIABLES = os.path.join("variables", "variables")


class WarmStartSettings(
    collections.namedtuple(
        "WarmStartSettings",
        [
            "ckpt_to_initialize_from",
            "vars_to_warm_start",
            "var_name_to_vocab_info",
            "var_name_to_prev_var_name",
        ],
    )
):
    """Settings for warm-starting an Estimator.

    Attributes:
      ckpt_to_initialize_from: [Required] A checkpoint path, or a directory
        whose latest checkpoint is used.
      vars_to_warm_start: [Optional] A regular expression string matched
        against TRAINABLE variables only (default `'.*'`: all trainable
        variables, so e.g. batch-norm moving statistics and optimizer slots are
        not warm-started); a list of variable names or variables (matched
        against all GLOBAL variables, so `['.*']` warm-starts everything); or
        `None` to warm-start only the variables in `var_name_to_vocab_info`.
      var_name_to_vocab_info: [Optional] Dict of variable name to `VocabInfo`
        for embeddings whose vocabulary changed.
      var_name_to_prev_var_name: [Optional] Dict of variable name to its name
        in `ckpt_to_initialize_from`, for renamed variables.

    Raises:
      ValueError: If `ckpt_to_initialize_from` is empty.
    """

    def __new__(
        cls,
        ckpt_to_initialize_from,
        vars_to_warm_start=".*",
        var_name_to_vocab_info=None,
        var_name_to_prev_var_name=None,
    ):
        if not ckpt_to_initialize_from:
            raise ValueError(
                "`ckpt_to_initialize_from` MUST be set in WarmStartSettings"
            )
        return super().__new__(
            cls,
            ckpt_to_initialize_from,
            vars_to_warm_start,
            var_name_to_vocab_info or {},
            var_name_to_prev_var_name or {},
        )


def normalize_warm_start(warm_start_from):
    """Turns an Estimator's `warm_start_from` argument into settings.

    A path string (str, bytes or PathLike) becomes `WarmStartSettings(path)`
    with the defaults; if the path is a SavedModel directory (it contains
    `variables/variables.index`) the settings point at its variables
    checkpoint instead.

    Args:
      warm_start_from: `None`, a path, or a `WarmStartSettings`.

    Returns:
      A `WarmStartSettings` or `None`.

    Raises:
      ValueError: For any other type.
    """
    if warm_start_from is None:
        return None
    if isinstance(warm_start_from, WarmStartSettings):
        return warm_start_from
    if isinstance(warm_start_from, os.PathLike):
        warm_start_from = os.fspath(warm_start_from)
    if isinstance(warm_start_from, (str, bytes)):
        variables_path = os.path.join(
            warm_start_from,
            _as_type_of(warm_start_from, _SAVED_MODEL_VARIABLES),
        )
        index_path = variables_path + _as_type_of(warm_start_from, ".index")
        if tf.io.gfile.exists(index_path):
            tf.compat.v1.logging.info("Warm-starting from a SavedModel")
            return WarmStartSettings(ckpt_to_initialize_from=variables_path)
        return WarmStartSettings(ckpt_to_initialize_from=warm_start_from)
    raise ValueError(
        "warm_start_from must be a string or a WarmStartSettings, "
        f"instead got {type(warm_start_from)}"
    )


def _as_type_of(path, text):
    # os.path.join refuses to mix str and bytes; keep the caller's type.
    return text.encode("utf-8") if isinstance(path, bytes) else text
