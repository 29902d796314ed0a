"""kerasbridge's `tf.compat.v1.layers` against TF's own TF1 layer classes.

The reference is tf-keras' copy of the TF1 layers (what `tf.compat.v1.layers`
was through TF 2.15), run in a subprocess so that tf-keras never shares a
process with Keras 3. For every case: the same variable names, shapes,
trainable set and number of update/regularization ops; the same output and
regularization losses on the reference's weights; and the same variable
values after running `UPDATE_OPS` (batch-norm moving statistics).
"""

import ast
import os
import subprocess
import sys

import numpy as np
import pytest

import _v1_layer_cases as cases
from kerasbridge.compat import v1_layers

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("v1_layers") / "reference.npz")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    subprocess.run(
        [sys.executable, os.path.join(HERE, "_v1_layer_cases.py"), path],
        check=True, env=env, capture_output=True,
    )
    with np.load(path) as data:
        return dict(data)


@pytest.mark.parametrize("name", sorted(cases.CASES))
def test_matches_tf1_layers(reference, name):
    graph, x, out = cases.build(v1_layers, name)
    expected_facts = ast.literal_eval(str(reference[f"{name}:facts"]))
    assert cases.facts(graph) == expected_facts
    initial = {
        key.split(":", 2)[2]: value
        for key, value in reference.items()
        if key.startswith(f"{name}:initial:")
    }
    result = cases.run(graph, x, out, name, values=initial)
    np.testing.assert_allclose(
        result["output"], reference[f"{name}:output"], rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(result["reg"], reference[f"{name}:reg"], rtol=1e-5)
    for key, value in result["updated"].items():
        np.testing.assert_allclose(
            value, reference[f"{name}:updated:{key}"], rtol=1e-5, atol=1e-6,
            err_msg=key,
        )
