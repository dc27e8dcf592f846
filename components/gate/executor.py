"""Gate executor: TFMA's verdict AND 'at least as good as the best baseline'."""

from __future__ import annotations

import os
from typing import Any

from tfx import types
from tfx.components.evaluator import constants
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import io_utils

from components.artifacts import read_baseline_metrics, write_verdict
from components.gate import tfma_results

# The blessing's custom property holding the model's overall eval accuracy.
ACCURACY_PROPERTY = "accuracy"


def decide(
    accuracy: float | None, tfma_failures: list[str], baselines: dict, margin: float
) -> tuple[bool, list[str]]:
    """Returns (blessed, reasons). Reasons list every check that failed."""
    reasons = list(tfma_failures)
    if accuracy is None:
        reasons.append("no overall accuracy in the evaluation")
    else:
        best = baselines["best"]
        best_acc = baselines["models"][best]["accuracy"]
        if accuracy + margin < best_acc:
            reasons.append(
                f"accuracy {accuracy:.4f} is below the best baseline {best} ({best_acc:.4f})"
                + (f" minus margin {margin:g}" if margin else ""))
    return not reasons, reasons


def margin_notes(blessed: bool, accuracy: float | None, baselines: dict,
                 margin: float) -> list[str]:
    """What a user should know about a blessing: a model that trails a baseline is blessed
    only because of the configured margin, and the run summary says so."""
    best = baselines["best"]
    best_acc = baselines["models"][best]["accuracy"]
    if not blessed or accuracy is None or accuracy >= best_acc:
        return []
    return [f"trails the best baseline {best} ({best_acc:.4f}) by {best_acc - accuracy:.4f}, "
            f"within the configured baseline margin {margin:g}"]


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict: dict[str, list[types.Artifact]],
           output_dict: dict[str, list[types.Artifact]], exec_properties: dict[str, Any]) -> None:
        model = artifact_utils.get_single_instance(input_dict["model"])
        evaluation = artifact_utils.get_single_instance(input_dict["evaluation"])
        baselines = read_baseline_metrics(
            artifact_utils.get_single_instance(input_dict["baselines"]).uri)
        blessing = artifact_utils.get_single_instance(output_dict["blessing"])

        accuracy = tfma_results.overall_metric(evaluation.uri)
        failures = tfma_results.validation_failures(evaluation.uri)
        blessed, reasons = decide(accuracy, failures, baselines,
                                  float(exec_properties.get("baseline_margin") or 0.0))
        notes = margin_notes(blessed, accuracy, baselines,
                             float(exec_properties.get("baseline_margin") or 0.0))
        verdict = {
            "blessed": blessed, "reasons": reasons, "notes": notes, "accuracy": accuracy,
            "best_baseline": baselines["best"],
            "best_baseline_accuracy": baselines["models"][baselines["best"]]["accuracy"],
            "baselines": {k: v["accuracy"] for k, v in baselines["models"].items()},
        }
        write_verdict(blessing.uri, verdict)
        io_utils.write_string_file(
            os.path.join(blessing.uri, "BLESSED" if blessed else "NOT_BLESSED"), "")
        blessing.set_int_custom_property(constants.ARTIFACT_PROPERTY_BLESSED_KEY, int(blessed))
        blessing.set_string_custom_property(
            constants.ARTIFACT_PROPERTY_CURRENT_MODEL_URI_KEY, model.uri)
        blessing.set_int_custom_property(
            constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY, model.id)
        if accuracy is not None:  # in ML Metadata too, so `mer runs list` needs no files
            blessing.set_float_custom_property(ACCURACY_PROPERTY, accuracy)
        print(f"gate: {'BLESSED' if blessed else 'NOT blessed'}" +
              ("" if blessed else ": " + "; ".join(reasons)))
