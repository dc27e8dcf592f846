"""How far along a long step inside a component is (records ingested, epochs trained).

Why in the core: a component reports its progress without knowing who listens. The local
runner installs a listener that draws a progress bar; elsewhere (Kubeflow, Beam workers in
other processes, tests) nobody listens and a report costs a function call.
"""

from __future__ import annotations

import threading
from typing import Callable, Optional

# Step names the components report and the runner labels.
RECORDS = "records"  # ingestion: sources decoded (written or quarantined)
EPOCHS = "epochs"  # training: epochs finished

Listener = Callable[[str, int, int], None]  # (step, done, total)

_lock = threading.Lock()
_listener: Optional[Listener] = None
_counts: dict[str, list[int]] = {}  # step -> [done, total]


def set_listener(listener: Optional[Listener]) -> None:
    """Installs (or, with None, removes) the one listener of this process."""
    global _listener
    with _lock:
        _listener = listener
        _counts.clear()


def start(step: str, total: int) -> None:
    """A step of `total` units begins (its count restarts at 0)."""
    with _lock:
        _counts[step] = [0, int(total)]
        listener = _listener
    if listener:
        listener(step, 0, int(total))


def advance(step: str, units: int = 1) -> None:
    """`units` more of a started step are done (safe from several threads)."""
    with _lock:
        count = _counts.get(step)
        if count is None or _listener is None:
            return
        count[0] += units
        done, total, listener = count[0], count[1], _listener
    listener(step, done, total)


def report(step: str, done: int, total: int) -> None:
    """`done` of `total` units of a step are finished."""
    with _lock:
        _counts[step] = [int(done), int(total)]
        listener = _listener
    if listener:
        listener(step, int(done), int(total))
