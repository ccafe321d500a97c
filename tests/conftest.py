"""Shared fixtures: the project's lexicon and the small fixture corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.lexicon import Lexicon

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root() -> Path:
    """The project root."""
    return ROOT


@pytest.fixture(scope="session")
def lexicon() -> Lexicon:
    """The project's lexicon."""
    return Lexicon(ROOT / "data" / "lexicon")
