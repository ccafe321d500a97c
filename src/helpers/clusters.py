"""Cluster provinces by topic or term profile with Ward's method; thinly measured ones join afterwards.

Also the choice of the number of clusters (silhouette), their bootstrap stability and a 2-D projection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import cut_tree, linkage
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, silhouette_samples, silhouette_score

from helpers.config import ProjectError
from helpers.passages import NATIONAL
from helpers.tfidf import fit_tfidf

ProfileFn = Callable[[pd.DataFrame], pd.DataFrame]

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


def measured_profile(profile: pd.DataFrame,
                     sizes: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Return the profile's provinces (sorted) with their sizes, the feature matrix and the thin flags."""
    profile = profile.sort_values("province", ignore_index=True)
    table = profile[["province"]].merge(sizes, on="province", how="left", validate="one_to_one")
    if table["n_chars"].isna().any():
        missing = ", ".join(table.loc[table["n_chars"].isna(), "province"])
        raise ProjectError(f"province(s) {missing} have a profile but no passages; rerun the analysis stages")
    features = profile.drop(columns="province").to_numpy(dtype=float)
    return table, features, table["thin"].astype(bool).to_numpy()


def check_n_clusters(n_clusters: int, n_measured: int) -> None:
    """Raise a ProjectError unless 2 <= n_clusters < the number of well-measured provinces."""
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, int) or not 2 <= n_clusters < n_measured:
        raise ProjectError(f"n_clusters={n_clusters!r}: must be a whole number from 2 to {n_measured - 1} "
                           f"(there are {n_measured} well-measured provinces); change n_clusters or "
                           "min_province_chars")


def ward_labels(features: np.ndarray, thin: np.ndarray, n_clusters: int) -> tuple[np.ndarray, np.ndarray]:
    """Return labels 0..k-1 (Ward on well-measured rows, thin rows to the nearest centroid) and the linkage."""
    check_n_clusters(n_clusters, int((~thin).sum()))
    tree = linkage(features[~thin], method="ward")
    labels = np.empty(len(features), dtype=int)
    labels[~thin] = cut_tree(tree, n_clusters=n_clusters).ravel()
    measured, measured_labels = features[~thin], labels[~thin]
    centroids = np.array([measured[measured_labels == label].mean(axis=0) for label in range(n_clusters)])
    if thin.any():
        distances = ((features[thin][:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
        labels[thin] = distances.argmin(axis=1)
    return labels, tree


def cluster_provinces(profile: pd.DataFrame, n_clusters: int,
                      sizes: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Ward-cluster well-measured provinces, add thin ones to the nearest centroid; return table and linkage.

    The linkage's leaves are the provinces with thin == False, in the table's order (sorted by province).
    """
    table, features, thin = measured_profile(profile, sizes)
    labels, tree = ward_labels(features, thin, n_clusters)
    table["cluster"] = number_clusters(labels, table["province"].tolist())
    table["thin"] = thin
    table["silhouette"] = silhouette_samples(features, labels)
    columns = ["province", "cluster", "n_passages", "n_chars", "thin", "silhouette"]
    return table[columns].astype({"n_passages": int, "n_chars": int}), tree


def silhouette_by_k(profile: pd.DataFrame, sizes: pd.DataFrame, grid: Iterable[int]) -> pd.DataFrame:
    """Return n_clusters and the mean silhouette of the Ward solution on the well-measured provinces."""
    _, features, thin = measured_profile(profile, sizes)
    measured = features[~thin]
    tree = linkage(measured, method="ward")
    records = []
    for n_clusters in sorted(set(grid)):
        check_n_clusters(n_clusters, len(measured))
        labels = cut_tree(tree, n_clusters=n_clusters).ravel()
        records.append([n_clusters, float(silhouette_score(measured, labels))])
    if not records:
        raise ProjectError("silhouette_by_k: the grid of cluster numbers is empty; give at least one n_clusters")
    return pd.DataFrame(records, columns=["n_clusters", "silhouette"])


def best_n_clusters(table: pd.DataFrame) -> int:
    """Return the n_clusters with the highest mean silhouette; ties go to the smaller number."""
    ranked = table.assign(silhouette=table["silhouette"].round(12)).sort_values(
        ["silhouette", "n_clusters"], ascending=[False, True])
    return int(ranked["n_clusters"].iloc[0])


def choose_n_clusters(n_clusters: int | str, profile: pd.DataFrame, sizes: pd.DataFrame,
                      grid: Iterable[int]) -> tuple[int, pd.DataFrame]:
    """Return the number of clusters and the silhouette table (silhouette_by_k plus a chosen flag).

    With n_clusters='auto' the grid (restricted to 2..measured provinces - 1) is scored and the best mean
    silhouette taken; with a number, that number is used and the grid is still scored for the report.
    """
    _, _, thin = measured_profile(profile, sizes)
    n_measured = int((~thin).sum())
    candidates = sorted(k for k in set(grid) if 2 <= k < n_measured)
    if n_clusters != "auto":
        check_n_clusters(n_clusters, n_measured)
        candidates = sorted(set(candidates) | {int(n_clusters)})
    if not candidates:
        raise ProjectError(f"cluster_grid={list(grid)!r}: no cluster number fits the {n_measured} well-measured "
                           "provinces; give smaller numbers or lower min_province_chars")
    table = silhouette_by_k(profile, sizes, candidates)
    chosen = best_n_clusters(table) if n_clusters == "auto" else int(n_clusters)
    return chosen, table.assign(chosen=table["n_clusters"] == chosen)


def stratified_resample(passages: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Draw each province's passages with replacement, as many as it has, so every province keeps one."""
    table = passages.sort_values(["province", "passage_id"], ignore_index=True)
    group_size = table.groupby("province", sort=False)["passage_id"].transform("size").to_numpy()
    group_start = np.arange(len(table)) - table.groupby("province", sort=False).cumcount().to_numpy()
    drawn = group_start + np.floor(rng.random(len(table)) * group_size).astype(int)
    return table.iloc[drawn].reset_index(drop=True)


def co_assignment(reference: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Return, per item, the Jaccard overlap of its reference cluster and its cluster in labels."""
    same_reference = reference[:, None] == reference[None, :]
    same_labels = labels[:, None] == labels[None, :]
    both = (same_reference & same_labels).sum(axis=1)
    return both / (same_reference | same_labels).sum(axis=1)


def bootstrap_stability(passages: pd.DataFrame, province_profile_fn: ProfileFn, n_clusters: int, n_boot: int,
                        seed: int, sizes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (replicate, ari) per bootstrap replicate and (province, cluster, stability) per province.

    Passages are resampled with replacement within each province (duplicated passage_ids are kept, so
    the callable can join per-passage data), province_profile_fn turns them into a profile (province plus
    features, as province_profiles), and the provinces are reclustered with the full-data thin flags from
    sizes. ari compares each replicate with the full-data clustering on the provinces in both; a province's
    stability is the mean Jaccard overlap of its full-data cluster and its replicate cluster.
    """
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 1:
        raise ProjectError(f"n_boot={n_boot!r}: must be a whole number of at least 1")
    reference, features, thin = measured_profile(province_profile_fn(passages), sizes)
    reference_labels, _ = ward_labels(features, thin, n_clusters)
    reference_labels = pd.Series(reference_labels, index=reference["province"])
    rng = np.random.default_rng(seed)
    ari, overlap = [], pd.DataFrame(0.0, index=reference_labels.index, columns=["sum", "count"])
    for _ in range(n_boot):
        table, features, thin = measured_profile(province_profile_fn(stratified_resample(passages, rng)), sizes)
        labels = pd.Series(ward_labels(features, thin, n_clusters)[0], index=table["province"])
        common = reference_labels.index.intersection(labels.index)
        first, second = reference_labels[common].to_numpy(), labels[common].to_numpy()
        ari.append(adjusted_rand_score(first, second))
        overlap.loc[common, "sum"] += co_assignment(first, second)
        overlap.loc[common, "count"] += 1
    replicates = pd.DataFrame({"replicate": np.arange(1, n_boot + 1), "ari": ari})
    provinces = pd.DataFrame({
        "province": reference_labels.index,
        "cluster": number_clusters(reference_labels.to_numpy(), reference_labels.index.tolist()),
        "stability": (overlap["sum"] / overlap["count"].where(overlap["count"] > 0)).to_numpy(),
    })
    return replicates, provinces


def topic_profile_fn(passage_shares: pd.DataFrame) -> ProfileFn:
    """Return a profile callable: length-weighted topic shares per province from fixed per-passage shares.

    passage_shares is TopicResult.passage_shares (passage_id, province, n_chars, T1..Tk): the fitted model's
    shares of every passage, so a resample is profiled without refitting; the nation is left out.
    """
    topic_columns = [column for column in passage_shares.columns if column.startswith("T")]
    shares = passage_shares.set_index("passage_id")

    def profile(passages: pd.DataFrame) -> pd.DataFrame:
        """Return province plus T1..Tk, the length-weighted topic shares of the given passages."""
        drawn = shares.reindex(passages["passage_id"].to_numpy()).dropna(subset=topic_columns)
        drawn = drawn[drawn["province"] != NATIONAL]
        weighted = drawn[topic_columns].mul(drawn["n_chars"], axis=0).groupby(drawn["province"]).sum()
        weighted = weighted.div(weighted.sum(axis=1), axis=0)
        return weighted.sort_index().reset_index().rename_axis(columns=None)

    return profile


def tfidf_profile_fn(tokens: pd.DataFrame, min_df: float, max_df: float) -> ProfileFn:
    """Return a profile callable: TF-IDF of each province's joined passage tokens (as province_profiles)."""
    token_text = tokens.set_index("passage_id")["tokens"].fillna("").astype(str)

    def profile(passages: pd.DataFrame) -> pd.DataFrame:
        """Return province plus one column per term for the given (possibly repeated) passages."""
        table = passages[["passage_id", "province"]].assign(
            tokens=token_text.reindex(passages["passage_id"].to_numpy()).fillna("").to_numpy())
        documents = table.groupby("province", sort=True)["tokens"].agg(
            lambda column: " ".join(text for text in column if text)).reset_index()
        return province_profiles("tfidf", pd.DataFrame(), documents, min_df, max_df)

    return profile


def projection(profile: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Return province, x, y: the first two principal components of the profile (largest loading positive).

    The table's attrs["explained"] holds the share of variance of each component.
    """
    profile = profile.sort_values("province", ignore_index=True)
    features = profile.drop(columns="province").to_numpy(dtype=float)
    if features.shape[0] < 3 or features.shape[1] < 2:
        raise ProjectError("projection: the cluster profile needs at least 3 provinces and 2 features; "
                           "check cluster_profile.csv")
    model = PCA(n_components=2, random_state=seed).fit(features)
    signs = np.sign(model.components_[np.arange(2), np.abs(model.components_).argmax(axis=1)])
    coordinates = model.transform(features) * signs
    table = pd.DataFrame({"province": profile["province"], "x": coordinates[:, 0], "y": coordinates[:, 1]})
    table.attrs["explained"] = model.explained_variance_ratio_.tolist()
    return table
