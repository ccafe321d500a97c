"""The place gazetteer places.csv (built by tools/build_places.py) and the place matcher of the lexicon."""

from __future__ import annotations

import shutil

import jieba
import pytest

from helpers.config import ProjectError
from helpers.lexicon import PLACE_COLUMNS, AdminUnit, FormMatcher, Lexicon, find_places


@pytest.fixture(scope="module")
def places(lexicon):
    """The gazetteer table."""
    return lexicon.places


def unit(places, name, province=None):
    """The one row of the gazetteer with this full name (in this province)."""
    rows = places[(places["name"] == name) & ((places["province"] == province) if province else True)]
    assert len(rows) == 1, f"{name}: {len(rows)} rows"
    return rows.iloc[0]


def test_the_file_is_sorted_utf8_with_newline_ends_and_small(lexicon):
    data = (lexicon.folder / "places.csv").read_bytes()
    assert len(data) < 1_000_000
    assert b"\r" not in data and data.endswith(b"\n")
    lines = data.decode("utf-8").splitlines()
    assert lines[0] == ",".join(PLACE_COLUMNS)
    codes = [line.split(",")[0] for line in lines[1:]]
    assert codes == sorted(codes)


def test_every_mainland_province_has_its_row_and_units(lexicon, places):
    provinces = lexicon.provinces.set_index("province")
    for province in lexicon.mainland:
        rows = places[places["province"] == province]
        assert (rows["level"] == "province").sum() == 1, province
        if provinces.loc[province, "kind"] == "municipality":
            assert (rows["level"] == "prefecture").sum() == 0 and (rows["level"] == "county").sum() > 0, province
        else:
            assert (rows["level"] == "prefecture").sum() >= 1, province
    assert 330 <= (places["level"] == "prefecture").sum() <= 340
    assert 2800 <= (places["level"] == "county").sum() <= 2900


def test_codes_are_unique_six_digits_and_nested(places):
    assert places["code"].str.fullmatch(r"\d{6}").all()
    assert not places["code"].duplicated().any()
    province_code = places[places["level"] == "province"].set_index("province")["code"]
    assert (places["code"].str[:2] == places["province"].map(province_code).str[:2]).all()
    prefectures = places[places["level"] == "prefecture"]
    prefecture_code = dict(zip(prefectures["province"] + prefectures["name"], prefectures["code"], strict=True))
    counties = places[(places["level"] == "county") & (places["prefecture"] != "")]
    assert (counties["province"] + counties["prefecture"]).isin(prefecture_code).all()
    parent_code = (counties["province"] + counties["prefecture"]).map(prefecture_code)
    assert (counties["code"].str[:4] == parent_code.str[:4]).all()


def test_every_unit_maps_to_a_province_of_the_gazetteer(lexicon, places):
    assert set(places["province"]) <= set(lexicon.provinces["province"])
    assert places.loc[places["level"] != "county", "prefecture"].eq("").all()


def test_known_units_map_to_their_province_and_prefecture(places):
    assert unit(places, "深圳市")[["province", "level"]].tolist() == ["广东", "prefecture"]
    enshi = unit(places, "恩施土家族苗族自治州")
    assert enshi[["province", "level", "short"]].tolist() == ["湖北", "prefecture", "恩施"]
    assert unit(places, "浦东新区")[["province", "prefecture", "short"]].tolist() == ["上海", "", "浦东"]
    assert unit(places, "义乌市")[["province", "prefecture", "short"]].tolist() == ["浙江", "金华市", "义乌"]
    assert unit(places, "仙桃市")[["province", "prefecture", "level"]].tolist() == ["湖北", "", "county"]
    assert unit(places, "内蒙古自治区")[["code", "short", "ambiguous"]].tolist() == ["150000", "内蒙古", "0"]


def test_recent_changes_are_in_the_data(places):
    assert "莱芜市" not in set(places["name"])  # merged into 济南 in 2019
    assert unit(places, "莱芜区")[["province", "prefecture"]].tolist() == ["山东", "济南市"]
    assert {"江干区", "下城区", "梅列区"}.isdisjoint(places["name"])
    assert unit(places, "临平区")["prefecture"] == "杭州市"


def test_short_forms_drop_the_suffix_and_the_ethnic_groups(places):
    shorts = dict(zip(places["name"], places["short"], strict=False))
    assert shorts["龙胜各族自治县"] == "龙胜"
    assert shorts["克孜勒苏柯尔克孜自治州"] == "克孜勒苏"
    assert shorts["积石山保安族东乡族撒拉族自治县"] == "积石山"
    assert shorts["鄂伦春自治旗"] == "鄂伦春自治旗"  # stripping would leave only the ethnic group
    assert shorts["芒市"] == "芒市"  # stripping would leave one character
    assert shorts["资源县"] == "资源县"  # 资源 is a common word
    assert all(name.startswith(short) for name, short in shorts.items() if len(short) < len(name))
    traditional = places[places["traditional"] != ""]
    assert (traditional["traditional"] != traditional["name"]).all()
    assert unit(places, "长沙市")["traditional"] == "長沙市"


def test_ambiguous_short_forms_are_flagged_by_rule(places):
    assert unit(places, "朝阳区", "北京")[["short", "ambiguous"]].tolist() == ["朝阳", "1"]  # also 朝阳市 in 辽宁
    assert unit(places, "朝阳市")["ambiguous"] == "1"
    assert unit(places, "吉林市")[["short", "ambiguous"]].tolist() == ["吉林", "1"]  # the province's name
    assert unit(places, "海南藏族自治州")["ambiguous"] == "1"
    assert unit(places, "范县")["ambiguous"] == "1"  # inside 示范县
    assert unit(places, "深圳市")["ambiguous"] == "0"
    assert set(places["ambiguous"]) == {"0", "1"}
    assert places.loc[places["level"] == "province", "ambiguous"].eq("0").all()


def test_ambiguous_forms_are_not_matchable_but_full_names_are(lexicon):
    names = lexicon.place_names
    for form in ["朝阳", "朝阳区", "鼓楼", "鼓楼区", "中山", "资源", "合作", "范县", "河北区", "城区", "东区"]:
        assert form not in names, form
    assert names["朝阳市"] == AdminUnit("辽宁", "朝阳市", "prefecture", "211300")
    assert names["朝阳县"][:3] == ("辽宁", "朝阳市", "county")
    assert names["资源县"][:2] == ("广西", "桂林市")
    assert names["海南藏族自治州"][:3] == ("青海", "海南藏族自治州", "prefecture")
    assert names["河南蒙古族自治县"][0] == "青海"
    assert names["中山市"][:2] == ("广东", "中山市")


def test_matchable_forms_point_to_their_unit(lexicon):
    names = lexicon.place_names
    assert names["深圳"] == names["深圳市"] == AdminUnit("广东", "深圳市", "prefecture", "440300")
    assert names["义乌"] == AdminUnit("浙江", "金华市", "county", "330782")
    assert names["浦东"] == AdminUnit("上海", "", "county", "310115")
    assert names["恩施"] == names["恩施土家族苗族自治州"]  # the prefecture, not its 恩施市
    assert names["淮安"][:3] == ("江苏", "淮安市", "prefecture")
    assert names["長沙市"] == names["长沙市"]
    assert names["吉林"] == AdminUnit("吉林", "", "province", "220000")
    assert names["吉林市"][:3] == ("吉林", "吉林市", "prefecture")
    assert names["向阳区"] == AdminUnit("黑龙江", "", "county", "")  # two cities of 黑龙江 have one
    assert lexicon.place_forms["义乌"] == ("浙江", "金华市")
    assert "义乌" in lexicon.place_short_forms and "义乌市" not in lexicon.place_short_forms


def test_stop_words_and_nicknames_are_not_place_forms(lexicon):
    stop = [line for line in (lexicon.folder / "place_stopwords.txt").read_text("utf-8").splitlines()
            if line and not line.startswith("#")]
    assert len(stop) == len(set(stop)) > 50
    assert not set(stop) & set(lexicon.place_names)
    assert lexicon.province_nicknames["八闽"] == "福建"
    assert not set(lexicon.province_nicknames) & set(lexicon.place_names)


def test_find_places_longest_first_and_whole_words_with_a_segmenter(lexicon):
    text = "深圳市和义乌推进一网通办，浦东新区城运中心，恩施州推进数据资源汇聚和政务服务。"
    found = [(text[start:end], place.province) for start, end, place in find_places(text, lexicon)]
    assert ("深圳市", "广东") in found and ("浦东新区", "上海") in found and ("源汇", "河南") in found
    whole = [(text[start:end], place.province) for start, end, place in find_places(text, lexicon, cut=jieba.lcut)]
    assert whole == [("深圳市", "广东"), ("义乌", "浙江"), ("浦东新区", "上海"), ("恩施", "湖北")]


def test_form_matcher_takes_the_longest_form_without_overlap():
    matcher = FormMatcher.of(["浦东", "浦东新区", "新区", "东新"])
    text = "浦东新区和浦东，新区"
    assert [text[start:end] for start, end in matcher.finditer(text)] == ["浦东新区", "浦东", "新区"]
    with pytest.raises(ValueError):
        FormMatcher.of(["浦"])


def test_a_gazetteer_naming_an_unknown_province_is_refused(lexicon, tmp_path):
    shutil.copy(lexicon.folder / "provinces.csv", tmp_path / "provinces.csv")
    (tmp_path / "places.csv").write_text(",".join(PLACE_COLUMNS) + "\n999900,某市,prefecture,火星,,某,,0\n", "utf-8")
    with pytest.raises(ProjectError, match="火星"):
        _ = Lexicon(tmp_path).places
