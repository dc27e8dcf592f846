"""Reading what TFMA wrote: overall accuracy and why validation failed."""

from __future__ import annotations

from typing import Optional

from components.core.metrics import TFMA_ACCURACY

ACCURACY = TFMA_ACCURACY  # the metric name is defined once, in components/core/metrics.py


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
    reasons: dict[str, list[str]] = {}  # reason -> slices it failed on ("" = overall)
    for per_slice in result.metric_validations_per_slice:
        where = "" if not per_slice.slice_key.single_slice_keys else " ".join(
            f"{k.column}={k.bytes_value.decode() or k.int64_value or k.float_value}"
            for k in per_slice.slice_key.single_slice_keys)
        for failure in per_slice.failures:
            reasons.setdefault(_failure_text(failure), []).append(where)
    if result.missing_thresholds:
        reasons[f"thresholds with no metric: {list(result.missing_thresholds)}"] = [""]
    out = []
    for reason, slices in reasons.items():
        named = [s for s in slices if s]
        overall = "" in slices
        if not named:
            out.append(reason)
            continue
        which = (f"slice{'s' if len(named) > 1 else ''} {', '.join(named)}" if len(named) <= 3
                 else f"{len(named)} slices (e.g. {', '.join(named[:3])})")
        out.append(f"{reason} {'overall and ' if overall else ''}on {which}")
    return out or ["TFMA validation failed"]


def _failure_text(failure) -> str:
    name = failure.metric_key.name
    if failure.message:  # e.g. "Metric not found.": the value below would read as 0
        return f"{name}: {failure.message.rstrip('.')}"
    value = failure.metric_value.double_value.value
    threshold = failure.metric_threshold
    if threshold.HasField("change_threshold"):
        allowed = -threshold.change_threshold.absolute.value
        return (f"{name} changed by {value:+.4f} versus the last blessed model "
                f"(allowed drop: {allowed:g})")
    return f"{name}={value:.4f} is below the floor {threshold.value_threshold.lower_bound.value:g}"
