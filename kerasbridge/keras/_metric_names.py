"""Renaming the Keras metrics an Estimator reports (`metric_names_map`)."""


def check_metric_names_map(metric_names_map):
    """Type-checks `metric_names_map` when `model_to_estimator` is called."""
    if metric_names_map is None:
        return None
    if not isinstance(metric_names_map, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metric_names_map.items()
    ):
        raise TypeError(
            "`metric_names_map` must be a dict mapping Keras metric names "
            f"(str) to Estimator metric names (str). Received: {metric_names_map!r}"
        )
    return dict(metric_names_map)


def rename_metrics(eval_metric_ops, compiled_names, metric_names_map):
    """Applies `metric_names_map` to the metrics of one evaluation graph.

    As in the original, the map must name every compiled metric (names as
    Keras reports them, e.g. `'accuracy'` or `'species_accuracy'`) and
    nothing else; it may also rename the per-output losses of multi-output
    models (`'<output>_loss'`), which the original did not report.

    Args:
        eval_metric_ops: dict of Keras metric name to `(value, update_op)`.
        compiled_names: The names of the compiled metrics among them.
        metric_names_map: dict or `None`.

    Returns:
        The renamed dict.

    Raises:
        ValueError: with the original's messages, for missing or extra keys.
    """
    if not metric_names_map:
        return eval_metric_ops
    custom_keys = set(metric_names_map)
    expected = set(compiled_names)
    unknown = expected - custom_keys
    if unknown:
        raise ValueError(
            "Invalid `metric_names_map`. The following keras model metric "
            f'names:"{sorted(unknown)}" do not exist in the `metric_names_map` '
            "dictionary"
        )
    extra = custom_keys - set(eval_metric_ops)
    if extra:
        raise ValueError(
            "Invalid `metric_names_map`. There are unexpected keys in the "
            "`metric_names_map` dictionary. Expected keys: "
            f"{sorted(expected)}, Received: {sorted(extra)}"
        )
    return {
        metric_names_map.get(name, name): ops
        for name, ops in eval_metric_ops.items()
    }
