"""Province clusters: two obvious groups are found, thin provinces join the nearest, numbering is stable."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.clusters import cluster_provinces, number_clusters, province_profiles, province_sizes
from helpers.config import ProjectError

TRANSPORT = ["北京", "天津", "河北", "山西"]
HEALTH = ["浙江", "江苏", "上海"]


def topic_shares() -> pd.DataFrame:
    """Topic shares: a transport group, a health group, a thin transport-like province, the nation."""
    rows = {"北京": [0.80, 0.10, 0.10], "天津": [0.75, 0.15, 0.10], "河北": [0.85, 0.05, 0.10],
            "山西": [0.70, 0.20, 0.10], "浙江": [0.10, 0.80, 0.10], "江苏": [0.05, 0.85, 0.10],
            "上海": [0.15, 0.75, 0.10], "西藏": [0.60, 0.30, 0.10], "全国": [0.3, 0.3, 0.4]}
    records = [[province, topic, share] for province, shares in rows.items()
               for topic, share in enumerate(shares, start=1)]
    return pd.DataFrame(records, columns=["province", "topic", "share"])


def sizes() -> pd.DataFrame:
    """Passage counts and sizes: 西藏 is thin."""
    provinces = sorted(TRANSPORT + HEALTH + ["西藏"])
    passages = pd.DataFrame({
        "passage_id": [f"000-{number:04d}" for number in range(len(provinces) + 1)],
        "province": provinces + ["全国"],
        "text": ["字" * (40 if province == "西藏" else 200) for province in provinces] + ["字" * 500],
    })
    return province_sizes(passages, min_province_chars=150)


def test_province_sizes_flag_thin_provinces_and_skip_the_nation():
    table = sizes()
    assert "全国" not in set(table["province"])
    assert table.set_index("province").loc["西藏"].tolist() == [1, 40, True]
    assert table.loc[table["province"] != "西藏", "thin"].eq(False).all()


def test_topic_profile_has_one_column_per_topic_without_the_nation():
    profile = province_profiles("topics", topic_shares(), pd.DataFrame(), min_df=1, max_df=1.0)
    assert list(profile.columns) == ["province", "T1", "T2", "T3"]
    assert sorted(profile["province"]) == sorted(TRANSPORT + HEALTH + ["西藏"])
    assert profile.set_index("province").loc["北京"].tolist() == [0.8, 0.1, 0.1]


def test_tfidf_profile_has_one_column_per_term():
    documents = pd.DataFrame({"province": ["全国", "北京", "浙江"],
                              "level": ["national", "province", "province"],
                              "tokens": ["政务", "交通 道路", "医疗 道路"]})
    profile = province_profiles("tfidf", pd.DataFrame(), documents, min_df=1, max_df=1.0)
    assert list(profile.columns) == ["province", "交通", "医疗", "道路"]
    assert profile["province"].tolist() == ["北京", "浙江"]
    assert profile.loc[0, "医疗"] == 0 and profile.loc[0, "交通"] > 0


def test_unknown_cluster_input_is_named():
    with pytest.raises(ProjectError, match="cluster_input"):
        province_profiles("words", topic_shares(), pd.DataFrame(), min_df=1, max_df=1.0)


def test_two_obvious_groups_are_found_and_thin_provinces_join_the_nearest():
    profile = province_profiles("topics", topic_shares(), pd.DataFrame(), min_df=1, max_df=1.0)
    table, tree = cluster_provinces(profile, n_clusters=2, sizes=sizes())
    clusters = table.groupby("cluster")["province"].agg(set).to_dict()
    assert clusters == {1: set(TRANSPORT + ["西藏"]), 2: set(HEALTH)}
    assert table.loc[table["province"] == "西藏", "thin"].item()
    assert tree.shape == (len(TRANSPORT + HEALTH) - 1, 4)
    assert table.loc[~table["thin"], "silhouette"].gt(0.5).all()
    assert table["province"].is_monotonic_increasing
    assert table.set_index("province").loc["北京", ["n_passages", "n_chars"]].tolist() == [1, 200]


def test_clustering_is_reproducible():
    profile = province_profiles("topics", topic_shares(), pd.DataFrame(), min_df=1, max_df=1.0)
    first, first_tree = cluster_provinces(profile, n_clusters=3, sizes=sizes())
    shuffled = profile.sample(frac=1, random_state=3)
    second, second_tree = cluster_provinces(shuffled, n_clusters=3, sizes=sizes())
    pd.testing.assert_frame_equal(first, second)
    assert np.array_equal(first_tree, second_tree)


def test_clusters_are_numbered_by_size_then_first_name():
    labels = np.array([5, 5, 9, 9, 7])
    assert number_clusters(labels, ["丙", "丁", "甲", "乙", "戊"]).tolist() == [1, 1, 2, 2, 3]
    assert number_clusters(labels, ["甲", "乙", "丙", "丁", "戊"]).tolist() == [2, 2, 1, 1, 3]


@pytest.mark.parametrize("n_clusters", [1, 7, 3.0])
def test_bad_n_clusters_is_named(n_clusters):
    profile = province_profiles("topics", topic_shares(), pd.DataFrame(), min_df=1, max_df=1.0)
    with pytest.raises(ProjectError, match="n_clusters"):
        cluster_provinces(profile, n_clusters=n_clusters, sizes=sizes())
