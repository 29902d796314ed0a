"""Initialising a new model's variables from another checkpoint."""

import tensorflow as tf


def apply_warm_start(settings):
    """Warm-starts the default graph's variables from `settings`.

    Call after `model_fn` has created the variables, and only when the
    model_dir has no checkpoint of its own (the Estimator checks).

    Args:
        settings: A `WarmStartSettings`.
    """
    tf.compat.v1.logging.info(
        "Warm-starting with WarmStartSettings: %s", settings
    )
    tf.compat.v1.train.warm_start(
        ckpt_to_initialize_from=settings.ckpt_to_initialize_from,
        vars_to_warm_start=settings.vars_to_warm_start,
        var_name_to_vocab_info=settings.var_name_to_vocab_info,
        var_name_to_prev_var_name=settings.var_name_to_prev_var_name,
    )
