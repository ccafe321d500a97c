"""What the render step hands to Quarto, checked without Quarto: the staged notebook's front matter and table
captions, the font faces, the Typst header and the style sheet in the staging folder."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml
from fontTools.ttLib import TTFont
from report_fixture import FRONT_MATTER, stand_in_quarto, write_layout_notebook

from helpers import render, staging
from helpers.config import project_root
from helpers.fonts import report_faces


@pytest.fixture(scope="module")
def handed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Render the layout-test notebook with a stand-in quarto command; keep its calls and the staging folder."""
    root = tmp_path_factory.mktemp("quarto")
    notebook = write_layout_notebook(root / "stage")
    calls: list = []
    fake_run = stand_in_quarto(calls)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(render.shutil, "which", lambda name: f"/opt/bin/{name}" if name == "quarto" else None)
        patch.setattr(render.subprocess, "run", fake_run)
        result = render.render_report(notebook, root / "out")
    folder = notebook.parent / staging.STAGE_FOLDER
    staged = nbformat.read(folder / "report.ipynb", as_version=4)
    meta = yaml.safe_load(staged.cells[0].source.strip().strip("-"))
    return {"result": result, "calls": calls, "folder": folder, "staged": staged, "meta": meta,
            "html": meta["format"]["html"], "typst": meta["format"]["typst"]}


def test_quarto_is_handed_the_staged_folder(handed: dict) -> None:
    folder = handed["folder"]
    assert [(cwd, fonts) for _, cwd, fonts in handed["calls"]] == [(folder, str(folder / "fonts"))] * 2
    assert handed["result"]["renderer"] == "quarto"
    assert (folder / "figures" / "trend.png").is_file()


def test_staged_front_matter_keeps_the_notebooks_keys_and_adds_the_format_file(handed: dict) -> None:
    own = yaml.safe_load(FRONT_MATTER.strip("-"))
    meta, typst, html = handed["meta"], handed["typst"], handed["html"]
    assert {key: meta[key] for key in ("title", "subtitle", "lang", "execute")} == {
        key: own[key] for key in ("title", "subtitle", "lang", "execute")}
    assert typst["toc-depth"] == 2 and typst["toc-title"] == "Contents"  # Quarto's defaults: 3, "Table of contents"
    assert html["toc-depth"] == 2 and html["toc-title"] == "Contents"
    assert typst["mainfont"] == "Noto Sans SC" and typst["fontsize"] == "10pt" and typst["section-numbering"] == "1.1"
    assert html["format-links"] is False  # no "Other Formats: Typst" link
    assert int(html["grid"]["body-width"].removesuffix("px")) >= 800
    assert html["embed-resources"] is True
    for sheet in html["css"]:
        assert (handed["folder"] / sheet).is_file()


def test_format_file_is_the_one_both_renderers_read() -> None:
    settings = staging.format_settings()
    merged = staging.merge_front_matter({"title": "T", "format": {"typst": {"toc-depth": 3, "keep": 1}}}, settings)
    assert merged["title"] == "T" and merged["format"]["typst"]["keep"] == 1
    assert merged["format"]["typst"]["toc-depth"] == settings["format"]["typst"]["toc-depth"] == 2


def test_staged_faces_are_one_family_with_real_bold_italic_and_proportional_quotes(handed: dict) -> None:
    font_dir = handed["folder"] / handed["typst"]["font-paths"][0]
    faces = {}
    for path in sorted(font_dir.iterdir()):
        font = TTFont(path)
        faces[font["name"].getDebugName(2)] = font
        assert font["name"].getDebugName(1) == handed["typst"]["mainfont"]
    assert set(faces) == {"Regular", "Bold", "Italic"}
    assert [faces[style]["OS/2"].usWeightClass for style in ("Regular", "Bold", "Italic")] == [400, 700, 400]
    assert faces["Italic"]["OS/2"].fsSelection & 1 and faces["Bold"]["head"].macStyle & 1
    for style in ("Regular", "Bold"):
        font, cmap = faces[style], faces[style].getBestCmap()
        for quote in render.QUOTES:
            assert font["hmtx"][cmap[ord(quote)]][0] < 0.7 * font["head"].unitsPerEm, (style, quote)
    # The bold comes from a file whose default forms are Japanese; the staged face has the Chinese ones.
    source = TTFont(report_faces()[1].path, lazy=True)
    if source["name"].getDebugName(1).endswith("JP"):
        assert faces["Bold"].getBestCmap()[ord("门")] != source.getBestCmap()[ord("门")]
    assert ord("yī wǎng"[1]) in faces["Italic"].getBestCmap()


def test_staged_tables_carry_content_based_widths_in_their_captions(handed: dict) -> None:
    texts = [staging.slot_text(holder, key) for holder, key in staging.markdown_slots(handed["staged"])]
    ast = json.loads(staging.pandoc(["--from", "markdown", "--to", "json"], "\n\n".join(texts), handed["folder"]))
    tables = {table["c"][0][0]: dict(table["c"][0][2]).get("tbl-colwidths")
              for table in staging.elements(ast["blocks"]) if table["t"] == "Table"}
    assert set(tables) == {"tbl-sources", "tbl-runs", "tbl-long"}  # labels kept
    assert tables["tbl-long"] == "false"  # fits: Quarto sizes its columns by content, as the fallback does
    sources = json.loads(tables["tbl-sources"])
    assert all(isinstance(width, int) for width in sources) and sum(sources) == 100
    # The pipe table's dashes gave the Id column 2%; from content it gets room for "000" and the title the most.
    assert sources[0] >= 5 and sources[1] == max(sources)
    caption = next(line for text in texts for line in text.splitlines() if "#tbl-sources" in line)
    assert re.fullmatch(r': The sources of the corpus \(from the manifest sources\.csv\)\. '
                        r'\{#tbl-sources tbl-colwidths="\[[\d,]+\]"\}', caption)


def test_column_widths_come_from_content_and_respect_each_longest_word() -> None:
    title = "各省数字政府建设规划汇总：一网通办、一网统管与跨省通办的推进情况"
    wide = ("| Id | Title | Site | Date | Chars |\n|:--|:--|:--|:--|--:|\n"
            + "".join(f"| 00{i} | {title} | www.example{i}.com.cn | 2021-0{i + 1}-30 | 12345 |\n" for i in range(3)))
    narrow = "| a | b |\n|:--|--:|\n| 上海 | 12 |\n"
    annotated, values = staging.annotate_tables([wide, narrow], Path.cwd())
    widths = json.loads(values[0])
    assert values[1] == "false" and sum(widths) == 100 and max(widths) == widths[1]
    for width, word in zip(widths, ["000", "", "www.example0.com.cn", "2021-01-30", "12345"], strict=True):
        needed = (staging.text_width(word) + staging.CELL_PADDING_EM) / staging.TABLE_WIDTH_EM * 100
        assert width >= needed - 0.5, (word, width, needed)  # URLs and dates do not break in Typst
    assert annotated[1].rstrip().endswith('\n\n: {tbl-colwidths="false"}')


def test_captions_before_or_after_a_table_get_the_widths_and_code_blocks_are_left_alone() -> None:
    code = "```\n| a | b |\n|---|---|\n| 1 | 2 |\n```"
    after = "| x | y |\n|:--|--:|\n| 上海 | 1 |\n\n: After. {#tbl-after}"
    before = 'Table: Before. {#tbl-before tbl-colwidths="[50,50]"}\n\n| x | y |\n|:--|--:|\n| 北京 | 2 |'
    annotated, values = staging.annotate_tables([f"{code}\n\n{after}", before], Path.cwd())
    assert values == ["false", "false"]
    assert annotated[0] == f'{code}\n\n{after[:-1]} tbl-colwidths="false"}}'
    assert annotated[1].startswith('Table: Before. {#tbl-before tbl-colwidths="false"}\n')


def test_typst_header_holds_only_rules_both_renderers_want(handed: dict) -> None:
    header = (handed["folder"] / handed["typst"]["include-in-header"]).read_text(encoding="utf-8")
    assert '#show figure.where(kind: "quarto-float-tbl"): set block(breakable: true)' in header
    assert "#show figure.where(kind: table): set block(breakable: true)" in header
    assert "sticky: true" in header  # a caption above a table is kept with its first rows
    assert "numbering: none" not in header  # Quarto numbers captions through Typst; only the fallback must not
    assert "pwid" not in header and "stroke: amount" not in header  # quotes and bold come from the faces


def test_style_sheet_caps_the_width_only_of_the_fallback_page() -> None:
    css = re.sub(r"/\*.*?\*/", "", (project_root() / "report" / "style.css").read_text("utf-8"), flags=re.DOTALL)
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        if re.search(r"(^|;)\s*(max-width|width)\s*:", body):
            for selector in (part.strip() for part in selectors.split(",")):
                # body, html, main or Quarto's grid containers may only be limited on the fallback's page.
                if re.fullmatch(r"(html|body|main|#quarto-content|\.page-columns|\.content)(\W.*)?", selector):
                    assert selector.startswith(f"body.{render.PAGE_CLASS}"), selector
    assert re.search(rf"body\.{render.PAGE_CLASS}\s*\{{[^}}]*max-width", css)
    assert re.search(r"table:has\(> colgroup\)[^{]*\{[^}]*table-layout:\s*fixed", css)
