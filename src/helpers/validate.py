"""Check the corpus and the parameters before any notebook runs; every refusal is one actionable line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpers.config import ProjectError, resolve

CLUSTER_INPUTS = ("topics", "tfidf")
PATH_PARAMS = ("raw_dir", "lexicon_dir", "interim_dir", "processed_dir", "figures_dir", "build_dir", "report_dir")


def _whole(minimum: int) -> Callable[[Any], str]:
    """A check that a value is a whole number of at least `minimum`."""
    def check(value: Any) -> str:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
        return "" if ok else f"must be a whole number of at least {minimum}"
    return check


def _document_frequency(value: Any) -> str:
    """min_df/max_df: a count of at least 1, or a share between 0 and 1."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be a number: a count of documents (1, 2, …) or a share (0 < share <= 1)"
    if isinstance(value, int) and value >= 1 or isinstance(value, float) and 0 < value <= 1:
        return ""
    return "must be a count of documents of at least 1 or a share between 0 and 1"


def _choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    """A check that a value is one of the options."""
    return lambda value: "" if value in options else f"must be one of {', '.join(options)}"


def _names(value: Any) -> str:
    """A non-empty list of names."""
    ok = isinstance(value, list) and value and all(isinstance(item, str) and item for item in value)
    return "" if ok else "must be a list of names, e.g. [一网通办, 一网统管]"


def _auto_or_whole(minimum: int) -> Callable[[Any], str]:
    """A check that a value is `auto` or a whole number of at least `minimum`."""
    whole = _whole(minimum)
    return lambda value: "" if value == "auto" or not whole(value) else f"must be auto or {whole(value)[8:]}"


def _list_of(check: Callable[[Any], str], example: str, empty_ok: bool = False) -> Callable[[Any], str]:
    """A check that a value is a list (non-empty unless empty_ok) whose items all pass `check`."""
    def checked(value: Any) -> str:
        ok = isinstance(value, list) and (empty_ok or value) and not any(check(item) for item in value)
        return "" if ok else f"must be a list like {example}"
    return checked


def _probability(value: Any) -> str:
    """A probability above 0 and at most 1."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= 1
    return "" if ok else "must be a probability above 0 and at most 1, e.g. 0.01"


def _flag(value: Any) -> str:
    """A boolean."""
    return "" if isinstance(value, bool) else "must be true or false"


def _offset(value: Any) -> str:
    """A non-zero whole number."""
    return "" if isinstance(value, int) and not isinstance(value, bool) and value != 0 else "non-zero"


def jobs_problem(value: Any) -> str:
    """A process count: a whole number of at least 1, or -1 for every core."""
    ok = type(value) is int and (value >= 1 or value == -1)
    return "" if ok else "must be a whole number of at least 1, or -1 for every core"


def _scheduler_address(value: Any) -> str:
    """Empty, or an address such as tcp://host:port."""
    host_and_port = value.rpartition("://")[2] if isinstance(value, str) else ""
    host, _, port = host_and_port.rpartition(":")
    if value == "" or (host and port.isdigit() and not any(map(str.isspace, value))):
        return ""
    return "must be empty (run locally) or a Dask scheduler address such as tcp://127.0.0.1:8786"


CHECKS: dict[str, Callable[[Any], str]] = {
    "min_passage_chars": _whole(1), "min_token_chars": _whole(1), "top_terms": _whole(1),
    "keyness_min_count": _whole(1), "keyness_max_p": _probability,
    "n_topics": _auto_or_whole(2), "topic_grid": _list_of(_whole(2), "[3, 4, 5]"),
    "stability_seeds": _whole(2), "topic_top_words": _whole(2), "seed": _whole(0),
    "n_clusters": _auto_or_whole(2), "cluster_grid": _list_of(_whole(2), "[2, 3, 4]"), "n_boot": _whole(1),
    "min_province_chars": _whole(0), "min_df": _document_frequency, "max_df": _document_frequency,
    "cluster_input": _choice(CLUSTER_INPUTS), "focus_concepts": _names,
    "reuse_shingle": _whole(2), "reuse_min_chars": _whole(2), "reuse_max_passages": _whole(2),
    "reuse_across_sources": _flag, "sweep_topic_offsets": _list_of(_offset, "[-1, 1]", empty_ok=True),
    "sweep_min_df": _list_of(_document_frequency, "[1, 3]", empty_ok=True),
    "sweep_cluster_inputs": _list_of(_choice(CLUSTER_INPUTS), "[topics, tfidf]", empty_ok=True),
    "sweep_n_boot": _whole(1), "sweep_jobs": _whole(1), "draw_figures": _flag,
    "n_jobs": jobs_problem, "dask_scheduler": _scheduler_address,
}


def validate_params(params: dict[str, Any], root: Path | None = None) -> None:
    """Check types and ranges of the known parameters and that the input folders exist."""
    for name, check in CHECKS.items():
        if name in params:
            problem = check(params[name])
            if problem:
                raise ProjectError(f"parameter {name}={params[name]!r}: {problem} (params.yaml or -p {name}=…)")
    min_df, max_df = params.get("min_df"), params.get("max_df")
    if isinstance(min_df, float) and isinstance(max_df, float) and min_df > max_df:
        raise ProjectError(f"parameters min_df={min_df} and max_df={max_df}: min_df must not exceed max_df")
    for name in PATH_PARAMS:
        if name in params and not isinstance(params[name], str | Path):
            raise ProjectError(f"parameter {name}={params[name]!r}: must be a folder path")
    for name in ("raw_dir", "lexicon_dir"):
        if name in params and not resolve(params[name], root).is_dir():
            raise ProjectError(f"parameter {name}={params[name]!r}: folder not found; give an existing folder")


def validate_corpus(raw_dir: Path, lexicon_dir: Path | None = None) -> list[str]:
    """Read and check the manifest (against the gazetteer of lexicon_dir if given) and decode every document.

    Returns warnings; raises on the first refusal.
    """
    from helpers.corpus import load_manifest, read_sources
    from helpers.lexicon import Lexicon
    from helpers.places import city_forms

    lexicon = Lexicon(lexicon_dir) if lexicon_dir is not None else None
    names = (lexicon.province_names, city_forms(lexicon) or None) if lexicon is not None else (None, None)
    read_sources(raw_dir, load_manifest(raw_dir, *names))
    return []


def _read_columns(path: Path, columns: list[str]):
    """Read some columns of a table as strings."""
    import pandas as pd

    return pd.read_csv(path, dtype=str, keep_default_na=False, usecols=columns)


def check_stage_inputs(stage: str, params: dict[str, Any], root: Path | None = None) -> list[str]:
    """Check the passages a stage is about to read against its parameters; raise on a refusal, return notes.

    A corpus without any province passage runs (its province analyses are skipped); a fixed n_topics or
    n_clusters larger than the passages or provinces there are is refused.
    """
    passages_file = resolve(params.get("processed_dir", "data/processed"), root) / "passages.csv"
    if stage not in ("tfidf", "topics", "clusters") or not passages_file.is_file():
        return []
    passages = _read_columns(passages_file, ["source_id", "province", "level"])
    provincial = passages[passages["level"] != "national"]
    limits = {"topics": ("n_topics", len(passages), "passages"),
              "clusters": ("n_clusters", provincial["province"].nunique(), "provinces with passages")}
    if stage in limits:
        name, available, what = limits[stage]
        value = params.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > available:
            raise ProjectError(f"parameter {name}={value}: larger than the {available} {what} in {passages_file}; "
                               f"choose at most {available}, or auto (-p {name}=auto)")
        return []
    sources = set(passages["source_id"])
    meta_file = resolve(params.get("interim_dir", "data/interim"), root) / "sources_meta.csv"
    if meta_file.is_file():
        sources |= set(_read_columns(meta_file, ["source_id"])["source_id"])
    if provincial.empty:
        return ["no source yields a province passage: the analyses that compare provinces are skipped and the "
                "report says so (if the sources name provinces in a way the lexicon misses, add those names to "
                "provinces.csv in lexicon_dir)"]
    return [f"source {source_id} yields no province passage (only national text or none)"
            for source_id in sorted(sources - set(provincial["source_id"]))]
