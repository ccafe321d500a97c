"""Project paths, the params file and the project's error type."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import yaml


class ProjectError(Exception):
    """An error a user can act on; the command line prints it as one line."""


def project_root() -> Path:
    """Return the project root: the nearest folder upwards holding params.yaml, else the package's checkout."""
    for folder in [Path.cwd(), *Path.cwd().parents]:
        if (folder / "params.yaml").is_file() and (folder / "src" / "helpers").is_dir():
            return folder
    return Path(__file__).resolve().parents[2]


def load_params(path: Path | None = None) -> dict[str, Any]:
    """Read the params file (default: params.yaml at the project root) into a dict."""
    path = path or project_root() / "params.yaml"
    if not path.is_file():
        raise ProjectError(f"{path}: params file not found; run from the project folder or pass --params FILE")
    try:
        params = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ProjectError(f"{path}: not valid YAML ({error.__class__.__name__}); fix the file") from error
    if not isinstance(params, dict):
        raise ProjectError(f"{path}: must hold name: value pairs")
    return params


def parse_override(text: str) -> tuple[str, Any]:
    """Parse a `name=value` override; the value is read as YAML (numbers, lists, booleans, strings)."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ProjectError(f"-p {text!r}: write overrides as name=value, for example -p n_topics=8")
    try:
        parsed = yaml.safe_load(value) if value.strip() else ""
    except yaml.YAMLError:
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            parsed = value
    return name, parsed


def resolve(path: str | Path, root: Path | None = None) -> Path:
    """Resolve a params path against the project root unless it is absolute."""
    path = Path(path)
    return path if path.is_absolute() else (root or project_root()) / path
