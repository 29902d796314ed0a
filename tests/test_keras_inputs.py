"""Property: features reach the right `Input`s, however the input_fn shapes them.

For generated functional models (1-3 inputs of different widths, declared as
a dict or a list, 1-2 outputs) and features given as a dict keyed by Input
name (with unrelated extra keys) or as a list in Input order, the generated
graph's predictions equal Keras' own forward pass on the same weights.
"""

import keras
import numpy as np
import tensorflow as tf
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from kerasbridge.keras._graph_model import GraphModel
from kerasbridge.keras._model_spec import KerasModelSpec
from kerasbridge.mode_keys import ModeKeys

_NAMES = ["age", "dense_feats", "zip", "b", "a"]


@st.composite
def _cases(draw):
    n_inputs = draw(st.integers(1, 3))
    names = draw(st.lists(st.sampled_from(_NAMES), min_size=n_inputs,
                          max_size=n_inputs, unique=True))
    widths = draw(
        st.lists(st.integers(1, 4), min_size=n_inputs, max_size=n_inputs)
    )
    return {
        "names": names,
        "widths": widths,
        "dict_model": draw(st.booleans()),
        "n_outputs": draw(st.integers(1, 2)),
        "as_list": draw(st.booleans()),
        "extra_keys": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**16)),
    }


def _model(case):
    keras.utils.set_random_seed(case["seed"])
    inputs = [
        keras.Input((w,), name=n) for n, w in zip(case["names"], case["widths"])
    ]
    x = inputs[0] if len(inputs) == 1 else keras.layers.Concatenate()(inputs)
    outputs = [
        keras.layers.Dense(2, name=f"head{i}")(x) for i in range(case["n_outputs"])
    ]
    model = keras.Model(
        dict(zip(case["names"], inputs)) if case["dict_model"] else inputs,
        outputs if len(outputs) > 1 else outputs[0],
    )
    model.compile(optimizer="sgd", loss="mse")
    return model


@settings(max_examples=12)
@given(_cases())
def test_predictions_equal_keras_forward_pass(case):
    model = _model(case)
    rng = np.random.RandomState(case["seed"])
    values = [rng.normal(size=(5, w)).astype("float32") for w in case["widths"]]
    by_name = dict(zip(case["names"], values))
    expected = model(by_name if case["dict_model"] else values)
    if not isinstance(expected, list):
        expected = [expected]

    if case["as_list"]:
        features = list(values)
    else:
        features = dict(by_name)
        if case["extra_keys"]:
            features["unused_feature"] = np.zeros((5, 7), "float32")
    spec = KerasModelSpec(model, None, "checkpoint")
    with tf.Graph().as_default():
        graph_model = GraphModel(spec, features, None, ModeKeys.PREDICT)
        assign = [
            v.assign(spec.initial_weights[k])
            for k, v in graph_model.model_var_list.items()
            if k in spec.initial_weights
        ]
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            session.run(assign)
            predictions = session.run(graph_model.predictions)
    assert sorted(predictions) == sorted(f"head{i}" for i in range(case["n_outputs"]))
    for i, value in enumerate(expected):
        np.testing.assert_allclose(
            predictions[f"head{i}"], np.asarray(value), atol=1e-6, rtol=0
        )
