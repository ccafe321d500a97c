"""Cut cleaned sources into passages tied to a province (or the national level) and count concepts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

import pandas as pd

from helpers.lexicon import Lexicon, find_provinces
from helpers.parallel import FileVersions, cached_lexicon, folder_versions, map_in_order, runs_in_workers

PASSAGE_COLUMNS = [
    "passage_id", "source_id", "province", "level", "date", "date_basis", "title", "kind", "start", "end", "text",
]
MENTION_COLUMNS = ["passage_id", "source_id", "province", "level", "concept", "form", "form_kind", "count"]
NATIONAL = "全国"
DATE = re.compile(r"((?:19|20)\d{2})\s*年(?:\s*(\d{1,2})\s*月)?")
LEADING_DATE = re.compile(r"^(?:截至|截止)?((?:19|20)\d{2})\s*年(?:(\d{1,2})月)?(?:\d{1,2}日)?(?:底|初|末)?[，,]?")
TITLE = re.compile(r"《([^《》]{4,80})》")
HEADING = re.compile(r"^([^：|《》“”，。]{2,24})：\s*(.*)$")
COUNTED_BODIES = re.compile(r"^[一二三四五六七八九十\d]+(部门|部委|部)$")
SENTENCE_END = re.compile(r"(?<=[。！？])")
PLAN_TITLE = re.compile(r"(规划|方案|意见|计划|通知|纲要|办法|条例|要点)")
ISSUED_PLAN = re.compile(r"关于印发(.+?)的通知")


@dataclass
class Passage:
    """A span of cleaned text attributed to one province or to the national level."""

    province: str
    start: int
    end: int
    kind: str
    date: str = ""
    title: str = ""


def year_month(match: re.Match[str] | None) -> str:
    """Format a (year, month) date match as YYYY-MM, or YYYY when the month is missing or invalid, or ''."""
    if not match:
        return ""
    year, month = match.group(1), match.group(2)
    return f"{year}-{int(month):02d}" if month and 1 <= int(month) <= 12 else year


def month_of(text: str) -> str:
    """Return the first date in text as YYYY-MM, or YYYY when no month is given, or ''."""
    return year_month(DATE.search(text))


def leading_date(sentence: str) -> str:
    """Return the date a sentence opens with (e.g. 2021年3月15日，X省发布…) as YYYY-MM or YYYY."""
    return year_month(LEADING_DATE.match(sentence))


def line_spans(text: str) -> list[tuple[int, int, str]]:
    """Return (start, end, line) for every non-empty line of text."""
    spans, offset = [], 0
    for line in text.split("\n"):
        if line.strip():
            spans.append((offset, offset + len(line), line))
        offset += len(line) + 1
    return spans


def province_at_start(text: str, lexicon: Lexicon) -> str:
    """Return the province a short text (a table cell, a heading) starts with, or ''."""
    match = lexicon.province_pattern.match(text.strip())
    return lexicon.province_names[match.group()] if match else ""


def is_national_issuer(text: str, lexicon: Lexicon) -> bool:
    """Tell whether a heading or issuer cell names national bodies only."""
    parts = [part for part in re.split(r"[、，和与及]", text) if part]
    return bool(parts) and all(
        COUNTED_BODIES.match(part) or any(part.startswith(body) for body in lexicon.national_bodies) for part in parts
    )


def split_cells(line: str) -> list[str]:
    """Split a table line into its non-empty cells."""
    return [cell.strip() for cell in line.split("|") if cell.strip()]


def table_rows(spans: list[tuple[int, int, str]], lexicon: Lexicon) -> tuple[list[dict], set[int]]:
    """Find table rows (one line per row, or one line per cell) and return them with the line indexes used."""
    rows: list[dict] = []
    used: set[int] = set()
    headers = lexicon.table_headers
    index = 0
    while index < len(spans):
        start, end, line = spans[index]
        cells = split_cells(line)
        if line.count("|") >= 2 and len(cells) >= 2:
            used.add(index)
            roles = [headers.get(cell, "") for cell in cells]
            if all(roles):
                rows.append({"header": roles})
            else:
                rows.append({"cells": cells, "start": start, "end": end})
            index += 1
            continue
        if line.rstrip().endswith("|") and len(cells) == 1 and cells[0] in headers:
            roles, cursor = [], index
            while cursor < len(spans) and spans[cursor][2].rstrip().endswith("|") and split_cells(spans[cursor][2]):
                role = headers.get(split_cells(spans[cursor][2])[0], "")
                if not role:
                    break
                roles.append(role)
                used.add(cursor)
                cursor += 1
            cells, cell_text, cell_start, row_start = [], "", None, None
            while cursor < len(spans):
                c_start, c_end, c_line = spans[cursor]
                ends_cell = c_line.rstrip().endswith("|")
                following = spans[cursor + 1][2] if cursor + 1 < len(spans) else ""
                continues = not ends_cell and re.match(r"^[，,、；。]", following)
                if not ends_cell and not continues and not cell_text:
                    break
                if not cells and not cell_text and ends_cell and c_line.rstrip("| ").strip() in headers:
                    break
                used.add(cursor)
                cell_start = c_start if cell_start is None else cell_start
                row_start = cell_start if row_start is None else row_start
                cell_text += c_line.rstrip().rstrip("|").strip()
                cursor += 1
                if ends_cell:
                    cells.append(cell_text)
                    cell_text, cell_start = "", None
                    if len(cells) == len(roles):
                        rows.append({"cells": cells, "roles": roles, "start": row_start, "end": c_end})
                        cells, row_start = [], None
            index = cursor
            continue
        index += 1
    return rows, used


def row_passage(row: dict, roles: list[str], lexicon: Lexicon) -> Passage:
    """Attribute one table row to a province or the national level, with its date and title."""
    cells = row["cells"]
    roles = roles if len(roles) == len(cells) else [""] * len(cells)
    province, date, title = "", "", ""
    for cell, role in zip(cells, roles, strict=True):
        if role in ("region", "") and not province and len(cell) <= 30:
            province = province_at_start(cell, lexicon)
        if role in ("date", "region", "") and not date and len(cell) <= 30:
            date = month_of(cell)
        if role == "title" and not title:
            quoted = TITLE.search(cell)
            title = quoted.group(1) if quoted else cell.strip("《》")
    if not title:
        found = TITLE.search(" ".join(cells))
        title = found.group(1) if found else ""
    return Passage(province or NATIONAL, row["start"], row["end"], "table_row", date, title)


def section_heading(line: str, lexicon: Lexicon) -> str:
    """Return the province a 'X：…' heading line opens, NATIONAL for a national issuer, else ''."""
    match = HEADING.match(line)
    if not match:
        return ""
    head = match.group(1)
    province = province_at_start(head, lexicon)
    if province and lexicon.province_pattern.fullmatch(head):
        return province
    return NATIONAL if is_national_issuer(head, lexicon) else ""


def prose_passages(start: int, line: str, owner: str, lexicon: Lexicon) -> list[Passage]:
    """Cut a prose line into passages: a sentence naming one province opens a passage for it."""
    passages: list[Passage] = []
    offset = start
    for sentence in filter(None, SENTENCE_END.split(line)):
        named = {province for _, _, province in find_provinces(sentence, lexicon)}
        date = leading_date(sentence)
        if len(named) == 1 and (not passages or passages[-1].province not in named):
            passages.append(Passage(named.pop(), offset, offset + len(sentence), "prose", date))
        elif passages and (len(named) <= 1):
            passages[-1].end = offset + len(sentence)
        else:
            passages.append(Passage(owner, offset, offset + len(sentence), "prose", date))
        offset += len(sentence)
    return passages


def document_owner(spans: list[tuple[int, int, str]], lexicon: Lexicon) -> tuple[str, str]:
    """Return (province, plan title) when the document is one province's own plan, else ('', '')."""
    if not spans:
        return "", ""
    first = spans[0][2]
    named = {province for _, _, province in find_provinces(first, lexicon)}
    if len(named) == 1 and province_at_start(first, lexicon) and PLAN_TITLE.search(first) and len(first) <= 80:
        issued = ISSUED_PLAN.search(first)
        return named.pop(), issued.group(1) if issued else first
    return "", ""


def cut_passages(text: str, lexicon: Lexicon, page_date: str = "") -> list[Passage]:
    """Cut a cleaned source into passages: table rows, headed sections, a whole plan, or prose."""
    spans = line_spans(text)
    rows, used = table_rows(spans, lexicon)
    passages: list[Passage] = []
    roles: list[str] = []
    for row in rows:
        if "header" in row:
            roles = row["header"]
        else:
            passages.append(row_passage(row, row.get("roles", roles), lexicon))
    owner, plan_title = document_owner([span for i, span in enumerate(spans) if i not in used], lexicon)
    section: Passage | None = None
    for index, (start, end, line) in enumerate(spans):
        if index in used:
            section = None
            continue
        if owner:
            passages.append(Passage(owner, start, end, "document", month_of(plan_title), plan_title))
            continue
        heading = section_heading(line, lexicon)
        if heading:
            section = Passage(heading, start, end, "headed_section", month_of(line[: line.find("：")]))
            passages.append(section)
            if heading == NATIONAL:
                section = None
        elif section is not None:
            section.end = end
        else:
            passages.extend(prose_passages(start, line, NATIONAL, lexicon))
    for passage in passages:
        if not passage.title:
            found = TITLE.search(text[passage.start : passage.end])
            passage.title = found.group(1) if found else ""
    return sorted(passages, key=lambda passage: passage.start)


def passage_records(source_id: str, text: str, lexicon: Lexicon, page_date: str, min_chars: int) -> list[list]:
    """Return the passages of one cleaned source as rows of the passages table (columns PASSAGE_COLUMNS)."""
    records = []
    for passage in cut_passages(text, lexicon, page_date):
        body = text[passage.start : passage.end].strip()
        if len(body) < min_chars:
            continue
        date, basis = (passage.date, "stated") if passage.date else (page_date, "page" if page_date else "")
        level = "national" if passage.province == NATIONAL else "province"
        records.append([f"{source_id}-{len(records) + 1:04d}", source_id, passage.province, level, date, basis,
                        passage.title, passage.kind, passage.start, passage.end, body])
    return records


def passages_table(source_id: str, text: str, lexicon: Lexicon, page_date: str, min_chars: int) -> pd.DataFrame:
    """Return the passages of one cleaned source as rows of the passages table."""
    return pd.DataFrame(passage_records(source_id, text, lexicon, page_date, min_chars), columns=PASSAGE_COLUMNS)


def source_records(source: tuple[str, str, str], lexicon: Lexicon, min_chars: int) -> list[list]:
    """Return the passage rows of one (source_id, cleaned text, page date) triple."""
    source_id, text, page_date = source
    return passage_records(source_id, text, lexicon, page_date, min_chars)


def source_records_in_worker(source: tuple[str, str, str], folder: Path, versions: FileVersions,
                             min_chars: int) -> list[list]:
    """Return the passage rows of one source in a worker process, with its cached lexicon of the folder."""
    return source_records(source, cached_lexicon(folder, versions), min_chars)


def passages_for_sources(texts: dict[str, str], page_dates: dict[str, str], lexicon: Lexicon, min_chars: int,
                         n_jobs: int = 1, scheduler: str = "") -> pd.DataFrame:
    """Return the passages table of every cleaned source, in the order of texts (n_jobs processes or Dask)."""
    if runs_in_workers(n_jobs, scheduler):
        folder = lexicon.folder.absolute()
        cut = partial(source_records_in_worker, folder=folder, versions=folder_versions(folder), min_chars=min_chars)
    else:
        cut = partial(source_records, lexicon=lexicon, min_chars=min_chars)
    sources = [(source_id, text, page_dates[source_id]) for source_id, text in texts.items()]
    rows = map_in_order(cut, sources, n_jobs, scheduler, "cutting passages")
    return pd.DataFrame([record for records in rows for record in records], columns=PASSAGE_COLUMNS)


@cache
def concept_matcher(lexicon: Lexicon) -> re.Pattern[str]:
    """A regex matching every concept form and every longer word a form must not be counted within, longest first."""
    blockers = {word for words in lexicon.concepts.get("not_within", []) for word in words.split("|") if word}
    return re.compile("|".join(map(re.escape, sorted({*lexicon.concepts["form"], *blockers},
                                                      key=lambda form: (-len(form), form)))))


def count_concepts(passages: pd.DataFrame, lexicon: Lexicon) -> pd.DataFrame:
    """Count every concept surface form in every passage, longest form first, without overlaps.

    A form inside a longer word listed in its not_within column (掌上办 in 掌上办公) is not counted.
    """
    forms = lexicon.concepts.set_index("form")
    records = []
    for row in passages.itertuples():
        found: dict[str, int] = {}
        for match in concept_matcher(lexicon).finditer(row.text):
            if match.group() in forms.index:
                found[match.group()] = found.get(match.group(), 0) + 1
        for form, count in sorted(found.items()):
            records.append([row.passage_id, row.source_id, row.province, row.level,
                            forms.at[form, "concept"], form, forms.at[form, "form_kind"], count])
    return pd.DataFrame(records, columns=MENTION_COLUMNS).sort_values(["passage_id", "concept", "form"],
                                                                      ignore_index=True)
