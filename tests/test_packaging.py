"""What `pip install .` ships: the product packages, never the test doubles under tests/."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_the_product_without_test_doubles(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(REPO_ROOT)],
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
