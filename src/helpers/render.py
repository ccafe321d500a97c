"""Render the executed report notebook to HTML and PDF, with Quarto or with a pandoc + Typst fallback."""

from __future__ import annotations

import html as html_lib
import importlib.metadata
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pypandoc
import typst
import yaml

from helpers.config import ProjectError
from helpers.staging import (
    FONT_CSS,
    Stage,
    apply_colwidths,
    copy_images,
    family_of,
    format_options,
    listed,
    stage_report,
    table_colwidths,
    write_assets,
)
from helpers.staging import elements as _elements
from helpers.staging import pandoc as _pandoc

RENDERERS = ("auto", "quarto", "fallback")
# The numbered kinds of cross-reference targets and the word a reference to each is printed with; references
# with any of Quarto's reserved prefixes must resolve.
XREF_KINDS = {"fig": "Figure", "tbl": "Table", "sec": "Section"}
RESERVED_PREFIXES = {"fig", "tbl", "sec", "eq", "lst"}
NBSP = "\u00a0"
QUOTES = "‘’“”"
# Characters pandoc and Typst may add to the text (smart punctuation, the minus sign Typst sets for a hyphen
# before a digit, non-breaking spaces in references).
EXTRA_CHARS = QUOTES + "–—…−" + NBSP
# A figure is at most this tall relative to the text width in the PDF; taller figures are drawn narrower.
MAX_FIGURE_HEIGHT = 1.15
DOCUMENT_KEYS = ("title", "subtitle", "author", "date", "abstract", "lang")
# The class of the fallback HTML's <body>: the style sheet caps the text width only there, since Quarto lays
# out its own page grid (sidebar, body and margin columns) inside <body>.
PAGE_CLASS = "report-page"

TYPST_TEMPLATE = r"""// Page, type and float styles of the report's PDF made by the fallback renderer. The styles it
// shares with Quarto's PDF (tables, captions, links) come from the format's include-in-header files, below.
#set document(title: [$title$], date: none)
#set page(
  paper: "$if(papersize)$$papersize$$else$a4$endif$",
  margin: ($if(margin)$$margin$$else$x: 2.2cm, y: 2.4cm$endif$),
  numbering: "1",
  number-align: center + bottom,
)
#set text(font: ($fonts$), size: $fontsize$, lang: "$if(lang)$$lang$$else$en$endif$")
#set par(justify: true, leading: 0.72em, spacing: 1.15em)
$if(section-numbering)$
#set heading(numbering: "$section-numbering$")
$endif$
#show heading: set block(above: 1.5em, below: 0.85em)
#show heading.where(level: 1): set text(size: 1.3em)
#show heading.where(level: 2): set text(size: 1.1em)
#show outline.entry.where(level: 1): set block(above: 0.9em)
// Captions are numbered by the renderer, so Typst must not number them again.
#set figure(numbering: none, gap: 0.7em)
#show figure.where(kind: table): set figure.caption(position: top)
$for(header-includes)$
$header-includes$
$endfor$

#align(center)[
  #block(below: 0.9em, text(size: 1.55em, weight: "bold", hyphenate: false)[$title$])
$if(subtitle)$
  #block(below: 0.9em, text(size: 1.12em, fill: luma(70))[$subtitle$])
$endif$
$for(author)$
  #block(below: 0.5em)[$author$]
$endfor$
$if(date)$
  #block(below: 0.5em)[$date$]
$endif$
]
$if(abstract)$

#block(inset: (x: 2em, y: 0.5em))[#strong[Abstract] #h(0.6em) $abstract$]
$endif$
$if(toc)$

#block(above: 1.6em, below: 2em, outline(title: [$toc-title$], depth: $toc-depth$, indent: auto))
$endif$

$body$
"""


def detect_renderer() -> str:
    """Return "quarto" when the quarto command is on PATH, else "fallback"."""
    return "quarto" if shutil.which("quarto") else "fallback"


def renderer_label(kind: str) -> str:
    """Return a human label of a renderer with the versions of its tools."""
    if kind == "quarto":
        return f"Quarto {_quarto_version()} (HTML and Typst PDF)"
    if kind == "fallback":
        typst_version = ".".join(importlib.metadata.version("typst").split(".")[:2])
        return f"pandoc {pypandoc.get_pandoc_version()} + Typst {typst_version} (HTML and PDF, fallback renderer)"
    raise ProjectError(f"renderer {kind!r}: use one of quarto, fallback")


def render_report(notebook: Path, output_dir: Path, renderer: str = "auto") -> dict:
    """Render an executed report notebook to output_dir/report.html and report.pdf; return paths and renderer."""
    notebook = Path(notebook).resolve()
    if renderer not in RENDERERS:
        raise ProjectError(f"renderer {renderer!r}: use one of {', '.join(RENDERERS)}")
    if not notebook.is_file():
        raise ProjectError(f"{notebook}: executed report notebook not found; run the report stage first")
    kind = detect_renderer() if renderer == "auto" else renderer
    if kind == "quarto" and not shutil.which("quarto"):
        raise ProjectError("renderer quarto: the quarto command is not on PATH; install Quarto or use fallback")
    stage = stage_report(notebook)
    ast = resolve_crossrefs(parse_markdown(stage.markdown, stage.meta, notebook.parent), notebook)
    if table_colwidths(ast) != stage.table_widths:
        raise ProjectError(f"{notebook}: a table caption did not keep its column widths; write each table as a "
                           "pipe table with its caption (`: text {#tbl-label}`) right after it")
    _check_images(ast, notebook)
    copy_images(image_urls(ast), notebook.parent, stage.folder)
    write_assets(stage.folder, stage.meta, document_chars(ast))
    outputs = _render_quarto(stage) if kind == "quarto" else _render_fallback(stage, ast)
    paths = _publish(outputs, Path(output_dir))
    return {"html": paths["html"], "pdf": paths["pdf"], "renderer": kind}


# --- the pandoc document and its cross references ----------------------------------------------------------


def parse_markdown(markdown: str, meta: dict[str, Any], folder: Path) -> dict:
    """Parse pandoc markdown with the document's metadata into a pandoc JSON tree."""
    document = {key: meta[key] for key in DOCUMENT_KEYS if meta.get(key)}
    header = "---\n" + yaml.safe_dump(document, allow_unicode=True, sort_keys=True) + "---\n\n" if document else ""
    return json.loads(_pandoc(["--from", "markdown", "--to", "json"], header + markdown, folder))


def crossref_targets(blocks: list) -> dict[str, tuple[str, str]]:
    """Number sections, figures and tables in document order; return label -> (kind word, number)."""
    targets: dict[str, tuple[str, str]] = {}
    counters: list[int] = []
    counts = {"fig": 0, "tbl": 0}
    for element in _elements(blocks):
        label, kind, number = "", "", ""
        if element["t"] == "Header":
            level, (label, classes, _), _ = element["c"]
            if "unnumbered" in classes:
                continue
            counters = counters[:level] + [0] * (level - len(counters))
            counters[level - 1] += 1
            kind, number = "sec", ".".join(map(str, counters))
        elif element["t"] in ("Figure", "Table"):
            label = element["c"][0][0]
            kind = label.split("-", 1)[0]
            if kind not in counts:
                continue
            counts[kind] += 1
            number = str(counts[kind])
        if not label.startswith(f"{kind}-"):
            continue
        if label in targets:
            raise ProjectError(f"label #{label} is used twice in the report; give each figure, table and section "
                               "its own label")
        targets[label] = (XREF_KINDS[kind], number)
    return targets


def resolve_crossrefs(ast: dict, source: Path) -> dict:
    """Number captions and replace @fig-/@tbl-/@sec- references by numbered links, as Quarto does."""
    targets = crossref_targets(ast["blocks"])
    for element in _elements(ast["blocks"]):
        if element["t"] in ("Figure", "Table") and element["c"][0][0] in targets:
            kind, number = targets[element["c"][0][0]]
            _prefix_caption(element["c"][1], f"{kind}{NBSP}{number}")
        if element["t"] == "Image":
            _apply_alt_text(element)
    _replace_cites(ast["blocks"], lambda cite: _reference_inlines(cite, targets, source))
    return ast


def _reference_inlines(cite: dict, targets: dict[str, tuple[str, str]], source: Path) -> list:
    """Return the inlines replacing one citation element: links to the targets, or the literal text."""
    citations, literal = cite["c"]
    keys = [citation["citationId"] for citation in citations]
    if not any(key.split("-", 1)[0].lower() in RESERVED_PREFIXES for key in keys):
        return literal
    inlines: list = []
    for index, citation in enumerate(citations):
        key = citation["citationId"]
        label = key[0].lower() + key[1:]
        if label not in targets:
            raise ProjectError(f"{source}: unresolved cross-reference @{key}; no figure, table or section is "
                               f"labelled #{label}")
        kind, number = targets[label]
        text = number if citation["citationMode"]["t"] == "SuppressAuthor" else f"{kind}{NBSP}{number}"
        link = {"t": "Link", "c": [["", ["quarto-xref"], []], [_str(text)], [f"#{label}", ""]]}
        prefix = citation["citationPrefix"] + [{"t": "Space"}] if citation["citationPrefix"] else []
        inlines += ([_str(","), {"t": "Space"}] if index else []) + prefix + [link] + citation["citationSuffix"]
    return inlines


def _prefix_caption(caption: list, label: str) -> None:
    """Prefix a caption with its numbered label ("Figure 3: ...")."""
    blocks = caption[1]
    span = {"t": "Span", "c": [["", ["caption-label"], []], [_str(label + (":" if blocks else ""))]]}
    if not blocks:
        blocks.append({"t": "Plain", "c": [span]})
    elif blocks[0]["t"] in ("Plain", "Para"):
        blocks[0]["c"][:0] = [span, {"t": "Space"}]
    else:
        blocks.insert(0, {"t": "Plain", "c": [span]})


def _apply_alt_text(image: dict) -> None:
    """Use an image's fig-alt attribute as its alternative text."""
    attr = image["c"][0]
    alt = dict(attr[2]).get("fig-alt")
    if alt:
        attr[2] = [pair for pair in attr[2] if pair[0] != "fig-alt"]
        image["c"][1] = [_str(alt)]


def _check_images(ast: dict, notebook: Path) -> None:
    """Raise when an image of the report is remote or missing from the notebook's folder."""
    for element in _elements(ast["blocks"]):
        if element["t"] == "Image":
            url = element["c"][2][0]
            if re.match(r"^(https?:)?//", url):
                raise ProjectError(f"{notebook}: image {url} is remote; save it under figures/ so the report is "
                                   "self-contained")
            if not url.startswith("data:") and not (notebook.parent / url).is_file():
                raise ProjectError(f"{notebook}: image {url} not found in {notebook.parent}; copy the figures "
                                   "next to the notebook")


def image_urls(ast: dict) -> list[str]:
    """Return the sources of the report's images in document order."""
    return [element["c"][2][0] for element in _elements(ast["blocks"]) if element["t"] == "Image"]


def document_chars(ast: dict) -> str:
    """Return every character the rendered document can show: its text, ASCII and generated punctuation."""
    text = json.dumps(ast, ensure_ascii=False)
    printable = {chr(code) for code in range(32, 127)}
    return "".join(sorted({char for char in text if char.isprintable()} | printable | set(EXTRA_CHARS)))


def _replace_cites(node: Any, replace: Callable[[dict], list]) -> None:
    """Replace, in place, every Cite element of a pandoc JSON tree by the inlines `replace` returns."""
    if isinstance(node, list):
        items = []
        for item in node:
            if isinstance(item, dict) and item.get("t") == "Cite":
                items.extend(replace(item))
            else:
                _replace_cites(item, replace)
                items.append(item)
        node[:] = items
    elif isinstance(node, dict):
        for value in node.values():
            _replace_cites(value, replace)


def _str(text: str) -> dict:
    """Return a pandoc Str element."""
    return {"t": "Str", "c": text}


# --- the fallback renderer: pandoc and Typst ----------------------------------------------------------------


def _render_fallback(stage: Stage, ast: dict) -> dict[str, bytes]:
    """Render HTML with pandoc and PDF with pandoc + Typst in the staging folder; return the bytes of both."""
    apply_colwidths(ast)
    pdf = typst_pdf(ast, stage.meta, stage.folder)
    html = _pandoc(["--from", "json", "--to", "html5", *html_options(stage.meta, stage.folder)], json.dumps(ast),
                   stage.folder)
    return {"html": html.replace("<body>", f'<body class="{PAGE_CLASS}">', 1).encode("utf-8"), "pdf": pdf}


def html_options(meta: dict[str, Any], folder: Path) -> list[str]:
    """Return the pandoc options of the self-contained HTML report, from the front matter's html format."""
    options = format_options(meta, "html")
    args = ["--standalone", "--embed-resources", "--wrap=none",
            "--variable", f"toc-title={options.get('toc-title', 'Contents')}"]
    for sheet in listed(options.get("css")) or ["style.css", FONT_CSS]:
        args += ["--css", str(folder / sheet)]
    if options.get("toc", True):
        args += ["--toc", f"--toc-depth={options.get('toc-depth', 2)}"]
    if options.get("number-sections", True):
        args.append("--number-sections")
    return args


def typst_source(ast: dict, meta: dict[str, Any], folder: Path) -> str:
    """Return the Typst source of the report: figures sized to the page, the report's page and type styles and
    the header files of the front matter's typst format."""
    options = format_options(meta, "typst")
    tree = json.loads(json.dumps(ast))
    for element in _elements(tree["blocks"]):
        if element["t"] == "Figure":
            for image in (item for item in _elements(element["c"][2]) if item["t"] == "Image"):
                url = image["c"][2][0]
                image["c"][0][2].append(["width", "100%" if url.startswith("data:") else _figure_width(folder / url)])
    margin = options.get("margin", {"x": "2.2cm", "y": "2.4cm"})
    variables = {
        "papersize": options.get("papersize", "a4"),
        "margin": ", ".join(f"{key}: {value}" for key, value in margin.items()) if isinstance(margin, dict)
        else f"x: {margin}, y: {margin}",
        "fonts": f'"{family_of(meta)}"',
        "fontsize": str(options.get("fontsize", "10pt")),
        "toc-title": str(options.get("toc-title", "Contents")),
    }
    if options.get("number-sections", True):
        variables["section-numbering"] = str(options.get("section-numbering", "1.1"))
    args = ["--standalone", "--wrap=preserve", f"--toc-depth={options.get('toc-depth', 2)}"]
    args += ["--toc"] if options.get("toc", True) else []
    args += [f"--variable={key}={value}" for key, value in variables.items()]
    args += [f"--include-in-header={folder / name}" for name in listed(options.get("include-in-header"))]
    with tempfile.TemporaryDirectory() as scratch:
        template = Path(scratch) / "report-template.typst"
        template.write_text(TYPST_TEMPLATE, encoding="utf-8")
        return _pandoc(["--from", "json", "--to", "typst", f"--template={template}", *args],
                       json.dumps(tree), folder)


def font_dirs(meta: dict[str, Any], folder: Path) -> list[Path]:
    """Return the font folders of the front matter's typst format (font-paths), resolved against `folder`."""
    return [folder / path for path in listed(format_options(meta, "typst").get("font-paths")) or ["fonts"]]


def typst_pdf(ast: dict, meta: dict[str, Any], folder: Path) -> bytes:
    """Compile the report with Typst, using only its bundled fonts and the staged font faces."""
    source = typst_source(ast, meta, folder)
    try:
        pdf, warnings = typst.compile_with_warnings(source.encode("utf-8"), root=str(folder),
                                                    font_paths=[str(path) for path in font_dirs(meta, folder)],
                                                    ignore_system_fonts=True)
    except typst.TypstError as error:
        message = (str(error.message).strip().splitlines() or ["no message"])[0]
        raise ProjectError(f"Typst could not compile the report: {message}") from error
    family = family_of(meta).lower()
    missing = [warning.message for warning in warnings if "unknown font family" in warning.message
               and family in warning.message.lower()]
    if missing:
        raise ProjectError(f"Typst: {missing[0]}; the staged faces in {font_dirs(meta, folder)[0]} are not fonts "
                           "Typst can use")
    return pdf


def _figure_width(image: Path) -> str:
    """Return a figure's width in the PDF: the text width, or less for tall images."""
    size = png_size(image)
    if not size:
        return "100%"
    width, height = size
    return f"{min(1.0, MAX_FIGURE_HEIGHT * width / height):.0%}"


def png_size(image: Path) -> tuple[int, int] | None:
    """Return (width, height) in pixels of a PNG file, or None for other files."""
    with open(image, "rb") as handle:
        header = handle.read(24)
    if header[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", header[16:24])


# --- the Quarto renderer ------------------------------------------------------------------------------------


def quarto_commands(notebook: Path) -> list[list[str]]:
    """Return the commands that render an executed notebook, without running it, to HTML and Typst PDF."""
    base = ["quarto", "render", notebook.name, "--no-execute", "--to"]
    return [base + ["html"], base + ["typst"]]


def _render_quarto(stage: Stage) -> dict[str, bytes]:
    """Render the staged notebook with Quarto in the staging folder; return the bytes of the HTML and the PDF.
    Quarto reads everything from the staged front matter; the Typst it runs also finds the staged faces
    through TYPST_FONT_PATHS."""
    fonts = os.pathsep.join(str(path) for path in font_dirs(stage.meta, stage.folder))
    env = {**os.environ, "TYPST_FONT_PATHS": fonts}
    outputs = {}
    for command, kind in zip(quarto_commands(stage.notebook), ("html", "pdf"), strict=True):
        result = subprocess.run(command, cwd=stage.folder, env=env, capture_output=True, text=True, check=False)
        output = stage.notebook.with_suffix(f".{kind}")
        if result.returncode != 0 or not output.is_file():
            lines = (result.stderr or result.stdout or "no message").strip().splitlines() or ["no message"]
            raise ProjectError(f"`{' '.join(command)}` failed in {stage.folder}: {lines[-1]}")
        outputs[kind] = output.read_bytes()
        output.unlink()
    return outputs


def _quarto_version() -> str:
    """Return the version of the quarto command."""
    try:
        result = subprocess.run(["quarto", "--version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        raise ProjectError("quarto --version failed; install Quarto or use the fallback renderer") from error
    return result.stdout.strip()


# --- writing the outputs ------------------------------------------------------------------------------------


def _publish(outputs: dict[str, bytes], output_dir: Path) -> dict[str, Path]:
    """Write report.html and report.pdf through temporary files, replacing the old ones only when all are written."""
    output_dir.mkdir(parents=True, exist_ok=True)
    staged: dict[str, Path] = {}
    try:
        for kind, data in sorted(outputs.items()):
            staged[kind] = output_dir / f".report.{kind}.{os.getpid()}.partial"
            staged[kind].write_bytes(data)
        final = {kind: output_dir / f"report.{kind}" for kind in staged}
        for kind, path in staged.items():
            os.replace(path, final[kind])
        return final
    finally:
        for path in staged.values():
            path.unlink(missing_ok=True)


# --- checking the outputs -----------------------------------------------------------------------------------


def check_outputs(html: Path, pdf: Path) -> list[str]:
    """Return the problems found in a rendered report (an empty list when both files look right)."""
    problems = [f"{path}: missing" for path in (html, pdf) if not Path(path).is_file()]
    if not problems:
        problems += html_problems(Path(html).read_text(encoding="utf-8"))
        problems += pdf_problems(Path(pdf))
    return problems


def html_problems(page: str) -> list[str]:
    """Return the problems of a self-contained HTML report: remote assets, unresolved references, images."""
    problems = []
    for tag, url in re.findall(r"<(script|link|img|source|iframe|audio|video|embed)\b[^>]*?\b(?:src|href)\s*=\s*"
                               r"[\"']?((?:https?:)?//[^\"'\s>]+)", page, flags=re.IGNORECASE):
        problems.append(f"HTML loads a remote asset: <{tag}> {url}")
    for url in re.findall(r"url\(\s*[\"']?((?:https?:)?//[^)\"']+)", page) + re.findall(
            r"@import\s+[\"']((?:https?:)?//[^\"']+)", page):
        problems.append(f"HTML style sheet loads a remote asset: {url}")
    if re.search(r"<script\b[^>]*\bsrc\s*=\s*[\"'][^\"']*(?:mathjax|require(?:\.min)?\.js)", page,
                 flags=re.IGNORECASE):
        problems.append("HTML loads MathJax or require.js")
    for img in re.findall(r"<img\b[^>]*>", page, flags=re.IGNORECASE):
        src = re.search(r"\bsrc\s*=\s*[\"']([^\"']*)", img)
        if not src or not src.group(1).startswith("data:"):
            problems.append(f"HTML image not embedded: {src.group(1) if src else img[:60]}")
        if not re.search(r"\balt\s*=\s*[\"'][^\"']+", img):
            problems.append(f"HTML image without alt text: {img[:60]}")
    if not re.search(r"@font-face\s*{[^}]*data:font/woff2", page):
        problems.append("HTML has no embedded @font-face for the CJK font")
    return problems + text_problems(visible_text(page), "HTML")


def visible_text(page: str) -> str:
    """Return the text a reader sees in an HTML page (no tags, styles or scripts), spaces normalised."""
    text = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.IGNORECASE | re.DOTALL)
    text = html_lib.unescape(re.sub(r"<[^>]+>", "", text))
    return re.sub(r"\s+", " ", text.replace(NBSP, " "))


def text_problems(text: str, where: str) -> list[str]:
    """Return unresolved references ("??", "@fig-x") found in a report's text."""
    problems = [f"{where} has an unresolved reference: {match}"
                for match in sorted(set(re.findall(r"(?<![\w.])@(?:fig|tbl|sec)-[\w-]+", text)))]
    if "??" in text:
        problems.append(f"{where} shows '??' (an unresolved reference)")
    return problems


def pdf_problems(pdf: Path) -> list[str]:
    """Return the problems of a PDF report: no embedded CJK font, unresolved references in its text."""
    problems = [] if any(_is_cjk_font(name) for name in pdf_fonts(pdf)) else [
        f"{pdf}: no embedded CJK font (Noto Sans SC, Noto Sans CJK or similar)"]
    text = pdf_text(pdf)
    if text is None:
        return [*problems, f"{pdf}: its text cannot be read (not a well-formed PDF)"]
    return problems + text_problems(text.replace(NBSP, " "), "PDF")


def pdf_fonts(pdf: Path) -> list[str]:
    """Return the names of the fonts embedded in a PDF (pdffonts when installed, else the font dictionaries)."""
    if shutil.which("pdffonts"):
        listing = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=False).stdout
        rows = [line.split() for line in listing.splitlines()[2:]]
        # Columns end with: emb sub uni object-number generation; the name is the first field.
        return sorted({row[0] for row in rows if len(row) >= 6 and row[-5] == "yes"})
    data = pdf.read_bytes()
    chunks = [data]
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, flags=re.DOTALL):
        try:
            chunks.append(zlib.decompress(stream))
        except zlib.error:
            continue
    names: set[str] = set()
    for chunk in chunks:
        for match in re.finditer(rb"/FontName\s*/([^\s/\[\]<>()]+)", chunk):
            names.add(match.group(1).decode("latin-1"))
    embedded = any(re.search(rb"/FontFile[23]?\b", chunk) for chunk in chunks)
    return sorted(names) if embedded else []


def pdf_text(pdf: Path) -> str | None:
    """Return the text of a PDF (pdfminer.six, which the project also reads PDF sources with), or None when the
    file cannot be parsed as a PDF."""
    from pdfminer.high_level import extract_text
    from pdfminer.pdfparser import PDFSyntaxError

    try:
        return extract_text(str(pdf))
    except (PDFSyntaxError, ValueError, TypeError, KeyError):
        return None


def _is_cjk_font(name: str) -> bool:
    """Tell whether a PDF font name is one of the CJK fonts the project uses."""
    return bool(re.search(r"(NotoSans|NotoSerif|SourceHan)\w*(SC|CJK)|WenQuanYi|wqy", name.split("+")[-1]))
