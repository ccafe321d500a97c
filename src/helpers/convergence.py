"""Convergence toward the national programmes: adoption dates, adoption curves, similarity to national text.

Dates are "YYYY-MM", "YYYY" or "". For ordering, a bare year counts as its January ("2021" as "2021-01"); the
tables keep the date as written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import permutations

import numpy as np
import pandas as pd
from scipy import sparse, stats
from sklearn.metrics.pairwise import cosine_similarity

from helpers.config import ProjectError
from helpers.passages import NATIONAL
from helpers.status import empty_like, status_table
from helpers.tfidf import df_limits, fit_tfidf, term_count

ADOPTION_COLUMNS = ["concept", "province", "level", "first_date", "n_passages", "n_mentions"]
CURVE_COLUMNS = ["concept", "date", "n_provinces", "share"]
SIMILARITY_COLUMNS = ["province", "date", "similarity", "n_chars"]
SPREAD_COLUMNS = ["year", "n_provinces", "median", "iqr", "mean_pairwise"]
MIN_TREND = 3  # dated provinces needed for a rank correlation of similarity with the plan date
EXACT_TREND = 8  # up to this many dated provinces the p-value is exact (all orderings), not the t approximation


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
    """Return, per focus concept and mentioning province or the nation, the first date, passages and mentions.

    A city's mentions count for its province (level "province").
    """
    mentions = concept_mentions[concept_mentions["concept"].isin(check_focus(focus))]
    mentions = mentions.assign(level=mentions["level"].where(mentions["level"] == "national", "province"))
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
    provincial = passages[(passages["level"] != "national") & (passages["date"].astype(str) != "")]
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
    provincial = (table["level"] != "national").to_numpy()
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
    """Return the Spearman correlation of similarity with plan date over dated provinces, with n and p.

    With few provinces (EXACT_TREND or fewer) p is exact, from every pairing of dates and similarities: the
    t approximation calls a perfect ordering of three provinces significant, which it is not (p = 1/3).

    rho and p_value are NaN when trend_skip_reason gives a reason (too few dated provinces, one date for all,
    or one similarity for all).
    """
    dated = similarity[similarity["date"].astype(str).str.len() > 0]
    if trend_skip_reason(similarity):
        return {"rho": np.nan, "p_value": np.nan, "n": len(dated)}
    ranks = dated["date"].map(date_key).rank().to_numpy(dtype=float)
    values = dated["similarity"].astype(float).to_numpy()
    rho = float(stats.spearmanr(ranks, values)[0])
    p_value = exact_rank_p(ranks, values, rho) if len(dated) <= EXACT_TREND else stats.spearmanr(ranks, values)[1]
    return {"rho": rho, "p_value": float(p_value), "n": len(dated)}


def exact_rank_p(first: np.ndarray, second: np.ndarray, rho: float) -> float:
    """Two-sided p of a Spearman correlation from every pairing of the two samples (for small samples)."""
    x = stats.rankdata(first) - stats.rankdata(first).mean()
    y = stats.rankdata(second) - stats.rankdata(second).mean()
    pairings = y[np.array(list(permutations(range(len(y)))))]
    correlations = pairings @ x / (np.linalg.norm(x) * np.linalg.norm(y))
    return float(np.mean(np.abs(correlations) >= abs(rho) - 1e-12))


def trend_skip_reason(similarity: pd.DataFrame) -> str:
    """Why similarity cannot be correlated with the plan date, or "" when it can."""
    dated = similarity[similarity["date"].astype(str).str.len() > 0]
    if len(dated) < MIN_TREND:
        have = {0: "no province has", 1: "only 1 province has"}.get(len(dated), f"only {len(dated)} provinces have")
        return f"{have} a dated plan, and a trend needs at least {MIN_TREND}"
    if dated["date"].map(date_key).nunique() == 1:
        return f"all {len(dated)} dated provinces have the same plan date, {dated['date'].iloc[0]}"
    if dated["similarity"].astype(float).round(12).nunique() == 1:
        return f"all {len(dated)} dated provinces are equally similar to the national text"
    return ""


def adoption_curve_skip_reason(passages: pd.DataFrame) -> str:
    """Why there is no adoption curve (no dated provincial passage), or ""."""
    provincial = passages[passages["level"] != "national"]
    if provincial.empty:
        return "no passage is about a province"
    if not (provincial["date"].astype(str) != "").any():
        return "no provincial passage is dated, so adoption cannot be placed in time"
    return ""


def similarity_skip_reason(passages: pd.DataFrame, tokens: pd.DataFrame, min_df: float, max_df: float) -> str:
    """Why provincial texts cannot be compared with national ones, or "" when they can."""
    levels = set(passages["level"])
    if not levels - {"national"}:
        return "no passage is about a province, so there is nothing to compare with the national texts"
    if "national" not in levels:
        return "the corpus has no national passage to compare the provinces with"
    table = passages[["passage_id", "level"]].merge(tokens[["passage_id", "tokens"]], on="passage_id", how="left")
    token_lists = table["tokens"].fillna("").astype(str).tolist()
    if not term_count(token_lists, min_df, max_df):
        return (f"no term occurs {df_limits(len(table), min_df, max_df, 'passages')}; "
                "a lower min_df would let rarer terms count")
    matrix, _ = fit_tfidf(token_lists, min_df, max_df)
    if not (matrix[(table["level"] == "national").to_numpy()].getnnz(axis=1) > 0).any():
        return "no national passage keeps a term left by min_df/max_df"
    return ""


CONVERGENCE_TABLES: dict[str, tuple[list[str], list[str]]] = {
    "adoption": (["concept", "level", "province"], ADOPTION_COLUMNS),
    "adoption_curve": (["concept", "date"], CURVE_COLUMNS),
    "similarity": (["province"], SIMILARITY_COLUMNS),
    "similarity_spread": ([], SPREAD_COLUMNS),
}


@dataclass
class ConvergenceStage:
    """What the convergence stage writes: its tables by name (see CONVERGENCE_TABLES) and its status table."""

    tables: dict[str, pd.DataFrame]
    status: pd.DataFrame


def convergence_stage(passages: pd.DataFrame, mentions: pd.DataFrame, tokens: pd.DataFrame, focus: Sequence[str],
                      min_df: float, max_df: float) -> ConvergenceStage:
    """Adoption of the focus programmes, its curve, similarity to national text, its spread and its trend.

    Each measure the corpus cannot support is written empty and the status table says why.
    """
    adopted = adoption(mentions, passages, focus)
    reasons = {"adoption": "", "adoption_curve": adoption_curve_skip_reason(passages),
               "similarity": similarity_skip_reason(passages, tokens, min_df, max_df)}
    tables = {"adoption": adopted, "adoption_curve": adoption_curve(adopted, passages, focus),
              "similarity": empty_like(SIMILARITY_COLUMNS), "similarity_spread": empty_like(SPREAD_COLUMNS)}
    if not reasons["similarity"]:
        tables["similarity"] = similarity_to_national(passages, tokens, min_df, max_df)
        tables["similarity_spread"] = similarity_spread(passages, tokens, min_df, max_df)
        reasons["trend"] = trend_skip_reason(tables["similarity"])
    else:
        reasons["trend"] = "skipped with the similarity"
    return ConvergenceStage(tables, status_table(reasons))
