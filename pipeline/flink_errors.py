"""A Flink job that ran out of a TaskManager memory pool, said as the setting to raise.

A Beam job on Flink that fails for memory reports a Java stack trace several screens long,
whose one telling line is deep inside. These are the failures a record too big for the cluster
causes (a long clip, a large batch); each maps to the `scripts/flink_cluster.sh` knob that sizes
that pool (docs/scaling.md, "TaskManager memory"), so `mer run` stops with a sentence instead.
"""

from __future__ import annotations

from typing import Optional

from components.core.errors import ConfigurationError

# (text Flink or the JVM puts in the failure, what ran out, the knob that sizes it)
KNOWN_FAILURES = (
    ("Direct buffer memory", "direct (off-heap) memory for the data sent to the Python workers",
     "MER_FLINK_TM_TASK_OFFHEAP"),
    ("Record too large", "a sort buffer of managed memory (a record bigger than one buffer)",
     "MER_FLINK_TM_MANAGED_FRACTION or MER_FLINK_TM_MEMORY"),
    ("Insufficient number of network buffers", "network buffers", "MER_FLINK_TM_NETWORK"),
    ("Java heap space", "the TaskManager's task heap", "MER_FLINK_TM_MEMORY"),
    ("GC overhead limit exceeded", "the TaskManager's task heap", "MER_FLINK_TM_MEMORY"),
)


class FlinkMemoryError(ConfigurationError):
    """A Beam job failed on Flink for a memory pool a `MER_FLINK_*` setting sizes: the cluster's
    configuration is the user's to fix, so the CLI exits 2 with this one sentence."""


def _texts(error: BaseException):
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield str(error)
        error = error.__cause__ or error.__context__


def explain(error: BaseException) -> Optional[FlinkMemoryError]:
    """The FlinkMemoryError naming the knob for `error` (or its causes), else None."""
    text = "\n".join(_texts(error))
    for marker, pool, knob in KNOWN_FAILURES:
        if marker in text:
            return FlinkMemoryError(
                f"a Flink TaskManager ran out of {pool} ({marker!r}): restart the cluster with "
                f"more, e.g. `scripts/flink_cluster.sh stop; {knob.split(' or ')[0]}=... "
                f"scripts/flink_cluster.sh start` (set {knob}; docs/scaling.md, "
                f"'TaskManager memory')")
    return None
