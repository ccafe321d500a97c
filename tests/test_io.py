"""Atomic writes, tables and the write log."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from helpers.config import ProjectError
from helpers.io import WRITE_LOG, atomic_write_bytes, read_table, write_table, write_text


def test_write_log_records_every_written_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "writes.log"
    monkeypatch.setenv(WRITE_LOG, str(log))
    monkeypatch.chdir(tmp_path)
    atomic_write_bytes(Path("a.bin"), b"\x00")
    write_text(tmp_path / "sub" / "b.txt", "b")
    write_table(pd.DataFrame({"x": [2, 1]}), tmp_path / "c.csv", ["x"])
    write_text(tmp_path / "sub" / "b.txt", "b again")
    written = [tmp_path.resolve() / name for name in ["a.bin", "sub/b.txt", "c.csv", "sub/b.txt"]]
    assert log.read_text(encoding="utf-8").splitlines() == [str(path) for path in written]


def test_without_the_variable_nothing_is_logged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WRITE_LOG, raising=False)
    write_text(tmp_path / "a.txt", "a")
    monkeypatch.setenv(WRITE_LOG, "")
    write_text(tmp_path / "b.txt", "b")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.txt", "b.txt"]


def test_a_failed_write_is_not_logged_and_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "writes.log"
    monkeypatch.setenv(WRITE_LOG, str(log))
    with pytest.raises(TypeError):
        atomic_write_bytes(tmp_path / "a.txt", "not bytes")  # type: ignore[arg-type]
    assert sorted(path.name for path in tmp_path.iterdir()) == []


def test_tables_round_trip_sorted(tmp_path: Path) -> None:
    path = write_table(pd.DataFrame({"passage_id": ["002", "001"], "share": [0.5, 0.25]}), tmp_path / "t.csv",
                       ["passage_id"])
    assert path.read_text(encoding="utf-8") == "passage_id,share\n001,0.25\n002,0.5\n"
    assert read_table(path, "passages")["passage_id"].tolist() == ["001", "002"]
    with pytest.raises(ProjectError, match="run the 'passages' stage first"):
        read_table(tmp_path / "missing.csv", "passages")
