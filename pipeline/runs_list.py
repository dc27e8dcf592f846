"""`mer runs list`: past runs of every pipeline under an output folder, from ML Metadata.

Each pipeline (`mer-<preset>`) keeps its own store in `<output_dir>/metadata/`; a run is a
`pipeline_run` context there, and what it achieved is on its executions' artifacts: the Gate's
blessing (its `accuracy` property), the Pusher's `pushed` / `pushed_version`. Reading them needs
neither TensorFlow nor the run's folders.
"""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path
from typing import Optional

from pipeline import run_metadata as md


@dataclasses.dataclass
class RunRow:
    started: str  # local time
    preset: str
    tasks: list[str]
    accuracy: dict[str, float]
    pushed: dict[str, str]  # task -> version pushed by this run
    status: str  # "ok", "failed at <node>" or "incomplete"


def list_runs(output_dir: str, preset: Optional[str] = None, last: int = 20) -> list[RunRow]:
    """The newest `last` runs of each pipeline (or of `preset`'s), oldest first."""
    rows = []
    for path in sorted((Path(output_dir) / "metadata").glob("mer-*.sqlite")):
        name = path.stem[len("mer-"):]
        if preset and name != preset:
            continue
        store = md.open_store(str(path))
        for run_id, _ in md.run_ids(store)[-last:]:
            rows.append(_row(name, md.read_run(store, run_id)))
    return sorted(rows, key=lambda r: r.started)


# The Gate's blessing property (components/gate/executor.py ACCURACY_PROPERTY; importing the
# gate would load TensorFlow, which listing runs does not need).
_ACCURACY = "accuracy"


def _row(preset: str, run: md.RunRecord) -> RunRow:
    tasks = sorted(n.split(".", 1)[1] for n in run.nodes if n.startswith("Trainer."))
    accuracy, pushed = {}, {}
    for task in tasks:
        gate = run.node(f"Gate.{task}")
        blessing = gate.output("blessing") if gate and gate.state in ("COMPLETE", "CACHED") \
            else None
        if blessing is not None and blessing.get(_ACCURACY) is not None:
            accuracy[task] = float(blessing.get(_ACCURACY))
        pusher = run.node(f"Pusher.{task}")
        out = pusher.output("pushed_model") if pusher else None
        if pusher and pusher.state == "COMPLETE" and out and out.get("pushed"):
            pushed[task] = str(out.get("pushed_version"))
    failed = [n.node_id for n in run.nodes.values() if n.state == "FAILED"]
    unfinished = [n for n in run.nodes.values() if n.state not in ("COMPLETE", "CACHED")]
    status = f"failed at {failed[0]}" if failed else ("incomplete" if unfinished else "ok")
    started = datetime.datetime.fromtimestamp(run.created_ms / 1000).strftime("%Y-%m-%d %H:%M:%S")
    return RunRow(started=started, preset=preset, tasks=tasks, accuracy=accuracy,
                  pushed=pushed, status=status)


def lines(rows: list[RunRow]) -> list[str]:
    if not rows:
        return ["no runs yet (mer run writes them to <output-dir>/metadata)"]
    out = [f"{'date':<19}  {'preset':<10} {'tasks':<11} {'accuracy':<28} {'pushed':<28} status"]
    for r in rows:
        acc = " ".join(f"{t} {100 * a:.1f}%" for t, a in sorted(r.accuracy.items())) or "-"
        pushed = " ".join(f"{t} v{v}" for t, v in sorted(r.pushed.items())) or "-"
        out.append(f"{r.started:<19}  {r.preset:<10} {','.join(r.tasks) or '-':<11} "
                   f"{acc:<28} {pushed:<28} {r.status}")
    return out
