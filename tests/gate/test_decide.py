"""The gate's decision: TFMA's verdict and 'at least the best baseline'."""

from __future__ import annotations

from components.gate.executor import decide, margin_notes

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


def test_summary_says_when_a_blessed_model_trails_a_baseline_within_the_margin():
    from pipeline.run_summary import RunSummary, TaskSummary

    blessed, _ = decide(0.58, [], BASELINES, margin=0.03)
    notes = margin_notes(blessed, 0.58, BASELINES, margin=0.03)
    task = TaskSummary(task="ser", accuracy=0.58, blessed=blessed, reasons=[],
                       best_baseline="linsvm", best_baseline_accuracy=0.60, pushed_version="1",
                       pushed_this_run=True, serving_dir="/s/ser", notes=notes)
    line = RunSummary([task], {}).lines()[0]
    assert "blessed (trails the best baseline linsvm (0.6000) by 0.0200" in line
    assert "margin 0.03" in line
    assert margin_notes(True, 0.61, BASELINES, margin=0.03) == []
