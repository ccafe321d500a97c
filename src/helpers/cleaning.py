"""Clean scraped policy pages: junk symbols, pinyin, glosses, entities, chrome; to simplified script."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path

import opencc
import pandas as pd

from helpers.formats import decode_document, read_raw  # noqa: F401  (moved to formats; kept for callers)
from helpers.lexicon import Lexicon, read_lexicon_table
from helpers.mojibake import repair_mojibake
from helpers.parallel import FileVersions, cached_lexicon, folder_versions, map_in_order, runs_in_workers

HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_PUNCT = r"\u3000-\u303f\uff00-\uffef“”‘’…—《》"
# Symbols that never belong to Chinese policy prose: Greek letters, arrows, mathematical operators, technical
# and geometric symbols, dingbats, currency signs, letterlike symbols and Latin-1 signs (the middle dot · stays).
# ○ (a zero in years such as 二○三五) stays, and so does × between digits (7×24小时).
JUNK_SYMBOLS = re.compile(
    "(?<![0-9])\u00d7|\u00d7(?![0-9])|"
    "[\u0370-\u03ff\u2190-\u21ff\u2200-\u22ff\u2300-\u23ff\u25a0-\u25ca\u25cc-\u25ff\u2600-\u26ff"
    "\u2700-\u27bf\u20a0-\u20cf\u2100-\u214f\u2020\u2021\u2022\u2030\u2031\u203b\u203c\u2042"
    "\u00a2-\u00b6\u00b8-\u00bf\u00f7]"
)
PINYIN_LETTERS = "a-zA-Zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ"
TONE_MARKS = re.compile("[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ]")
# Letters in parentheses right after a Chinese character: a pinyin reading or an English gloss. Stray ASCII
# junk ($ & " ' < >) may sit inside. All-capital contents such as (APP) or (GDP) are acronyms and stay.
ANNOTATION = re.compile(rf"(?<=[{HAN}])[ \t]*[(（]\s*([{PINYIN_LETTERS}$&\"'<>\s]+?)\s*[)）]")
ENTITY_NAMES = "nbsp|ensp|emsp|amp|quot|apos|lt|gt|middot|ldquo|rdquo|lsquo|rsquo|mdash|ndash|hellip|copy|reg"
ENTITY_NOISE = r"[<>$\"'`^]*"
# An HTML entity, whole or broken: junk inside it, its '&' or its ';' lost.
NOISY_NAMES = "|".join(ENTITY_NOISE.join(map(re.escape, name)) for name in ENTITY_NAMES.split("|"))
ENTITY = re.compile(
    rf"&{ENTITY_NOISE}(?:#\d{{2,6}}|#x[0-9a-fA-F]{{2,5}}|[a-zA-Z]{{2,8}});"
    rf"|&{ENTITY_NOISE}(?:{NOISY_NAMES}){ENTITY_NOISE}(?![A-Za-z]);?"
    rf"|(?<![A-Za-z])(?:{NOISY_NAMES}){ENTITY_NOISE};"
)
STRAY_ASCII = re.compile(r"[\"'&$<>`^\\]|\s*;(?=\s*[》”）)])")
SPACE_NEAR_CJK = re.compile(rf"(?<=[{HAN}{CJK_PUNCT}])[ \t\u00a0\u3000]+|[ \t\u00a0\u3000]+(?=[{HAN}{CJK_PUNCT}])")
TAB_CELLS = re.compile(r"\s*\t\s*")
HALF_TO_FULL = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！", "(": "（", ")": "）"}
NEAR_CJK_PUNCT = re.compile(rf"(?<=[{HAN}{CJK_PUNCT}])[,;:?!()]|[,;:?!()](?=[{HAN}{CJK_PUNCT}])")
FULL_WIDTH_ALNUM = str.maketrans(
    {chr(code): chr(code - 0xFEE0) for code in [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)]}
)
PLUS_SIGNS = str.maketrans({"＋": "+", "﹢": "+", "\u00a0": " ", "\u3000": " "})
FILE_NAME = re.compile(
    r"^(\S{0,6}[：:]\s*)?[\w\s\-.（）()“”\"《》、，,]+\.(png|jpe?g|gif|bmp|webp|svg|pdf|docx?|xlsx?|pptx?|zip|rar|wps|ofd)$",
    re.IGNORECASE,
)
LINK = re.compile(r"^(\S{0,8}[：:])?\s*(https?://|www\.)\S+$", re.IGNORECASE)
NUMBER_ONLY = re.compile(r"^[\d\s.,:|：，%-]+$")
TEASER = re.compile(r"(\.\.\.|…)$")
META_DATE = re.compile(r"((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})(?:\s*[-/.月]\s*(\d{1,2})\s*日?)?")
# A line that is nothing but a date, perhaps with a time: the posting date of a page.
DATE_LINE = re.compile(r"^[\[【(（]?\s*(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?"
                       r"(?:\s*\d{1,2}[:：]\d{2}(?:[:：]\d{2})?)?\s*[\]】)）]?$")
POSTED = re.compile(r"(发表于|发布于|发布时间[：:]?|时间[：:])\s*(\d{4}\s*[-/.年]\s*\d{1,2}(?:\s*[-/.月]\s*\d{1,2})?)")
# The signatory line of an official document (…人民政府办公室), after which a date line is the signing date.
SIGNATORY = re.compile(r"^\S{2,30}(人民政府|政府|办公厅|办公室|委员会|局|厅|委|部|中心|小组|公司|研究院)$")
CHINESE_DATE = re.compile(r"^(?:19|20)\d{2}年\d{1,2}月\d{1,2}日$")
# A content line inside a longer one is a repeat only when it is most of it (a duplicated paragraph), not when it is
# one entry of a contents list run together on one line.
DUPLICATE_SHARE = 0.5
# A line in a list of links (after a related_links label): short and without a sentence, or short cells between |.
LINK_LINE = re.compile(r"^[^。！？；]{1,40}$|^([^。！？；|]{1,30}\|)+[^。！？；|]{1,30}$")
OUTLINE_NUMBER = re.compile(r"^([（(]?[一二三四五六七八九十\d]{1,3}[）)、.．]|[\u2460-\u2473])")
# A printed document saved as text: its running header repeats, and its lines break inside sentences.
RUNNING_REPEATS = 3
RUNNING_MAX_CHARS = 30
WRAP_MIN_CHARS = 15
WRAP_MIN_LINES = 6
WRAP_SHARE = 0.4
WRAP_BAND = 0.85
WRAP_OPEN_SHARE = 0.6
SENTENCE_FINAL = re.compile(r"[。！？：…”」』）)》】]$")
# Metadata lines: most of a short line is 'label：value' pairs; fields of data/lexicon/metadata_labels.csv.
METADATA_FIELDS = ("page_date", "issue_date", "issuer", "source")
META_MAX_CHARS = 120


@dataclass
class CleaningResult:
    """A cleaned text with the audit of what was removed and the page metadata found."""

    text: str
    removed_chars: dict[str, int] = field(default_factory=dict)
    dropped_lines: list[tuple[int, str, str]] = field(default_factory=list)
    page_date: str = ""
    page_title: str = ""
    page_fields: dict[str, str] = field(default_factory=dict)
    excerpt: tuple[int, str, str] = (0, "", "")


@cache
def _converter() -> opencc.OpenCC:
    """Return the traditional-to-simplified converter (loaded once)."""
    return opencc.OpenCC("t2s")


def _count_sub(pattern: re.Pattern[str], replacement, text: str, tally: dict[str, int], rule: str) -> str:
    """Apply a substitution and add the number of characters it removed to the tally."""
    result = pattern.sub(replacement, text)
    tally[rule] = tally.get(rule, 0) + max(len(text) - len(result), 0)
    return result


def _annotation(match: re.Match[str], tally: dict[str, int]) -> str:
    """Drop a pinyin reading or English gloss; keep an acronym in parentheses."""
    content = re.sub(r"[$&\"'<>\s]", "", match.group(1))
    if content.isupper() and len(content) >= 2:
        return match.group()
    rule = "pinyin" if TONE_MARKS.search(content) or content in {"de", "le", "me", "ne", "zi", "men"} else "gloss"
    tally[rule] = tally.get(rule, 0) + len(match.group())
    return ""


def clean_line(line: str, lexicon: Lexicon, tally: dict[str, int]) -> str:
    """Clean the characters of one line: symbols, annotations, entities, spaces, script, punctuation."""
    line = repair_mojibake(line, tally).strip()
    line = TAB_CELLS.sub(" | ", line) if "\t" in line else line  # a table saved with tabs between its cells
    line = line.translate(PLUS_SIGNS).translate(FULL_WIDTH_ALNUM)
    line = _count_sub(JUNK_SYMBOLS, "", line, tally, "junk_symbols")
    line = _count_sub(ENTITY, "", line, tally, "html_entities")
    if re.search(f"[{HAN}]", line) and not LINK.search(line):
        line = _count_sub(STRAY_ASCII, "", line, tally, "stray_ascii")
    for _ in range(3):  # a reading may follow a gloss: 的(of)(de)
        annotated = ANNOTATION.sub(lambda match: _annotation(match, tally), line)
        if annotated == line:
            break
        line = annotated
    line = _count_sub(SPACE_NEAR_CJK, "", line, tally, "spaces")
    line = re.sub(r"[ \t]{2,}", " ", line).strip()
    line = _converter().convert(line)
    for variant, standard in lexicon.variants:
        line = line.replace(variant, standard)
    line = NEAR_CJK_PUNCT.sub(lambda match: HALF_TO_FULL[match.group()], line)
    if re.search(f"[{HAN}]", line):
        line = line.replace("(", "（").replace(")", "）")
    line = re.sub(r"\.{3,}|。{3,}", "…", line)
    line = re.sub(r"(?<=[\d年])\s*[—–~～－]\s*(?=\d)", "-", line)  # numeric ranges: 2020—2022年 -> 2020-2022年
    line = re.sub(r"\s*\|\s*", " | ", line).strip()
    return _count_sub(re.compile(r"（\s*）|\(\s*\)"), "", line, tally, "empty_brackets")


def boilerplate_reason(line: str, lexicon: Lexicon) -> str:
    """Return why a cleaned line is page chrome rather than content, or '' for content."""
    if NUMBER_ONLY.match(line):
        return "statistics"
    if FILE_NAME.match(line):
        return "file_name"
    if LINK.match(line):
        return "link"
    if TEASER.search(line) and "|" not in line:
        return "advertising"
    for reason, pattern in lexicon.boilerplate:
        if pattern.search(line):
            return reason
    return ""


def _month(text: str) -> str:
    """Normalise a date found in page metadata to YYYY-MM."""
    match = META_DATE.search(text)
    return f"{match.group(1)}-{int(match.group(2)):02d}" if match and 1 <= int(match.group(2)) <= 12 else ""


@cache
def metadata_labels(lexicon: Lexicon) -> tuple[dict[str, str], re.Pattern[str]]:
    """The page-metadata labels of the lexicon with their field, and a pattern finding 'label：' in a line."""
    table = read_lexicon_table(lexicon.folder / "metadata_labels.csv", ["label", "field"])
    fields = dict(zip(table["label"], table["field"], strict=True))
    labels = sorted(fields, key=lambda label: (-len(label), label))
    alternatives = "|".join(map(re.escape, labels))
    return fields, re.compile(rf"[\[【]({alternatives})[\]】]\s*[：:]?\s*|({alternatives})\s*[：:]\s*")


def metadata_fields(line: str, lexicon: Lexicon) -> dict[str, str] | None:
    """Return the fields of a page-metadata line ('发布日期：2022-04-27 来源：…'), or None for a content line."""
    fields, pattern = metadata_labels(lexicon)
    matches = list(pattern.finditer(line))
    head = re.sub(r"^\d{1,2}[.．、]?\s*$", "", line[: matches[0].start()].strip(" 【】[]|｜（(")) if matches else ""
    if not matches or len(line) > META_MAX_CHARS or "。" in line.rstrip("。）)") and not line.startswith(("（", "(")) \
            or (head and not DATE_LINE.match(head)):
        return None
    found: dict[str, str] = {"page_date": head} if head else {}
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        value = line[match.end() : following.start() if following else len(line)].strip(" |｜【】[]")
        field_name = fields[match.group(1) or match.group(2)]
        if value or field_name not in found:
            found[field_name] = found.get(field_name) or value
    undated = "page_date" not in found and "issue_date" not in found
    if undated and (date := META_DATE.search(line)):
        found["page_date"] = date.group()  # a posting time standing among other fields (编辑：… 2023-12-04 …)
    return found


def record_metadata(result: CleaningResult, fields: dict[str, str]) -> None:
    """Keep the first page date, issue date, issuer and source that the page's metadata lines give."""
    for name, value in fields.items():
        value = _month(value) if name.endswith("_date") else value
        if name in METADATA_FIELDS and value and not result.page_fields.get(name):
            result.page_fields[name] = value
    result.page_date = result.page_fields.get("page_date", "")


def clean_document(raw: str, lexicon: Lexicon) -> CleaningResult:
    """Clean a raw page and return the text with an audit of removed characters and dropped lines."""
    result = CleaningResult(text="")
    lines = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cleaned = [clean_line(line, lexicon, result.removed_chars) for line in lines]
    result.excerpt = before_after(lines, cleaned, lexicon)
    content = [line for line in cleaned if line and not boilerplate_reason(line, lexicon)]
    repeated = running_headers(content)
    kept: list[str] = []
    seen: set[str] = set()
    links = False
    index = 0
    while index < len(cleaned):
        line = cleaned[index]
        if not line:
            index += 1
            continue
        reason = boilerplate_reason(line, lexicon) or ("running_header" if line in repeated else "")
        posted = POSTED.search(line)
        if posted:
            record_metadata(result, {"page_date": posted.group(2)})
        fields = metadata_fields(line, lexicon)
        if fields is not None and not any(fields.values()) and index + 1 < len(cleaned):
            value = cleaned[index + 1]
            if value and metadata_fields(value, lexicon) is None and len(value) <= 30 \
                    and not re.search("[。，；！？]", value):
                record_metadata(result, dict.fromkeys(fields, value))
                result.dropped_lines.append((index + 1, "metadata", line))
                result.dropped_lines.append((index + 2, "metadata", value))
                index += 2
                continue
        if fields is not None:
            record_metadata(result, fields)
            reason = "metadata"
        elif DATE_LINE.match(line):
            signed = CHINESE_DATE.match(line) and kept and SIGNATORY.match(kept[-1])
            record_metadata(result, {"issue_date" if signed else "page_date": line})
            reason = "metadata"
        if not reason and links and LINK_LINE.match(line) and not OUTLINE_NUMBER.match(line):
            reason = "related_links"
        links = reason == "related_links" and not re.search(r"[：:]\s*\S", line)
        if not reason and len(line) >= 20 and "|" not in line and re.search("[。！？]", line):
            if line in seen or any(line in other and len(line) >= DUPLICATE_SHARE * len(other)
                                   for other in content if other != line):
                reason = "duplicate"
        if reason:
            result.dropped_lines.append((index + 1, reason, line))
        else:
            kept.append(line)
            seen.add(line)
            if len(kept) == 1 and len(line) <= 60 and "。" not in line and "|" not in line:
                result.page_title = line
        index += 1
    kept, joined = join_wrapped_lines(kept)
    if joined:
        result.removed_chars["line breaks in sentences"] = joined
    result.text = "\n".join(kept) + "\n"
    return result


def running_headers(lines: list[str]) -> set[str]:
    """Short lines without a sentence that a document repeats RUNNING_REPEATS times or more: the running header of
    a printed document saved as text (…人民政府办公厅文件 on every page)."""
    counts: dict[str, int] = {}
    for line in lines:
        if len(line) <= RUNNING_MAX_CHARS and "|" not in line and not re.search("[。！？；，]", line):
            counts[line] = counts.get(line, 0) + 1
    return {line for line, count in counts.items() if count >= RUNNING_REPEATS}


def display_width(line: str) -> int:
    """Width of a line in columns (a wide CJK character, CJK punctuation and curly quotes count two)."""
    return sum(2 if unicodedata.east_asian_width(char) in "WFA" else 1 for char in line)


def join_wrapped_lines(lines: list[str]) -> tuple[list[str], int]:
    """Join lines that a printed document broke inside a sentence, and count the joins.

    A document is hard-wrapped when at least WRAP_SHARE of its longer lines are nearly as wide as the width that most
    of them reach (between WRAP_BAND of it and it) and most of those stop inside a sentence (a web page's paragraph
    lines end with one); then such a line that does not end a sentence runs on into the next, unless the next is
    numbered."""
    longer = [line for line in lines if len(line) >= WRAP_MIN_CHARS]
    if len(longer) < WRAP_MIN_LINES:
        return lines, 0
    widths = [display_width(line) for line in longer]
    full = max(set(widths), key=lambda width: (sum(WRAP_BAND * width <= other <= width + 2 for other in widths),
                                               -width))
    band = [line for line, width in zip(longer, widths, strict=True) if WRAP_BAND * full <= width <= full + 2]
    open_ended = sum(not SENTENCE_FINAL.search(line) for line in band)
    if len(band) < WRAP_SHARE * len(longer) or open_ended < WRAP_OPEN_SHARE * len(band):
        return lines, 0
    joined: list[str] = []
    count = 0
    last = ""  # the last line as printed, before any join
    for line in lines:
        if joined and WRAP_BAND * full <= display_width(last) <= full + 2 and not SENTENCE_FINAL.search(last) \
                and not OUTLINE_NUMBER.match(line) and "|" not in joined[-1] + line:
            joined[-1] += line
            count += 1
        else:
            joined.append(line)
        last = line
    return joined, count


def before_after(raw_lines: list[str], cleaned: list[str], lexicon: Lexicon,
                 width: int = 48) -> tuple[int, str, str]:
    """Pick the content line that cleaning changed most; return its number and raw and cleaned openings."""
    pairs = enumerate(zip(raw_lines, cleaned, strict=True), 1)
    changed = [(len(raw) - len(clean), number) for number, (raw, clean) in pairs
               if len(clean) >= 20 and not boilerplate_reason(clean, lexicon) and raw.strip() != clean
               and metadata_fields(clean, lexicon) is None]
    if not changed:
        return 0, "", ""
    number = max(changed)[1]
    raw = raw_lines[number - 1]
    balanced = [end for end in range(width, len(raw) + 1)
                if raw[:end].count("(") + raw[:end].count("（") == raw[:end].count(")") + raw[:end].count("）")]
    cut = next((end for end in balanced if len(clean_line(raw[:end], lexicon, {})) >= width), len(raw))
    return number, raw[:cut].strip(), clean_line(raw[:cut], lexicon, {})


def clean_text(raw: str, lexicon: Lexicon | None = None) -> str:
    """Return the cleaned, simplified text of a raw page, content line breaks kept."""
    return clean_document(raw, lexicon or default_lexicon()).text


def default_lexicon() -> Lexicon:
    """Return the lexicon of the project's data/lexicon folder."""
    from helpers.config import project_root

    return Lexicon(project_root() / "data" / "lexicon")


@dataclass
class CleanCorpus:
    """The cleaned texts of a corpus with the audit tables of the cleaning."""

    texts: dict[str, str]
    audit: pd.DataFrame
    dropped: pd.DataFrame
    meta: pd.DataFrame


def clean_in_worker(raw: str, folder: Path, versions: FileVersions) -> CleaningResult:
    """Clean a raw page in a worker process with that process's cached lexicon of the folder."""
    return clean_document(raw, cached_lexicon(folder, versions))


def clean_corpus(sources: dict[str, str], lexicon: Lexicon, n_jobs: int = 1, scheduler: str = "") -> CleanCorpus:
    """Clean every source (in n_jobs processes or on a Dask scheduler) and tabulate what was removed and dropped."""
    source_ids = sorted(sources)
    if runs_in_workers(n_jobs, scheduler):
        folder = lexicon.folder.absolute()
        clean = partial(clean_in_worker, folder=folder, versions=folder_versions(folder))
    else:
        clean = partial(clean_document, lexicon=lexicon)
    results = map_in_order(clean, [sources[source_id] for source_id in source_ids], n_jobs, scheduler, "cleaning")
    texts, audit, dropped, meta = {}, [], [], []
    for source_id, result in zip(source_ids, results, strict=True):
        texts[source_id] = result.text
        for rule, count in sorted(result.removed_chars.items()):
            if count:
                audit.append([source_id, rule, count, 0])
        reasons: dict[str, list[int]] = {}
        for line_no, reason, line in result.dropped_lines:
            dropped.append([source_id, line_no, reason, line])
            reasons.setdefault(reason, []).append(len(line))
        for reason, lengths in sorted(reasons.items()):
            audit.append([source_id, f"line: {reason}", sum(lengths), len(lengths)])
        meta.append([source_id, len(sources[source_id]), len(result.text.strip()), result.page_date,
                     result.page_title, *(result.page_fields.get(name, "") for name in METADATA_FIELDS[1:]),
                     *result.excerpt])
    return CleanCorpus(
        texts=texts,
        audit=pd.DataFrame(audit, columns=["source_id", "rule", "chars_removed", "lines_dropped"]),
        dropped=pd.DataFrame(dropped, columns=["source_id", "line_no", "reason", "text"]),
        meta=pd.DataFrame(meta, columns=["source_id", "raw_chars", "clean_chars", "page_date", "page_title",
                                         *(f"page_{name}" for name in METADATA_FIELDS[1:]),
                                         "excerpt_line", "excerpt_raw", "excerpt_clean"]),
    )
