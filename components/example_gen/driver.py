"""EmotionExampleGen's driver: the dataset's fingerprint, taken when the component runs.

ExampleGen reads files TFX knows nothing about, so TFX's cache cannot see that a dataset
changed. TFX's own FileBasedExampleGen solves this with a driver that fingerprints its input
files before the cache lookup; this is the same for a dataset tree: the fingerprint (every
file's relative name, size and modification time) becomes the `input_fingerprint` execution
property, part of the cache key, and a custom property of the examples it produced. It runs
on the machine that orchestrates, at run time, so it sees what the executor will read on every
Beam runner (direct, Flink, Dataflow), and reads `gs://` data roots through `tfx.dsl.io.fileio`.
On Kubeflow the same function runs in the compiled pre-cache hook (`kubeflow/runner.py`).
"""

from __future__ import annotations

import copy
import hashlib
import os
import posixpath
from typing import Any

from tfx.dsl.components.base import base_driver
from tfx.dsl.io import fileio
from tfx.orchestration import data_types, data_types_utils, metadata
from tfx.orchestration.portable import base_driver as ir_base_driver
from tfx.orchestration.portable import data_types as portable_data_types
from tfx.proto.orchestration import driver_output_pb2
from tfx.types.standard_component_specs import EXAMPLES_KEY

# TFX's name for it (tfx.components.example_gen.utils.FINGERPRINT_PROPERTY_NAME), so tools that
# read ExampleGen lineage find it where they look.
FINGERPRINT_PROPERTY = "input_fingerprint"
DATA_ROOT = "data_root"


def dataset_fingerprint(root: str) -> str:
    """A hash of the relative name, size and modification time of every file under root.

    root may be a folder or a manifest file (then its folder, which holds the files it names,
    is fingerprinted too). Order-independent; any renamed, resized or touched file changes it;
    contents are not read, so it costs one stat per file. Local trees are read with os.stat
    (nanosecond mtimes: TensorFlow's local stat rounds to seconds); URLs (gs://...) with fileio.
    """
    entries = _remote_entries(root) if "://" in root else _local_entries(root)
    h = hashlib.sha256()
    for entry in sorted(entries):
        h.update(entry.encode() + b"\n")
    return f"files:{len(entries)},sha256:{h.hexdigest()[:32]}"


def _missing(root: str) -> FileNotFoundError:
    return FileNotFoundError(
        f"Data root {root} does not exist: cannot fingerprint the dataset. Pass --data-root "
        f"pointing at the dataset (docs/datasets.md).")


def _local_entries(root: str) -> list[str]:
    if not os.path.exists(root):
        raise _missing(root)
    entries = []
    if os.path.isfile(root):
        st = os.stat(root)
        entries.append(f"{os.path.basename(root)}|{st.st_size}|{st.st_mtime_ns}")
        root = os.path.dirname(root) or "."
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            st = os.stat(path)
            entries.append(f"{os.path.relpath(path, root)}|{st.st_size}|{st.st_mtime_ns}")
    return entries


def _remote_entries(root: str) -> list[str]:
    if not fileio.exists(root):
        raise _missing(root)
    entries = []
    if not fileio.isdir(root):
        st = fileio.stat(root)
        entries.append(f"{posixpath.basename(root)}|{st.length}|{st.mtime_nsec}")
        root = posixpath.dirname(root)
    base = root.rstrip("/")
    for dirpath, _, files in fileio.walk(root):
        for name in files:
            path = posixpath.join(str(dirpath).rstrip("/"), str(name).rstrip("/"))
            st = fileio.stat(path)
            entries.append(f"{path[len(base):].lstrip('/')}|{st.length}|{st.mtime_nsec}")
    return entries


class Driver(base_driver.BaseDriver, ir_base_driver.BaseDriver):
    """Adds the data root's fingerprint to the execution properties before the cache lookup.

    The fingerprint is also set on the artifact of `OUTPUT_KEY`, so the output names the data
    it was made from; another component reading a data root subclasses this and names its own.
    """

    OUTPUT_KEY = EXAMPLES_KEY

    def __init__(self, metadata_handle: metadata.Metadata):
        base_driver.BaseDriver.__init__(self, metadata_handle)
        ir_base_driver.BaseDriver.__init__(self, metadata_handle)

    def resolve_exec_properties(
        self,
        exec_properties: dict[str, Any],
        pipeline_info: data_types.PipelineInfo,
        component_info: data_types.ComponentInfo,
    ) -> dict[str, Any]:
        """The legacy (non-IR) launchers' hook."""
        del pipeline_info, component_info
        exec_properties[FINGERPRINT_PROPERTY] = dataset_fingerprint(exec_properties[DATA_ROOT])
        return exec_properties

    def run(
        self, execution_info: portable_data_types.ExecutionInfo
    ) -> driver_output_pb2.DriverOutput:
        """The IR-based launchers' hook (LocalDagRunner and the Beam/Flink/Dataflow runs)."""
        exec_properties = dict(execution_info.exec_properties)
        fingerprint = dataset_fingerprint(exec_properties[DATA_ROOT])
        exec_properties[FINGERPRINT_PROPERTY] = fingerprint
        result = driver_output_pb2.DriverOutput()
        for key, value in exec_properties.items():
            if value is not None:
                data_types_utils.set_metadata_value(result.exec_properties[key], value)
        output = copy.deepcopy(execution_info.output_dict[self.OUTPUT_KEY][0].mlmd_artifact)
        output.custom_properties[FINGERPRINT_PROPERTY].string_value = fingerprint
        result.output_artifacts[self.OUTPUT_KEY].artifacts.append(output)
        return result
