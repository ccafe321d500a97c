"""Topic model: a corpus built from two vocabularies is split back into them, reproducibly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.config import ProjectError
from helpers.topics import (
    best_n_topics,
    exclusivity,
    fit_topics,
    matched_cosines,
    npmi_coherence,
    select_n_topics,
    topic_stability,
)

TRANSPORT = ["交通", "道路", "公交", "地铁", "车辆", "出行", "停车", "高速"]
HEALTH = ["医疗", "医院", "医保", "健康", "药品", "诊疗", "病历", "卫生"]


def two_vocabulary_corpus() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return passages and tokens: 12 transport ones (北京), 12 health ones (浙江), 2 national."""
    rng = np.random.default_rng(7)
    rows = []
    for number in range(26):
        vocabulary = TRANSPORT if number % 2 == 0 else HEALTH
        province = "全国" if number >= 24 else ("北京" if vocabulary is TRANSPORT else "浙江")
        words = rng.choice(vocabulary, size=6).tolist()
        rows.append([f"000-{number + 1:04d}", province, "".join(words), " ".join(words)])
    table = pd.DataFrame(rows, columns=["passage_id", "province", "text", "tokens"])
    return table[["passage_id", "province", "text"]], table[["passage_id", "tokens"]]


@pytest.fixture(scope="module")
def result():
    """The topic model of the two-vocabulary corpus."""
    passages, tokens = two_vocabulary_corpus()
    return fit_topics(passages, tokens, n_topics=2, seed=2021, min_df=2, max_df=0.9, top_words=5)


def test_each_topic_recovers_one_vocabulary(result):
    terms = result.topic_terms.groupby("topic")["term"].agg(set)
    assert len(terms) == 2
    vocabularies = sorted("T" if words <= set(TRANSPORT) else "H" if words <= set(HEALTH) else "mixed"
                          for words in terms)
    assert vocabularies == ["H", "T"]
    assert result.topic_terms["rank"].tolist() == [1, 2, 3, 4, 5] * 2


def test_passages_get_the_topic_of_their_vocabulary(result):
    passages, _ = two_vocabulary_corpus()
    merged = result.passage_topics.merge(passages, on="passage_id")
    transport_topic = result.topic_terms.loc[result.topic_terms["term"].isin(TRANSPORT), "topic"].iloc[0]
    is_transport = merged["text"].str.contains("|".join(TRANSPORT))
    assert (merged.loc[is_transport, "topic"] == transport_topic).all()
    assert (merged.loc[~is_transport, "topic"] != transport_topic).all()
    assert (merged["weight"] > 0.9).all()


def test_shares_sum_to_one_per_province_and_over_the_corpus(result):
    assert result.topics["share"].sum() == pytest.approx(1.0)
    assert result.topics["share"].is_monotonic_decreasing
    sums = result.province_topics.groupby("province")["share"].sum()
    assert sums.to_dict() == pytest.approx({"全国": 1.0, "北京": 1.0, "浙江": 1.0})
    beijing = result.province_topics[result.province_topics["province"] == "北京"].set_index("topic")["share"]
    transport_topic = result.topic_terms.loc[result.topic_terms["term"].isin(TRANSPORT), "topic"].iloc[0]
    assert beijing[transport_topic] > 0.95


def test_labels_name_the_top_three_words(result):
    for row in result.topics.itertuples():
        terms = result.topic_terms
        words = terms[(terms["topic"] == row.topic) & (terms["rank"] <= 3)]
        assert row.label == f"T{row.topic} " + "·".join(words["term"])


def test_same_seed_gives_identical_tables(result):
    passages, tokens = two_vocabulary_corpus()
    again = fit_topics(passages, tokens, n_topics=2, seed=2021, min_df=2, max_df=0.9, top_words=5)
    for name in ("topic_terms", "topics", "passage_topics", "province_topics"):
        pd.testing.assert_frame_equal(getattr(result, name), getattr(again, name))


@pytest.mark.parametrize("n_topics", [1, 27, 2.5])
def test_bad_n_topics_is_named(n_topics):
    passages, tokens = two_vocabulary_corpus()
    with pytest.raises(ProjectError, match="n_topics"):
        fit_topics(passages, tokens, n_topics=n_topics, seed=1, min_df=2, max_df=0.9, top_words=5)


def test_passage_shares_sum_to_one_and_rebuild_the_province_shares(result):
    shares = result.passage_shares
    assert list(shares.columns) == ["passage_id", "province", "n_chars", "T1", "T2"]
    assert shares[["T1", "T2"]].sum(axis=1).to_numpy() == pytest.approx(np.ones(26))
    beijing = shares[shares["province"] == "北京"]
    rebuilt = (beijing[["T1", "T2"]].mul(beijing["n_chars"], axis=0).sum() / beijing["n_chars"].sum()).to_numpy()
    expected = result.province_topics[result.province_topics["province"] == "北京"]["share"].to_numpy()
    assert rebuilt == pytest.approx(expected)


def test_npmi_is_one_for_words_always_together_zero_for_independent_and_minus_one_for_never():
    passages = [{"甲", "乙", "丙"}, {"甲", "乙"}, {"丙", "丁"}, {"丁"}]
    # 甲/乙 always together (NPMI 1); 丙/丁 independent (p=1/2 each, joint 1/4: NPMI 0); 甲/丁 never (-1)
    scores = npmi_coherence([["甲", "乙"], ["丙", "丁"], ["甲", "丁"]], passages)
    assert scores == pytest.approx([1.0, 0.0, -1.0], abs=1e-9)
    assert npmi_coherence([["甲", "乙", "丁"]], passages) == pytest.approx([(1 - 1 - 1) / 3], abs=1e-9)


def test_exclusivity_is_the_mean_share_of_each_top_word_across_topics():
    components = np.array([[3.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    # distributions [.75, .25, 0] and [0, .5, .5]; word 1 belongs 1/3 to topic 1 and 2/3 to topic 2
    assert exclusivity(components, 2) == pytest.approx([(1 + 1 / 3) / 2, (2 / 3 + 1) / 2])
    assert exclusivity(components, 1) == pytest.approx([1.0, 2 / 3])


def test_matching_pairs_topics_whatever_their_order():
    first = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.5, 0.5, 0.0]])
    assert matched_cosines(first, first[[2, 0, 1]] * 3) == pytest.approx([1.0, 1.0, 1.0])
    assert matched_cosines(first[:2], np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])) == pytest.approx(
        [1.0, np.sqrt(0.5)])


def test_two_topics_are_stable_across_random_starts():
    passages, tokens = two_vocabulary_corpus()
    table = topic_stability(passages, tokens, 2, [5, 1, 3, 2], min_df=2, max_df=0.9)
    assert list(zip(table["seed_a"], table["seed_b"], strict=True)) == [(1, 2), (1, 3), (1, 5), (2, 3),
                                                                         (2, 5), (3, 5)]
    assert table["min_cosine"].gt(0.9).all()
    again = topic_stability(passages, tokens, 2, [1, 2, 3, 5], min_df=2, max_df=0.9)
    pd.testing.assert_frame_equal(table, again)


def test_one_seed_is_refused():
    passages, tokens = two_vocabulary_corpus()
    with pytest.raises(ProjectError, match="seeds"):
        topic_stability(passages, tokens, 2, [4, 4], min_df=2, max_df=0.9)


def test_two_vocabularies_give_two_topics_by_the_combined_score():
    passages, tokens = two_vocabulary_corpus()
    selection = select_n_topics(passages, tokens, range(2, 6), [1, 2, 3, 4, 5], min_df=2, max_df=0.9,
                                top_words=6)
    assert selection["n_topics"].tolist() == [2, 3, 4, 5]
    assert best_n_topics(selection) == 2
    two = selection.set_index("n_topics").loc[2]
    assert two["stability"] > 0.9 and two["exclusivity"] > 0.99
    assert selection["exclusivity"].is_monotonic_decreasing
    assert selection["score"].between(0, 1).all() and selection["score"].iloc[-1] < 0.5
    again = select_n_topics(passages, tokens, [5, 4, 3, 2], [5, 4, 3, 2, 1], min_df=2, max_df=0.9, top_words=6)
    pd.testing.assert_frame_equal(selection, again)


def test_ties_in_score_go_to_fewer_topics():
    selection = pd.DataFrame({"n_topics": [3, 4, 5], "score": [0.5, 0.8, 0.8]})
    assert best_n_topics(selection) == 4


def test_auto_chooses_two_topics_for_two_vocabularies_and_flags_the_choice():
    from helpers.topics import choose_n_topics

    passages, tokens = two_vocabulary_corpus()
    chosen, selection = choose_n_topics("auto", passages, tokens, [2, 3, 4, 500], [1, 2, 3], 2, 0.9, 5)
    assert chosen == 2
    assert selection["n_topics"].tolist() == [2, 3, 4]  # 500 topics cannot be fitted on 26 passages: left out
    assert selection.loc[selection["chosen"], "n_topics"].tolist() == [2]


def test_a_given_number_of_topics_is_scored_alone():
    from helpers.topics import choose_n_topics

    passages, tokens = two_vocabulary_corpus()
    chosen, selection = choose_n_topics(3, passages, tokens, [2, 4], [1, 2], 2, 0.9, 5)
    assert chosen == 3 and selection["n_topics"].tolist() == [3] and selection["chosen"].all()


def test_a_grid_that_fits_nothing_is_refused_naming_topic_grid():
    from helpers.topics import choose_n_topics

    passages, tokens = two_vocabulary_corpus()
    with pytest.raises(ProjectError, match="topic_grid"):
        choose_n_topics("auto", passages, tokens, [1, 400], [1, 2], 2, 0.9, 5)


def test_topic_diagnostics_find_clean_topics_coherent_exclusive_and_stable(result):
    from helpers.topics import topic_diagnostics

    passages, tokens = two_vocabulary_corpus()
    table = topic_diagnostics(result, passages, tokens, [1, 2, 3, 4, 5], 2, 0.9, 5)
    assert table["topic"].tolist() == [1, 2]
    assert (table["exclusivity"] > 0.95).all()
    assert (table["stability"] > 0.95).all()
    assert table["coherence"].between(-1, 1).all()


def test_per_topic_matching_follows_the_reference_order():
    from helpers.topics import matched_by_topic

    reference = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    other = np.array([[0.0, 2.0, 0.0], [1.0, 0.0, 1.0]])
    assert matched_by_topic(reference, other) == pytest.approx([1 / np.sqrt(2), 1.0])
