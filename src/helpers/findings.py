"""The report's results and robustness, in words computed from the tables: who uses the programmes, what each
province emphasises, the topics, the clusters, adoption, similarity, reuse and the sweep.

Each function returns the markdown blocks of one part. An analysis a stage skipped is described by the reason of
its status table, and a figure is referenced only when its stage drew it (see helpers.narrative).
"""

from __future__ import annotations

import math

import pandas as pd

from helpers.convergence import similarity_trend
from helpers.narrative import NATIONAL, PROFILE_WORDS, ReportData, capital, count, flags, verb, words
from helpers.reporting import agreement, md_figure, md_table, names, trend_words, value_range
from helpers.status import number_span


def concepts(data: ReportData) -> list[str]:
    """Who mentions each focus programme, in which forms, and the two concept figures."""
    mentions = data.tables["concept_mentions"]
    if mentions.empty:
        return ["No passage mentions any programme of the concept lexicon."]
    sentences = []
    unused = [concept for concept in data.focus if not data.users(concept)]
    for concept in data.focus:
        users = data.users(concept)
        if users:
            sentences.append(f"{capital(count(len(users), 'province'))} {verb(len(users), 'mentions', 'mention')} "
                             f"{concept}: {names(users)}.")
    if unused:
        sentences.append(f"No province mentions {' or '.join(unused)}.")
    national = mentions[(mentions["level"] == "national") & mentions["concept"].isin(data.focus)]
    if len(national):
        said = national.groupby("concept")["count"].sum()
        sentences.append("The national passages mention " + words([
            f"{concept} {'once' if said[concept] == 1 else f'{int(said[concept])} times'}"
            for concept in data.focus if concept in said]) + ".")
    variant = mentions[(mentions["form_kind"] != "canonical") & mentions["concept"].isin(data.focus)
                       & (mentions["level"] != "national")]
    if len(variant):
        forms = variant.groupby("form")["province"].apply(lambda s: names(data.ordered(s)))
        sentences.append("Variant and damaged forms count toward their programme: "
                         + "; ".join(f"{form} ({where})" for form, where in forms.items()) + ".")
    provincial = mentions[mentions["level"] != "national"]
    focus_drawn = provincial["concept"].isin(data.focus).any()
    blocks = []
    sentences.append(("@fig-focus shows who uses each form; " if focus_drawn else "")
                     + "@fig-concepts shows the mentions of every programme of the lexicon by province and in the "
                     "national texts.")
    if focus_drawn:
        per = {concept: len(data.users(concept)) for concept in data.focus}
        blocks.append(md_figure("focus_concepts.png", "; ".join(
            f"{concept} is mentioned by {count(number, 'province')}" for concept, number in per.items())
            + "; mentions per province by exact, variant and damaged form.", "focus",
            "Horizontal bars of mention counts per province for the programmes traced."))
    blocks.append(md_figure("concepts.png", f"Mentions of policy programmes per province; {widest(mentions)}.",
                            "concepts", "Heatmap of concept mention counts, provinces in rows, concepts in columns."))
    return [" ".join(sentences), *blocks]


def widest(mentions: pd.DataFrame) -> str:
    """Which programme the most provinces mention (or, without provincial mentions, the national texts)."""
    provincial = mentions[mentions["level"] != "national"]
    if provincial.empty:
        top = mentions.groupby("concept")["count"].sum().sort_values(ascending=False)
        return f"only the national texts mention programmes, {top.index[0]} most often"
    reach = provincial.groupby("concept")["province"].nunique()
    leaders = sorted(reach[reach == reach.max()].index)
    each = f"{count(int(reach.max()), 'province')}{' each' if len(leaders) > 1 else ''}"
    return f"{words(leaders)} {verb(len(leaders), 'is', 'are')} the most widespread ({each})"


def terms(data: ReportData) -> list[str]:
    """Distinctive and key terms of the provinces, their figures and table, or why they are missing."""
    distinctive, key = data.tables["distinctive_terms"], data.tables["keyness_provinces"]
    blocks, sentences = [], []
    if not data.done("tfidf", "distinctive_terms"):
        sentences.append(f"Distinctive terms were not computed: {data.reason('tfidf', 'distinctive_terms')}.")
    if not data.done("tfidf", "keyness"):
        sentences.append(f"Keyness was not tested: {data.reason('tfidf', 'keyness')}.")
    provincial_terms = distinctive[distinctive["province"] != NATIONAL]
    if len(provincial_terms):
        first_terms = provincial_terms.loc[provincial_terms["rank"] == 1, "term"]
        sentences.append("@fig-terms shows the most distinctive TF-IDF terms of the provinces with the most text.")
        blocks.append(md_figure("distinctive_terms.png", f"Distinctive terms (TF-IDF) of the provinces with the "
                                f"most text; the {count(len(first_terms), 'province')} "
                                f"{verb(len(first_terms), 'has', 'have')} "
                                f"{count(first_terms.nunique(), 'different top term')}.", "terms",
                                "Small multiples of horizontal bars: top TF-IDF terms per province."))
    if data.done("tfidf", "keyness"):
        places = [place for place in data.ordered(distinctive["province"]) if place != NATIONAL] or \
            [place for place in data.ordered(data.provincial["province"])]
        keyed = set(key["province"]) - {NATIONAL}
        without = [place for place in places if place not in keyed]
        rule = (f"a term it uses at least {data.params['keyness_min_count']} times and significantly more than "
                "the rest of the corpus")
        if not keyed:
            sentence = f"No province has a key term, {rule}"
        else:
            sentence = f"{capital(count(len(keyed), 'province'))} {verb(len(keyed), 'has', 'have')} a key term, {rule}"
            if without:
                have = verb(len(without), "has", "have")
                sentence += (f"; {count(len(without), 'province')} ({names(without)}) {have} none"
                             if len(without) <= 15 else f"; the other {len(without)} have none")
        sentences.append(sentence + ".")
        national_key = names(key.loc[key["province"] == NATIONAL].sort_values("rank")["term"].head(3))
        if not data.national.empty:
            sentences.append(f"The national passages' strongest key terms are {national_key}."
                             if NATIONAL in set(key["province"]) else
                             "The national passages have no significant key term.")
        if len(key):
            national = NATIONAL in set(key["province"])
            whose = ("the nation and " if national else "") + "the provinces with the most text that have any"
            sentences.append(f"@fig-keyness shows the key terms of {whose}.")
            blocks.append(md_figure("keyness.png", f"Key terms (log-likelihood G² against the rest of the corpus, "
                                    f"p ≤ {data.params['keyness_max_p']}) of "
                                    + (f"the national passages, led by {national_key}, and " if national else "")
                                    + "the provinces with the most text that have any.", "keyness",
                                    "Small multiples of horizontal bars: key terms by G2 per province."))
    top = key[key["rank"] <= 3].groupby("province")["term"].agg("、".join)
    tfidf_top = distinctive[distinctive["rank"] <= 3].groupby("province")["term"].agg("、".join)
    both_top = pd.DataFrame({"TF-IDF (top 3)": tfidf_top, "Key terms, G² (top 3)": top}).fillna("–")
    if len(both_top):
        both_top = both_top.reindex(sorted(both_top.index, key=lambda p: (p != NATIONAL, p)))
        sentences.append("@tbl-terms lists both for every province.")
        blocks.append(md_table(both_top.reset_index(names="Province"),
                               "The three most distinctive (TF-IDF) and key (G²) terms of each province.", "terms"))
    return [" ".join(sentences), *blocks]


def topics(data: ReportData) -> list[str]:
    """How the number of topics was chosen, the topics with their diagnostics, and their figures."""
    if not data.done("topics", "topics"):
        return [f"No topic model was fitted: {data.reason('topics', 'topics')}. Without topics there are no topic "
                "shares per province, no topic figures and no clusters by topic share."]
    topics, selection = data.tables["topics"], data.tables["topic_selection"]
    pairs, k = data.tables["topic_stability"], len(data.tables["topics"])
    chosen_row = selection[flags(selection["chosen"])].iloc[0]
    weakest = topics.sort_values("stability").iloc[0]
    largest = topics.sort_values("share").iloc[-1]
    modelled = len(data.tables["passage_topic_shares"])
    tried = selection["n_topics"].astype(int).tolist()
    if len(tried) > 1:
        choice = (f"@fig-topic-selection scores topic numbers {number_span(tried)}: {k} topics balance coherence "
                  f"(NPMI {chosen_row['coherence']:.2f}), exclusivity ({chosen_row['exclusivity']:.2f}) and "
                  f"stability ({chosen_row['stability']:.2f}).")
    else:
        why = ("fixed by the parameters" if data.params["n_topics"] != "auto"
               else "the only number of topic_grid the corpus supports")
        choice = (f"@fig-topic-selection scores the one topic number tried, {k} ({why}): coherence "
                  f"(NPMI {chosen_row['coherence']:.2f}), exclusivity ({chosen_row['exclusivity']:.2f}) and "
                  f"stability ({chosen_row['stability']:.2f}).")
    sentences = [choice,
                 f"Across the {count(len(pairs), 'pair')} of {data.params['stability_seeds']} random starts the "
                 f"matched topics have mean cosine {pairs['mean_cosine'].mean():.2f} (lowest single topic "
                 f"{pairs['min_cosine'].min():.2f})"
                 + (f"; the least stable topic, {weakest['label']}, is found again with cosine "
                    f"{weakest['stability']:.2f} on average." if round(weakest["stability"], 2) < 1
                    else "; every topic is found again in every refit."),
                 f"The model rests on {count(modelled, 'passage')} with terms"
                 + (f", only {modelled / k:.1f} per topic, so each topic stands on a handful of passages"
                    if modelled < 5 * k else "") + ".",
                 f"@tbl-topics gives each topic's diagnostics; the largest holds {topics['share'].max():.0%} of the "
                 "text."]
    topic_table = topics[["label", "share", "coherence", "exclusivity", "stability"]].rename(columns={
        "label": "Topic (top words)", "share": "Share", "coherence": "NPMI", "exclusivity": "Exclusivity",
        "stability": "Stability"})
    blocks = [
        md_figure("topic_selection.png", f"Choosing the number of topics: {k} has the best combined score of "
                  f"the {len(tried)} numbers tried." if len(tried) > 1 else
                  f"Diagnostics of the one number of topics tried, {k}.", "topic-selection",
                  "Four line charts of coherence, exclusivity, stability and score by topic number."),
        md_table(topic_table, "Topics with their corpus share, NPMI coherence, exclusivity and stability over random "
                 "starts.", "topics"),
        md_figure("topic_terms.png", f"Top words of the {k} topics; the largest, {largest['label']}, holds "
                  f"{largest['share']:.0%} of the text.", "topics", "One panel per topic with bars for its top words."),
    ]
    shares, clusters = data.tables["province_topics"], data.tables["clusters"]
    if len(clusters) and clusters["cluster"].nunique() > 1:
        merged = shares.merge(clusters[["province", "cluster"]], on="province")
        lift = merged.groupby(["cluster", "topic"])["share"].mean() - merged.groupby("topic")["share"].mean()
        lean = ", ".join(f"T{topic} in cluster {cluster}" for cluster, topic in lift.groupby(level="cluster").idxmax())
        caption = f"Topic shares of each province, grouped by cluster; the topics most over-represented are {lean}."
    n_places = data.provincial["province"].nunique()
    whose = words((["each province's" if n_places > 1 else "the province's"] if n_places else [])
                  + (["the national passages'"] if len(data.national) else []))
    if not (len(clusters) and clusters["cluster"].nunique() > 1):
        caption = f"Topic shares ({whose})" + ("; the provinces are not clustered." if n_places else ".")
    sentences.append(f"@fig-province-topics shows {whose} topic shares.")
    blocks.append(md_figure("province_topics.png", caption, "province-topics",
                            "Heatmap of topic shares, provinces in rows, topics in columns."))
    return [" ".join(sentences), *blocks]


def clusters(data: ReportData) -> list[str]:
    """The clusters: how many, how well separated and how stable, with their figures and table."""
    if not data.done("clusters", "clusters"):
        return [f"The provinces were not clustered: {data.reason('clusters', 'clusters')}. Without clusters there "
                "is no cluster map, dendrogram, projection or cluster keyness."]
    p = data.params
    clusters, sil = data.tables["clusters"], data.tables["cluster_silhouette"]
    k = clusters["cluster"].nunique()
    ari = data.tables["cluster_bootstrap"]["ari"]
    thin = clusters.loc[flags(clusters["thin"]), "province"].tolist()
    members = clusters.assign(stability=clusters["stability"].astype(float)).groupby("cluster").agg(
        Provinces=("province", lambda s: names(data.ordered(s))), Silhouette=("silhouette", "mean"),
        Stability=("stability", "mean"))
    ck = data.tables["keyness_clusters"]
    members["Key terms (G²)"] = (ck[ck["rank"] <= 4].groupby("cluster")["term"].agg("、".join)
                                 .reindex(members.index).fillna("–"))
    if not data.done("clusters", "bootstrap"):
        members = members.drop(columns="Stability")
    members = members.reset_index().rename(columns={"cluster": "Cluster"})
    tried = sil["n_clusters"].astype(int).tolist()
    if len(tried) > 1:
        choice = (f"the number with the highest mean silhouette ({sil['silhouette'].max():.2f}; range "
                  f"{value_range(sil['silhouette'])} over {count(len(tried), 'number')})")
    else:
        why = ("fixed by the parameters" if p["n_clusters"] != "auto"
               else "the only number of cluster_grid that the well-measured provinces allow")
        choice = f"{why}, with mean silhouette {sil['silhouette'].iloc[0]:.2f}"
    profile = PROFILE_WORDS.get(p["cluster_input"], p["cluster_input"])
    sentences = [f"Ward clustering of the {profile} profiles gives {k} clusters (@fig-map, @tbl-clusters), {choice}."]
    if data.done("clusters", "bootstrap") and len(ari):
        single = clusters[~flags(clusters["thin"]) & (clusters["n_passages"].astype(int) <= 1)]
        sentences.append(f"Their stability is {agreement(ari.mean())} by the usual thresholds "
                         f"(@fig-cluster-diagnostics): over {count(len(ari), 'bootstrap resample')} the ARI with the "
                         f"full-data clusters averages {ari.mean():.2f} (5–95%: {ari.quantile(0.05):.2f} to "
                         f"{ari.quantile(0.95):.2f}).")
        if len(single):
            sentences.append(f"{count(len(single), 'clustered province')} ({names(data.ordered(single['province']))}) "
                             f"{verb(len(single), 'has', 'have')} a single passage, which resampling cannot change, "
                             "so the ARI overstates their stability.")
        steady = clusters.assign(stability=clusters["stability"].astype(float)).sort_values(
            ["stability", "province"], ascending=[False, True])
        if len(steady) >= 6:
            sentences.append(f"The most stable memberships are {names(steady['province'].head(3))}; the least, "
                             f"{names(steady['province'].tail(3))}.")
    else:
        sentences.append(f"Their stability was not measured: {data.reason('clusters', 'bootstrap')} "
                         "(@fig-cluster-diagnostics shows the silhouettes).")
    if thin:
        sentences.append(f"{count(len(thin), 'province')} {verb(len(thin), 'has', 'have')} too little text to be "
                         f"measured well and {verb(len(thin), 'is', 'are')} drawn with a dashed border: "
                         f"{names(data.ordered(thin))}.")
    blocks = [
        md_figure("cluster_map.png", f"{k} clusters of provinces by policy emphasis, of "
                  f"{', '.join(clusters['cluster'].value_counts().sort_index().astype(str))} provinces; grey: no "
                  "text" + ("; dashed: thinly measured." if thin else "."), "map",
                  "Tile-grid map of China's provinces coloured by cluster."),
        md_table(members, "Members of each cluster with mean silhouette"
                 + (", mean bootstrap stability" if data.done("clusters", "bootstrap") else "")
                 + " and key terms.", "clusters"),
        md_figure("cluster_diagnostics.png", "Mean silhouette by number of clusters"
                  + (f" (left) and ARI of {len(ari)} bootstrap reclusterings with the full-data clusters (right, mean "
                     f"{ari.mean():.2f})." if data.done("clusters", "bootstrap") and len(ari) else "."),
                  "cluster-diagnostics", "Line chart of silhouette by cluster number"
                  + (" and histogram of bootstrap ARI." if len(ari) else ".")),
    ]
    if data.done("clusters", "projection"):
        placed = data.tables["cluster_projection"].merge(clusters, on="province")
        spans = placed[~flags(placed["thin"])].groupby("cluster")["x"].agg(["min", "max"]).sort_values("min")
        overlap = bool((spans["min"].iloc[1:].to_numpy() < spans["max"].cummax().iloc[:-1].to_numpy()).any())
        sentences.append("@fig-projection shows the profiles in two dimensions.")
        blocks.append(md_figure("projection.png", f"The provinces' profiles on their first two principal components; "
                                f"the {k} clusters {'overlap' if overlap else 'do not overlap'} on the first "
                                "component (colours: clusters; hollow: thinly measured).", "projection",
                                "Scatter plot of provinces labelled by name."))
    else:
        sentences.append(f"The profiles were not projected: {data.reason('clusters', 'projection')}.")
    sentences.append("@fig-dendrogram shows the Ward tree.")
    blocks.append(md_figure("dendrogram.png", f"Ward dendrogram of the well-measured province profiles, cut into {k} "
                            "clusters.", "dendrogram", "Dendrogram with province names as leaves coloured by cluster."))
    return [" ".join(sentences), *blocks]


def adoption(data: ReportData) -> list[str]:
    """When the national texts first use each programme and how far the provinces have taken it up."""
    adoption, curve = data.tables["adoption"], data.tables["adoption_curve"]
    sentences = []
    if data.national.empty:
        sentences.append("The corpus has no national passage, so it does not show when the national texts first "
                         "used the programmes.")
    else:
        firsts, absent = [], []
        for concept in data.focus:
            dates = sorted(str(d) for d in adoption.loc[(adoption["concept"] == concept)
                                                        & (adoption["level"] == "national"), "first_date"] if str(d))
            mentioned = ((adoption["concept"] == concept) & (adoption["level"] == "national")).any()
            if dates or mentioned:
                firsts.append(f"{concept} first appears in {dates[0]}" if dates else
                              f"{concept} appears in no dated national passage")
            else:
                absent.append(concept)
        if absent:
            firsts.append(f"{' and '.join(absent)} {verb(len(absent), 'does', 'do')} not appear")
        sentences.append(f"In the national texts of the corpus, {'; '.join(firsts)}.")
    if not data.done("convergence", "adoption_curve"):
        sentences.append(f"The adoption curve is not drawn: {data.reason('convergence', 'adoption_curve')}.")
        return ["### Adoption {#sec-adoption}", " ".join(sentences)]
    final = curve.sort_values("date").groupby("concept").tail(1).set_index("concept")
    dated = data.ordered(data.provincial.loc[data.provincial["date"].astype(str) != "", "province"])
    shares = [f"{final.loc[concept, 'share']:.0%} use {concept}" for concept in data.focus if concept in final.index]
    latest = final["date"].max()
    if len(dated) == 1:
        used = [concept for concept in data.focus if concept in final.index and final.loc[concept, "n_provinces"]]
        unused = [concept for concept in data.focus if concept not in used]
        uses = (f"uses {words(used)}" if used else "uses none of the programmes") + (
            f" but not {words(unused)}" if used and unused else "")
        sentences.append(f"The one province with dated passages, {dated[0]}, {uses} by {latest} (@fig-adoption).")
    else:
        sentences.append(f"By the latest plan date ({latest}), of the {len(dated)} provinces with dated passages "
                         f"{'; '.join(shares)} (@fig-adoption).")
    return ["### Adoption {#sec-adoption}", " ".join(sentences),
            md_figure("adoption.png", f"Cumulative share of provinces whose dated passages mention the programmes: "
                      f"{'; '.join(shares)} by {latest}.", "adoption",
                      "Step curves of the cumulative share of provinces using each programme over time.")]


def similarity(data: ReportData) -> list[str]:
    """Similarity of provincial to national text, its trend with the plan date and its spread by year."""
    heading = "### Similarity to national texts {#sec-similarity}"
    if not data.done("convergence", "similarity"):
        return [heading, f"Similarity to national text was not measured: {data.reason('convergence', 'similarity')}."]
    similarity = data.tables["similarity"]
    values = similarity["similarity"].astype(float)
    if len(similarity) == 1:
        sentence = (f"The cosine similarity of the one province's text ({similarity['province'].iloc[0]}) to the "
                    f"national passages is {values.iloc[0]:.2f} (@fig-similarity).")
    else:
        sentence = (f"The cosine similarity of provincial texts to the national passages ranges from "
                    f"{values.min():.2f} ({similarity.loc[values.idxmin(), 'province']}) to {values.max():.2f} "
                    f"({similarity.loc[values.idxmax(), 'province']}) (@fig-similarity).")
    if data.done("convergence", "trend"):
        trend = similarity_trend(similarity)
        p_value = "p < 0.01" if trend["p_value"] < 0.01 else f"p = {trend['p_value']:.2f}"
        trend_text = (f"Among the {trend['n']} provinces with a dated plan, similarity "
                      f"{trend_words(trend['rho'], trend['p_value'])} (Spearman ρ = {trend['rho']:.2f}, {p_value}).")
        caption_trend = f"similarity {trend_words(trend['rho'], trend['p_value'])} (ρ = {trend['rho']:.2f})"
    else:
        trend_text = f"Its trend with the plan date is not tested: {data.reason('convergence', 'trend')}."
        caption_trend = "its trend with the plan date is not tested"
    spread = data.tables["similarity_spread"].rename(columns={
        "year": "Plan year", "n_provinces": "Provinces", "median": "Median similarity", "iqr": "IQR",
        "mean_pairwise": "Mean pairwise similarity"})
    return [heading, f"{sentence} {trend_text} @tbl-spread gives its spread by plan year.",
            md_figure("similarity.png", f"Cosine similarity of each province's text to the national passages, by plan "
                      f"date: {caption_trend}.", "similarity", "Scatter of similarity against date, provinces named."),
            md_table(spread, "Similarity to the national passages by plan year: median, interquartile range and the "
                     "mean similarity between the provinces of that year (– with a single province).", "spread")]


def reuse(data: ReportData) -> list[str]:
    """Verbatim formulations shared across places, the reuse map and one aligned example."""
    heading = "### Text reuse {#sec-reuse}"
    if not data.done("reuse", "reuse"):
        return [heading, f"Verbatim reuse was not sought: {data.reason('reuse', 'reuse')}."]
    p = data.params
    matches, formulated = data.tables["reuse_matches"], data.tables["reuse_formulations"]
    example = data.tables["reuse_example"]
    shared = data.tables["reuse_provinces"]
    shared = shared[shared["province"] != NATIONAL]
    sharing = shared[shared["share_of_chars_reused"].astype(float) > 0]
    if matches.empty:
        return [heading, f"No span of at least {p['reuse_min_chars']} characters is shared verbatim by passages of "
                "different places" + (" and sources" if p["reuse_across_sources"] else "") + "."]
    with_national = int((formulated["n_national"] > 0).sum())
    national_words = ("it also appears" if len(formulated) == 1 and with_national else
                      "it does not appear" if len(formulated) == 1 else
                      f"{with_national or 'none'} of them also {verb(with_national, 'appears', 'appear')}")
    sentence = (f"{count(len(matches), 'shared span')} of at least {p['reuse_min_chars']} characters "
                f"{verb(len(matches), 'forms', 'form')} {count(len(formulated), 'formulation')}; {national_words} in "
                f"national text, and the most widely shared is used by "
                f"{count(int(formulated['n_provinces'].max()), 'province')} (@tbl-formulations). "
                f"{capital(count(len(sharing), 'province'))} {verb(len(sharing), 'shares', 'share')} some text")
    top = formulated.head(10)[["formulation", "n_provinces", "provinces", "n_sources", "n_national"]].rename(columns={
        "formulation": "Formulation", "n_provinces": "Provinces", "provinces": "Who", "n_sources": "Sources",
        "n_national": "National passages"})
    blocks = [md_table(top, "The most widely shared verbatim formulations"
                       + (" (passages of different sources)." if p["reuse_across_sources"] else "."), "formulations")]
    if len(sharing):
        most = sharing.sort_values(["share_of_chars_reused", "province"], ascending=[False, True]).iloc[0]
        sentence += "; @fig-reuse maps the share of each province's text that is shared."
        blocks.append(md_figure("reuse_map.png", f"Share of each province's text in spans shared verbatim with "
                                f"another province or the nation: highest in {most['province']} "
                                f"({float(most['share_of_chars_reused']):.0%}).", "reuse",
                                "Tile-grid map of China coloured by the share of text reused."))
    if len(example) == 2:
        sides = example.set_index(example["province"] + " (" + example["passage_id"] + ")")
        aligned = sides[["before", "match", "after"]].T.reset_index(names="")
        aligned.iloc[:, 0] = ["before", "**shared**", "after"]
        blocks += [f"@tbl-aligned aligns one {example['kind'].iloc[0]} match of {int(example['length'].iloc[0])} "
                   "characters side by side.",
                   md_table(aligned, "One shared formulation aligned, with its context in both passages.", "aligned")]
    return [heading, sentence if sentence.endswith(".") else sentence + ".", *blocks]


def robustness(data: ReportData) -> list[str]:
    """Which conclusions hold under the sweep's variants, with the table of conclusions."""
    sensitivity = data.tables["sensitivity"]
    variants = sensitivity[sensitivity["variant"] != "baseline"]
    if not data.done("sensitivity", "sweep") or variants.empty:
        return [f"The sensitivity sweep did not run: {data.reason('sensitivity', 'sweep') or 'no variant ran'}. "
                "The conclusions above are those of the baseline choices alone."]
    labels = {"n_topics": "the number of topics", "min_df": "the minimum document frequency",
              "cluster_input": "the clustering input"}
    sentences = [f"@tbl-sensitivity reruns the analysis with one choice changed at a time "
                 f"({count(len(variants), 'variant')})."]
    for name, label in labels.items():
        frame = variants[variants["parameter"] == name]
        if frame.empty:
            sentences.append(f"{capital(label)} was not varied: {data.reason('sensitivity', name)}.")
            continue
        clauses = []
        ari = frame["ari_vs_baseline"].dropna()
        if len(ari):
            clauses.append(f"the clusters' agreement with the baseline is {agreement(ari.min())} "
                           f"(ARI {value_range(ari)})")
        matched = [f"{what} {value_range(frame[column].dropna())}"
                   for column, what in (("topic_match", "the topics with mean cosine"),
                                        ("terms_overlap", "the distinctive terms with overlap"),
                                        ("similarity_rho", "the similarity ranking with ρ"))
                   if frame[column].notna().any()]
        if matched:
            clauses.append(f"the runs match {words(matched)}")
        if not clauses:
            reached = "; ".join(f"{row.value}: {count(int(row.n_topics), 'topic')}, "
                                f"{count(int(row.n_clusters), 'cluster')}" for row in frame.itertuples())
            clauses.append(f"no conclusion of the baseline could be compared (the variants reach {reached})")
        sentences.append(f"Changing {label} ({', '.join(frame['value'].astype(str))}): {'; '.join(clauses)}.")
    base_rho = sensitivity["trend_rho"].astype(float).iloc[0]
    if not math.isnan(base_rho):
        same_sign = int((variants["trend_rho"].astype(float) * base_rho > 0).sum())
        sentences.append(f"The sign of the correlation of similarity with plan date is that of the baseline in "
                         f"{same_sign} of {len(variants)} variants.")
    sentences.append("Adoption counts do not depend on these choices.")
    table = sensitivity.rename(columns={
        "variant": "Run", "n_topics": "Topics", "topic_match": "Topic match", "n_clusters": "Clusters",
        "silhouette": "Silhouette", "ari_vs_baseline": "ARI vs baseline", "bootstrap_ari": "Bootstrap ARI",
        "terms_overlap": "Terms overlap", "similarity_rho": "Similarity ρ", "trend_rho": "Trend ρ"})
    table = table.drop(columns=["parameter", "value"])
    return [" ".join(sentences),
            md_table(table, "Conclusions of the baseline and of each variant: topic match is the mean cosine of "
                     "matched topics, ARI compares clusters with the baseline, terms overlap is the mean Jaccard "
                     "overlap of distinctive terms, similarity ρ the rank correlation of similarity to national text, "
                     "trend ρ that of similarity with plan date; – where a run could not reach the conclusion.",
                     "sensitivity")]


