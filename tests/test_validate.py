"""Bad input gets a one-line error naming the file or parameter; odd encodings are decoded."""

from __future__ import annotations

import subprocess
import sys

import pytest

from helpers.config import ProjectError
from helpers.corpus import load_manifest
from helpers.formats import read_raw
from helpers.validate import validate_params

TEXT = "浙江省数字政府建设“十四五”规划。全面实现“一网通办”。\n"


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "big5", "utf-8-sig", "utf-16"])
def test_encodings_are_detected_and_decoded(tmp_path, encoding):
    text = TEXT * 20 if encoding != "big5" else "浙江省數字政府建設規劃。全面實現一網通辦。\n" * 20
    path = tmp_path / "page.txt"
    path.write_bytes(text.encode(encoding))
    assert read_raw(path) == text


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "is empty"), (b"  \n", "is empty"), (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "is a PDF"),
     (bytes(range(256)) * 8, "binary")],
)
def test_bad_files_are_refused_with_the_reason(tmp_path, content, message):
    path = tmp_path / "page.txt"
    path.write_bytes(content)
    with pytest.raises(ProjectError, match=message) as error:
        read_raw(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def make_corpus(folder, rows: str, files: dict[str, str]):
    """Write a manifest and documents into folder."""
    folder.mkdir(exist_ok=True)
    (folder / "sources.csv").write_text("source_id,file\n" + rows, encoding="utf-8")
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("rows", "files", "message"),
    [("a,a.txt\n", {}, "missing file"),
     ("a,a.txt\n", {"a.txt": TEXT, "b.txt": TEXT}, "b.txt not in the manifest"),
     ("a,a.txt\na,b.txt\n", {"a.txt": TEXT, "b.txt": TEXT}, "source_id a used by more than one row")],
)
def test_manifest_and_folder_are_compared_both_ways(tmp_path, rows, files, message):
    with pytest.raises(ProjectError, match=message):
        load_manifest(make_corpus(tmp_path / "raw", rows, files))


@pytest.mark.parametrize(
    ("name", "value"),
    [("n_topics", 1), ("n_topics", "six"), ("min_df", -1), ("max_df", 1.5), ("cluster_input", "words"),
     ("n_clusters", 2.5), ("focus_concepts", "一网通办"), ("raw_dir", "no/such/folder")],
)
def test_bad_parameters_are_named(root, name, value):
    with pytest.raises(ProjectError, match=f"parameter {name}="):
        validate_params({name: value}, root)


def test_good_parameters_pass(root):
    from helpers.config import load_params

    validate_params(load_params(root / "params.yaml"), root)


def test_command_line_refusal_is_one_line_with_status_2(root, tmp_path):
    raw = make_corpus(tmp_path / "raw", "a,a.txt\n", {"a.txt": ""})
    command = [sys.executable, "-m", "helpers.pipeline", "-p", f"raw_dir={raw}", "-p",
               f"interim_dir={tmp_path / 'interim'}", "--no-render"]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "a.txt: file is empty" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "interim").exists()


def test_another_corpus_writes_to_its_own_folders(root):
    from helpers.pipeline import separate_outputs

    defaults = {"raw_dir": "data/raw", "interim_dir": "data/interim", "processed_dir": "data/processed",
                "figures_dir": "figures", "build_dir": "build", "report_dir": "report/_output"}
    other = separate_outputs(defaults, defaults | {"raw_dir": "/home/me/pages", "figures_dir": "my/figures"})
    assert other["processed_dir"] == "runs/pages/processed" and other["report_dir"] == "runs/pages/report"
    assert other["figures_dir"] == "my/figures"
    assert separate_outputs(defaults, dict(defaults)) == defaults


BAD_CORPORA = {
    "empty file": ("a,a.txt\n", {"a.txt": b""}, "a.txt: file is empty"),
    "PDF renamed .txt": ("a,a.txt\n", {"a.txt": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj"}, "a.txt: "),
    "binary file": ("a,a.txt\n", {"a.txt": bytes(range(256)) * 8}, "a.txt: "),
    "missing file": ("a,a.txt\nb,b.txt\n", {"a.txt": TEXT.encode()}, "missing file(s) b.txt"),
    "unlisted file": ("a,a.txt\n", {"a.txt": TEXT.encode(), "c.txt": TEXT.encode()}, "c.txt not in the manifest"),
    "duplicate id": ("a,a.txt\na,b.txt\n", {"a.txt": TEXT.encode(), "b.txt": TEXT.encode()}, "source_id a used by"),
}


@pytest.mark.parametrize("case", sorted(BAD_CORPORA))
def test_bad_corpus_is_refused_in_one_line_and_earlier_outputs_stay(root, tmp_path, case):
    rows, files, message = BAD_CORPORA[case]
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "sources.csv").write_text("source_id,file\n" + rows, encoding="utf-8")
    for name, data in files.items():
        (raw / name).write_bytes(data)
    earlier = {tmp_path / "interim" / "sources_meta.csv": b"source_id\nold\n",
               tmp_path / "processed" / "passages.csv": b"passage_id\nold-0001\n"}
    for path, data in earlier.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    folders = [f"{name}_dir={tmp_path / name}" for name in ("interim", "processed", "figures", "build", "report")]
    command = [sys.executable, "-m", "helpers.pipeline", "-p", f"raw_dir={raw}",
               *[item for folder in folders for item in ("-p", folder)]]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and message in result.stderr and "Traceback" not in result.stderr
    assert all(path.read_bytes() == data for path, data in earlier.items())
    assert not (tmp_path / "build").exists() and not (tmp_path / "figures").exists()
