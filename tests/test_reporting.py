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
    assert value_range(pd.Series([-0.3, 0.2])) == "-0.30 to 0.20"


def test_long_tables_get_column_widths_from_their_content():
    import json

    import pypandoc

    from helpers.reporting import md_table

    table = pd.DataFrame({"Source": ["000", "001"], "SHA-256": ["6e8b1488681be805" * 4, "5d0dc55195b3f229" * 4]})
    markdown = md_table(table, "Checksums.", "sums")
    assert markdown.splitlines()[1] == "| :------ | :" + "-" * 64 + " |"
    ast = json.loads(pypandoc.convert_text(markdown, "json", format="markdown"))
    widths = [spec[1]["c"] for spec in ast["blocks"][0]["c"][2]]
    assert widths[1] > 0.85 and widths[0] < 0.15


def test_cjk_cells_count_double_in_table_widths():
    from helpers.reporting import md_table

    rule = md_table(pd.DataFrame({"省份": ["浙江省"], "n": [1]}), "c", "x").splitlines()[1]
    assert rule == "| :------ | ---: |"
