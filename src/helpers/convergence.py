"""Convergence toward the national programmes: adoption dates, adoption curves, similarity to national text.

Dates are "YYYY-MM", "YYYY" or "". For ordering, a bare year counts as its January ("2021" as "2021-01"); the
tables keep the date as written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import sparse, stats
from sklearn.metrics.pairwise import cosine_similarity

from helpers.config import ProjectError
from helpers.passages import NATIONAL
from helpers.tfidf import fit_tfidf

ADOPTION_COLUMNS = ["concept", "province", "level", "first_date", "n_passages", "n_mentions"]
CURVE_COLUMNS = ["concept", "date", "n_provinces", "share"]


def date_key(date: str) -> str:
    """Return a date's sort key: "YYYY" becomes "YYYY-01", "YYYY-MM" and "" stay as they are."""
    return f"{date}-01" if len(date) == 4 else date


def earliest_date(dates: Iterable[str]) -> str:
    """Return the earliest non-empty date as written (the more precise one on a tie), or "" when none."""
    dated = [date for date in dates if date]
    return min(dated, key=lambda date: (date_key(date), -len(date))) if dated else ""


def check_focus(focus: Sequence[str]) -> list[str]:
    """Return the focus concepts as a sorted list; raise a ProjectError when there are none."""
    if isinstance(focus, str) or not focus:
        raise ProjectError(f"focus_concepts={focus!r}: must be a non-empty list of concepts of concepts.csv")
    return sorted(set(focus))


def adoption(concept_mentions: pd.DataFrame, passages: pd.DataFrame, focus: Sequence[str]) -> pd.DataFrame:
    """Return, per focus concept and mentioning province or level, the first date, passages and mentions."""
    mentions = concept_mentions[concept_mentions["concept"].isin(check_focus(focus))]
    mentions = mentions.merge(passages[["passage_id", "date"]], on="passage_id", how="left",
                              validate="many_to_one")
    mentions = mentions.assign(date=mentions["date"].fillna("").astype(str))
    table = mentions.groupby(["concept", "province", "level"], sort=True).agg(
        first_date=("date", earliest_date), n_passages=("passage_id", "nunique"), n_mentions=("count", "sum"))
    return table.reset_index()[ADOPTION_COLUMNS]


def month_grid(passages: pd.DataFrame) -> list[str]:
    """Return every month "YYYY-MM" from the earliest to the latest dated passage."""
    keys = sorted(date_key(date) for date in passages["date"].astype(str) if date)
    if not keys:
        return []
    return pd.period_range(keys[0], keys[-1], freq="M").strftime("%Y-%m").tolist()


def adoption_curve(adoption: pd.DataFrame, passages: pd.DataFrame, focus: Sequence[str]) -> pd.DataFrame:
    """Return per focus concept and month the cumulative number and share of provinces that mention it."""
    provincial = passages[(passages["level"] == "province") & (passages["date"].astype(str) != "")]
    n_dated = provincial["province"].nunique()
    months = month_grid(passages)
    if not months or not n_dated:
        return pd.DataFrame(columns=CURVE_COLUMNS)
    adopters = adoption[(adoption["level"] == "province") & (adoption["first_date"] != "")]
    records = []
    for concept in check_focus(focus):
        dates = adopters.loc[adopters["concept"] == concept, "first_date"]
        firsts = np.sort(dates.map(date_key).to_numpy(str))
        counts = np.searchsorted(firsts, months, side="right")
        records += [[concept, month, int(count), count / n_dated]
                    for month, count in zip(months, counts, strict=True)]
    return pd.DataFrame(records, columns=CURVE_COLUMNS)


def national_first_use(adoption: pd.DataFrame) -> pd.DataFrame:
    """Return each concept's earliest dated national mention, "" when no dated national passage has it."""
    national = adoption[adoption["level"] == "national"].groupby("concept")["first_date"].agg(earliest_date)
    concepts = sorted(adoption["concept"].unique())
    first_dates = [national.get(concept, "") for concept in concepts]
    return pd.DataFrame({"concept": concepts, "first_date": first_dates})


def group_means(matrix: sparse.csr_matrix, groups: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Return the sorted group names and the mean row of each group, counting only rows with a term."""
    names = sorted(set(groups))
    index = {name: number for number, name in enumerate(names)}
    has_terms = (matrix.getnnz(axis=1) > 0).astype(float)
    members = sparse.csr_matrix((has_terms, ([index[group] for group in groups], np.arange(len(groups)))),
                                shape=(len(names), matrix.shape[0]))
    counts = np.maximum(np.asarray(members.sum(axis=1)).ravel(), 1)
    return names, np.asarray((sparse.diags(1 / counts) @ members @ matrix).todense())


def province_vectors(passages: pd.DataFrame, tokens: pd.DataFrame, min_df: float,
                     max_df: float) -> tuple[pd.DataFrame, list[str], np.ndarray, np.ndarray]:
    """Return the passages with tokens, the province names, their mean TF-IDF rows and the national centroid."""
    table = passages[["passage_id", "province", "level", "date", "text"]].merge(
        tokens[["passage_id", "tokens"]], on="passage_id", how="left", validate="one_to_one")
    table = table.assign(tokens=table["tokens"].fillna("").astype(str),
                         date=table["date"].fillna("").astype(str))
    table = table.sort_values("passage_id", ignore_index=True)
    matrix, _ = fit_tfidf(table["tokens"].tolist(), min_df, max_df)
    national = (table["level"] == "national").to_numpy() & (matrix.getnnz(axis=1) > 0)
    if not national.any():
        raise ProjectError(f"no national passage (province {NATIONAL}) has a term left by min_df/max_df; "
                           "similarity to national text needs one: check passages.csv or lower min_df")
    centroid = np.asarray(matrix[national].mean(axis=0))
    provincial = (table["level"] == "province").to_numpy()
    names, means = group_means(matrix[provincial], table.loc[provincial, "province"].tolist())
    return table[provincial], names, means, centroid


def similarity_to_national(passages: pd.DataFrame, tokens: pd.DataFrame, min_df: float,
                           max_df: float) -> pd.DataFrame:
    """Return per province the cosine of its mean passage TF-IDF vector to the national passages' centroid."""
    table, names, means, centroid = province_vectors(passages, tokens, min_df, max_df)
    grouped = table.groupby("province", sort=True)
    return pd.DataFrame({
        "province": names,
        "date": grouped["date"].agg(earliest_date).loc[names].to_numpy(),
        "similarity": cosine_similarity(means, centroid).ravel(),
        "n_chars": grouped["text"].agg(lambda texts: int(texts.str.len().sum())).loc[names].to_numpy(),
    })


def similarity_spread(passages: pd.DataFrame, tokens: pd.DataFrame, min_df: float,
                      max_df: float) -> pd.DataFrame:
    """Return, per plan year (year of a province's earliest dated passage; "undated" last), the spread.

    Columns: year, n_provinces, median and iqr of the similarity to the national centroid, and mean_pairwise,
    the mean cosine between the provinces of that year (NaN with fewer than two). Convergence shows as a
    rising median and a shrinking IQR, and as provinces of later years resembling each other more.
    """
    table, names, means, centroid = province_vectors(passages, tokens, min_df, max_df)
    to_national = cosine_similarity(means, centroid).ravel()
    first = table.groupby("province", sort=True)["date"].agg(earliest_date).reindex(names)
    years = [date[:4] if date else "undated" for date in first]
    records = []
    for year in sorted(set(years), key=lambda value: (value == "undated", value)):
        members = [index for index, other in enumerate(years) if other == year]
        values = to_national[members]
        pairwise = cosine_similarity(means[members])[np.triu_indices(len(members), k=1)]
        records.append([year, len(members), float(np.median(values)),
                        float(np.subtract(*np.percentile(values, [75, 25]))),
                        float(pairwise.mean()) if len(pairwise) else np.nan])
    return pd.DataFrame(records, columns=["year", "n_provinces", "median", "iqr", "mean_pairwise"])


def similarity_trend(similarity: pd.DataFrame) -> dict[str, float]:
    """Return the Spearman correlation of similarity with plan date over dated provinces, with n and p."""
    dated = similarity[similarity["date"].astype(str).str.len() > 0]
    if len(dated) < 3:
        return {"rho": np.nan, "p_value": np.nan, "n": len(dated)}
    rho, p_value = stats.spearmanr(dated["date"].map(date_key).rank(), dated["similarity"])
    return {"rho": float(rho), "p_value": float(p_value), "n": len(dated)}
