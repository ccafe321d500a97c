"""environment.yml stays in step with pyproject.toml."""

from __future__ import annotations

import re
import tomllib

import yaml

CONDA_NAMES = {"brotli-python": "brotli"}


def _bounds(requirements: list[str]) -> dict[str, str]:
    """Map package names to their lower bounds."""
    parsed = {}
    for requirement in requirements:
        match = re.match(r"^([A-Za-z0-9_.\-]+)\s*>=\s*([\w.]+)", requirement)
        if match:
            parsed[CONDA_NAMES.get(match.group(1), match.group(1)).lower()] = match.group(2)
    return parsed


def test_conda_environment_matches_pyproject(root):
    project = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))["project"]
    wanted = _bounds(project["dependencies"] + sum(project["optional-dependencies"].values(), []))
    environment = yaml.safe_load((root / "environment.yml").read_text("utf-8"))
    conda = [item for item in environment["dependencies"] if isinstance(item, str)]
    pip = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    listed = _bounds(conda)
    assert "quarto" in listed, "environment.yml must provide Quarto"
    mismatched = {name: (bound, wanted[name]) for name, bound in listed.items()
                  if name in wanted and wanted[name] != bound}
    assert not mismatched, f"lower bounds differ from pyproject.toml: {mismatched}"
    assert any(line.startswith("-e .") for line in pip), "the pip section must install the project itself"
    python = next(item for item in conda if item.startswith("python"))
    assert python.split(">=")[1] == project["requires-python"].lstrip(">=")
    for name in ["jupyterlab", "pandas", "matplotlib", "jieba", "scikit-learn", "papermill"]:
        assert name in listed, f"{name} from the design card is missing in environment.yml"
