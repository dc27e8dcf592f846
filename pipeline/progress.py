"""The terminal side of a local run: one line per component (name, task, ran or cached,
elapsed) and a progress bar while a step with a known count runs.

Why a launcher hook: TFX's LocalDagRunner runs the components one after another in this
process through `portable.launcher.Launcher`; a subclass that reports each launch sees every
component start and finish, and ML Metadata then says whether it ran or came from the cache.
Resolver nodes (system nodes, instantaneous) are not shown.
"""

from __future__ import annotations

import contextlib
import threading
import time
import types
from typing import Iterator, Optional, TextIO

from components.core import progress

# How a finished component is shown, from its execution's state in ML Metadata.
RAN, CACHED, FAILED = "ran", "cached", "FAILED"
_STEP_UNITS = {progress.RECORDS: "records", progress.EPOCHS: "epochs"}


class ComponentLines:
    """Writes the component lines and bars to `console` (a terminal or any text stream)."""

    def __init__(self, console: TextIO, total: int, tty: Optional[bool] = None,
                 separate_lines: bool = False):
        self._out = console
        self._total = total
        self._tty = console.isatty() if tty is None else tty
        # With logs on the same terminal (--verbose) a line cannot be left open.
        self._separate = separate_lines
        self._lock = threading.Lock()
        self._index = 0
        self._current: Optional[tuple[str, float]] = None
        self._bar = None
        self.finished: list[tuple[str, str, float]] = []  # (node id, state, seconds)
        self.run_id: Optional[str] = None

    def _label(self, node_id: str) -> str:
        name, _, task = node_id.partition(".")
        return f"{self._index:>3}/{self._total} {name:<19} {task:<4}"

    def started(self, node_id: str) -> None:
        with self._lock:
            self._index += 1
            self._current = (node_id, time.monotonic())
            label = self._label(node_id)
            if self._separate:
                self._out.write(f"{label} started\n")
            else:
                self._out.write(label + " ")
            self._out.flush()

    def step(self, step: str, done: int, total: int) -> None:
        """A progress listener (`components.core.progress`): draws a bar on a terminal."""
        if not self._tty or self._separate or self._current is None or total <= 0:
            return
        with self._lock:
            if self._bar is None:
                from tqdm import tqdm

                self._out.write("\r")
                self._bar = tqdm(total=total, desc=self._label(self._current[0]),
                                 unit=" " + _STEP_UNITS.get(step, step), file=self._out,
                                 leave=False, dynamic_ncols=True, mininterval=0.2)
            self._bar.total = total
            self._bar.n = min(done, total)
            self._bar.refresh()

    def done(self, node_id: str, state: str) -> None:
        with self._lock:
            started = self._current[1] if self._current else time.monotonic()
            seconds = time.monotonic() - started
            if self._bar is not None:
                self._bar.close()
                self._bar = None
            end = f"{state:<7}{seconds:7.1f} s\n"
            if self._separate:
                self._out.write(f"{self._label(node_id)} {end}")
            elif self._tty:
                self._out.write(f"\r\x1b[K{self._label(node_id)} {end}")
            else:
                self._out.write(end)
            self._out.flush()
            self.finished.append((node_id, state, seconds))
            self._current = None


def shown_nodes(ir) -> list[str]:
    """Ids of the compiled pipeline's nodes that get a line (not the resolvers)."""
    return [n.pipeline_node.node_info.id for n in ir.nodes
            if not n.pipeline_node.node_info.type.name.endswith(".Resolver")]


@contextlib.contextmanager
def reporting_launches(lines: ComponentLines) -> Iterator[None]:
    """Within the block, LocalDagRunner's launches report to `lines` (and progress too)."""
    from tfx.orchestration.local import local_dag_runner
    from tfx.orchestration.portable import launcher as portable_launcher

    class ReportingLauncher(portable_launcher.Launcher):
        def launch(self):
            if self._system_node_handler:
                return super().launch()
            node_id = self._pipeline_node.node_info.id
            lines.run_id = self._pipeline_runtime_spec.pipeline_run_id.field_value.string_value
            lines.started(node_id)
            try:
                info = super().launch()
            except BaseException:
                lines.done(node_id, FAILED)
                raise
            lines.done(node_id, self._state(info))
            return info

        def _state(self, info) -> str:
            if info is None:
                return CACHED
            from ml_metadata.proto import metadata_store_pb2

            with self._mlmd_connection as m:
                [execution] = m.store.get_executions_by_id([info.execution_id])
            cached = execution.last_known_state == metadata_store_pb2.Execution.CACHED
            return CACHED if cached else RAN

    original = local_dag_runner.launcher
    local_dag_runner.launcher = types.SimpleNamespace(Launcher=ReportingLauncher)
    progress.set_listener(lines.step)
    try:
        yield
    finally:
        local_dag_runner.launcher = original
        progress.set_listener(None)
