"""The component lines and progress bars `mer run` draws, on a terminal and in a pipe."""

from __future__ import annotations

import io

from components.core import progress
from pipeline.progress import CACHED, RAN, ComponentLines


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_in_a_pipe_each_component_is_one_line_and_bars_stay_out():
    out = io.StringIO()
    lines = ComponentLines(out, total=2)
    progress.set_listener(lines.step)
    try:
        lines.started("EmotionExampleGen")
        progress.start(progress.RECORDS, 10)
        for _ in range(10):
            progress.advance(progress.RECORDS)
        lines.done("EmotionExampleGen", RAN)
        lines.started("Trainer.ser")
        lines.done("Trainer.ser", CACHED)
    finally:
        progress.set_listener(None)
    text = out.getvalue().splitlines()
    assert len(text) == 2
    assert text[0].startswith("  1/2 EmotionExampleGen") and " ran " in text[0]
    assert text[1].split()[1:4] == ["Trainer", "ser", "cached"]
    assert [f[:2] for f in lines.finished] == [("EmotionExampleGen", RAN), ("Trainer.ser", CACHED)]


def test_on_a_terminal_a_bar_counts_epochs_and_the_line_is_rewritten():
    out = _Terminal()
    lines = ComponentLines(out, total=1)
    progress.set_listener(lines.step)
    try:
        lines.started("Trainer.ter")
        progress.start(progress.EPOCHS, 4)
        for epoch in range(1, 5):
            progress.report(progress.EPOCHS, epoch, 4)
        lines.done("Trainer.ter", RAN)
    finally:
        progress.set_listener(None)
    text = out.getvalue()
    assert "4/4" in text and "epochs" in text  # the bar reached the end
    assert text.endswith("s\n") and text.count("\n") == 1  # one finished line
    assert "\r\x1b[K" in text  # the bar was cleared before it


def test_without_a_listener_reports_cost_nothing():
    progress.set_listener(None)
    progress.start(progress.RECORDS, 3)
    progress.advance(progress.RECORDS)
    progress.report(progress.EPOCHS, 1, 2)  # no error, no output
