"""Writing evaluation results to an event file TensorBoard reads."""

import numpy as np
import tensorflow as tf


def write_eval_results(eval_dir, results, global_step, checkpoint_path):
    """Writes one `Summary` of the metric values at `global_step`.

    Python and numpy scalars become `simple_value`s, serialized `Summary`
    bytes are re-tagged `name/i`, arrays become tensor summaries; a text
    summary records which checkpoint was evaluated. Must run with a graph as
    the default (TF1 `FileWriter`s refuse eager mode).

    Args:
        eval_dir: Directory of the event file (created if missing).
        results: Dict name -> evaluated metric value.
        global_step: The step the summary is recorded at.
        checkpoint_path: The evaluated checkpoint, or None.
    """
    summary = tf.compat.v1.Summary()
    for name, value in results.items():
        if name == "global_step":
            continue
        if isinstance(value, (bool, np.bool_)):
            summary.value.add(tag=name, simple_value=float(value))
        elif isinstance(value, (int, float, np.integer, np.floating)):
            summary.value.add(tag=name, simple_value=float(value))
        elif isinstance(value, bytes):
            nested = tf.compat.v1.Summary()
            try:
                nested.ParseFromString(value)
            except Exception:  # Not a Summary proto: nothing to plot.
                tf.compat.v1.logging.warning(
                    "Skipping summary for %s: bytes that are not a Summary.",
                    name,
                )
                continue
            for i, nested_value in enumerate(nested.value):
                nested_value.tag = f"{name}/{i}"
                summary.value.add().CopyFrom(nested_value)
        elif isinstance(value, np.ndarray):
            summary.value.add(tag=name, tensor=tf.make_tensor_proto(value))
        else:
            tf.compat.v1.logging.warning(
                "Skipping summary for %s, must be a float, np.float32, "
                "np.int64, np.int32 or int or a serialized string of Summary.",
                name,
            )
    writer = tf.compat.v1.summary.FileWriterCache.get(eval_dir)
    writer.add_summary(summary, global_step)
    if checkpoint_path:
        text = tf.compat.v1.Summary()
        value = text.value.add(
            tag="checkpoint_path",
            tensor=tf.make_tensor_proto(str(checkpoint_path), dtype=tf.string),
        )
        value.metadata.plugin_data.plugin_name = "text"
        writer.add_summary(text, global_step)
    writer.flush()


def scalar_values(event):
    """The `{tag: simple_value}` of an event's summary ({} if it has none).

    Used to read back what `write_eval_results` wrote (early stopping,
    `BestExporter`).
    """
    if not event.HasField("summary"):
        return {}
    return {
        value.tag: value.simple_value
        for value in event.summary.value
        if value.HasField("simple_value")
    }
