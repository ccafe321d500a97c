"""Sources saved as HTML pages, PDFs and Word files are read as text; files that cannot be read are refused."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from helpers.cleaning import clean_corpus
from helpers.config import ProjectError
from helpers.corpus import load_manifest, read_sources
from helpers.formats import document_table, extraction_audit, read_document, read_documents, squeeze
from helpers.passages import NATIONAL, PASSAGE_COLUMNS, count_concepts, cut_passages

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = next((ROOT / "data" / "raw").glob("004_*.txt"))  # Zhejiang's full plan, many pages long
RUNNING_HEADER = "浙江省数字政府建设“十四五”规划"
# A government document's layout: a centred title, a running header from page 2, page numbers — N — that
# alternate sides, paragraphs indented two characters and justified.
TYPESET = r"""
#set page(paper: "a4", margin: (x: 2.8cm, top: 3.7cm, bottom: 3.5cm),
  header: context { if counter(page).get().first() > 1 {
    align(center, text(size: 10.5pt)[HEADER]); v(-0.6em); line(length: 100%, stroke: 0.5pt) } },
  footer: context { let n = counter(page).get().first()
    align(if calc.odd(n) { right } else { left }, text(size: 14pt)[— #n —]) })
#set text(font: "Noto Sans SC", size: 15pt, lang: "zh", region: "cn")
#set par(first-line-indent: (amount: 2em, all: true), justify: true, leading: 0.9em, spacing: 0.9em)
#let lines = read("page.txt").split("\n").map(line => line.trim()).filter(line => line != "")
#align(center, par(first-line-indent: 0em, justify: false, text(size: 21pt, lines.first())))
#v(1em)
#for line in lines.slice(1) { par(line) }
""".replace("HEADER", RUNNING_HEADER)
SCAN = """
#set page(paper: "a4")
#image("scan.png", width: 100%)
#pagebreak()
#image("scan.png", width: 100%)
"""


def typeset(folder: Path, source: str, files: dict[str, bytes]) -> bytes:
    """Compile a Typst document with the project's CJK font, its files placed beside it."""
    import typst

    from helpers.fonts import cjk_font_file

    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return typst.compile(source.encode("utf-8"), root=str(folder), font_paths=[str(cjk_font_file().parent)],
                         ignore_system_fonts=True)


def content_lines(text: str) -> list[str]:
    """The non-empty lines of a text, stripped."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def html_page(lines: list[str], title: str = "", encoding: str = "utf-8") -> str:
    """A government web page around the lines: head with style and script, navigation, breadcrumb and footer."""
    body = "\n".join(f'<p style="text-indent:2em">{html.escape(line)}</p>' for line in lines)
    heading = f"<h1>{html.escape(title)}</h1>" if title else ""
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="{encoding}"><title>{html.escape(title)}_浙江省人民政府门户网站</title>
<meta name="SiteName" content="浙江省人民政府门户网站"><meta name="PubDate" content="2021-06-18 10:35">
<style>body {{ font-family: SimSun; }} .nav a {{ color: #333; }} p {{ text-indent: 2em; }}</style>
<script>var _hmt = _hmt || []; (function() {{ var hm = document.createElement("script"); }})();</script>
</head><body>
<div class="nav"><a href="/">首页</a> | <a href="/zwgk">政务公开</a> | <a href="/zwfw">政务服务</a></div>
<div class="breadcrumb">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk">政务公开</a> &gt; 政策文件</div>
<div class="article">{heading}<div class="content">
{body}
</div></div>
<div class="footer"><p>主办单位：浙江省人民政府办公厅 版权所有 网站标识码3300000052</p><p>联系我们 | 网站地图</p></div>
<script>document.write("统计代码");</script>
</body></html>
"""


def word_file(path: Path, blocks: list[str | list[list[str]]], title: str = "") -> Path:
    """Write a .docx of paragraphs (strings) and tables (lists of rows) in the order given."""
    import docx

    document = docx.Document()
    for block in blocks:
        if isinstance(block, str):
            document.add_paragraph(block)
        else:
            table = document.add_table(rows=len(block), cols=len(block[0]))
            for row, cells in zip(table.rows, block, strict=True):
                for cell, text in zip(row.cells, cells, strict=True):
                    cell.text = text
    document.core_properties.title = title
    document.save(path)
    return path


@pytest.fixture(scope="module")
def bundled_text() -> str:
    """The text of the bundled page, as saved."""
    return BUNDLED.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def bundled_formats(tmp_path_factory, bundled_text) -> dict[str, Path]:
    """The bundled page saved as .txt, as an HTML page, as a typeset PDF and as a Word file."""
    folder = tmp_path_factory.mktemp("formats")
    lines = content_lines(bundled_text)
    (folder / "plan.txt").write_text(bundled_text, encoding="utf-8")
    (folder / "plan.html").write_text(html_page(lines[1:], title=lines[0]), encoding="utf-8")
    (folder / "plan.pdf").write_bytes(typeset(folder / "typst", TYPESET, {"page.txt": bundled_text.encode()}))
    word_file(folder / "plan.docx", lines)
    return {path.suffix: path for path in folder.glob("plan.*")}


def passages_and_concepts(path: Path, lexicon) -> tuple[list[tuple[str, str]], dict[tuple[str, str], int]]:
    """Read, clean and cut a file; return its (source, province) passages and concept counts per province."""
    text = clean_corpus({"004": read_document(path).text}, lexicon).texts["004"]
    passages = pd.DataFrame(
        [dict.fromkeys(PASSAGE_COLUMNS, "") | {
            "passage_id": f"004-{number:04d}", "source_id": "004", "province": passage.province,
            "level": "national" if passage.province == NATIONAL else "province", "start": passage.start,
            "end": passage.end, "text": text[passage.start : passage.end]}
         for number, passage in enumerate(cut_passages(text, lexicon))],
        columns=PASSAGE_COLUMNS)
    counts = count_concepts(passages, lexicon).groupby(["province", "concept"])["count"].sum()
    return list(zip(passages["source_id"], passages["province"], strict=True)), counts.to_dict()


@pytest.mark.parametrize("suffix", [".html", ".pdf", ".docx"])
def test_bundled_page_saved_as_html_pdf_or_word_gives_the_passages_and_concepts_of_its_txt(
        bundled_formats, lexicon, suffix):
    passages, concepts = passages_and_concepts(bundled_formats[suffix], lexicon)
    expected_passages, expected_concepts = passages_and_concepts(bundled_formats[".txt"], lexicon)
    assert len(expected_passages) > 10 and {province for _, province in expected_passages} >= {"浙江"}
    assert passages == expected_passages
    assert concepts == expected_concepts and concepts


def test_pdf_loses_running_headers_and_page_numbers_and_joins_lines_broken_in_sentences(bundled_formats,
                                                                                        bundled_text):
    document = read_document(bundled_formats[".pdf"])
    assert [squeeze(line) for line in content_lines(document.text)] == \
        [squeeze(line) for line in content_lines(bundled_text)]
    assert RUNNING_HEADER not in document.text
    assert not any(re.fullmatch(r"—\s*\d+\s*—", line) for line in content_lines(document.text))
    removed = {item.what: item.lines for item in document.removed}
    assert document.pages >= 5
    assert removed == {"running header or footer": document.pages - 1, "page number": document.pages}
    assert document.joined_lines > 100
    assert f"{document.pages} pages" in document.note() and "page number" in document.note()


def test_html_page_gives_its_main_text_title_date_and_site_without_navigation_script_style_or_footer(tmp_path):
    lines = ["浙江省人民政府关于印发数字政府建设规划的通知", "各市、县（市、区）人民政府，省政府直属各单位：",
             "现将《浙江省数字政府建设“十四五”规划》印发给你们，请结合实际认真贯彻落实。全面实现“一网通办”。"]
    path = tmp_path / "page.html"
    path.write_text(html_page(lines[1:], title=lines[0]), encoding="utf-8")
    document = read_document(path)
    assert content_lines(document.text) == lines
    for chrome in ("首页", "当前位置", "版权所有", "联系我们", "var ", "text-indent", "font-family", "统计代码"):
        assert chrome not in document.text
    assert (document.format, document.title, document.date, document.site) == \
        ("html", lines[0], "2021-06-18", "浙江省人民政府门户网站")
    removed = {item.what: item.chars for item in document.removed}
    assert removed["page chrome"] >= len("首页政务公开政务服务当前位置：首页>政务公开>政策文件")
    assert removed["markup, scripts and styles"] > 500


def test_txt_file_holding_an_html_page_is_read_as_html(tmp_path):
    path = tmp_path / "saved.txt"
    path.write_text(html_page(["全面实现“一网通办”，推进“一网统管”。"], title="标题"), encoding="utf-8")
    document = read_document(path)
    assert document.format == "html"
    assert content_lines(document.text) == ["标题", "全面实现“一网通办”，推进“一网统管”。"]


@pytest.mark.parametrize("declared", ["gb18030", "GB2312"])
def test_html_page_in_gb18030_is_decoded_by_its_meta_charset(tmp_path, declared):
    lines = ["浙江省数字政府建设规划", "全面实现依申请政务服务事项“一网通办”，建设“浙里办”。𠀀𡃁"]
    path = tmp_path / "page.htm"
    path.write_bytes(html_page(lines[1:], title=lines[0], encoding=declared).encode("gb18030"))
    document = read_document(path)
    assert document.encoding == "gb18030" and content_lines(document.text) == lines


def test_word_file_gives_paragraphs_and_table_rows_in_reading_order(tmp_path):
    table = [["地区", "政策名称", "主要内容"],
             ["北京市", "《北京市“十四五”时期智慧城市发展行动纲要》", "推进“一网通办”"]]
    path = word_file(tmp_path / "plan.docx", ["一、各省规划", table, "二、小结：全面实现“一网统管”。"],
                     title="各省规划汇总")
    document = read_document(path)
    assert content_lines(document.text) == ["一、各省规划", "地区 | 政策名称 | 主要内容 |",
                                            "北京市 | 《北京市“十四五”时期智慧城市发展行动纲要》 | 推进“一网通办” |",
                                            "二、小结：全面实现“一网统管”。"]
    assert (document.format, document.title) == ("docx", "各省规划汇总")


def test_page_indented_with_ideographic_and_no_break_spaces_is_text_not_binary(tmp_path):
    path = tmp_path / "page.txt"
    text = "\u3000\u3000一网通办。\n\u00a0\u00a0一网统管。\n" * 20
    path.write_text(text, encoding="utf-8")
    assert read_document(path).text == text


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory, bundled_text) -> dict[str, tuple[str, bytes]]:
    """Files a collector may save that cannot be read, each with its name and bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.font_manager import FontProperties

    from helpers.fonts import cjk_font_file

    folder = tmp_path_factory.mktemp("bad")
    figure = plt.figure(figsize=(8.27, 11.69), dpi=60)
    figure.text(0.1, 0.8, "浙江省人民政府文件\n全面实现“一网通办”", fontsize=24,
                fontproperties=FontProperties(fname=cjk_font_file()))
    figure.savefig(folder / "scan.png")
    plt.close(figure)
    pdf = typeset(folder / "typst", TYPESET, {"page.txt": bundled_text.encode()})
    return {
        "scanned PDF": ("scan.pdf", typeset(folder / "scan", SCAN, {"scan.png": (folder / "scan.png").read_bytes()})),
        "truncated PDF": ("cut.pdf", pdf[: len(pdf) // 2]),
        "Word 97-2003 file": ("plan.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 4),
        "truncated Word file": ("cut.docx", word_file(folder / "cut.docx", ["一网通办"]).read_bytes()[:600]),
        "error page saved as PDF": ("plan.pdf", b"<html><body><h1>404 Not Found</h1></body></html>"),
        "PDF saved as .txt": ("plan.txt", pdf),
        "notes listed as a document": ("URLS.md", "# 网址\nhttp://www.zj.gov.cn\n".encode()),
        "image listed as a document": ("page.png", (folder / "scan.png").read_bytes()),
    }


BAD_MESSAGES = {
    "scanned PDF": "no text layer (a scan?); OCR is needed",
    "truncated PDF": "the PDF is truncated",
    "Word 97-2003 file": "save it as .docx or PDF",
    "truncated Word file": "cannot be read as a Word .docx file",
    "error page saved as PDF": "is not a PDF but text",
    "PDF saved as .txt": "is a PDF, not text; rename it to .pdf",
    "notes listed as a document": "a .md file is not a document format read here",
    "image listed as a document": "is a PNG image, not a document with text; run OCR on it",
}


@pytest.mark.parametrize("case", sorted(BAD_MESSAGES))
def test_file_that_cannot_be_read_is_refused_in_one_line_naming_it_and_what_to_do(tmp_path, bad_files, case):
    name, data = bad_files[case]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ProjectError, match=re.escape(BAD_MESSAGES[case])) as error:
        read_document(path)
    assert str(error.value).startswith(f"{path}: ") and "\n" not in str(error.value)


@pytest.mark.parametrize("case", ["scanned PDF", "truncated PDF", "Word 97-2003 file"])
def test_command_line_refuses_a_bad_file_in_one_line_with_status_2_and_earlier_outputs_stay(root, tmp_path,
                                                                                          bad_files, case):
    name, data = bad_files[case]
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "sources.csv").write_text(f"source_id,file\na,a.txt\nb,{name}\n", encoding="utf-8")
    (raw / "a.txt").write_text("浙江省全面实现“一网通办”。\n", encoding="utf-8")
    (raw / name).write_bytes(data)
    earlier = {tmp_path / "interim" / "sources_meta.csv": b"source_id\nold\n",
               tmp_path / "processed" / "passages.csv": b"passage_id\nold-0001\n"}
    for path, content in earlier.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    folders = [f"{folder}_dir={tmp_path / folder}" for folder in ("interim", "processed", "figures", "build", "report")]
    command = [sys.executable, "-m", "helpers.pipeline", "-p", f"raw_dir={raw}",
               *[item for folder in folders for item in ("-p", folder)]]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"{raw / name}: " in result.stderr and BAD_MESSAGES[case] in result.stderr
    assert all(path.read_bytes() == content for path, content in earlier.items())
    assert not (tmp_path / "build").exists() and not (tmp_path / "figures").exists()


def test_notes_in_the_folder_are_ignored_and_an_unlisted_document_is_refused_by_name(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "sources.csv").write_text("source_id,file\na,a.html\n", encoding="utf-8")
    (raw / "a.html").write_text(html_page(["全面实现“一网通办”。"], title="标题"), encoding="utf-8")
    for notes in ("URLS.md", "README.md", "README.txt", "~$plan.docx", ".plan.pdf.part", "links.csv"):
        (raw / notes).write_text("http://www.zj.gov.cn\n", encoding="utf-8")
    assert list(load_manifest(raw)["file"]) == ["a.html"]
    assert read_sources(raw, load_manifest(raw)) == {"a": "标题\n全面实现“一网通办”。\n"}
    for unlisted in ("plan.pdf", "plan.docx", "plan.doc", "page.htm"):
        (raw / unlisted).write_bytes(b"x")
        with pytest.raises(ProjectError, match=f"file\\(s\\) {unlisted} not in the manifest"):
            load_manifest(raw)
        (raw / unlisted).unlink()


def test_sources_table_marks_metadata_inferred_from_the_file_and_audit_counts_what_extraction_removed(
        bundled_formats, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for suffix in (".txt", ".html", ".pdf", ".docx"):
        (raw / f"plan{suffix}").write_bytes(bundled_formats[suffix].read_bytes())
    (raw / "sources.csv").write_text("source_id,file,title,date\nd,plan.docx,,\nh,plan.html,,\n"
                                     "p,plan.pdf,规划,2021-06-20\nt,plan.txt,,\n", encoding="utf-8")
    manifest = load_manifest(raw)
    documents = read_documents(raw, manifest)
    table = document_table(manifest, documents).set_index("source_id")
    assert list(table["format"]) == ["docx", "html", "pdf", "text"]
    assert table.loc["t", "encoding"] == "utf-8" and table.loc["p", "encoding"] == ""
    assert table.loc["h", "inferred"] == "title date site" and table.loc["h", "date"] == "2021-06-18"
    assert table.loc["h", "site"] == "浙江省人民政府门户网站"
    assert table.loc["p", ["title", "date", "inferred"]].tolist() == ["规划", "2021-06-20", ""]
    assert table.loc["t", "inferred"] == "" and table.loc["t", "extraction"] == "text"
    audit = extraction_audit(documents)
    rules = set(zip(audit["source_id"], audit["rule"], strict=True))
    assert {("h", "extraction: page chrome"), ("h", "extraction: markup, scripts and styles"),
            ("p", "extraction: running header or footer"), ("p", "extraction: page number"),
            ("p", "extraction: line breaks in sentences")} <= rules
    assert not {source for source, _ in rules} & {"d", "t"}
    pages = audit.set_index(["source_id", "rule"]).loc[("p", "extraction: page number")]
    assert pages["lines_dropped"] == documents["p"].pages and pages["chars_removed"] > 0


def test_same_file_gives_the_same_extraction(bundled_formats):
    for path in bundled_formats.values():
        assert read_document(path) == read_document(path)


def test_html_date_comes_from_markup_not_from_target_years_in_the_text(tmp_path):
    lines = [f"第{number}条：到2035年12月31日，全面实现“一网通办”，数字政府建设目标全部完成。" for number in range(6)]
    path = tmp_path / "page.html"
    path.write_text(html_page(lines, title="规划").replace('<meta name="PubDate" content="2021-06-18 10:35">', ""),
                    encoding="utf-8")
    assert read_document(path).date == ""
