"""Keyness: the terms a group (a province, a cluster) over-uses against the rest of the corpus.

Each term of each group is scored on its 2x2 table of token counts (the term vs. every other token, in the
group vs. in the rest of the corpus) with Dunning's log-likelihood G2 and Pearson's chi-squared; the p-value
is that of G2 on the chi-squared distribution with one degree of freedom.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import xlogy
from sklearn.feature_extraction.text import CountVectorizer

from helpers.config import ProjectError

KEYNESS_COLUMNS = ["group", "rank", "term", "count", "expected", "g2", "chi2", "p_value", "direction"]
TOLERANCE = 1e-9


def group_tokens(passages: pd.DataFrame, tokens: pd.DataFrame,
                 groups: Mapping[str, Hashable]) -> pd.DataFrame:
    """Join the tokens of each group's passages in passage order, leaving out unmapped provinces."""
    table = passages[["passage_id", "province"]].merge(
        tokens[["passage_id", "tokens"]], on="passage_id", how="left", validate="one_to_one")
    table = table[table["province"].isin(list(groups))].sort_values("passage_id", kind="stable")
    table = table.assign(group=table["province"].map(groups), tokens=table["tokens"].fillna("").astype(str))
    joined = table.groupby("group", sort=True)["tokens"].agg(
        lambda column: " ".join(text for text in column if text))
    return joined.reset_index()[["group", "tokens"]]


def contingency_scores(count: np.ndarray, group_total: np.ndarray, term_total: np.ndarray,
                       total: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the expected count in the group, G2 and chi-squared of each (count, group, term) 2x2 table."""
    rest_total = total - group_total
    observed = [count, term_total - count, group_total - count, rest_total - term_total + count]
    expected = [group_total * term_total / total, rest_total * term_total / total,
                group_total * (total - term_total) / total, rest_total * (total - term_total) / total]
    g2 = 2 * sum(xlogy(cell, cell) - xlogy(cell, fit) for cell, fit in zip(observed, expected, strict=True))
    chi2 = sum(np.divide((cell - fit) ** 2, fit, out=np.zeros_like(fit), where=fit > 0)
               for cell, fit in zip(observed, expected, strict=True))
    return expected[0], np.maximum(g2, 0.0), chi2


def keyness(tokens_by_group: pd.DataFrame, min_count: int = 3, top_n: int = 10, max_p: float = 1.0) -> pd.DataFrame:
    """Return each group's top_n over-used terms (used at least min_count times, p <= max_p) by G2, ties by term.

    The usual thresholds are max_p = 0.05 (G2 >= 3.84) and 0.01 (G2 >= 6.63).
    """
    for name, value in (("min_count", min_count), ("top_n", top_n)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ProjectError(f"{name}={value!r}: must be a whole number of at least 1")
    if isinstance(max_p, bool) or not isinstance(max_p, int | float) or not 0 < max_p <= 1:
        raise ProjectError(f"keyness_max_p={max_p!r}: must be a probability above 0 and at most 1, e.g. 0.01")
    table = tokens_by_group.sort_values("group", kind="stable", ignore_index=True)
    documents = table["tokens"].fillna("").astype(str).tolist()
    if not any(document.split() for document in documents):
        return pd.DataFrame(columns=KEYNESS_COLUMNS)
    vectorizer = CountVectorizer(analyzer=str.split, lowercase=False)
    counts = vectorizer.fit_transform(documents).tocoo()
    terms = vectorizer.get_feature_names_out()
    group_totals = np.asarray(counts.sum(axis=1), dtype=float).ravel()
    term_totals = np.asarray(counts.sum(axis=0), dtype=float).ravel()
    count = counts.data.astype(float)
    expected, g2, chi2 = contingency_scores(count, group_totals[counts.row], term_totals[counts.col],
                                            float(group_totals.sum()))
    scores = pd.DataFrame({
        "group": table["group"].to_numpy()[counts.row], "term": terms[counts.col], "count": counts.data,
        "expected": expected, "g2": g2, "chi2": chi2, "p_value": stats.chi2.sf(g2, df=1), "direction": "over",
    })
    over = (count - expected > TOLERANCE * np.maximum(expected, 1.0)) & (g2 > TOLERANCE)
    scores = scores[over & (scores["count"] >= min_count) & (scores["p_value"] <= max_p)]
    scores = scores.sort_values(["group", "g2", "term"], ascending=[True, False, True], kind="stable")
    scores = scores.assign(rank=scores.groupby("group", sort=False).cumcount() + 1)
    return scores[scores["rank"] <= top_n].reset_index(drop=True)[KEYNESS_COLUMNS]


def keyness_skip_reason(tokens_by_group: pd.DataFrame, what: str = "place") -> str:
    """Why keyness cannot compare these groups, or "": it needs two groups with tokens, one against the rest."""
    with_tokens = tokens_by_group[tokens_by_group["tokens"].fillna("").astype(str).str.split().str.len() > 0]
    if with_tokens.empty:
        return f"no {what} has a token left to compare"
    if len(with_tokens) < 2:
        return (f"keyness compares each {what} with the rest of the corpus, and only one {what} "
                f"({with_tokens['group'].iloc[0]}) has text")
    return ""
