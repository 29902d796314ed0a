"""`add_metrics`: an Estimator with extra evaluation metrics."""

from kerasbridge._runtime import _args
from kerasbridge.estimator import Estimator
from kerasbridge.mode_keys import ModeKeys

_METRIC_FN_ARGS = frozenset(("features", "labels", "predictions", "config"))


def add_metrics(estimator, metric_fn):
    """Returns a new Estimator that also reports `metric_fn`'s metrics.

    Args:
        estimator: A `kb.Estimator` (or subclass, e.g. a canned estimator).
        metric_fn: Takes any of `predictions`, `features`, `labels`, `config`
            by name and returns a dict of metrics keyed by name: each a
            `(value_op, update_op)` pair or a Keras `Metric` object. They are
            added to the estimator's own, replacing any of the same name.

    Returns:
        A `kb.Estimator` sharing `estimator`'s model_dir, config and warm
        start.

    Raises:
        ValueError: `metric_fn` declares other arguments.
    """
    unexpected = sorted(set(_args.fn_args(metric_fn)) - _METRIC_FN_ARGS)
    if unexpected:
        raise ValueError(
            f"metric_fn ({metric_fn}) has following not expected args: "
            f"{unexpected}"
        )
    base_model_fn = estimator.model_fn

    def new_model_fn(features, labels, mode, config):
        spec = base_model_fn(features, labels, mode, config)
        if mode != ModeKeys.EVAL:
            return spec
        candidates = {
            "features": features,
            "labels": labels,
            "predictions": spec.predictions,
            "config": config,
        }
        declared = _args.fn_args(metric_fn)
        new_metrics = metric_fn(
            **{k: v for k, v in candidates.items() if k in declared}
        )
        metrics = dict(spec.eval_metric_ops or {})
        metrics.update(new_metrics)
        return spec._replace(eval_metric_ops=metrics)

    return Estimator(
        model_fn=new_model_fn,
        model_dir=estimator.model_dir,
        config=estimator.config,
        warm_start_from=estimator._warm_start_settings,  # noqa: SLF001
    )
