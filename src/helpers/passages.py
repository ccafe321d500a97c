"""Cut cleaned sources into passages tied to a province (or the national level) and count concepts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

import pandas as pd

from helpers.lexicon import Lexicon
from helpers.parallel import FileVersions, cached_lexicon, folder_versions, map_in_order, runs_in_workers
from helpers.places import ISSUING, NATIONAL, PlaceFinder, place_finder
from helpers.provenance import SourceInfo

PASSAGE_COLUMNS = [
    "passage_id", "source_id", "province", "city", "level", "owner_basis", "date", "date_basis", "title", "kind",
    "start", "end", "text",
]
MENTION_COLUMNS = ["passage_id", "source_id", "province", "city", "level", "concept", "form", "form_kind", "count"]
NUMERIC_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*[./／-]\s*(\d{1,2})(?:\s*[./／-]\s*\d{1,2})?(?![\d年])")
DATE = re.compile(r"((?:19|20)\d{2})\s*年(?:\s*(\d{1,2})\s*月)?")
LEADING_DATE = re.compile(r"^(?:截至|截止)?((?:19|20)\d{2})\s*年(?:(\d{1,2})月)?(?:\d{1,2}日)?(?:底|初|末)?[，,]?")
TITLE = re.compile(r"《([^《》]{4,80})》")
HEADING = re.compile(r"^([^：|《》“”，。]{2,24})：\s*(.*)$")
COUNTED_BODIES = re.compile(r"^[一二三四五六七八九十\d]+(部门|部委|部)$")
HAN_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
SENTENCE_END = re.compile(r"(?<=[。！？])")
# A plan's title ends with one of these words, perhaps followed by a period in brackets: …规划（2021—2025年）
PLAN_TITLE = re.compile(r"(规划|方案|意见|计划|通知|纲要|办法|条例|要点|措施|规定|细则|决定|指南|清单)》?"
                        r"(（[^（）]*）)?$")
ISSUED_PLAN = re.compile(r"关于印发(.+?)的通知")
# Verbs of a news headline about a plan (浙江出台…方案): the page reports on the plan rather than being it.
NEWS_HEADLINE = re.compile(r"(出台|发布|推出|召开|答记者问|亮点|聚焦|记者|获悉|印发)(?!.*关于印发)")
# What a page adds around a plan's title when it explains or shows the plan (图解：…, 《…》政策解读, …（全文）).
TITLE_AFFIXES = re.compile(r"^(图解|一图读懂|一图看懂|解读|全文)[：:]?|(政策解读|解读|全文|正文|（全文）|图解)$")
TITLE_LINES = 6  # lines from the top of a document searched for its title (menu items of a few characters aside)
MENU_ITEM_CHARS = 6
# Enumeration markers of items run together on one line: （一）…（二）…, ①…②…
ITEM_MARK = re.compile(r"(?=（[一二三四五六七八九十]{1,3}）|[\u2460-\u2473])")
CLAUSE_END = re.compile(r"(?<=[；;])")
# A sentence opening on 'recently' (近日，…) dates its event by the page.
RECENT = re.compile(r"^(近日|日前|近期|今天|今日|昨天|昨日|本周|上周|近来)")
# Words by which a place's own text refers to itself (全区, 我省, 自治区…), not after 各 or 每 (各省, 每个市).
SELF_REFERENCE = re.compile(r"(?<![各每])(全省|全区|全市|全州|全县|我省|我市|我区|我州|我县|本省|本市|本区|自治区|"
                            r"省委|省政府|市委|市政府|区委|州委|县委)")
CLAUSE_BREAK = re.compile(r"[，,；;：:]")
# A date that is a target or a bound, not an event: 到2025年, 2025年前, 2021—2025年.
# A month without its year (山西省9月印发): not after 年 or a digit, not a number of months (3个月).
MONTH_ONLY = re.compile(r"(?<![\d年个])(\d{1,2})\s*月(?!份以来|以来|底前|前)")
# A month of this or last year (今年4月), dated from the context's year.
RELATIVE_YEARS = {"今年": 0, "本年": 0, "当年": 0, "去年": -1, "上年": -1, "前年": -2}
RELATIVE_MONTH = re.compile(rf"({'|'.join(RELATIVE_YEARS)})\s*(\d{{1,2}})\s*月")
NOT_EVENT_BEFORE = re.compile(r"(到|至|力争|争取|预计|目标|计划|前|[-—–~～])\s*$")
NOT_EVENT_AFTER = re.compile(r"^(底前|前|以前|之前|以来|起|要|将|拟|力争|争取|预计|计划|[-—–~～至到]\s*(?:19|20)\d{2})")
# Outline numbering of headings, by rank: 一、 > （一） > 1. > （1） > ①; 01 (a round-up's own numbering) ranks first.
OUTLINE = ((1, re.compile(r"^[一二三四五六七八九十]{1,3}[、.．]")), (1, re.compile(r"^\d{2}\s")),
           (2, re.compile(r"^[（(][一二三四五六七八九十]{1,3}[）)]")), (3, re.compile(r"^\d{1,2}[.．、](?!\d)")),
           (4, re.compile(r"^[（(]\d{1,2}[）)]")), (5, re.compile(r"^[\u2460-\u2473]")))
HEADING_MAX_CHARS = 60  # an outline line this short, with no full stop inside, is a heading
# A date in brackets right after a title: 《…规划》（2021年11月）
TITLE_DATE = re.compile(r"》\s*[（(]\s*((?:19|20)\d{2})\s*年(?:\s*(\d{1,2})\s*月)?[^）)]{0,6}[）)]")
# A line that is only a place name, perhaps numbered: 01 北京市, 一、浙江省, （三）广东
NUMBERING = r"(?:[（(][一二三四五六七八九十\d]{1,3}[）)]\s*|[一二三四五六七八九十]{1,3}[、.．]\s*|\d{1,3}[、.．]?\s*)?"


@dataclass
class Passage:
    """A span of cleaned text attributed to one province (and perhaps one of its cities) or the national level."""

    province: str
    start: int
    end: int
    kind: str
    date: str = ""
    title: str = ""
    city: str = ""
    date_basis: str = ""
    owner_basis: str = "text"


def year_month(match: re.Match[str] | None) -> str:
    """Format a (year, month) date match as YYYY-MM, or YYYY when the month is missing or invalid, or ''."""
    if not match:
        return ""
    year, month = match.group(1), match.group(2)
    return f"{year}-{int(month):02d}" if month and 1 <= int(month) <= 12 else year


def cell_date(text: str) -> str:
    """Return the first date in a short text such as a table cell, written 2021年6月, 2021.6, 2021/06 or 2021-06-18,
    as YYYY-MM (or YYYY); ''."""
    found = [match for match in (DATE.search(text), NUMERIC_DATE.search(text)) if match]
    return year_month(min(found, key=lambda match: match.start())) if found else ""


def month_of(text: str) -> str:
    """Return the first date in text as YYYY-MM, or YYYY when no month is given, or ''."""
    return year_month(DATE.search(text))


def leading_date(sentence: str) -> str:
    """Return the date a sentence opens with (e.g. 2021年3月15日，X省发布…) as YYYY-MM or YYYY; not a start
    or bound (2017年以来, 2021年前)."""
    match = LEADING_DATE.match(sentence)
    return year_month(match) if match and not NOT_EVENT_AFTER.match(sentence[match.end() :]) else ""


def line_spans(text: str) -> list[tuple[int, int, str]]:
    """Return (start, end, line) for every non-empty line of text."""
    spans, offset = [], 0
    for line in text.split("\n"):
        if line.strip():
            spans.append((offset, offset + len(line), line))
        offset += len(line) + 1
    return spans


def stated_date(sentence: str, context: str = "") -> str:
    """Return the date a sentence states for an event: its leading date, a date before an issuing verb (a month
    alone completed from context, see issue_date), or the date in brackets after a title."""
    leading = leading_date(sentence)
    if len(leading) == 4:  # 2021年，…山西省9月印发…: the month the sentence gives later completes its year
        refined = issue_date(sentence, leading)
        return refined if refined.startswith(leading) else leading
    return leading or issue_date(sentence, context) or year_month(TITLE_DATE.search(sentence))


def event_date(text: str) -> str:
    """Return the first date in a heading or cell that is not inside a title nor a target or a bound."""
    titled = year_month(TITLE_DATE.search(text))
    if titled:
        return titled
    for match in DATE.finditer(text):
        before, after = text[: match.start()], text[match.end() :]
        if before.count("《") <= before.count("》") and not NOT_EVENT_BEFORE.search(before) \
                and not NOT_EVENT_AFTER.match(after):
            return year_month(match)
    return ""


def section_date(line: str, page_date: str) -> str | None:
    """The first date a line of a section states for an event, sentence by sentence; None when the line says its
    event is recent (近日), so that the section takes the page's date."""
    for sentence in filter(None, SENTENCE_END.split(line)):
        if RECENT.match(sentence):
            return None  # 近日，…: the event is as recent as the page, whose date the passage takes
        date = stated_date(sentence, stated_year(line[: line.find(sentence)]) or page_date)
        if date:
            return date
    return ""


def outline_rank(line: str) -> int:
    """Rank of the outline numbering a line starts with (1 highest), or 0 for none."""
    return next((rank for rank, pattern in OUTLINE if pattern.match(line.strip())), 0)


def is_outline_heading(line: str) -> bool:
    """Tell whether a line is a numbered heading: short, with no full stop before its end."""
    return bool(outline_rank(line)) and len(line) <= HEADING_MAX_CHARS and "。" not in line.rstrip("。")


def issue_date(sentence: str, context: str = "") -> str:
    """Return a date before an issuing verb (…年…月，…市先后印发…) that is neither a target (到2025年) nor a bound
    of a period (2021—2025年) nor inside a title, else ''. A month given without its year (山西省9月印发…) takes
    the year from context: a year (YYYY) the text stated before, or the page's date (YYYY-MM), whose year it
    takes unless the month is later than the page's, then the year before."""
    verb = ISSUING.search(sentence)
    if not verb:
        return ""
    written = [*DATE.finditer(sentence, 0, verb.start()), *NUMERIC_DATE.finditer(sentence, 0, verb.start())]
    dated = [match for match in sorted(written, key=lambda match: match.start())
             if sentence[: match.start()].count("《") <= sentence[: match.start()].count("》")
             and not NOT_EVENT_BEFORE.search(sentence[: match.start()])
             and not NOT_EVENT_AFTER.match(sentence[match.end() :])]
    year = dated[-1] if dated else None
    if year is not None and year.group(2):
        return year_month(year)
    relative = RELATIVE_MONTH.search(sentence, 0, verb.start())
    if relative and context and year is None and 1 <= int(relative.group(2)) <= 12:
        return f"{int(context[:4]) + RELATIVE_YEARS[relative.group(1)]}-{int(relative.group(2)):02d}"
    month = MONTH_ONLY.search(sentence, year.end() if year else 0, verb.start())
    context = year.group(1) if year is not None else context
    if month and context and 1 <= int(month.group(1)) <= 12:
        number = int(context[:4])
        if len(context) > 4 and int(month.group(1)) > int(context[5:7]):
            number -= 1
        return f"{number}-{int(month.group(1)):02d}"
    return year_month(year) if year is not None else ""


def stated_year(text: str) -> str:
    """The last year text states for an event (not a target nor a bound), or ''."""
    years = [match.group(1) for match in DATE.finditer(text) if not NOT_EVENT_BEFORE.search(text[: match.start()])
             and not NOT_EVENT_AFTER.match(text[match.end() :])]
    return years[-1] if years else ""


def place_at_start(text: str, lexicon: Lexicon, finder: PlaceFinder | None = None) -> tuple[str, str]:
    """Return the (province, city) a short text (a table cell, a heading) starts with, or ('', '')."""
    places = (finder or place_finder(lexicon)).find(text.strip())
    return places[0].owner if places and places[0].start == 0 else ("", "")


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


def row_passage(row: dict, roles: list[str], lexicon: Lexicon, finder: PlaceFinder | None = None) -> Passage:
    """Attribute one table row to a province (or city) or the national level, with its date and title."""
    cells = row["cells"]
    roles = roles if len(roles) == len(cells) else [""] * len(cells)
    owner, date, title = ("", ""), "", ""
    for cell, role in zip(cells, roles, strict=True):
        if role in ("region", "") and not owner[0] and len(cell) <= 30:
            owner = place_at_start(cell, lexicon, finder)
        if role in ("date", "region", "") and not date and len(cell) <= 30:
            date = cell_date(cell)
        if role == "title" and not title:
            quoted = TITLE.search(cell)
            title = quoted.group(1) if quoted else cell.strip("《》")
    if not title:
        found = TITLE.search(" ".join(cells))
        title = found.group(1) if found else ""
    province, city = owner
    return Passage(province or NATIONAL, row["start"], row["end"], "table_row", date, title, city,
                   "stated" if date else "")


def section_heading(line: str, lexicon: Lexicon, finder: PlaceFinder | None = None) -> tuple[str, str]:
    """Return the (province, city) a heading line opens ('X：…' or a numbered place name alone), (NATIONAL, '')
    for a national issuer's heading, else ('', '')."""
    finder = finder or place_finder(lexicon)
    alone = re.fullmatch(rf"{NUMBERING}(.{{2,16}}?)[：:]?", line.strip())
    if alone:
        owner = place_at_start(alone.group(1), lexicon, finder)
        if owner[0] and alone.group(1) in finder.forms:
            return owner
    match = HEADING.match(line)
    if match:
        head = re.sub(rf"^{NUMBERING}", "", match.group(1))
        owner = place_at_start(head, lexicon, finder)
        if owner[0] and head in finder.forms:
            return owner
        if is_national_issuer(head, lexicon):
            return NATIONAL, ""
    if is_outline_heading(line):
        owners = finder.owners(line)
        if len(owners) == 1:
            return owners[0]
    return "", ""


def sentence_passages(start: int, sentence: str, current: Passage | None, lexicon: Lexicon,
                      context: str = "", finder: PlaceFinder | None = None) -> list[Passage]:
    """Attribute one sentence: to the one place it names as its own; clause by clause when several of its
    ；-clauses name places; to each place of a list it names together; a sentence naming none continues the current
    passage."""
    finder = finder or place_finder(lexicon)
    owners = finder.owners(sentence)
    end = start + len(sentence)
    date = stated_date(sentence, context)
    if not owners or (len(owners) == 1 and current is not None and (current.province, current.city) == owners[0]):
        if current is not None:
            current.end = end
            if date and not current.date:
                current.date, current.date_basis = date, "stated"
            return []
        return [Passage(NATIONAL, start, end, "prose", date, date_basis="stated" if date else "")]
    if len(owners) == 1:
        return [Passage(*owners[0][:1], start, end, "prose", date, city=owners[0][1],
                        date_basis="stated" if date else "")]
    clauses = [clause for clause in CLAUSE_END.split(sentence) if clause]
    per_clause = [finder.owners(clause) for clause in clauses]
    if len(clauses) > 1 and sum(map(bool, per_clause)) > 1:
        passages: list[Passage] = []
        offset = start
        for clause, named in zip(clauses, per_clause, strict=True):
            clause_context = stated_year(sentence[: offset - start]) or context
            passages.extend(sentence_passages(offset, clause, passages[-1] if passages and not named else None,
                                              lexicon, clause_context, finder) if named or not passages else [])
            if not named and passages:
                passages[-1].end = offset + len(clause)
            offset += len(clause)
        return passages
    shared = []
    for place in finder.owner_places(sentence):
        date = shared_date(sentence, place.start, context)
        shared.append(Passage(place.province, start, end, "shared", date, city=place.city,
                              date_basis="stated" if date else ""))
    return shared


def shared_date(sentence: str, position: int, context: str) -> str:
    """The date a sentence naming several places states for the one at position: the date before the issuing verb
    of that place's own clause, looked for after the clause of any earlier issuing verb (2022年9月，南宁市、柳州市先后
    印发…，桂林市也已建成… dates 南宁 and 柳州 by 2022年9月, and 桂林 by nothing), or the sentence's leading date
    when the sentence has no issuing verb."""
    clause_end = next((match.start() for match in CLAUSE_BREAK.finditer(sentence, position)), len(sentence))
    verb = ISSUING.search(sentence, position, clause_end)
    if verb:
        earlier = [match.end() for match in ISSUING.finditer(sentence, 0, position)]
        start = next((match.end() for match in CLAUSE_BREAK.finditer(sentence, earlier[-1])), position) \
            if earlier else 0
        return issue_date(sentence[start : verb.end()], context)
    return "" if ISSUING.search(sentence) else leading_date(sentence)


def prose_passages(start: int, line: str, lexicon: Lexicon, page_date: str = "",
                   finder: PlaceFinder | None = None) -> list[Passage]:
    """Cut a prose line into passages: items run together on the line (（一）…（二）…) each start afresh; within an
    item, a sentence naming a place opens a passage for it and the sentences after it continue it."""
    passages: list[Passage] = []
    offset = start
    for item in filter(None, ITEM_MARK.split(line)):
        current: Passage | None = None
        for sentence in filter(None, SENTENCE_END.split(item)):
            context = stated_year(line[: offset - start]) or page_date
            found = sentence_passages(offset, sentence, current, lexicon, context, finder)
            passages.extend(found)
            if found:
                current = found[-1] if found[-1].kind != "shared" else None
            offset += len(sentence)
    return passages


def title_owner(line: str, lexicon: Lexicon, finder: PlaceFinder | None = None) -> tuple[str, str, str]:
    """Return (province, city, plan title) when a line is the title of one place's own plan, else ('', '', '')."""
    line = TITLE_AFFIXES.sub("", line.strip()).strip().strip("《》")
    issued = ISSUED_PLAN.search(line)
    plan = issued.group(1).strip("《》") if issued else line
    if len(line) > 100 or "。" in line or not PLAN_TITLE.search(plan) or (not issued and NEWS_HEADLINE.search(line)):
        return "", "", ""
    finder = finder or place_finder(lexicon)
    owners = finder.owners(line)
    if len(owners) != 1 or not (place_at_start(line, lexicon, finder)[0] or place_at_start(plan, lexicon, finder)[0]):
        return "", "", ""
    return owners[0][0], owners[0][1], plan


def national_title(line: str, lexicon: Lexicon) -> bool:
    """Tell whether a line is the title of a national body's own document (国务院办公厅关于…的指导意见)."""
    line = line.strip().strip("《》")
    issuer = re.match(r"^(.{2,40}?)关于", line)
    return bool(issuer and PLAN_TITLE.search(line) and len(line) <= 100 and "。" not in line
                and is_national_issuer(issuer.group(1), lexicon))


def document_owner(spans: list[tuple[int, int, str]], lexicon: Lexicon, source: SourceInfo,
                   finder: PlaceFinder | None = None) -> Passage | None:
    """Return a template passage (owner, title, date) when the whole document is one place's own plan or the
    manifest names its place, else None. The title is looked for in the page title and the first lines."""
    top = [line for _, _, line in spans if len(line) > MENU_ITEM_CHARS][:TITLE_LINES]
    lines = [source.title, *top]
    finder = finder or place_finder(lexicon)
    titled = [found for found in (title_owner(line, lexicon, finder) for line in lines if line) if found[0]]
    if len({found[:2] for found in titled}) > 1:
        titled = []  # plan titles of several places at the top: a list of plans, not one place's plan
    province, city, title = titled[0] if titled else ("", "", "")
    basis = "title"
    if not province and any(national_title(line, lexicon) for line in lines if line):
        province, title = NATIONAL, next(line for line in lines if line and national_title(line, lexicon))
    if source.province or source.city:
        province, city, basis = source.province, source.city, "manifest"
    elif not province and source.issuer and source.doc_type in ("", "plan", "policy"):
        issuers = finder.owners(source.issuer)
        if is_national_issuer(source.issuer, lexicon):
            province, basis = NATIONAL, "issuer"
        elif len(issuers) == 1:
            (province, city), basis = issuers[0], "issuer"
    if not province:
        return None
    if source.issue_date:
        date, date_basis = source.issue_date, source.issue_date_basis
    else:
        date = next(filter(None, (stated_date(line) for line in top)), "")
        date_basis = "stated" if date else ""
    return Passage(province, 0, 0, "document", date, title, city, date_basis, basis)


def document_passages(start: int, line: str, document: Passage, finder: PlaceFinder) -> list[Passage]:
    """A line of a document that is one province's: the province's, except sentences that speak of one of its
    cities as their own (支持长春市建设…试点), which are that city's."""
    passages: list[Passage] = []
    offset = start
    for sentence in filter(None, SENTENCE_END.split(line)) if not document.city else [line]:
        owners = finder.owners(sentence) if document.province != NATIONAL else []
        city = owners[0][1] if len(owners) == 1 and owners[0][0] == document.province else ""
        if passages and passages[-1].city == city:
            passages[-1].end = offset + len(sentence)
        else:
            passages.append(Passage(**{**document.__dict__, "start": offset, "end": offset + len(sentence),
                                       "city": city or document.city}))
        offset += len(sentence)
    return passages


def page_subject(spans: list[tuple[int, int, str]], source: SourceInfo,
                 finder: PlaceFinder) -> tuple[tuple[str, str] | None, int]:
    """The one place a page's title speaks of (太原12345热线推出…), with the end of the title line in the text
    (0 when the title is the manifest's only), or (None, 0)."""
    top = [(end, line) for _, end, line in spans if len(line) > MENU_ITEM_CHARS][:1]
    for end, title in [*top, (0, source.title)] if source.title else top:
        owners = finder.owners(title)
        if len(owners) == 1 and owners[0][0] != NATIONAL:
            return owners[0], end
    return None, 0


def cut_passages(text: str, lexicon: Lexicon, source: SourceInfo | None = None) -> list[Passage]:
    """Cut a cleaned source into passages: table rows, a whole plan, headed sections, or prose."""
    source = source or SourceInfo()
    finder = place_finder(lexicon).for_document(text)
    spans = line_spans(text)
    rows, used = table_rows(spans, lexicon)
    passages: list[Passage] = []
    roles: list[str] = []
    for row in rows:
        if "header" in row:
            roles = row["header"]
        else:
            passages.append(row_passage(row, row.get("roles", roles), lexicon, finder))
    document = document_owner([span for index, span in enumerate(spans) if index not in used], lexicon, source,
                              finder)
    section: Passage | None = None
    section_rank, section_settled = 0, False
    # The place the last prose paragraph spoke of; at first the publisher's (我省 on a page a province published).
    publishers = finder.owners(source.publisher) if source.publisher else []
    speaker: tuple[str, str] | None = publishers[0] if len(publishers) == 1 else None
    subject, subject_line_end = page_subject(spans, source, finder) if document is None else (None, 0)
    for index, (start, end, line) in enumerate(spans):
        if index in used:
            section = None
        elif document is not None:
            passages.extend(document_passages(start, line, document, finder))
        elif (heading := section_heading(line, lexicon, finder))[0]:
            date = event_date(line[: line.find("：")] if "：" in line else line)
            section = Passage(heading[0], start, end, "headed_section", date, city=heading[1],
                              date_basis="stated" if date else "")
            passages.append(section)
            section, section_rank = (None, 0) if heading[0] == NATIONAL else (section, outline_rank(line))
            section_settled = False
        elif section is not None and not (section_rank and is_outline_heading(line)
                                          and outline_rank(line) <= section_rank):
            section.end = end
            date = section_date(line, source.page_date) if not (section.date or section_settled) else ""
            section_settled = section_settled or date is None
            if date:
                section.date, section.date_basis = date, "stated"
        else:
            section = None
            found = prose_passages(start, line, lexicon, source.page_date, finder)
            unplaced = all(passage.province == NATIONAL for passage in found)
            for passage in found:
                if passage.province == NATIONAL and speaker \
                        and SELF_REFERENCE.search(text[passage.start : passage.end]):
                    passage.province, passage.city = speaker  # 全区…, 我省…: the place spoken of speaks on
                elif passage.province == NATIONAL and unplaced and subject is not None and start > subject_line_end:
                    # a paragraph of a page whose title names one place is about that place
                    passage.province, passage.city, passage.owner_basis = *subject, "subject"
                elif passage.province != NATIONAL:
                    speaker = (passage.province, passage.city) if passage.kind != "shared" else None
            passages.extend(found)
    for passage in passages:
        if not passage.title:
            found = TITLE.search(text[passage.start : passage.end])
            passage.title = found.group(1) if found else ""
        if passage.date_basis == "stated" and after(passage.date, source.page_date):
            passage.date, passage.date_basis = "", ""  # a target year (2025年，…全面建成), not an event
    return sorted(passages, key=lambda passage: passage.start)


def after(date: str, page_date: str) -> bool:
    """Tell whether a date (YYYY or YYYY-MM) lies after the page's own date, to the precision both have."""
    if not date or not page_date:
        return False
    size = min(len(date), len(page_date))
    return date[:size] > page_date[:size]


def passage_level(passage: Passage) -> str:
    """national, province or city."""
    return "national" if passage.province == NATIONAL else "city" if passage.city else "province"


def passage_records(source_id: str, text: str, lexicon: Lexicon, source: SourceInfo, min_chars: int) -> list[list]:
    """Return the passages of one cleaned source as rows of the passages table (columns PASSAGE_COLUMNS).

    A passage without a date of its own takes the document's issue date (the manifest's, the page's 成文日期 or the
    date under its signatory), else the page's date (from its metadata or the manifest)."""
    records = []
    for passage in cut_passages(text, lexicon, source):
        body = text[passage.start : passage.end].strip()
        if len(body) < min_chars:
            continue
        date, basis = passage.date, passage.date_basis if passage.date else ""
        if not date and source.issue_date:
            date, basis = source.issue_date, source.issue_date_basis
        elif not date and source.page_date:
            date, basis = source.page_date, source.page_date_basis or "page"
        records.append([f"{source_id}-{len(records) + 1:04d}", source_id, passage.province, passage.city,
                        passage_level(passage), passage.owner_basis, date, basis, passage.title, passage.kind,
                        passage.start, passage.end, body])
    return records


def passages_table(source_id: str, text: str, lexicon: Lexicon, source: SourceInfo, min_chars: int) -> pd.DataFrame:
    """Return the passages of one cleaned source as rows of the passages table."""
    return pd.DataFrame(passage_records(source_id, text, lexicon, source, min_chars), columns=PASSAGE_COLUMNS)


def source_records(source: tuple[str, str, SourceInfo], lexicon: Lexicon, min_chars: int) -> list[list]:
    """Return the passage rows of one (source_id, cleaned text, source information) triple."""
    source_id, text, info = source
    return passage_records(source_id, text, lexicon, info, min_chars)


def source_records_in_worker(source: tuple[str, str, SourceInfo], folder: Path, versions: FileVersions,
                             min_chars: int) -> list[list]:
    """Return the passage rows of one source in a worker process, with its cached lexicon of the folder."""
    return source_records(source, cached_lexicon(folder, versions), min_chars)


def passages_for_sources(texts: dict[str, str], infos: dict[str, SourceInfo], lexicon: Lexicon, min_chars: int,
                         n_jobs: int = 1, scheduler: str = "") -> pd.DataFrame:
    """Return the passages table of every cleaned source, in the order of texts (n_jobs processes or Dask)."""
    if runs_in_workers(n_jobs, scheduler):
        folder = lexicon.folder.absolute()
        cut = partial(source_records_in_worker, folder=folder, versions=folder_versions(folder), min_chars=min_chars)
    else:
        cut = partial(source_records, lexicon=lexicon, min_chars=min_chars)
    sources = [(source_id, text, infos.get(source_id, SourceInfo())) for source_id, text in texts.items()]
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

    A span shared by several cities of one province is counted once, for the first of them. A form inside a longer
    word listed in its not_within column (掌上办 in 掌上办公) is not counted, nor is a damaged
    form right after a Han character: a lost character leaves the rest after a quote or punctuation (“网通办”), while
    全网通办 is another word.
    """
    forms = lexicon.concepts.set_index("form")
    damaged = set(forms.index[forms["form_kind"] == "damaged"])
    records = []
    counted: set[tuple] = set()
    for row in passages.itertuples():
        span = (row.source_id, row.province, getattr(row, "start", row.passage_id), getattr(row, "end", ""))
        if span in counted:
            continue  # a sentence shared by several cities of one province counts once for the province
        counted.add(span)
        found: dict[str, int] = {}
        for match in concept_matcher(lexicon).finditer(row.text):
            after_han = match.start() > 0 and HAN_CHAR.match(row.text[match.start() - 1])
            if match.group() in forms.index and not (match.group() in damaged and after_han):
                found[match.group()] = found.get(match.group(), 0) + 1
        for form, count in sorted(found.items()):
            records.append([row.passage_id, row.source_id, row.province, row.city, row.level,
                            forms.at[form, "concept"], form, forms.at[form, "form_kind"], count])
    return pd.DataFrame(records, columns=MENTION_COLUMNS).sort_values(["passage_id", "concept", "form"],
                                                                      ignore_index=True)
