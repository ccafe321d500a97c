"""Every notebook runs through papermill on the small fixture corpus, each reading what the one before wrote."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.config import load_params
from helpers.pipeline import run_pipeline


def run_on_fixture(root, out, force=False):
    """Run all stages (without rendering, every one of them with force) on the fixture corpus into the folder out."""
    params = load_params(root / "params.yaml") | {
        "raw_dir": str(root / "tests" / "fixtures" / "corpus"),
        "interim_dir": str(out / "interim"),
        "processed_dir": str(out / "processed"),
        "figures_dir": str(out / "figures"),
        "build_dir": str(out / "build"),
        "report_dir": str(out / "report"),
        "n_topics": 3,
        "n_clusters": 2,
        "min_df": 1,
        "max_df": 0.9,
        "min_province_chars": 40,
    }
    return run_pipeline(params, render=False, root=root, force=force)


@pytest.fixture(scope="module")
def fixture_run(root, tmp_path_factory):
    """The folder and written notebooks of one run on the fixture corpus."""
    out = tmp_path_factory.mktemp("fixture_run")
    return out, run_on_fixture(root, out)


@pytest.mark.slow
def test_two_runs_give_identical_tables_and_figures(root, fixture_run, tmp_path):
    first, _ = fixture_run
    run_on_fixture(root, tmp_path, force=True)
    for folder in ["interim", "processed", "figures"]:
        files = sorted(path.relative_to(first / folder) for path in (first / folder).rglob("*") if path.is_file())
        assert files == sorted(path.relative_to(tmp_path / folder)
                               for path in (tmp_path / folder).rglob("*") if path.is_file())
        for name in files:
            assert (first / folder / name).read_bytes() == (tmp_path / folder / name).read_bytes(), name


@pytest.mark.slow
def test_every_stage_writes_its_outputs(fixture_run):
    out, written = fixture_run
    assert [path.stem for path in written] == [
        "01_clean", "02_passages", "03_tfidf", "04_topics", "05_clusters", "06_convergence", "07_reuse",
        "08_sensitivity", "report"]
    for table in ["passages", "concept_mentions", "distinctive_terms", "keyness_provinces", "topics", "topic_terms",
                  "topic_selection", "topic_stability", "province_topics", "passage_topic_shares", "clusters",
                  "cluster_silhouette", "cluster_bootstrap", "cluster_projection", "adoption", "adoption_curve",
                  "similarity", "similarity_spread", "reuse_provinces", "sensitivity"]:
        assert len(pd.read_csv(out / "processed" / f"{table}.csv")) > 0, table
    figures = sorted(path.name for path in (out / "figures").glob("*.png"))
    assert len(figures) >= 10
    assert all((out / "figures" / name).stat().st_size > 5000 for name in figures)


@pytest.mark.slow
def test_fixture_passages_and_clusters(fixture_run):
    out, _ = fixture_run
    passages = pd.read_csv(out / "processed" / "passages.csv", dtype=str, keep_default_na=False)
    provinces = set(passages.loc[passages["level"] == "province", "province"])
    assert provinces == {"北京", "上海", "广东", "辽宁", "甘肃", "浙江", "江苏", "四川", "湖北", "山东"}
    assert set(passages.loc[passages["source_id"] == "c", "date"]) == {"2021-07"}
    clusters = pd.read_csv(out / "processed" / "clusters.csv")
    assert sorted(clusters["cluster"].unique()) == [1, 2]


@pytest.mark.slow
def test_report_notebook_holds_computed_text_and_every_figure(fixture_run):
    import nbformat

    out, _ = fixture_run
    notebook = nbformat.read(out / "build" / "report" / "report.ipynb", as_version=4)
    markdown = "\n".join(output["data"]["text/markdown"] for cell in notebook.cells if cell.cell_type == "code"
                         for output in cell.get("outputs", []) if "text/markdown" in output.get("data", {}))
    passages = pd.read_csv(out / "processed" / "passages.csv")
    assert f"into {len(passages)} passages" in markdown.replace("\n", " ")
    assert len(passages) == 13
    staged = {path.name for path in (out / "build" / "report" / "figures").glob("*.png")}
    referenced = {line.split("](figures/")[1].split(")")[0] for line in markdown.splitlines() if "](figures/" in line}
    assert referenced and referenced <= staged


def test_papermill_parses_every_line_of_every_parameters_cell(root):
    import re

    import nbformat
    import papermill

    for notebook in [*sorted((root / "notebooks").glob("*.ipynb")), root / "report" / "report.ipynb"]:
        cell = next(cell for cell in nbformat.read(notebook, as_version=4).cells
                    if "parameters" in cell.metadata.get("tags", []))
        assigned = re.findall(r"^(\w+) = ", cell.source, flags=re.MULTILINE)
        assert list(papermill.inspect_notebook(str(notebook))) == assigned, notebook.name
