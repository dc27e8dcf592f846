"""What `pip install .` ships: the product packages, never the test doubles under tests/."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# What a source distribution holds: the build must find the packages from setup.py alone.
SOURCE = ("setup.py", "README.md", "requirements", "components", "serving", "pipeline",
          "kubeflow", "tests")


def test_wheel_ships_the_product_without_test_doubles(tmp_path):
    src = tmp_path / "src"  # a copy, so the build leaves no build/ or egg-info in the checkout
    for name in SOURCE:
        path = REPO_ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            src.mkdir(exist_ok=True)
            shutil.copy2(path, src / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(src)],
        check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("mer_pipeline-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in ("components/core/contract.py", "components/core/warmup.py",
                    "serving/client.py", "serving/backends/rest.py", "pipeline/cli.py",
                    "serving/app/static/index.html", "serving/models.config",
                    "serving/docker-compose.yml", "kubeflow/runner.py"):
        assert shipped in names, shipped
    assert not [n for n in names if n.startswith("tests/")]
    for double in ("tfs_server", "tfs_test_server", "hub_standins", "minilm_reference"):
        assert not [n for n in names if double in n], double
