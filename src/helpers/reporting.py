"""Markdown building blocks for the report notebook: tables, figures, lists and numbers in prose."""

from __future__ import annotations

import math
import unicodedata

import pandas as pd
from IPython.display import Markdown


def md_table(table: pd.DataFrame, caption: str, label: str, align: str | None = None) -> str:
    """Return a pipe table with a Quarto caption line `: caption {#tbl-label}`."""
    align = align or "".join("r" if pd.api.types.is_numeric_dtype(table[col]) else "l" for col in table.columns)
    rows = [[_cell(value) for value in row] for row in table.itertuples(index=False)]
    widths = [max(map(_display_width, [str(name)] + [row[index] for row in rows])) for index, name in
              enumerate(table.columns)]
    rule = [_rule(alignment, width) for alignment, width in zip(align, widths, strict=True)]
    lines = ["| " + " | ".join(map(str, table.columns)) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + f"\n\n: {caption} {{#tbl-{label}}}\n"


def _rule(alignment: str, width: int) -> str:
    """Return a column's rule, its dashes proportional to the content: pandoc sizes long tables by them."""
    dashes = "-" * max(3, width)
    return {"l": ":" + dashes, "r": dashes + ":", "c": ":" + dashes + ":"}[alignment]


def _display_width(text: str) -> int:
    """Return the width of a text in columns: CJK characters count two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


MISSING = "–"  # how a table shows a value that does not exist (never "nan" or "None")


def _cell(value: object) -> str:
    """Format one table cell: floats with three significant digits, a dash when missing, pipes escaped, no
    line breaks."""
    if value is None or value is pd.NA or isinstance(value, float) and math.isnan(value):
        return MISSING
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


# Agreement between two clusterings by adjusted Rand index, after Hennig's (2007) reading of bootstrap Jaccard
# values: at least 0.85 highly stable, 0.75 stable, 0.6 a pattern, below that dissolved.
AGREEMENT = ((0.85, "high"), (0.75, "good"), (0.6, "partial"), (-1.0, "poor"))


def agreement(ari: float) -> str:
    """Describe an adjusted Rand index (bootstrap or between runs) in words, by the thresholds of AGREEMENT."""
    return next(word for threshold, word in AGREEMENT if ari >= threshold)


def trend_words(rho: float, p_value: float, alpha: float = 0.05) -> str:
    """Describe a rank correlation with time: rises, falls, or no clear trend at significance alpha."""
    if not p_value == p_value or p_value >= alpha:  # NaN or not significant
        return "shows no clear trend with the plan date"
    return "rises with the plan date" if rho > 0 else "falls with the plan date"


def value_range(values: pd.Series, digits: int = 2) -> str:
    """Return 'low–high' of some numbers ('low to high' when low is negative), the number itself when there is
    one, or 'n/a' when there are none."""
    values = pd.Series(values, dtype=float).dropna()
    if values.empty:
        return "n/a"
    low, high = f"{values.min():.{digits}f}", f"{values.max():.{digits}f}"
    return low if low == high else f"{low} to {high}" if values.min() < 0 else f"{low}–{high}"
