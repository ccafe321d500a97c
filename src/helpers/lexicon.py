"""Read the lexicon data files: gazetteer, concepts, boilerplate patterns, table headers, variants."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from helpers.config import ProjectError

PROVINCE_SUFFIXES = ("壮族自治区", "回族自治区", "维吾尔自治区", "特别行政区", "自治区", "省", "市")


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


def find_provinces(text: str, lexicon: Lexicon) -> list[tuple[int, int, str]]:
    """Return (start, end, province) for every province name in text."""
    names = lexicon.province_names
    return [(match.start(), match.end(), names[match.group()]) for match in lexicon.province_pattern.finditer(text)]
