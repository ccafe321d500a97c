"""What a reader knows of a source before any heuristic: the manifest's provenance columns, checked and parsed."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pandas as pd

from helpers.config import ProjectError

# Provenance columns a manifest may fill; where given they override everything the code would infer.
PROVENANCE_COLUMNS = ["province", "city", "issuer", "issue_date", "doc_type"]
# Kinds of document a manifest may name in doc_type (see data/raw/README.md).
DOC_TYPES = ("plan", "policy", "news", "round-up", "article", "table", "report", "other")
DATE_COLUMNS = ("date", "issue_date")
ISO_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
NATIONAL_NAMES = ("全国", "national")


def parse_manifest_date(value: str) -> str:
    """Return a manifest date (YYYY-MM-DD, YYYY-MM or YYYY) as YYYY-MM or YYYY; '' when empty; raise ValueError."""
    value = value.strip()
    if not value:
        return ""
    match = ISO_DATE.match(value)
    if not match:
        raise ValueError("is not written YYYY-MM-DD, YYYY-MM or YYYY")
    year, month, day = (int(part) if part else None for part in match.groups())
    if not 1900 <= year <= 2100:
        raise ValueError("has a year outside 1900-2100")
    if month is not None:
        try:
            datetime.date(year, month, day or 1)
        except ValueError:
            raise ValueError("is not a calendar date") from None
        return f"{year:04d}-{month:02d}"
    return f"{year:04d}"


def manifest_province(value: str, province_names: dict[str, str]) -> str:
    """Return the short name of a manifest province (any gazetteer form; 全国 or national), or '' if unknown."""
    value = value.strip()
    return "全国" if value in NATIONAL_NAMES else province_names.get(value, "")


def check_manifest_values(manifest: pd.DataFrame, path: Path, province_names: dict[str, str] | None = None,
                          city_names: dict[str, str] | None = None) -> None:
    """Check every provenance value of the manifest (dates, doc types; provinces and cities given a gazetteer).

    city_names maps each written form of a prefecture- or county-level unit to its province.
    """
    for position, row in enumerate(manifest.itertuples(index=False), start=2):
        where = f"{path}: line {position} (source_id {row.source_id})"
        for column in DATE_COLUMNS:
            value = getattr(row, column)
            try:
                parse_manifest_date(value)
            except ValueError as error:
                raise ProjectError(f"{where}: {column} {value!r} {error}; write e.g. 2021-06-18, 2021-06 or 2021, "
                                   "or leave it empty") from None
        doc_type = row.doc_type.strip()
        if doc_type and doc_type not in DOC_TYPES:
            raise ProjectError(f"{where}: doc_type {doc_type!r} is not one of {', '.join(DOC_TYPES)}; "
                               "choose one or leave it empty")
        province = row.province.strip()
        stated = manifest_province(province, province_names) if province_names is not None else ""
        if province and province_names is not None and not stated:
            raise ProjectError(f"{where}: province {province!r} is not a province of the gazetteer; write its "
                                   "name as in provinces.csv (e.g. 浙江 or 浙江省), 全国 for a national source, "
                                   "or leave it empty")
        city = row.city.strip()
        if city and city_names is not None:
            city_province = city_names.get(city, "")
            if not city_province:
                raise ProjectError(f"{where}: city {city!r} is not a prefecture- or county-level unit of the "
                                   "gazetteer; write its official name (e.g. 深圳市) or leave it empty")
            if stated and stated != city_province:
                raise ProjectError(f"{where}: city {city!r} lies in {city_province}, not in {stated}; "
                                   "correct the province or the city")
