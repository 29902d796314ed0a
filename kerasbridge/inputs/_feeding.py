"""The `tf.data` pipeline behind `numpy_input_fn` and `pandas_input_fn`.

The original fed rows through queues; the batches it produced are those of
`Dataset.repeat(num_epochs).batch(batch_size)` (a short last batch when the
epochs run out, full batches forever when `num_epochs` is None), shuffled
across epoch boundaries by a `queue_capacity`-row buffer when asked.
"""

import tensorflow as tf

from kerasbridge._runtime import _args


def check_shuffle(shuffle):
    """The original's check: `shuffle` must be given, as a bool."""
    if not isinstance(shuffle, bool):
        raise ValueError(
            "shuffle must be provided and explicitly set as boolean "
            "(it is recommended to set it as True for training); "
            f"got {shuffle}"
        )


def check_positive_int(value, name, allow_none=False):
    """Raises TypeError/ValueError naming `name` unless `value` is an int > 0."""
    if value is None:
        if allow_none:
            return
        raise TypeError(f"{name} must be an integer, given None")
    _args.check_number(value, name)
    if value <= 0:
        raise ValueError(f"{name} must be positive, given: {value}")


def make_input(slices, batch_size, num_epochs, shuffle, buffer_size):
    """Batches `slices` as the original's queues did.

    Args:
        slices: A structure of arrays with equal first dimensions (rows).
        batch_size: Rows per batch.
        num_epochs: Passes over the rows, or None to repeat forever.
        shuffle: Whether to mix rows in a `buffer_size`-row buffer.
        buffer_size: The shuffle buffer (the original's `queue_capacity`).

    Returns:
        In graph mode (inside an Estimator call or a `tf.Graph`), the next
        batch's tensors, which raise `OutOfRangeError` once the epochs are
        read, like the original's; in eager mode the `tf.data.Dataset`.
    """
    dataset = tf.data.Dataset.from_tensor_slices(slices)
    dataset = dataset.repeat(num_epochs)
    if shuffle:
        dataset = dataset.shuffle(max(int(buffer_size), 1))
    dataset = dataset.batch(batch_size)
    if tf.executing_eagerly():
        return dataset
    iterator = tf.compat.v1.data.make_one_shot_iterator(dataset)
    return iterator.get_next()
