"""The layout of a TF Serving model repository: `<base>/<number>/saved_model.pb`.

Why its own module: which folders are versions, which is newest and when a failed one has
changed are file-system facts that `mer serve`, `mer predict`, `mer evaluate`, the Pusher's
tests and the CLI's pre-checks all need, and none of them should import TensorFlow to ask.
"""

from __future__ import annotations

import os
from typing import Optional

from serving.errors import ModelNotFoundError


def numbered_versions(base: str) -> list[str]:
    """The version folders of a TF Serving model base, newest first (other names: ignored,
    like the Pusher's staging folders `.push-*`)."""
    try:
        names = os.listdir(base)
    except OSError:
        return []
    return sorted((d for d in names if d.isdigit() and os.path.isdir(os.path.join(base, d))),
                  key=int, reverse=True)


def resolve_version_dir(model_dir: str) -> str:
    """`model_dir` may be a SavedModel or a TF Serving model base (numbered versions)."""
    if os.path.exists(os.path.join(model_dir, "saved_model.pb")):
        return model_dir
    if not os.path.isdir(model_dir):
        raise ModelNotFoundError(
            f"No model at {model_dir}. Run `make demo` (or `mer run`) first, or pass the "
            f"Pusher's directory, e.g. artifacts/serving/mer.")
    versions = [d for d in numbered_versions(model_dir)
                if os.path.exists(os.path.join(model_dir, d, "saved_model.pb"))]
    if not versions:
        raise ModelNotFoundError(
            f"{model_dir} holds no SavedModel version (expected <dir>/<number>/saved_model.pb).")
    return os.path.join(model_dir, versions[0])


def still_there(version_dir: str) -> bool:
    """Is a served version still on disk (its folder and saved_model.pb)?"""
    return os.path.isfile(os.path.join(version_dir, "saved_model.pb"))


def version_stamp(version_dir: str) -> Optional[tuple]:
    """What a failed version is retried on: saved_model.pb's (mtime, size) and `variables/`'s
    mtime (or why it cannot be read), so restoring either part retries it."""
    try:
        st = os.stat(os.path.join(version_dir, "saved_model.pb"))
    except OSError:
        return None
    try:
        variables: object = os.stat(os.path.join(version_dir, "variables")).st_mtime_ns
    except OSError as e:
        variables = e.errno
    return (st.st_mtime_ns, st.st_size, variables)
