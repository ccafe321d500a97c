"""Each stage does what its corpus allows: an analysis the data cannot support is skipped with its reason in
words, its tables keep their columns, and nothing downstream breaks on the empty tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from helpers.clusters import CLUSTER_TABLES, bootstrap_skip_reason, cluster_stage, grid_skip_reason
from helpers.convergence import convergence_stage, similarity_trend, trend_skip_reason
from helpers.keyness import keyness_skip_reason
from helpers.reporting import md_table
from helpers.reuse import reuse_skip_reason, reuse_stage
from helpers.sensitivity import conclusions, sweep_status, variants
from helpers.status import empty_like, is_done, number_span, skip_reason, status_table
from helpers.tfidf import distinctive_terms_skip_reason, province_documents, term_count
from helpers.topics import TOPIC_TABLES, model_topics, topics_skip_reason

TRANSPORT = ["交通", "道路", "公交", "地铁", "车辆", "出行"]
HEALTH = ["医疗", "医院", "医保", "健康", "药品", "诊疗"]


def corpus(places: list[tuple[str, str]], per_place: int = 4, source: str = "a") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Passages and tokens: per_place passages for each (province, level), alternating two vocabularies."""
    rng = np.random.default_rng(3)
    rows = []
    for index, (province, level) in enumerate(places):
        for number in range(per_place):
            vocabulary = TRANSPORT if (index + number) % 2 == 0 else HEALTH
            words = rng.choice(vocabulary, size=6).tolist()
            rows.append([f"{source}-{index:02d}{number:02d}", source, province, level, "2021-0" + str(1 + index % 9),
                         "".join(words) * 4, " ".join(words)])
    table = pd.DataFrame(rows, columns=["passage_id", "source_id", "province", "level", "date", "text", "tokens"])
    return table.drop(columns="tokens"), table[["passage_id", "tokens"]]


def test_a_status_table_lists_each_analysis_done_or_skipped_with_its_reason():
    status = status_table({"topics": "", "clusters": "too few provinces"})
    assert status.to_dict("list") == {"analysis": ["topics", "clusters"], "status": ["done", "skipped"],
                                      "reason": ["", "too few provinces"]}
    assert is_done(status, "topics") and not is_done(status, "clusters")
    assert skip_reason(status, "clusters") == "too few provinces" and skip_reason(status, "topics") == ""
    assert empty_like(["a", "b"]).columns.tolist() == ["a", "b"] and empty_like(["a"]).empty


def test_numbers_are_written_as_runs_or_lists():
    assert number_span([3, 4, 5, 6]) == "3–6"
    assert number_span([2, 4, 7]) == "2, 4, 7"
    assert number_span([5, 4]) == "4, 5"
    assert number_span([]) == ""


def test_term_count_follows_the_document_frequency_limits():
    assert term_count(["a b", "a c", "a d", "b"], 2, 1.0) == 2
    assert term_count(["a b", "a c", "a d", "b"], 2, 0.5) == 1
    assert term_count(["", ""], 1, 1.0) == 0


def test_distinctive_terms_need_a_province_and_a_second_place():
    national, national_tokens = corpus([("全国", "national")])
    assert "no passage is about a province" in distinctive_terms_skip_reason(
        province_documents(national, national_tokens), 1, 1.0)
    alone, alone_tokens = corpus([("浙江", "province")])
    assert "all passages are about one place (浙江)" in distinctive_terms_skip_reason(
        province_documents(alone, alone_tokens), 1, 1.0)
    two, two_tokens = corpus([("浙江", "province"), ("全国", "national")])
    assert distinctive_terms_skip_reason(province_documents(two, two_tokens), 1, 1.0) == ""
    four, four_tokens = corpus([("浙江", "province"), ("上海", "province"), ("北京", "province"),
                                ("全国", "national")], per_place=1)
    unique = four_tokens.assign(tokens=["交通", "医疗", "医院", "道路"])
    assert distinctive_terms_skip_reason(province_documents(four, unique), 2, 1.0) == (
        "no term occurs in at least 2 and at most 4 of the 4 texts of the provinces and the nation (min_df=2, "
        "max_df=1.0); a lower min_df would let rarer terms count")


def test_keyness_needs_two_groups_with_text():
    groups = pd.DataFrame({"group": ["浙江", "全国"], "tokens": ["交通 道路", ""]})
    assert keyness_skip_reason(groups) == ("keyness compares each place with the rest of the corpus, and only one "
                                           "place (浙江) has text")
    assert keyness_skip_reason(groups.assign(tokens=["交通", "医疗"])) == ""


def test_topics_are_skipped_when_no_number_of_the_grid_fits_and_the_tables_keep_their_columns():
    passages, tokens = corpus([("浙江", "province")], per_place=2)
    reason = topics_skip_reason("auto", [3, 4, 5], passages, tokens, 1, 1.0)
    assert reason.startswith("topic_grid tries 3–5 topics, but the corpus has only 2 passages with terms")
    model = model_topics(passages, tokens, "auto", [3, 4, 5], [1, 2], 1, 1.0, 5)
    assert model.status.to_dict("records") == [{"analysis": "topics", "status": "skipped", "reason": reason}]
    assert list(model.tables) == list(TOPIC_TABLES)
    for name, (_, columns) in TOPIC_TABLES.items():
        assert model.tables[name].empty and model.tables[name].columns.tolist() == columns
    assert topics_skip_reason(3, [2], passages, tokens, 1, 1.0).startswith("n_topics=3 does not fit")
    assert "no passage keeps a token" in topics_skip_reason("auto", [2], passages, tokens.assign(tokens=""), 1, 1.0)


def test_topics_on_a_handful_of_passages_use_the_numbers_that_fit():
    passages, tokens = corpus([("浙江", "province"), ("上海", "province")], per_place=2)
    model = model_topics(passages, tokens, "auto", [2, 3, 4, 5, 6], [1, 2], 1, 1.0, 5)
    assert is_done(model.status, "topics")
    assert model.tables["topic_selection"]["n_topics"].tolist() == [2, 3, 4]
    assert len(model.tables["topics"]) in (2, 3, 4)


def sizes_of(passages: pd.DataFrame, min_chars: int) -> pd.DataFrame:
    """Province sizes as clusters.province_sizes gives them."""
    from helpers.clusters import province_sizes

    return province_sizes(passages, min_chars)


def test_clustering_needs_three_well_measured_provinces_and_says_how_many_there_are():
    passages, _ = corpus([("浙江", "province"), ("上海", "province"), ("北京", "province")], per_place=1)
    profile = pd.DataFrame({"province": ["上海", "北京", "浙江"], "T1": [0.1, 0.5, 0.9], "T2": [0.9, 0.5, 0.1]})
    sizes = sizes_of(passages, 0)
    assert grid_skip_reason("auto", [2, 3], sizes, profile, 0) == ""
    assert grid_skip_reason("auto", [3, 4], sizes, profile, 0) == ("cluster_grid tries 3, 4 clusters, but with 3 "
                                                                   "well-measured provinces at most 2 clusters fit")
    assert grid_skip_reason(3, [2], sizes, profile, 0).startswith("n_clusters=3 does not fit")
    thin = sizes_of(passages, 10_000)
    assert grid_skip_reason("auto", [2], thin, profile, 10_000) == (
        "clustering needs at least 3 provinces with at least 10000 characters of text (min_province_chars), and this "
        "corpus has none: its 3 provinces have less")
    one = sizes_of(passages[passages["province"] == "浙江"], 0)
    assert "this corpus has only 1 province (浙江)" in grid_skip_reason("auto", [2], one, profile.iloc[2:], 0)


def test_bootstrap_is_skipped_when_every_clustered_province_has_one_passage():
    passages, _ = corpus([("浙江", "province"), ("上海", "province"), ("北京", "province")], per_place=1)
    clusters = pd.DataFrame({"province": ["上海", "北京", "浙江"], "thin": [False, False, False]})
    assert bootstrap_skip_reason(passages, clusters).startswith("every clustered province has a single passage")
    more, _ = corpus([("浙江", "province"), ("上海", "province"), ("北京", "province")], per_place=2)
    assert bootstrap_skip_reason(more, clusters) == ""


def stage_inputs(places: list[tuple[str, str]], per_place: int):
    """The cluster stage's inputs for a corpus of these places, topic model included."""
    passages, tokens = corpus(places, per_place)
    model = model_topics(passages, tokens, 2, [2], [1, 2], 1, 1.0, 5)
    return (passages, tokens, model.tables["province_topics"], model.tables["passage_topic_shares"],
            province_documents(passages, tokens))


def test_a_skipped_clustering_writes_every_table_empty_with_its_columns():
    passages, tokens, province_topics, shares, documents = stage_inputs([("浙江", "province"), ("全国", "national")], 3)
    stage = cluster_stage("topics", passages, tokens, province_topics, shares, documents, "auto", [2, 3], 5, 1, 0,
                          1, 1.0, (1, 5, 1.0))
    assert stage.status.set_index("analysis")["status"].to_dict() == {
        "clusters": "skipped", "bootstrap": "skipped", "projection": "skipped", "keyness": "skipped"}
    assert skip_reason(stage.status, "bootstrap") == "skipped with the clustering"
    for name, (_, columns) in CLUSTER_TABLES.items():
        if name != "cluster_profile":
            assert stage.tables[name].empty and stage.tables[name].columns.tolist() == columns, name


def test_clusters_of_single_passage_provinces_have_no_stability_and_say_so():
    places = [(name, "province") for name in ["浙江", "上海", "北京", "广东"]]
    passages, tokens, province_topics, shares, documents = stage_inputs(places, 1)
    stage = cluster_stage("topics", passages, tokens, province_topics, shares, documents, "auto", [2, 3], 5, 1, 0,
                          1, 1.0, (1, 5, 1.0))
    assert is_done(stage.status, "clusters") and not is_done(stage.status, "bootstrap")
    assert stage.tables["cluster_bootstrap"].empty
    assert stage.tables["clusters"]["stability"].isna().all()
    assert len(stage.tables["clusters"]) == 4 and stage.tables["clusters"]["cluster"].nunique() in (2, 3)


def test_trend_needs_three_dated_provinces_with_different_dates():
    table = pd.DataFrame({"province": list("abc"), "date": ["2020", "2021", ""], "similarity": [0.1, 0.2, 0.3]})
    assert trend_skip_reason(table) == "only 2 provinces have a dated plan, and a trend needs at least 3"
    same = table.assign(date=["2021-03"] * 3)
    assert trend_skip_reason(same) == "all 3 dated provinces have the same plan date, 2021-03"
    assert math.isnan(similarity_trend(same)["rho"])
    flat = table.assign(date=["2019", "2020", "2021"], similarity=[0.2] * 3)
    assert trend_skip_reason(flat) == "all 3 dated provinces are equally similar to the national text"


def test_a_perfect_order_of_three_provinces_is_not_significant():
    three = pd.DataFrame({"province": list("abc"), "date": ["2019", "2020", "2021"], "similarity": [0.1, 0.2, 0.3]})
    trend = similarity_trend(three)
    assert trend["rho"] == pytest.approx(1.0) and trend["p_value"] == pytest.approx(1 / 3)
    six = pd.DataFrame({"province": list("abcdef"), "date": [str(year) for year in range(2016, 2022)],
                        "similarity": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]})
    assert similarity_trend(six)["p_value"] == pytest.approx(2 / 720)


def test_convergence_without_national_text_or_dates_writes_empty_tables_and_reasons():
    passages, tokens = corpus([("浙江", "province"), ("上海", "province")], per_place=2)
    mentions = pd.DataFrame({"passage_id": [passages["passage_id"].iloc[0]], "province": ["浙江"], "level": ["city"],
                             "concept": ["一网通办"], "form": ["一网通办"], "count": [2]})
    stage = convergence_stage(passages.assign(date=""), mentions, tokens, ["一网通办", "一网统管"], 1, 1.0)
    reasons = stage.status.set_index("analysis")["reason"].to_dict()
    assert reasons == {"adoption": "", "adoption_curve": "no provincial passage is dated, so adoption cannot be "
                       "placed in time", "similarity": "the corpus has no national passage to compare the provinces "
                       "with", "trend": "skipped with the similarity"}
    assert stage.tables["adoption"][["province", "level"]].values.tolist() == [["浙江", "province"]]
    assert stage.tables["similarity"].empty and stage.tables["adoption_curve"].empty


def test_reuse_needs_two_places_and_with_reuse_across_sources_two_sources():
    one_place, _ = corpus([("浙江", "province")], per_place=2)
    assert reuse_skip_reason(one_place).startswith("all passages are about one place (浙江)")
    one_source, _ = corpus([("浙江", "province"), ("全国", "national")], per_place=2)
    assert reuse_skip_reason(one_source).startswith("the corpus has a single source")
    assert reuse_skip_reason(one_source, across_sources=False) == ""
    first, _ = corpus([("浙江", "province")], per_place=1, source="a")
    second, _ = corpus([("浙江", "province")], per_place=1, source="b")
    assert reuse_skip_reason(pd.concat([first, second])).startswith("all passages are about one place")
    stage = reuse_stage(one_source, 8, 12, 50, True)
    assert stage.tables["reuse_matches"].empty and stage.tables["reuse_example"].columns.tolist()[-2:] == [
        "kind", "length"]
    assert stage.tables["reuse_provinces"]["share_of_chars_reused"].tolist() == [0.0, 0.0]


def test_the_sweep_skips_topic_numbers_without_a_baseline_model_or_beyond_the_passages():
    assert variants(0, 2, "topics", [-1, 1], [1], []) == [("min_df=1", {"min_df": 1})]
    assert variants(3, 2, "topics", [-1, 1], [], [], max_topics=3) == [("n_topics=2", {"n_topics": 2})]
    status = sweep_status(0, 2, "topics", [-1, 1], [], ["topics"], [], 0).set_index("analysis")["reason"]
    assert status["sweep"].startswith("no variant to run (the baseline has no topic model")
    assert status["min_df"] == "sweep_min_df is empty"
    assert status["cluster_input"] == "sweep_cluster_inputs names only the baseline's input topics"


def test_conclusions_of_a_run_without_topics_or_clusters_are_missing_not_invented():
    empty = {"topics": empty_like(["topic", "label"]), "topic_terms": empty_like(["topic", "rank", "term", "weight"]),
             "clusters": empty_like(["province", "cluster"]), "cluster_silhouette": empty_like(
                 ["n_clusters", "silhouette", "chosen"]), "cluster_bootstrap": empty_like(["replicate", "ari"]),
             "distinctive_terms": empty_like(["province", "rank", "term", "score"]),
             "similarity": empty_like(["province", "date", "similarity", "n_chars"])}
    row = conclusions(empty)
    assert row["n_topics"] == 0 and row["n_clusters"] == 0
    for name in ("silhouette", "bootstrap_ari", "trend_rho", "topic_match", "ari_vs_baseline", "terms_overlap",
                 "similarity_rho"):
        assert math.isnan(row[name]), name
    compared = conclusions(empty, empty)
    assert math.isnan(compared["topic_match"]) and math.isnan(compared["ari_vs_baseline"])


def test_tables_show_a_dash_for_a_missing_value():
    table = md_table(pd.DataFrame({"a": [0.5, float("nan")], "b": ["x", None]}), "c", "t")
    assert "nan" not in table and "None" not in table
    assert table.splitlines()[3] == "| – | – |"
