"""The manifest's provenance values are checked: a malformed date, doc type or province is refused in one line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from helpers.config import ProjectError
from helpers.corpus import load_manifest
from helpers.provenance import parse_manifest_date

TEXT = "浙江省数字政府建设“十四五”规划。全面实现“一网通办”。\n"


@pytest.mark.parametrize(("value", "expected"), [("2021-06-18", "2021-06"), ("2021-06", "2021-06"),
                                                 ("2021", "2021"), ("", ""), (" 2020-02-29 ", "2020-02")])
def test_manifest_dates_are_read_as_month_or_year(value, expected):
    assert parse_manifest_date(value) == expected


def write_corpus(folder, header: str, row: str):
    """A one-document corpus whose manifest has the given header and row."""
    folder.mkdir()
    (folder / "sources.csv").write_text(f"{header}\n{row}\n", encoding="utf-8")
    (folder / "a.txt").write_text(TEXT * 3, encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("header", "row", "message"),
    [("source_id,file,date", "a,a.txt,2022-13-45", "date '2022-13-45' is not a calendar date"),
     ("source_id,file,date", "a,a.txt,2021-02-30", "is not a calendar date"),
     ("source_id,file,date", "a,a.txt,28/12/2021", "date '28/12/2021' is not written YYYY-MM-DD"),
     ("source_id,file,date", "a,a.txt,yesterday", "date 'yesterday' is not written"),
     ("source_id,file,issue_date", "a,a.txt,2021-6-1", "issue_date '2021-6-1' is not written"),
     ("source_id,file,date", "a,a.txt,0021-06", "year outside"),
     ("source_id,file,doc_type", "a,a.txt,blog", "doc_type 'blog' is not one of plan, policy"),
     ("source_id,file,province", "a,a.txt,浙江道", "province '浙江道' is not a province of the gazetteer")],
)
def test_malformed_manifest_values_are_refused_naming_line_and_column(tmp_path, lexicon, header, row, message):
    raw = write_corpus(tmp_path / "raw", header, row)
    with pytest.raises(ProjectError, match=message) as error:
        load_manifest(raw, lexicon.province_names)
    assert "sources.csv: line 2 (source_id a)" in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("province", ["浙江", "浙江省", "全国", "national", "内蒙古自治区"])
def test_good_provinces_pass(tmp_path, lexicon, province):
    raw = write_corpus(tmp_path / "raw", "source_id,file,province,doc_type,issue_date", f"a,a.txt,{province},plan,2021")
    assert load_manifest(raw, lexicon.province_names)["province"].tolist() == [province]


def test_bad_manifest_date_stops_the_command_line_with_status_2(root, tmp_path):
    raw = write_corpus(tmp_path / "raw", "source_id,file,date", "a,a.txt,2022-13-45")
    command = [sys.executable, "-m", "helpers.pipeline", "-p", f"raw_dir={raw}", "-p",
               f"interim_dir={tmp_path / 'interim'}", "--no-render"]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "2022-13-45" in result.stderr
    assert not (tmp_path / "interim").exists()
