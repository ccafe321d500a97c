"""Topic model: a corpus built from two vocabularies is split back into them, reproducibly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.config import ProjectError
from helpers.topics import fit_topics

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
