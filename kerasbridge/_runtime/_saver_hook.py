"""`CheckpointSaverHook` whose `graph.pbtxt` is written off the critical path.

TF's hook formats the whole `GraphDef` as a text proto in
`after_create_session` (pure-Python `text_format`: ~0.7-1.4 s for a
2,000-node wide & deep graph on this machine) before the first step runs.
Here the `GraphDef` is taken on the calling thread (C++), and a background
thread formats and writes it while training runs; `join()` waits for it and
re-raises its error, and the training loop joins before `train()` returns.
The file is what TF's hook writes (`tf.io.write_graph` of the same `GraphDef`). The formatting
still takes the GIL, so the gain is the overlap with TF's own work (session
start, the first checkpoint, the first steps), largest with a spare core.
"""

import threading

import tensorflow as tf
from tensorflow.python.framework import meta_graph

_GRAPH_FILE = "graph.pbtxt"


class CheckpointSaverHook(tf.compat.v1.train.CheckpointSaverHook):
    """TF's hook, with `graph.pbtxt` written by a background thread."""

    _thread = None
    _error = None

    def after_create_session(self, session, coord):
        # TF's steps in TF's order, except that graph.pbtxt is handed to a
        # thread; the first checkpoint still writes its .meta file.
        global_step = session.run(self._global_step_tensor)
        graph = tf.compat.v1.get_default_graph()
        # One GraphDef for both files (TF's hook serialized the graph twice).
        # The meta graph copies it before the writer thread starts reading it.
        graph_def = graph.as_graph_def(add_shapes=True)
        saver = self._get_saver()
        meta_graph_def = meta_graph.create_meta_graph_def(
            graph_def=graph_def,
            saver_def=saver.saver_def if saver else None,
        )
        if self._save_graph_def:
            self._start_writer(graph_def)
        self._summary_writer.add_graph(graph)
        self._summary_writer.add_meta_graph(meta_graph_def)
        self._save(session, global_step)
        self._timer.update_last_triggered_step(global_step)

    def _start_writer(self, graph_def):
        # A recreated session (after a preemption) writes again, after the first.
        self.join()
        def run():
            try:
                tf.io.write_graph(graph_def, self._checkpoint_dir, _GRAPH_FILE)
            except BaseException as e:  # re-raised by join()
                self._error = e

        self._thread = threading.Thread(target=run, name="kerasbridge-graph-pbtxt")
        self._thread.start()

    def join(self, raise_error=True):
        """Waits for graph.pbtxt; re-raises an error from writing it unless
        `raise_error` is False (another error is already on its way)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        error, self._error = self._error, None
        if error is not None and raise_error:
            raise error

    def end(self, session):
        super().end(session)
        self.join()
