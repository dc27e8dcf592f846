"""Code versions: a hash of the project source a component runs, for TFX's cache key.

Why: TFX keys a cached execution on its parameters and inputs, and references module code
(`preprocessing_fn`, `run_fn`, custom executors) only by its import path. Without a hash of
that code, editing `audio_features.py` or a model and rerunning would silently reuse the stale
transform graph or model. Each component is given the hash of the packages it runs, computed
when the pipeline is compiled from the installed package's files, so an edit reruns that
component and what depends on it, and nothing else.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path
from typing import Iterable

# The project packages each component's code comes from (the core is under all of them).
EXAMPLE_GEN = ("components.example_gen", "components.artifacts", "components.core")
TRANSFORM = ("components.transform", "components.core")
TRAINER = ("components.trainer", "components.transform", "components.core")
BASELINES = ("components.baselines", "components.transform", "components.artifacts",
             "components.core")
GATE = ("components.gate", "components.artifacts", "components.core")
BULK_INFERRER = ("components.bulk_inferrer", "components.example_gen", "components.core")
DATA_GATE = ("components.data_gate", "components.artifacts", "components.core")


def source_files(module: str) -> tuple[Path, list[Path]]:
    """(root, the .py files under it, sorted) of a package, or of a single module."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None and not spec.submodule_search_locations:
        raise ValueError(f"cannot find {module!r} to hash its code")
    if spec.submodule_search_locations:
        root = Path(next(iter(spec.submodule_search_locations)))
        return root, sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)
    path = Path(spec.origin)
    return path.parent, [path]


def code_version(modules: Iterable[str]) -> str:
    """sha256 over each file's path relative to its package and its bytes (16 hex digits).

    Deterministic across machines and checkouts: absolute paths, mtimes and bytecode caches
    do not enter the hash, only what the files say.
    """
    h = hashlib.sha256()
    for module in sorted(set(modules)):
        root, files = source_files(module)
        for path in files:
            h.update(f"{module}:{path.relative_to(root).as_posix()}\n".encode())
            h.update(path.read_bytes())
            h.update(b"\0")
    return h.hexdigest()[:16]
