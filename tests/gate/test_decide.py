"""The gate's decision: TFMA's verdict and 'at least the best baseline'."""

from __future__ import annotations

from components.gate.executor import decide

BASELINES = {"best": "linsvm", "models": {"linsvm": {"accuracy": 0.60}, "mnb": {"accuracy": 0.5}}}


def test_blessed_when_tfma_passes_and_model_beats_best_baseline():
    assert decide(0.61, [], BASELINES, margin=0.0) == (True, [])


def test_refused_below_best_baseline_with_reason_naming_it():
    blessed, reasons = decide(0.55, [], BASELINES, margin=0.0)
    assert not blessed
    assert "linsvm" in reasons[0] and "0.6000" in reasons[0]


def test_margin_lets_a_model_trail_the_baseline_slightly():
    assert decide(0.59, [], BASELINES, margin=0.02)[0]
    assert not decide(0.57, [], BASELINES, margin=0.02)[0]


def test_tfma_failures_are_kept_as_reasons():
    blessed, reasons = decide(0.9, ["accuracy fails change threshold"], BASELINES, margin=0.0)
    assert not blessed and reasons == ["accuracy fails change threshold"]


def test_missing_accuracy_refuses():
    blessed, reasons = decide(None, [], BASELINES, margin=0.0)
    assert not blessed and "no overall accuracy" in reasons[0]
