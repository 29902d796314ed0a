"""benchmarks/_original.py: the side-by-side runner the benchmarks share.

The workers here run a tiny stdlib-only workload (no TensorFlow), so the
protocol, the interleaving and the error paths are checked in a few seconds.
"""

import importlib.util
import os
import pathlib
import sys
import textwrap

import pytest

_PATH = pathlib.Path(__file__).parents[1] / "benchmarks" / "_original.py"
_spec = importlib.util.spec_from_file_location("_original", _PATH)
original = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(original)

_WORKLOAD = """
import os, sys
sys.path.insert(0, {bench!r})
import _original

def work(n):
    print("library noise on stdout")
    with open({log!r}, "a") as f:
        f.write(_original.side() + "\\n")
    return {{"side": _original.side(), "rate": n * (2 if _original.side() == "ours" else 1)}}

def fail():
    raise ValueError("workload failed")

def die():
    sys.stderr.write("dying now\\n")
    sys.stderr.flush()
    os._exit(3)

if __name__ == "__main__" and _original.is_worker():
    _original.serve({{"work": work, "fail": fail, "die": die}})
"""


@pytest.fixture(scope="module")
def sides(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("original")
    log = tmp / "order.log"
    script = tmp / "workload.py"
    script.write_text(_WORKLOAD.format(bench=str(_PATH.parent), log=str(log)))
    # Both sides run this interpreter: what is checked is the runner.
    workers = {
        side: original.Worker(side, sys.executable, str(script))
        for side in (original.OURS, original.ORIGINAL)
    }
    yield workers, log
    original.stop(workers)


def test_interleave_alternates_sides_and_collects_each_sides_results(sides):
    workers, log = sides
    log.write_text("")
    results = original.interleave(workers, "work", rounds=3, n=5)
    assert log.read_text().split() == ["ours", "original"] * 3
    assert results == {
        "ours": [{"side": "ours", "rate": 10}] * 3,
        "original": [{"side": "original", "rate": 5}] * 3,
    }
    assert original.ratio(results, "rate") == 2.0


def test_workload_error_is_raised_with_its_traceback(sides):
    workers, _ = sides
    with pytest.raises(RuntimeError, match="ValueError: workload failed"):
        workers[original.ORIGINAL].call("fail")
    # The worker survives a failing workload.
    assert workers[original.ORIGINAL].call("work", n=1)["rate"] == 1


def test_dead_worker_reports_its_stderr(tmp_path):
    script = tmp_path / "workload.py"
    script.write_text(
        _WORKLOAD.format(bench=str(_PATH.parent), log=str(tmp_path / "log"))
    )
    worker = original.Worker(original.OURS, sys.executable, str(script))
    with pytest.raises(RuntimeError, match="dying now"):
        worker.call("die")
    worker.close()


def test_ratio_is_of_medians_and_none_without_the_original():
    results = {
        "ours": [{"r": 1.0}, {"r": 9.0}, {"r": 3.0}],
        "original": [{"r": 2.0}, {"r": 100.0}, {"r": 1.0}, {"r": 2.0}],
    }
    assert original.medians(results, "r") == {"ours": 3.0, "original": 2.0}
    assert original.ratio(results, "r") == 1.5
    assert original.ratio({"ours": results["ours"]}, "r") is None


def test_check_interpreter_rejects_a_missing_path(tmp_path):
    with pytest.raises(ValueError, match="not an executable.*tensorflow-estimator==2.15.0"):
        original.check_interpreter(str(tmp_path / "nope"))


def test_check_interpreter_rejects_a_python_without_tf_estimator(tmp_path):
    # -S: no site-packages, so no tensorflow; fails fast like a bare venv.
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\nexec {sys.executable} -S "$@"\n')
    python.chmod(0o755)
    with pytest.raises(ValueError, match="cannot run tf.estimator.*No module named"):
        original.check_interpreter(str(python))


def test_option_and_note_tell_how_to_make_the_interpreter():
    import argparse

    parser = argparse.ArgumentParser()
    original.add_option(parser)
    assert parser.parse_args(["--original-python", "/x"]).original_python == "/x"
    assert parser.parse_args([]).original_python is None
    assert original.SETUP in original.NO_RATIO
