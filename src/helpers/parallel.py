"""Run a per-document function in worker processes or on a Dask cluster (results in input order); worker caches."""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache, wraps
from pathlib import Path
from typing import Any, TypeVar

import joblib

from helpers.config import ProjectError
from helpers.lexicon import Lexicon
from helpers.validate import jobs_problem

Item = TypeVar("Item")
Result = TypeVar("Result")
Built = TypeVar("Built")
CHUNKS_PER_WORKER = 4  # a few chunks per worker balance uneven documents; each chunk costs one round trip
MIN_CHUNKS = 20  # ... but never fewer chunks than this (when there are enough items), for steady progress
PROGRESS_MIN_ITEMS = 1000  # smaller inputs run quietly
FileVersions = tuple[tuple[str, int, int], ...]


def runs_in_workers(n_jobs: int, scheduler: str) -> bool:
    """Whether work goes to other processes: more than one job or a Dask scheduler."""
    problem = jobs_problem(n_jobs)
    if problem:
        raise ProjectError(f"n_jobs={n_jobs!r}: {problem}")
    return n_jobs != 1 or bool(scheduler)


def folder_versions(folder: Path) -> FileVersions:
    """Name, size and modification time of every file in a folder: a cache key that changes when a file does."""
    return tuple(sorted((path.name, path.stat().st_size, path.stat().st_mtime_ns)
                        for path in folder.glob("*") if path.is_file()))


def once_per_process(constructor: Callable[..., Built]) -> Callable[..., Built]:
    """Cache a constructor with functools.cache, behind a lock so that threads of one worker share one build."""
    cached = cache(constructor)
    lock = threading.Lock()

    @wraps(constructor)
    def built(*arguments: Any) -> Built:
        with lock:
            return cached(*arguments)

    built.cache_info = cached.cache_info  # type: ignore[attr-defined]
    return built


@once_per_process
def cached_lexicon(folder: Path, versions: FileVersions) -> Lexicon:
    """Return the lexicon of a folder, built once per process and per version of its files (see folder_versions)."""
    return Lexicon(folder)


def apply_to_chunk(function: Callable[[Item], Result], chunk: list[Item]) -> list[Result]:
    """Apply a function to every item of a chunk (one task in a worker)."""
    return [function(item) for item in chunk]


def report_progress(description: str, done: int, total: int) -> None:
    """Print one line to stderr each time another tenth of the chunks is done."""
    if done * 10 // total > (done - 1) * 10 // total:
        print(f"{description or 'working'}: {done}/{total} chunks done ({done / total:.0%})", file=sys.stderr,
              flush=True)


@contextmanager
def dask_client(scheduler: str) -> Iterator[Any]:
    """Connect to a Dask scheduler for the duration of a block, then close the connection."""
    try:
        from distributed import Client
    except ImportError:
        raise ProjectError(f"dask_scheduler={scheduler!r} needs Dask's distributed package; install the cluster "
                           "extra: pip install -e '.[cluster]'") from None
    try:
        client = Client(scheduler)
    except OSError as error:
        raise ProjectError(f"dask_scheduler={scheduler!r}: no Dask scheduler answers at this address; start one "
                           "(dask scheduler, then dask worker ADDRESS) or leave dask_scheduler empty") from error
    try:
        yield client
    finally:
        client.close()


def run_chunks(function: Callable[[Item], Result], items: list[Item], workers: int, description: str,
               parallel: joblib.Parallel) -> list[Result]:
    """Send the items in chunks through a joblib Parallel and gather the results in input order."""
    size = max(1, math.ceil(len(items) / max(MIN_CHUNKS, CHUNKS_PER_WORKER * workers)))
    chunks = [items[start : start + size] for start in range(0, len(items), size)]
    results: list[Result] = []
    calls = (joblib.delayed(apply_to_chunk)(function, chunk) for chunk in chunks)
    for done, chunk_results in enumerate(parallel(calls), 1):
        results.extend(chunk_results)
        if len(items) >= PROGRESS_MIN_ITEMS:
            report_progress(description, done, len(chunks))
    return results


def map_in_order(function: Callable[[Item], Result], items: Sequence[Item], n_jobs: int = 1, scheduler: str = "",
                 description: str = "") -> list[Result]:
    """Apply a top-level function to every item, serially, in n_jobs processes or on a Dask cluster; keep order."""
    items = list(items)
    if not runs_in_workers(n_jobs, scheduler):
        return [function(item) for item in items]
    if scheduler:
        with dask_client(scheduler) as client, joblib.parallel_config(backend="dask"):
            workers = sum(client.nthreads().values())
            return run_chunks(function, items, workers, description, joblib.Parallel(n_jobs=-1, return_as="generator"))
    parallel = joblib.Parallel(n_jobs=n_jobs, backend="loky", return_as="generator")
    return run_chunks(function, items, joblib.effective_n_jobs(n_jobs), description, parallel)
