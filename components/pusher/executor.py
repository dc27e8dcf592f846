"""The Pusher's executor: a version becomes visible to model servers only once it is complete.

TFX's stock Pusher copies the model straight into `<base>/<version>/` (saved_model.pb last), so
a push that is interrupted (a killed run, a full disk) leaves a half-written version folder that
TF Serving and the in-process backend then try to serve. This executor keeps the stock
Pusher's blessing check, versioning, archive copy and ML Metadata properties (`pushed`,
`pushed_destination`, `pushed_version`: what pipeline/run_summary.py reads), and changes how
the version folder appears:

1. copy the model into a staging folder `<base>/.push-<version>-<pid>` (not a number, so
   servers ignore it);
2. load the staged copy in this process and replay its warm-up requests
   (`components.core.saved_model_check`, what TFX's InfraValidator does in a server);
3. rename it to `<base>/<version>`: one rename, atomic on a local or POSIX filesystem.

A failure at any step removes the staging folder, publishes nothing and fails the component
with the reason; staging folders left by a killed push are removed by the next push.

    tfx.components.Pusher(..., custom_executor_spec=executor_spec.ExecutorClassSpec(Executor))
"""

from __future__ import annotations

import os
import time
from typing import Any, Dict, List

from absl import logging
from tfx import types
from tfx.components.pusher import executor as tfx_pusher
from tfx.dsl.io import fileio
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils, proto_utils

from components.core.saved_model_check import VersionCheckError, load_checked

STAGING_PREFIX = ".push-"


class PushError(RuntimeError):
    """The push did not publish a version; the message says why and what to do."""


class Executor(tfx_pusher.Executor):
    """Stock Pusher semantics, with staged, checked, atomically renamed versions."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]],
           output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        model_push = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.PUSHED_MODEL_KEY])
        if not self.CheckBlessing(input_dict):
            self._MarkNotPushed(model_push)
            return
        model_path = self.GetModelPath(input_dict)
        destination = pusher_pb2.PushDestination()
        proto_utils.json_to_proto(
            exec_properties[standard_component_specs.PUSH_DESTINATION_KEY], destination)
        if destination.WhichOneof("destination") != "filesystem":
            raise NotImplementedError(
                f"push destination {destination.WhichOneof('destination')!r}: this Pusher "
                f"writes to a filesystem (push_destination.filesystem.base_directory)")
        fs = destination.filesystem
        if fs.versioning not in (pusher_pb2.Versioning.AUTO,
                                 pusher_pb2.Versioning.UNIX_TIMESTAMP):
            raise NotImplementedError(f"versioning {fs.versioning}: only UNIX_TIMESTAMP")
        version = str(int(time.time()))
        serving_path = publish_version(model_path, fs.base_directory, version)
        io_utils.copy_dir(model_path, model_push.uri)  # the archive copy, as the stock Pusher
        self._MarkPushed(model_push, pushed_destination=serving_path, pushed_version=version)
        logging.info("Model pushed to %s (version %s).", serving_path, version)


def publish_version(model_path: str, base_directory: str, version: str) -> str:
    """Copy `model_path` to `<base_directory>/<version>` through a checked staging folder.

    Returns the version folder. If it already exists (same second, a re-run of the same
    execution) nothing is copied, as with the stock Pusher. Raises PushError, having removed
    what it wrote, if copying, loading or warm-up fails.
    """
    serving_path = os.path.join(base_directory, version)
    if fileio.exists(serving_path):
        logging.info("Destination %s already exists, skipping the copy.", serving_path)
        return serving_path
    fileio.makedirs(base_directory)
    remove_stale_staging(base_directory)
    staging = os.path.join(base_directory, f"{STAGING_PREFIX}{version}-{os.getpid()}")
    try:
        # saved_model.pb last, as the stock Pusher: a reader of the staging folder never sees
        # a saved_model.pb whose variables are still being copied.
        io_utils.copy_dir(model_path, staging, deny_regex_patterns=[r"saved_model\.pb"])
        io_utils.copy_file(os.path.join(model_path, "saved_model.pb"),
                           os.path.join(staging, "saved_model.pb"))
    except Exception as e:  # noqa: BLE001 - disk full, permissions, remote store errors
        _remove(staging)
        raise PushError(
            f"pushing {model_path} to {base_directory} failed while copying ({_reason(e)}); "
            f"nothing was published and the served versions are unchanged. Free space or fix "
            f"access to {base_directory}, then rerun (the run resumes from its cache).") from e
    try:
        load_checked(staging)
    except VersionCheckError as e:
        _remove(staging)
        raise PushError(
            f"the model at {model_path} was not pushed: the copy {e.reason}; the served "
            f"versions are unchanged. Re-run the Trainer (`mer run --no-cache`) or check "
            f"the export.") from e
    try:
        fileio.rename(staging, serving_path)
    except Exception as e:  # noqa: BLE001
        _remove(staging)
        raise PushError(f"could not move the checked copy into {serving_path} ({_reason(e)}); "
                        f"nothing was published. Rerun the pipeline.") from e
    logging.info("Model checked and written to serving path %s.", serving_path)
    return serving_path


def remove_stale_staging(base_directory: str) -> None:
    """Remove staging folders left by pushes that were killed (one Pusher per model base)."""
    for name in fileio.listdir(base_directory):
        name = name.rstrip("/")
        if name.startswith(STAGING_PREFIX):
            logging.warning("Removing %s, left by an interrupted push.", name)
            _remove(os.path.join(base_directory, name))


def _remove(path: str) -> None:
    try:
        if fileio.exists(path):
            fileio.rmtree(path)
    except Exception as e:  # noqa: BLE001 - cleanup must not hide the original error
        logging.warning("could not remove %s: %s", path, e)


def _reason(e: BaseException) -> str:
    errno = getattr(e, "errno", None)
    text = getattr(e, "message", None) or str(e) or type(e).__name__
    return (os.strerror(errno) if isinstance(errno, int) else text.splitlines()[0])
