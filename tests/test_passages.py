"""Passage cutting and concept counting: constructed texts and the bundled sources read by hand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from helpers.cleaning import clean_document
from helpers.corpus import load_manifest, read_sources
from helpers.passages import count_concepts, cut_passages, leading_date, month_of, passages_table
from helpers.provenance import SourceInfo

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
    passages = cut_passages(text, lexicon, SourceInfo(page_date="2021-03", page_date_basis="page"))
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
    passages = cut_passages(text, lexicon, SourceInfo(page_date="2021-06", page_date_basis="page"))
    assert {p.province for p in passages} == {"浙江"}
    assert {p.title for p in passages} == {"浙江省数字政府建设“十四五”规划"}


def test_concepts_counted_longest_form_first(lexicon):
    import pandas as pd

    passages = pd.DataFrame({"passage_id": ["a"], "source_id": ["x"], "province": ["宁夏"], "city": [""],
                             "level": ["province"],
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
        tables.append(passages_table(source_id, result.text, lexicon, SourceInfo(page_date=result.page_date), 12))
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
    table = passages_table("001", result.text, lexicon, SourceInfo(page_date=result.page_date), 12)
    for row in table.itertuples():
        assert result.text[row.start : row.end].strip() == row.text


def test_a_form_inside_a_longer_word_of_the_lexicon_is_not_counted(lexicon):
    text = "推行掌上办公，推进掌上办和掌上办事，做好每一件事情。"
    passages = pd.DataFrame([["a-0001", "a", "浙江", "", "province", text]],
                            columns=["passage_id", "source_id", "province", "city", "level", "text"])
    counts = count_concepts(passages, lexicon).groupby("concept")["count"].sum().to_dict()
    assert counts == {"掌上办": 2}


def owners_of(text: str, lexicon, source: SourceInfo | None = None) -> list[tuple[str, str, str]]:
    """(province, city, date) of each passage cut from a cleaned text."""
    return [(p.province, p.city, p.date) for p in cut_passages(text, lexicon, source)]


def test_a_plan_whose_title_is_not_the_first_line_belongs_to_its_place(lexicon):
    text = "索引号：11330000002482870P/2022-00123\n杭州市人民政府办公厅关于印发杭州市数字政府建设“十四五”规划的通知\n" \
           "各区、县（市）人民政府：\n一、推进一网通办\n全面推进政务服务一网通办，对标上海一网统管经验。\n"
    assert {(p.province, p.city) for p in cut_passages(text, lexicon)} == {("浙江", "杭州市")}


def test_a_news_headline_about_a_plan_does_not_make_the_page_that_plan(lexicon):
    text = "浙江出台数字政府建设方案\n浙江省近日印发方案，推进一网通办。广东省也在推进粤省事建设。\n"
    passages = cut_passages(text, lexicon)
    assert [(p.province, p.kind) for p in passages] == [("浙江", "prose"), ("浙江", "prose"), ("广东", "prose")]


def test_items_run_together_on_one_line_each_get_their_province(lexicon):
    text = "各地政策梳理：（一）广东出台《广东省数字政府改革建设方案》（二）浙江出台《浙江省数字化改革总体方案》" \
           "（三）江苏发布《江苏省“十四五”数字政府建设规划》\n"
    assert [owner[0] for owner in owners_of(text, lexicon) if owner[0] != "全国"] == ["广东", "浙江", "江苏"]


def test_clauses_about_one_province_each_are_cut_apart(lexicon):
    text = "各地加快推进：上海推进一网统管；浙江深化最多跑一次；广东建设粤省事；江西打造赣服通。\n"
    assert [owner[0] for owner in owners_of(text, lexicon)] == ["上海", "浙江", "广东", "江西"]


def test_a_sentence_naming_several_provinces_together_is_shared_by_each(lexicon):
    passages = cut_passages("上海、浙江、广东等地相继推出一网通办平台。\n", lexicon)
    assert [(p.province, p.kind) for p in passages] == [("上海", "shared"), ("浙江", "shared"), ("广东", "shared")]
    assert len({(p.start, p.end) for p in passages}) == 1


def test_numbered_place_headings_open_sections(lexicon):
    text = "01 北京市\n推进接诉即办改革。\n02 天津市\n推进一网通办。\n"
    assert [owner[0] for owner in owners_of(text, lexicon)] == ["北京", "天津"]


@pytest.mark.parametrize("sentence", ["习近平总书记在浙江考察时强调，要推进数字政府建设。",
                                      "我省将学习借鉴浙江经验，推进一网通办。", "与广东相比，我国中西部地区仍有差距。",
                                      "据浙江日报报道，数字政府建设成效明显。"])
def test_a_province_named_in_passing_gets_no_passage(lexicon, sentence):
    assert {owner[0] for owner in owners_of(sentence + "\n", lexicon)} == {"全国"}


def test_a_date_inside_a_sentence_before_an_issuing_verb_is_the_passage_date(lexicon):
    text = "数字政府建设加快。今年以来，2021年9月，杭州市先后印发多个方案，到2025年全面建成。\n"
    assert owners_of(text, lexicon)[-1] == ("浙江", "杭州市", "2021-09")


def test_a_target_year_or_a_period_is_not_a_date(lexicon):
    assert owners_of("广东到2025年全面建成数字政府。\n", lexicon) == [("广东", "", "")]
    assert owners_of("浙江省印发《数字政府建设规划（2021—2025年）》。\n", lexicon) == [("浙江", "", "")]


def test_the_manifest_province_and_issue_date_override_the_text(lexicon):
    source = SourceInfo(province="宁夏", issue_date="2021-11", issue_date_basis="manifest", page_date="2022-01")
    passages = cut_passages("关于推进一网通办的若干措施\n学习借鉴浙江、上海经验。\n", lexicon, source)
    assert {(p.province, p.date, p.date_basis, p.owner_basis) for p in passages} == {
        ("宁夏", "2021-11", "manifest", "manifest")}


def test_the_page_issue_date_beats_the_page_date(lexicon):
    source = SourceInfo(issue_date="2021-06", issue_date_basis="metadata", page_date="2021-07",
                        page_date_basis="page")
    table = passages_table("a", "浙江省数字政府建设“十四五”规划\n全面推进一网通办。\n", lexicon, source, 4)
    rows = set(zip(table["province"], table["date"], table["date_basis"], strict=True))
    assert rows == {("浙江", "2021-06", "metadata")}


@pytest.mark.parametrize("sentence", ["我办已组织部分市州赴上海、浙江学习城市运行管理经验。",
                                      "在浙江义乌务工的王大姐成为首位体验者。",
                                      "与江西、广东等地多个城市实现异地代收代办。", "香港居民可通过专区办理社保查询。",
                                      "相比上海、杭州等地，我市起步较晚。",
                                      "开标时间为2022年9月6日9点30分（北京时间）。"])
def test_more_places_named_in_passing_get_no_passage(lexicon, sentence):
    assert {owner[0] for owner in owners_of(sentence + "\n", lexicon)} == {"全国"}


def test_a_bloc_that_issues_something_stands_for_its_members(lexicon):
    assert {owner[0] for owner in owners_of("3月川渝两地发布了第二批通办事项清单。\n", lexicon)} == {"四川", "重庆"}
    assert {owner[0] for owner in owners_of("方案提出，推动粤港澳三地政务服务跨境通办。\n", lexicon)} == {"全国"}


def test_a_provincial_brand_stands_for_its_province(lexicon):
    assert owners_of("“赣服通”5.0版在全省正式上线运行。\n", lexicon)[0][:2] == ("江西", "")


def test_a_county_named_in_full_is_then_known_by_its_short_name(lexicon):
    text = "仪陇县政务服务中心开通跨省通办专窗。\n为打通最后一公里，仪陇还在各乡镇设立帮办点。\n"
    assert [owner[:2] for owner in owners_of(text, lexicon)] == [("四川", "南充市"), ("四川", "南充市")]


def test_paragraphs_of_a_page_whose_title_names_one_place_are_about_it(lexicon):
    text = "太原12345热线推出十项改革举措\n热线推出十项举措，推动接诉即办。\n"
    assert [owner[:2] for owner in owners_of(text, lexicon)] == [("山西", "太原市"), ("山西", "太原市")]


def test_an_explanation_of_a_plan_belongs_to_the_plan_s_place(lexicon):
    text = "《洛阳市数字政府建设实施方案》政策解读\n问：主要目标是什么？答：基本建成一网通办体系。\n"
    assert {owner[:2] for owner in owners_of(text, lexicon)} == {("河南", "洛阳市")}


def test_a_printed_document_saved_as_text_is_joined_and_loses_its_running_header(lexicon):
    header = "吉林省人民政府办公厅文件"
    body = ("深化政务服务一网通办改革，推动更多高频事项向移动端汇聚，年底前实现五百项以上事项掌上办；"
            "全面推行政务服务好差评，实现评价渠道全覆盖；推进一件事一次办，围绕企业和群众全生命周期新推出三十个主题服务，实现一次告知一表申请。"
            "扩大跨省通办范围，落实国家跨省通办事项清单，深化与周边省区的区域通办合作，推动高频政务服务事项异地可办。")
    wrapped = [body[index : index + 20] for index in range(0, len(body), 20)]
    lines = [header, *wrapped[:3], "— 2 —", header, *wrapped[3:], "— 3 —", header]
    result = clean_document("\n".join(lines) + "\n", lexicon)
    assert header not in result.text and "—" not in result.text
    assert result.text == body + "\n"


def test_a_list_of_plan_titles_of_several_places_is_not_one_place_s_plan(lexicon):
    text = "北京市“十四五”时期智慧城市发展行动纲要\n天津市加快数字化发展三年行动方案\n河北省数字政府建设规划\n"
    assert [owner[0] for owner in owners_of(text, lexicon)] == ["北京", "天津", "河北"]
