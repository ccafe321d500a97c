"""Tests of the report renderer: notebook to HTML and PDF, cross references, self-containment, Quarto commands."""

from __future__ import annotations

import base64
import io
import re
import subprocess
from pathlib import Path

import matplotlib
import nbformat
import pytest
from fontTools.ttLib import TTFont
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell
from report_fixture import stand_in_quarto

from helpers import render, staging
from helpers.config import ProjectError, project_root
from helpers.fonts import cjk_font_file

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

FRONT_MATTER = """---
title: "Convergence toward 一网通办"
subtitle: "A test report"
lang: en
format:
  html:
    toc: true
    number-sections: true
    css: [style.css, cjk-font.css]
  typst:
    toc: true
    number-sections: true
    section-numbering: "1.1"
    mainfont: "Noto Sans SC"
    papersize: a4
    margin:
      x: 2.2cm
      y: 2.4cm
execute:
  echo: false
---"""

TABLE = """| Province | Programme | Passages |
|:---|:---|---:|
| 上海 | 一网通办 | 12 |
| 浙江 | 一网统管 | 7 |

: Passages per province and programme. {#tbl-counts}
"""

FIGURES = """![Mentions of 一网通办 per province.](figures/mentions.png){#fig-mentions fig-alt="Bar chart of mentions."}

![Adoption over time.](figures/adoption.png){#fig-adoption fig-alt="Step curve of adoption."}
"""


def markdown_output(text: str) -> nbformat.NotebookNode:
    """Return a display_data output holding markdown, as IPython.display.Markdown produces."""
    return new_output("display_data", data={"text/markdown": text, "text/plain": "<IPython.core.display.Markdown>"})


def write_figures(folder: Path) -> None:
    """Draw the two small figures the test notebook shows."""
    (folder / "figures").mkdir(parents=True, exist_ok=True)
    for name, size in (("mentions", (4, 2.5)), ("adoption", (3, 4))):
        fig, ax = plt.subplots(figsize=size)
        ax.plot([0, 1, 2], [0, 2, 1])
        fig.savefig(folder / "figures" / f"{name}.png", dpi=40)
        plt.close(fig)


def write_notebook(folder: Path, body_refs: str = "@fig-mentions and @tbl-counts") -> Path:
    """Write an executed report notebook with front matter, headings, references, a table and two figures."""
    cells = [
        new_raw_cell(FRONT_MATTER),
        new_code_cell("SECRET_CODE = 1", outputs=[new_output("stream", name="stdout", text="STREAM-NOT-SHOWN")]),
        new_markdown_cell("# Introduction {#sec-intro}\n\nProvinces adopt 一网通办 at different speeds; "
                          f"see {body_refs}. Details are in @sec-detail and the results in @sec-results."),
        new_code_cell("show(...)", outputs=[markdown_output(TABLE + "\n" + FIGURES),
                                            new_output("execute_result", data={"text/plain": "PLAIN-NOT-SHOWN"},
                                                       execution_count=2)]),
        new_markdown_cell("# Results {#sec-results}\n\n## Detail {#sec-detail}"),
        new_code_cell("show(...)", outputs=[markdown_output(
            "@fig-adoption shows adoption; -@fig-mentions counts mentions, as [see @tbl-counts, last row] does.")]),
    ]
    path = folder / "report.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    return path


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Render the test notebook once with the fallback renderer."""
    root = tmp_path_factory.mktemp("render")
    write_figures(root / "stage")
    result = render.render_report(write_notebook(root / "stage"), root / "out", renderer="fallback")
    result["page"] = result["html"].read_text(encoding="utf-8")
    return result


def test_fallback_writes_html_and_pdf_without_problems(rendered: dict) -> None:
    assert rendered["renderer"] == "fallback"
    assert rendered["html"].name == "report.html" and rendered["pdf"].name == "report.pdf"
    assert rendered["page"].startswith("<!DOCTYPE html>")
    assert rendered["pdf"].read_bytes()[:5] == b"%PDF-"
    assert render.check_outputs(rendered["html"], rendered["pdf"]) == []
    assert not list(rendered["html"].parent.glob(".report.*"))


def test_html_numbers_figures_tables_and_sections_like_quarto(rendered: dict) -> None:
    text = render.visible_text(rendered["page"])
    assert "see Figure 1 and Table 1." in text
    assert "Figure 2 shows adoption; 1 counts mentions, as see Table 1, last row does." in text
    assert "Details are in Section 2.1 and the results in Section 2." in text
    assert "Figure 1: Mentions of 一网通办 per province." in text
    assert "Figure 2: Adoption over time." in text
    assert "Table 1: Passages per province and programme." in text
    assert re.search(r'<h2 data-number="2.1" id="sec-detail">', rendered["page"])
    assert '<a href="#fig-adoption" class="quarto-xref">' in rendered["page"]
    assert "@fig-" not in text and "@tbl-" not in text and "??" not in text


def test_html_shows_markdown_but_no_code_raw_yaml_or_other_outputs(rendered: dict) -> None:
    text = render.visible_text(rendered["page"])
    for hidden in ("SECRET_CODE", "STREAM-NOT-SHOWN", "PLAIN-NOT-SHOWN", "section-numbering", "execute:"):
        assert hidden not in text
    assert "A test report" in text and "Contents" in text


def test_html_is_self_contained_with_alt_text_and_font_subset(rendered: dict) -> None:
    page = rendered["page"]
    assert not re.search(r"""(?:src|href)\s*=\s*["']?https?:""", page)
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', page)) == 2
    assert 'alt="Bar chart of mentions."' in page and 'alt="Step curve of adoption."' in page
    font = re.search(r"@font-face\s*{[^}]*data:font/woff2;base64,([A-Za-z0-9+/=]+)", page)
    assert font, "no embedded font"
    subset = TTFont(io.BytesIO(base64.b64decode(font.group(1))))
    cmap = subset.getBestCmap()
    assert {ord(char) for char in "一网通办上海浙江"} <= set(cmap)
    assert ord("龍") not in cmap  # only the characters of the document are embedded
    assert subset["hmtx"][cmap[ord("’")]][0] < 500  # proportional, not full-width, quotes
    assert subset["head"].modified == TTFont(cjk_font_file(), lazy=True)["head"].modified  # no render timestamp


def test_pdf_has_chinese_text_numbered_captions_and_references(rendered: dict) -> None:
    text = render.pdf_text(rendered["pdf"]).replace(render.NBSP, " ")
    flat = re.sub(r"\s+", " ", text)
    assert "一网通办" in flat
    assert "Figure 1: Mentions of 一网通办 per province." in flat
    assert "Table 1: Passages per province and programme." in flat
    assert "see Figure 1 and Table 1." in flat and "Section 2.1" in flat
    assert "2.1 Detail" in flat


def test_pdf_embeds_the_cjk_font_found_with_and_without_pdffonts(rendered: dict, monkeypatch) -> None:
    assert any("NotoSansSC" in name for name in render.pdf_fonts(rendered["pdf"]))
    monkeypatch.setattr(render.shutil, "which", lambda name: None)
    assert any("NotoSansSC" in name for name in render.pdf_fonts(rendered["pdf"]))


def test_unresolved_reference_raises_and_writes_nothing(tmp_path: Path) -> None:
    write_figures(tmp_path)
    notebook = write_notebook(tmp_path, body_refs="@fig-missing")
    with pytest.raises(ProjectError, match="@fig-missing"):
        render.render_report(notebook, tmp_path / "out", renderer="fallback")
    assert not (tmp_path / "out").exists()


def test_missing_figure_file_raises(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path)
    with pytest.raises(ProjectError, match="figures/mentions.png not found"):
        render.render_report(notebook, tmp_path / "out", renderer="fallback")


def test_crossref_targets_number_like_quarto(tmp_path: Path) -> None:
    markdown = ("# A {#sec-a}\n\n## A1 {#sec-a1}\n\n# Notes {.unnumbered}\n\n# B {#sec-b}\n\n### B deep {#sec-deep}\n\n"
                "![x](a.png){#fig-one}\n\n![y](b.png){#fig-two}\n\n| a |\n|---|\n| 1 |\n\n: t {#tbl-one}\n")
    ast = render.parse_markdown(markdown, {}, tmp_path)
    assert render.crossref_targets(ast["blocks"]) == {
        "sec-a": ("Section", "1"), "sec-a1": ("Section", "1.1"), "sec-b": ("Section", "2"),
        "sec-deep": ("Section", "2.0.1"), "fig-one": ("Figure", "1"), "fig-two": ("Figure", "2"),
        "tbl-one": ("Table", "1"),
    }


def test_duplicate_label_raises(tmp_path: Path) -> None:
    ast = render.parse_markdown("# A {#sec-a}\n\n# B {#sec-a}\n", {}, tmp_path)
    with pytest.raises(ProjectError, match="sec-a"):
        render.crossref_targets(ast["blocks"])


def test_wide_tables_get_content_based_widths_and_narrow_ones_stay_automatic(tmp_path: Path) -> None:
    title = "各省数字政府建设规划汇总：一网通办、一网统管与跨省通办的推进情况"
    wide = ("| Id | Title | Site | Date | Chars |\n|:--|:--|:--|:--|--:|\n"
            + "".join(f"| 00{i} | {title} | www.example{i}.com.cn | 2021-0{i + 1} | 12345 |\n" for i in range(3)))
    tables = [element for element in render._elements(render.parse_markdown(wide + "\n" + TABLE, {}, tmp_path))
              if element["t"] == "Table"]
    widths = staging.column_widths(tables[0])
    assert widths is not None and sum(widths) == 100
    assert max(widths) == widths[1]  # the long title gets the most room
    assert widths[0] < widths[4] < widths[1]
    assert staging.column_widths(tables[1]) is None


def test_fallback_stages_its_assets_next_to_the_notebook(rendered: dict) -> None:
    folder = rendered["html"].parents[1] / "stage" / staging.STAGE_FOLDER
    assert "@font-face" in (folder / "cjk-font.css").read_text()
    assert (folder / "style.css").read_text() == (project_root() / "report/style.css").read_text()
    assert sorted(path.name for path in (folder / "fonts").iterdir()) == [
        "NotoSansSC-Bold.otf", "NotoSansSC-Italic.ttf", "NotoSansSC-Regular.otf"]


def test_quarto_renderer_runs_quarto_in_the_staging_folder(tmp_path: Path, monkeypatch) -> None:
    write_figures(tmp_path / "stage")
    notebook = write_notebook(tmp_path / "stage")
    calls: list = []
    fake_run = stand_in_quarto(calls)

    monkeypatch.setattr(render.shutil, "which", lambda name: f"/opt/bin/{name}" if name == "quarto" else None)
    monkeypatch.setattr(render.subprocess, "run", fake_run)
    result = render.render_report(notebook, tmp_path / "out")
    folder = notebook.parent / staging.STAGE_FOLDER
    assert calls == [
        (["quarto", "render", "report.ipynb", "--no-execute", "--to", "html"], folder, str(folder / "fonts")),
        (["quarto", "render", "report.ipynb", "--no-execute", "--to", "typst"], folder, str(folder / "fonts")),
    ]
    assert result["renderer"] == "quarto"
    assert result["html"].read_text() == "quarto html" and result["pdf"].read_text() == "quarto pdf"
    assert not (folder / "report.html").exists() and not (folder / "report.pdf").exists()
    assert "@font-face" in (folder / "cjk-font.css").read_text()
    assert (folder / "style.css").read_text() == (project_root() / "report/style.css").read_text()
    assert (folder / "figures" / "mentions.png").is_file()


def test_failed_render_keeps_the_previous_report(tmp_path: Path, monkeypatch) -> None:
    write_figures(tmp_path / "stage")
    notebook = write_notebook(tmp_path / "stage")
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").write_text("old html")
    (out / "report.pdf").write_text("old pdf")
    run = subprocess.run

    def failing_typst(command, **kwargs):
        if command[0] != "quarto":
            return run(command, **kwargs)
        if "typst" in command:
            return subprocess.CompletedProcess(command, 1, stdout="", stderr="ERROR: typst compile failed")
        (Path(kwargs["cwd"]) / "report.html").write_text("new html")
        return subprocess.CompletedProcess(command, 0, stdout="", stderr="")

    monkeypatch.setattr(render.shutil, "which", lambda name: "/opt/bin/quarto" if name == "quarto" else None)
    monkeypatch.setattr(render.subprocess, "run", failing_typst)
    with pytest.raises(ProjectError, match="--to typst.*typst compile failed"):
        render.render_report(notebook, out, renderer="quarto")
    assert (out / "report.html").read_text() == "old html" and (out / "report.pdf").read_text() == "old pdf"
    assert sorted(path.name for path in out.iterdir()) == ["report.html", "report.pdf"]


def test_renderer_detection_and_labels(monkeypatch) -> None:
    monkeypatch.setattr(render.shutil, "which", lambda name: None)
    assert render.detect_renderer() == "fallback"
    assert re.fullmatch(r"pandoc \d+\.\d+(\.\d+)* \+ Typst \d+\.\d+ \(HTML and PDF, fallback renderer\)",
                        render.renderer_label("fallback"))
    monkeypatch.setattr(render.shutil, "which", lambda name: "/opt/bin/quarto")
    monkeypatch.setattr(render.subprocess, "run",
                        lambda command, **kwargs: subprocess.CompletedProcess(command, 0, stdout="1.6.40\n"))
    assert render.detect_renderer() == "quarto"
    assert render.renderer_label("quarto") == "Quarto 1.6.40 (HTML and Typst PDF)"
    with pytest.raises(ProjectError, match="renderer 'latex'"):
        render.render_report(Path("report.ipynb"), Path("out"), renderer="latex")


def test_check_outputs_reports_remote_assets_unresolved_references_and_missing_fonts(tmp_path: Path) -> None:
    html, pdf = tmp_path / "report.html", tmp_path / "report.pdf"
    html.write_text('<html><head><script src="https://cdn.example.org/mathjax.js"></script></head><body>'
                    '<p>See ?? and @fig-map.</p><img src="figures/map.png"></body></html>')
    pdf.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Font /FontName /Helvetica >> endobj\n%%EOF\n")
    problems = "\n".join(render.check_outputs(html, pdf))
    for expected in ("remote asset: <script> https://cdn.example.org/mathjax.js", "MathJax", "@fig-map", "'??'",
                     "image not embedded: figures/map.png", "image without alt text", "no embedded @font-face",
                     "no embedded CJK font"):
        assert expected in problems
    assert render.check_outputs(tmp_path / "none.html", pdf) == [f"{tmp_path / 'none.html'}: missing"]
