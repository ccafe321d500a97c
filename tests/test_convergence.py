"""Convergence: first dates, cumulative adoption curves, similarity to national text; hand-built tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.config import ProjectError
from helpers.convergence import (
    adoption,
    adoption_curve,
    date_key,
    earliest_date,
    national_first_use,
    similarity_to_national,
)

FOCUS = ["一网通办", "一网统管"]


def passages() -> pd.DataFrame:
    """Passages: national 2019; 北京 2020, 2021-03; 上海 2021-01, undated; 广东 undated; 浙江."""
    rows = [
        ("000-0001", "全国", "national", "2019"),
        ("000-0002", "北京", "province", "2021-03"),
        ("000-0003", "北京", "province", "2020"),
        ("000-0004", "上海", "province", "2021-01"),
        ("000-0005", "上海", "province", ""),
        ("000-0006", "广东", "province", ""),
        ("000-0007", "浙江", "province", "2020-06"),
    ]
    table = pd.DataFrame(rows, columns=["passage_id", "province", "level", "date"])
    return table.assign(source_id="000", text="文字" * 10)


def mentions() -> pd.DataFrame:
    """Concept mentions of the hand-built passages (浙江 mentions nothing in focus)."""
    rows = [
        ("000-0001", "全国", "national", "一网通办", "一网通办", 2),
        ("000-0002", "北京", "province", "一网通办", "一网通办", 1),
        ("000-0003", "北京", "province", "一网通办", "网通办", 3),
        ("000-0004", "上海", "province", "一网通办", "一网通办", 1),
        ("000-0004", "上海", "province", "一网统管", "一网统管", 1),
        ("000-0005", "上海", "province", "一网统管", "一网统管", 4),
        ("000-0006", "广东", "province", "一网统管", "一网统管", 1),
        ("000-0007", "浙江", "province", "跨省通办", "跨省通办", 1),
    ]
    return pd.DataFrame(rows, columns=["passage_id", "province", "level", "concept", "form", "count"])


def test_dates_order_years_as_january():
    assert date_key("2021") == "2021-01"
    assert date_key("2020-12") == "2020-12"
    assert earliest_date(["2021-03", "", "2020"]) == "2020"
    assert earliest_date(["2021", "2021-01"]) == "2021-01"
    assert earliest_date(["2020-12", "2021"]) == "2020-12"
    assert earliest_date(["", ""]) == ""


def test_adoption_first_dates_and_counts():
    table = adoption(mentions(), passages(), FOCUS)
    assert table.to_records(index=False).tolist() == [
        ("一网统管", "上海", "province", "2021-01", 2, 5),
        ("一网统管", "广东", "province", "", 1, 1),
        ("一网通办", "上海", "province", "2021-01", 1, 1),
        ("一网通办", "全国", "national", "2019", 1, 2),
        ("一网通办", "北京", "province", "2020", 2, 4),
    ]


def test_adoption_curve_is_cumulative_over_dated_provinces():
    table = adoption(mentions(), passages(), FOCUS)
    curve = adoption_curve(table, passages(), FOCUS).set_index(["concept", "date"])
    assert curve.index.get_level_values("date")[0] == "2019-01"
    assert curve.index.get_level_values("date")[-1] == "2021-03"
    assert len(curve) == 2 * 27
    office = curve.loc["一网通办"]
    months = ["2019-12", "2020-01", "2020-12", "2021-01", "2021-03"]
    assert office.loc[months, "n_provinces"].tolist() == [0, 1, 1, 2, 2]
    assert office.loc["2021-03", "share"] == pytest.approx(2 / 3)
    governance = curve.loc["一网统管"]
    assert governance.loc[["2020-12", "2021-01"], "n_provinces"].tolist() == [0, 1]
    assert governance["n_provinces"].is_monotonic_increasing


def test_a_focus_concept_never_mentioned_has_a_flat_curve():
    table = adoption(mentions(), passages(), ["一网协同"])
    assert table.empty
    curve = adoption_curve(table, passages(), ["一网协同"])
    assert len(curve) == 27 and curve["n_provinces"].eq(0).all()


def test_national_first_use_per_concept():
    table = national_first_use(adoption(mentions(), passages(), FOCUS))
    assert table.to_dict("list") == {"concept": ["一网统管", "一网通办"], "first_date": ["", "2019"]}


@pytest.mark.parametrize("focus", [[], "一网通办"])
def test_bad_focus_is_named(focus):
    with pytest.raises(ProjectError, match="focus_concepts"):
        adoption(mentions(), passages(), focus)


def similarity_corpus(with_national: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """National passages on services; 北京 copies them, 浙江 writes about farming, 上海 mixes both."""
    rows = [
        ("000-0001", "全国", "national", "2019", "政务服务 一网通办 事项 平台"),
        ("000-0002", "全国", "national", "2020", "政务服务 一网通办 跨省通办 平台"),
        ("000-0003", "北京", "province", "2021-03", "政务服务 一网通办 事项 平台"),
        ("000-0004", "北京", "province", "", "政务服务 一网通办 跨省通办 平台"),
        ("000-0005", "浙江", "province", "2021", "农业 乡村 种植 农村"),
        ("000-0006", "浙江", "province", "", "农业 乡村 种植 农村"),
        ("000-0007", "上海", "province", "2020-05", "政务服务 平台 农业 乡村"),
    ]
    if not with_national:
        rows = [(*row[:2], "province", *row[3:]) for row in rows]
    table = pd.DataFrame(rows, columns=["passage_id", "province", "level", "date", "tokens"])
    table["text"] = table["tokens"].str.replace(" ", "")
    return table.drop(columns="tokens"), table[["passage_id", "tokens"]]


def test_a_province_copying_national_text_is_most_similar():
    passages_table, tokens = similarity_corpus()
    table = similarity_to_national(passages_table, tokens, min_df=1, max_df=1.0).set_index("province")
    assert sorted(table.index) == ["上海", "北京", "浙江"]
    assert table.loc["北京", "similarity"] == pytest.approx(1.0)
    assert table.loc["浙江", "similarity"] == pytest.approx(0.0)
    assert 0.1 < table.loc["上海", "similarity"] < 0.9
    assert table["date"].to_dict() == {"上海": "2020-05", "北京": "2021-03", "浙江": "2021"}
    assert table.loc["北京", "n_chars"] == 12 + 14


def test_similarity_without_national_passages_is_refused():
    passages_table, tokens = similarity_corpus(with_national=False)
    with pytest.raises(ProjectError, match="national"):
        similarity_to_national(passages_table, tokens, min_df=1, max_df=1.0)


def test_spread_by_plan_year_and_pairwise_similarity():
    from helpers.convergence import similarity_spread

    passages_table, tokens = similarity_corpus()
    spread = similarity_spread(passages_table, tokens, min_df=1, max_df=1.0).set_index("year")
    assert spread.index.tolist() == ["2020", "2021"]  # 上海 2020-05; 北京 2021-03 and 浙江 2021
    assert spread["n_provinces"].tolist() == [1, 2]
    assert spread.loc["2021", "median"] == pytest.approx(0.5)  # 北京 1.0 and 浙江 0.0
    assert spread.loc["2021", "iqr"] == pytest.approx(0.5)
    assert spread.loc["2021", "mean_pairwise"] == pytest.approx(0.0)  # no shared term
    assert np.isnan(spread.loc["2020", "mean_pairwise"])


def test_trend_is_the_rank_correlation_with_the_date_over_dated_provinces():
    from helpers.convergence import similarity_trend

    table = pd.DataFrame({"province": list("abcde"), "date": ["2019", "2020-01", "2020-06", "2021", ""],
                          "similarity": [0.1, 0.2, 0.3, 0.4, 0.9]})
    trend = similarity_trend(table)
    assert trend["n"] == 4 and trend["rho"] == pytest.approx(1.0)
    assert np.isnan(similarity_trend(table.head(2))["rho"])
