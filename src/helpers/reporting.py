"""Markdown building blocks for the report notebook: tables, figures, lists and numbers in prose."""

from __future__ import annotations

import pandas as pd
from IPython.display import Markdown


def md_table(table: pd.DataFrame, caption: str, label: str, align: str | None = None) -> str:
    """Return a pipe table with a Quarto caption line `: caption {#tbl-label}`."""
    align = align or "".join("r" if pd.api.types.is_numeric_dtype(table[col]) else "l" for col in table.columns)
    rule = {"l": ":---", "r": "---:", "c": ":---:"}
    lines = ["| " + " | ".join(map(str, table.columns)) + " |", "| " + " | ".join(rule[a] for a in align) + " |"]
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(value) for value in row) + " |")
    return "\n".join(lines) + f"\n\n: {caption} {{#tbl-{label}}}\n"


def _cell(value: object) -> str:
    """Format one table cell: floats with three significant digits, pipes escaped, no line breaks."""
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def md_figure(file: str, caption: str, label: str, alt: str) -> str:
    """Return a Quarto figure: an image from the report's figures folder with caption, label and alt text."""
    alt = alt.replace('"', "'")
    return f'![{caption}](figures/{file}){{#fig-{label} fig-alt="{alt}"}}\n'


def names(items: list[str] | pd.Series, empty: str = "none") -> str:
    """Join Chinese names with the enumeration comma, or return `empty`."""
    items = list(items)
    return "、".join(items) if items else empty


def show(*blocks: str) -> Markdown:
    """Display markdown blocks as one Markdown output (what the renderer takes into the report)."""
    return Markdown("\n\n".join(blocks))
