"""Read the layout of a rendered PDF for tests: glyph runs with their positions, embedded fonts, contents lines.

A glyph run is the text of one PDF text-showing operator (Typst writes one per stretch of a line in one font),
so two runs on one baseline that overlap are text printed over text, as in a table column too narrow for its
words.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pdfminer.converter import PDFPageAggregator
from pdfminer.layout import LAParams, LTChar
from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
from pdfminer.pdfpage import PDFPage
from pypdf import PdfReader


@dataclass(frozen=True)
class Run:
    """The glyphs of one text-showing operator: page, horizontal extent, baseline, size, font and text."""

    page: int
    x0: float
    x1: float
    baseline: float
    size: float
    font: str
    text: str
    chars: tuple[LTChar, ...]


class _RunRecorder(PDFPageAggregator):
    """A layout aggregator that also records which characters each text-showing operator drew."""

    def __init__(self, manager: PDFResourceManager) -> None:
        super().__init__(manager, laparams=LAParams())
        self.runs: list[list[LTChar]] = []

    def render_string(self, textstate, seq, ncs, graphicstate) -> None:  # noqa: ANN001 (pdfminer's signature)
        before = len(self.cur_item._objs)
        super().render_string(textstate, seq, ncs, graphicstate)
        chars = [item for item in self.cur_item._objs[before:] if isinstance(item, LTChar)]
        if chars:
            self.runs.append(chars)


def glyph_runs(pdf: Path) -> list[Run]:
    """Return every glyph run of a PDF, page by page in drawing order (whitespace-only runs left out); a run's
    extent is that of its visible glyphs."""
    runs: list[Run] = []
    manager = PDFResourceManager()
    with open(pdf, "rb") as handle:
        for number, page in enumerate(PDFPage.get_pages(handle), start=1):
            device = _RunRecorder(manager)
            PDFPageInterpreter(manager, device).process_page(page)
            for chars in device.runs:
                text = "".join(char.get_text() for char in chars)
                # The extent leaves out spaces: justification narrows them by moving the next glyph, while their
                # boxes keep the font's full width.
                inked = [char for char in chars if char.get_text().strip()]
                if inked:
                    runs.append(Run(number, min(char.x0 for char in inked), max(char.x1 for char in inked),
                                    round(chars[0].matrix[5], 1), round(chars[0].size, 1),
                                    chars[0].fontname.split("+")[-1], text, tuple(chars)))
    return runs


def overlapping_runs(runs: list[Run], tolerance: float = 0.3) -> list[tuple[Run, Run]]:
    """Return the pairs of runs on one page and baseline whose horizontal extents overlap."""
    pairs = []
    lines: dict[tuple[int, float], list[Run]] = {}
    for run in runs:
        lines.setdefault((run.page, round(run.baseline)), []).append(run)
    for line in lines.values():
        line.sort(key=lambda run: run.x0)
        for index, first in enumerate(line):
            for second in line[index + 1:]:
                if second.x0 >= first.x1 - tolerance:
                    break
                if abs(second.baseline - first.baseline) < 0.6:
                    pairs.append((first, second))
    return pairs


def embedded_fonts(pdf: Path) -> dict[str, bool]:
    """Return the base font names of a PDF's fonts (subset tag removed) and whether each embeds a font file."""
    fonts: dict[str, bool] = {}
    for page in PdfReader(pdf).pages:
        resources = page.get("/Resources")
        for font in (resources.get_object().get("/Font") or {}).values() if resources else []:
            font = font.get_object()
            descriptor = font.get("/FontDescriptor")
            if descriptor is None and "/DescendantFonts" in font:
                descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            name = str(font.get("/BaseFont", "")).lstrip("/").split("+")[-1]
            fonts[name] = any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
    return fonts
