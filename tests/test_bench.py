"""The benchmark: synthetic corpora (deterministic, damaged, readable as a corpus) and a tiny end-to-end run."""

from __future__ import annotations

import re
from pathlib import Path

import opencc
import pandas as pd
import pytest

from helpers import bench
from helpers.config import load_params
from helpers.corpus import load_manifest, read_sources
from helpers.noise import JUNK

DOCUMENTS = 8
LENGTH = 5000
PINYIN_READING = re.compile(r"[\u4e00-\u9fff]\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ]+\)")


@pytest.fixture(scope="module")
def params(root: Path) -> dict:
    """The project's parameters."""
    return load_params(root / "params.yaml")


@pytest.fixture(scope="module")
def pool(params: dict, root: Path) -> bench.PassagePool:
    """The passages of the bundled corpus."""
    return bench.passage_pool(params, root)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, params: dict, root: Path, pool: bench.PassagePool) -> Path:
    """A small synthetic corpus."""
    folder = tmp_path_factory.mktemp("bench") / f"corpus_{DOCUMENTS}"
    return bench.build_corpus(folder, bench.corpus_marker(DOCUMENTS, 7, LENGTH, params, root), pool, 1)


def folder_bytes(folder: Path) -> dict[str, bytes]:
    """Every file of a folder by name."""
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_documents(corpus, tmp_path, params, root, pool):
    again = bench.build_corpus(tmp_path / "again", bench.corpus_marker(DOCUMENTS, 7, LENGTH, params, root), pool, 2)
    other = bench.build_corpus(tmp_path / "other", bench.corpus_marker(DOCUMENTS, 8, LENGTH, params, root), pool, 1)
    assert folder_bytes(again) == folder_bytes(corpus)
    assert (other / "000000.txt").read_bytes() != (corpus / "000000.txt").read_bytes()


def test_documents_have_about_the_requested_length(corpus):
    lengths = [len(path.read_text(encoding="utf-8")) for path in sorted(corpus.glob("*.txt"))]
    assert len(lengths) == DOCUMENTS
    assert all(bench.SHORTEST_CUT * LENGTH <= length <= LENGTH + 1 for length in lengths), lengths


def test_the_manifest_is_accepted_and_every_document_carries_the_damage_it_lists(corpus, pool):
    manifest = load_manifest(corpus)
    assert manifest["source_id"].tolist() == [f"{index:06d}" for index in range(DOCUMENTS)]
    texts = read_sources(corpus, manifest)
    to_simplified = opencc.OpenCC("t2s")
    listed = set()
    for row in manifest.itertuples():
        kinds, text = row.damage.split("; "), texts[row.source_id]
        listed.update(kinds)
        assert any(name in row.title for name in pool.provinces)
        if "pinyin" in kinds:
            assert PINYIN_READING.search(text)
        if "junk" in kinds:
            assert any(symbol in text for symbol in JUNK)
        assert ("traditional" in kinds) == (to_simplified.convert(text) != text) == (row.script == "traditional")
    assert len(listed) >= 4


def test_a_smaller_corpus_is_the_start_of_a_larger_one_and_a_changed_marker_rebuilds(corpus, params, root, pool):
    marker = bench.corpus_marker(3, 7, LENGTH, params, root)
    smaller = bench.build_corpus(corpus.parent / "corpus_3", marker, pool, 1)
    assert load_manifest(smaller)["file"].tolist() == ["000000.txt", "000001.txt", "000002.txt"]
    assert all((smaller / name).read_bytes() == (corpus / name).read_bytes() for name in load_manifest(smaller)["file"])
    (smaller / "000000.txt").write_text("stale", encoding="utf-8")
    assert bench.build_corpus(smaller, marker, pool, 1) == smaller
    assert (smaller / "000000.txt").read_text(encoding="utf-8") == "stale"
    bench.build_corpus(smaller, {**marker, "generator": bench.GENERATOR_VERSION + 1}, pool, 1)
    assert (smaller / "000000.txt").read_bytes() == (corpus / "000000.txt").read_bytes()


def test_slope_and_speed_up_are_read_from_the_table():
    table = pd.DataFrame({
        "documents": [10, 100, 100], "stage": ["tokens"] * 3, "n_jobs": [2, 2, 1], "seconds": [1.0, 10.0, 18.0],
    })
    assert bench.log_slope(pd.Series([10, 100]), pd.Series([1.0, 10.0])) == pytest.approx(1.0)
    assert bench.log_slope(pd.Series([10, 100]), pd.Series([1.0, 100.0])) == pytest.approx(2.0)
    assert bench.speed_up(table, 2) == pytest.approx((18.0, 10.0, 1.8))
    assert bench.speed_up(table, 1) is None


def test_a_tiny_benchmark_writes_every_stage_with_positive_times(tmp_path, root):
    table = bench.run_bench([10, 20], 1, 2021, tmp_path, 2000, root)
    written = pd.read_csv(tmp_path / "bench.csv")
    assert sorted(zip(written["documents"], written["stage"], strict=True)) == sorted(
        (size, stage) for size in (10, 20) for stage in bench.STAGES)
    assert len(written) == len(table)
    assert (written["seconds"] > 0).all() and (written["peak_mb"] > 0).all()
    throughput = (written["documents"] / written["seconds"]).tolist()
    assert written["docs_per_second"].tolist() == pytest.approx(throughput, rel=1e-4)
    tfidf = written[written["stage"] == "tfidf"]
    cells = tfidf["matrix_rows"] * tfidf["matrix_columns"]
    assert (tfidf["matrix_nnz"] > 0).all() and (tfidf["matrix_nnz"] < cells).all()
    report = (tmp_path / "bench.md").read_text(encoding="utf-8")
    assert "| clean |" in report and "| **total** |" in report and "Machine:" in report
    assert str(tmp_path) not in report
    assert (tmp_path / "bench.png").stat().st_size > 10_000
