"""Runs that are refused, killed or interrupted leave the previous complete outputs; the next run recovers."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.config import ProjectError
from helpers.io import remove_stale_temporaries
from helpers.validate import check_stage_inputs

FIXTURE_PARAMS = ["n_topics=3", "n_clusters=2", "min_df=1", "max_df=0.9", "min_province_chars=40", "n_boot=300"]
OUTPUTS = ("interim", "processed", "figures")


def command(root: Path, out: Path, *overrides: str, raw: Path | None = None) -> list[str]:
    """The pipeline command for stages clean to clusters on the fixture corpus, writing into out."""
    raw = raw or root / "tests" / "fixtures" / "corpus"
    folders = [f"raw_dir={raw}", *(f"{name}_dir={out / name}" for name in (*OUTPUTS, "build", "report"))]
    arguments = [item for override in [*folders, *FIXTURE_PARAMS, *overrides] for item in ("-p", override)]
    return [sys.executable, "-m", "helpers.pipeline", *arguments, "--to", "clusters", "--no-render"]


def run(root: Path, out: Path, *overrides: str, raw: Path | None = None) -> subprocess.CompletedProcess:
    """Run the pipeline to completion."""
    return subprocess.run(command(root, out, *overrides, raw=raw), cwd=root, capture_output=True, text=True,
                          timeout=600)


def run_until(root: Path, out: Path, marker: str, stop: signal.Signals, *overrides: str) -> tuple[int, str, str]:
    """Start the pipeline, send a signal to its process group once stdout shows marker; return status and output."""
    process = subprocess.Popen(command(root, out, *overrides), cwd=root, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, start_new_session=True)
    seen, deadline = b"", time.monotonic() + 300
    while marker.encode() not in seen:
        assert time.monotonic() < deadline and process.poll() is None, seen.decode()
        if select.select([process.stdout], [], [], 1)[0]:
            seen += os.read(process.stdout.fileno(), 4096)
    time.sleep(0.3)
    os.killpg(process.pid, stop)
    rest, errors = process.communicate(timeout=120)
    time.sleep(2)  # a killed pipeline's kernel notices its parent is gone within a second and exits
    return process.returncode, (seen + rest).decode(), errors.decode()


def snapshot(out: Path) -> dict[str, bytes]:
    """Every output file of a run folder with its bytes."""
    return {path.relative_to(out).as_posix(): path.read_bytes() for folder in OUTPUTS
            for path in sorted((out / folder).rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def reference(root, tmp_path_factory):
    """The outputs of one uninterrupted run."""
    out = tmp_path_factory.mktemp("uninterrupted")
    result = run(root, out)
    assert result.returncode == 0, result.stderr
    return snapshot(out)


@pytest.mark.slow
def test_killed_and_interrupted_runs_keep_complete_outputs_and_recover(root, reference, tmp_path):
    status, output, _ = run_until(root, tmp_path, "clusters ", signal.SIGKILL)
    assert status == -signal.SIGKILL and "[4/5] topics" in output
    partial = snapshot(tmp_path)
    assert "processed/topics.csv" in partial and "processed/clusters.csv" not in partial
    assert all(reference[name] == data for name, data in partial.items())

    recovered = run(root, tmp_path)
    assert recovered.returncode == 0, recovered.stderr
    assert "topics      notebooks/04_topics.ipynb ... up to date" in recovered.stdout
    assert snapshot(tmp_path) == reference
    assert not list(tmp_path.rglob(".*.tmp"))

    status, _, _ = run_until(root, tmp_path, "clusters ", signal.SIGKILL, "n_boot=250")
    assert status == -signal.SIGKILL and snapshot(tmp_path) == reference
    status, _, errors = run_until(root, tmp_path, "clusters ", signal.SIGINT, "n_boot=250")
    assert status == 130 and errors == "error: interrupted\n" and snapshot(tmp_path) == reference

    again = run(root, tmp_path)
    assert again.returncode == 0 and again.stdout.count("up to date") == 5
    assert snapshot(tmp_path) == reference


@pytest.mark.slow
def test_a_topic_count_above_the_passages_is_refused_before_the_stage(root, reference, tmp_path):
    assert run(root, tmp_path).returncode == 0
    refused = run(root, tmp_path, "n_topics=500")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.count("\n") == 1
    assert refused.stderr.startswith("error: parameter n_topics=500: larger than the ")
    assert "choose at most" in refused.stderr
    assert snapshot(tmp_path) == reference


@pytest.mark.slow
def test_a_source_without_province_passages_is_reported_not_fatal(root, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    fixture = root / "tests" / "fixtures" / "corpus"
    for item in fixture.iterdir():
        (raw / item.name).write_bytes(item.read_bytes())
    national = "国务院办公厅关于加快推进政务服务“一网通办”的指导意见。全面推进政务服务标准化、规范化、便利化。\n" * 5
    (raw / "d_national.txt").write_text(national, encoding="utf-8")
    with (raw / "sources.csv").open("a", encoding="utf-8") as manifest:
        manifest.write(",".join(["d", "d_national.txt"] + [""] * (len(read_header(raw)) - 2)) + "\n")
    result = run(root, tmp_path / "out", raw=raw)
    assert result.returncode == 0, result.stderr
    assert "note: source d yields no province passage (only national text or none)" in result.stdout
    assert (tmp_path / "out" / "processed" / "clusters.csv").is_file()


def read_header(raw: Path) -> list[str]:
    """The column names of a manifest."""
    return (raw / "sources.csv").read_text(encoding="utf-8").splitlines()[0].split(",")


def write_passages(folder: Path, rows: list[tuple[str, str, str]], sources: list[str] | None = None) -> dict:
    """Write a passages table (and optionally the sources' metadata) and return params pointing to them."""
    (folder / "processed").mkdir(parents=True)
    lines = ["passage_id,source_id,province,level"] + [f"{s}-{n},{s},{p},{level}" for n, (s, p, level)
                                                         in enumerate(rows)]
    (folder / "processed" / "passages.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if sources:
        (folder / "interim").mkdir()
        (folder / "interim" / "sources_meta.csv").write_text("source_id\n" + "\n".join(sources) + "\n")
    return {"processed_dir": str(folder / "processed"), "interim_dir": str(folder / "interim")}


def test_stage_inputs_are_checked_against_the_parameters(tmp_path):
    rows = [("a", "浙江", "province"), ("a", "上海", "province"), ("b", "全国", "national")]
    params = write_passages(tmp_path, rows, sources=["a", "b", "c"])
    assert check_stage_inputs("tfidf", params) == [
        "source b yields no province passage (only national text or none)",
        "source c yields no province passage (only national text or none)"]
    assert check_stage_inputs("topics", params | {"n_topics": 3}) == []
    assert check_stage_inputs("topics", params | {"n_topics": "auto"}) == []
    with pytest.raises(ProjectError, match=r"parameter n_topics=4: larger than the 3 passages .* choose at most 3"):
        check_stage_inputs("topics", params | {"n_topics": 4})
    with pytest.raises(ProjectError, match=r"parameter n_clusters=3: larger than the 2 provinces with passages"):
        check_stage_inputs("clusters", params | {"n_clusters": 3})
    assert check_stage_inputs("clean", params | {"n_topics": 99}) == []


def test_a_corpus_without_any_province_passage_runs_with_a_note(tmp_path):
    params = write_passages(tmp_path, [("b", "全国", "national"), ("c", "全国", "national")], sources=["b", "c"])
    notes = check_stage_inputs("tfidf", params)
    assert len(notes) == 1 and notes[0].startswith("no source yields a province passage: the analyses that compare "
                                                   "provinces are skipped")
    assert check_stage_inputs("topics", params | {"n_topics": 2}) == []
    with pytest.raises(ProjectError, match=r"parameter n_clusters=2: larger than the 0 provinces with passages"):
        check_stage_inputs("clusters", params | {"n_clusters": 2})


def test_stale_temporaries_of_killed_writes_are_removed(tmp_path):
    (tmp_path / "processed").mkdir()
    stale = tmp_path / "processed" / ".passages.csv.k3j2.tmp"
    stale.write_text("half a tab")
    kept = tmp_path / "processed" / "passages.csv"
    kept.write_text("passage_id\n")
    assert remove_stale_temporaries(tmp_path) == [stale]
    assert not stale.exists() and kept.exists()
    assert remove_stale_temporaries(tmp_path / "missing") == []
