"""TF-IDF on pre-tokenised text: province documents and the terms that set each province apart."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from helpers.config import ProjectError

TERM_COLUMNS = ["province", "rank", "term", "score"]


def province_documents(passages: pd.DataFrame, tokens: pd.DataFrame) -> pd.DataFrame:
    """Join the tokens of each province's passages (national ones as 全国) into one document per province."""
    table = passages[["passage_id", "province", "level", "text"]].merge(
        tokens[["passage_id", "tokens"]], on="passage_id", how="left", validate="one_to_one")
    table = table.assign(tokens=table["tokens"].fillna("").astype(str), n_chars=table["text"].str.len())
    table = table.sort_values("passage_id", kind="stable")
    documents = table.groupby("province", sort=True).agg(
        level=("level", "first"),
        tokens=("tokens", lambda column: " ".join(text for text in column if text)),
        n_chars=("n_chars", "sum"),
    )
    return documents.reset_index()[["province", "level", "tokens", "n_chars"]]


def document_counts(n_documents: int, min_df: float, max_df: float) -> tuple[int, int]:
    """Turn min_df/max_df (count if int, share if float) into document counts that leave a non-empty range."""
    for name, value in (("min_df", min_df), ("max_df", max_df)):
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ProjectError(f"{name}={value!r}: must be a document count (>= 1) or a share in (0, 1]")
        if isinstance(value, float) and value > 1:
            raise ProjectError(f"{name}={value!r}: a share must lie in (0, 1]; write counts as whole numbers")
    low = min_df if isinstance(min_df, int) else math.ceil(round(min_df * n_documents, 9))
    high = max_df if isinstance(max_df, int) else math.floor(round(max_df * n_documents, 9))
    low = max(1, min(low, n_documents // 2))
    return low, max(high, low)


def fit_tfidf(token_lists: Sequence[str], min_df: float,
              max_df: float) -> tuple[sparse.csr_matrix, list[str]]:
    """Return the TF-IDF matrix (sublinear tf, l2-normalised rows) of space-separated tokens and its terms."""
    low, high = document_counts(len(token_lists), min_df, max_df)
    vectorizer = TfidfVectorizer(analyzer=str.split, min_df=low, max_df=high, sublinear_tf=True)
    try:
        matrix = vectorizer.fit_transform(list(token_lists))
    except ValueError as error:
        raise ProjectError(f"no term is left with min_df={min_df} and max_df={max_df} over "
                           f"{len(token_lists)} documents; lower min_df or raise max_df") from error
    return matrix.tocsr(), vectorizer.get_feature_names_out().tolist()


def term_count(token_lists: Sequence[str], min_df: float, max_df: float) -> int:
    """Return how many terms of space-separated tokens lie within the document-frequency limits (0 if none)."""
    documents = [set(text.split()) for text in token_lists]
    if not any(documents):
        return 0
    low, high = document_counts(len(documents), min_df, max_df)
    frequency = Counter(term for terms in documents for term in terms)
    return sum(low <= count <= high for count in frequency.values())


def df_limits(n_documents: int, min_df: float, max_df: float, what: str) -> str:
    """Describe the document-frequency limits in words: 'in at least 2 and at most 5 of the 10 <what> (…)'."""
    low, high = document_counts(max(n_documents, 1), min_df, max_df)
    span = f"in {low}" if low == high else f"in at least {low} and at most {high}"
    return f"{span} of the {n_documents} {what} (min_df={min_df}, max_df={max_df})"


def top_terms(matrix: sparse.csr_matrix, vocabulary: list[str], row: int,
              top_n: int) -> list[tuple[str, float]]:
    """Return the top_n (term, score) pairs of one matrix row, highest score first, ties by term."""
    start, end = matrix.indptr[row], matrix.indptr[row + 1]
    cells = zip(matrix.indices[start:end], matrix.data[start:end], strict=True)
    pairs = [(vocabulary[column], float(score)) for column, score in cells if score > 0]
    return sorted(pairs, key=lambda pair: (-pair[1], pair[0]))[:top_n]


def distinctive_terms(documents: pd.DataFrame, min_df: float, max_df: float, top_n: int) -> pd.DataFrame:
    """Return each province's top_n terms by TF-IDF within its province document (national as 全国)."""
    if top_n < 1:
        raise ProjectError(f"top_terms={top_n!r}: must be at least 1")
    if not term_count(documents["tokens"].tolist(), min_df, max_df):
        return pd.DataFrame(columns=TERM_COLUMNS)
    matrix, vocabulary = fit_tfidf(documents["tokens"].tolist(), min_df, max_df)
    records = [
        [province, rank, term, score]
        for row, province in enumerate(documents["province"])
        for rank, (term, score) in enumerate(top_terms(matrix, vocabulary, row, top_n), start=1)
    ]
    table = pd.DataFrame(records, columns=TERM_COLUMNS)
    return table.sort_values(["province", "rank"], ignore_index=True)


def distinctive_terms_skip_reason(documents: pd.DataFrame, min_df: float, max_df: float) -> str:
    """Why distinctive terms cannot be computed for these province documents, or "" when they can."""
    provincial = documents[documents["level"] != "national"]
    if provincial.empty:
        return "no passage is about a province, so there is no province to describe"
    if len(documents) < 2:
        return (f"all passages are about one place ({documents['province'].iloc[0]}), so no term can set it "
                "apart from another")
    if not any(text.split() for text in documents["tokens"]):
        return "no passage keeps a token after stopwords and province names are dropped"
    if not term_count(documents["tokens"].tolist(), min_df, max_df):
        return (f"no term occurs {df_limits(len(documents), min_df, max_df, 'texts of the provinces and the nation')}"
                "; a lower min_df would let rarer terms count")
    return ""
