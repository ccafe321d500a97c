"""Text reuse: shared formulations found with exact offsets, boilerplate ignored, stable output, scale."""

from __future__ import annotations

import random
import time

import pandas as pd
import pytest

from helpers.config import ProjectError
from helpers.reuse import (
    FORMULATION_COLUMNS,
    REUSE_COLUMNS,
    aligned_example,
    find_reuse,
    formulations,
    reduce_text,
)

SENTENCE = "加快推进政务服务一网通办，提升群众办事便利度"
SENTENCE_CHARS = 21  # kept characters: the comma does not count


def passages(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """Passages from (passage_id, province, text); 全国 is the national level."""
    return pd.DataFrame([(passage_id, province, "national" if province == "全国" else "province", text)
                         for passage_id, province, text in rows],
                        columns=["passage_id", "province", "level", "text"])


def copied() -> pd.DataFrame:
    """A national sentence copied into a 北京 and a 上海 passage, with different text around it."""
    return passages([
        ("002-0001", "上海", f"上海市着力{SENTENCE}！同时建设城市大脑。"),
        ("000-0001", "全国", f"为深化改革，要求各地{SENTENCE}。其他内容另行说明。"),
        ("001-0001", "北京", f"北京市将{SENTENCE}，并完善交通出行。"),
    ])


def span(text: str) -> tuple[int, int]:
    """The offsets of SENTENCE in a text."""
    start = text.index(SENTENCE)
    return start, start + len(SENTENCE)


def test_reduce_text_keeps_han_latin_and_digits_with_their_offsets():
    offsets = [0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 14, 15, 16]
    assert reduce_text("到2025年，“一网通办” GDP!") == ("到2025年一网通办GDP", offsets)


def test_a_copied_sentence_is_found_with_exact_offsets_in_every_pair():
    table = copied()
    texts = dict(zip(table["passage_id"], table["text"], strict=True))
    reuse = find_reuse(table)
    assert reuse.columns.tolist() == REUSE_COLUMNS
    expected = [
        ("000-0001", "001-0001", "全国", "北京", "national", "province"),
        ("000-0001", "002-0001", "全国", "上海", "national", "province"),
        ("001-0001", "002-0001", "北京", "上海", "province", "province"),
    ]
    assert list(reuse.iloc[:, :6].itertuples(index=False, name=None)) == expected
    for row in reuse.itertuples(index=False):
        assert (row.start_a, row.end_a) == span(texts[row.passage_a])
        assert (row.start_b, row.end_b) == span(texts[row.passage_b])
        assert (row.length, row.text) == (SENTENCE_CHARS, SENTENCE)


def test_the_copied_sentence_is_one_formulation_of_two_provinces():
    table = formulations(find_reuse(copied()))
    assert table.columns.tolist() == FORMULATION_COLUMNS
    assert table.to_dict("records") == [{"formulation": SENTENCE, "n_provinces": 2, "provinces": "上海、北京",
                                         "n_national": 1, "n_pairs": 3, "length": SENTENCE_CHARS}]


def test_unrelated_passages_same_province_pairs_and_short_matches_give_nothing():
    assert find_reuse(passages([
        ("000-0001", "全国", "统筹推进数字政府建设，全面提升履职能力。"),
        ("001-0001", "北京", "城市大脑覆盖交通、医疗和教育等领域。"),
        ("002-0001", "浙江", "最多跑一次改革持续深化，企业开办全程网办。"),
    ])).empty
    same_province = [("001-0001", "北京", f"甲{SENTENCE}"), ("001-0002", "北京", f"乙{SENTENCE}")]
    assert find_reuse(passages(same_province)).empty
    short = passages([("001-0001", "北京", "甲一网通办全程网办乙"),
                      ("002-0001", "上海", "丙一网通办全程网办丁")])
    assert find_reuse(short, n=4, min_chars=9).empty
    assert find_reuse(short, n=4, min_chars=8)["text"].tolist() == ["一网通办全程网办"]


def test_a_shingle_in_more_than_max_passages_passages_is_ignored_as_boilerplate():
    common = "数字政府建设取得显著成效"
    table = passages([
        ("000-0001", "全国", f"总之{common}"),
        ("001-0001", "北京", f"北京{common}"),
        ("002-0001", "上海", f"上海{common}"),
        ("003-0001", "浙江", f"浙江{common}"),
    ])
    assert find_reuse(table, max_passages=3).empty
    assert len(find_reuse(table, max_passages=4)) == 6


def random_passages(n_passages: int, n_chars: int, seed: int) -> pd.DataFrame:
    """Random passages of about n_chars characters from a small vocabulary, spread over 32 provinces."""
    rng = random.Random(seed)
    chars = "政务服务数据平台治理建设推进省市县一网通办统管"
    vocabulary = sorted({"".join(rng.sample(chars, rng.choice([2, 3, 4]))) for _ in range(400)})[:200]
    provinces = [f"省{number:02d}" for number in range(31)] + ["全国"]
    rows = []
    for number in range(n_passages):
        words: list[str] = []
        while sum(map(len, words)) < n_chars:
            words += [rng.choice(vocabulary)] + (["，"] if rng.random() < 0.1 else [])
        rows.append((f"{number:04d}", provinces[number % len(provinces)], "".join(words)))
    return passages(rows)


def test_the_output_is_identical_across_runs_and_input_orders():
    table = random_passages(300, 300, seed=3)
    first = find_reuse(table)
    assert len(first) > 0
    pd.testing.assert_frame_equal(first, find_reuse(table))
    pd.testing.assert_frame_equal(first, find_reuse(table.sample(frac=1, random_state=1)))
    pd.testing.assert_frame_equal(formulations(first), formulations(find_reuse(table)))


def test_aligned_example_shows_the_longest_province_national_match_with_context():
    table = copied()
    example = aligned_example(find_reuse(table), table, width=4)
    assert example == {
        "length": SENTENCE_CHARS,
        "national": {"passage_id": "000-0001", "province": "全国", "before": "要求各地", "match": SENTENCE,
                     "after": "。其他内"},
        "province": {"passage_id": "001-0001", "province": "北京", "before": "北京市将", "match": SENTENCE,
                     "after": "，并完善"},
    }
    assert aligned_example(find_reuse(table[table["province"] != "全国"]), table) == {}


@pytest.mark.parametrize(("name", "value"), [("n", 0), ("min_chars", 0), ("max_passages", 1), ("n", 2.0)])
def test_bad_parameters_raise_a_project_error(name, value):
    with pytest.raises(ProjectError, match=name):
        find_reuse(copied(), **{name: value})


def test_scale_three_thousand_random_passages():
    table = random_passages(3000, 300, seed=7)
    start = time.perf_counter()
    reuse = find_reuse(table)
    found = time.perf_counter() - start
    grouped = formulations(reuse)
    print(f"\n3000 passages: {len(reuse)} matches in {found:.2f} s, "
          f"{len(grouped)} formulations in {time.perf_counter() - start:.2f} s")
    assert (reuse["length"] >= 10).all() and (reuse["province_a"] != reuse["province_b"]).all()
