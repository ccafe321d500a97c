"""What a reader knows of a source before any heuristic: the manifest's provenance columns, checked and parsed."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
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
MONTH = re.compile(r"((?:19|20)\d{2})-(\d{2})")


@dataclass(frozen=True)
class SourceInfo:
    """What is known of a source before its text is cut: the manifest's provenance and the page's metadata."""

    page_date: str = ""
    page_date_basis: str = ""  # page (from the manifest, the page's markup or its metadata lines)
    issue_date: str = ""
    issue_date_basis: str = ""  # manifest or metadata
    province: str = ""
    city: str = ""
    issuer: str = ""
    title: str = ""
    doc_type: str = ""
    publisher: str = ""  # who published the page (the manifest's publisher, else its site)


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
                          city_names: dict[str, tuple[str, str]] | None = None) -> None:
    """Check every provenance value of the manifest (dates, doc types; provinces and cities given a gazetteer).

    city_names maps each written form of a prefecture- or county-level unit to its (province, prefecture).
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
            city_province = city_names.get(city, ("", ""))[0]
            if not city_province:
                raise ProjectError(f"{where}: city {city!r} is not a prefecture- or county-level unit of the "
                                   "gazetteer; write its official name (e.g. 深圳市) or leave it empty")
            if stated and stated != city_province:
                raise ProjectError(f"{where}: city {city!r} lies in {city_province}, not in {stated}; "
                                   "correct the province or the city")


def manifest_provenance(manifest: pd.DataFrame) -> pd.DataFrame:
    """The manifest's provenance columns and publisher, one row per source, for sources_meta.csv."""
    return manifest[["source_id", "publisher", *PROVENANCE_COLUMNS]]


def year_and_month(value: str) -> str:
    """YYYY-MM of a date written YYYY-MM(-DD), else ''."""
    match = MONTH.match(value.strip())
    return f"{match.group(1)}-{match.group(2)}" if match else ""


def source_infos(meta: pd.DataFrame, province_names: dict[str, str],
                 city_names: dict[str, tuple[str, str]] | None = None) -> dict[str, SourceInfo]:
    """SourceInfo of every source from sources_meta.csv: what the manifest states wins over what the page gives.

    The page date is the manifest's date (or the page's markup date, column date), else the date of the page's
    metadata lines; the issue date the manifest's issue_date, else the page's 成文日期 or signing date.

    city_names maps each written form of a prefecture- or county-level unit to its (province, prefecture); a
    manifest city becomes its prefecture, and gives the province when the manifest names none.
    """
    infos = {}
    for row in meta.fillna("").astype(str).to_dict("records"):
        page_date = year_and_month(row.get("date", "")) or row.get("page_date", "")
        issue_date = parse_manifest_date(row.get("issue_date", ""))
        city_province, city = (city_names or {}).get(row.get("city", "").strip(), ("", ""))
        province = manifest_province(row.get("province", ""), province_names) or city_province
        infos[row["source_id"]] = SourceInfo(
            page_date=page_date, page_date_basis="page" if page_date else "",
            issue_date=issue_date or row.get("page_issue_date", ""),
            issue_date_basis="manifest" if issue_date else "metadata" if row.get("page_issue_date") else "",
            province=province, city=city if province else "",
            issuer=row.get("issuer", "") or row.get("page_issuer", ""),
            title=row.get("title", "") or row.get("page_title", ""),
            doc_type=row.get("doc_type", ""),
            publisher=row.get("publisher", "") or row.get("site", ""),
        )
    return infos
