"""Per-document stages in worker processes and on a Dask cluster give exactly the serial tables."""

from __future__ import annotations

import os
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from helpers.cleaning import CleanCorpus, clean_corpus
from helpers.config import ProjectError, load_params
from helpers.corpus import load_manifest, read_sources
from helpers.lexicon import Lexicon
from helpers.parallel import cached_lexicon, folder_versions, map_in_order, once_per_process
from helpers.passages import passages_for_sources, passages_table
from helpers.pipeline import declared_parameters
from helpers.provenance import source_infos
from helpers.tokens import Tokenizer, cached_tokenizer, tokenize_passages
from helpers.validate import validate_params

CORPORA = ["tests/fixtures/corpus", "data/raw"]


def item_and_process(item: int) -> tuple[int, int]:
    """Return an item with the id of the process that handled it."""
    return item, os.getpid()


def tokenizer_cache_in_process(item: int) -> tuple[int, int, int]:
    """Return the process id and the hits and misses of its tokeniser cache, after a short pause."""
    time.sleep(0.02)
    info = cached_tokenizer.cache_info()
    return os.getpid(), info.hits, info.misses


def assert_same_corpus(serial: CleanCorpus, parallel: CleanCorpus) -> None:
    """The texts and every audit table of two cleaning runs are identical."""
    assert parallel.texts == serial.texts
    assert list(parallel.texts) == list(serial.texts)
    for name in ("audit", "dropped", "meta"):
        assert_frame_equal(getattr(parallel, name), getattr(serial, name))


def run_stages(raw: Path, lexicon: Lexicon, tokenizer: Tokenizer, n_jobs: int = 1, scheduler: str = "") -> dict:
    """Clean a corpus, cut its passages and tokenise them with the given workers."""
    cleaned = clean_corpus(read_sources(raw, load_manifest(raw)), lexicon, n_jobs=n_jobs, scheduler=scheduler)
    infos = source_infos(cleaned.meta, lexicon.province_names)
    passages = passages_for_sources(cleaned.texts, infos, lexicon, 12, n_jobs=n_jobs, scheduler=scheduler)
    tokens = tokenize_passages(passages, tokenizer, n_jobs=n_jobs, scheduler=scheduler)
    return {"cleaned": cleaned, "passages": passages, "tokens": tokens}


@pytest.fixture(scope="module")
def tokenizer(root) -> Tokenizer:
    """The tokeniser of the project's lexicon (jieba loads once for the module)."""
    return Tokenizer(root / "data" / "lexicon", 2)


@pytest.fixture(scope="module", params=CORPORA)
def serial_and_parallel(request, root, lexicon, tokenizer) -> tuple[dict, dict]:
    """The stages of one corpus run serially and in two processes."""
    raw = root / request.param
    return run_stages(raw, lexicon, tokenizer), run_stages(raw, lexicon, tokenizer, n_jobs=2)


def test_map_in_order_keeps_order_and_runs_in_other_processes():
    items = list(range(997))
    results = map_in_order(item_and_process, items, n_jobs=2)
    assert [item for item, _ in results] == items
    assert os.getpid() not in {process for _, process in results}
    assert map_in_order(str, items, n_jobs=2) == [str(item) for item in items]
    assert map_in_order(str, [], n_jobs=2) == []


def test_one_job_runs_in_this_process():
    assert {process for _, process in map_in_order(item_and_process, range(30))} == {os.getpid()}


def test_long_work_reports_progress_per_tenth_and_short_work_is_quiet(capsys):
    assert map_in_order(len, ["字" * (item % 9) for item in range(2000)], n_jobs=2, description="counting") == [
        item % 9 for item in range(2000)]
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 10
    assert lines[-1] == "counting: 20/20 chunks done (100%)"
    map_in_order(len, ["字"] * 200, n_jobs=2, description="counting")
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("n_jobs", [0, -2, 1.5, True])
def test_bad_n_jobs_is_refused(n_jobs):
    with pytest.raises(ProjectError, match="n_jobs"):
        map_in_order(len, ["a"], n_jobs=n_jobs)


def test_parallel_cleaning_equals_serial(serial_and_parallel):
    serial, parallel = serial_and_parallel
    assert len(serial["cleaned"].texts) >= 3
    assert_same_corpus(serial["cleaned"], parallel["cleaned"])


def test_parallel_passages_equal_serial(serial_and_parallel):
    serial, parallel = serial_and_parallel
    assert len(serial["passages"]) >= 13
    assert_frame_equal(parallel["passages"], serial["passages"])


def test_passages_for_sources_equal_the_per_source_tables(lexicon, serial_and_parallel):
    serial, _ = serial_and_parallel
    cleaned = serial["cleaned"]
    infos = source_infos(cleaned.meta, lexicon.province_names)
    tables = [passages_table(source_id, text, lexicon, infos[source_id], 12)
              for source_id, text in cleaned.texts.items()]
    assert_frame_equal(serial["passages"], pd.concat(tables, ignore_index=True))


def test_parallel_tokens_equal_serial(serial_and_parallel):
    serial, parallel = serial_and_parallel
    assert serial["tokens"]["tokens"].str.len().sum() > 100
    assert_frame_equal(parallel["tokens"], serial["tokens"])


def test_jieba_loads_once_per_worker_process(tokenizer, serial_and_parallel):
    _, parallel = serial_and_parallel
    misses_here = cached_tokenizer.cache_info().misses
    tokenize_passages(parallel["passages"], tokenizer, n_jobs=2)
    assert cached_tokenizer.cache_info().misses == misses_here, "the tokeniser was rebuilt in the main process"
    caches = {process: (hits, misses) for process, hits, misses in map_in_order(tokenizer_cache_in_process,
                                                                                  range(40), n_jobs=2)}
    assert os.getpid() not in caches
    assert all(misses <= 1 for _, misses in caches.values()), caches
    assert sum(misses for _, misses in caches.values()) >= 1, caches
    assert sum(hits + misses for hits, misses in caches.values()) >= len(parallel["passages"]), caches


def test_threads_of_one_process_share_one_build():
    builds = []

    @once_per_process
    def slow_build(key: str) -> object:
        builds.append(key)
        time.sleep(0.1)
        return object()

    with ThreadPoolExecutor(4) as pool:
        built = list(pool.map(slow_build, ["lexicon"] * 4))
    assert builds == ["lexicon"]
    assert all(item is built[0] for item in built)
    assert slow_build.cache_info().misses == 1


def test_edited_lexicon_files_give_a_new_cached_lexicon(root, tmp_path):
    folder = shutil.copytree(root / "data" / "lexicon", tmp_path / "lexicon")
    before = folder_versions(folder)
    assert cached_lexicon(folder, before) is cached_lexicon(folder, before)
    with (folder / "stopwords.txt").open("a", encoding="utf-8") as stream:
        stream.write("政务\n")
    after = folder_versions(folder)
    assert after != before
    assert cached_lexicon(folder, after) is not cached_lexicon(folder, before)


@pytest.fixture(scope="module")
def dask_scheduler():
    """The address of a local Dask cluster of two single-threaded worker processes."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def test_dask_cluster_gives_the_serial_tables(root, lexicon, tokenizer, dask_scheduler):
    serial = run_stages(root / "data" / "raw", lexicon, tokenizer)
    on_cluster = run_stages(root / "data" / "raw", lexicon, tokenizer, scheduler=dask_scheduler)
    assert_same_corpus(serial["cleaned"], on_cluster["cleaned"])
    assert_frame_equal(on_cluster["passages"], serial["passages"])
    assert_frame_equal(on_cluster["tokens"], serial["tokens"])
    processes = {process for _, process in map_in_order(item_and_process, range(20), scheduler=dask_scheduler)}
    assert processes and os.getpid() not in processes


def test_missing_distributed_is_one_line_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ProjectError, match=r"pip install -e '\.\[cluster\]'") as error:
        map_in_order(len, ["a"], scheduler="tcp://127.0.0.1:8786")
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [("n_jobs", 0), ("n_jobs", -2), ("n_jobs", 2.5), ("n_jobs", "4"), ("n_jobs", True),
     ("dask_scheduler", "localhost"), ("dask_scheduler", "tcp://scheduler"), ("dask_scheduler", 8786),
     ("dask_scheduler", "tcp://my host:8786"), ("dask_scheduler", None)],
)
def test_bad_parallel_parameters_are_refused_by_name(root, name, value):
    with pytest.raises(ProjectError, match=f"parameter {name}=") as error:
        validate_params({name: value}, root)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("value", ["", "tcp://127.0.0.1:8786", "tls://scheduler.example.org:8786", "localhost:8786"])
def test_good_scheduler_addresses_pass(root, value):
    validate_params({"n_jobs": -1, "dask_scheduler": value}, root)


def test_defaults_run_locally_and_the_first_notebooks_declare_both(root):
    params = load_params(root / "params.yaml")
    assert (params["n_jobs"], params["dask_scheduler"]) == (1, "")
    for notebook in ["01_clean", "02_passages", "03_tfidf"]:
        assert {"n_jobs", "dask_scheduler"} <= set(declared_parameters(root / "notebooks" / f"{notebook}.ipynb"))


def test_passages_follow_the_order_of_the_texts(lexicon, serial_and_parallel):
    serial, _ = serial_and_parallel
    texts = dict(reversed(serial["cleaned"].texts.items()))
    infos = source_infos(serial["cleaned"].meta, lexicon.province_names)
    reordered = passages_for_sources(texts, infos, lexicon, 12, n_jobs=2)
    assert list(pd.unique(reordered["source_id"])) == [source for source in texts
                                                       if source in set(serial["passages"]["source_id"])]
