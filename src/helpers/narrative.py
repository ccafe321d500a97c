"""The report's data and its sentences about the corpus: the abstract, the sources, what the corpus supports,
cleaning, coverage, methods and limitations, all computed from the tables (the results are in helpers.findings).

Nothing here names a source, a province or a genre the data did not show; a number is written only when it
exists, and an analysis a stage skipped is described by the reason its status table gives. A figure is
referenced only when its stage drew it: the functions of helpers.figures draw nothing for an empty table, and
the conditions here and in helpers.findings follow theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2

from helpers.convergence import EXACT_TREND, similarity_trend
from helpers.io import read_table
from helpers.lexicon import Lexicon
from helpers.reporting import agreement, md_figure, md_table, names, trend_words
from helpers.status import SKIPPED, number_span, skip_reason

NATIONAL = "全国"
TABLES = [("passages", "passages"), ("concept_mentions", "passages"), ("distinctive_terms", "tfidf"),
          ("keyness_provinces", "tfidf"), ("topics", "topics"), ("topic_terms", "topics"),
          ("topic_selection", "topics"), ("topic_stability", "topics"), ("passage_topic_shares", "topics"),
          ("province_topics", "topics"), ("clusters", "clusters"), ("cluster_silhouette", "clusters"),
          ("cluster_projection", "clusters"), ("cluster_bootstrap", "clusters"), ("keyness_clusters", "clusters"),
          ("adoption", "convergence"), ("adoption_curve", "convergence"), ("similarity", "convergence"),
          ("similarity_spread", "convergence"), ("reuse_matches", "reuse"), ("reuse_formulations", "reuse"),
          ("reuse_provinces", "reuse"), ("reuse_example", "reuse"), ("sensitivity", "sensitivity")]
STAGES = ("tfidf", "topics", "clusters", "convergence", "reuse", "sensitivity")
# Columns that hold ids, dates or labels: never read as numbers even when they look like them.
TEXT_COLUMNS = {"source_id", "passage_id", "passage_a", "passage_b", "source_a", "source_b", "date", "first_date",
                "year", "value", "variant", "parameter", "province", "term", "label", "formulation", "text"}
# What each stage's analyses are called in a sentence.
ANALYSES = {
    ("tfidf", "distinctive_terms"): "distinctive terms (TF-IDF)", ("tfidf", "keyness"): "keyness of provinces",
    ("topics", "topics"): "the topic model", ("clusters", "clusters"): "the clustering of provinces",
    ("clusters", "bootstrap"): "the bootstrap stability of the clusters",
    ("clusters", "projection"): "the projection of the profiles", ("clusters", "keyness"): "keyness of clusters",
    ("convergence", "adoption"): "adoption of the programmes", ("convergence", "adoption_curve"): "the adoption curve",
    ("convergence", "similarity"): "similarity to national text",
    ("convergence", "trend"): "the trend of similarity with the plan date", ("reuse", "reuse"): "text reuse",
    ("sensitivity", "sweep"): "the sensitivity sweep",
    ("sensitivity", "n_topics"): "varying the number of topics",
    ("sensitivity", "min_df"): "varying the minimum document frequency",
    ("sensitivity", "cluster_input"): "varying the clustering input",
}
KIND_WORDS = {"table_row": ("table row", "table rows"), "headed_section": ("headed section", "headed sections"),
              "document": ("paragraph of a whole document attributed to one place",
                           "paragraphs of whole documents attributed to one place each"),
              "prose": ("stretch of prose", "stretches of prose"),
              "shared": ("sentence naming several places, once for each",
                         "copies of sentences naming several places, one for each place")}
BASIS_WORDS = {"stated": "the date the passage states", "page": "the page's publication date",
               "manifest": "the issue date the manifest gives", "metadata": "the issue date of the page's metadata"}


def count(number: int, word: str, plural: str | None = None, none: str = "no") -> str:
    """'no provinces', '1 province', '3 provinces'."""
    plural = plural or f"{word}s"
    if number == 0:
        return f"{none} {plural}"
    return f"1 {word}" if number == 1 else f"{number:,} {plural}"


def words(items: list[str]) -> str:
    """Join English words: 'a', 'a and b', 'a, b and c'."""
    items = list(items)
    return ", ".join(items[:-1]) + f" and {items[-1]}" if len(items) > 1 else "".join(items)


def verb(number: int, singular: str, plural: str) -> str:
    """The verb form that agrees with a count."""
    return singular if number == 1 else plural


def capital(text: str) -> str:
    """The text with its first letter in upper case."""
    return text[:1].upper() + text[1:]


def numeric(table: pd.DataFrame) -> pd.DataFrame:
    """Read as numbers the columns that hold numbers and empty cells (a missing value is written empty)."""
    table = table.copy()
    for column in table.columns:
        if column in TEXT_COLUMNS or pd.api.types.is_numeric_dtype(table[column]):
            continue
        values = table[column].astype(str)
        filled = values[values != ""]
        converted = pd.to_numeric(filled, errors="coerce")
        if len(filled) < len(values) and converted.notna().all() and not filled.isin(["True", "False"]).any():
            table[column] = pd.to_numeric(values.replace("", np.nan), errors="coerce")
    return table


def flags(column: pd.Series) -> pd.Series:
    """A column of true/false flags as written in a table."""
    return column.astype(str) == "True"


@dataclass
class ReportData:
    """Everything the report says, read once: tables, status tables, manifest, cleaning metadata, parameters."""

    tables: dict[str, pd.DataFrame]
    status: dict[str, pd.DataFrame]
    manifest: pd.DataFrame
    meta: pd.DataFrame
    audit: pd.DataFrame
    lexicon: Lexicon
    params: dict[str, Any]
    focus: list[str] = field(default_factory=list)

    def reason(self, stage: str, analysis: str) -> str:
        """Why a stage skipped an analysis, or "" when it was done."""
        return skip_reason(self.status[stage], analysis) if stage in self.status else ""

    def done(self, stage: str, analysis: str) -> bool:
        """Whether a stage did an analysis."""
        return not self.reason(stage, analysis)

    @property
    def passages(self) -> pd.DataFrame:
        """The passages."""
        return self.tables["passages"]

    @property
    def provincial(self) -> pd.DataFrame:
        """The passages about a province."""
        return self.passages[self.passages["level"] != "national"]

    @property
    def national(self) -> pd.DataFrame:
        """The national passages."""
        return self.passages[self.passages["level"] == "national"]

    @property
    def covered(self) -> list[str]:
        """Mainland provinces with at least one passage, in gazetteer order."""
        present = set(self.provincial["province"])
        return [name for name in self.lexicon.mainland if name in present]

    @property
    def other_places(self) -> list[str]:
        """Provinces with passages outside the mainland list (Hong Kong, Macao, Taiwan), sorted."""
        return sorted(set(self.provincial["province"]) - set(self.lexicon.mainland))

    @property
    def absent(self) -> list[str]:
        """Mainland provinces without any passage."""
        return [name for name in self.lexicon.mainland if name not in set(self.covered)]

    def users(self, concept: str) -> list[str]:
        """The provinces that mention a focus concept, in gazetteer order."""
        adoption = self.tables["adoption"]
        rows = adoption[(adoption["concept"] == concept) & (adoption["level"] == "province")]
        return self.ordered(rows["province"])

    def ordered(self, provinces: Any) -> list[str]:
        """Province names in gazetteer order (unknown names last, by name)."""
        order = {name: index for index, name in enumerate(self.lexicon.provinces["province"])}
        return sorted(set(provinces), key=lambda name: (order.get(name, len(order)), name))


def load_report_data(processed: Path, interim: Path, raw_dir: Path, lexicon: Lexicon,
                     params: dict[str, Any]) -> ReportData:
    """Read every table the report uses (numbers as numbers), the status tables, manifest and cleaning files."""
    tables = {name: numeric(read_table(processed / f"{name}.csv", stage)) for name, stage in TABLES}
    status = {stage: read_table(processed / f"{stage}_status.csv", stage) for stage in STAGES}
    manifest = pd.read_csv(raw_dir / "sources.csv", dtype=str, keep_default_na=False)
    meta = numeric(read_table(interim / "sources_meta.csv", "clean"))
    audit = numeric(read_table(interim / "cleaning_audit.csv", "clean"))
    return ReportData(tables, status, manifest, meta, audit, lexicon, params, list(params["focus_concepts"]))


def skipped_analyses(data: ReportData) -> list[tuple[str, str]]:
    """(analysis in words, reason) of every analysis a stage skipped, in pipeline order, leaving out those
    skipped only because another was."""
    found = []
    for stage in STAGES:
        for row in data.status[stage].itertuples(index=False):
            whole_sweep = stage == "sensitivity" and row.analysis != "sweep" and not data.done(stage, "sweep")
            if row.status == SKIPPED and not str(row.reason).startswith("skipped with") and not whole_sweep:
                found.append((ANALYSES.get((stage, row.analysis), row.analysis.replace("_", " ")), str(row.reason)))
    return found


# --- the parts of the report ----------------------------------------------------------------------------------


def abstract(data: ReportData) -> list[str]:
    """The abstract: corpus, programmes, topics and clusters, similarity and reuse, in one paragraph."""
    passages, provincial = data.passages, data.provincial
    parts = [f"**Abstract.** We clean {count(len(data.manifest), 'source document')} and cut "
             f"{'it' if len(data.manifest) == 1 else 'them'} into {count(len(passages), 'passage')}"]
    if passages.empty:
        return [f"**Abstract.** We clean {count(len(data.manifest), 'source document')}, but after cleaning no text "
                "is long enough to stand as a passage, so there is nothing to analyse (@sec-supports)."]
    if provincial.empty:
        parts[0] += (", all of them national: no passage is about a province, so the analyses that compare "
                     "provinces are skipped.")
    else:
        parts[0] += (f" ({len(provincial):,} tied to {len(data.covered)} of the 31 mainland provinces"
                     + (f" and to {names(data.other_places)}" if data.other_places else "")
                     + (f", {len(data.national):,} national)." if len(data.national) else ", none national)."))
    parts.append(programme_sentence(data))
    parts.append(model_sentence(data))
    if not provincial.empty:
        parts += [similarity_sentence(data), reuse_sentence(data)]
    skipped = skipped_analyses(data)
    if skipped:
        parts.append(f"On this corpus {words([name for name, _ in skipped])} "
                     f"{verb(len(skipped), 'was', 'were')} skipped (@sec-supports).")
    parts.append("These results describe what the sources say, not the full population of plans.")
    return [" ".join(part for part in parts if part)]


def programme_sentence(data: ReportData) -> str:
    """How many provinces mention each focus programme, and how many all of them."""
    if data.provincial.empty:
        national = data.tables["adoption"]
        said = [concept for concept in data.focus
                if ((national["concept"] == concept) & (national["level"] == "national")).any()]
        unsaid = [concept for concept in data.focus if concept not in said]
        return (f"The national passages mention {words(said) or 'none of the programmes traced'}"
                + (f" but not {' or '.join(unsaid)}." if said and unsaid else "."))
    if data.provincial["province"].nunique() == 1:
        used = [concept for concept in data.focus if data.users(concept)]
        unused = [concept for concept in data.focus if concept not in used]
        return (f"{data.provincial['province'].iloc[0]} mentions {words(used) or 'none of the programmes traced'}"
                + (f" but not {' or '.join(unused)}" if used and unused else "") + ".")
    counts = [f"{count(len(data.users(concept)), 'province', none='no')} "
              f"{verb(len(data.users(concept)), 'mentions', 'mention')} {concept}" for concept in data.focus]
    sentence = capital("; ".join(counts))
    if len(data.focus) > 1:
        together = set.intersection(*(set(data.users(concept)) for concept in data.focus))
        if together and all(data.users(concept) for concept in data.focus):
            sentence += f", {len(together)} of them {'both' if len(data.focus) == 2 else 'all of them'}"
    return sentence + "."


def model_sentence(data: ReportData) -> str:
    """The topic model and the clusters in one or two sentences, or why they are missing."""
    topics = data.tables["topics"]
    if not data.done("topics", "topics"):
        return f"No topic model was fitted: {data.reason('topics', 'topics')}."
    scored = len(data.tables["topic_selection"])
    how = ("fixed by the parameters" if data.params["n_topics"] != "auto" else
           "chosen by coherence, exclusivity and stability" if scored > 1 else
           "the only number of topic_grid the corpus supports")
    sentence = f"A topic model with {len(topics)} topics, {how}"
    if data.provincial.empty:
        return sentence + ", describes the national passages."
    if not data.done("clusters", "clusters"):
        return sentence + f", describes the passages; the provinces were not clustered: " \
                          f"{data.reason('clusters', 'clusters')}."
    k_clusters = data.tables["clusters"]["cluster"].nunique()
    sentence += f", groups the provinces into {k_clusters} clusters of policy emphasis"
    ari = data.tables["cluster_bootstrap"]["ari"]
    if data.done("clusters", "bootstrap") and len(ari):
        sentence += (f"; the stability of that grouping under bootstrap resampling is {agreement(ari.mean())} "
                     f"(mean adjusted Rand index {ari.mean():.2f})")
    else:
        sentence += f"; its stability was not measured, as {data.reason('clusters', 'bootstrap')}"
    other = data.tables["sensitivity"]
    other = other.loc[other["parameter"] == "cluster_input", "ari_vs_baseline"].dropna()
    if len(other):
        sentence += (f"; its agreement with a clustering of the other profile is {agreement(other.min())} "
                     f"(ARI {other.min():.2f})")
    return sentence + "."


def similarity_sentence(data: ReportData) -> str:
    """The range of similarity to national text and its trend, or why it is missing."""
    similarity = data.tables["similarity"]
    if not data.done("convergence", "similarity"):
        return f"Similarity to national text was not measured: {data.reason('convergence', 'similarity')}."
    values = similarity["similarity"].astype(float)
    if len(similarity) == 1:
        sentence = (f"The cosine similarity of the one province's text ({similarity['province'].iloc[0]}) to the "
                    f"national texts is {values.iloc[0]:.2f}")
    else:
        sentence = (f"The cosine similarity of provincial to national texts ranges from {values.min():.2f} to "
                    f"{values.max():.2f}")
    if data.done("convergence", "trend"):
        trend = similarity_trend(similarity)
        return sentence + f" and {trend_words(trend['rho'], trend['p_value'])} (Spearman ρ = {trend['rho']:.2f})."
    return sentence + f"; its trend with the plan date was not tested, as {data.reason('convergence', 'trend')}."


def reuse_sentence(data: ReportData) -> str:
    """How many formulations are shared verbatim, or why reuse was not sought."""
    if not data.done("reuse", "reuse"):
        return f"Verbatim reuse was not sought: {data.reason('reuse', 'reuse')}."
    formulated = data.tables["reuse_formulations"]
    if formulated.empty:
        return "No formulation is shared verbatim between passages of different places."
    national = int((formulated["n_national"] > 0).sum())
    if len(formulated) == 1:
        return ("Verbatim reuse yields 1 shared formulation, "
                + ("which national text also uses." if national else "which no national text uses."))
    return (f"Verbatim reuse yields {len(formulated)} shared formulations, "
            f"{f'{national} of them' if national else 'none of them'} with national text.")


def sources(data: ReportData) -> list[str]:
    """The sources: how many, their kinds where the manifest names them, script, damage; the sources table."""
    manifest = data.manifest.reindex(columns=["source_id", "title", "site", "date", "script", "damage",
                                              "doc_type"], fill_value="")
    meta = data.meta.reindex(columns=["source_id", "raw_chars", "clean_chars", "format", "title", "date", "site",
                                      "page_date", "extraction"], fill_value="").fillna("")
    table = manifest[["source_id", "script", "damage", "doc_type"]].merge(meta, on="source_id", how="left")
    table = table.fillna({"title": "", "date": "", "site": "", "page_date": "", "format": "", "extraction": ""})
    from_page = table["page_date"].astype(str).map(lambda date: f"{date} (page)" if date else "not stated")
    table = table.assign(date=table["date"].astype(str).where(table["date"].astype(str) != "", from_page))
    counts = data.passages.groupby("source_id")["province"].agg(
        passages="size", provinces=lambda s: s[s != NATIONAL].nunique()).reset_index()
    table = table.merge(counts, on="source_id", how="left").fillna({"passages": 0, "provinces": 0})
    table = table.astype({"passages": int, "provinces": int})
    n = len(manifest)
    sentences = [f"The corpus holds {count(n, 'source')} (@tbl-sources)."]
    kinds = manifest["doc_type"][manifest["doc_type"] != ""].value_counts()
    if len(kinds):
        listed = ", ".join(f"{kind} ({number})" for kind, number in kinds.items())
        sentences.append(f"The manifest gives their document types: {listed}"
                         + (f"; {n - kinds.sum()} {verb(n - kinds.sum(), 'is', 'are')} not typed" if kinds.sum() < n
                            else "") + ".")
    with_provinces = int((table["provinces"] > 0).sum())
    if n == 1:
        sentences.append("The source yields passages about provinces." if with_provinces else
                         "The source yields no passage about a province.")
    elif with_provinces == n:
        sentences.append("Every source yields passages about provinces.")
    elif with_provinces == 0:
        sentences.append("No source yields a passage about a province.")
    else:
        sentences.append(f"{with_provinces} of the {n} sources yield passages about provinces; the other "
                         f"{n - with_provinces} only national text or none.")
    scripts = manifest["script"][manifest["script"] != ""].value_counts()
    if "traditional" in scripts:
        sentences.append(f"The manifest lists {count(int(scripts['traditional']), 'source')} in traditional "
                         "script.")
    damaged = int((manifest["damage"] != "").sum())
    cleaned = int((data.audit.groupby("source_id")["chars_removed"].sum() > 0).sum()) if len(data.audit) else 0
    if damaged:
        sentences.append(f"The manifest describes damage from scraping in {count(damaged, 'source')}.")
    sentences.append(f"Cleaning removed text from {count(cleaned, 'source')} (@sec-cleaning)." if cleaned
                     else "Cleaning removed nothing (@sec-cleaning).")
    read = table[~table["format"].isin(["", "text"])]
    if len(read):
        notes = "; ".join(f"{row.source_id}: {row.extraction}" for row in read.itertuples())
        sentences.append(f"{count(len(read), 'source')} {verb(len(read), 'was', 'were')} read from "
                         f"{', '.join(sorted(set(read['format'])))} files, and reading removed what is not text "
                         f"({notes}).")
    columns = {"source_id": "Id", "title": "Title", "site": "Site", "date": "Date", "format": "Format",
               "script": "Script", "raw_chars": "Raw chars", "clean_chars": "Clean chars", "passages": "Passages",
               "provinces": "Provinces"}
    shown = table[list(columns)].rename(columns=columns)
    shown = shown[[column for column in shown.columns if column not in ("Site", "Script", "Format")
                   or (shown[column] != "").any() and not (column == "Format" and set(shown[column]) <= {"text"})]]
    return [" ".join(sentences), md_table(shown, "The sources of the corpus (from the manifest sources.csv; a date "
                                          "marked page is the one the page's own metadata gives).", "sources")]


def supports(data: ReportData) -> list[str]:
    """What the corpus supports: every analysis a stage skipped, with the reason."""
    skipped = skipped_analyses(data)
    if not skipped:
        return ["Every analysis of the pipeline ran on this corpus."]
    lines = [f"- **{capital(name)}**: {reason}." for name, reason in skipped]
    return [f"The pipeline runs every analysis the corpus supports and skips the others. On this corpus it "
            f"skipped {count(len(skipped), 'analysis', 'analyses')}, and with "
            f"{'it' if len(skipped) == 1 else 'them'} the figures and tables that would show "
            f"{'it' if len(skipped) == 1 else 'them'}:", "\n".join(lines)]


PROFILE_WORDS = {"topics": "topic-share", "tfidf": "TF-IDF"}
RULE_WORDS = {"pinyin": "pinyin readings", "gloss": "English glosses"}


def cleaning(data: ReportData) -> list[str]:
    """What cleaning removed, by rule and source, with the figure and the two tables."""
    audit = data.audit
    removed = audit.groupby("source_id")["chars_removed"].sum() if len(audit) else pd.Series(dtype=float)
    method = ("Every text is converted to simplified script, variant characters in names are standardised and "
              "punctuation is normalised to full-width forms.")
    if removed.sum() <= 0:
        return [f"Cleaning removed nothing: no source carries the damage the cleaning rules look for. {method}"]
    readings = audit[audit["rule"].isin(list(RULE_WORDS))]
    read_words = " and ".join(RULE_WORDS[rule] for rule in RULE_WORDS if rule in set(readings["rule"]))
    lines = audit[audit["lines_dropped"] > 0]
    reasons = lines.groupby("rule")["lines_dropped"].sum().sort_values(ascending=False)
    reason_words = ", ".join(f"{rule.removeprefix('line: ').replace('_', ' ')} {int(number)}"
                             for rule, number in reasons.items())
    sentence = f"Cleaning removed {int(removed.sum()):,} characters in all"
    if readings["chars_removed"].sum() > 0:
        sentence += f", {int(readings['chars_removed'].sum()):,} of them {read_words} written after characters"
    if len(reasons):
        sentence += (f", and dropped {int(reasons.sum()):,} lines of page chrome and other non-text "
                     f"({reason_words})")
    by_rule_total = audit.groupby("rule")["chars_removed"].sum().sort_values(ascending=False)
    by_rule = audit.assign(kind=audit["rule"].str.replace("line: ", "lines: ", regex=False))
    removed_table = by_rule.pivot_table(index="kind", columns="source_id", values="chars_removed", aggfunc="sum",
                                        fill_value=0)
    removed_table["all"] = removed_table.sum(axis=1)
    removed_table = removed_table.sort_values("all", ascending=False)
    removed_table = removed_table.reset_index().rename(columns={"kind": "Rule"}).rename_axis(columns=None)
    dropped = {source: ", ".join(f"{row.rule.removeprefix('line: ')} {int(row.lines_dropped)}"
                                 for row in group.itertuples())
               for source, group in lines.groupby("source_id")}
    excerpts = data.meta.assign(dropped=[dropped.get(source, "none") for source in data.meta["source_id"]])
    excerpts = excerpts.reindex(columns=["source_id", "excerpt_raw", "excerpt_clean", "dropped"], fill_value="")
    return [
        f"{sentence}. {method} @fig-cleaning shows what each rule removed from each source.",
        md_figure("cleaning_audit.png", f"Characters removed from each source, by cleaning rule: the rule "
                  f"'{by_rule_total.index[0]}' removes the most ({by_rule_total.iloc[0] / removed.sum():.0%} of all), "
                  f"and source {removed.idxmax()} loses the most ({int(removed.max()):,} characters).", "cleaning",
                  "Stacked horizontal bars of characters removed per cleaning rule for each source."),
        "@tbl-removed counts the characters each rule removed from each source (rows starting with *lines* "
        "count the characters of whole lines dropped); @tbl-excerpts shows, for each source, the line that "
        "cleaning changed most, before and after, with the lines dropped by reason.",
        md_table(removed_table, "Characters removed per source and rule.", "removed"),
        md_table(excerpts.rename(columns={"source_id": "Source", "excerpt_raw": "Before (raw)",
                                          "excerpt_clean": "After (cleaned)", "dropped": "Lines dropped"}),
                 "The line each source's cleaning changed most, before and after.", "excerpts"),
    ]


def coverage(data: ReportData) -> list[str]:
    """How passages were cut, which provinces they cover, and the coverage figure."""
    passages = data.passages
    if passages.empty:
        return ["No passage was cut from the sources: after cleaning, no text is long enough "
                f"(min_passage_chars = {data.params.get('min_passage_chars', '')}) to stand as a passage."]
    kinds = passages["kind"].value_counts()
    kind_words = [count(int(number), *KIND_WORDS.get(kind, (kind.replace("_", " "),) * 2))
                  for kind, number in kinds.items()]
    sentences = [f"The {count(len(passages), 'passage')} {verb(len(passages), 'was', 'were')} cut as "
                 f"{words(kind_words)}."]
    covered, absent = data.covered, data.absent
    if covered:
        rest = (f"; {names(absent)} {verb(len(absent), 'has', 'have')} none" if absent and len(absent) <= 15
                else f"; the other {len(absent)} have none" if absent else "")
        sentences.append(("All 31 mainland provinces have" if not absent else
                          f"{len(covered)} of the 31 mainland provinces {verb(len(covered), 'has', 'have')}")
                         + f" at least one passage{rest}"
                         + (f"; passages also speak of {names(data.other_places)}" if data.other_places else "")
                         + ".")
    else:
        sentences.append("No mainland province has a passage: every passage is "
                         + ("national." if data.provincial.empty else f"about {names(data.other_places)}."))
    silent = sorted(set(data.meta["source_id"]) - set(data.provincial["source_id"]))
    if silent and not data.provincial.empty:
        sentences.append(f"{'Source' if len(silent) == 1 else 'Sources'} {', '.join(silent)} "
                         f"{verb(len(silent), 'yields', 'yield')} no province passage.")
    multi = int((data.provincial.groupby("province")["source_id"].nunique() > 1).sum())
    sentences.append("@fig-coverage shows how many passages each source gives each province.")
    return [" ".join(sentences),
            md_figure("coverage.png", "Passages per province and source: " + (
                      f"{len(covered)} of 31 mainland provinces are covered, {multi} of them by more than one source."
                      if covered else "no mainland province is covered."), "coverage",
                      "Heatmap of passage counts, provinces in rows and sources in columns.")]


def methods(data: ReportData) -> list[str]:
    """The methods, with the parameters of this run and the numbers chosen on this corpus."""
    p = data.params
    topics, selection = data.tables["topics"], data.tables["topic_selection"]
    silhouette = data.tables["cluster_silhouette"]
    if data.done("topics", "topics"):
        tried = selection["n_topics"].astype(int).tolist()
        grid = [int(k) for k in p["topic_grid"]]
        narrowed = (f" (the numbers of topic_grid, {number_span(grid)}, that the corpus supports)"
                    if sorted(tried) != sorted(set(grid)) else "")
        k_note = ("fixed by the parameters" if p["n_topics"] != "auto" else
                  f"the only number of topic_grid ({number_span(grid)}) that the corpus supports" if len(tried) == 1
                  else f"chosen from {number_span(tried)}{narrowed} by the mean of the min–max scaled coherence, "
                  "exclusivity and stability")
        topic_words = f"The number of topics, {len(topics)}, was {k_note}."
    else:
        topic_words = "On this corpus no topic model was fitted (@sec-topics)."
    if data.done("clusters", "clusters"):
        tried = silhouette["n_clusters"].astype(int).tolist()
        c_note = ("fixed by the parameters" if p["n_clusters"] != "auto" else
                  "the only number of cluster_grid that the well-measured provinces allow" if len(tried) == 1
                  else f"chosen by the highest mean silhouette over {number_span(tried)}")
        cluster_words = (f"the number of clusters, {data.tables['clusters']['cluster'].nunique()}, was {c_note}")
    else:
        cluster_words = "on this corpus the provinces were not clustered (@sec-clusters)"
    g2_threshold = chi2.isf(p["keyness_max_p"], df=1)
    max_df = p["max_df"]
    max_df_words = f"at most {max_df:.0%} of them" if isinstance(max_df, float) else f"at most {max_df} of them"
    return [f"""
**Tokens.** Texts are tokenised with jieba, using a user dictionary generated from the lexicon so that programme
names such as 一网通办 and 互联网+政务服务 stay single tokens; tokens shorter than {p['min_token_chars']} characters,
province names and a documented stopword list of Chinese policy boilerplate are dropped.

**Distinctive terms and keyness.** Each province's passages form one document. TF-IDF (terms in at least
{p['min_df']} passages and {max_df_words}) ranks each province's terms. Keyness compares a province (or a
cluster) with the rest of the corpus on each term's 2×2 table of token counts, with Dunning's log-likelihood G²
(chi-squared is reported alongside); a term is key if the group uses it at least {p['keyness_min_count']} times,
more than expected, with p ≤ {p['keyness_max_p']} (G² ≥ {g2_threshold:.2f}).

**Topics.** Non-negative matrix factorisation on passage-level TF-IDF; a model of k topics needs at least k
passages and k terms. {topic_words} Coherence is the mean NPMI of each topic's {p['topic_top_words']} top words over
passages; exclusivity is the mean share of a top word's weight that falls in its topic; stability is the mean
cosine between topics of {p['stability_seeds']} random starts after matching them one to one (Hungarian
assignment). Topic shares are aggregated to provinces weighting passages by length.

**Clusters.** Provinces are clustered with Ward's method on their
{PROFILE_WORDS.get(p['cluster_input'], p['cluster_input'])} profiles, which needs at
least three well-measured provinces; {cluster_words}. Provinces with fewer than {p['min_province_chars']}
characters of text are flagged as thinly measured and attached to the nearest cluster centroid instead of
shaping the clusters. Stability: the passages of each province are resampled with replacement {p['n_boot']}
times, the provinces reclustered, and each resample compared with the full-data clusters by the adjusted Rand
index (ARI); a province's stability is the mean Jaccard overlap of its cluster across resamples.

**Convergence.** Three measures: (1) adoption, the first dated mention of each programme in national and
provincial passages and the cumulative share of provinces using it; (2) similarity, the cosine between each
province's mean TF-IDF vector and the centroid of the national passages, set against the province's plan date
(its earliest dated passage; Spearman's rank correlation, its p-value exact from every ordering for up to
{EXACT_TREND} provinces), with its spread by plan year; (3) text reuse, verbatim spans of at least
{p['reuse_min_chars']} characters shared by passages of different provinces, or of a province and the nation,
found through an index of {p['reuse_shingle']}-character shingles (shingles in more than
{p['reuse_max_passages']} passages are boilerplate) and extended to maximal common
spans{', between different sources only' if p['reuse_across_sources'] else ''}; titles in 《》 are citations and
never match.

**Sensitivity.** Stages 03–06 are rerun through papermill with one choice changed at a time (number of topics,
minimum document frequency, clustering input; {p['sweep_n_boot']} bootstrap resamples each) and their
conclusions compared with the baseline (@sec-robustness). All random steps use seed {p['seed']}.
"""]


def dates_sentence(passages: pd.DataFrame) -> str:
    """Where the passages' dates come from, and how many stay undated."""
    dated = passages[passages["date"].astype(str) != ""]
    undated = len(passages) - len(dated)
    if dated.empty:
        return "No passage is dated, so nothing here is placed in time." if len(passages) else ""
    basis = dated.get("date_basis", pd.Series("", index=dated.index)).astype(str)
    known = basis[basis != ""].value_counts()
    sources = [f"{BASIS_WORDS.get(name, name)} for {count(int(number), 'passage')}" for name, number in known.items()]
    unknown = int((basis == "").sum())
    return ((f"A passage's date is {words(sources)}" if sources else "")
            + (f"{'; ' if sources else ''}{count(unknown, 'dated passage')} {verb(unknown, 'does', 'do')} not record "
               "where {} date comes from".format("its" if unknown == 1 else "their") if unknown else "")
            + (f"; {count(undated, 'passage')} {verb(undated, 'stays', 'stay')} undated." if undated else "."))


def limitations(data: ReportData) -> list[str]:
    """What the corpus and the methods cannot show, computed from the corpus."""
    provincial = data.provincial
    sentences = [f"The corpus is {count(len(data.manifest), 'source')} (@tbl-sources); where a source quotes or "
                 "paraphrases plans rather than being a plan itself, its wording is the editor's as much as the "
                 "province's."]
    chars = provincial.assign(n=provincial["text"].str.len()).groupby("province")["n"].sum().sort_values()
    if len(chars) >= 2:
        ratio = chars.iloc[-1] / max(chars.iloc[0], 1)
        differ = ("Provinces differ greatly in how much text they have" if ratio >= 10 else
                  "Provinces differ in how much text they have" if ratio >= 2 else
                  "Provinces have similar amounts of text")
        thin = chars.iloc[0] < data.params["min_province_chars"]
        sentences.append(f"{differ}, from {int(chars.iloc[-1]):,} characters "
                         f"({chars.index[-1]}) to {int(chars.iloc[0]):,} ({chars.index[0]})"
                         + (", so distinctive terms and topic shares of thinly covered provinces are fragile"
                            if thin else "")
                         + (f"; {count(len(data.absent), 'mainland province')} {verb(len(data.absent), 'has', 'have')} "
                            "no text at all" if data.absent else "") + ".")
    elif len(chars) == 1:
        sentences.append(f"All provincial text is about one province, {chars.index[0]}, so nothing here compares "
                         "provinces.")
    else:
        sentences.append("No passage is about a province, so nothing here compares provinces.")
    sentences.append(dates_sentence(data.passages))
    sentences.append("A mention of a programme shows that the source associates it with the province, not that the "
                     "province implemented it.")
    ari = data.tables["cluster_bootstrap"]["ari"]
    if data.done("clusters", "bootstrap") and len(ari):
        sentences.append(f"The clusters' stability under bootstrap resampling is {agreement(ari.mean())} (mean ARI "
                         f"{ari.mean():.2f}), so they describe this corpus rather than a settled typology of "
                         "provinces.")
    if data.done("reuse", "reuse"):
        sentences.append("Where sources paraphrase plans rather than quote them, verbatim reuse understates the reuse "
                         "between the plans themselves.")
    return [" ".join(sentences)]
