"""Topic model: NMF on passage-level TF-IDF, with topic shares per passage, province and corpus."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.decomposition import NMF

from helpers.config import ProjectError
from helpers.tfidf import fit_tfidf

LABEL_WORDS = 3


@dataclass
class TopicResult:
    """The four tables of one topic model, each as in the schema of the file of the same name."""

    topic_terms: pd.DataFrame
    topics: pd.DataFrame
    passage_topics: pd.DataFrame
    province_topics: pd.DataFrame


def check_n_topics(n_topics: int, n_passages: int, n_terms: int | None = None) -> None:
    """Raise a ProjectError unless 2 <= n_topics <= the number of passages (and of terms, when given)."""
    if isinstance(n_topics, bool) or not isinstance(n_topics, int) or n_topics < 2:
        raise ProjectError(f"n_topics={n_topics!r}: must be a whole number of at least 2")
    if n_topics > n_passages:
        raise ProjectError(f"n_topics={n_topics}: more than the {n_passages} passages to model; "
                           "lower n_topics")
    if n_terms is not None and n_topics > n_terms:
        raise ProjectError(f"n_topics={n_topics}: larger than the {n_terms} terms left by min_df/max_df; "
                           "lower n_topics or min_df")


def fit_topics(passages: pd.DataFrame, tokens: pd.DataFrame, n_topics: int, seed: int, min_df: float,
               max_df: float, top_words: int) -> TopicResult:
    """Fit NMF topics, numbered by corpus share (largest first); passages without any term are left out."""
    table = passages[["passage_id", "province", "text"]].merge(
        tokens[["passage_id", "tokens"]], on="passage_id", how="inner", validate="one_to_one")
    table = table.sort_values("passage_id", ignore_index=True)
    check_n_topics(n_topics, len(table))
    matrix, vocabulary = fit_tfidf(table["tokens"].fillna("").tolist(), min_df, max_df)
    has_terms = np.asarray(matrix.getnnz(axis=1) > 0)
    matrix, table = matrix[has_terms], table.loc[has_terms].reset_index(drop=True)
    check_n_topics(n_topics, matrix.shape[0], matrix.shape[1])
    model = NMF(n_components=n_topics, init="nndsvda", random_state=seed, max_iter=1000)
    weights = model.fit_transform(matrix)
    totals = weights.sum(axis=1, keepdims=True)
    shares = np.where(totals > 0, weights / np.where(totals > 0, totals, 1), 1 / n_topics)
    n_chars = table["text"].str.len().to_numpy(dtype=float)
    corpus_share = n_chars @ shares / n_chars.sum()
    order = sorted(range(n_topics), key=lambda component: (-corpus_share[component], component))
    shares, components, corpus_share = shares[:, order], model.components_[order], corpus_share[order]
    topic_numbers = np.arange(1, n_topics + 1)
    topic_terms = term_table(components, vocabulary, top_words)
    labels = topic_terms[topic_terms["rank"] <= LABEL_WORDS].groupby("topic")["term"].agg("·".join)
    topics = pd.DataFrame({
        "topic": topic_numbers,
        "label": [f"T{topic} {labels.get(topic, '')}".strip() for topic in topic_numbers],
        "share": corpus_share,
    })
    dominant = shares.argmax(axis=1)
    passage_topics = pd.DataFrame({
        "passage_id": table["passage_id"],
        "topic": dominant + 1,
        "weight": shares[np.arange(len(shares)), dominant],
    })
    province_topics = province_shares(table["province"], n_chars, shares)
    return TopicResult(topic_terms, topics, passage_topics, province_topics)


def term_table(components: np.ndarray, vocabulary: list[str], top_words: int) -> pd.DataFrame:
    """Return the top_words terms of each topic with their share of the topic's term weight."""
    if top_words < 1:
        raise ProjectError(f"topic_top_words={top_words!r}: must be at least 1")
    records = []
    for topic, row in enumerate(components, start=1):
        total = row.sum()
        ranked = sorted(np.flatnonzero(row > 0), key=lambda index: (-row[index], vocabulary[index]))
        records += [[topic, rank, vocabulary[index], row[index] / total]
                    for rank, index in enumerate(ranked[:top_words], start=1)]
    return pd.DataFrame(records, columns=["topic", "rank", "term", "weight"])


def province_shares(provinces: pd.Series, n_chars: np.ndarray, shares: np.ndarray) -> pd.DataFrame:
    """Return each province's topic shares, its passages weighted by length; every province sums to 1."""
    weighted = pd.DataFrame(shares * n_chars[:, None], columns=np.arange(1, shares.shape[1] + 1))
    sums = weighted.groupby(provinces.to_numpy(), sort=True).sum()
    sums = sums.div(sums.sum(axis=1), axis=0)
    table = sums.rename_axis(index="province", columns="topic").stack().rename("share").reset_index()
    return table.sort_values(["province", "topic"], ignore_index=True)
