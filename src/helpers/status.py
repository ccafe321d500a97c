"""What each analysis stage did with its corpus: every analysis done, or skipped with the reason in words.

A stage writes one status table (`<stage>_status.csv`) with a row per analysis it runs. An analysis the corpus
cannot support is skipped rather than failing: its tables are written with their columns and no rows, its
figures are not drawn, and the report says, from the reason given here, what was skipped and why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

STATUS_COLUMNS = ["analysis", "status", "reason"]
DONE, SKIPPED = "done", "skipped"


def status_table(reasons: Mapping[str, str]) -> pd.DataFrame:
    """Return a status table from analysis -> reason, in the given order; an empty reason means done."""
    records = [[analysis, SKIPPED if reason else DONE, reason] for analysis, reason in reasons.items()]
    return pd.DataFrame(records, columns=STATUS_COLUMNS)


def skip_reason(status: pd.DataFrame, analysis: str) -> str:
    """Return why an analysis was skipped, or "" when it was done or is not in the table."""
    rows = status[(status["analysis"] == analysis) & (status["status"] == SKIPPED)]
    return str(rows["reason"].iloc[0]) if len(rows) else ""


def is_done(status: pd.DataFrame, analysis: str) -> bool:
    """Whether the status table lists the analysis as done."""
    return bool(((status["analysis"] == analysis) & (status["status"] == DONE)).any())


def empty_like(columns: list[str]) -> pd.DataFrame:
    """Return a table with these columns and no rows: the written form of a skipped analysis."""
    return pd.DataFrame({column: pd.Series(dtype=object) for column in columns})


def number_span(values: Iterable[int]) -> str:
    """Write whole numbers compactly: '3–10' for a run, '2, 4, 7' otherwise, '' for none."""
    numbers = sorted(set(values))
    if len(numbers) > 2 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]}–{numbers[-1]}"
    return ", ".join(map(str, numbers))
