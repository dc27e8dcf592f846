"""Does a SavedModel version load and answer? The check before a version is served or published.

TF Serving marks a version AVAILABLE only after it loaded and replayed its warm-up requests, and
keeps the previous version until then; TFX's InfraValidator does the same check in a sandboxed
server before the Pusher. The TF Serving binary is not available everywhere this project runs
(laptops, CI), so the same check runs in this process: `tf.saved_model.load`, then every record
of `assets.extra/tf_serving_warmup_requests` through the `predict_raw` signature. The Pusher
calls it before a version becomes visible and the in-process backend before it serves one, so
both refuse the same broken versions with the same reason.

    from components.core.saved_model_check import load_checked, VersionCheckError
    try:
        loaded, signature = load_checked("artifacts/serving/ter/17")
    except VersionCheckError as e:
        print(e.reason)      # e.g. "cannot parse saved_model.pb"
"""

from __future__ import annotations

import os
import stat
from typing import Any

from components.core.errors import ModelError
from components.core.signatures import RAW_SIGNATURE
from components.core.warmup import read_warmup_requests, warmup_path


class VersionCheckError(ModelError):
    """A version that must not be served; `reason` is one short sentence without paths."""

    def __init__(self, path: str, reason: str, no_signature: bool = False):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason, self.no_signature = path, reason, no_signature


def _load(path: str) -> Any:
    """`tf.saved_model.load`, importing tensorflow_text first if the graph needs its ops.

    Models with a BERT/MiniLM text encoder contain TF Text tokenizer ops, which are registered
    only when `tensorflow_text` is imported; importing it for every model would cost seconds.
    """
    import tensorflow as tf

    try:
        return tf.saved_model.load(path)
    except Exception as e:  # noqa: BLE001 - retried once below, or re-raised
        if "Op type not registered" not in str(e):
            raise
        import tensorflow_text  # noqa: F401 - registers the ops

        return tf.saved_model.load(path)


def missing_part(path: str) -> str | None:
    """What of a SavedModel's layout is missing or unreadable on disk, from the OS's own answer
    (e.g. "variables/ is missing", "variables/ cannot be read: Too many levels of symbolic
    links"); None if `saved_model.pb` and `variables/` are there and readable.

    Why look at the disk: TF reports a missing `variables/`, a symlink loop and a missing
    saved_model.pb all as a FileNotFoundError, so its message alone names the wrong part.
    """
    for part, is_dir in (("saved_model.pb", False), ("variables", True)):
        where = os.path.join(path, part)
        shown = part + ("/" if is_dir else "")
        try:
            st = os.stat(where)
        except FileNotFoundError:
            if os.path.islink(where):
                return f"{shown} is a symlink to nothing"
            return f"{shown} is missing" if is_dir else "no saved_model.pb"
        except OSError as e:
            return f"{shown} cannot be read: {e.strerror}"
        if is_dir != stat.S_ISDIR(st.st_mode):
            return f"{shown} is {'not ' if is_dir else ''}a directory"
    return None


def load_reason(e: BaseException, path: str | None = None) -> str:
    """Why loading failed, in words an operator acts on (no paths: they go to the log).

    With `path`, the reason comes from the version's files first (`missing_part`), then from
    the error's text."""
    text = str(e)
    if "Cannot parse file" in text or "Error parsing message" in text:
        return "cannot parse saved_model.pb (truncated or not a SavedModel)"
    missing = missing_part(path) if path is not None and not _remote(path) else None
    if missing is not None:
        return missing
    if "variables" in text and ("not found" in text.lower() or "Unsuccessful" in text
                                or "matching files" in text):
        return "cannot read its variables (missing or truncated variables/ files)"
    if "SavedModel file does not exist" in text:
        return "no saved_model.pb"
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(e).__name__)
    return f"cannot load: {type(e).__name__}: {line[:200]}"


def replay_warmup(signature: Any, saved_model_dir: str) -> int:
    """Run each warm-up request through `signature`; returns how many ran (0 if none exist)."""
    import tensorflow as tf

    if not tf.io.gfile.exists(warmup_path(saved_model_dir)):
        return 0
    requests = read_warmup_requests(saved_model_dir)
    for request in requests:
        feeds = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
        signature(**feeds)
    return len(requests)


def load_checked(path: str) -> tuple[Any, Any]:
    """(loaded SavedModel, its `predict_raw` function), or VersionCheckError saying why not.

    A version passes when it loads, has `predict_raw`, and answers its warm-up requests.
    """
    if not os.path.exists(os.path.join(path, "saved_model.pb")) and not _remote(path):
        raise VersionCheckError(path, missing_part(path) or "no saved_model.pb")
    try:
        loaded = _load(path)
    except Exception as e:  # noqa: BLE001 - every load failure means "do not serve"
        raise VersionCheckError(path, load_reason(e, path)) from e
    if RAW_SIGNATURE not in loaded.signatures:
        raise VersionCheckError(path, f"no {RAW_SIGNATURE!r} signature (found "
                                      f"{sorted(loaded.signatures)}); re-export it with this "
                                      f"project's Trainer", no_signature=True)
    signature = loaded.signatures[RAW_SIGNATURE]
    try:
        replay_warmup(signature, path)
    except Exception as e:  # noqa: BLE001 - a model that fails its own warm-up is broken
        first = next((ln.strip() for ln in str(e).splitlines() if ln.strip()), "")
        raise VersionCheckError(path, f"its warm-up requests fail: {type(e).__name__}: "
                                      f"{first[:200]}") from e
    return loaded, signature


def _remote(path: str) -> bool:
    return "://" in path
