"""What ML Metadata recorded about a pipeline's runs: per node, the execution's state and its
output artifacts.

Why MLMD and not the output folders: TFX records every execution (ran, cached, failed) with
the artifacts it produced or reused, and components record facts on them (the Pusher's
`pushed` and `pushed_version`, the Evaluator's and the Gate's blessing). The run summary, the
report and `mer runs list` read them here, so none of them guesses from folder names or mtimes.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Optional

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

PIPELINE, PIPELINE_RUN, NODE = "pipeline", "pipeline_run", "node"
_STATE_NAMES = {v: k for k, v in metadata_store_pb2.Execution.State.items()}


@dataclasses.dataclass
class ArtifactRecord:
    id: int
    uri: str
    type: str
    properties: dict[str, Any]  # properties and custom properties, as plain values

    def get(self, key: str, default: Any = None) -> Any:
        return self.properties.get(key, default)


@dataclasses.dataclass
class NodeRecord:
    node_id: str
    state: str  # COMPLETE (ran), CACHED, FAILED, RUNNING, ...
    execution_id: int
    started_ms: int
    finished_ms: int
    outputs: dict[str, list[ArtifactRecord]]

    @property
    def seconds(self) -> float:
        return max(0.0, (self.finished_ms - self.started_ms) / 1000)

    def output(self, key: str) -> Optional[ArtifactRecord]:
        found = self.outputs.get(key) or []
        return found[0] if found else None


@dataclasses.dataclass
class RunRecord:
    pipeline: str
    run_id: str
    created_ms: int
    nodes: dict[str, NodeRecord]  # by node id, in execution order

    def node(self, node_id: str) -> Optional[NodeRecord]:
        return self.nodes.get(node_id)


def open_store(metadata_path: str) -> metadata_store.MetadataStore:
    if not os.path.exists(metadata_path):
        raise FileNotFoundError(f"no ML Metadata store at {metadata_path}; run `mer run` first")
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = metadata_path
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    return metadata_store.MetadataStore(config)


def run_ids(store: metadata_store.MetadataStore) -> list[tuple[str, int]]:
    """(run id, creation time in ms) of every run, oldest first."""
    runs = store.get_contexts_by_type(PIPELINE_RUN)
    return sorted(((c.name, c.create_time_since_epoch) for c in runs), key=lambda r: r[1])


def read_run(store: metadata_store.MetadataStore, run_id: Optional[str] = None) -> RunRecord:
    """A run (default: the newest) with every node's execution and outputs."""
    if run_id is None:
        ids = run_ids(store)
        if not ids:
            raise ValueError("the metadata store holds no pipeline run yet")
        run_id = ids[-1][0]
    run = store.get_context_by_type_and_name(PIPELINE_RUN, run_id)
    if run is None:
        raise ValueError(f"no run {run_id!r} in the metadata store")
    executions = sorted(store.get_executions_by_context(run.id), key=lambda e: e.id)
    node_of = _node_ids(store, [e.id for e in executions])
    outputs = _outputs(store, [e.id for e in executions])
    pipeline = [c.name for c in store.get_contexts_by_type(PIPELINE)]
    nodes = {}
    for e in executions:
        node_id = node_of.get(e.id)
        if node_id is None:
            continue
        nodes[node_id] = NodeRecord(
            node_id=node_id, state=_STATE_NAMES.get(e.last_known_state, "UNKNOWN"),
            execution_id=e.id, started_ms=e.create_time_since_epoch,
            finished_ms=e.last_update_time_since_epoch, outputs=outputs.get(e.id, {}))
    return RunRecord(pipeline=pipeline[0] if pipeline else "", run_id=run_id,
                     created_ms=run.create_time_since_epoch, nodes=nodes)


def latest_output(metadata_path: str, node_id: str, key: str) -> Optional[str]:
    """URI of what `node_id` output (or reused from the cache) under `key` in the newest run;
    None when that run has no such node or output. Tests and tools that need one artifact's
    folder ask MLMD rather than globbing `<root>/<node>/<key>/<n>`, which a cached run leaves
    pointing at an older execution's folder."""
    store = open_store(metadata_path)
    node = read_run(store).node(node_id)
    record = node.output(key) if node else None
    return record.uri if record else None


def _node_ids(store, execution_ids: list[int]) -> dict[int, str]:
    """Execution id -> node id (TFX names a node's context `<pipeline>.<node id>`)."""
    node_type = store.get_context_type(NODE).id
    out = {}
    for e in execution_ids:
        for ctx in store.get_contexts_by_execution(e):
            if ctx.type_id == node_type:
                out[e] = ctx.name.split(".", 1)[1] if "." in ctx.name else ctx.name
    return out


def _outputs(store, execution_ids: list[int]) -> dict[int, dict[str, list[ArtifactRecord]]]:
    if not execution_ids:
        return {}
    kinds = (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)
    events = [e for e in store.get_events_by_execution_ids(execution_ids) if e.type in kinds]
    artifacts = {a.id: a for a in store.get_artifacts_by_id({e.artifact_id for e in events})}
    types = {t.id: t.name for t in store.get_artifact_types()}
    out: dict[int, dict[str, list[ArtifactRecord]]] = {}
    for event in events:
        a = artifacts.get(event.artifact_id)
        if a is None or not event.path.steps:
            continue
        record = ArtifactRecord(id=a.id, uri=a.uri, type=types.get(a.type_id, ""),
                                properties={k: _value(v) for props in (a.properties,
                                            a.custom_properties) for k, v in props.items()})
        key = event.path.steps[0].key
        out.setdefault(event.execution_id, {}).setdefault(key, []).append(record)
    return out


def _value(value: metadata_store_pb2.Value) -> Any:
    kind = value.WhichOneof("value")
    if kind == "struct_value":
        from google.protobuf import json_format

        return json_format.MessageToDict(value.struct_value)
    return getattr(value, kind) if kind else None
