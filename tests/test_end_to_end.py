"""The whole pipeline on the bundled corpus, report rendered: assertions on the real outputs."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from helpers.config import load_params
from helpers.lexicon import Lexicon
from helpers.pipeline import run_pipeline
from helpers.render import check_outputs


@pytest.fixture(scope="module")
def bundled_run(root, tmp_path_factory):
    """Run every stage on data/raw into a temporary folder and render the report."""
    out = tmp_path_factory.mktemp("bundled_run")
    params = load_params(root / "params.yaml") | {
        "interim_dir": str(out / "interim"),
        "processed_dir": str(out / "processed"),
        "figures_dir": str(out / "figures"),
        "build_dir": str(out / "build"),
        "report_dir": str(out / "report"),
    }
    run_pipeline(params, root=root)
    return out


def read(out, name: str) -> pd.DataFrame:
    """Read a processed table as strings."""
    return pd.read_csv(out / "processed" / f"{name}.csv", dtype=str, keep_default_na=False)


@pytest.mark.slow
def test_passages_cover_most_provinces(bundled_run, lexicon: Lexicon):
    passages = read(bundled_run, "passages")
    provinces = set(passages.loc[passages["level"] == "province", "province"])
    assert len(provinces) > 25
    assert provinces <= set(lexicon.provinces["province"])
    assert {"national", "province"} == set(passages["level"])
    assert passages["date"].str.fullmatch(r"(\d{4}(-\d{2})?)?").all()


@pytest.mark.slow
def test_zhejiang_mentions_yiwangtongban(bundled_run):
    mentions = read(bundled_run, "concept_mentions")
    zhejiang = mentions[(mentions["province"] == "浙江") & (mentions["concept"] == "一网通办")]
    assert zhejiang["count"].astype(int).sum() >= 3
    variant = mentions[(mentions["concept"] == "一网统管") & (mentions["form"] == "一网通管")]
    assert "浙江" in set(variant["province"])


@pytest.mark.slow
def test_report_files_hold_every_figure(bundled_run):
    html, pdf = bundled_run / "report" / "report.html", bundled_run / "report" / "report.pdf"
    assert html.stat().st_size > 100_000 and pdf.stat().st_size > 100_000
    assert check_outputs(html, pdf) == []
    page = html.read_text(encoding="utf-8")
    figures = sorted(path.name for path in (bundled_run / "figures").glob("*.png"))
    assert len(figures) >= 10
    assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', page)) == len(figures)
    numbers = [int(n) for n in re.findall(r"Figure\s(\d+):", page)]
    assert numbers == list(range(1, len(figures) + 1))
    assert "@fig-" not in page and "??" not in page


@pytest.mark.slow
def test_pdf_text_has_chinese_and_every_figure(bundled_run):
    from pypdf import PdfReader

    reader = PdfReader(bundled_run / "report" / "report.pdf")
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    assert "一网通办" in text and "一网统管" in text
    figures = len(list((bundled_run / "figures").glob("*.png")))
    assert all(f"Figure {n}" in text for n in range(1, figures + 1))
    assert len(reader.pages) >= 8


def documented_columns(root) -> dict[str, set[str]]:
    """The columns data/README.md describes, by table path (interim/x.csv, processed/y.csv)."""
    documented: dict[str, set[str]] = {}
    tables: list[str] = []
    for line in (root / "data" / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("### "):
            tables = re.findall(r"((?:interim|processed)/\w+\.csv)", line)
            for table in tables:
                documented.setdefault(table, set())
        elif tables and line.startswith("| ") and not line.startswith("| column"):
            columns = [column.strip() for column in line.split("|")[1].split(",")]  # a row may name several
            for table in tables:
                documented[table].update(columns)
    return documented


@pytest.mark.slow
def test_every_column_of_every_table_is_in_the_data_dictionary(bundled_run, root):
    documented = documented_columns(root)
    written = sorted(path.relative_to(bundled_run).as_posix()
                     for folder in ("interim", "processed") for path in (bundled_run / folder).glob("*.csv"))
    assert sorted(documented) == written
    for table in written:
        columns = pd.read_csv(bundled_run / table, nrows=0).columns
        missing = [column for column in columns
                   if column not in documented[table] and not (re.fullmatch(r"T\d+", column)
                                                               and "T1…Tk" in documented[table])]
        assert not missing, f"{table}: describe {missing} in data/README.md"


@pytest.mark.slow
def test_fallback_html_has_every_label_quarto_would_number(bundled_run):
    import nbformat

    executed = nbformat.read(bundled_run / "build" / "report" / "report.ipynb", as_version=4)
    markdown = [cell.source for cell in executed.cells if cell.cell_type == "markdown"]
    markdown += [output["data"]["text/markdown"] for cell in executed.cells if cell.cell_type == "code"
                 for output in cell.get("outputs", []) if "text/markdown" in output.get("data", {})]
    labels = set(re.findall(r"\{#((?:fig|tbl|sec)-[\w-]+)", "\n".join(markdown)))
    page = (bundled_run / "report" / "report.html").read_text(encoding="utf-8")
    anchors = set(re.findall(r'id="((?:fig|tbl|sec)-[\w-]+)"', page))
    assert {label.split("-")[0] for label in labels} == {"fig", "tbl", "sec"}
    assert labels == anchors
    assert len([label for label in labels if label.startswith("fig-")]) == len(
        list((bundled_run / "figures").glob("*.png")))
