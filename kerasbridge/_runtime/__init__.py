"""Plumbing behind `kerasbridge.Estimator`: one module per concept.

* `_args`: calling user functions with only the arguments they declare, and
  checking public numeric arguments.
* `_graph`: the fresh graph every Estimator call builds.
* `_inputs`: calling `input_fn` and parsing what it returns.
* `_model_fn`: checking and calling `model_fn`.
* `_checkpoints`: finding, checking and reading checkpoints.
* `_metrics`: turning `eval_metric_ops` into value and update ops.
* `_summaries`: writing evaluation results for TensorBoard.
* `_train`, `_evaluate`, `_predict`: the three session loops.
* `_cluster`: TF_CONFIG clusters: servers, ps placement, chief/worker session
  creators; `_cluster_roles`: what each task does in `train_and_evaluate`;
  `_cluster_launcher`: the loopback cluster behind `python -m
  kerasbridge.cluster`.

Export (SavedModel) will live beside these as its own module.
"""
