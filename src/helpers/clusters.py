"""Cluster provinces by topic or term profile with Ward's method; thinly measured ones join afterwards."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import cut_tree, linkage
from sklearn.metrics import silhouette_samples

from helpers.config import ProjectError
from helpers.passages import NATIONAL
from helpers.tfidf import fit_tfidf

CLUSTER_INPUTS = ("topics", "tfidf")


def province_sizes(passages: pd.DataFrame, min_province_chars: int) -> pd.DataFrame:
    """Return n_passages, n_chars and thin (fewer than min_province_chars characters) per province."""
    provincial = passages[passages["province"] != NATIONAL]
    sizes = provincial.groupby("province", sort=True).agg(
        n_passages=("passage_id", "count"), n_chars=("text", lambda texts: int(texts.str.len().sum())))
    sizes["thin"] = sizes["n_chars"] < min_province_chars
    return sizes.reset_index()


def province_profiles(cluster_input: str, province_topics: pd.DataFrame, documents: pd.DataFrame,
                      min_df: float, max_df: float) -> pd.DataFrame:
    """Return province plus one column per feature: topic shares (T1..Tk) or the province's TF-IDF terms."""
    if cluster_input == "topics":
        topics = province_topics[province_topics["province"] != NATIONAL]
        profile = topics.pivot(index="province", columns="topic", values="share").fillna(0.0)
        profile.columns = [f"T{topic}" for topic in profile.columns]
        return profile.reset_index().rename_axis(columns=None)
    if cluster_input == "tfidf":
        provincial = documents[documents["province"] != NATIONAL].sort_values("province", ignore_index=True)
        matrix, vocabulary = fit_tfidf(provincial["tokens"].tolist(), min_df, max_df)
        profile = pd.DataFrame(matrix.toarray(), columns=vocabulary)
        return pd.concat([provincial[["province"]], profile], axis=1)
    raise ProjectError(f"cluster_input={cluster_input!r}: must be one of {', '.join(CLUSTER_INPUTS)}")


def number_clusters(labels: np.ndarray, provinces: list[str]) -> np.ndarray:
    """Renumber cluster labels 1..k by cluster size (largest first), ties by the first province name."""
    members = pd.DataFrame({"label": labels, "province": provinces})
    summary = members.groupby("label")["province"].agg(["size", "min"])
    order = summary.sort_values(["size", "min"], ascending=[False, True]).index
    mapping = {label: number for number, label in enumerate(order, start=1)}
    return np.array([mapping[label] for label in labels])


def cluster_provinces(profile: pd.DataFrame, n_clusters: int,
                      sizes: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Ward-cluster well-measured provinces, add thin ones to the nearest centroid; return table and linkage.

    The linkage's leaves are the provinces with thin == False, in the table's order (sorted by province).
    """
    profile = profile.sort_values("province", ignore_index=True)
    table = profile[["province"]].merge(sizes, on="province", how="left", validate="one_to_one")
    if table["n_chars"].isna().any():
        missing = ", ".join(table.loc[table["n_chars"].isna(), "province"])
        raise ProjectError(f"province(s) {missing} have a profile but no passages; rerun the analysis stages")
    features = profile.drop(columns="province").to_numpy(dtype=float)
    thin = table["thin"].astype(bool).to_numpy()
    n_measured = int((~thin).sum())
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, int) or not 2 <= n_clusters < n_measured:
        raise ProjectError(f"n_clusters={n_clusters!r}: must be a whole number from 2 to {n_measured - 1} "
                           f"(there are {n_measured} well-measured provinces); change n_clusters or "
                           "min_province_chars")
    tree = linkage(features[~thin], method="ward")
    labels = np.empty(len(table), dtype=int)
    labels[~thin] = cut_tree(tree, n_clusters=n_clusters).ravel()
    measured, measured_labels = features[~thin], labels[~thin]
    centroids = np.array([measured[measured_labels == label].mean(axis=0) for label in range(n_clusters)])
    if thin.any():
        distances = ((features[thin][:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
        labels[thin] = distances.argmin(axis=1)
    table["cluster"] = number_clusters(labels, table["province"].tolist())
    table["thin"] = thin
    table["silhouette"] = silhouette_samples(features, labels)
    columns = ["province", "cluster", "n_passages", "n_chars", "thin", "silhouette"]
    return table[columns].astype({"n_passages": int, "n_chars": int}), tree
