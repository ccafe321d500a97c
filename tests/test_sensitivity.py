"""Sensitivity sweep: the variants, their params, and the comparisons of conclusions, on tables made by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import sensitivity
from helpers.config import project_root
from helpers.pipeline import STAGES, declared_parameters

ROOT = project_root()


def test_variants_change_one_choice_at_a_time_and_skip_the_baseline_and_impossible_values():
    chosen = sensitivity.variants(2, 2, "topics", [-1, 1], [1, 2, 3], ["topics", "tfidf"])
    assert chosen == [("n_topics=3", {"n_topics": 3}), ("min_df=1", {"min_df": 1}), ("min_df=3", {"min_df": 3}),
                      ("cluster_input=tfidf", {"cluster_input": "tfidf"})]


def test_variant_params_keep_the_baseline_change_one_value_and_use_own_folders(tmp_path: Path):
    params = sensitivity.variant_params(ROOT, {"min_df": 5, "seed": 7}, {"n_topics": 3}, tmp_path / "v")
    assert params["min_df"] == 5 and params["seed"] == 7 and params["n_topics"] == 3
    assert params["draw_figures"] is False
    for name in ("interim_dir", "processed_dir", "figures_dir", "build_dir"):
        assert Path(params[name]).parent == tmp_path / "v"


def test_the_sweep_notebook_passes_on_every_parameter_of_the_swept_stages():
    swept = list(STAGES)[list(STAGES).index(sensitivity.FIRST_STAGE):list(STAGES).index(sensitivity.LAST_STAGE) + 1]
    needed = {name for stage in swept for name in declared_parameters(ROOT / STAGES[stage])}
    needed -= {"interim_dir", "processed_dir", "figures_dir", "draw_figures", "n_topics", "n_boot"}
    declared = set(declared_parameters(ROOT / STAGES["sensitivity"]))
    assert needed <= declared, f"08_sensitivity must declare {sorted(needed - declared)}"


def test_topic_match_is_one_for_the_same_topics_in_another_order_and_lower_for_others():
    first = pd.DataFrame({"topic": [1, 1, 2, 2], "term": ["交通", "道路", "医疗", "医院"], "weight": [.6, .4, .5, .5]})
    reordered = first.assign(topic=first["topic"].map({1: 2, 2: 1}))
    assert sensitivity.topic_match(first, reordered) == pytest.approx(1.0)
    other = first.assign(term=["交通", "农业", "医疗", "乡村"])
    assert sensitivity.topic_match(first, other) < 0.9


def test_terms_overlap_is_the_mean_jaccard_over_common_provinces():
    first = pd.DataFrame({"province": ["北京", "北京", "浙江"], "term": ["a", "b", "c"]})
    second = pd.DataFrame({"province": ["北京", "北京", "浙江", "上海"], "term": ["a", "d", "c", "e"]})
    assert sensitivity.terms_overlap(first, second) == pytest.approx((1 / 3 + 1) / 2)


def test_cluster_and_similarity_agreement_ignore_labels_and_scale():
    first = pd.DataFrame({"province": list("abcd"), "cluster": [1, 1, 2, 2], "similarity": [.1, .2, .3, .4]})
    second = pd.DataFrame({"province": list("dcba"), "cluster": [5, 5, 7, 7], "similarity": [.9, .8, .7, .6]})
    assert sensitivity.cluster_agreement(first, second) == pytest.approx(1.0)
    assert sensitivity.similarity_agreement(first, second) == pytest.approx(1.0)
    shuffled = second.assign(cluster=[5, 7, 5, 7])
    assert sensitivity.cluster_agreement(first, shuffled) < 0.5


def write_run(folder: Path, clusters: list[int], similarity: list[float]) -> Path:
    """Write the tables conclusions() reads for a run of four provinces."""
    folder.mkdir(parents=True)
    provinces = ["上海", "北京", "天津", "浙江"]
    pd.DataFrame({"topic": [1, 2], "label": ["T1", "T2"]}).to_csv(folder / "topics.csv", index=False)
    pd.DataFrame({"topic": [1, 2], "rank": [1, 1], "term": ["a", "b"], "weight": [1.0, 1.0]}).to_csv(
        folder / "topic_terms.csv", index=False)
    pd.DataFrame({"province": provinces, "cluster": clusters}).to_csv(folder / "clusters.csv", index=False)
    pd.DataFrame({"n_clusters": [2, 3], "silhouette": [0.5, 0.4], "chosen": [True, False]}).to_csv(
        folder / "cluster_silhouette.csv", index=False)
    pd.DataFrame({"replicate": [1, 2], "ari": [0.5, 0.7]}).to_csv(folder / "cluster_bootstrap.csv", index=False)
    pd.DataFrame({"province": provinces, "rank": 1, "term": ["x", "y", "z", "w"]}).to_csv(
        folder / "distinctive_terms.csv", index=False)
    pd.DataFrame({"province": provinces, "date": ["2019", "2020", "2021", "2022"],
                  "similarity": similarity}).to_csv(folder / "similarity.csv", index=False)
    return folder


def test_the_table_has_the_baseline_first_and_compares_each_variant(tmp_path: Path):
    baseline = write_run(tmp_path / "base", [1, 1, 2, 2], [0.1, 0.2, 0.3, 0.4])
    variant = write_run(tmp_path / "v", [1, 2, 1, 2], [0.4, 0.3, 0.2, 0.1])
    table = sensitivity.sensitivity_table(baseline, {"min_df=3": variant})
    assert table.columns.tolist() == sensitivity.COLUMNS
    assert table["variant"].tolist() == ["baseline", "min_df=3"]
    base, other = table.iloc[0], table.iloc[1]
    assert base["ari_vs_baseline"] == 1.0 and base["trend_rho"] == pytest.approx(1.0)
    assert other["parameter"] == "min_df" and other["value"] == "3"
    assert other["ari_vs_baseline"] < 0 and other["similarity_rho"] == pytest.approx(-1.0)
    assert other["bootstrap_ari"] == pytest.approx(0.6) and other["n_clusters"] == 2
    assert np.isclose(other["terms_overlap"], 1.0)
