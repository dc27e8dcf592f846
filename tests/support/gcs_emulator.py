"""A Google Cloud Storage emulator on loopback, with Beam's and TFX's gs:// pointed at it.

What works here, and what does not (docs/scaling.md):
- Beam's GCS file system (google-cloud-storage) honours STORAGE_EMULATOR_HOST, so Beam
  transforms (WriteToTFRecord, WriteToText, ReadFromTFRecord) run against the emulator.
- TensorFlow's own GCS client cannot be pointed at one: TF 2.16's built-in client has no
  endpoint setting, and tensorflow-io's modular GCS plugin (which reads
  CLOUD_STORAGE_EMULATOR_ENDPOINT) crashes here on its first request. So `tfx.dsl.io.fileio`'s
  gs:// (which TFX hands to tf.io.gfile) is routed to Beam's file system for the test's
  duration. Executors that go through fileio or Beam are tested on gs:// this way; the ones
  that read through tf.io.gfile/tf.data themselves are tested on TF's in-memory ram://.
- The emulator is gcp-storage-emulator (PyPI), in-process; fake-gcs-server (the Go module)
  rejects the batch requests Beam uses to rename files after a write.
No request leaves 127.0.0.1: credentials lookup is disabled and the metadata server is aimed at
a closed loopback port.
"""

from __future__ import annotations

import contextlib
import io
import posixpath
import socket
import types
from typing import Iterator

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from tfx.dsl.io import filesystem, filesystem_registry

SCHEME = "gs://"


class BeamGcsFilesystem(filesystem.Filesystem):
    """tfx.dsl.io.fileio's gs:// through Beam's FileSystems (GCS has objects, not folders)."""

    SUPPORTED_SCHEMES = [SCHEME]

    @staticmethod
    def open(name, mode="r"):
        binary = "b" in mode
        if mode.startswith("r"):
            f = FileSystems.open(name, compression_type=CompressionTypes.UNCOMPRESSED)
        elif mode.startswith("w"):
            f = FileSystems.create(name, compression_type=CompressionTypes.UNCOMPRESSED)
        else:
            raise ValueError(f"mode {mode!r} is not supported on gs://")
        return f if binary else io.TextIOWrapper(f, encoding="utf-8")

    @staticmethod
    def _objects(prefix: str) -> list:
        result = FileSystems.match([prefix.rstrip("/") + "/**"])[0]
        return result.metadata_list

    @staticmethod
    def exists(path) -> bool:
        return FileSystems.exists(path) or BeamGcsFilesystem.isdir(path)

    @staticmethod
    def glob(pattern) -> list:
        return [m.path for m in FileSystems.match([pattern])[0].metadata_list]

    @staticmethod
    def isdir(path) -> bool:
        return bool(BeamGcsFilesystem._objects(path))

    @staticmethod
    def listdir(path) -> list:
        base = path.rstrip("/") + "/"
        return sorted({m.path[len(base):].split("/")[0]
                       for m in BeamGcsFilesystem._objects(path)})

    @staticmethod
    def makedirs(path) -> None:
        """Nothing to do: a GCS 'folder' exists once an object is under it."""

    mkdir = makedirs

    @staticmethod
    def remove(path) -> None:
        FileSystems.delete([path])

    @staticmethod
    def rename(src, dst, overwrite=False) -> None:
        FileSystems.rename([src], [dst])

    @staticmethod
    def copy(src, dst, overwrite=False) -> None:
        FileSystems.copy([src], [dst])

    @staticmethod
    def rmtree(path) -> None:
        objects = BeamGcsFilesystem._objects(path)
        if objects:
            FileSystems.delete([m.path for m in objects])

    @staticmethod
    def stat(path):
        meta = FileSystems.match([path])[0].metadata_list[0]
        return types.SimpleNamespace(length=meta.size_in_bytes, is_directory=False,
                                     mtime_nsec=int(meta.last_updated_in_seconds * 1e9))

    @staticmethod
    def walk(top, topdown=True, onerror=None):
        base = top.rstrip("/")
        tree: dict[str, tuple[set, list]] = {base: (set(), [])}
        for m in BeamGcsFilesystem._objects(top):
            parts = m.path[len(base) + 1:].split("/")
            folder = base
            for part in parts[:-1]:
                tree.setdefault(folder, (set(), []))[0].add(part)
                folder = posixpath.join(folder, part)
            tree.setdefault(folder, (set(), []))[1].append(parts[-1])
        for folder in sorted(tree):
            subdirs, files = tree[folder]
            yield folder, sorted(subdirs), sorted(files)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gcs_emulator(monkeypatch, bucket: str = "mer-test") -> Iterator[str]:
    """Starts the emulator with one bucket; yields gs://<bucket>. Everything is undone after."""
    from apache_beam.internal.gcp import auth
    from gcp_storage_emulator.server import create_server

    port = _free_port()
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket=bucket)
    server.start()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
    # Anonymous access, and no metadata-server probe leaving the machine.
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:9")
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    monkeypatch.setattr(auth._Credentials, "_credentials_init", True)
    monkeypatch.setattr(auth._Credentials, "_credentials", None)
    registry = filesystem_registry.DEFAULT_FILESYSTEM_REGISTRY
    monkeypatch.setitem(registry._preferred_filesystem_by_scheme, SCHEME, BeamGcsFilesystem)
    try:
        yield f"{SCHEME}{bucket}"
    finally:
        server.stop()
