"""Province clusters: two obvious groups are found, thin provinces join the nearest, numbering is stable."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.clusters import (
    best_n_clusters,
    bootstrap_stability,
    cluster_provinces,
    number_clusters,
    projection,
    province_profiles,
    province_sizes,
    silhouette_by_k,
    stratified_resample,
    tfidf_profile_fn,
    topic_profile_fn,
)
from helpers.config import ProjectError
from helpers.tfidf import province_documents

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


GROUP_A = ["北京", "天津", "河北", "山西", "辽宁", "吉林"]
GROUP_B = ["浙江", "江苏", "上海", "安徽", "福建", "江西"]


def passage_shares(separated: bool, seed: int = 0) -> pd.DataFrame:
    """Three passages per province with topic shares: two clear groups, or random shares; plus the nation."""
    rng = np.random.default_rng(seed)
    rows = []
    for province in GROUP_A + GROUP_B + ["全国"]:
        for number in range(3):
            if separated:
                centre = [0.8, 0.1, 0.1] if province in GROUP_A else [0.1, 0.8, 0.1]
                shares = np.array(centre) + rng.uniform(-0.05, 0.05, 3)
            else:
                shares = rng.dirichlet([1.0, 1.0, 1.0])
            shares = shares / shares.sum()
            rows.append([f"{province}-{number}", province, int(rng.integers(100, 300)), *shares])
    return pd.DataFrame(rows, columns=["passage_id", "province", "n_chars", "T1", "T2", "T3"])


def passages_of(shares: pd.DataFrame) -> pd.DataFrame:
    """Return passages (passage_id, province, text) of the sizes given in the shares table."""
    return shares.assign(text=["字" * size for size in shares["n_chars"]])[["passage_id", "province", "text"]]


def test_topic_profile_weights_passages_by_length_and_leaves_out_the_nation():
    shares = passage_shares(separated=True)
    profile = topic_profile_fn(shares)(passages_of(shares))
    assert profile["province"].tolist() == sorted(GROUP_A + GROUP_B)
    beijing = shares[shares["province"] == "北京"]
    expected = beijing[["T1", "T2", "T3"]].mul(beijing["n_chars"], axis=0).sum() / beijing["n_chars"].sum()
    assert profile.set_index("province").loc["北京"].to_numpy() == pytest.approx(expected.to_numpy())
    doubled = topic_profile_fn(shares)(passages_of(shares).iloc[[0, 0, 1]])
    assert doubled["province"].tolist() == ["北京"]


def test_tfidf_profile_matches_province_profiles_and_accepts_repeated_passages():
    passages = pd.DataFrame({"passage_id": ["1", "2", "3", "4"], "province": ["北京", "北京", "浙江", "全国"],
                             "level": ["province", "province", "province", "national"],
                             "text": ["交通", "道路", "医疗", "政务"]})
    tokens = pd.DataFrame({"passage_id": ["1", "2", "3", "4"], "tokens": ["交通", "道路", "医疗 道路", "政务"]})
    expected = province_profiles("tfidf", pd.DataFrame(), province_documents(passages, tokens), 1, 1.0)
    profile_fn = tfidf_profile_fn(tokens, 1, 1.0)
    pd.testing.assert_frame_equal(profile_fn(passages), expected)
    repeated = profile_fn(passages.iloc[[0, 0, 2, 3]])
    assert list(repeated.columns) == ["province", "交通", "医疗", "道路"]
    assert repeated.loc[0, "道路"] == 0 and repeated.loc[1, "道路"] > 0


def test_resampling_keeps_every_province_and_its_passage_count():
    shares = passage_shares(separated=True)
    drawn = stratified_resample(passages_of(shares), np.random.default_rng(1))
    assert drawn["province"].value_counts().to_dict() == shares["province"].value_counts().to_dict()
    assert (drawn["passage_id"].str.split("-").str[0] == drawn["province"]).all()
    assert drawn["passage_id"].duplicated().any()


def group_sizes(shares: pd.DataFrame) -> pd.DataFrame:
    """Sizes of the constructed provinces; none is thin."""
    return province_sizes(passages_of(shares), min_province_chars=50)


def test_silhouette_picks_two_separated_groups():
    shares = passage_shares(separated=True)
    profile = topic_profile_fn(shares)(passages_of(shares))
    table = silhouette_by_k(profile, group_sizes(shares), range(2, 7))
    assert table["n_clusters"].tolist() == [2, 3, 4, 5, 6]
    assert best_n_clusters(table) == 2
    assert table.set_index("n_clusters").loc[2, "silhouette"] > 0.8
    with pytest.raises(ProjectError, match="n_clusters"):
        silhouette_by_k(profile, group_sizes(shares), [2, 12])


def test_ties_in_silhouette_go_to_fewer_clusters():
    assert best_n_clusters(pd.DataFrame({"n_clusters": [2, 3, 4], "silhouette": [0.3, 0.5, 0.5]})) == 3


def test_bootstrap_keeps_separated_groups_together():
    shares = passage_shares(separated=True)
    replicates, provinces = bootstrap_stability(passages_of(shares), topic_profile_fn(shares), 2, 30, 7,
                                                group_sizes(shares))
    assert replicates["replicate"].tolist() == list(range(1, 31))
    assert replicates["ari"].to_numpy() == pytest.approx(np.ones(30))
    assert provinces["stability"].to_numpy() == pytest.approx(np.ones(12))
    # equal sizes: numbered by the first name, and 上 sorts before 北
    assert provinces.groupby("cluster")["province"].agg(set).to_dict() == {1: set(GROUP_B), 2: set(GROUP_A)}


def test_bootstrap_of_random_profiles_is_unstable_and_reproducible():
    shares = passage_shares(separated=False, seed=3)
    arguments = (passages_of(shares), topic_profile_fn(shares), 3, 20)
    replicates, provinces = bootstrap_stability(*arguments, 11, group_sizes(shares))
    assert replicates["ari"].mean() < 0.5
    assert provinces["stability"].mean() < 0.8
    again = bootstrap_stability(*arguments, 11, group_sizes(shares))
    pd.testing.assert_frame_equal(replicates, again[0])
    pd.testing.assert_frame_equal(provinces, again[1])
    other = bootstrap_stability(*arguments, 12, group_sizes(shares))[0]
    assert not np.allclose(replicates["ari"], other["ari"])


def test_projection_separates_the_groups_with_a_fixed_orientation():
    shares = passage_shares(separated=True)
    profile = topic_profile_fn(shares)(passages_of(shares))
    points = projection(profile, seed=1)
    assert list(points.columns) == ["province", "x", "y"]
    assert points["province"].tolist() == sorted(GROUP_A + GROUP_B)
    x = points.set_index("province")["x"]
    assert (np.sign(x[GROUP_A]).nunique(), np.sign(x[GROUP_B]).nunique()) == (1, 1)
    assert np.sign(x[GROUP_A].iloc[0]) != np.sign(x[GROUP_B].iloc[0])
    pd.testing.assert_frame_equal(points, projection(profile.sample(frac=1, random_state=2), seed=1))
    assert points["x"].var() > points["y"].var()
    assert points[["x", "y"]].sum().to_numpy() == pytest.approx([0.0, 0.0], abs=1e-12)


def test_auto_chooses_two_clusters_for_two_groups_and_flags_the_choice():
    from helpers.clusters import choose_n_clusters

    profile = province_profiles("topics", topic_shares(), pd.DataFrame(), 1, 1.0)
    chosen, table = choose_n_clusters("auto", profile, sizes(), [2, 3, 4, 5, 6, 40])
    assert chosen == 2
    assert table["n_clusters"].tolist() == [2, 3, 4, 5, 6]  # 7 well-measured provinces: at most 6 clusters
    assert table.loc[table["chosen"], "n_clusters"].tolist() == [2]


def test_a_given_number_of_clusters_is_kept_and_scored_with_the_grid():
    from helpers.clusters import choose_n_clusters

    profile = province_profiles("topics", topic_shares(), pd.DataFrame(), 1, 1.0)
    chosen, table = choose_n_clusters(3, profile, sizes(), [2])
    assert chosen == 3 and table["n_clusters"].tolist() == [2, 3]
    assert table.loc[table["chosen"], "n_clusters"].tolist() == [3]
    with pytest.raises(ProjectError, match="cluster_grid"):
        choose_n_clusters("auto", profile, sizes(), [9, 10])
