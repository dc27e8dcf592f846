"""Installs the pipeline code and the `mer` CLI.

Also what Beam/Dataflow workers install (`--setup_file ./setup.py`), so the
Transform and Trainer code they import by module path is on their path.
"""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def _requirements() -> list[str]:
    lines = (HERE / "requirements" / "base.txt").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


setup(
    name="mer-pipeline",
    version="0.1.0",
    description="Emotion recognition from text, speech and both, as a TFX pipeline.",
    long_description=(HERE / "README.md").read_text() if (HERE / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.10,<3.11",
    packages=find_packages(include=["pipeline*", "components*", "serving*", "kubeflow*"]),
    package_data={"serving": ["*.config", "*.yml", "*.yaml", "app/static/*", "app/templates/*"]},
    install_requires=_requirements(),
    entry_points={"console_scripts": ["mer=pipeline.cli:main"]},
    license="Apache-2.0",
)
