"""Passage cutting and concept counting: constructed texts and the bundled sources read by hand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from helpers.cleaning import clean_document
from helpers.corpus import load_manifest, read_sources
from helpers.passages import count_concepts, cut_passages, leading_date, month_of, passages_table

EXPECTED = yaml.safe_load((Path(__file__).parent / "fixtures" / "expected_sections.yaml").read_text("utf-8"))


def test_dates_are_read_as_month_or_year():
    assert month_of("北京市（2021年3月）") == "2021-03"
    assert month_of("2015年") == "2015"
    assert month_of("十四五") == ""
    assert leading_date("2021年3月15日，河南省发改委发布《方案》。") == "2021-03"
    assert leading_date("到2025年，建成。") == ""


def test_table_rows_one_line_per_row(lexicon):
    text = "地区 | 政策名称 | 主要内容 |\n北京市（2021年3月） | 《北京规划》 | 推进一网统管。 |\n" \
           "甘肃省（2021年12月） | 《甘肃规划》 | 一网通办。 |\n"
    passages = cut_passages(text, lexicon)
    assert [(p.province, p.date, p.title, p.kind) for p in passages] == [
        ("北京", "2021-03", "北京规划", "table_row"), ("甘肃", "2021-12", "甘肃规划", "table_row")]


def test_table_rows_one_line_per_cell_with_a_broken_cell(lexicon):
    text = "时间 |\n发布主体 |\n政策规划 |\n要点 |\n2016年7月 |\n国务院 |\n《指导意见》 |\n建成体系。 |\n" \
           "省市 |\n内容 |\n重庆市 |\n加快建设平台\n，强化中心服务能力。 |\n西藏自治区 |\n深化智能化建设。 |\n"
    passages = cut_passages(text, lexicon)
    assert [(p.province, p.date, p.title) for p in passages] == [
        ("全国", "2016-07", "指导意见"), ("重庆", "", ""), ("西藏", "", "")]
    assert text[passages[1].start : passages[1].end].endswith("强化中心服务能力。 |")


def test_headed_sections_and_national_headings(lexicon):
    text = "各地政策如下：\n农业农村部：明确指出加快数字农业农村建设\n贵州：数字政府位列第一梯队\n" \
           "努力实现新突破。\n广西：强化顶层设计\n广西将不断探索。\n"
    passages = cut_passages(text, lexicon, page_date="2021-03")
    assert [(p.province, p.kind) for p in passages] == [
        ("全国", "prose"), ("全国", "headed_section"), ("贵州", "headed_section"), ("广西", "headed_section")]
    assert text[passages[2].start : passages[2].end] == "贵州：数字政府位列第一梯队\n努力实现新突破。"


def test_provinces_named_in_national_prose(lexicon):
    text = "部分省份已出台规划。2020年10月24日，安徽省人民政府发布《安徽规划》，到2022年底建成。" \
           "到2025年底，建成智慧政府。2021年2月18日，浙江省召开大会。\n"
    passages = cut_passages(text, lexicon)
    assert [(p.province, p.date) for p in passages] == [("全国", ""), ("安徽", "2020-10"), ("浙江", "2021-02")]
    assert text[passages[1].start : passages[1].end].endswith("建成智慧政府。")


def test_whole_document_plan_belongs_to_its_province(lexicon):
    text = "浙江省人民政府关于印发浙江省数字政府建设“十四五”规划的通知\n一、总体要求\n（一）指导思想。坚持改革驱动。\n"
    passages = cut_passages(text, lexicon, page_date="2021-06")
    assert {p.province for p in passages} == {"浙江"}
    assert {p.title for p in passages} == {"浙江省数字政府建设“十四五”规划"}


def test_concepts_counted_longest_form_first(lexicon):
    import pandas as pd

    passages = pd.DataFrame({"passage_id": ["a"], "source_id": ["x"], "province": ["宁夏"], "level": ["province"],
                             "text": ["一网通办、一网通管、一体协同，深化“网通办”与“一网通办”"]})
    counts = count_concepts(passages, lexicon).set_index("form")["count"].to_dict()
    assert counts == {"一网通办": 2, "一网通管": 1, "一体协同": 1, "网通办": 1}


@pytest.fixture(scope="module")
def bundled(root, lexicon):
    """Passages and concept mentions of the bundled corpus."""
    import pandas as pd

    raw = root / "data" / "raw"
    sources = read_sources(raw, load_manifest(raw))
    tables = []
    for source_id, text in sources.items():
        result = clean_document(text, lexicon)
        tables.append(passages_table(source_id, result.text, lexicon, result.page_date, 12))
    passages = pd.concat(tables, ignore_index=True)
    return passages, count_concepts(passages, lexicon)


@pytest.mark.parametrize("source_id", ["000", "001", "002", "003", "004"])
def test_bundled_sources_give_the_provinces_a_reader_finds(bundled, source_id):
    passages, _ = bundled
    found = passages[(passages["source_id"] == source_id) & (passages["level"] == "province")]
    dates = found.groupby("province")["date"].first().to_dict()
    assert dates == {province: str(date) for province, date in EXPECTED[source_id].items()}


@pytest.mark.parametrize("concept", ["一网通办", "一网统管"])
def test_programme_mentions_match_a_careful_reading(bundled, concept):
    _, mentions = bundled
    found = mentions[(mentions["concept"] == concept) & (mentions["level"] == "province")]
    assert sorted(set(found["province"])) == sorted(EXPECTED["mentions"][concept])


def test_passage_offsets_point_into_the_cleaned_text(root, lexicon):
    raw = root / "data" / "raw"
    result = clean_document(read_sources(raw, load_manifest(raw))["001"], lexicon)
    table = passages_table("001", result.text, lexicon, result.page_date, 12)
    for row in table.itertuples():
        assert result.text[row.start : row.end].strip() == row.text


def test_a_form_inside_a_longer_word_of_the_lexicon_is_not_counted(lexicon):
    text = "推行掌上办公，推进掌上办和掌上办事，做好每一件事情。"
    passages = pd.DataFrame([["a-0001", "a", "浙江", "province", text]],
                            columns=["passage_id", "source_id", "province", "level", "text"])
    counts = count_concepts(passages, lexicon).groupby("concept")["count"].sum().to_dict()
    assert counts == {"掌上办": 2}
