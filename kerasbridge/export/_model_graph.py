"""Building an Estimator's `model_fn` graph on receiver placeholders.

Shared by SavedModel export and the in-memory predictor: both feed
placeholders made by a receiver fn instead of an `input_fn`'s dataset.
"""

import contextlib

from kerasbridge._runtime import _graph


@contextlib.contextmanager
def model_graph(estimator, input_receiver_fn, mode):
    """Enters a fresh Estimator graph holding `model_fn` called on a receiver.

    The graph is set up as every Estimator call sets it up (graph seed,
    global step, device placement), so variable names match the checkpoints
    `train()` wrote.

    Args:
        estimator: the `Estimator` whose `model_fn` to call.
        input_receiver_fn: no-argument function returning a receiver
            (`ServingInputReceiver`, `TensorServingInputReceiver` or
            `SupervisedInputReceiver`).
        mode: the `ModeKeys` mode `model_fn` is called in.

    Yields:
        `(graph, receiver, estimator_spec)`.
    """
    with _graph.call_graph(estimator.config) as (graph, _):
        receiver = input_receiver_fn()
        # `Estimator.model_fn` calls the user's model_fn with the arguments
        # it declares and checks that it returned an EstimatorSpec.
        spec = estimator.model_fn(
            receiver.features,
            getattr(receiver, "labels", None),
            mode,
            estimator.config,
        )
        yield graph, receiver, spec
