"""Keyness: G2 and chi-squared of over-used terms on a constructed corpus with known answers."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy import stats

from helpers.config import ProjectError
from helpers.keyness import KEYNESS_COLUMNS, group_tokens, keyness


def corpus() -> pd.DataFrame:
    """Three groups of six tokens: 乙 is a third of every group, 甲/丙/丁 belong to one group each."""
    return pd.DataFrame({
        "group": ["C", "A", "B"],
        "tokens": ["丁 丁 乙 丁 乙 丁", "甲 乙 甲 甲 乙 甲", "丙 丙 丙 乙 丙 乙"],
    })


def test_a_term_of_one_group_only_is_its_top_key_term_with_the_hand_computed_g2():
    table = keyness(corpus(), min_count=1)
    assert table.columns.tolist() == KEYNESS_COLUMNS
    first = table[table["group"] == "A"].iloc[0]
    # 2x2 table: observed [4, 0, 2, 12], expected [4/3, 8/3, 14/3, 28/3] (N = 18, group 6, term 4).
    g2 = 2 * (4 * math.log(3) + 2 * math.log(3 / 7) + 12 * math.log(9 / 7))
    assert (first["rank"], first["term"], first["count"], first["direction"]) == (1, "甲", 4, "over")
    assert first["g2"] == pytest.approx(11.431253146537813, abs=1e-6)
    assert first["g2"] == pytest.approx(g2, abs=1e-9)
    assert first["expected"] == pytest.approx(4 / 3, abs=1e-12)
    assert first["chi2"] == pytest.approx(72 / 7, abs=1e-9)
    assert first["p_value"] == pytest.approx(stats.chi2.sf(g2, 1), rel=1e-9)


def test_a_term_equally_frequent_everywhere_is_not_listed():
    table = keyness(corpus(), min_count=1)
    assert "乙" not in set(table["term"])
    assert table[["group", "term"]].to_dict("list") == {"group": ["A", "B", "C"], "term": ["甲", "丙", "丁"]}


def test_ranking_by_g2_ties_by_term_and_the_cut_offs():
    groups = pd.DataFrame({"group": ["A", "B"],
                           "tokens": ["甲 甲 甲 乙 乙 乙 丙 丙 戊", "丁 丁 丁 丁 丁 丁 丁 丁 戊"]})
    table = keyness(groups, min_count=1, top_n=5)
    a_terms = table.loc[table["group"] == "A", "term"].tolist()
    assert a_terms == ["乙", "甲", "丙"]  # 甲 and 乙 tie on G2 and go by term order
    assert table.loc[table["group"] == "A", "rank"].tolist() == [1, 2, 3]
    frequent = keyness(groups, min_count=3, top_n=5)
    assert frequent.loc[frequent["group"] == "A", "term"].tolist() == ["乙", "甲"]
    assert keyness(groups, min_count=1, top_n=1)["term"].tolist() == ["乙", "丁"]


def test_one_group_or_no_tokens_gives_no_key_terms():
    assert keyness(pd.DataFrame({"group": ["A"], "tokens": ["甲 乙 甲"]}), min_count=1).empty
    empty = keyness(pd.DataFrame({"group": ["A", "B"], "tokens": ["", ""]}))
    assert empty.empty and empty.columns.tolist() == KEYNESS_COLUMNS


@pytest.mark.parametrize(("name", "value"), [("min_count", 0), ("top_n", 0), ("top_n", 2.5)])
def test_bad_limits_raise_a_project_error(name, value):
    with pytest.raises(ProjectError, match=name):
        keyness(corpus(), **{name: value})


def test_group_tokens_joins_passages_per_group_in_passage_order_and_drops_unmapped():
    passages = pd.DataFrame({
        "passage_id": ["000-0002", "000-0001", "001-0001", "002-0001"],
        "province": ["浙江", "浙江", "上海", "全国"],
    })
    tokens = pd.DataFrame({"passage_id": ["000-0001", "000-0002", "001-0001", "002-0001"],
                           "tokens": ["交通 道路", "医疗", "", "政务"]})
    table = group_tokens(passages, tokens, {"浙江": 2, "上海": 1})
    assert table.to_dict("list") == {"group": [1, 2], "tokens": ["", "交通 道路 医疗"]}


def test_max_p_keeps_only_significant_key_terms():
    from helpers.keyness import keyness as score

    groups = pd.DataFrame({"group": ["a", "b"], "tokens": ["x x x x x x x x y z z", "y y y y y y y y z x"]})
    every = score(groups, min_count=1, top_n=5)
    strict = score(groups, min_count=1, top_n=5, max_p=0.01)
    assert (strict["p_value"] <= 0.01).all()
    assert len(strict) < len(every)
    with pytest.raises(ProjectError, match="keyness_max_p"):
        score(groups, max_p=0)
