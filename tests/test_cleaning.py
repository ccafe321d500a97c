"""Cleaning rules, each checked on real damage copied from the raw sources."""

from __future__ import annotations

import pytest

from helpers.cleaning import boilerplate_reason, clean_document, clean_line


def clean(line: str, lexicon) -> str:
    """Clean one line and drop the tally."""
    return clean_line(line, lexicon, {})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2021年(nián)是(shì)國(guó)家(jiā)十四五", "2021年是国家十四五"),
        ("我國(guó)加快(kuà← ☆÷i)數(shù)字發展", "我国加快数字发展"),
        ("是($$±£shì)引領", "是引领"),
        ("推動數(shù)字中國(guβφ☆≈ó)建設", "推动数字中国建设"),
        ("開&♦↑(kāi)局", "开局"),
        ("數← γ(shù)字政府", "数字政府"),
        ("浙江省人(people)民政府關于(At)印發", "浙江省人民政府关于印发"),
        ("一(one)網通辦", "一网通办"),
        ("個(indivual)人(people)隐私", "个人隐私"),
    ],
)
def test_annotations_and_junk_are_removed(raw, expected, lexicon):
    assert clean(raw, lexicon) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("北(běi)京市(shì)(2021年(nián)3月(yuè))", "北京市（2021年3月）"),
        ("河(hé)南(nán)省(2021年(nián)9\" 月(yuè))", "河南省（2021年9月）"),
        ("廣東(dōng)省(2021年(nián)\"✔7月(yuè))", "广东省（2021年7月）"),
        ("就(jiù)鄉(xiāng)村(cūn)振興促進法(草(cǎo)案二次審議(y↕★✔€ì)稿)", "就乡村振兴促进法（草案二次审议稿）"),
        ("加快江淮大数据中心,安徽(淮南)大数据交易中心", "加快江淮大数据中心，安徽（淮南）大数据交易中心"),
        ("(一(one))指導思想", "（一）指导思想"),
        ("推進城市CIM基礎平台", "推进城市CIM基础平台"),
        ("提升“10+N”服務便利化水平", "提升“10+N”服务便利化水平"),
        ("增加值達2.6萬億元以上,年均增長15%以上,占GDP的比重", "增加值达2.6万亿元以上，年均增长15%以上，占GDP的比重"),
        ("“互聯網﹢教育”", "“互联网+教育”"),
        ("推行“全省事”APP內涵", "推行“全省事”APP内涵"),
    ],
)
def test_legitimate_content_is_kept(raw, expected, lexicon):
    assert clean(raw, lexicon) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("遼甯省(2021年(nián)10月(yuè))", "辽宁省（2021年10月）"),
        ("甯夏省", "宁夏省"),
        ("《遼甯省“十四五”數(shù)字政府發展規劃&n✔≈bsp;》", "《辽宁省“十四五”数字政府发展规划》"),
        ("規劃的(de)通(tōng)知(zhī) ₽®;》", "规划的通知》"),
        ("加快推进“互联网+政务服务”, 建设", "加快推进“互联网+政务服务”，建设"),
        ("依托 “津云政务云”搭建", "依托“津云政务云”搭建"),
        ("規劃(2020—2025年(nián))", "规划（2020-2025年）"),
        ("(2021年(nián)-2023年σσπ(nián))", "（2021年-2023年）"),
        ("——政務服務", "——政务服务"),
        ("二○三五年遠景目標", "二○三五年远景目标"),
        ("完善7×24小時服務和(♠×hé)", "完善7×24小时服务和"),
        ("數‰字†政※府", "数字政府"),
    ],
)
def test_script_variants_entities_and_spacing(raw, expected, lexicon):
    assert clean(raw, lexicon) == expected


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("[复制链接]", "navigation"),
        ("查看： 211 | : 0", "statistics"),
        ("1242", "statistics"),
        ("金牌会员", "statistics"),
        ("您需要登录后才可以回帖登录 | 立即注册", "login"),
        ("版权所有： Discuz! 2001-2013大数据.", "copyright"),
        ("电话：400-007-6266 010-86223221", "contact"),
        ("客服QQ:1174916573", "contact"),
        ("1624516531432924.png", "file_name"),
        ("浙江省人民政府关于印发浙江省数字政府建设“十四五”规划的通知.pdf", "file_name"),
        ("原文链接：http://www.zj.gov.cn/art/2021/6/18/art_1229019364_2305064.html", "link"),
        ("免费获取更多报告节选", "advertising"),
        ("雪糕起步价涨至2元每年的夏季，都是雪糕消费旺季。今年的雪糕价格从2…", "advertising"),
        ("图1", "figure"),
        ("北京市（2021年3月） | 《北京市“十四五”时期智慧城市发展行动纲要》 | 有力促进数字政府 |", ""),
        ("全面提升“一网通办”水平，丰富“全省事”APP内涵。", ""),
        ("2021年政府工作报告 |", ""),
    ],
)
def test_boilerplate_lines_are_recognised_by_kind(line, reason, lexicon):
    assert boilerplate_reason(line, lexicon) == reason


def test_page_metadata_gives_the_date_and_is_dropped(lexicon):
    raw = "浙江省人(people)民政府關于(At)印發規劃的(of)通知\n\n時(hour)間:\n2021-06-20\n文章作(do)者:\n正文第一句。\n"
    result = clean_document(raw, lexicon)
    assert result.page_date == "2021-06"
    assert result.text == "浙江省人民政府关于印发规划的通知\n正文第一句。\n"
    assert [reason for _, reason, _ in result.dropped_lines] == ["metadata", "metadata", "metadata"]


def test_forum_post_date_is_found_in_chrome(lexicon):
    result = clean_document("搜索\n发表于 2021-3-31 15:20:58 | 显示全部楼层 |阅读模式\n正文。\n", lexicon)
    assert result.page_date == "2021-03"
    assert result.text == "正文。\n"


def test_repeated_paragraph_is_dropped_once(lexicon):
    paragraph = "数字政府是指以现代互联网、物联网、大数据等技术为支撑的新时代高效行政服务模式。"
    result = clean_document(f"{paragraph}\n{paragraph}我国数字政府建设现状如何？\n", lexicon)
    assert result.text == f"{paragraph}我国数字政府建设现状如何？\n"
    assert result.dropped_lines[0][1] == "duplicate"


def test_audit_counts_removed_characters(lexicon):
    result = clean_document("國(guó)家(jiā)\n", lexicon)
    assert result.removed_chars["pinyin"] == len("(guó)(jiā)")


@pytest.mark.parametrize(
    "line",
    ["欢迎访问浙江省人民政府门户网站", "【打印本页】【关闭窗口】", "【字体：大 中 小】",
     "当前位置：首页 > 政务公开 > 政策文件", "首页 > 政务公开 > 规划计划", "浙江省数字政府建设方案_第1页",
     "第 2 页 / 共 12 页", "本文档由用户上传，如有侵权请联系删除",
     "点击下载全文", "联系电话：0571-87054321", "网站标识码3300000001", "责任编辑：张三", "分享到：",
     "扫一扫在手机打开当前页", "2022/04/27 10:31"],
)
def test_page_chrome_of_portals_and_document_sites_is_dropped(line, lexicon):
    result = clean_document(f"{line}\n全面推进一网通办。\n", lexicon)
    assert result.text == "全面推进一网通办。\n"


@pytest.mark.parametrize(
    ("line", "fields"),
    [("发布日期： 2022- 04- 27", {"page_date": "2022-04"}),
     ("时间：2022-04-27 来源：浙江日报", {"page_date": "2022-04", "source": "浙江日报"}),
     ("成文日期：2021年06月18日 发文机关：浙江省人民政府", {"issue_date": "2021-06", "issuer": "浙江省人民政府"}),
     ("来源：《电子政务》2021年第5期 作者：李四", {"source": "《电子政务》2021年第5期"}),
     ("发布时间：2022年4月27日 浏览次数：1024", {"page_date": "2022-04"})],
)
def test_metadata_lines_give_their_fields_and_are_dropped(line, fields, lexicon):
    result = clean_document(f"{line}\n全面推进一网通办。\n", lexicon)
    assert result.page_fields == fields
    assert result.text == "全面推进一网通办。\n"


def test_a_content_line_with_a_label_word_is_kept(lexicon):
    text = "时间：2021年至2025年。规划期内全面推进一网通办。\n"
    assert clean_document(text, lexicon).text == text


def test_the_date_under_a_signatory_is_the_issue_date(lexicon):
    raw = "发布日期：2022-05-16\n全面推进一网通办。\n恩施土家族苗族自治州人民政府办公室\n2022年5月9日\n"
    result = clean_document(raw, lexicon)
    assert result.page_fields == {"page_date": "2022-05", "issue_date": "2022-05"}
    assert result.text == "全面推进一网通办。\n恩施土家族苗族自治州人民政府办公室\n"
