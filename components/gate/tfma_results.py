"""Reading what TFMA wrote: overall accuracy and why validation failed."""

from __future__ import annotations

from typing import Optional

ACCURACY = "sparse_categorical_accuracy"


def overall_metric(eval_dir: str, metric: str = ACCURACY) -> Optional[float]:
    import tensorflow_model_analysis as tfma

    try:
        result = tfma.load_eval_result(eval_dir)
    except Exception:  # noqa: BLE001 - a missing or failed evaluation reads as None
        return None
    for slice_key, metrics in result.slicing_metrics:
        if slice_key:
            continue
        for by_output in metrics.values():
            for by_name in by_output.values():
                value = by_name.get(metric)
                if value is not None:
                    return float(value.get("doubleValue"))
    return None


def validation_failures(eval_dir: str) -> list[str]:
    """Human-readable reasons TFMA refused the model (empty when it passed)."""
    import tensorflow_model_analysis as tfma

    try:
        result = tfma.load_validation_result(eval_dir)
    except Exception as e:  # noqa: BLE001
        return [f"no TFMA validation result in {eval_dir}: {e}"]
    if result.validation_ok:
        return []
    reasons = []
    for per_slice in result.metric_validations_per_slice:
        for failure in per_slice.failures:
            reasons.append(
                f"{failure.metric_key.name}={failure.metric_value.double_value.value:.4f} "
                f"fails {_threshold_text(failure.metric_threshold)} "
                f"(slice: {per_slice.slice_key or 'overall'})".replace("\n", " "))
    if result.missing_thresholds:
        reasons.append(f"thresholds with no metric: {list(result.missing_thresholds)}")
    return reasons or ["TFMA validation failed"]


def _threshold_text(threshold) -> str:
    if threshold.HasField("change_threshold"):
        a = threshold.change_threshold.absolute.value
        return f"change threshold (not worse than the last blessed model by more than {-a:g})"
    lb = threshold.value_threshold.lower_bound.value
    return f"value threshold (at least {lb:g})"
