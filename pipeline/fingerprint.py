"""A cheap fingerprint of a dataset tree for TFX's cache key."""

from __future__ import annotations

import hashlib
import os


def tree_fingerprint(root: str) -> str:
    """Hash of relative path, size and mtime of every file under root.

    ExampleGen reads files TFX knows nothing about; without this the cache
    would reuse examples from an older copy of the data.
    """
    h = hashlib.sha256()
    if os.path.isfile(root):
        st = os.stat(root)
        h.update(f"{os.path.basename(root)}|{st.st_size}|{st.st_mtime_ns}".encode())
        root = os.path.dirname(root) or "."
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            st = os.stat(path)
            rel = os.path.relpath(path, root)
            h.update(f"{rel}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]
