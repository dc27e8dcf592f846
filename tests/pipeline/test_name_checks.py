"""The checks a configuration passes before anything runs agree with what the code accepts."""

from __future__ import annotations

from components.core.model_names import MODEL_NAMES, is_model_name


def test_model_name_check_agrees_with_the_model_zoo():
    """Every name is_model_name accepts builds, and every name it refuses does not."""
    from components.trainer.models.build import parse_model_name

    parts = {n for names in MODEL_NAMES.values() for n in names for n in n.split("+")}
    parts |= {p.split("_")[0] for p in parts}
    candidates = [(t, n) for t in ("ter", "ser") for n in parts]
    candidates += [("mer", f"{a}+{b}") for a in parts for b in parts]
    for task, name in candidates:
        try:
            parse_model_name(task, name)
            builds = True
        except ValueError:
            builds = False
        assert is_model_name(task, name) == builds, (task, name)


def test_runs_list_reads_the_property_the_gate_writes():
    from components.gate.executor import ACCURACY_PROPERTY
    from pipeline import runs_list

    assert runs_list._ACCURACY == ACCURACY_PROPERTY
