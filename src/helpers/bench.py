"""Benchmark the analysis stages on synthetic corpora recombined and re-damaged from the bundled corpus.

`python -m helpers.bench --sizes 1000 3000 10000 --n-jobs 2 --seed 2021 --out build/bench` writes, under the
output folder, one synthetic corpus per size (`corpus_<n>/`, laid out like data/raw and reused while its marker
`corpus.json` matches), `bench.csv` (one row per size and stage), `bench.md` (a table for the README) and
`bench.png`. Each size is measured in a fresh process; peak memory is the high-water mark of the summed RSS of
that process and its workers, sampled every 50 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import psutil
from scipy import sparse

from helpers import figures
from helpers.cleaning import CleanCorpus, clean_corpus
from helpers.clusters import cluster_provinces, province_profiles, province_sizes
from helpers.config import ProjectError, load_params, project_root, resolve
from helpers.corpus import MANIFEST, MANIFEST_COLUMNS, load_manifest, read_sources
from helpers.io import write_table, write_text
from helpers.lexicon import Lexicon
from helpers.noise import DAMAGE_KINDS, damage
from helpers.parallel import map_in_order
from helpers.passages import NATIONAL, passages_for_sources
from helpers.provenance import source_infos
from helpers.tfidf import distinctive_terms, province_documents
from helpers.tokens import Tokenizer, tokenize_passages
from helpers.topics import TopicResult, fit_topics, passage_matrix

Result = TypeVar("Result")

GENERATOR_VERSION = 1  # raise whenever the synthetic documents change, so that existing corpora are rebuilt
MARKER = "corpus.json"
STAGES = ("clean", "passages", "tokens", "tfidf", "topics", "clusters")
SAMPLE_SECONDS = 0.05
DAMAGE_SHARE = 0.4  # chance that a document carries each kind of damage (at least one kind is always applied)
BUSY_LOAD = 0.5  # a load average above this before the run is reported as a warning
SHORTEST_CUT = 0.8  # a document is cut at a line or sentence end only within its last fifth
TITLES = (
    "{full_name}人民政府关于印发{full_name}数字政府建设“十四五”规划的通知",
    "{full_name}{year}年数字政府建设工作要点",
    "{year}年{province}“数字政府”建设政策及措施汇总",
    "{province}数字政府建设动态（{year}年）",
)
COLUMNS = ["documents", "stage", "n_jobs", "characters", "passages", "seconds", "docs_per_second",
           "chars_per_second", "peak_mb", "matrix_rows", "matrix_columns", "matrix_nnz", "notes"]


@dataclass(frozen=True)
class PassagePool:
    """The cleaned passages of the bundled corpus grouped by province, and each province's full name."""

    passages: dict[str, tuple[str, ...]]
    full_names: dict[str, str]

    @property
    def provinces(self) -> list[str]:
        """The provinces (not the nation) that have at least one passage."""
        return sorted(province for province in self.passages if province != NATIONAL)


@dataclass
class StageRun:
    """The measurements of one stage on one corpus."""

    stage: str
    n_jobs: int
    seconds: float
    peak_mb: float
    matrix_rows: int | None = None
    matrix_columns: int | None = None
    matrix_nnz: int | None = None
    notes: str = ""


@dataclass
class PeakMemory:
    """The highest summed RSS of this process and its children, sampled in a background thread."""

    interval: float = SAMPLE_SECONDS
    peak: int = 0
    stopped: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def sample(self) -> None:
        """Add up the resident memory of the process tree and keep the maximum."""
        process = psutil.Process()
        total = 0
        for member in [process, *process.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                total += member.memory_info().rss
        self.peak = max(self.peak, total)

    def watch(self) -> None:
        """Sample until stopped."""
        while not self.stopped.wait(self.interval):
            self.sample()

    def __enter__(self) -> PeakMemory:
        """Take a first sample and start sampling in the background."""
        self.sample()
        self.thread = threading.Thread(target=self.watch, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop sampling and take a last sample."""
        self.stopped.set()
        if self.thread is not None:
            self.thread.join()
        self.sample()

    @property
    def peak_mb(self) -> float:
        """The high-water mark in MiB."""
        return self.peak / 2**20


def passage_pool(params: dict[str, Any], root: Path) -> PassagePool:
    """Clean and cut the bundled corpus as notebooks 01 and 02 do, and group its passages by province."""
    raw, lexicon = resolve(params["raw_dir"], root), Lexicon(resolve(params["lexicon_dir"], root))
    corpus = clean_corpus(read_sources(raw, load_manifest(raw)), lexicon)
    table = all_passages(corpus, lexicon, params["min_passage_chars"])
    grouped = {province: tuple(group["text"]) for province, group in table.groupby("province", sort=True)}
    full_names = dict(zip(lexicon.provinces["province"], lexicon.provinces["full_name"], strict=True))
    if not any(province != NATIONAL for province in grouped):
        raise ProjectError(f"{raw}: no passage of the bundled corpus names a province; nothing to recombine")
    return PassagePool(grouped, {province: full_names.get(province, province) for province in grouped})


def sample_passages(province: str, pool: PassagePool, rng: random.Random, length: int) -> list[str]:
    """Draw the province's passages, then the others, each in random order, until length characters are reached."""
    own = list(pool.passages[province])
    others = [text for name, texts in pool.passages.items() if name != province for text in texts]
    rng.shuffle(own)
    rng.shuffle(others)
    chosen, total = [], 0
    for text in own + others:
        if total >= length:
            break
        chosen.append(text)
        total += len(text) + 1
    return chosen


def damage_kinds(rng: random.Random) -> tuple[str, ...]:
    """Draw a random non-empty subset of the damage kinds of helpers.noise."""
    kinds = tuple(kind for kind in DAMAGE_KINDS if rng.random() < DAMAGE_SHARE)
    return kinds or (rng.choice(DAMAGE_KINDS),)


def trim(text: str, length: int) -> str:
    """Cut a text to at most length characters, at a line or sentence end in its last fifth when there is one."""
    if len(text) <= length:
        return text
    head = text[:length]
    cut = max(head.rfind("\n"), head.rfind("。"))
    return (head[: cut + 1] if cut >= SHORTEST_CUT * length else head).rstrip("\n") + "\n"


def synthetic_document(index: int, seed: int, pool: PassagePool, length: int) -> tuple[dict[str, str], str]:
    """Return the manifest row and the text of synthetic document number index: one province's page, damaged."""
    rng = random.Random(f"bench:{seed}:{index}")
    province = rng.choice(pool.provinces)
    title = rng.choice(TITLES).format(province=province, full_name=pool.full_names[province],
                                      year=rng.randint(2018, 2023))
    body = "\n".join([title, *sample_passages(province, pool, rng, length - len(title))]) + "\n"
    kinds = damage_kinds(rng)
    text = trim(damage(body, rng.randrange(2**32), kinds), length)
    source_id = f"{index:06d}"
    row = {"source_id": source_id, "file": f"{source_id}.txt", "title": title,
           "script": "traditional" if "traditional" in kinds else "simplified", "damage": "; ".join(kinds),
           "note": f"synthetic: passages of {province} first, then other passages of the bundled corpus"}
    return row, text


def input_digest(folders: list[Path]) -> str:
    """Return a sha256 over the names and bytes of every file in the folders (the generator's inputs)."""
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(item for item in folder.iterdir() if item.is_file()):
            digest.update(path.name.encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def corpus_marker(documents: int, seed: int, length: int, params: dict[str, Any], root: Path) -> dict[str, Any]:
    """Return what a synthetic corpus is made from: size, seed, length, generator version and input digest."""
    inputs = input_digest([resolve(params["raw_dir"], root), resolve(params["lexicon_dir"], root)])
    return {"documents": documents, "seed": seed, "document_chars": length, "generator": GENERATOR_VERSION,
            "min_passage_chars": params["min_passage_chars"], "inputs": inputs}


def read_marker(folder: Path) -> dict[str, Any] | None:
    """Return the marker of a complete synthetic corpus folder, or None."""
    with contextlib.suppress(OSError, ValueError):
        return json.loads((folder / MARKER).read_text(encoding="utf-8"))
    return None


def larger_corpus(folder: Path, marker: dict[str, Any]) -> Path | None:
    """Return a sibling corpus made the same way with at least as many documents, whose first ones are ours."""
    for candidate in sorted(folder.parent.glob("corpus_*")):
        found = read_marker(candidate)
        if candidate != folder and found and found["documents"] >= marker["documents"] and \
                {**found, "documents": marker["documents"]} == marker:
            return candidate
    return None


def generate_documents(folder: Path, marker: dict[str, Any], pool: PassagePool, n_jobs: int) -> pd.DataFrame:
    """Write the synthetic documents into folder (made in n_jobs processes); return their manifest rows."""
    document = partial(synthetic_document, seed=marker["seed"], pool=pool, length=marker["document_chars"])
    made = map_in_order(document, range(marker["documents"]), n_jobs, description=f"{folder.name}: generating")
    for row, text in made:
        write_text(folder / row["file"], text)
    return pd.DataFrame([row for row, _ in made])


def copy_documents(source: Path, folder: Path, documents: int) -> pd.DataFrame:
    """Copy the first documents of a larger synthetic corpus into folder; return their manifest rows."""
    manifest = load_manifest(source).head(documents)
    folder.mkdir(parents=True, exist_ok=True)
    for name in manifest["file"]:
        shutil.copyfile(source / name, folder / name)
    print(f"  {folder.name}: first {documents:,} documents of {source.name}", file=sys.stderr)
    return manifest


def build_corpus(folder: Path, marker: dict[str, Any], pool: PassagePool, n_jobs: int) -> Path:
    """Write the synthetic corpus described by marker into folder unless it is there already; return folder."""
    if read_marker(folder) == marker:
        print(f"  {folder.name}: reused", file=sys.stderr)
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    larger = larger_corpus(folder, marker)
    rows = copy_documents(larger, folder, marker["documents"]) if larger else \
        generate_documents(folder, marker, pool, n_jobs)
    write_table(rows.reindex(columns=MANIFEST_COLUMNS, fill_value=""), folder / MANIFEST, ["source_id"])
    write_text(folder / MARKER, json.dumps(marker, sort_keys=True, indent=2) + "\n")
    return folder


def timed(stage: str, n_jobs: int, action: Callable[[], Result]) -> tuple[Result, StageRun]:
    """Run one stage and return its result with its wall time and peak memory."""
    with PeakMemory() as memory:
        start = time.perf_counter()
        result = action()
        seconds = time.perf_counter() - start
    return result, StageRun(stage, n_jobs, seconds, memory.peak_mb)


def all_passages(corpus: CleanCorpus, lexicon: Lexicon, min_chars: int, n_jobs: int = 1) -> pd.DataFrame:
    """Cut every cleaned document into passages (in n_jobs processes)."""
    return passages_for_sources(corpus.texts, source_infos(corpus.meta, lexicon.province_names), lexicon, min_chars,
                                n_jobs=n_jobs)


def tfidf_stage(passages: pd.DataFrame, tokens: pd.DataFrame,
                params: dict[str, Any]) -> tuple[pd.DataFrame, sparse.csr_matrix]:
    """Return the province documents (after their distinctive terms) and the passage-level TF-IDF matrix."""
    documents = province_documents(passages, tokens)
    distinctive_terms(documents, params["min_df"], params["max_df"], params["top_terms"])
    return documents, passage_matrix(passages, tokens, params["min_df"], params["max_df"])[1]


def fixed_n_topics(params: dict[str, Any]) -> int:
    """Return n_topics when params fix it, else the largest of topic_grid (the slowest single model)."""
    return params["n_topics"] if isinstance(params["n_topics"], int) else max(params["topic_grid"])


def cluster_stage(result: TopicResult, documents: pd.DataFrame, passages: pd.DataFrame,
                  params: dict[str, Any]) -> tuple[pd.DataFrame, int]:
    """Cluster the province profiles at a fixed k (n_clusters, else the largest of cluster_grid that fits)."""
    profile = province_profiles(params["cluster_input"], result.province_topics, documents, params["min_df"],
                                params["max_df"])
    sizes = province_sizes(passages, params["min_province_chars"])
    measured = int((~sizes.loc[sizes["province"].isin(profile["province"]), "thin"]).sum())
    wanted = params["n_clusters"] if isinstance(params["n_clusters"], int) else max(params["cluster_grid"])
    n_clusters = min(wanted, measured - 1)
    return cluster_provinces(profile, n_clusters, sizes)[0], n_clusters


def measure_corpus(folder: Path, params: dict[str, Any], root: Path, n_jobs: int,
                   serial_tokens: bool) -> list[dict[str, Any]]:
    """Time every stage on one synthetic corpus; with serial_tokens also time the tokens at n_jobs=1."""
    lexicon_dir = resolve(params["lexicon_dir"], root)
    lexicon = Lexicon(lexicon_dir)
    sources = read_sources(folder, load_manifest(folder))
    n_topics, runs = fixed_n_topics(params), []

    def run(stage: str, action: Callable[[], Result], jobs: int = n_jobs) -> Result:
        """Time a stage, keep its measurements and report it on stderr."""
        result, measured = timed(stage, jobs, action)
        runs.append(measured)
        print(f"  {len(sources):,} documents, {stage} (n_jobs={jobs}): {measured.seconds:.1f} s, "
              f"peak {measured.peak_mb:,.0f} MB", file=sys.stderr, flush=True)
        return result

    def tokens_stage(jobs: int) -> pd.DataFrame:
        """Tokenise every passage (in jobs processes) as notebook 03 does."""
        return tokenize_passages(passages, Tokenizer(lexicon_dir, params["min_token_chars"]), n_jobs=jobs)

    corpus = run("clean", lambda: clean_corpus(sources, lexicon, n_jobs=n_jobs))
    passages = run("passages", lambda: all_passages(corpus, lexicon, params["min_passage_chars"], n_jobs))
    tokens = run("tokens", lambda: tokens_stage(n_jobs))
    documents, matrix = run("tfidf", lambda: tfidf_stage(passages, tokens, params))
    runs[-1].matrix_rows, runs[-1].matrix_columns = matrix.shape
    runs[-1].matrix_nnz = int(matrix.nnz)
    runs[-1].notes = f"{len(documents)} province documents; passage matrix {density(matrix):.3%} non-zero"
    result = run("topics", lambda: fit_topics(passages, tokens, n_topics, params["seed"], params["min_df"],
                                              params["max_df"], params["topic_top_words"]))
    runs[-1].notes = f"one NMF model, k={n_topics}"
    _, n_clusters = run("clusters", lambda: cluster_stage(result, documents, passages, params))
    runs[-1].notes = f"Ward on {params['cluster_input']} profiles, k={n_clusters}, no bootstrap"
    if serial_tokens and n_jobs > 1:
        run("tokens", lambda: tokens_stage(1), jobs=1)
    size = {"documents": len(sources), "characters": sum(map(len, sources.values())), "passages": len(passages)}
    return [{**size, **asdict(measured)} for measured in runs]


def density(matrix: sparse.spmatrix) -> float:
    """Return the share of non-zero cells of a sparse matrix."""
    return matrix.nnz / max(matrix.shape[0] * matrix.shape[1], 1)


def measure_in_subprocess(folder: Path, root: Path, n_jobs: int, serial_tokens: bool) -> list[dict[str, Any]]:
    """Measure one corpus in a fresh Python interpreter, so that sizes share no caches, memory or workers."""
    with tempfile.TemporaryDirectory() as scratch:
        rows = Path(scratch) / "rows.json"
        command = [sys.executable, "-m", "helpers.bench", "--measure", str(folder), "--rows", str(rows),
                   "--n-jobs", str(n_jobs), *(["--serial-tokens"] if serial_tokens else [])]
        done = subprocess.run(command, cwd=root, check=False)
        if done.returncode or not rows.is_file():
            raise ProjectError(f"measuring {folder.name} failed (exit status {done.returncode}); see the messages "
                               "above")
        return json.loads(rows.read_text(encoding="utf-8"))


def results_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Return the measurements as the rows of bench.csv, sorted by size, stage (in run order) and n_jobs."""
    table = pd.DataFrame(rows)
    table["docs_per_second"] = table["documents"] / table["seconds"]
    table["chars_per_second"] = table["characters"] / table["seconds"]
    for column in ("matrix_rows", "matrix_columns", "matrix_nnz"):
        table[column] = table[column].astype("Int64")
    order = table["stage"].map(STAGES.index)
    table = table.assign(order=order).sort_values(["documents", "order", "n_jobs"], ascending=[True, True, False])
    return table[COLUMNS].reset_index(drop=True)


def main_runs(table: pd.DataFrame, n_jobs: int) -> pd.DataFrame:
    """Return the rows measured with the benchmark's n_jobs (not the serial tokens comparison)."""
    return table[table["n_jobs"] == n_jobs]


def log_slope(documents: pd.Series, seconds: pd.Series) -> float:
    """Return the least-squares slope of log seconds on log documents (1 means linear), NaN below two sizes."""
    if documents.nunique() < 2:
        return math.nan
    return float(np.polyfit(np.log(documents.to_numpy(float)), np.log(seconds.to_numpy(float)), 1)[0])


def stage_summary(table: pd.DataFrame, n_jobs: int) -> pd.DataFrame:
    """Return seconds per stage (rows, plus a total) and size (columns), the slope and the largest size's numbers."""
    runs = main_runs(table, n_jobs)
    seconds = runs.pivot(index="stage", columns="documents", values="seconds").reindex(STAGES)
    seconds.loc["total"] = seconds.sum()
    size = runs["documents"].max()
    largest = runs[runs["documents"] == size].set_index("stage")
    summary = seconds.copy()
    summary["slope"] = [log_slope(pd.Series(seconds.columns), row) for _, row in seconds.iterrows()]
    summary["docs_per_second"] = size / seconds[size]
    summary["chars_per_second"] = largest["characters"].iloc[0] / seconds[size]
    summary["peak_mb"] = [*largest["peak_mb"].reindex(STAGES), largest["peak_mb"].max()]
    return summary


def speed_up(table: pd.DataFrame, n_jobs: int) -> tuple[float, float, float] | None:
    """Return (serial seconds, parallel seconds, speed-up) of the tokens stage on the largest corpus, if timed."""
    largest = table[(table["documents"] == table["documents"].max()) & (table["stage"] == "tokens")]
    serial, parallel = largest[largest["n_jobs"] == 1], largest[largest["n_jobs"] == n_jobs]
    if n_jobs == 1 or serial.empty or parallel.empty:
        return None
    serial_seconds, parallel_seconds = float(serial["seconds"].iloc[0]), float(parallel["seconds"].iloc[0])
    return serial_seconds, parallel_seconds, serial_seconds / parallel_seconds


def machine() -> str:
    """Describe the machine without naming it: CPU model and count, memory, system and Python version."""
    models = []
    with contextlib.suppress(OSError):
        models = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")]
    model = models[0] if models else platform.processor() or platform.machine()
    memory = psutil.virtual_memory().total / 2**30
    return (f"{model}, {os.cpu_count()} CPUs, {memory:.0f} GiB RAM, {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}")


def seconds_text(seconds: float) -> str:
    """Format a duration for the table: one decimal from 10 s, else two."""
    return f"{seconds:.1f}" if seconds >= 10 else f"{seconds:.2f}"


def markdown(table: pd.DataFrame, n_jobs: int, seed: int, length: int) -> str:
    """Return bench.md: the stage table with slopes, the speed-up, the matrix sparsity and the machine."""
    summary = stage_summary(table, n_jobs)
    sizes = [column for column in summary.columns if isinstance(column, int | np.integer)]
    largest = max(sizes)
    header = ["stage", *[f"{size:,} docs (s)" for size in sizes], f"docs/s at {largest:,}",
              f"chars/s at {largest:,}", f"peak MB at {largest:,}", "slope"]
    lines = [f"| {' | '.join(header)} |", "|" + "---|" + "---:|" * (len(header) - 1)]
    for stage, row in summary.iterrows():
        cells = [f"**{stage}**" if stage == "total" else stage, *[seconds_text(row[size]) for size in sizes],
                 f"{row['docs_per_second']:,.0f}", f"{row['chars_per_second'] / 1e6:.2f} M",
                 f"{row['peak_mb']:,.0f}", "–" if math.isnan(row["slope"]) else f"{row['slope']:.2f}"]
        lines.append(f"| {' | '.join(cells)} |")
    runs = main_runs(table, n_jobs)
    sized = runs.drop_duplicates("documents").set_index("documents")
    matrices = runs[runs["stage"] == "tfidf"].set_index("documents")
    cells = matrices["matrix_rows"] * matrices["matrix_columns"]
    notes = [
        "",
        f"Synthetic corpora of about {length:,} characters per document (seed {seed}): "
        + "; ".join(f"{size:,} documents = {sized.at[size, 'characters'] / 1e6:.1f} M characters, "
                    f"{sized.at[size, 'passages']:,} passages" for size in sizes) + ".",
        f"Workers: n_jobs={n_jobs}. Peak memory is the RSS high-water mark of the measuring process and its workers. "
        f"Slope: least-squares slope of log time on log documents over {min(sizes):,}–{largest:,} (1 = linear).",
        "Passage TF-IDF matrix: " + "; ".join(
            f"{size:,} documents {matrices.at[size, 'matrix_rows']:,} × {matrices.at[size, 'matrix_columns']:,}, "
            f"{matrices.at[size, 'matrix_nnz']:,} non-zero ({matrices.at[size, 'matrix_nnz'] / cells[size]:.2%})"
            for size in sizes) + ".",
    ]
    timed_speed_up = speed_up(table, n_jobs)
    if timed_speed_up:
        serial, parallel, ratio = timed_speed_up
        notes.append(f"Tokens on {largest:,} documents: {seconds_text(serial)} s with n_jobs=1, "
                     f"{seconds_text(parallel)} s with n_jobs={n_jobs}: speed-up {ratio:.2f}×.")
    notes.append(f"Machine: {machine()}.")
    return "\n".join(lines + notes) + "\n"


def draw(table: pd.DataFrame, n_jobs: int, path: Path) -> Path:
    """Plot wall time per stage against documents (log-log, with a linear reference) and peak memory."""
    runs = main_runs(table, n_jobs)
    summary = stage_summary(table, n_jobs)
    sizes = np.array(sorted(runs["documents"].unique()), dtype=float)
    figure = figures.new_figure(3.3)
    time_axes, memory_axes = figure.subplots(1, 2)
    for stage in STAGES:
        group = runs[runs["stage"] == stage]
        time_axes.plot(group["documents"], group["seconds"], marker="o", markersize=3, label=stage)
        memory_axes.plot(group["documents"], group["peak_mb"], marker="o", markersize=3, label=stage)
    total = summary.loc["total", sizes.astype(int)].to_numpy(float)
    time_axes.plot(sizes, sizes / sizes[0] * total[0], color=figures.MUTED, linestyle=figures.DASHED,
                   label="linear (from total)")
    time_axes.plot(sizes, total, color=figures.INK, marker="s", markersize=3, label="total")
    time_axes.set(yscale="log", ylabel="wall time (s)")
    memory_axes.set(ylabel="peak memory (MB)", ylim=(0, runs["peak_mb"].max() * 1.1))
    for axes in (time_axes, memory_axes):
        axes.set(xscale="log", xlabel="documents")
        axes.set_xticks(sizes, [f"{size:,.0f}" for size in sizes], minor=False)
        axes.set_xticks([], minor=True)
    figure.legend(*time_axes.get_legend_handles_labels(), loc="outside lower center", ncols=4)
    slope = summary.loc["total", "slope"]
    if not math.isnan(slope):
        figure.suptitle(f"Total time grows with slope {slope:.2f} on a log-log scale (1 = linear)")
    return figures.save(figure, path)


def print_summary(table: pd.DataFrame, n_jobs: int, out: Path) -> None:
    """Print the total time and peak memory per size, the slopes, the speed-up and where the files are."""
    summary = stage_summary(table, n_jobs)
    runs = main_runs(table, n_jobs)
    for size, group in runs.groupby("documents"):
        print(f"{size:>7,} documents: {group['seconds'].sum():7.1f} s, peak {group['peak_mb'].max():,.0f} MB")
    slopes = [f"{stage} {slope:.2f}" for stage, slope in summary["slope"].items() if not math.isnan(slope)]
    if slopes:
        print(f"log-log slopes of time on documents (1 = linear): {', '.join(slopes)}")
    timed_speed_up = speed_up(table, n_jobs)
    if timed_speed_up:
        print(f"tokens speed-up n_jobs={n_jobs} over 1: {timed_speed_up[2]:.2f}×")
    print(f"wrote {out / 'bench.csv'}, {out / 'bench.md'}, {out / 'bench.png'}")


def run_bench(sizes: list[int], n_jobs: int, seed: int, out: Path, length: int, root: Path) -> pd.DataFrame:
    """Build (or reuse) the synthetic corpora, measure every size in its own process and write the results."""
    if not sizes or min(sizes) < 1:
        raise ProjectError(f"--sizes {sizes}: give one or more positive numbers of documents")
    if n_jobs < 1:
        raise ProjectError(f"--n-jobs {n_jobs}: must be at least 1")
    if length < 200:
        raise ProjectError(f"--document-chars {length}: must be at least 200 characters")
    params = load_params(root / "params.yaml")
    sizes = sorted(set(sizes))
    load = os.getloadavg()[0]
    if load > BUSY_LOAD:
        print(f"warning: the machine is busy (load average {load:.1f}); the timings will be slower than on an idle "
              "machine", file=sys.stderr)
    print(f"synthetic corpora in {out}", file=sys.stderr)
    pool = passage_pool(params, root)
    folders = {size: build_corpus(out / f"corpus_{size}", corpus_marker(size, seed, length, params, root), pool,
                                  n_jobs) for size in sorted(sizes, reverse=True)}
    rows = []
    for size in sizes:
        rows += measure_in_subprocess(folders[size], root, n_jobs, serial_tokens=size == sizes[-1])
    table = results_table(rows)
    write_table(table, out / "bench.csv")
    write_text(out / "bench.md", markdown(table, n_jobs, seed, length))
    draw(table, n_jobs, out / "bench.png")
    print_summary(table, n_jobs, out)
    return table


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser of the benchmark."""
    parser = argparse.ArgumentParser(prog="python -m helpers.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000, 10000], help="corpus sizes (documents)")
    parser.add_argument("--n-jobs", type=int, default=2, help="worker processes of the parallel stages")
    parser.add_argument("--seed", type=int, default=2021, help="seed of the synthetic corpora")
    parser.add_argument("--out", type=Path, default=Path("build/bench"), help="output folder (under the project)")
    parser.add_argument("--document-chars", type=int, default=5000, help="characters per synthetic document")
    # Internal: run_bench times each corpus folder in a fresh interpreter and reads its rows from a JSON file.
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--serial-tokens", action="store_true", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark from the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    root = project_root()
    try:
        if args.measure:
            rows = measure_corpus(args.measure, load_params(root / "params.yaml"), root, args.n_jobs,
                                  args.serial_tokens)
            write_text(args.rows, json.dumps(rows))
        else:
            run_bench(args.sizes, args.n_jobs, args.seed, resolve(args.out, root), args.document_chars, root)
    except ProjectError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
