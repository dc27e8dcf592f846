"""The three tasks and which raw contract inputs each model reads."""

from __future__ import annotations

from typing import Sequence

from components.core.contract import AUDIO, TEXT

TER, SER, MER = "ter", "ser", "mer"
TASKS: tuple[str, ...] = (TER, SER, MER)

# Raw inputs of each task's exported `predict_raw` signature (contract feature names).
TASK_INPUTS: dict[str, tuple[str, ...]] = {TER: (TEXT,), SER: (AUDIO,), MER: (TEXT, AUDIO)}


def uses_text(tasks: Sequence[str]) -> bool:
    """Whether any of `tasks` reads text (the Transform then computes text features)."""
    return any(TEXT in TASK_INPUTS[t] for t in tasks)


def uses_audio(tasks: Sequence[str]) -> bool:
    """Whether any of `tasks` reads audio (the Transform then decodes WAV bytes)."""
    return any(AUDIO in TASK_INPUTS[t] for t in tasks)


def validate_tasks(tasks: Sequence[str]) -> tuple[str, ...]:
    """`tasks` as a tuple, or a ValueError naming the unknown ones and the known ones."""
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise ValueError(f"Unknown task(s) {unknown}; tasks are {', '.join(TASKS)}.")
    return tuple(tasks)
