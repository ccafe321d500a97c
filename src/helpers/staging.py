"""Stage the executed report for rendering: one folder that Quarto and the fallback renderer read alike.

The folder holds the notebook with its front matter merged with the report's format file (report/format.yml)
and every table caption carrying content-based column widths (Quarto's `tbl-colwidths`), the figures, the style
sheets, the Typst header and the font faces (regular, bold, italic) named in the format file.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import nbformat
import pypandoc
import yaml
from fontTools.ttLib import TTFont

from helpers.config import ProjectError, project_root
from helpers.fonts import QUOTES, Face, face_font, report_faces

FORMAT_FILE = Path("report") / "format.yml"
STAGE_FOLDER = "render"
FONT_CSS = "cjk-font.css"
DEFAULT_FAMILY = "Noto Sans SC"
# Width available to a table in em of its type, in the narrower of the two outputs (PDF: A4 less 4.4 cm of
# margins at 8.4 pt, 56 em; HTML: a text column of 829-833 px at 0.9 x 17 px, 54 em), and the horizontal
# padding of a cell in the roomier of them (PDF 8 pt = 0.95 em, HTML 1.0-1.1 em).
TABLE_WIDTH_EM = 54.0
CELL_PADDING_EM = 1.2
WIDE_CHAR_EM, NARROW_CHAR_EM = 1.0, 0.6
COLWIDTHS = "tbl-colwidths"
PIPE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
CAPTION_START = re.compile(r"^(?:Table)?:\s", re.IGNORECASE)
ATTRIBUTES_AT_END = re.compile(r"\{([^{}]*)\}\s*$")


@dataclass
class Stage:
    """The staged report: its folder, notebook, merged front matter, body markdown and table widths."""

    folder: Path
    notebook: Path
    meta: dict[str, Any]
    markdown: str
    table_widths: list[str] = field(default_factory=list)


# --- the format file and the front matter --------------------------------------------------------------------


def format_settings(root: Path | None = None) -> dict[str, Any]:
    """Return the report's format settings (report/format.yml), which both renderers read."""
    path = (root or project_root()) / FORMAT_FILE
    try:
        settings = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as error:
        raise ProjectError(f"{path}: the report's format file is missing") from error
    except yaml.YAMLError as error:
        raise ProjectError(f"{path}: not valid YAML") from error
    if not isinstance(settings, dict) or not isinstance(settings.get("format"), dict):
        raise ProjectError(f"{path}: must hold a `format:` mapping with html and typst options")
    return settings


def merge_front_matter(meta: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """Return the notebook's front matter with the format settings merged in (the settings win, key by key)."""
    merged = copy.deepcopy(meta)
    _merge(merged, settings)
    return merged


def _merge(target: dict[str, Any], source: dict[str, Any]) -> None:
    """Merge `source` into `target` recursively; values of `source` replace those of `target`."""
    for key, value in source.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def format_options(meta: dict[str, Any], name: str) -> dict[str, Any]:
    """Return the front matter's options for one output format (format: {name: {...}})."""
    formats = meta.get("format") or {}
    options = formats.get(name) if isinstance(formats, dict) else None
    return options if isinstance(options, dict) else {}


def listed(value: Any) -> list[str]:
    """Return an option that takes one value or a list as a list of strings."""
    return [str(item) for item in value] if isinstance(value, list) else [str(value)] if value else []


def family_of(meta: dict[str, Any]) -> str:
    """Return the family name of the report's fonts (the Typst format's mainfont)."""
    return str(format_options(meta, "typst").get("mainfont") or DEFAULT_FAMILY)


# --- reading the notebook ----------------------------------------------------------------------------------


def read_executed(notebook: Path) -> nbformat.NotebookNode:
    """Read an executed notebook, with a one-line error for an unreadable file."""
    try:
        return nbformat.read(notebook, as_version=4)
    except Exception as error:  # nbformat raises several unrelated types for unreadable files
        raise ProjectError(f"{notebook}: not a readable notebook ({error.__class__.__name__})") from error


def front_matter(nb: nbformat.NotebookNode, notebook: Path) -> dict[str, Any]:
    """Return the YAML front matter of a notebook's first cell (empty when it has none)."""
    if nb.cells and _is_front_matter(nb.cells[0]):
        return parse_front_matter(nb.cells[0].source.strip(), notebook)
    return {}


def _is_front_matter(cell: nbformat.NotebookNode) -> bool:
    """Tell whether a cell is a front-matter cell (raw or markdown, starting with ---)."""
    return cell.cell_type in ("raw", "markdown") and cell.source.strip().startswith("---")


def parse_front_matter(text: str, notebook: Path) -> dict[str, Any]:
    """Parse YAML front matter written between `---` lines."""
    body = re.sub(r"^---\s*\n|\n---\s*$", "", text.strip())
    try:
        meta = yaml.safe_load(body) or {}
    except yaml.YAMLError as error:
        raise ProjectError(f"{notebook}: the front matter of the first cell is not valid YAML") from error
    if not isinstance(meta, dict):
        raise ProjectError(f"{notebook}: the front matter of the first cell must hold name: value pairs")
    return meta


def markdown_slots(nb: nbformat.NotebookNode) -> Iterator[tuple[dict, str]]:
    """Yield every markdown text of the report body in order: (holder, key) of markdown cells and the
    text/markdown outputs of code cells (other output types are not part of the report)."""
    for index, cell in enumerate(nb.cells):
        if index == 0 and _is_front_matter(cell):
            continue
        if cell.cell_type == "markdown":
            yield cell, "source"
        elif cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") in ("display_data", "execute_result") and output.get(
                        "data", {}).get("text/markdown"):
                    yield output["data"], "text/markdown"


def slot_text(holder: dict, key: str) -> str:
    """Return the markdown text in a notebook slot, stripped."""
    text = holder[key]
    return ("".join(text) if isinstance(text, list) else text).strip()


# --- staging ---------------------------------------------------------------------------------------------------


def stage_report(notebook: Path, root: Path | None = None) -> Stage:
    """Write the staged notebook (front matter merged with the format file, table widths in the captions) into
    a fresh staging folder next to the executed notebook and return the stage."""
    nb = read_executed(notebook)
    meta = merge_front_matter(front_matter(nb, notebook), format_settings(root))
    slots = [(holder, key) for holder, key in markdown_slots(nb) if slot_text(holder, key)]
    texts = [slot_text(holder, key) for holder, key in slots]
    annotated, widths = annotate_tables(texts, notebook.parent)
    for (holder, key), text in zip(slots, annotated, strict=True):
        holder[key] = text
    header = nbformat.v4.new_raw_cell("---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) + "---")
    if nb.cells and _is_front_matter(nb.cells[0]):
        nb.cells[0] = header
    else:
        nb.cells.insert(0, header)
    folder = notebook.parent / STAGE_FOLDER
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    staged = folder / notebook.name
    nbformat.write(nb, staged)
    return Stage(folder, staged, meta, "\n\n".join(annotated) + "\n", widths)


def copy_images(urls: list[str], source: Path, folder: Path) -> None:
    """Copy the report's local images (paths relative to the notebook) into the staging folder."""
    for url in urls:
        if not url.startswith("data:"):
            target = folder / url
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / url, target)


def write_assets(folder: Path, meta: dict[str, Any], chars: str, root: Path | None = None) -> None:
    """Write what the renderers read next to the staged notebook: the style sheets and Typst header files the
    format names, the font faces for Typst (font-paths) and their @font-face rules for the HTML."""
    report = (root or project_root()) / "report"
    html, typst = format_options(meta, "html"), format_options(meta, "typst")
    for name in [*listed(html.get("css")), *listed(typst.get("include-in-header"))]:
        if name != FONT_CSS:
            if not (report / name).is_file():
                raise ProjectError(f"{report / name}: named in {FORMAT_FILE} but missing")
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(report / name, folder / name)
    font_dir = folder / (listed(typst.get("font-paths")) or ["fonts"])[0]
    font_dir.mkdir(parents=True, exist_ok=True)
    family, rules = family_of(meta), []
    for face in report_faces():
        font = face_font(face, family, chars)
        suffix = ".otf" if "CFF " in font else ".ttf"
        font.save(font_dir / f"{font['name'].getDebugName(6)}{suffix}")
        rules.append(font_face_rule(font, family, face))
    (folder / FONT_CSS).write_text("".join(rules), encoding="utf-8")


def font_face_rule(font: TTFont, family: str, face: Face) -> str:
    """Return an @font-face rule embedding a face as base64 WOFF2 (a Latin-only face limited to its characters)."""
    buffer = io.BytesIO()
    font.flavor = "woff2"
    font.save(buffer)
    font.flavor = None
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    limits = ""
    if not any(unicodedata.east_asian_width(chr(code)) in "WF" for code in font.getBestCmap()):
        limits = f"  unicode-range: {unicode_ranges(sorted(font.getBestCmap()))};\n"
    return (f'@font-face {{\n  font-family: "{family}";\n  font-style: {"italic" if face.italic else "normal"};\n'
            f"  font-weight: {face.weight};\n  font-display: block;\n{limits}"
            f'  src: url("data:font/woff2;base64,{data}") format("woff2");\n}}\n')


def unicode_ranges(codes: list[int]) -> str:
    """Return CSS unicode-range values covering exactly the given code points."""
    spans: list[list[int]] = []
    for code in codes:
        if spans and code == spans[-1][1] + 1:
            spans[-1][1] = code
        else:
            spans.append([code, code])
    return ", ".join(f"U+{low:X}" if low == high else f"U+{low:X}-{high:X}" for low, high in spans)


# --- tables: column widths from content, carried by the captions --------------------------------------------


def annotate_tables(texts: list[str], folder: Path) -> tuple[list[str], list[str]]:
    """Give every pipe table in the markdown texts a `tbl-colwidths` caption attribute: integer percentages
    from its content when it is too wide for the page, "false" (widths from content, as browsers and Typst size
    them) when it fits. Return the texts and the attribute values in document order."""
    marked = "\n\n".join(f"<!-- report-slot {index} -->\n\n{text}" for index, text in enumerate(texts))
    tables: list[list[dict]] = [[] for _ in texts]
    slot = -1
    for block in json.loads(pandoc(["--from", "markdown", "--to", "json"], marked, folder))["blocks"]:
        if block["t"] == "RawBlock" and (found := re.match(r"<!-- report-slot (\d+) -->", block["c"][1])):
            slot = int(found.group(1))
        elif slot >= 0:
            tables[slot].extend(element for element in elements(block) if element["t"] == "Table")
    annotated, values = [], []
    for text, found in zip(texts, tables, strict=True):
        widths = [colwidths_value(table) for table in found]
        annotated.append(_annotate_text(text, widths) if widths else text)
        values += widths
    return annotated, values


def colwidths_value(table: dict) -> str:
    """Return a table's `tbl-colwidths` value: "[p1, p2, ...]" (percent, summing to 100) or "false"."""
    widths = column_widths(table)
    return "[" + ",".join(map(str, widths)) + "]" if widths else "false"


def _annotate_text(text: str, widths: list[str]) -> str:
    """Write `tbl-colwidths` into the caption of each pipe table of a markdown text, in order."""
    lines = text.split("\n")
    spans = list(_pipe_tables(lines))
    if len(spans) != len(widths):
        raise ProjectError(f"a markdown text of the report holds {len(widths)} table(s) but {len(spans)} pipe "
                           f"table(s) were found; write tables as pipe tables: {text[:80]!r}")
    for (start, end), value in reversed(list(zip(spans, widths, strict=True))):
        caption = _caption_line(lines, start, end)
        attribute = f'{COLWIDTHS}="{value}"'
        if caption is None:
            lines[end:end] = ["", f": {{{attribute}}}"]
            continue
        line = re.sub(r'\s*tbl-colwidths="[^"]*"', "", lines[caption])
        found = ATTRIBUTES_AT_END.search(line)
        lines[caption] = (line[:found.end(1)] + f" {attribute}" + line[found.end(1):] if found
                          else f"{line.rstrip()} {{{attribute}}}")
    return "\n".join(lines)


def _pipe_tables(lines: list[str]) -> Iterator[tuple[int, int]]:
    """Yield (first line, line after the last) of each pipe table: a header row, a separator row, body rows
    (outside fenced code blocks)."""
    index, fence = 0, ""
    while index < len(lines):
        marker = re.match(r"^\s*(`{3,}|~{3,})", lines[index])
        if marker and (not fence or marker.group(1).startswith(fence)):
            fence = "" if fence else marker.group(1)
            index += 1
        elif fence:
            index += 1
        elif lines[index].lstrip().startswith("|") and index + 1 < len(lines) and PIPE_SEPARATOR.match(
                lines[index + 1]):
            end = index + 2
            while end < len(lines) and lines[end].lstrip().startswith("|"):
                end += 1
            yield index, end
            index = end
        else:
            index += 1


def _caption_line(lines: list[str], start: int, end: int) -> int | None:
    """Return the index of the last line of a table's caption paragraph (after or before the table), or None."""
    after = end + 1 if end < len(lines) and not lines[end].strip() else end
    if after < len(lines) and CAPTION_START.match(lines[after]):
        while after + 1 < len(lines) and lines[after + 1].strip():
            after += 1
        return after
    before = start - 2 if start >= 2 and not lines[start - 1].strip() else start - 1
    if before >= 0 and lines[before].strip():
        first = before
        while first > 0 and lines[first - 1].strip():
            first -= 1
        if CAPTION_START.match(lines[first]):
            return before
    return None


def column_widths(table: dict) -> list[int] | None:
    """Return integer column percentages for a table too wide for the page, each column at least as wide as its
    longest unbreakable piece and the rest shared by content, as browsers do; None when the table fits."""
    columns = len(table["c"][2])
    longest, shortest = [CELL_PADDING_EM] * columns, [CELL_PADDING_EM] * columns
    _, _, _, head, bodies, foot = table["c"]
    rows = [(row, True) for row in head[1]] + [(row, False) for body in bodies for row in body[2] + body[3]]
    for (_, cells), bold in rows + [(row, False) for row in foot[1]]:
        for index, cell in enumerate(cells[:columns]):
            text = plain_text(cell[4])
            longest[index] = max(longest[index], CELL_PADDING_EM + text_width(text, bold))
            shortest[index] = max(shortest[index], CELL_PADDING_EM + max(
                (text_width(piece, bold) for piece in unbreakable(text)), default=0))
    if sum(longest) <= TABLE_WIDTH_EM:
        return None
    spare = max(0.0, TABLE_WIDTH_EM - sum(shortest)) / (sum(longest) - sum(shortest) or 1)
    widths = [low + (high - low) * min(1.0, spare) for low, high in zip(shortest, longest, strict=True)]
    return percentages([width / sum(widths) for width in widths],
                       [low / max(TABLE_WIDTH_EM, sum(shortest)) for low in shortest])


def percentages(shares: list[float], minimums: list[float]) -> list[int]:
    """Round shares of 1 to integer percentages summing to 100, none below its minimum share when possible."""
    floors = [min(99, -int(-minimum * 100 // 1)) for minimum in minimums]
    result = [max(floor, int(share * 100)) for share, floor in zip(shares, floors, strict=True)]
    while sum(result) != 100:
        if sum(result) < 100:
            index = max(range(len(result)), key=lambda i: shares[i] * 100 - result[i])
            result[index] += 1
        else:
            slack = [i for i in range(len(result)) if result[i] > max(1, floors[i])] or [
                i for i in range(len(result)) if result[i] > 1]
            index = min(slack, key=lambda i: shares[i] * 100 - result[i])
            result[index] -= 1
    return result


def text_width(text: str, bold: bool = False) -> float:
    """Return the width of a text in em, from the advance widths of the report's regular or bold face."""
    advances = _advances(1 if bold else 0)
    return sum(advances.get(ord(char)) or (WIDE_CHAR_EM if unicodedata.east_asian_width(char) in "WF"
                                          else NARROW_CHAR_EM) for char in text)


@cache
def _advances(index: int) -> dict[int, float]:
    """Return the advance widths in em of a face's characters (curly quotes in their proportional forms)."""
    face = report_faces()[index]
    font = TTFont(face.path, fontNumber=face.number, lazy=True)
    em, metrics = font["head"].unitsPerEm, font["hmtx"]
    advances = {code: metrics[glyph][0] / em for code, glyph in font.getBestCmap().items()}
    return advances | {ord(quote): min(advances.get(ord(quote), NARROW_CHAR_EM), NARROW_CHAR_EM) for quote in QUOTES}


def unbreakable(text: str) -> list[str]:
    """Return the pieces of a text that a line cannot break inside: words (a hyphen before a letter allows a
    break; dates, URLs and snake_case names do not), while CJK text breaks between any two characters."""
    return [piece for piece in re.split(r"\s+|(?<=-)(?=[A-Za-z])|(?<=[\u2e80-\uffef])|(?=[\u2e80-\uffef])", text)
            if piece]


def apply_colwidths(ast: dict) -> None:
    """Apply the `tbl-colwidths` attributes as Quarto does: percentages become column widths, "false" makes
    every column sized by its content; the attribute itself is removed."""
    for element in elements(ast["blocks"]):
        if element["t"] != "Table":
            continue
        attributes = element["c"][0][2]
        value = dict(attributes).get(COLWIDTHS)
        if value is None:
            continue
        attributes[:] = [pair for pair in attributes if pair[0] != COLWIDTHS]
        specs = element["c"][2]
        if value == "false":
            for spec in specs:
                spec[1] = {"t": "ColWidthDefault"}
            continue
        widths = json.loads(value)
        for index, spec in enumerate(specs):
            spec[1] = {"t": "ColWidth", "c": widths[min(index, len(widths) - 1)] / 100}


def table_colwidths(ast: dict) -> list[str]:
    """Return the `tbl-colwidths` attribute of every table of a pandoc tree, in order ("" where absent)."""
    return [dict(element["c"][0][2]).get(COLWIDTHS, "") for element in elements(ast["blocks"])
            if element["t"] == "Table"]


# --- pandoc ------------------------------------------------------------------------------------------------


def pandoc(args: list[str], text: str, folder: Path) -> str:
    """Run the pandoc of the pypandoc wheel on `text` in `folder` and return its output."""
    result = subprocess.run([pypandoc.get_pandoc_path(), *args], input=text.encode("utf-8"), cwd=folder,
                            capture_output=True, check=False)
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines() or ["no message"]
        raise ProjectError(f"pandoc failed ({' '.join(args[:4])}): {message[-1]}")
    return result.stdout.decode("utf-8")


def elements(node: Any) -> Iterator[dict]:
    """Yield every element of a pandoc JSON tree in document order."""
    if isinstance(node, dict):
        if "t" in node:
            yield node
        for value in node.values():
            yield from elements(value)
    elif isinstance(node, list):
        for item in node:
            yield from elements(item)


def plain_text(node: Any) -> str:
    """Return the text of a pandoc JSON tree, spaces for breaks."""
    pieces = []
    for element in elements(node):
        if element["t"] in ("Str", "Code", "Math", "RawInline"):
            pieces.append(element["c"] if element["t"] == "Str" else element["c"][1])
        elif element["t"] in ("Space", "SoftBreak", "LineBreak"):
            pieces.append(" ")
    return "".join(pieces)
