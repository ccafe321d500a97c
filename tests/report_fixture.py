"""An executed report notebook with what the report's layout must survive, for the renderer tests.

It has the report's kind of front matter, three heading levels, curly quotes in Latin text (also in a bold
heading), bold CJK terms, italic pinyin, a table too wide for the page whose pipe-table dashes give its first
column almost no room (as the report's Table 1 did), a numeric table that fits but whose long source lines make
pandoc read widths from the dashes (as Table 10 did), a 150-row table that must break across pages, and a figure.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import matplotlib
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

FRONT_MATTER = """---
title: "One network for all? Provincial plans and the national 一网通办 and 一网统管 programmes"
subtitle: "A layout test of the report"
lang: en
format:
  html:
    toc: true
    toc-depth: 2
    number-sections: true
    embed-resources: true
    css: [style.css, cjk-font.css]
  typst:
    toc: true
    number-sections: true
    section-numbering: "1.1"
    mainfont: "Noto Sans SC"
    papersize: a4
execute:
  echo: false
---"""

TITLES = ["2021年中央和地方数字政府政策汇总 (untitled on the page)", "2021年各地“数字政府”建设政策及措施",
          "2021-2026年中国数字政府建设行业市场发展现状调研及投资前景预测研究报告 (excerpt)",
          "智慧政务行业政策梳理 (untitled on the page)", "浙江省人民政府关于印发浙江省数字政府建设“十四五”规划的通知"]
SITES = ["", "大数据中国 (Discuz! forum)", "中研普华产业研究院", "中国报告网 (观研报告网)", "浙江省人民政府门户网站"]
SOURCES = ("| Id | Title | Site | Date | Script | Raw chars | Clean chars | Passages | Provinces |\n"
           "| :--- | :" + "-" * 80 + " | :" + "-" * 26 + " | :---------- | :----------- | ---------: | -----------: "
           "| --------: | ---------: |\n"
           + "".join(f"| 00{index} | {title} | {site} | {'not stated' if index % 2 else '2021-06-20'} | "
                     f"{'traditional' if index % 2 else 'simplified'} | 9251 | 3839 | 40 | 19 |\n"
                     for index, (title, site) in enumerate(zip(TITLES, SITES, strict=True)))
           + "\n: The sources of the corpus (from the manifest sources.csv). {#tbl-sources}\n")
RUNS = ("| Run | Topics | Topic match | Clusters | Silhouette | ARI vs baseline | Bootstrap ARI | Terms overlap "
        "| Similarity ρ | Trend ρ |\n"
        "| :------------------- | ------: | -----------: | --------: | ----------: | ---------------: | ---------: "
        "| -------------: | ------------: | -------: |\n"
        + "".join(f"| {run} | 4 | 0.938 | 3 | 0.477 | 0.914 | 0.313 | 0.426 | 0.917 | -0.296 |\n"
                  for run in ("baseline", "n_topics=3", "min_df=1", "cluster_input=tfidf"))
        + "\n: Conclusions of the baseline and of each variant. {#tbl-runs}\n")
PROVINCES = "北京 天津 河北 山西 内蒙古 辽宁 吉林 黑龙江 上海 江苏 浙江 安徽 福建 江西 山东".split()
LONG_ROWS = 150
LONG = ("| Passage | Province | Similarity |\n| :-- | :-- | --: |\n"
        + "".join(f"| row {index:03d} | {PROVINCES[index % len(PROVINCES)]} | 0.{index:03d} |\n"
                  for index in range(1, LONG_ROWS + 1))
        + "\n: Similarity of every passage. {#tbl-long}\n")


def markdown_output(text: str) -> nbformat.NotebookNode:
    """Return a display_data output holding markdown, as IPython.display.Markdown produces."""
    return new_output("display_data", data={"text/markdown": text, "text/plain": "<IPython.core.display.Markdown>"})


def write_layout_notebook(folder: Path) -> Path:
    """Write the executed layout-test notebook and its figure into `folder`; return the notebook's path."""
    (folder / "figures").mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(4, 2.5))
    ax.plot([0, 1, 2], [0, 2, 1])
    fig.savefig(folder / "figures" / "trend.png", dpi=40)
    plt.close(fig)
    cells = [
        new_raw_cell(FRONT_MATTER),
        new_markdown_cell("**Abstract.** We trace 一网通办 across China's provinces, from 5 sources."),
        new_markdown_cell("# Introduction {#sec-intro}\n\nSince 2018 China's central government has asked every "
                          "province to build a “digital government” (数字政府). **一网通办** (*yī wǎng tōng bàn*, "
                          "“one network handles everything”) began in Shanghai; **一网统管** (*yī wǎng tǒng guǎn*) "
                          "followed. @tbl-sources lists the sources and @fig-trend shows the trend."),
        new_code_cell("show(sources)", outputs=[markdown_output(
            "The corpus holds 5 sources (@tbl-sources).\n\n" + SOURCES
            + "\n![Mentions over time.](figures/trend.png){#fig-trend fig-alt=\"Line chart of mentions.\"}\n")]),
        new_markdown_cell("## The “one network” idea {#sec-idea}\n\nProvinces write their own plans.\n\n"
                          "### A third-level heading {#sec-deep}\n\nIt stays out of the contents."),
        new_markdown_cell("# Robustness {#sec-robust}\n\n@tbl-runs reruns the analysis; @tbl-long follows."),
        new_code_cell("show(runs)", outputs=[markdown_output(RUNS), markdown_output(
            "Every passage is compared with the national texts; the long table follows right here.\n\n" + LONG)]),
        new_markdown_cell("# Limitations {#sec-limits}\n\nThe corpus is small."),
    ]
    path = folder / "report.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    return path


def stand_in_quarto(calls: list) -> object:
    """A subprocess.run that plays quarto: it records (command, folder, font path) in calls and writes a stub
    report.html or report.pdf; every other command runs for real."""
    run = subprocess.run

    def fake_run(command, **kwargs):
        if command[0] != "quarto":
            return run(command, **kwargs)
        calls.append((command, Path(kwargs["cwd"]), kwargs["env"].get("TYPST_FONT_PATHS")))
        target = "html" if command[command.index("--to") + 1] == "html" else "pdf"
        (Path(kwargs["cwd"]) / f"report.{target}").write_text(f"quarto {target}")
        return subprocess.CompletedProcess(command, 0, stdout="", stderr="")

    return fake_run
