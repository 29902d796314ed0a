"""Monitored sessions with cheap repeated `run` calls.

`MonitoredSession` merges the caller's fetches with every hook's into a fresh
nested dict per step, and `Session.run` rebuilds its fetch handler for that
structure every time: for small models this Python work costs as much as the
step itself. The hooks ask for the same structure step after step, so the
raw session here caches one `make_callable` per fetch structure. Results,
hook calls and stop/recovery behaviour are those of the monitored session;
runs with feeds or run options (e.g. `ProfilerHook`) take the normal path.

`monitored_training_session` assembles the same session and hooks as
`tf.compat.v1.train.MonitoredTrainingSession` with that raw session.

For evaluate/predict, `monitored_session` restores with one `RestoreV2` op
and skips readiness checks whose outcome is known
(`_restoring_session.RestoringSessionCreator`),
`fetch_runner` calls the raw session's callable directly when no hook watches
runs, and `with_pruned_placement` lets the Estimator's default config place
only the ops each run needs.
"""

import tensorflow as tf
from tensorflow.python.client import session as session_lib

from kerasbridge import run_config as run_config_lib
from kerasbridge._runtime import _checkpoints
from kerasbridge._runtime import _cluster
from kerasbridge._runtime import _quiet
from kerasbridge._runtime import _restoring_session

_MAX_CACHED_STRUCTURES = 32
# The errors on which `MonitoredSession` recreates its session and retries.
_PREEMPTION_ERRORS = (tf.errors.AbortedError, tf.errors.UnavailableError)


class _CachedRunSession(session_lib.SessionInterface):
    """A `tf.compat.v1.Session` whose plain `run`s reuse fetch callables."""

    def __init__(self, session):
        self._session = session
        self._callables = {}

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        if feed_dict or (options is not None and options.ByteSize()):
            return self._session.run(fetches, feed_dict, options, run_metadata)
        leaves = []
        key = _structure_key(fetches, leaves)
        entry = self._callables.get(key)
        if entry is None or not _same_objects(entry[0], leaves):
            if not leaves or len(self._callables) >= _MAX_CACHED_STRUCTURES:
                # An empty fetch (run() returns the empty structure) has no
                # callable; too many structures means fetches are not reused.
                return self._session.run(fetches, None, options, run_metadata)
            # The entry keeps the fetched objects alive, so the ids in `key`
            # cannot be reused by other objects while it is cached.
            entry = (leaves, self._session.make_callable(fetches))
            self._callables[key] = entry
        return entry[1]()

    @property
    def graph(self):
        return self._session.graph

    @property
    def sess_str(self):
        return self._session.sess_str

    def partial_run_setup(self, fetches, feeds=None):
        return self._session.partial_run_setup(fetches, feeds)

    def partial_run(self, handle, fetches, feed_dict=None):
        return self._session.partial_run(handle, fetches, feed_dict)

    def close(self):
        self._callables.clear()
        self._session.close()

    def __getattr__(self, name):
        # Everything else (as_default, list_devices, make_callable, ...).
        return getattr(self._session, name)


def _structure_key(fetches, leaves):
    """A hashable description of a fetch structure; collects its leaves."""
    if isinstance(fetches, dict):
        items = []
        for key, value in fetches.items():
            if not isinstance(key, str):
                leaves.append(key)
                key = id(key)
            items.append((key, _structure_key(value, leaves)))
        return (type(fetches), tuple(items))
    if isinstance(fetches, (list, tuple)):
        return (
            type(fetches),
            tuple(_structure_key(v, leaves) for v in fetches),
        )
    if isinstance(fetches, str):
        return fetches
    leaves.append(fetches)
    return id(fetches)


def _same_objects(cached, current):
    return len(cached) == len(current) and all(
        a is b for a, b in zip(cached, current)
    )


class _CachingSessionCreator(tf.compat.v1.train.SessionCreator):
    """Wraps another creator's sessions in `_CachedRunSession`."""

    def __init__(self, creator):
        self._creator = creator

    def create_session(self):
        # Restoring calls the Saver's deprecated `get_checkpoint_mtimes`.
        with _quiet.own_deprecations():
            session = self._creator.create_session()
        return _CachedRunSession(session)


class _CheckpointReadingCreator(tf.compat.v1.train.SessionCreator):
    """Reports a damaged checkpoint met while creating a session clearly.

    Args:
        creator: The `SessionCreator` that may restore a checkpoint.
        checkpoint_path: A callable returning the prefix it restores (or
            None), asked when a session is created.
    """

    def __init__(self, creator, checkpoint_path):
        self._creator = creator
        self._checkpoint_path = checkpoint_path

    def create_session(self):
        path = self._checkpoint_path()
        if not path:
            return self._creator.create_session()
        with _checkpoints.reading(path):
            return self._creator.create_session()


def fetch_runner(session, fetches, hooks):
    """A no-argument callable that runs `fetches` once in `session`.

    Equivalent to `lambda: session.run(fetches)`. When no hook has
    `before_run`/`after_run` and no queue-runner threads feed the graph, the
    monitored session's per-run work (merging fetches, calling hooks, checking
    its coordinator) does nothing, so the runner calls a callable of the raw
    session instead. An error the monitored session recovers from
    (`AbortedError`, `UnavailableError`) is handed to it: it closes and
    recreates the session and runs `fetches` again, as it would have, and
    later runs go through `session.run`. Callers still check
    `session.should_stop()` between runs.

    Args:
        session: An open `tf.compat.v1.train.MonitoredSession` of this
            module.
        fetches: The fetch structure every call runs.
        hooks: The hooks `session` was created with.

    Returns:
        A callable returning what `session.run(fetches)` would.
    """
    if (
        any(_watches_runs(hook) for hook in hooks)
        or tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.QUEUE_RUNNERS)
        or not tf.nest.flatten(fetches)
    ):
        return lambda: session.run(fetches)
    direct = [_raw_callable(session._tf_sess(), fetches)]

    def run():
        if direct:
            try:
                return direct[0]()
            except _PREEMPTION_ERRORS as error:
                # The raw session dies with the recovery: no direct calls
                # after it.
                direct.clear()
                return _recover_and_run(session, fetches, error)
        return session.run(fetches)

    return run


def _raw_callable(raw_session, fetches):
    """`raw_session.make_callable(fetches)`, cheaper for flat tensor dicts."""
    if type(fetches) is dict and all(
        isinstance(value, tf.Tensor) for value in fetches.values()
    ):
        # A list callable plus zip skips the fetch handler's per-call
        # rebuilding of the dict; the arrays are the same.
        keys = list(fetches)
        run_list = raw_session.make_callable([fetches[k] for k in keys])
        return lambda: dict(zip(keys, run_list()))
    return raw_session.make_callable(fetches)


def _recover_and_run(session, fetches, error):
    """Lets `session` recover from `error` as if its `run` had raised it."""
    pending = [error]

    def step_fn(step_context):
        if pending:
            raise pending.pop()
        return step_context.run_with_hooks(fetches)

    return session.run_step_fn(step_fn)


def _watches_runs(hook):
    hook_type = type(hook)
    base = tf.compat.v1.train.SessionRunHook
    return (
        hook_type.before_run is not base.before_run
        or hook_type.after_run is not base.after_run
    )


def with_pruned_placement(config, master):
    """`config` plus `place_pruned_graph` where that only saves time.

    By default a session places the whole graph on its first run, and each
    new fetch set then prunes a copy of it: for the small graphs an Estimator
    rebuilds per call, that costs more than the runs themselves. With
    `place_pruned_graph`, each fetch set places just the ops it runs. On a
    local session with only CPU devices every op lands on the one CPU either
    way, so results are the same; elsewhere placement could differ, and a
    config the user chose is theirs. So only the Estimator's default config
    (`get_default_session_config()`, which is what `RunConfig` uses when
    given none), a local master and CPU-only devices get it.

    Args:
        config: The `ConfigProto` the session would use.
        master: The session target.

    Returns:
        `config`, or a copy of it with `graph_options.place_pruned_graph`.
    """
    if master or config != run_config_lib.get_default_session_config():
        return config
    if any(
        device.device_type != "CPU"
        for device in tf.config.list_physical_devices()
    ):
        return config
    pruned = tf.compat.v1.ConfigProto()
    pruned.CopyFrom(config)
    pruned.graph_options.place_pruned_graph = True
    return pruned


def monitored_session(scaffold, checkpoint_path, master, config, hooks):
    """A `MonitoredSession` restoring `checkpoint_path` (or initialising).

    Args:
        scaffold: The spec's `Scaffold`.
        checkpoint_path: Checkpoint prefix to restore, or None.
        master: Session target.
        config: `ConfigProto` for the session.
        hooks: `SessionRunHook`s.

    Returns:
        A `tf.compat.v1.train.MonitoredSession`.
    """
    creator = _restoring_session.RestoringSessionCreator(
        scaffold, checkpoint_path, master, config, hooks
    )
    creator = _CheckpointReadingCreator(creator, lambda: checkpoint_path)
    return tf.compat.v1.train.MonitoredSession(
        session_creator=_CachingSessionCreator(creator), hooks=hooks
    )


def monitored_training_session(
    master,
    is_chief,
    checkpoint_dir,
    scaffold,
    hooks,
    chief_only_hooks,
    save_summaries_steps,
    config,
    max_wait_secs,
    log_step_count_steps,
):
    """`MonitoredTrainingSession` without its own checkpoint hook.

    Same session creators and the same chief hooks, in the same order
    (chief-only hooks, `StepCounterHook`, `SummarySaverHook`, then `hooks`;
    `NanTensorHook`s first of all),
    as `tf.compat.v1.train.MonitoredTrainingSession(...,
    save_checkpoint_secs=0)`: the Estimator adds its own
    `CheckpointSaverHook` among `chief_only_hooks`. On a cluster the chief
    uses `_cluster.RejoiningChiefSessionCreator`.

    Returns:
        A `tf.compat.v1.train.MonitoredSession`.
    """
    if not is_chief:
        creator = _cluster.PollingWorkerSessionCreator(
            scaffold=scaffold,
            master=master,
            config=config,
            max_wait_secs=max_wait_secs,
        )
        return tf.compat.v1.train.MonitoredSession(
            session_creator=_CachingSessionCreator(creator),
            hooks=list(hooks),
            stop_grace_period_secs=_cluster.stop_grace_period_secs(master),
        )
    all_hooks = list(chief_only_hooks)
    # On a cluster the chief may restart while the ps keeps the model.
    creator_type = (
        _cluster.RejoiningChiefSessionCreator
        if _cluster.is_remote(master)
        else tf.compat.v1.train.ChiefSessionCreator
    )
    creator = _CheckpointReadingCreator(
        creator_type(
            scaffold=scaffold,
            checkpoint_dir=checkpoint_dir,
            master=master,
            config=config,
        ),
        lambda: _checkpoints.latest_checkpoint(checkpoint_dir),
    )
    if log_step_count_steps and log_step_count_steps > 0:
        all_hooks.append(
            tf.compat.v1.train.StepCounterHook(
                output_dir=checkpoint_dir, every_n_steps=log_step_count_steps
            )
        )
    if save_summaries_steps and save_summaries_steps > 0:
        all_hooks.append(
            tf.compat.v1.train.SummarySaverHook(
                scaffold=scaffold,
                save_steps=save_summaries_steps,
                output_dir=checkpoint_dir,
            )
        )
    all_hooks.extend(hooks)
    return tf.compat.v1.train.MonitoredSession(
        session_creator=_CachingSessionCreator(creator),
        hooks=_nan_checks_first(all_hooks),
        stop_grace_period_secs=_cluster.stop_grace_period_secs(master),
    )


def _nan_checks_first(hooks):
    """`hooks` with the `NanTensorHook`s moved to the front.

    Hooks see a step's results in list order, and the checkpoint saver is
    among the chief-only hooks that come first: a step whose loss is NaN
    would be saved before the NaN check stopped training. Checking first
    keeps the last checkpoint a good one.
    """
    nan_hooks = [h for h in hooks if isinstance(h, tf.compat.v1.train.NanTensorHook)]
    return nan_hooks + [h for h in hooks if h not in nan_hooks]
