"""Words and numbers the report computes from the data."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from helpers.reporting import agreement, trend_words, value_range


@pytest.mark.parametrize(("ari", "word"), [(0.9, "high"), (0.85, "high"), (0.8, "good"), (0.6, "partial"),
                                           (0.33, "poor"), (-0.2, "poor")])
def test_agreement_words_follow_the_thresholds(ari, word):
    assert agreement(ari) == word


def test_trend_words_need_significance():
    assert trend_words(0.6, 0.01) == "rises with the plan date"
    assert trend_words(-0.6, 0.01) == "falls with the plan date"
    assert trend_words(-0.3, 0.16) == "shows no clear trend with the plan date"
    assert trend_words(math.nan, math.nan) == "shows no clear trend with the plan date"


def test_value_range():
    assert value_range(pd.Series([0.3, 0.1234, 0.2])) == "0.12–0.30"
    assert value_range(pd.Series([0.5])) == "0.50"
    assert value_range(pd.Series([], dtype=float)) == "n/a"
