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
"""

import tensorflow as tf
from tensorflow.python.client import session as session_lib

from kerasbridge._runtime import _ready_ops

_MAX_CACHED_STRUCTURES = 32


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
    """Wraps another creator's sessions in `_CachedRunSession`.

    With `scaffold`, lean default ready ops are registered first (see
    `_ready_ops`); this runs after the hooks' `begin()`, as `finalize` does.
    """

    def __init__(self, creator, scaffold=None):
        self._creator = creator
        self._scaffold = scaffold

    def create_session(self):
        if self._scaffold is not None:
            _ready_ops.install_default_ready_ops(self._scaffold)
        return _CachedRunSession(self._creator.create_session())


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
    creator = tf.compat.v1.train.ChiefSessionCreator(
        scaffold=scaffold,
        checkpoint_filename_with_path=checkpoint_path,
        master=master,
        config=config,
    )
    return tf.compat.v1.train.MonitoredSession(
        session_creator=_CachingSessionCreator(creator, scaffold), hooks=hooks
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
    (chief-only hooks, `StepCounterHook`, `SummarySaverHook`, then `hooks`),
    as `tf.compat.v1.train.MonitoredTrainingSession(...,
    save_checkpoint_secs=0)`: the Estimator adds its own
    `CheckpointSaverHook` among `chief_only_hooks`.

    Returns:
        A `tf.compat.v1.train.MonitoredSession`.
    """
    if not is_chief:
        creator = tf.compat.v1.train.WorkerSessionCreator(
            scaffold=scaffold,
            master=master,
            config=config,
            max_wait_secs=max_wait_secs,
        )
        return tf.compat.v1.train.MonitoredSession(
            session_creator=_CachingSessionCreator(creator), hooks=list(hooks)
        )
    all_hooks = list(chief_only_hooks)
    creator = tf.compat.v1.train.ChiefSessionCreator(
        scaffold=scaffold,
        checkpoint_dir=checkpoint_dir,
        master=master,
        config=config,
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
        session_creator=_CachingSessionCreator(creator), hooks=all_hooks
    )
