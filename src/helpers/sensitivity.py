"""Sensitivity sweep: rerun the analysis stages with one choice changed at a time and compare the conclusions.

Each variant is a full papermill run of the stages tfidf to convergence (through `python -m helpers.pipeline`)
with its own params file and output folders under the sweep folder; the passages come from the baseline run.
The comparison reads the same tables the report reads, so a conclusion that holds in every variant does not
hang on that choice.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import stats
from sklearn.metrics import adjusted_rand_score

from helpers.config import ProjectError, load_params
from helpers.convergence import similarity_trend
from helpers.io import read_table
from helpers.status import number_span, status_table
from helpers.topics import matched_cosines

FIRST_STAGE, LAST_STAGE = "tfidf", "convergence"
INPUTS = ("passages.csv", "concept_mentions.csv")  # tables of the baseline that the swept stages read
COLUMNS = ["variant", "parameter", "value", "n_topics", "topic_match", "n_clusters", "silhouette",
           "ari_vs_baseline", "bootstrap_ari", "terms_overlap", "similarity_rho", "trend_rho"]


def variants(n_topics: int, min_df: float, cluster_input: str, topic_offsets: Sequence[int],
             min_dfs: Sequence[float], cluster_inputs: Sequence[str],
             max_topics: int | None = None) -> list[tuple[str, dict[str, Any]]]:
    """Return (name, overrides) for every one-at-a-time change of the baseline's choices, in a fixed order.

    Topic numbers below 2 or above max_topics (when given), and values equal to the baseline's, are left out;
    without a baseline topic model (n_topics 0) no topic number is tried.
    """
    top = max_topics if max_topics is not None else n_topics + max([0, *topic_offsets])
    chosen: list[tuple[str, Any]] = []
    chosen += [("n_topics", n_topics + offset) for offset in sorted(set(topic_offsets))
               if n_topics and 2 <= n_topics + offset <= top]
    chosen += [("min_df", value) for value in sorted(set(min_dfs)) if value != min_df]
    chosen += [("cluster_input", value) for value in sorted(set(cluster_inputs)) if value != cluster_input]
    return [(f"{name}={value}", {name: value}) for name, value in chosen]


def sweep_status(n_topics: int, min_df: float, cluster_input: str, topic_offsets: Sequence[int],
                 min_dfs: Sequence[float], cluster_inputs: Sequence[str],
                 chosen: list[tuple[str, dict[str, Any]]], max_topics: int) -> pd.DataFrame:
    """Return the sweep's status table: a row per swept choice, skipped (with the reason) when no variant of it
    runs, and a row for the sweep as a whole."""
    ran = {name.partition("=")[0] for name, _ in chosen}
    tried = sorted({n_topics + offset for offset in topic_offsets})
    reasons = {
        "n_topics": "" if "n_topics" in ran else (
            "sweep_topic_offsets is empty" if not topic_offsets
            else "the baseline has no topic model whose number of topics could change" if not n_topics
            else f"the other topic numbers ({number_span(set(tried) - {n_topics})}) do not fit between 2 and the "
                 f"{max_topics} passages with terms"),
        "min_df": "" if "min_df" in ran else (
            "sweep_min_df is empty" if not min_dfs else f"sweep_min_df names only the baseline's value {min_df}"),
        "cluster_input": "" if "cluster_input" in ran else (
            "sweep_cluster_inputs is empty" if not cluster_inputs
            else f"sweep_cluster_inputs names only the baseline's input {cluster_input}"),
    }
    reasons["sweep"] = "" if chosen else "no variant to run (" + "; ".join(reasons.values()) + ")"
    return status_table({"sweep": reasons.pop("sweep"), **reasons})


def variant_params(root: Path, base: dict[str, Any], overrides: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Return the full params of a variant: the params file, the baseline's values, the change, own folders."""
    params = load_params(root / "params.yaml")
    params.update(base)
    params.update(overrides)
    params.update({"interim_dir": str(folder / "interim"), "processed_dir": str(folder / "processed"),
                   "figures_dir": str(folder / "figures"), "build_dir": str(folder / "build"),
                   "draw_figures": False})
    return params


def prepare_variant(folder: Path, baseline_processed: Path, params: dict[str, Any]) -> Path:
    """Create a variant's folder with its params file and a copy of the baseline's passage tables."""
    (folder / "processed").mkdir(parents=True, exist_ok=True)
    for name in INPUTS:
        source = baseline_processed / name
        if not source.is_file():
            raise ProjectError(f"{source}: not found; run the 'passages' stage first")
        shutil.copyfile(source, folder / "processed" / name)
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=True), encoding="utf-8")
    return path


def run_variant(name: str, params_file: Path, root: Path) -> str:
    """Run the swept stages of one variant in a subprocess; return its name, or raise naming the variant."""
    command = [sys.executable, "-m", "helpers.pipeline", "--params", str(params_file), "--from", FIRST_STAGE,
               "--to", LAST_STAGE, "--no-render", "--force"]  # the copied inputs are not fingerprinted: rerun all
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()] or ["(no message)"]
        raise ProjectError(f"sensitivity variant {name} failed: {lines[0]}")
    return name


def run_sweep(root: Path, sweep_dir: Path, baseline_processed: Path, base: dict[str, Any],
              chosen: list[tuple[str, dict[str, Any]]], jobs: int = 1,
              progress: Callable[[str], None] = print) -> dict[str, Path]:
    """Run every variant (jobs at a time) and return each variant's processed folder by name."""
    folders = {}
    runs = []
    for name, overrides in chosen:
        folder = sweep_dir / name.replace("=", "-")
        params = variant_params(root, base, overrides, folder)
        runs.append((name, prepare_variant(folder, baseline_processed, params)))
        folders[name] = folder / "processed"
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for count, name in enumerate(pool.map(lambda run: run_variant(*run, root), runs), start=1):
            progress(f"[{count}/{len(runs)}] variant {name} done")
    return folders


def topic_match(baseline: pd.DataFrame, variant: pd.DataFrame) -> float:
    """Mean cosine of Hungarian-matched topics, each topic a vector of its top words' weights (NaN if either
    run has none)."""
    if baseline.empty or variant.empty:
        return float("nan")
    terms = sorted(set(baseline["term"]) | set(variant["term"]))

    def matrix(table: pd.DataFrame) -> np.ndarray:
        wide = table.pivot_table(index="topic", columns="term", values="weight", aggfunc="sum", fill_value=0)
        return wide.reindex(columns=terms, fill_value=0).to_numpy(dtype=float)

    return float(matched_cosines(matrix(baseline), matrix(variant)).mean())


def terms_overlap(baseline: pd.DataFrame, variant: pd.DataFrame) -> float:
    """Mean Jaccard overlap, over the provinces in both, of their lists of distinctive terms."""
    first, second = (table.groupby("province")["term"].agg(set) for table in (baseline, variant))
    common = sorted(set(first.index) & set(second.index))
    if not common:
        return float("nan")
    return float(np.mean([len(first[name] & second[name]) / len(first[name] | second[name]) for name in common]))


def cluster_agreement(baseline: pd.DataFrame, variant: pd.DataFrame) -> float:
    """Adjusted Rand index of two clusterings on the provinces both cluster (NaN if they share none)."""
    merged = baseline[["province", "cluster"]].merge(variant[["province", "cluster"]], on="province")
    if merged.empty:
        return float("nan")
    return float(adjusted_rand_score(merged["cluster_x"], merged["cluster_y"]))


def similarity_agreement(baseline: pd.DataFrame, variant: pd.DataFrame) -> float:
    """Spearman correlation of the provinces' similarity to national text in two runs (NaN for fewer than
    three provinces in both, or a run whose similarities are all equal)."""
    merged = baseline[["province", "similarity"]].merge(variant[["province", "similarity"]], on="province")
    if len(merged) < 3 or merged[["similarity_x", "similarity_y"]].round(12).nunique().min() < 2:
        return float("nan")
    return float(stats.spearmanr(merged["similarity_x"], merged["similarity_y"])[0])


RUN_TABLES = (("topics", "topics"), ("topic_terms", "topics"), ("clusters", "clusters"),
              ("cluster_silhouette", "clusters"), ("cluster_bootstrap", "clusters"), ("distinctive_terms", "tfidf"),
              ("similarity", "convergence"))


def read_run(processed: Path) -> dict[str, pd.DataFrame]:
    """Read the tables of one run that its conclusions come from."""
    return {name: read_table(processed / f"{name}.csv", stage) for name, stage in RUN_TABLES}


def conclusions(tables: dict[str, pd.DataFrame], base: dict[str, pd.DataFrame] | None = None) -> dict[str, float]:
    """Return the conclusions of one run (its read_run tables), compared with a baseline's tables."""
    silhouette = tables["cluster_silhouette"]
    chosen = silhouette.loc[silhouette["chosen"].astype(str) == "True", "silhouette"].astype(float)
    ari = tables["cluster_bootstrap"]["ari"].astype(float)
    row: dict[str, float] = {
        "n_topics": len(tables["topics"]), "n_clusters": int(tables["clusters"]["cluster"].nunique()),
        "silhouette": float(chosen.iloc[0]) if len(chosen) else float("nan"),
        "bootstrap_ari": float(ari.mean()) if len(ari) else float("nan"),
        "trend_rho": similarity_trend(tables["similarity"])["rho"],
    }
    if base is None:
        def itself(name: str) -> float:
            return 1.0 if len(tables[name]) else float("nan")
        return {**row, "topic_match": itself("topic_terms"), "ari_vs_baseline": itself("clusters"),
                "terms_overlap": itself("distinctive_terms"), "similarity_rho": itself("similarity")}
    return {**row,
            "topic_match": topic_match(base["topic_terms"], tables["topic_terms"]),
            "ari_vs_baseline": cluster_agreement(base["clusters"], tables["clusters"]),
            "terms_overlap": terms_overlap(base["distinctive_terms"], tables["distinctive_terms"]),
            "similarity_rho": similarity_agreement(base["similarity"], tables["similarity"])}


def sensitivity_table(baseline: Path, folders: dict[str, Path]) -> pd.DataFrame:
    """Return one row of conclusions per run: the baseline first, then each variant in sweep order."""
    base = read_run(baseline)
    records = [{"variant": "baseline", "parameter": "", "value": "", **conclusions(base)}]
    for name, folder in folders.items():
        parameter, _, value = name.partition("=")
        records.append({"variant": name, "parameter": parameter, "value": value,
                        **conclusions(read_run(folder), base)})
    table = pd.DataFrame(records)
    table["value"] = table["value"].astype(str)
    return table[COLUMNS]
