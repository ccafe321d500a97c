"""Topic model: NMF on passage-level TF-IDF, with topic shares per passage, province and corpus.

Also the diagnostics used to choose the number of topics: NPMI coherence, exclusivity and the stability of
topics across random starts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linear_sum_assignment
from sklearn.decomposition import NMF

from helpers.config import ProjectError
from helpers.status import empty_like, number_span, status_table
from helpers.tfidf import df_limits, fit_tfidf, term_count

LABEL_WORDS = 3


@dataclass
class TopicResult:
    """The four tables of one topic model (schemas of the files of the same name) and every passage's shares.

    passage_shares has passage_id, province, n_chars and one column T1..Tk per topic (each row sums to 1).
    """

    topic_terms: pd.DataFrame
    topics: pd.DataFrame
    passage_topics: pd.DataFrame
    province_topics: pd.DataFrame
    passage_shares: pd.DataFrame
    components: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))


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
    table, matrix, vocabulary = passage_matrix(passages, tokens, min_df, max_df)
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
    passage_shares = pd.concat([
        table[["passage_id", "province"]].assign(n_chars=n_chars.astype(int)),
        pd.DataFrame(shares, columns=[f"T{topic}" for topic in topic_numbers]),
    ], axis=1)
    return TopicResult(topic_terms, topics, passage_topics, province_topics, passage_shares, components)


def passage_matrix(passages: pd.DataFrame, tokens: pd.DataFrame, min_df: float,
                   max_df: float) -> tuple[pd.DataFrame, sparse.csr_matrix, list[str]]:
    """Return the passages with at least one term (sorted by passage_id), their TF-IDF matrix and its terms."""
    table = passages[["passage_id", "province", "text"]].merge(
        tokens[["passage_id", "tokens"]], on="passage_id", how="inner", validate="one_to_one")
    table = table.sort_values("passage_id", ignore_index=True)
    matrix, vocabulary = fit_tfidf(table["tokens"].fillna("").tolist(), min_df, max_df)
    has_terms = np.asarray(matrix.getnnz(axis=1) > 0)
    return table.loc[has_terms].reset_index(drop=True), matrix[has_terms], vocabulary


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


def top_word_indices(components: np.ndarray, top_words: int) -> np.ndarray:
    """Return each topic's top_words column indices, highest weight first, ties by column (= term) order."""
    if top_words < 1:
        raise ProjectError(f"topic_top_words={top_words!r}: must be at least 1")
    order = np.lexsort((np.broadcast_to(np.arange(components.shape[1]), components.shape), -components))
    return order[:, :min(top_words, components.shape[1])]


def presence_npmi(presence: sparse.csr_matrix, word_indices: np.ndarray, epsilon: float = 1e-12) -> np.ndarray:
    """Return the mean NPMI over word pairs of each row of word_indices, from passage-by-word presence.

    NPMI(a, b) = log((p_ab + eps) / (p_a p_b)) / -log(p_ab + eps) with document probabilities; a pair that
    never co-occurs scores -1 and one present in every passage +1. Rows with fewer than two words give NaN.
    """
    n_documents = presence.shape[0]
    used = np.unique(word_indices)
    columns = presence[:, used].astype(float)
    document_share = np.asarray(columns.sum(axis=0)).ravel() / n_documents
    joint = (columns.T @ columns).toarray() / n_documents
    with np.errstate(divide="ignore", invalid="ignore"):
        npmi = np.log((joint + epsilon) / np.outer(document_share, document_share)) / -np.log(joint + epsilon)
    npmi = np.where(joint <= 0, -1.0, np.where(joint >= 1, 1.0, npmi))
    local = np.searchsorted(used, word_indices)
    first, second = np.triu_indices(word_indices.shape[1], k=1)
    if len(first) == 0:
        return np.full(word_indices.shape[0], np.nan)
    return npmi[local[:, first], local[:, second]].mean(axis=1)


def npmi_coherence(topic_terms_top_words: list[list[str]],
                   passage_token_sets: Sequence[Iterable[str]]) -> list[float]:
    """Return each topic's mean NPMI over pairs of its top words, co-occurrence counted per passage."""
    words = sorted({word for topic in topic_terms_top_words for word in topic})
    lengths = {len(topic) for topic in topic_terms_top_words}
    if len(lengths) > 1:
        raise ProjectError("npmi_coherence: every topic needs the same number of top words (topic_top_words)")
    if not words or not passage_token_sets:
        raise ProjectError("npmi_coherence: no top words or no passages; check topic_terms.csv and tokens.csv")
    column = {word: index for index, word in enumerate(words)}
    rows, columns = [], []
    for row, tokens in enumerate(passage_token_sets):
        present = sorted({column[token] for token in tokens if token in column})
        rows += [row] * len(present)
        columns += present
    presence = sparse.csr_matrix((np.ones(len(rows)), (rows, columns)),
                                 shape=(len(passage_token_sets), len(words)))
    indices = np.array([[column[word] for word in topic] for topic in topic_terms_top_words])
    return presence_npmi(presence, indices).tolist()


def exclusivity(components: np.ndarray, top_words: int) -> list[float]:
    """Return each topic's mean exclusivity over its top words: the word's weight share across topics.

    Each topic's word weights are first made a distribution (beta); a word's exclusivity to topic k is
    beta[k, w] / sum_j beta[j, w]. This is the exclusivity half of stm's FREX with weight 1 on exclusivity,
    taken as the raw share rather than its ECDF rank, so it lies in [1/k, 1] and 1 means no other topic uses
    the word.
    """
    totals = components.sum(axis=1, keepdims=True)
    beta = components / np.where(totals > 0, totals, 1)
    word_totals = beta.sum(axis=0)
    share = beta / np.where(word_totals > 0, word_totals, 1)
    indices = top_word_indices(components, top_words)
    return np.take_along_axis(share, indices, axis=1).mean(axis=1).tolist()


def random_start_components(matrix: sparse.csr_matrix, n_topics: int, seeds: Sequence[int]) -> list[np.ndarray]:
    """Fit NMF from a random start once per seed and return each run's topic-by-term weights."""
    return [NMF(n_components=n_topics, init="random", random_state=seed, max_iter=1000).fit(matrix).components_
            for seed in seeds]


def matched_cosines(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Return the cosines of topic-word vectors of two runs after pairing the topics one-to-one (Hungarian)."""
    return matched_by_topic(first, second)


def pair_stability(runs: list[np.ndarray], seeds: Sequence[int]) -> pd.DataFrame:
    """Return seed_a, seed_b, mean_cosine and min_cosine of the matched topics of every pair of runs."""
    records = []
    for (seed_a, first), (seed_b, second) in combinations(zip(seeds, runs, strict=True), 2):
        cosines = matched_cosines(first, second)
        records.append([seed_a, seed_b, float(cosines.mean()), float(cosines.min())])
    return pd.DataFrame(records, columns=["seed_a", "seed_b", "mean_cosine", "min_cosine"])


def check_seeds(seeds: Sequence[int]) -> list[int]:
    """Return the seeds sorted, raising a ProjectError unless there are at least two distinct ones."""
    unique = sorted(set(seeds))
    if len(unique) < 2:
        raise ProjectError(f"seeds={list(seeds)!r}: give at least two different seeds to compare topic runs")
    return unique


def topic_stability(passages: pd.DataFrame, tokens: pd.DataFrame, n_topics: int, seeds: Sequence[int],
                    min_df: float, max_df: float) -> pd.DataFrame:
    """Return, for every pair of random-start NMF runs, the mean and min cosine of their matched topics."""
    seeds = check_seeds(seeds)
    _, matrix, _ = passage_matrix(passages, tokens, min_df, max_df)
    check_n_topics(n_topics, matrix.shape[0], matrix.shape[1])
    return pair_stability(random_start_components(matrix, n_topics, seeds), seeds)


def min_max(values: pd.Series) -> pd.Series:
    """Scale values to [0, 1] across the series; a constant series scales to 0."""
    spread = values.max() - values.min()
    return (values - values.min()) / spread if spread > 0 else values * 0.0


def select_n_topics(passages: pd.DataFrame, tokens: pd.DataFrame, grid: Iterable[int], seeds: Sequence[int],
                    min_df: float, max_df: float, top_words: int) -> pd.DataFrame:
    """Return n_topics, coherence, exclusivity, stability and score (mean of the three min-max scaled).

    Coherence (NPMI) and exclusivity are averaged over topics and seeds; stability is the mean matched cosine
    over all pairs of seeds. Every run starts at random, so the seeds give genuinely different fits.
    """
    seeds = check_seeds(seeds)
    _, matrix, _ = passage_matrix(passages, tokens, min_df, max_df)
    presence = (matrix > 0).astype(float).tocsr()
    records = []
    for n_topics in sorted(set(grid)):
        check_n_topics(n_topics, matrix.shape[0], matrix.shape[1])
        runs = random_start_components(matrix, n_topics, seeds)
        coherence = np.mean([presence_npmi(presence, top_word_indices(run, top_words)) for run in runs])
        exclusive = np.mean([exclusivity(run, top_words) for run in runs])
        stability = pair_stability(runs, seeds)["mean_cosine"].mean()
        records.append([n_topics, float(coherence), float(exclusive), float(stability)])
    table = pd.DataFrame(records, columns=["n_topics", "coherence", "exclusivity", "stability"])
    if table.empty:
        raise ProjectError("select_n_topics: the grid of topic numbers is empty; give at least one n_topics")
    scaled = table[["coherence", "exclusivity", "stability"]].apply(min_max)
    return table.assign(score=scaled.mean(axis=1))


def best_n_topics(selection: pd.DataFrame) -> int:
    """Return the n_topics with the highest score; ties go to the smaller number."""
    ranked = selection.assign(score=selection["score"].round(12)).sort_values(
        ["score", "n_topics"], ascending=[False, True])
    return int(ranked["n_topics"].iloc[0])


def feasible_grid(grid: Iterable[int], passages: pd.DataFrame, tokens: pd.DataFrame, min_df: float,
                  max_df: float) -> list[int]:
    """Return the topic numbers of the grid that the passage matrix can support (2 <= k <= passages, terms)."""
    _, matrix, _ = passage_matrix(passages, tokens, min_df, max_df)
    return sorted(k for k in set(grid) if 2 <= k <= min(matrix.shape))


def choose_n_topics(n_topics: int | str, passages: pd.DataFrame, tokens: pd.DataFrame, grid: Iterable[int],
                    seeds: Sequence[int], min_df: float, max_df: float,
                    top_words: int) -> tuple[int, pd.DataFrame]:
    """Return the number of topics and the selection table (select_n_topics plus a chosen flag).

    With n_topics='auto' the grid (restricted to what the corpus supports) is scored and the best number
    taken; with a number, only that number is scored, so the report can still state its diagnostics.
    """
    if n_topics == "auto":
        candidates = feasible_grid(grid, passages, tokens, min_df, max_df)
        if not candidates:
            raise ProjectError(f"topic_grid={list(grid)!r}: no topic number fits this corpus (at least 2, at most "
                               "the number of passages and terms); give smaller numbers or lower min_df")
    else:
        candidates = [n_topics]
    selection = select_n_topics(passages, tokens, candidates, seeds, min_df, max_df, top_words)
    chosen = best_n_topics(selection) if n_topics == "auto" else int(n_topics)
    return chosen, selection.assign(chosen=selection["n_topics"] == chosen)


def topic_diagnostics(result: TopicResult, passages: pd.DataFrame, tokens: pd.DataFrame, seeds: Sequence[int],
                      min_df: float, max_df: float, top_words: int) -> pd.DataFrame:
    """Return topic, coherence (NPMI), exclusivity and stability of each topic of a fitted model.

    A topic's stability is its mean cosine, over random-start refits with the given seeds, with the topic it
    is matched to (Hungarian assignment on topic-word cosines): near 1, every refit finds it again.
    """
    _, matrix, _ = passage_matrix(passages, tokens, min_df, max_df)
    components = result.components
    presence = (matrix > 0).astype(float).tocsr()
    coherence = presence_npmi(presence, top_word_indices(components, top_words))
    runs = random_start_components(matrix, components.shape[0], check_seeds(seeds))
    stability = np.mean([matched_by_topic(components, run) for run in runs], axis=0)
    return pd.DataFrame({"topic": np.arange(1, components.shape[0] + 1), "coherence": coherence,
                         "exclusivity": exclusivity(components, top_words), "stability": stability})


def matched_by_topic(reference: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Return, for each reference topic in order, the cosine with its Hungarian-matched topic of another run."""
    def unit(rows: np.ndarray) -> np.ndarray:
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return rows / np.where(norms > 0, norms, 1)

    cosine = unit(reference) @ unit(other).T
    rows, columns = linear_sum_assignment(cosine, maximize=True)
    matched = np.empty(reference.shape[0])
    matched[rows] = cosine[rows, columns]
    return matched


# The tables of the topic stage, each with its sort keys and the columns it has when the stage is skipped.
TOPIC_TABLES: dict[str, tuple[list[str], list[str]]] = {
    "topic_selection": (["n_topics"], ["n_topics", "coherence", "exclusivity", "stability", "score", "chosen"]),
    "topic_stability": (["seed_a", "seed_b"], ["seed_a", "seed_b", "mean_cosine", "min_cosine"]),
    "topics": (["topic"], ["topic", "label", "share", "coherence", "exclusivity", "stability"]),
    "topic_terms": (["topic", "rank"], ["topic", "rank", "term", "weight"]),
    "passage_topics": (["passage_id"], ["passage_id", "topic", "weight"]),
    "passage_topic_shares": (["passage_id"], ["passage_id", "province", "n_chars"]),
    "province_topics": (["province", "topic"], ["province", "topic", "share"]),
}


@dataclass
class TopicStage:
    """What the topic stage writes: its tables by name (see TOPIC_TABLES) and its status table."""

    tables: dict[str, pd.DataFrame]
    status: pd.DataFrame


def topic_capacity(passages: pd.DataFrame, tokens: pd.DataFrame, min_df: float, max_df: float) -> tuple[int, int]:
    """Return how many passages have a term left by min_df/max_df, and how many such terms there are."""
    table = passages[["passage_id"]].merge(tokens[["passage_id", "tokens"]], on="passage_id", how="inner")
    token_lists = table["tokens"].fillna("").astype(str).tolist()
    if not term_count(token_lists, min_df, max_df):
        return 0, 0
    _, matrix, _ = passage_matrix(passages, tokens, min_df, max_df)
    return matrix.shape


def topics_skip_reason(n_topics: int | str, grid: Iterable[int], passages: pd.DataFrame, tokens: pd.DataFrame,
                       min_df: float, max_df: float) -> str:
    """Why no topic model can be fitted (no term, or no topic number of the grid fits), or "" when one can."""
    with_tokens = tokens[tokens["tokens"].fillna("").astype(str).str.strip() != ""]
    if with_tokens.empty:
        return "no passage keeps a token after stopwords and province names are dropped"
    n_passages, n_terms = topic_capacity(passages, tokens, min_df, max_df)
    if not n_terms:
        return (f"no term occurs {df_limits(len(tokens), min_df, max_df, 'passages')}; "
                "a lower min_df would let rarer terms count")
    fits = (f"only {n_passages} passages with terms and {n_terms} terms, and a model of k topics needs at least k "
            "of each")
    if n_topics != "auto":
        return "" if 2 <= int(n_topics) <= min(n_passages, n_terms) else f"n_topics={n_topics} does not fit: {fits}"
    tried = sorted(set(grid))
    if any(2 <= k <= min(n_passages, n_terms) for k in tried):
        return ""
    return f"topic_grid tries {number_span(tried)} topics, but the corpus has {fits}"


def model_topics(passages: pd.DataFrame, tokens: pd.DataFrame, n_topics: int | str, grid: Iterable[int],
                 seeds: Sequence[int], min_df: float, max_df: float, top_words: int) -> TopicStage:
    """Choose the number of topics, fit the model (seeded by the first seed) and diagnose it.

    When the corpus cannot support a model (topics_skip_reason), every table is written empty and the status
    table says why.
    """
    reason = topics_skip_reason(n_topics, grid, passages, tokens, min_df, max_df)
    status = status_table({"topics": reason})
    if reason:
        return TopicStage({name: empty_like(columns) for name, (_, columns) in TOPIC_TABLES.items()}, status)
    chosen, selection = choose_n_topics(n_topics, passages, tokens, grid, seeds, min_df, max_df, top_words)
    result = fit_topics(passages, tokens, chosen, seeds[0], min_df, max_df, top_words)
    topics = result.topics.merge(
        topic_diagnostics(result, passages, tokens, seeds, min_df, max_df, top_words), on="topic")
    tables = {"topic_selection": selection,
              "topic_stability": topic_stability(passages, tokens, chosen, seeds, min_df, max_df),
              "topics": topics, "topic_terms": result.topic_terms, "passage_topics": result.passage_topics,
              "passage_topic_shares": result.passage_shares, "province_topics": result.province_topics}
    return TopicStage(tables, status)
