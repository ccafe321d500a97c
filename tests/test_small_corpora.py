"""Every stage holds on small corpora: the pipeline ends in a rendered report, exit status 0, on corpora of a few
pages each (bundled pages, the fixture corpus, the development set and invented pages that starve one analysis
each), and the report says in words what it skipped and why, with no `nan` and no figure it did not draw.

The sensitivity sweep is off (its lists empty) and the bootstrap small: what is tested is that each stage copes
with what the data allows, not the sweep.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from helpers.render import check_outputs, visible_text

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"raw": ROOT / "data" / "raw", "fixture": ROOT / "tests" / "fixtures" / "corpus",
           "small": ROOT / "tests" / "fixtures" / "small", "devset": ROOT / "tests" / "fixtures" / "devset"}
FAST = ["-p", "sweep_topic_offsets=[]", "-p", "sweep_min_df=[]", "-p", "sweep_cluster_inputs=[]", "-p", "n_boot=10"]
NOT_A_NUMBER = re.compile(r"\b(nan|NaN|None)\b")
STAGES = ("tfidf", "topics", "clusters", "convergence", "reuse", "sensitivity")

# name: (folder, source ids, extra parameters, stage/analysis that must be skipped, stage/analysis that must be done)
CORPORA = {
    "zhejiang_plan": ("raw", ["004"], [], {"clusters/clusters", "convergence/similarity", "reuse/reuse",
                                           "tfidf/distinctive_terms"}, {"topics/topics"}),
    "teaser_thin_provinces": ("raw", ["002"], ["-p", "min_province_chars=30"], {"reuse/reuse"},
                              {"clusters/clusters", "convergence/similarity", "convergence/trend"}),
    "forum_one_passage_each": ("raw", ["001"], [], {"clusters/bootstrap", "convergence/trend"},
                               {"clusters/clusters", "convergence/similarity"}),
    "teaser_and_plan": ("raw", ["002", "004"], [], {"clusters/clusters"},
                        {"topics/topics", "convergence/similarity", "reuse/reuse"}),
    "fixture_table": ("fixture", ["a"], [], {"clusters/clusters", "convergence/similarity"},
                      {"topics/topics", "convergence/adoption_curve"}),
    "fixture_forum": ("fixture", ["b"], [], {"topics/topics", "clusters/clusters"}, {"tfidf/keyness"}),
    "national_only": ("small", ["n1", "n2"], [], {"tfidf/distinctive_terms", "clusters/clusters",
                                                  "convergence/adoption_curve", "convergence/similarity",
                                                  "reuse/reuse"}, {"topics/topics"}),
    "city_plans": ("small", ["c1", "c2", "c3"], [], {"clusters/clusters", "convergence/similarity"},
                   {"topics/topics"}),
    "one_provincial_plan": ("small", ["s1"], [], {"clusters/clusters", "tfidf/keyness", "reuse/reuse"},
                            {"topics/topics"}),
    "plan_titles_only": ("small", ["l1"], [], {"topics/topics", "clusters/clusters"}, set()),
    "one_province_two_pages": ("small", ["g1", "g2"], [], {"clusters/clusters", "reuse/reuse",
                                                           "convergence/similarity"}, {"topics/topics"}),
    "devset_hong_kong_big5": ("devset", ["017"], [], {"clusters/clusters", "reuse/reuse"},
                              {"convergence/similarity"}),
    "devset_table_by_province": ("devset", ["024"], [], {"clusters/clusters"},
                                 {"convergence/similarity", "convergence/trend"}),
    "devset_two_articles": ("devset", ["014", "027"], [], set(),
                            {"clusters/clusters", "convergence/similarity", "reuse/reuse"}),
}
JOBS = 2  # corpora run at the same time


def make_corpus(folder: Path, ids: list[str], target: Path) -> Path:
    """Copy the pages of some sources of a corpus folder, with their manifest rows, into a new corpus folder."""
    with open(folder / "sources.csv", encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    chosen = [row for row in rows if row["source_id"] in ids]
    assert len(chosen) == len(ids), f"{folder}: not every source of {ids} is in its manifest"
    target.mkdir(parents=True)
    with open(target / "sources.csv", "w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(chosen)
    for row in chosen:
        shutil.copy2(folder / row["file"], target / row["file"])
    return target


def run_on(name: str, tmp: Path) -> tuple[subprocess.CompletedProcess | None, Path]:
    """Build the named corpus in tmp and run the whole pipeline on it, report rendered; outputs go to tmp/out.

    Returns no process when the corpus's folder has no manifest (the development set is optional).
    """
    folder, ids, extra, *_ = CORPORA[name]
    out = tmp / "out"
    if not (FOLDERS[folder] / "sources.csv").is_file():
        return None, out
    corpus = make_corpus(FOLDERS[folder], ids, tmp / name)
    folders = [item for key in ("interim", "processed", "figures", "build", "report")
               for item in ("-p", f"{key}_dir={out / key}")]
    command = [sys.executable, "-m", "helpers.pipeline", "-p", f"raw_dir={corpus}", *folders, *FAST, *extra]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    return done, out


def status_rows(processed: Path) -> pd.DataFrame:
    """Every stage's status rows, with the stage named."""
    return pd.concat([pd.read_csv(processed / f"{stage}_status.csv", keep_default_na=False).assign(stage=stage)
                      for stage in STAGES], ignore_index=True)


def report_markdown(out: Path) -> str:
    """The markdown the executed report notebook shows (what the renderer takes)."""
    notebook = nbformat.read(out / "build" / "report" / "report.ipynb", as_version=4)
    parts = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
    parts += [output["data"]["text/markdown"] for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.get("outputs", []) if "text/markdown" in output.get("data", {})]
    return "\n".join(parts)


def prose(html: str) -> str:
    """The report's visible text without code, spaces normalised."""
    return visible_text(re.sub(r"<(code|pre)\b.*?</\1>", " ", html, flags=re.DOTALL | re.IGNORECASE))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess | None, Path]]:
    """Every corpus run once, JOBS at a time (each run is a chain of kernels waiting on one another)."""
    folders = {name: tmp_path_factory.mktemp(name) for name in CORPORA}
    with ThreadPoolExecutor(max_workers=JOBS) as pool:
        return dict(zip(folders, pool.map(lambda name: run_on(name, folders[name]), folders), strict=True))


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CORPORA))
def test_a_small_corpus_ends_in_a_report_that_says_what_was_skipped(name: str, runs):
    done, out = runs[name]
    if done is None:
        pytest.skip(f"{FOLDERS[CORPORA[name][0]]} has no manifest")
    assert done.returncode == 0, f"{name}: exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    html, pdf = out / "report" / "report.html", out / "report" / "report.pdf"
    assert html.is_file() and pdf.is_file()
    assert check_outputs(html, pdf) == []
    text = prose(html.read_text(encoding="utf-8"))
    assert not NOT_A_NUMBER.findall(text), f"{name}: {sorted(set(NOT_A_NUMBER.findall(text)))} in the report"

    status = status_rows(out / "processed")
    *_, must_skip, must_do = CORPORA[name]
    skipped = set((status["stage"] + "/" + status["analysis"])[status["status"] == "skipped"])
    assert must_skip <= skipped, f"{name}: expected {must_skip - skipped} to be skipped"
    assert not must_do & skipped, f"{name}: expected {must_do & skipped} to be done"
    for row in status[(status["status"] == "skipped") & ~status["reason"].str.startswith("skipped with")].itertuples():
        assert row.reason in text, f"{name}: the report does not say why {row.stage}/{row.analysis} was skipped"
    assert ("What this corpus supports" in text) and ("skipped" in text or "Every analysis" in text)

    passages = pd.read_csv(out / "processed" / "passages.csv", dtype=str, keep_default_na=False)
    assert f"into {len(passages)} passages" in text or f"into {len(passages)} passage " in text
    drawn = {path.name for path in (out / "figures").glob("*.png")}
    referenced = set(re.findall(r"\]\(figures/([\w-]+\.png)\)", report_markdown(out)))
    assert referenced == drawn, f"{name}: figures drawn but not shown {drawn - referenced}, shown but not drawn " \
                                f"{referenced - drawn}"
