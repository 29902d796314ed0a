"""`Exporter`: the interface `train_and_evaluate` calls after each evaluation.

Concrete exporters (`LatestExporter`, `BestExporter`, `FinalExporter`) build
on this class.
"""

import abc


class Exporter(abc.ABC):
    """A class representing a type of model export.

    `train_and_evaluate` calls `export` after every evaluation with
    `export_path=<model_dir>/export/<name>`.
    """

    @property
    @abc.abstractmethod
    def name(self):
        """Directory name under `<model_dir>/export/`; must be a non-empty,
        unique string among an `EvalSpec`'s exporters."""

    @abc.abstractmethod
    def export(
        self,
        estimator,
        export_path,
        checkpoint_path,
        eval_result,
        is_the_final_export,
    ):
        """Exports the given `Estimator` to a specific format.

        Args:
          estimator: The `Estimator` to export.
          export_path: Directory under which the export is written.
          checkpoint_path: The checkpoint that was just evaluated.
          eval_result: The metrics dict returned by `Estimator.evaluate`.
          is_the_final_export: True when training reached `max_steps`.

        Returns:
          The string path to the exported directory, or `None` if nothing was
          exported.
        """
