"""Cluster provinces by topic or term profile with Ward's method; thinly measured ones join afterwards.

Also the choice of the number of clusters (silhouette), their bootstrap stability and a 2-D projection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import cut_tree, linkage
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, silhouette_samples, silhouette_score

from helpers.config import ProjectError
from helpers.keyness import KEYNESS_COLUMNS, group_tokens, keyness, keyness_skip_reason
from helpers.passages import NATIONAL
from helpers.status import empty_like, number_span, status_table
from helpers.tfidf import df_limits, fit_tfidf, term_count

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


# The tables of the cluster stage, each with its sort keys and the columns it has when clustering is skipped.
CLUSTER_TABLES: dict[str, tuple[list[str], list[str]]] = {
    "cluster_profile": (["province"], ["province"]),
    "cluster_silhouette": (["n_clusters"], ["n_clusters", "silhouette", "chosen"]),
    "cluster_bootstrap": (["replicate"], ["replicate", "ari"]),
    "clusters": (["province"], ["province", "cluster", "n_passages", "n_chars", "thin", "silhouette", "stability"]),
    "cluster_projection": (["province"], ["province", "x", "y"]),
    "keyness_clusters": (["cluster", "rank"], ["cluster", *KEYNESS_COLUMNS[1:]]),
}
MIN_CLUSTERED = 3  # provinces needed to compare two clusters or more (k clusters need more than k provinces)


@dataclass
class ClusterStage:
    """What the cluster stage writes: its tables by name (see CLUSTER_TABLES), its status table, the Ward
    linkage of the well-measured provinces and the variance share of the two projected components."""

    tables: dict[str, pd.DataFrame]
    status: pd.DataFrame
    linkage: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    explained: list[float] = field(default_factory=list)


def profile_skip_reason(cluster_input: str, province_topics: pd.DataFrame, documents: pd.DataFrame,
                        min_df: float, max_df: float) -> str:
    """Why there is no profile to cluster, or "" when there is one."""
    provincial = documents[documents["province"] != NATIONAL]
    if provincial.empty:
        return "no passage is about a province, so there are no provinces to cluster"
    if cluster_input == "topics" and province_topics[province_topics["province"] != NATIONAL].empty:
        return "clustering by topic shares needs the topic model, which was skipped"
    if cluster_input == "tfidf" and not term_count(provincial["tokens"].tolist(), min_df, max_df):
        return f"no term occurs {df_limits(len(provincial), min_df, max_df, 'province texts')} to profile them"
    return ""


def grid_skip_reason(n_clusters: int | str, grid: Iterable[int], sizes: pd.DataFrame, profile: pd.DataFrame,
                     min_province_chars: int) -> str:
    """Why no cluster number fits the well-measured provinces of the profile, or "" when one does."""
    measured = sizes[sizes["province"].isin(profile["province"]) & ~sizes["thin"].astype(bool)]
    names = "、".join(measured["province"])
    if len(measured) < MIN_CLUSTERED:
        total = len(sizes)
        have = (f"only {total} {'province' if total == 1 else 'provinces'} ({names})" if len(measured) == total else
                f"{len(measured)} such {'province' if len(measured) == 1 else 'provinces'} ({names}) among its "
                f"{total}" if len(measured) else
                f"none: its {'only province has' if total == 1 else f'{total} provinces have'} less")
        return (f"clustering needs at least {MIN_CLUSTERED} provinces with at least {min_province_chars} "
                f"characters of text (min_province_chars), and this corpus has {have}")
    most = len(measured) - 1
    fits = f"with {len(measured)} well-measured provinces at most {most} clusters fit"
    if n_clusters != "auto":
        return "" if 2 <= int(n_clusters) <= most else f"n_clusters={n_clusters} does not fit: {fits}"
    tried = sorted(set(grid))
    if any(2 <= k <= most for k in tried):
        return ""
    return f"cluster_grid tries {number_span(tried)} clusters, but {fits}"


def bootstrap_skip_reason(passages: pd.DataFrame, clusters: pd.DataFrame) -> str:
    """Why resampling passages cannot test the clusters (each clustered province has one passage), or ""."""
    clustered = clusters[~clusters["thin"].astype(bool)]
    counts = passages[passages["province"].isin(clustered["province"])].groupby("province").size()
    if len(counts) and (counts <= 1).all():
        return ("every clustered province has a single passage, and resampling the passages of a province cannot "
                "change a profile made of one passage")
    return ""


def projection_skip_reason(profile: pd.DataFrame) -> str:
    """Why the profile cannot be projected on two components, or ""."""
    if len(profile) < 3 or profile.shape[1] - 1 < 2:
        return (f"a projection on two components needs at least 3 provinces and 2 features; the profile has "
                f"{len(profile)} provinces and {profile.shape[1] - 1} features")
    return ""


def cluster_stage(cluster_input: str, passages: pd.DataFrame, tokens: pd.DataFrame, province_topics: pd.DataFrame,
                  passage_shares: pd.DataFrame, documents: pd.DataFrame, n_clusters: int | str, grid: Iterable[int],
                  n_boot: int, seed: int, min_province_chars: int, min_df: float, max_df: float,
                  keyness_options: tuple[int, int, float]) -> ClusterStage:
    """Cluster the provinces, measure the stability, project the profiles and find each cluster's key terms.

    Each step the corpus cannot support is skipped (its tables empty) and the status table says why; a step
    that depends on the clustering is skipped with it. keyness_options: min_count, top_n, max_p.
    """
    tables = {name: empty_like(columns) for name, (_, columns) in CLUSTER_TABLES.items()}
    reasons = dict.fromkeys(["clusters", "bootstrap", "projection", "keyness"], "")
    reasons["clusters"] = profile_skip_reason(cluster_input, province_topics, documents, min_df, max_df)
    if not reasons["clusters"]:
        profile = province_profiles(cluster_input, province_topics, documents, min_df, max_df)
        tables["cluster_profile"] = profile
        sizes = province_sizes(passages, min_province_chars)
        reasons["clusters"] = grid_skip_reason(n_clusters, grid, sizes, profile, min_province_chars)
    if reasons["clusters"]:
        after = "skipped with the clustering"
        return ClusterStage(tables, status_table(reasons | {"bootstrap": after, "projection": after,
                                                           "keyness": after}))
    chosen, tables["cluster_silhouette"] = choose_n_clusters(n_clusters, profile, sizes, grid)
    clusters, linkage = cluster_provinces(profile, chosen, sizes)
    reasons["bootstrap"] = bootstrap_skip_reason(passages, clusters)
    if reasons["bootstrap"]:
        clusters = clusters.assign(stability=np.nan)
    else:
        profile_fn = (topic_profile_fn(passage_shares) if cluster_input == "topics"
                      else tfidf_profile_fn(tokens, min_df, max_df))
        bootstrap, stability = bootstrap_stability(passages, profile_fn, chosen, n_boot, seed, sizes)
        tables["cluster_bootstrap"] = bootstrap
        clusters = clusters.merge(stability[["province", "stability"]], on="province", how="left",
                                  validate="one_to_one")
    tables["clusters"] = clusters
    explained: list[float] = []
    reasons["projection"] = projection_skip_reason(profile)
    if not reasons["projection"]:
        tables["cluster_projection"] = projection(profile, seed)
        explained = tables["cluster_projection"].attrs["explained"]
    by_cluster = group_tokens(passages, tokens, dict(zip(clusters["province"], clusters["cluster"], strict=True)))
    reasons["keyness"] = keyness_skip_reason(by_cluster, "cluster")
    tables["keyness_clusters"] = keyness(by_cluster, *keyness_options).rename(columns={"group": "cluster"})
    return ClusterStage(tables, status_table(reasons), linkage, explained)
