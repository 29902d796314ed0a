"""WarmStartSettings / VocabInfo / warm_start_from normalisation."""

import os
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from kerasbridge.warm_starting import VocabInfo
from kerasbridge.warm_starting import WarmStartSettings
from kerasbridge.warm_starting import normalize_warm_start

TRAINED = np.array([1.0, 2.0, 3.0], np.float32)
TRAINED_STAT = np.array([7.0], np.float32)


def _build_variables():
    weights = tf.compat.v1.get_variable(
        "w", shape=[3], initializer=tf.compat.v1.zeros_initializer()
    )
    stat = tf.compat.v1.get_variable(
        "stat",
        shape=[1],
        initializer=tf.compat.v1.zeros_initializer(),
        trainable=False,
    )
    return weights, stat


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """A checkpoint directory and a SavedModel holding w=TRAINED, stat=TRAINED_STAT."""
    root = tmp_path_factory.mktemp("warm_start_sources")
    ckpt_dir = root / "ckpt"
    saved_model_dir = root / "saved_model"
    with tf.Graph().as_default():
        weights, stat = _build_variables()
        with tf.compat.v1.Session() as sess:
            sess.run([weights.assign(TRAINED), stat.assign(TRAINED_STAT)])
            tf.compat.v1.train.Saver().save(sess, str(ckpt_dir / "model.ckpt"))
            builder = tf.compat.v1.saved_model.Builder(str(saved_model_dir))
            builder.add_meta_graph_and_variables(sess, ["serve"])
            builder.save()
    return {"ckpt_dir": str(ckpt_dir), "saved_model": str(saved_model_dir)}


def _warm_started_values(settings):
    """Applies `settings` with TF's own warm_start to fresh variables."""
    with tf.Graph().as_default():
        weights, stat = _build_variables()
        tf.compat.v1.train.warm_start(*settings)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            return sess.run([weights, stat])


def test_defaults():
    settings = WarmStartSettings("/some/ckpt")
    assert settings.ckpt_to_initialize_from == "/some/ckpt"
    assert settings.vars_to_warm_start == ".*"
    assert settings.var_name_to_vocab_info == {}
    assert settings.var_name_to_prev_var_name == {}
    assert WarmStartSettings._fields == (
        "ckpt_to_initialize_from",
        "vars_to_warm_start",
        "var_name_to_vocab_info",
        "var_name_to_prev_var_name",
    )


@pytest.mark.parametrize("ckpt", [None, ""])
def test_checkpoint_is_required(ckpt):
    with pytest.raises(ValueError) as error:
        WarmStartSettings(ckpt)
    assert (
        str(error.value) == "`ckpt_to_initialize_from` MUST be set in WarmStartSettings"
    )


def test_vocab_info_is_tf_core_class():
    assert VocabInfo is tf.compat.v1.train.VocabInfo
    info = VocabInfo(
        new_vocab="new.txt",
        new_vocab_size=3,
        num_oov_buckets=1,
        old_vocab="old.txt",
    )
    settings = WarmStartSettings("/ckpt", var_name_to_vocab_info={"emb": info})
    assert settings.var_name_to_vocab_info["emb"] is info


def test_default_warm_starts_trainable_variables_only(sources):
    weights, stat = _warm_started_values(WarmStartSettings(sources["ckpt_dir"]))
    np.testing.assert_array_equal(weights, TRAINED)
    np.testing.assert_array_equal(stat, [0.0])


def test_list_pattern_warm_starts_all_global_variables(sources):
    settings = WarmStartSettings(sources["ckpt_dir"], vars_to_warm_start=[".*"])
    weights, stat = _warm_started_values(settings)
    np.testing.assert_array_equal(weights, TRAINED)
    np.testing.assert_array_equal(stat, TRAINED_STAT)


def test_normalize_none_and_settings():
    assert normalize_warm_start(None) is None
    settings = WarmStartSettings("/ckpt", vars_to_warm_start="dense.*")
    assert normalize_warm_start(settings) is settings


def test_normalize_checkpoint_path(sources):
    for path in (sources["ckpt_dir"], pathlib.Path(sources["ckpt_dir"])):
        settings = normalize_warm_start(path)
        assert settings == WarmStartSettings(sources["ckpt_dir"])


def test_normalize_saved_model_dir_points_at_its_variables(sources):
    expected = os.path.join(sources["saved_model"], "variables", "variables")
    settings = normalize_warm_start(sources["saved_model"])
    assert settings.ckpt_to_initialize_from == expected
    assert settings.vars_to_warm_start == ".*"
    weights, _ = _warm_started_values(settings)
    np.testing.assert_array_equal(weights, TRAINED)
    as_bytes = normalize_warm_start(sources["saved_model"].encode())
    assert as_bytes.ckpt_to_initialize_from == expected.encode()


def test_normalize_rejects_other_types():
    with pytest.raises(ValueError) as error:
        normalize_warm_start(3)
    assert str(error.value) == (
        "warm_start_from must be a string or a WarmStartSettings, instead got <class 'int'>"
    )
