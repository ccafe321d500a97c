"""Read the lexicon data files: gazetteer, concepts, boilerplate patterns, table headers, variants."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from helpers.config import ProjectError

PROVINCE_SUFFIXES = ("壮族自治区", "回族自治区", "维吾尔自治区", "特别行政区", "自治区", "省", "市")
PLACE_COLUMNS = ["code", "name", "level", "province", "prefecture", "short", "traditional", "ambiguous"]
PLACE_LEVELS = ("province", "prefecture", "county")
UNIT_SUFFIX_CHARS = "省市区县州旗盟"  # one-character unit suffixes that may follow a short form in running text
WORD_WINDOW = 8  # characters on each side of a short form segmented to check it is a whole word


class AdminUnit(NamedTuple):
    """The administrative unit a place name stands for."""

    province: str  # short province name, as in provinces.csv
    prefecture: str  # full name of the prefecture-level unit it is or lies in; '' for a provincial unit or one under it
    level: str  # province, prefecture or county
    code: str  # six-digit division code; '' when the name is shared by several units of one province


def read_lexicon_table(path: Path, columns: list[str]) -> pd.DataFrame:
    """Read a lexicon CSV as strings and check that it has the expected columns."""
    if not path.is_file():
        raise ProjectError(f"{path}: lexicon file missing; restore it from the repository or point lexicon_dir to it")
    table = pd.read_csv(path, dtype=str, keep_default_na=False, comment=None)
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise ProjectError(f"{path}: missing column(s) {', '.join(missing)}; see data/lexicon/README.md")
    return table


def read_word_list(path: Path) -> list[str]:
    """Read a one-entry-per-line list, skipping blank lines and '#' comments."""
    if not path.is_file():
        raise ProjectError(f"{path}: lexicon file missing; restore it from the repository")
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


@dataclass(frozen=True)
class Lexicon:
    """All lexicon files of one lexicon folder, parsed once."""

    folder: Path

    @cached_property
    def provinces(self) -> pd.DataFrame:
        """The gazetteer: one row per provincial-level unit."""
        columns = ["province", "full_name", "kind", "name_en", "region", "aliases", "abbreviation"]
        return read_lexicon_table(self.folder / "provinces.csv", columns)

    @cached_property
    def province_names(self) -> dict[str, str]:
        """Every written form of every province (full, short, aliases, with suffixes) mapped to its short name."""
        names: dict[str, str] = {}
        for row in self.provinces.itertuples():
            forms = {row.province, row.full_name, *filter(None, row.aliases.split("|"))}
            for form in list(forms):
                forms.update(form + suffix for suffix in PROVINCE_SUFFIXES if not form.endswith(suffix))
            for form in forms:
                names[form] = row.province
        return names

    @cached_property
    def province_pattern(self) -> re.Pattern[str]:
        """A regex matching any province name, longest form first."""
        forms = sorted(self.province_names, key=lambda form: (-len(form), form))
        return re.compile("|".join(map(re.escape, forms)))

    @cached_property
    def mainland(self) -> list[str]:
        """Short names of the 31 mainland provincial units, in gazetteer order."""
        return self.provinces.loc[self.provinces["region"] != "港澳台", "province"].tolist()

    @cached_property
    def places(self) -> pd.DataFrame:
        """The place gazetteer: one row per provincial-, prefecture- and county-level unit, built from the official
        division codes by tools/build_places.py."""
        path = self.folder / "places.csv"
        table = read_lexicon_table(path, PLACE_COLUMNS)
        unknown = sorted(set(table["province"]) - set(self.provinces["province"]))
        levels = sorted(set(table["level"]) - set(PLACE_LEVELS))
        duplicated = sorted(set(table.loc[table["code"].duplicated(), "code"]))
        for problem, values in [("province(s) not in provinces.csv", unknown), ("unknown level(s)", levels),
                                ("code(s) listed twice", duplicated)]:
            if values:
                raise ProjectError(f"{path}: {problem}: {', '.join(values)}; rebuild it with tools/build_places.py")
        return table

    @cached_property
    def province_nicknames(self) -> dict[str, str]:
        """Curated alternative names of provinces (八闽 → 福建), each with the reference that documents it."""
        path = self.folder / "province_nicknames.csv"
        table = read_lexicon_table(path, ["nickname", "province", "source"])
        unknown = sorted(set(table["province"]) - set(self.provinces["province"]))
        if unknown:
            raise ProjectError(f"{path}: province(s) {', '.join(unknown)} not in provinces.csv; use its short names")
        return dict(zip(table["nickname"], table["province"], strict=True))

    @cached_property
    def place_names(self) -> dict[str, AdminUnit]:
        """Every matchable written form of a unit of the place gazetteer (full name, traditional form, short form
        unless ambiguous) mapped to the unit; a form shared by units of different provinces is left out."""
        candidates: dict[str, list[AdminUnit]] = defaultdict(list)
        for row in self.places.itertuples():
            ambiguous = row.ambiguous == "1"
            if ambiguous and row.short == row.name:
                continue  # its only name is a common word or is shared across provinces
            unit = AdminUnit(row.province, row.name if row.level == "prefecture" else row.prefecture, row.level,
                             row.code)
            forms = {row.name, row.traditional} | (set() if ambiguous else {row.short})
            for form in forms:
                if len(form) >= 2:
                    candidates[form].append(unit)
        names = {form: resolve_units(units) for form, units in candidates.items()}
        return {form: unit for form, unit in names.items() if unit is not None}

    @cached_property
    def place_short_forms(self) -> frozenset[str]:
        """The matchable place forms that are short forms only (浦东, 义乌), not any unit's full or traditional name."""
        full = {*self.places["name"], *self.places["traditional"]}
        return frozenset(form for form in self.place_names if form not in full)

    @cached_property
    def place_forms(self) -> dict[str, tuple[str, str]]:
        """Every matchable written form of a place mapped to its (province, prefecture)."""
        return {form: (unit.province, unit.prefecture) for form, unit in self.place_names.items()}

    @cached_property
    def place_matcher(self) -> FormMatcher:
        """Finds matchable place names in a text, longest form first."""
        return FormMatcher.of(self.place_names)

    @cached_property
    def concepts(self) -> pd.DataFrame:
        """The concept lexicon: canonical concept, surface form and its kind."""
        table = read_lexicon_table(self.folder / "concepts.csv", ["concept", "form", "form_kind"])
        duplicated = table.loc[table["form"].duplicated(), "form"].tolist()
        if duplicated:
            raise ProjectError(f"{self.folder / 'concepts.csv'}: form(s) listed twice: {', '.join(duplicated)}")
        return table

    @cached_property
    def concept_pattern(self) -> re.Pattern[str]:
        """A regex matching any concept form, longest first, so 一网通办 wins over its damaged 网通办."""
        forms = sorted(self.concepts["form"], key=lambda form: (-len(form), form))
        return re.compile("|".join(map(re.escape, forms)))

    @cached_property
    def boilerplate(self) -> list[tuple[str, re.Pattern[str]]]:
        """Boilerplate line patterns with the reason each one stands for."""
        table = read_lexicon_table(self.folder / "boilerplate.csv", ["reason", "pattern"])
        compiled = []
        for row in table.itertuples():
            try:
                compiled.append((row.reason, re.compile(row.pattern, re.IGNORECASE)))
            except re.error as error:
                raise ProjectError(
                    f"{self.folder / 'boilerplate.csv'}: bad pattern {row.pattern!r} ({error}); fix the regex"
                ) from error
        return compiled

    @cached_property
    def table_headers(self) -> dict[str, str]:
        """Table header words mapped to the role of their column (date, issuer, title, content, region)."""
        table = read_lexicon_table(self.folder / "table_headers.csv", ["header", "role"])
        return dict(zip(table["header"], table["role"], strict=True))

    @cached_property
    def national_bodies(self) -> list[str]:
        """Names of national issuers, longest first."""
        return sorted(read_word_list(self.folder / "national_bodies.txt"), key=lambda name: (-len(name), name))

    @cached_property
    def variants(self) -> list[tuple[str, str]]:
        """Variant-character replacements applied after conversion to simplified script."""
        table = read_lexicon_table(self.folder / "variants.csv", ["variant", "standard"])
        return list(zip(table["variant"], table["standard"], strict=True))


@dataclass(frozen=True)
class FormMatcher:
    """Finds, left to right and without overlap, the longest of many written forms (two characters or more)
    starting at each position of a text; thousands of forms cost little more than a few, unlike one regex."""

    forms: frozenset[str]
    first_chars: re.Pattern[str]
    lengths: dict[str, tuple[int, ...]]  # the lengths of the forms beginning with each pair of characters

    @classmethod
    def of(cls, forms: Iterable[str]) -> FormMatcher:
        """A matcher for forms."""
        forms = frozenset(forms)
        if any(len(form) < 2 for form in forms):
            raise ValueError("FormMatcher needs forms of two characters or more")
        lengths: dict[str, set[int]] = defaultdict(set)
        for form in forms:
            lengths[form[:2]].add(len(form))
        first_chars = re.compile("[" + "".join(sorted({re.escape(form[0]) for form in forms})) + "]")
        return cls(forms, first_chars, {pair: tuple(sorted(sizes, reverse=True)) for pair, sizes in lengths.items()})

    def finditer(self, text: str) -> Iterator[tuple[int, int]]:
        """Yield (start, end) of each form found in text."""
        position = 0
        while (found := self.first_chars.search(text, position)) is not None:
            start = found.start()
            end = next((start + size for size in self.lengths.get(text[start : start + 2], ())
                        if text[start : start + size] in self.forms), None)
            if end is None:
                position = start + 1
            else:
                yield start, end
                position = end


def resolve_units(units: list[AdminUnit]) -> AdminUnit | None:
    """The unit a form shared by several units stands for: None across provinces; within one province the unit
    that holds all the others (淮安 → 淮安市, not its 淮安区), else what they share (their province, and their
    prefecture and level where all agree; level province when only the province is known)."""
    units = list(dict.fromkeys(units))
    if len({unit.province for unit in units}) > 1:
        return None
    for unit in units:
        if all(other == unit or unit.level == "province" or (unit.level == "prefecture" and other.prefecture ==
               unit.prefecture) for other in units):
            return unit
    prefectures = {unit.prefecture for unit in units}
    levels = {unit.level for unit in units}
    return AdminUnit(units[0].province, prefectures.pop() if len(prefectures) == 1 else "",
                     levels.pop() if len(levels) == 1 else "province", "")


def is_whole_word(text: str, start: int, end: int, cut: Callable[[str], list[str]]) -> bool:
    """Whether text[start:end] begins and ends on word boundaries of the segmenter cut, looked at in a window
    around it; a following unit suffix may close the word (恩施州, 石柱县)."""
    left = max(0, start - WORD_WINDOW)
    boundaries = set(accumulate((len(token) for token in cut(text[left : end + WORD_WINDOW])), initial=left))
    suffix = text[end : end + 1]
    closes = end in boundaries or (suffix != "" and suffix in UNIT_SUFFIX_CHARS and end + 1 in boundaries)
    return start in boundaries and closes


def find_places(text: str, lexicon: Lexicon, cut: Callable[[str], list[str]] | None = None,
                ) -> list[tuple[int, int, AdminUnit]]:
    """Return (start, end, unit) for every matchable place name in text, longest form first. With cut (a word
    segmenter such as jieba.lcut), a short form counts only where it is a whole word: 源汇 in 资源汇聚 or 和政
    in 和政府 is not a place."""
    names, short_forms = lexicon.place_names, lexicon.place_short_forms
    return [(start, end, names[text[start:end]]) for start, end in lexicon.place_matcher.finditer(text)
            if cut is None or text[start:end] not in short_forms or is_whole_word(text, start, end, cut)]


def find_provinces(text: str, lexicon: Lexicon) -> list[tuple[int, int, str]]:
    """Return (start, end, province) for every province name in text."""
    names = lexicon.province_names
    return [(match.start(), match.end(), names[match.group()]) for match in lexicon.province_pattern.finditer(text)]
