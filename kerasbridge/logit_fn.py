"""`call_logit_fn`: calls a logit function with the arguments it declares."""

import tensorflow as tf

from kerasbridge._runtime import _args


def call_logit_fn(logit_fn, features, mode, params, config):
    """Calls `logit_fn(features=..., [mode], [params], [config])`.

    Args:
        logit_fn: A function of `features` and any of `mode`, `params`,
            `config` (by name) returning logits.
        features: The features dict.
        mode: A `ModeKeys` value.
        params: The hyperparameter dict.
        config: The `RunConfig`.

    Returns:
        What `logit_fn` returned: a logits `Tensor`, or a dict of them.

    Raises:
        ValueError: `logit_fn` returned neither a Tensor nor a dict of string
            keys to Tensors.
    """
    declared = _args.fn_args(logit_fn)
    candidates = {"mode": mode, "params": params, "config": config}
    result = logit_fn(
        features=features,
        **{k: v for k, v in candidates.items() if k in declared},
    )
    is_dict = isinstance(result, dict) and all(
        isinstance(k, str) and isinstance(v, tf.Tensor)
        for k, v in result.items()
    )
    if not (is_dict or isinstance(result, tf.Tensor)):
        raise ValueError(
            "logit_fn should return a Tensor or a dictionary mapping strings "
            "to Tensors.  logit_fn returned: {}".format(result)
        )
    return result
