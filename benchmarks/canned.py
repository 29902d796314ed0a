"""Canned estimators: ours vs the original (TF 2.15 tensorflow-estimator), side by side.

Three workloads, each run in both interpreters with rounds interleaved (ours,
original, ours, ...), reported as medians and the ratio ours / original:

  dnn_train        `DNNClassifier(hidden_units=[10, 10], n_classes=3)` on four
                   numeric columns (the classic iris premade), one whole
                   `train(steps=2000)` call at batch 32 with the default
                   `RunConfig` (graph build, session start, checkpoints):
                   steps/s.
  wide_deep_input  the input stage of a wide & deep model on census-like
                   columns (DNN part: four 8-dim embeddings and two numerics;
                   linear part: bucketized age, four categorical columns and a
                   cross) at batch 1,024: the DNN input matrix and the linear
                   logits computed from raw features in a session, rows/s.
                   Ours: `featurec.input_layer` + `featurec.linear_model` (the
                   plan in TF ops, what the canned estimators run, the two
                   parts sharing the categorical ids they both read; every
                   feature holds one value a row, so ids are gathered, not
                   looked up through sparse segment ops, and the cross is
                   hashed element-wise, decision 65); also
                   measured, ours only: `featurec.input_layer(use_kernels=True)`
                   (numba kernels through `tf.numpy_function`), and the floor:
                   the same session steps touching each raw feature with no
                   columns computed (the best any in-session input stage can do),
                   measured in the same calls, blocks alternating with the input
                   stage's, so "the columns' own cost" (total - floor) is a paired
                   difference. The original:
                   `DenseFeatures` + the canned `LinearModel`, what its v2
                   estimators run. The raw batches are cached in the pipeline,
                   so the figure is the columns' cost, not tf.data's slicing.
  wide_deep_train  `DNNLinearCombinedClassifier` on those columns, one whole
                   `train(steps=500)` call at batch 256: rows/s.

Run (from the repository root; the worker imports this checkout):
    PYTHONPATH=$PWD python benchmarks/canned.py --original-python /work/v215/bin/python
Without `--original-python` it prints our absolute figures only.
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _original  # noqa: E402

EDUCATION = ["Bachelors", "HS-grad", "Masters", "Doctorate", "Some-college", "11th",
             "Assoc-voc", "9th", "Prof-school", "12th"]
OCCUPATION = ["Adm-clerical", "Exec-managerial", "Sales", "Craft-repair", "Tech-support",
              "Other-service", "Prof-specialty", "Farming-fishing"]
MARITAL = ["Married", "Divorced", "Never-married", "Separated", "Widowed"]


def _quiet(tf):
    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)


def _iris_like(np, rows=1200):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, rows)
    x = rng.normal(size=(rows, 4)).astype(np.float32) + y[:, None].astype(np.float32)
    return {f"x{i}": x[:, i] for i in range(4)}, y.astype(np.int64)


def bench_dnn_train(steps):
    import numpy as np
    import tensorflow as tf

    _quiet(tf)
    est_mod = _original.tf_estimator()
    feats, labels = _iris_like(np)
    columns = [tf.feature_column.numeric_column(k) for k in sorted(feats)]

    def input_fn():
        ds = tf.data.Dataset.from_tensor_slices((feats, labels))
        return ds.shuffle(1200, seed=0).repeat().batch(32)

    est = est_mod.DNNClassifier(hidden_units=[10, 10], feature_columns=columns, n_classes=3,
                                model_dir=tempfile.mkdtemp(prefix="bench_dnn_"))
    start = time.perf_counter()
    est.train(input_fn, steps=steps)
    elapsed = time.perf_counter() - start
    return {"steps_per_sec": steps / elapsed, "seconds": elapsed}


def _census(np, rows):
    rng = np.random.default_rng(1)
    edu = rng.integers(0, len(EDUCATION), rows)
    occ = rng.integers(0, len(OCCUPATION), rows)
    feats = {
        "age": rng.integers(17, 90, rows).astype(np.int64),
        "hours": rng.normal(40, 12, rows).astype(np.float32),
        "education": np.array(EDUCATION)[edu],
        "occupation": np.array(OCCUPATION)[occ],
        "marital": np.array(MARITAL)[rng.integers(0, len(MARITAL), rows)],
        "country": np.array([f"c{int(i)}" for i in np.minimum(rng.zipf(1.6, rows), 200)]),
    }
    labels = ((edu > 4) ^ (occ % 2 == 0)).astype(np.int64)
    return feats, labels


def _census_columns(tf):
    fc = tf.feature_column
    cat = [
        fc.categorical_column_with_vocabulary_list("education", EDUCATION),
        fc.categorical_column_with_vocabulary_list("occupation", OCCUPATION),
        fc.categorical_column_with_vocabulary_list("marital", MARITAL),
        fc.categorical_column_with_hash_bucket("country", 64),
    ]
    age = fc.numeric_column("age", dtype=tf.int64)
    linear = cat + [
        fc.bucketized_column(age, [18, 25, 30, 35, 40, 45, 50, 55, 60, 65]),
        fc.crossed_column(["education", "occupation"], 1000),
    ]
    dnn = [fc.embedding_column(c, 8) for c in cat] + [age, fc.numeric_column("hours")]
    return linear, dnn


def _input_stage_session(feats, batch, build):
    """A session over the cached raw batches of `feats` and the fetches `build`
    makes from the batch's feature tensors; warmed up past the cache fill."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        # 20 distinct batches cached after the warm-up pass: tf.data's slicing of
        # string columns (as costly as the columns themselves) stays out of the figure.
        ds = tf.data.Dataset.from_tensor_slices(feats).batch(batch).cache().repeat()
        features = tf.compat.v1.data.make_one_shot_iterator(ds).get_next()
        out = build(features)
        sess = tf.compat.v1.Session(graph=graph)
        sess.run([tf.compat.v1.global_variables_initializer(),
                  tf.compat.v1.tables_initializer()])
    for _ in range(50):
        sess.run(out)
    return sess, out


def bench_wide_deep_input(batch, batches, mode="default"):
    """rows/s of the input stage and of its floor, measured in the same call.

    The two sessions run in alternating blocks of `batches` batches (seven
    each), and each figure is the median block: a pair measured in the same
    minutes of the same process, so the columns' own cost (total - floor)
    is not the difference of two figures taken at different times.
    """
    import numpy as np
    import tensorflow as tf

    _quiet(tf)
    feats, _ = _census(np, 20 * batch)
    linear_cols, dnn_cols = _census_columns(tf)

    def columns(features):
        if _original.side() == _original.ORIGINAL:
            from tensorflow_estimator.python.estimator.canned.linear import LinearModel

            dense = tf.keras.layers.DenseFeatures(dnn_cols)(features)
            logits = LinearModel(linear_cols, units=1)(features)
        else:
            import featurec
            from featurec import _lower_tf

            # As the canned DNNLinearCombined* build it: both parts share the
            # categorical ids they read (`_lower_tf.shared`).
            with _lower_tf.shared(features):
                dense = featurec.input_layer(features, dnn_cols,
                                             use_kernels=(mode == "kernels"))
                logits = featurec.linear_model(features, linear_cols)
        return [dense, logits]

    def floor(features):
        # Our part at zero: the same cached batches reach the session and
        # each feature is touched, but no column is computed.
        return [tf.size(v) for v in features.values()]

    runs = {"total": _input_stage_session(feats, batch, columns),
            "floor": _input_stage_session(feats, batch, floor)}
    times = {name: [] for name in runs}
    for _ in range(7):
        for name, (sess, out) in runs.items():
            start = time.perf_counter()
            for _ in range(batches):
                sess.run(out)
            times[name].append(time.perf_counter() - start)
    for sess, _ in runs.values():
        sess.close()
    return {"rows_per_sec": batch * batches / float(np.median(times["total"])),
            "floor_rows_per_sec": batch * batches / float(np.median(times["floor"]))}


def bench_wide_deep_train(steps, batch):
    import numpy as np
    import tensorflow as tf

    _quiet(tf)
    est_mod = _original.tf_estimator()
    feats, labels = _census(np, 40 * batch)
    linear_cols, dnn_cols = _census_columns(tf)

    def input_fn():
        ds = tf.data.Dataset.from_tensor_slices((feats, labels))
        return ds.shuffle(10_000, seed=0).repeat().batch(batch).prefetch(4)

    est = est_mod.DNNLinearCombinedClassifier(
        linear_feature_columns=linear_cols, dnn_feature_columns=dnn_cols,
        dnn_hidden_units=[64, 32], model_dir=tempfile.mkdtemp(prefix="bench_wd_"))
    start = time.perf_counter()
    est.train(input_fn, steps=steps)
    elapsed = time.perf_counter() - start
    return {"rows_per_sec": steps * batch / elapsed}


def _report(name, results, key, unit):
    med = _original.medians(results, key)
    line = f"{name:42s} ours {med[_original.OURS]:10.0f} {unit}"
    if _original.ORIGINAL in med:
        r = _original.ratio(results, key)
        line += f"   original {med[_original.ORIGINAL]:10.0f} {unit}   ratio {r:.2f}x"
    print(line, flush=True)


def _report_floor(res):
    """The best in-session ratio, and the columns' own cost per batch on each side."""
    ms = {name: {side: 1024e3 / rate  # ms a batch of 1,024
                 for side, rate in _original.medians(res, key).items()}
          for name, key in (("total", "rows_per_sec"), ("floor", "floor_rows_per_sec"))}
    ours, orig = _original.OURS, _original.ORIGINAL
    best = ms["total"][orig] / ms["floor"][ours]
    cols = {side: ms["total"][side] - ms["floor"][side] for side in (ours, orig)}
    print(f"  best ratio any in-session input stage could reach here: {best:.2f}x "
          f"(our columns at zero cost)", flush=True)
    print(f"  the columns' own cost a batch (total - floor): ours {cols[ours]:.3f} ms, "
          f"original {cols[orig]:.3f} ms, ratio {cols[orig] / cols[ours]:.2f}x", flush=True)

    def own(r):  # ms a batch of 1,024, one round
        return 1024e3 / r["rows_per_sec"] - 1024e3 / r["floor_rows_per_sec"]

    per_round = [own(o) / own(u) for u, o in zip(res[ours], res[orig])]
    print("  the same ratio round by round: "
          + " ".join(f"{r:.2f}x" for r in per_round), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _original.add_option(parser)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="fewer steps and batches")
    parser.add_argument("--only", choices=["dnn_train", "wide_deep_input", "wide_deep_train"],
                        help="run one workload")
    args = parser.parse_args()
    steps = 500 if args.quick else 2000
    sides = _original.start(__file__, args.original_python)
    try:
        print("\n".join(_original.describe(sides)), flush=True)
        run = lambda name: args.only in (None, name)  # noqa: E731
        if run("dnn_train"):
            res = _original.interleave(sides, "dnn_train", args.rounds, steps=steps)
            _report(f"DNNClassifier train({steps}) [10,10] iris", res, "steps_per_sec",
                    "steps/s")
        batches = 20 if args.quick else 100  # a block; 7 blocks a round
        if run("wide_deep_input"):
            res = _original.interleave(sides, "wide_deep_input", args.rounds, batch=1024,
                                       batches=batches)
            _report("wide&deep input stage, batch 1024 (TF ops)", res, "rows_per_sec",
                    "rows/s")
            kernels = _original.interleave({_original.OURS: sides[_original.OURS]},
                                           "wide_deep_input", args.rounds, batch=1024,
                                           batches=batches, mode="kernels")
            _report("  ours with use_kernels=True (numpy_function)", kernels, "rows_per_sec",
                    "rows/s")
            # The floor (measured in the same calls): what a session step over
            # the cached batches costs with no columns at all; original / floor
            # bounds any in-session ratio.
            _report("  floor: no columns, each side's session", res, "floor_rows_per_sec",
                    "rows/s")
            if _original.ORIGINAL in sides:
                _report_floor(res)
        wd_steps = 150 if args.quick else 500
        if run("wide_deep_train"):
            res = _original.interleave(sides, "wide_deep_train", args.rounds, steps=wd_steps,
                                       batch=256)
            _report(f"DNNLinearCombined train({wd_steps}), batch 256", res, "rows_per_sec",
                    "rows/s")
        print("load average after: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    finally:
        _original.stop(sides)


if __name__ == "__main__":
    if _original.is_worker():
        _original.serve({
            "dnn_train": bench_dnn_train,
            "wide_deep_input": bench_wide_deep_input,
            "wide_deep_train": bench_wide_deep_train,
        })
    else:
        main()
