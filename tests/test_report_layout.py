"""The fallback renderer's PDF and HTML, read from the files themselves: fonts, glyph positions, pages."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import typst
from pdf_layout import Run, embedded_fonts, glyph_runs, overlapping_runs
from pypdf import PdfReader
from report_fixture import LONG_ROWS, write_layout_notebook

from helpers import render, staging

FAMILY_FACES = {"NotoSansSC-Regular", "NotoSansSC-Bold", "NotoSansSC-Italic"}
TABLE_SIZE = 8.4
# The text area of an A4 page with 2.2 cm side margins (pt), which a table with column widths fills, and the
# horizontal inset of a table cell (typst-header.typ).
TEXT_LEFT, TEXT_WIDTH = 2.2 / 2.54 * 72, 595.28 - 2 * 2.2 / 2.54 * 72
INSET = 4.0


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Render the layout-test notebook once with the fallback renderer and read its PDF's glyph runs."""
    root = tmp_path_factory.mktemp("layout")
    result = render.render_report(write_layout_notebook(root / "stage"), root / "out", renderer="fallback")
    result["runs"] = glyph_runs(result["pdf"])
    return result


def _runs(layout: dict, pattern: str) -> list[Run]:
    """Return the glyph runs whose text matches a regular expression."""
    return [run for run in layout["runs"] if re.search(pattern, run.text)]


def _font(run: Run) -> str:
    """Return a run's font name without the CID encoding suffix."""
    return run.font.removesuffix("-Identity-H")


def test_pdf_embeds_the_regular_bold_and_italic_faces_and_no_stand_in_font(layout: dict) -> None:
    fonts = {name.removesuffix("-Identity-H"): embedded for name, embedded in embedded_fonts(layout["pdf"]).items()}
    assert FAMILY_FACES <= set(fonts) and all(fonts[name] for name in FAMILY_FACES)
    # A character missing from the report's faces would be drawn in a font Typst falls back to (or as tofu).
    assert set(fonts) - FAMILY_FACES <= {"DejaVuSansMono"}


def test_pdf_title_headings_and_strong_text_use_the_bold_face(layout: dict) -> None:
    for pattern in (r"^One network for all", r"^Introduction$", r"^Robustness$", r"^Abstract\.", r"^一网通办$",
                    r"^Passage$"):
        runs = _runs(layout, pattern)
        assert runs and all(_font(run) == "NotoSansSC-Bold" for run in runs), pattern
    assert all(_font(run) == "NotoSansSC-Regular" for run in _runs(layout, r"^Provinces write their own plans"))


def test_pdf_pinyin_emphasis_uses_the_italic_face(layout: dict) -> None:
    runs = _runs(layout, r"yī wǎng tōng bàn")
    assert runs and all(_font(run) == "NotoSansSC-Italic" for run in runs)


def test_pdf_text_never_overlaps(layout: dict) -> None:
    assert len({(run.page, run.baseline) for run in layout["runs"] if abs(run.size - TABLE_SIZE) < 0.2}) > LONG_ROWS
    assert overlapping_runs(layout["runs"]) == []


def test_overlap_check_finds_text_printed_over_text(tmp_path: Path) -> None:
    # A first column of 2%, as the pipe table's dashes gave the Quarto PDF's Table 1: "000" runs into the title.
    source = "#set page(width: 12cm, height: 5cm)\n#table(columns: (2%, 60%, 38%), [000], [A long title], [x])"
    (tmp_path / "narrow.pdf").write_bytes(typst.compile(source.encode("utf-8")))
    assert [(first.text, second.text) for first, second in overlapping_runs(glyph_runs(tmp_path / "narrow.pdf"))
            ] == [("000", "A long title")]


def test_pdf_wide_table_text_stays_inside_its_columns(layout: dict) -> None:
    staged = (layout["html"].parents[1] / "stage" / staging.STAGE_FOLDER / "report.ipynb").read_text("utf-8")
    widths = json.loads(re.search(r'#tbl-sources tbl-colwidths=\\"(\[[\d,]+\])\\"', staged).group(1))
    edges = [TEXT_LEFT + TEXT_WIDTH * sum(widths[:index]) / 100 for index in range(len(widths) + 1)]
    header = _runs(layout, r"^Id$")[0]
    last = max(run.baseline for run in _runs(layout, r"^004$"))
    cells = [run for run in layout["runs"] if run.page == header.page and abs(run.size - TABLE_SIZE) < 0.2
             and last - 1 <= run.baseline <= header.baseline + 1]
    outside = [run.text for run in cells if not any(left + INSET - 0.5 <= run.x0 and run.x1 <= right - INSET + 0.5
                                                    for left, right in zip(edges, edges[1:], strict=False))]
    assert len(cells) > 40 and outside == []
    # The header cells are separate words, as the Quarto PDF's "ScriptRaw" was not.
    assert {"Id", "Title", "Script", "Raw", "chars", "Provinces"} <= {run.text.strip() for run in cells}


def test_pdf_curly_quotes_in_latin_text_have_proportional_widths(layout: dict) -> None:
    quotes = [(char.get_text(), run.font, char.width / char.size) for run in layout["runs"] for char in run.chars
              if char.get_text() in render.QUOTES]
    assert {font.removesuffix("-Identity-H") for _, font, _ in quotes} >= {"NotoSansSC-Regular", "NotoSansSC-Bold"}
    assert {char for char, _, _ in quotes} >= {"“", "”", "’"}
    assert max(share for _, _, share in quotes) < 0.7  # full-width quotes are 1 em wide


def test_pdf_contents_are_titled_contents_and_go_two_levels_deep(layout: dict) -> None:
    lines: dict[float, list[str]] = {}
    for run in sorted((run for run in layout["runs"] if run.page == 1), key=lambda run: (-run.baseline, run.x0)):
        lines.setdefault(run.baseline, []).append(run.text.strip())
    # An entry of the contents: its number, its title and a leader of dots to the page number.
    entries = [texts[0] for texts in lines.values() if re.fullmatch(r"\d+(\.\d+)*", texts[0]) and "." in texts[2:]]
    assert ["Contents"] in lines.values()
    assert entries == ["1", "1.1", "2", "3"]  # 1.1.1, a third-level heading, stays out


def test_pdf_long_table_breaks_across_pages_with_its_caption_and_header(layout: dict) -> None:
    def page_of(pattern: str) -> int:
        return min(run.page for run in _runs(layout, pattern))

    first, last = page_of(r"^row 001$"), page_of(rf"^row {LONG_ROWS:03d}$")
    # The table starts right under the sentence before it and its caption, instead of on a fresh page.
    assert first == page_of(r"the long table follows right here") == page_of(r"Similarity of every passage")
    assert last >= first + 2
    header_pages = {run.page for run in _runs(layout, r"^Passage$")}
    assert header_pages == set(range(first, last + 1))  # the header row repeats on every page of the table


def test_pdf_page_count(layout: dict) -> None:
    # Page 1: title, contents, the wide table; page 2: the figure, two headings, the runs table and the first
    # rows of the long table; its 150 rows take about 55 a page, so it ends on page 5, where the last section
    # follows. Fewer pages would mean rows lost to an unbreakable table running off its page; more, a table
    # moved to a fresh page or blank space.
    assert 4 <= len(PdfReader(layout["pdf"]).pages) <= 5


def test_fallback_html_marks_its_page_and_gives_wide_tables_column_widths(layout: dict) -> None:
    page = layout["html"].read_text(encoding="utf-8")
    assert f'<body class="{render.PAGE_CLASS}">' in page
    tables = re.findall(r"<table[^>]*>.*?</table>", page, flags=re.DOTALL)
    assert len(tables) == 3
    widths = [[int(width) for width in re.findall(r'<col style="width: (\d+)%"', table)] for table in tables]
    assert sum(widths[0]) == 100 and widths[2] == []  # the long narrow table keeps widths from its content
    assert "tbl-colwidths" not in page


@pytest.mark.skipif(not shutil.which("chromium"), reason="headless Chromium not installed")
def test_fallback_html_text_column_and_tables_at_1280px(layout: dict, tmp_path: Path) -> None:
    probe = ("<script>window.addEventListener('load', () => { const p = [...document.querySelectorAll('p')]"
             ".filter(e => e.textContent.length > 120); const pre = document.createElement('pre'); pre.id = "
             "'probe'; pre.textContent = JSON.stringify({text: Math.min(...p.map(e => e.getBoundingClientRect()"
             ".width)), scrolling: [...document.querySelectorAll('table')].filter(t => t.scrollWidth > "
             "t.clientWidth + 1).length}); document.body.appendChild(pre); });</script>")
    page = tmp_path / "page.html"
    page.write_text(layout["html"].read_text(encoding="utf-8").replace("</body>", probe + "</body>"), "utf-8")
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                              "--disable-background-networking", "--disable-component-update", "--disable-sync",
                              f"--user-data-dir={profile}", "--window-size=1280,2400", "--dump-dom",
                              page.as_uri()], capture_output=True, text=True, timeout=120, check=False).stdout
    found = re.search(r'<pre id="probe">\{"text":([\d.]+),"scrolling":(\d+)\}</pre>', dom)
    assert found, "the page did not report its layout"
    assert float(found.group(1)) >= 700 and found.group(2) == "0"
