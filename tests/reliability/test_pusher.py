"""The Pusher publishes a version only when it is complete and serves (components/pusher).

A push that fails (a broken export, a full disk, a kill mid-copy) leaves nothing a model server
would try to load: no half-written `<base>/<version>`, no staging folder after the next push.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.reliability.conftest import truncate


def _versions(base: Path) -> list[str]:
    return sorted(os.listdir(base)) if base.exists() else []


def test_a_good_model_is_published_by_one_rename(tmp_path, good_models):
    from components.pusher.executor import publish_version

    base = tmp_path / "serving" / "ter"
    path = publish_version(str(good_models / "ter"), str(base), "1700000000")
    assert path == str(base / "1700000000")
    assert _versions(base) == ["1700000000"]
    assert sorted(os.listdir(path)) == sorted(os.listdir(good_models / "ter"))


def test_a_broken_export_is_not_published(tmp_path, good_models, fault_report):
    from components.pusher.executor import PushError, publish_version

    model = tmp_path / "model"
    shutil.copytree(good_models / "ter", model)
    truncate(model)
    base = tmp_path / "serving" / "ter"
    with pytest.raises(PushError, match="cannot parse saved_model.pb.*served versions are "
                                        "unchanged"):
        publish_version(str(model), str(base), "1700000001")
    assert _versions(base) == []
    fault_report("push of a truncated export", "refused before publishing; repository empty")


def test_disk_full_mid_copy_publishes_nothing(tmp_path, good_models, monkeypatch, fault_report):
    """A fault-injecting filesystem: the third file copied raises ENOSPC."""
    from tfx.dsl.io import fileio

    from components.pusher.executor import PushError, publish_version

    base = tmp_path / "serving" / "ter"
    publish_version(str(good_models / "ter"), str(base), "1700000000")
    real_copy, calls = fileio.copy, []

    def copy(src, dst, overwrite=False):
        calls.append(dst)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), dst)
        return real_copy(src, dst, overwrite)

    monkeypatch.setattr(fileio, "copy", copy)
    with pytest.raises(PushError, match="No space left on device.*nothing was published"):
        publish_version(str(good_models / "ter"), str(base), "1700000002")
    assert _versions(base) == ["1700000000"]  # no half-written version, no staging folder
    fault_report("disk full mid-push (injected ENOSPC)", "clear error; only the old version")


def test_disk_full_on_a_real_small_filesystem(tmp_path, good_models, fault_report):
    """A 64 KiB tmpfs: the copy really runs out of space (needs root to mount)."""
    from components.pusher.executor import PushError, publish_version

    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode}); "
                    f"the injected-ENOSPC test covers the same path")
    try:
        size = sum(f.stat().st_size for f in (good_models / "ter").rglob("*") if f.is_file())
        assert size > 64 * 1024, "the fixture model must not fit the small filesystem"
        with pytest.raises(PushError, match="nothing was published"):
            publish_version(str(good_models / "ter"), str(mount / "ter"), "1700000003")
        assert _versions(mount / "ter") == []
    finally:
        subprocess.run(["umount", str(mount)], check=False)
    fault_report("disk full mid-push (64 KiB tmpfs)", f"{size} B model: clear error, nothing "
                                                      f"published")


def test_a_killed_push_leaves_only_a_staging_folder_the_next_push_removes(tmp_path,
                                                                          good_models):
    from components.pusher.executor import STAGING_PREFIX, publish_version
    from serving.backends.versions import numbered_versions

    base = tmp_path / "serving" / "ter"
    left = base / f"{STAGING_PREFIX}1700000004-999"
    shutil.copytree(good_models / "ter", left)
    truncate(left)  # what a SIGKILL mid-copy leaves
    assert numbered_versions(str(base)) == []  # servers do not see it
    publish_version(str(good_models / "ter"), str(base), "1700000005")
    assert _versions(base) == ["1700000005"]


def test_the_executor_keeps_the_stock_pushers_metadata(tmp_path, good_models):
    """pushed / pushed_destination / pushed_version: what run_summary.py and TFX read."""
    from tfx.types import standard_artifacts

    from components.pusher.executor import Executor

    model = standard_artifacts.Model()
    model.uri = str(tmp_path / "model")
    shutil.copytree(good_models / "ter", tmp_path / "model" / "Format-Serving")
    blessing = standard_artifacts.ModelBlessing()
    blessing.uri = str(tmp_path / "blessing")
    blessing.set_int_custom_property("blessed", 1)
    pushed = standard_artifacts.PushedModel()
    pushed.uri = str(tmp_path / "pushed")
    base = tmp_path / "serving" / "ter"
    destination = json.dumps({"filesystem": {"base_directory": str(base)}})
    Executor().Do({"model": [model], "model_blessing": [blessing]}, {"pushed_model": [pushed]},
                  {"push_destination": destination})
    version = pushed.get_string_custom_property("pushed_version")
    assert pushed.get_int_custom_property("pushed") == 1
    assert pushed.get_string_custom_property("pushed_destination") == str(base / version)
    assert _versions(base) == [version]
    assert (tmp_path / "pushed" / "saved_model.pb").exists()  # the archive copy

    not_blessed = standard_artifacts.ModelBlessing()
    not_blessed.uri = str(tmp_path / "nb")
    not_blessed.set_int_custom_property("blessed", 0)
    skipped = standard_artifacts.PushedModel()
    skipped.uri = str(tmp_path / "skipped")
    Executor().Do({"model": [model], "model_blessing": [not_blessed]},
                  {"pushed_model": [skipped]}, {"push_destination": destination})
    assert skipped.get_int_custom_property("pushed") == 0
    assert _versions(base) == [version]
