"""Turn a source file (text, HTML page, PDF or Word file) into text, with what the extraction found and removed."""

from __future__ import annotations

import codecs
import copy
import io
import logging
import re
import statistics
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from helpers.config import ProjectError

# The formats read, by file suffix. A .txt file that holds an HTML page is read as HTML.
FORMATS = {".txt": "text", ".html": "html", ".htm": "html", ".pdf": "pdf", ".docx": "docx"}
DOCUMENT_SUFFIXES = {*FORMATS, ".doc"}  # .doc is a document too, refused with what to do
READ_AS = "documents are .txt, .html, .htm, .pdf or .docx (see data/raw/README.md)"
# The start of a page that is HTML: a doctype, or a root, head or body tag before any text.
HTML_START = re.compile(r"\A\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|title)\b",
                        re.IGNORECASE | re.DOTALL)
# A charset an HTML page declares in its first bytes (<meta charset=…> or http-equiv content-type).
DECLARED_CHARSET = re.compile(rb"<meta[^>]*?charset\s*=\s*[\"']?\s*([a-zA-Z0-9_.:-]+)", re.IGNORECASE)
# Browsers read every GB declaration as its superset GB18030, and Big5 as its Hong Kong extension.
CHARSET_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "big5": "big5hkscs"}
PDF_END = b"%%EOF"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# What a non-document file is, by its first bytes, and what to do with it.
OTHER_FILES = (
    (OLE_MAGIC, "is a Word 97-2003 (.doc) or other old Office file; open it in Word or LibreOffice and save it "
                "as .docx or PDF"),
    (b"{\\rtf", "is an RTF file; open it in Word or LibreOffice and save it as .docx or PDF"),
    (b"\x89PNG", "is a PNG image, not a document with text; run OCR on it and save the text as .txt"),
    (b"\xff\xd8\xff", "is a JPEG image, not a document with text; run OCR on it and save the text as .txt"),
    (b"GIF8", "is a GIF image, not a document with text; run OCR on it and save the text as .txt"),
)
DOC_ADVICE = ("is a Word 97-2003 .doc file, which is not read; "
              "open it in Word or LibreOffice and save it as .docx or PDF")
TABLE_ROW = re.compile(r"^\|(.*)\|\s*$")
TABLE_RULE = re.compile(r"^\|(\s*:?-{3,}:?\s*\|)+\s*$")
LIST_BULLET = re.compile(r"^- (?=\S)")
# A page number: — 3 —, - 3 -, 3, 第3页, 第 3 页 共 11 页, 3 / 11 (with the dashes and dots that frame them).
PAGE_NUMBER = re.compile(r"^[—–－\-·•\s]*(?:第\s*)?\d{1,4}\s*(?:页)?\s*(?:(?:/|／|共)\s*\d{1,4}\s*页?)?[—–－\-·•\s]*$")
EDGE_ROWS = 3  # rows at the top and at the bottom of a page that may be running headers, footers or page numbers
UNREADABLE_SHARE = 0.1  # above this share of glyphs without a Unicode mapping, a PDF's text layer is unreadable
# Dates from markup only (a free-text search takes target years such as 2035 for the date), no dependence on today.
DATE_PARAMS = {"original_date": True, "extensive_search": False, "max_date": "2099-12-31"}
# Standard meta names of Chinese government web pages, read where the extractor finds no title or site.
GOVERNMENT_META = {"title": "ArticleTitle", "site": "SiteName"}


@dataclass(frozen=True)
class Removal:
    """Text an extraction removed: what it was, how many characters and how many lines."""

    what: str
    chars: int
    lines: int = 0


@dataclass(frozen=True)
class Extraction:
    """The text of a source file with the metadata the file gives and what extracting the text removed."""

    text: str
    format: str
    encoding: str = ""
    title: str = ""
    date: str = ""
    site: str = ""
    pages: int = 0
    removed: tuple[Removal, ...] = ()
    joined_lines: int = 0
    empty_pages: tuple[int, ...] = ()

    def note(self) -> str:
        """One line saying what the extraction read and removed."""
        parts = [f"{self.pages} page{'s' if self.pages != 1 else ''}"] if self.format == "pdf" else []
        parts += [f"{item.what} {item.lines} line{'s' if item.lines != 1 else ''} ({item.chars} chars)"
                  if item.lines else f"{item.what} {item.chars} chars" for item in self.removed if item.chars]
        if self.joined_lines:
            parts.append(f"{self.joined_lines} line breaks inside sentences joined")
        if self.empty_pages:
            parts.append(f"no text on page{'s' if len(self.empty_pages) > 1 else ''} "
                         f"{', '.join(map(str, self.empty_pages))}")
        return f"{self.format}: {'; '.join(parts)}" if parts else self.format


def quiet_library_logs() -> None:
    """Keep the extraction libraries' warnings about odd files off the terminal (errors are raised here)."""
    for name in ("trafilatura", "htmldate", "courlan", "pdfminer", "docx"):
        logger = logging.getLogger(name)
        if not any(isinstance(handler, logging.NullHandler) for handler in logger.handlers):
            logger.addHandler(logging.NullHandler())


def read_document(path: Path) -> Extraction:
    """Read a source file as text, whatever its format; refuse with one actionable line what cannot be read."""
    data = path.read_bytes()
    if not data.strip():
        raise ProjectError(f"{path}: file is empty; remove it and its row in sources.csv, or replace it")
    suffix = path.suffix.lower()
    if suffix == ".doc":
        raise ProjectError(f"{path}: {DOC_ADVICE}")
    found = sniff(data)
    if suffix not in FORMATS:
        kind = f"a {suffix} file" if suffix else "a file without suffix"
        advice = mismatch(found, suffix) if found != "text" else f"{kind} is not a document format read here"
        raise ProjectError(f"{path}: {advice}; {READ_AS}")
    expected = FORMATS[suffix] if FORMATS[suffix] in ("pdf", "docx") else "text"
    if found != expected:
        raise ProjectError(f"{path}: {mismatch(found, suffix)}")
    quiet_library_logs()
    if found == "pdf":
        return read_pdf(data, path)
    if found == "docx":
        return read_docx(data, path)
    html = suffix in (".html", ".htm") or bool(HTML_START.match(data.removeprefix(codecs.BOM_UTF8)[:4096].decode(
        "latin-1")))
    text, encoding = decode_text(data, path, html)
    if html or HTML_START.match(text[:4096]):
        return read_html(text, encoding, path)
    return Extraction(text=text, format="text", encoding=encoding)


def sniff(data: bytes) -> str:
    """Tell a file's format by its first bytes: pdf, docx, another zip or binary format, or text."""
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except zipfile.BadZipFile:
            return "zip"
        if "word/document.xml" in names:
            return "docx"
        return "ofd" if "OFD.xml" in names else "zip"
    for magic, _ in OTHER_FILES:
        if data.startswith(magic):
            return magic.hex()
    return "text"


def mismatch(found: str, suffix: str) -> str:
    """What a file whose content is not what its suffix says really is, and what to do."""
    if found == "pdf":
        return "is a PDF, not text; rename it to .pdf and change its name in sources.csv"
    if found == "docx":
        return "is a Word .docx file; rename it to .docx and change its name in sources.csv"
    if found == "ofd":
        return "is an OFD document; open it in an OFD reader and save or print it as PDF"
    if found == "zip" and suffix == ".docx":
        return ("cannot be read as a Word .docx file (it is damaged or truncated); download it again or save it "
                "again from Word or LibreOffice")
    if found == "zip":
        return "is a ZIP archive, not a document; unpack it and add the documents it holds"
    for magic, advice in OTHER_FILES:
        if found == magic.hex():
            return advice
    what = {".pdf": "a PDF", ".docx": "a Word .docx file"}[suffix]
    return (f"is not {what} but text (perhaps an error page the site served instead); download it again, "
            "or rename it to .txt or .html if the text is the document")


def decode_text(data: bytes, path: Path, html: bool = False) -> tuple[str, str]:
    """Decode a text or HTML file, detecting its encoding; refuse binary data. Returns the text and the encoding."""
    from charset_normalizer import from_bytes

    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return refuse_binary(data.decode(encoding), path), encoding.replace("-sig", "")
    if b"\x00" in data:
        raise ProjectError(f"{path}: looks like a binary file, not text; save the page as UTF-8 text")
    declared = declared_charset(data) if html else ""
    if declared:
        try:
            return refuse_binary(data.decode(declared), path), declared
        except UnicodeDecodeError:
            pass
    try:
        return refuse_binary(data.decode("utf-8"), path), "utf-8"
    except UnicodeDecodeError:
        best = from_bytes(data).best()
        if best is None or best.encoding in ("utf_8", "ascii"):
            raise ProjectError(f"{path}: not text in any encoding we can tell; save it as UTF-8 text") from None
        return refuse_binary(str(best), path), codecs.lookup(best.encoding).name


def declared_charset(data: bytes) -> str:
    """The encoding an HTML page declares in its first 4 KB, as Python names it, or '' if none or unknown."""
    match = DECLARED_CHARSET.search(data[:4096])
    if not match:
        return ""
    name = match.group(1).decode("ascii").lower()
    try:
        return codecs.lookup(CHARSET_SUPERSETS.get(name, name)).name
    except LookupError:
        return ""


def refuse_binary(text: str, path: Path) -> str:
    """Return the text unless control characters (not spaces of any kind) make up more than a twentieth of it."""
    controls = sum(unicodedata.category(char) == "Cc" and char not in "\n\r\t\f\v" for char in text)
    if controls > len(text) / 20:
        raise ProjectError(f"{path}: looks like a binary file, not text; save the page as UTF-8 text")
    return text


def decode_document(data: bytes, path: Path) -> str:
    """Decode a text document's bytes, detecting the encoding; refuse PDFs and binary files with the reason."""
    found = sniff(data)
    if found != "text":
        raise ProjectError(f"{path}: {mismatch(found, '.txt')}")
    return decode_text(data, path)[0]


def read_raw(path: Path) -> str:
    """Read a source file and return its text (see read_document)."""
    return read_document(path).text


def read_html(page: str, encoding: str, path: Path) -> Extraction:
    """Extract the main text and the title, date and site of an HTML page; drop navigation, scripts and footers."""
    import lxml.html
    import trafilatura

    found = trafilatura.bare_extraction(
        page, output_format="python", with_metadata=True, include_tables=True, include_comments=False,
        include_images=False, include_links=False, include_formatting=False, deduplicate=False, favor_precision=True,
        date_extraction_params=dict(DATE_PARAMS),
    )
    if found is None or not (found.text or "").strip():
        raise ProjectError(f"{path}: no main text found in the HTML page; check the file is the page itself, "
                           "or save the page's text as .txt")
    tree = lxml.html.document_fromstring(page.encode("utf-8"), parser=lxml.html.HTMLParser(encoding="utf-8"))
    official = {key: (tree.xpath(f"string(//meta[@name='{name}']/@content)") or "").strip()
                for key, name in GOVERNMENT_META.items()}
    title = " ".join((found.title or official["title"]).split())
    lines = [markdown_to_line(line) for line in found.text.splitlines()]
    lines = [line for line in lines if line is not None]
    headings = {" ".join(heading.text_content().split()) for heading in tree.iter("h1", "h2", "h3")}
    if title in headings and not any(" ".join(line.split()) == title for line in lines[:3]):
        lines.insert(0, title)  # the extractor took the page's heading for metadata; it opens the text, as shown
    text = "\n".join(lines).strip() + "\n"
    visible = visible_text(tree)
    chrome = max(len(squeeze(visible)) - len(squeeze(text)), 0)
    markup = max(len(page) - len(text) - chrome, 0)
    return Extraction(text=text, format="html", encoding=encoding, title=title, date=found.date or "",
                      site=" ".join((found.sitename or official["site"]).split()),
                      removed=(Removal("markup, scripts and styles", markup), Removal("page chrome", chrome)))


def markdown_to_line(line: str) -> str | None:
    """A line of the extractor's text output in the corpus's plain form: table rows as 'cell | cell |', no bullets."""
    if TABLE_RULE.match(line):
        return None
    row = TABLE_ROW.match(line)
    if row:
        return table_line(row.group(1).split("|"))
    return LIST_BULLET.sub("", line)


def table_line(cells: list[str]) -> str | None:
    """A table row as the corpus writes it: its non-empty cells, each followed by ' |'; None for an empty row."""
    cells = [" ".join(cell.split()) for cell in cells if cell.strip()]
    return " | ".join(cells) + " |" if cells else None


def visible_text(tree) -> str:
    """The text a browser shows of a parsed page: the body without scripts, styles and templates."""
    from lxml import etree

    body = tree.find("body")
    if body is None:
        return ""
    body = copy.deepcopy(body)
    etree.strip_elements(body, "script", "style", "noscript", "template", etree.Comment, with_tail=False)
    return "".join(body.itertext())


def squeeze(text: str) -> str:
    """Text without any whitespace."""
    return "".join(text.split())


def read_docx(data: bytes, path: Path) -> Extraction:
    """Read a Word .docx file: paragraphs and table rows in reading order, and its title property."""
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as error:  # python-docx raises zip, XML and key errors on damaged files
        raise ProjectError(f"{path}: cannot be read as a Word .docx file ({type(error).__name__}); "
                           "save it again from Word or LibreOffice") from None
    lines = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            lines += [table_line(row_cells(row)) for row in block.rows]
        else:
            lines.append(block.text.strip())
    text = "\n".join(line for line in lines if line) + "\n"
    if not text.strip():
        raise ProjectError(f"{path}: the Word file holds no text (only images?); run OCR on it, or save its text as "
                           ".txt")
    return Extraction(text=text, format="docx", title=" ".join((document.core_properties.title or "").split()))


def row_cells(row) -> list[str]:
    """The texts of a table row's cells, a merged cell once."""
    cells, seen = [], set()
    for cell in row.cells:
        if id(cell._tc) not in seen:
            seen.add(id(cell._tc))
            cells.append(" ".join(cell.text.split()))
    return cells


@dataclass
class Row:
    """One row of text on a PDF page, in points from the page's top left corner."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float

    @property
    def key(self) -> str:
        """The row's text without spaces and with digits generalised, to recognise a running header."""
        return re.sub(r"\d+", "#", squeeze(self.text))


def read_pdf(data: bytes, path: Path) -> Extraction:
    """Read a PDF page by page; drop running headers, footers and page numbers; join lines broken in sentences."""
    if PDF_END not in data[-2048:]:
        raise ProjectError(f"{path}: the PDF is truncated (it has no end-of-file marker); download it again")
    pages, title, unreadable, glyphs = pdf_rows(data, path)
    if glyphs and unreadable > glyphs * UNREADABLE_SHARE:
        raise ProjectError(f"{path}: the PDF's fonts map {unreadable} of {glyphs} glyphs to no character, so its "
                           "text cannot be read; OCR is needed: run OCR on it and add the result")
    chrome = running_chrome(pages)
    removed: dict[str, list[int]] = {"running header or footer": [], "page number": []}
    body: list[list[Row]] = []
    for number, rows in enumerate(pages):
        kept = []
        for index, row in enumerate(rows):
            edge = index < 2 or index >= len(rows) - 2
            if (number, index) in chrome or edge and PAGE_NUMBER.match(row.text):
                removed["page number" if PAGE_NUMBER.match(row.text) else "running header or footer"].append(
                    len(squeeze(row.text)))
            else:
                kept.append(row)
        body.append(kept)
    paragraphs, joined = reflow(body)
    text = "\n".join(paragraphs).strip()
    if not text:
        raise ProjectError(f"{path}: the PDF has no text layer (a scan?); OCR is needed: run OCR on it and add the "
                           "searchable PDF or its text instead")
    return Extraction(text=text + "\n", format="pdf", title=title, pages=len(pages), joined_lines=joined,
                      removed=tuple(Removal(what, sum(sizes), len(sizes)) for what, sizes in removed.items()),
                      empty_pages=tuple(number + 1 for number, rows in enumerate(body) if not rows))


def pdf_rows(data: bytes, path: Path) -> tuple[list[list[Row]], str, int, int]:
    """The rows of text of every page, the title property, and the glyphs without and with a Unicode mapping."""
    from pdfminer.layout import LAParams, LTChar
    from pdfminer.pdfdocument import PDFPasswordIncorrect

    try:
        pages, title, unreadable, glyphs = [], "", 0, 0
        for layout, info in pdf_layouts(data, LAParams(all_texts=True)):
            lines = list(text_lines(layout))
            chars = [char.get_text() for line in lines for char in line if isinstance(char, LTChar)]
            glyphs += len(chars)
            unreadable += sum(map(is_unmapped, chars))
            pages.append(page_rows(lines, layout.height))
            title = title or info
    except PDFPasswordIncorrect:
        raise ProjectError(f"{path}: the PDF is password-protected; save an unprotected copy") from None
    except Exception as error:  # pdfminer raises syntax, type, key and value errors on damaged files
        raise ProjectError(f"{path}: cannot be read as a PDF ({type(error).__name__}); it may be damaged or "
                           "truncated: download it again") from None
    return pages, title, unreadable, glyphs


def pdf_layouts(data: bytes, laparams) -> Iterator[tuple[object, str]]:
    """Lay out every page of a PDF with pdfminer; yield each page's layout and the document's title property."""
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser

    document = PDFDocument(PDFParser(io.BytesIO(data)))
    title = pdf_title(document)
    manager = PDFResourceManager()
    device = PDFPageAggregator(manager, laparams=laparams)
    interpreter = PDFPageInterpreter(manager, device)
    for page in PDFPage.create_pages(document):
        interpreter.process_page(page)
        yield device.get_result(), title


def pdf_title(document) -> str:
    """The title in a PDF's document information, unless it is empty or a file name."""
    from pdfminer.pdftypes import resolve1
    from pdfminer.utils import decode_text as decode_pdf_text

    for info in document.info:
        value = resolve1(info.get("Title", b""))
        title = decode_pdf_text(value) if isinstance(value, bytes) else str(value)
        title = " ".join(title.replace("\x00", "").split())
        if title and not re.search(r"\.(docx?|wps|pdf|txt)$|^Microsoft Word", title, re.IGNORECASE):
            return title
    return ""


def text_lines(layout) -> Iterator:
    """Every horizontal text line of a page layout, inside boxes and figures too."""
    from pdfminer.layout import LTContainer, LTTextLineHorizontal

    for item in layout:
        if isinstance(item, LTTextLineHorizontal):
            yield item
        elif isinstance(item, LTContainer):
            yield from text_lines(item)


def is_unmapped(text: str) -> bool:
    """Whether a glyph's text shows it has no Unicode mapping: (cid:123) or a private-use character."""
    return text.startswith("(cid:") or any(unicodedata.category(char) == "Co" for char in text)


def is_wide(char: str) -> bool:
    """Whether a character is a Chinese character or punctuation, around which no space belongs."""
    return unicodedata.east_asian_width(char) in "WF" or char in "“”‘’…—·"


def line_text(line) -> str:
    """A text line's characters; the spaces the layout analysis adds stay only between two non-Chinese ones."""
    from pdfminer.layout import LTChar

    items = list(line)
    text = []
    for index, item in enumerate(items):
        char = item.get_text()
        if isinstance(item, LTChar):
            text.append(char)
        elif char == " ":
            after = next((other.get_text() for other in items[index + 1:] if isinstance(other, LTChar)), "")
            if text and after and not is_wide(text[-1][-1]) and not is_wide(after[0]):
                text.append(" ")
    return "".join(text)


def page_rows(lines: list, height: float) -> list[Row]:
    """Group a page's text lines into rows (lines side by side join with a space), top to bottom."""
    from pdfminer.layout import LTChar

    items = []
    for line in lines:
        text = line_text(line).strip()
        if text:
            sizes = [char.size for char in line if isinstance(char, LTChar)]
            items.append(Row(text, line.x0, line.x1, height - line.y1, height - line.y0, statistics.median(sizes)))
    items.sort(key=lambda row: (round(row.top + row.bottom), row.x0))
    rows: list[Row] = []
    for item in items:
        last = rows[-1] if rows else None
        if last and abs((item.top + item.bottom) - (last.top + last.bottom)) / 2 < min(item.size, last.size) / 2:
            rows[-1] = Row(f"{last.text} {item.text}", min(last.x0, item.x0), max(last.x1, item.x1),
                           min(last.top, item.top), max(last.bottom, item.bottom), max(last.size, item.size))
        else:
            rows.append(item)
    return rows


def running_chrome(pages: list[list[Row]]) -> set[tuple[int, int]]:
    """The (page, row) of every running header or footer: a top or bottom row repeated at the same height on at
    least two pages and at least two fifths of them (digits may differ: page numbers, dates)."""
    by_key: dict[str, list[tuple[int, int, Row]]] = {}
    for number, rows in enumerate(pages):
        for index, row in enumerate(rows):
            if index < EDGE_ROWS or index >= len(rows) - EDGE_ROWS:
                by_key.setdefault(row.key, []).append((number, index, row))
    needed = max(2, -(-2 * len(pages) // 5))
    chrome = set()
    for candidates in by_key.values():
        for number, index, row in candidates:
            pages_with = {other for other, _, same in candidates if abs(same.top - row.top) <= max(row.size, 6)}
            if len(pages_with) >= needed:
                chrome.add((number, index))
    return chrome


def reflow(pages: list[list[Row]]) -> tuple[list[str], int]:
    """Join the rows of text into paragraphs: a row that reaches the right margin continues on the next row when
    that starts at the left margin in the same type size (on the same page, with no wider gap than between lines);
    the rows of a centred heading in a larger type join too."""
    paragraphs: list[str] = []
    joined = 0
    previous: Row | None = None
    sizes = Counter(round(row.size) for rows in pages for row in rows)
    body_size = min(sizes, key=lambda size: (-sizes[size], size)) if sizes else 0
    sides = [margins([row for rows in pages[parity::2] for row in rows]) for parity in (0, 1)]  # facing pages
    for number, rows in enumerate(pages):
        layout = Layout(*sides[number % 2], line_gap(rows), body_size)
        for index, row in enumerate(rows):
            if previous is not None and continues(previous, row, layout if index else layout.next_page()):
                paragraphs[-1] = join_lines(paragraphs[-1], row.text)
                joined += 1
            else:
                paragraphs.append(row.text)
            previous = row
    return paragraphs, joined


@dataclass(frozen=True)
class Layout:
    """Where the text of a page runs: its margins, the usual gap between lines and the body's type size."""

    left: float
    right: float
    gap: float | None
    body_size: float

    def next_page(self) -> Layout:
        """The layout for a row that opens a page: no gap to compare with the row ending the page before."""
        return Layout(self.left, self.right, None, self.body_size)

    def centred(self, row: Row) -> bool:
        """Whether a row is centred between the margins."""
        return abs((row.x0 + row.x1) - (self.left + self.right)) / 2 < row.size

def margins(rows: list[Row]) -> tuple[float, float]:
    """The left and right margins of the text: where most rows start, and where the full rows end."""
    if not rows:
        return 0.0, 0.0
    starts = sorted(row.x0 for row in rows)
    ends = sorted(row.x1 for row in rows)
    return starts[len(starts) // 10], ends[(len(ends) * 9) // 10]


def line_gap(rows: list[Row]) -> float | None:
    """The usual vertical space between consecutive rows of a page, or None with too few rows to tell."""
    gaps = [below.top - above.bottom for above, below in zip(rows, rows[1:], strict=False)]
    return statistics.median(gaps) if len(gaps) >= 3 else None


def continues(above: Row, below: Row, layout: Layout) -> bool:
    """Whether the row below continues the sentence (or centred heading) of the row above."""
    size = max(above.size, below.size)
    if abs(above.size - below.size) > 0.15 * size:
        return False
    if layout.gap is not None and below.top - above.bottom > max(1.6 * layout.gap, layout.gap + 0.5 * size):
        return False
    if below.x0 <= layout.left + 0.6 * below.size:
        return above.x1 >= layout.right - 1.2 * above.size
    return size > 1.15 * layout.body_size and layout.centred(above) and layout.centred(below)


def join_lines(text: str, following: str) -> str:
    """Join a line broken inside a sentence: no space between Chinese text, one between words of other scripts."""
    last, first = text[-1], following[0]
    if is_wide(last) or is_wide(first) or re.search(r"(https?://|www\.)\S*$", text):
        return text + following
    if last == "-" and text[-2:-1].isalpha() and first.islower():
        return text[:-1] + following
    return f"{text} {following}"


def read_documents(raw_dir: Path, manifest: pd.DataFrame) -> dict[str, Extraction]:
    """Read every source the manifest lists, keyed by source_id."""
    return {row.source_id: read_document(raw_dir / row.file) for row in manifest.itertuples()}


def document_table(manifest: pd.DataFrame, documents: dict[str, Extraction]) -> pd.DataFrame:
    """Per source: format, encoding, title, date and site (the manifest's, else what the file gives, named in
    `inferred`) and a note of what extraction removed."""
    records = []
    for row in manifest.itertuples():
        document = documents[row.source_id]
        values, inferred = {}, []
        for column in ("title", "date", "site"):
            given, found = getattr(row, column), getattr(document, column)
            values[column] = given or found
            if not given and found:
                inferred.append(column)
        records.append([row.source_id, document.format, document.encoding, *values.values(), " ".join(inferred),
                        document.note()])
    return pd.DataFrame(records, columns=["source_id", "format", "encoding", "title", "date", "site", "inferred",
                                          "extraction"])


def extraction_audit(documents: dict[str, Extraction]) -> pd.DataFrame:
    """Rows of the cleaning audit for what extraction removed: characters and lines per source and kind."""
    records = []
    for source_id, document in sorted(documents.items()):
        for item in document.removed:
            if item.chars:
                records.append([source_id, f"extraction: {item.what}", item.chars, item.lines])
        if document.joined_lines:
            records.append([source_id, "extraction: line breaks in sentences", document.joined_lines, 0])
    return pd.DataFrame(records, columns=["source_id", "rule", "chars_removed", "lines_dropped"])
