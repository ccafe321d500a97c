"""Text reuse: shared formulations found with exact offsets across sources, 《》 titles and boilerplate ignored,
tight grouping, per-province summary, stable output, scale."""

from __future__ import annotations

import random
import time

import pandas as pd
import pytest

from helpers.config import ProjectError
from helpers.reuse import (
    FORMULATION_COLUMNS,
    REUSE_COLUMNS,
    SUMMARY_COLUMNS,
    aligned_example,
    find_reuse,
    formulations,
    match_groups,
    reduce_text,
    reuse_summary,
)

SENTENCE = "加快推进政务服务一网通办，提升群众办事便利度"
SENTENCE_CHARS = 21  # kept characters: the comma does not count
PHRASE = "深化政务数据共享开放应用"  # 12 kept characters
TITLE = "《关于加快推进全国一体化在线政务服务平台建设的指导意见》"


def passages(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """Passages from (passage_id, province, text); 全国 is the national level; no source_id column."""
    return pd.DataFrame([(passage_id, province, "national" if province == "全国" else "province", text)
                         for passage_id, province, text in rows],
                        columns=["passage_id", "province", "level", "text"])


def sourced(rows: list[tuple[str, str | None, str, str]]) -> pd.DataFrame:
    """Passages from (passage_id, source_id, province, text)."""
    table = passages([(passage_id, province, text) for passage_id, _, province, text in rows])
    return table.assign(source_id=[source for _, source, _, _ in rows])


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


def test_reduce_text_turns_each_title_into_one_barrier_at_its_opening_mark():
    assert reduce_text("根据《浙江省规划》精神，加快") == ("根据\x00精神加快", [0, 1, 2, 9, 10, 12, 13])
    assert reduce_text("甲《乙《丙》丁》戊") == ("甲\x00戊", [0, 1, 8])
    assert reduce_text("规划》提出《未完") == ("\x00提出\x00", [0, 3, 4, 5])


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
        assert (row.source_a, row.source_b) == (row.passage_a, row.passage_b)  # no source_id: own sources


def test_the_copied_sentence_is_one_formulation_of_two_provinces():
    table = formulations(find_reuse(copied()))
    assert table.columns.tolist() == FORMULATION_COLUMNS
    assert table.to_dict("records") == [{"formulation": SENTENCE, "n_provinces": 2, "provinces": "上海、北京",
                                         "n_sources": 3, "n_national": 1, "n_pairs": 3, "length": SENTENCE_CHARS}]


def test_a_sentence_copied_across_two_sources_is_found():
    table = sourced([("001-0001", "s1", "北京", f"北京市将{SENTENCE}。"),
                     ("002-0001", "s2", "上海", f"上海{SENTENCE}！")])
    reuse = find_reuse(table)
    assert reuse[["source_a", "source_b", "text"]].values.tolist() == [["s1", "s2", SENTENCE]]


def test_a_sentence_repeated_within_one_source_counts_only_when_asked():
    table = sourced([("001-0001", "s1", "北京", f"北京市将{SENTENCE}。"),
                     ("001-0002", "s1", "上海", f"上海{SENTENCE}！"),
                     ("001-0003", None, "广东", f"广东{PHRASE}"), ("001-0004", None, "江苏", f"江苏{PHRASE}")])
    assert find_reuse(table)["text"].tolist() == [PHRASE]  # a missing source_id is a source of its own
    within = find_reuse(table, across_sources=False)
    assert within[["source_a", "source_b", "text"]].values.tolist() == [["s1", "s1", SENTENCE],
                                                                       ["001-0003", "001-0004", PHRASE]]


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


def test_text_inside_book_title_marks_never_forms_a_match():
    titled = sourced([("001-0001", "s1", "北京", f"北京市认真贯彻{TITLE}。"),
                      ("002-0001", "s2", "上海", f"上海市全面落实{TITLE}要求。")])
    assert find_reuse(titled).empty
    bare = titled.assign(text=titled["text"].str.replace("《", "").str.replace("》", ""))
    assert find_reuse(bare)["length"].tolist() == [len(TITLE) - 2]


def test_a_match_neither_crosses_nor_starts_or_ends_inside_a_title():
    table = sourced([("001-0001", "s1", "北京", f"北京《数字政府建设规划》{SENTENCE}"),
                     ("002-0001", "s2", "上海", f"上海《数字政府建设规划》{SENTENCE}")])
    texts = dict(zip(table["passage_id"], table["text"], strict=True))
    row = find_reuse(table).iloc[0]
    assert (row["text"], row["start_a"], row["end_a"]) == (SENTENCE, *span(texts["001-0001"]))
    crossing = sourced([("001-0001", "s1", "北京", "全面加快推进政务服务《甲规划》一网通办提升群众办事"),
                        ("002-0001", "s2", "上海", "全面加快推进政务服务《乙规划》一网通办提升群众办事")])
    assert find_reuse(crossing)["text"].tolist() == ["全面加快推进政务服务", "一网通办提升群众办事"]
    assert find_reuse(crossing, min_chars=12).empty


def reuse_rows(spans: list[tuple[int, int, str]]) -> pd.DataFrame:
    """A reuse table of matches between passage P (at the given spans, with the given texts) and others."""
    return pd.DataFrame([("P", f"Q{number}", "北京", f"省{number}", "province", "province", "p", f"q{number}",
                          start, end, number, number + end - start, end - start, text)
                         for number, (start, end, text) in enumerate(spans)], columns=REUSE_COLUMNS)


def test_matches_are_one_formulation_only_when_they_overlap_by_eighty_percent():
    half = reuse_rows([(0, 20, "甲" * 20), (10, 30, "乙" * 20)])
    most = reuse_rows([(0, 20, "甲" * 20), (2, 22, "丙" * 20)])
    assert match_groups(half) == [0, 1] and len(formulations(half)) == 2
    assert len(set(match_groups(most))) == 1 and len(formulations(most)) == 1
    assert len(formulations(half, min_overlap=0.5)) == 1
    same_text = reuse_rows([(0, 20, "甲" * 20), (40, 60, "甲" * 20)])
    assert len(formulations(same_text)) == 1


@pytest.mark.parametrize("value", [0, 1.5, True, "0.8"])
def test_a_bad_min_overlap_raises_a_project_error(value):
    with pytest.raises(ProjectError, match="min_overlap"):
        match_groups(reuse_rows([(0, 20, "甲" * 20)]), min_overlap=value)


def test_reuse_summary_counts_passages_partners_and_covered_characters_once():
    table = sourced([
        ("000-0001", "s0", "全国", "统筹推进数字政府建设"),
        ("001-0001", "s1", "北京", f"北京市将{SENTENCE}。"),  # 27 characters, 22 of them reused
        ("001-0002", "s1", "北京", "城市大脑覆盖交通医疗"),  # 10 characters
        ("002-0001", "s2", "上海", f"上海{SENTENCE}"),  # 24 characters, 22 reused
        ("003-0001", "s3", "广东", "广东要加快推进政务服务一网通办"),  # 15 characters, 12 reused
    ])
    reuse = find_reuse(table)
    assert len(reuse) == 3  # 北京-上海 (whole sentence), 北京-广东 and 上海-广东 (inside it): no double count
    summary = reuse_summary(reuse, table)
    assert summary.columns.tolist() == SUMMARY_COLUMNS
    assert summary.values.tolist() == [["上海", 1, 1, 2, 22 / 24], ["广东", 1, 1, 2, 12 / 15],
                                       ["北京", 2, 1, 2, 22 / 37], ["全国", 1, 0, 0, 0.0]]


def side(passage_id: str, source_id: str, province: str, before: str, match: str, after: str) -> dict:
    """One side of an aligned example."""
    level = "national" if province == "全国" else "province"
    return {"passage_id": passage_id, "source_id": source_id, "province": province, "level": level,
            "before": before, "match": match, "after": after}


def test_aligned_example_prefers_national_then_provincial_with_context():
    table = sourced([("000-0001", "n", "全国", f"国家要求{PHRASE}。"),
                     ("001-0001", "b", "北京", f"北京{PHRASE}，并且{SENTENCE}。"),
                     ("002-0001", "s", "上海", f"上海{SENTENCE}！")])
    assert aligned_example(find_reuse(table), table, width=3) == {
        "kind": "national", "length": 12, "across_sources": True,
        "sides": [side("000-0001", "n", "全国", "家要求", PHRASE, "。"),
                  side("001-0001", "b", "北京", "北京", PHRASE, "，并且")]}
    provincial = table[table["province"] != "全国"]
    assert aligned_example(find_reuse(provincial), table, width=3) == {
        "kind": "provincial", "length": SENTENCE_CHARS, "across_sources": True,
        "sides": [side("001-0001", "b", "北京", "，并且", SENTENCE, "。"),
                  side("002-0001", "s", "上海", "上海", SENTENCE, "！")]}
    assert aligned_example(find_reuse(table[table["province"] == "上海"]), table) == {}


def test_aligned_example_prefers_a_match_across_sources_and_renders_side_by_side():
    table = sourced([("000-0001", "b", "全国", f"国家{SENTENCE}"), ("001-0001", "b", "北京", f"北京{SENTENCE}{PHRASE}"),
                     ("002-0001", "s", "上海", f"上海{PHRASE}")])
    example = aligned_example(find_reuse(table, across_sources=False), table)
    assert (example["kind"], example["across_sources"], example["length"]) == ("provincial", True, 12)
    columns = pd.DataFrame(example["sides"]).T
    assert columns.loc["match"].tolist() == [PHRASE, PHRASE]
    assert columns.loc["province"].tolist() == ["北京", "上海"]


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
    summary = reuse_summary(reuse, table)
    print(f"\n3000 passages: {len(reuse)} matches in {found:.2f} s, "
          f"{len(grouped)} formulations and a {len(summary)}-province summary in {time.perf_counter() - start:.2f} s")
    assert (reuse["length"] >= 10).all() and (reuse["province_a"] != reuse["province_b"]).all()
    assert found < 60
