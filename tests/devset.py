"""Score passage attribution on the development set of real-like pages against its hand-read expectations.

Run as a script to see every disagreement: `python tests/devset.py [FOLDER]`. The tests import `score`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from helpers.cleaning import clean_corpus
from helpers.corpus import load_manifest
from helpers.formats import document_table, read_documents
from helpers.lexicon import Lexicon
from helpers.passages import count_concepts, passages_for_sources
from helpers.places import NATIONAL, city_forms
from helpers.provenance import manifest_provenance, source_infos

DEVSET = Path(__file__).parent / "fixtures" / "devset"
HOLDOUT = Path(__file__).parent / "fixtures" / "holdout"
TESTSET = Path(__file__).parent / "fixtures" / "testset"
# The date a (page, province) pair takes: that of its passage with the most direct evidence, else its first passage
# (for a province, among its passages about no particular city where it has such).
BASIS_RANK = {"manifest": 0, "metadata": 1, "stated": 2, "page": 3}


@dataclass
class Score:
    """Agreement of the pipeline's passages with a careful reading of the same pages."""

    precision: float
    recall: float
    date_accuracy: float
    city_accuracy: float
    concept_accuracy: float
    missed: list[tuple] = field(default_factory=list)
    spurious: list[tuple] = field(default_factory=list)
    wrong_dates: list[tuple] = field(default_factory=list)
    wrong_cities: list[tuple] = field(default_factory=list)
    wrong_counts: list[tuple] = field(default_factory=list)


def read_expected(folder: Path, name: str) -> pd.DataFrame:
    """Read one expectation table as strings."""
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False)


def run_passages(folder: Path, lexicon: Lexicon) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Clean the folder's pages and cut them as the pipeline does; return passages and concept mentions."""
    manifest = load_manifest(folder, lexicon.province_names, city_forms(lexicon) or None)
    documents = read_documents(folder, manifest)
    corpus = clean_corpus({source_id: document.text for source_id, document in documents.items()}, lexicon)
    meta = corpus.meta.merge(document_table(manifest, documents), on="source_id").merge(
        manifest_provenance(manifest), on="source_id")
    infos = source_infos(meta, lexicon.province_names, city_forms(lexicon))
    passages = passages_for_sources(corpus.texts, infos, lexicon, 12)
    return passages, count_concepts(passages, lexicon)


def same_date(expected: str, found: str) -> bool:
    """A date is right when it agrees to the precision the reader gave (a year, or a year and month)."""
    return found == expected if len(expected) > 4 else found[:4] == expected


def score(folder: Path, lexicon: Lexicon) -> Score:
    """Compare passages and concept counts with expected_pairs.csv and expected_concepts.csv of the folder."""
    passages, mentions = run_passages(folder, lexicon)
    pairs = read_expected(folder, "expected_pairs.csv")
    provincial = passages[passages["province"] != NATIONAL].copy()
    provincial["rank"] = provincial["date_basis"].map(BASIS_RANK).fillna(len(BASIS_RANK))
    provincial = provincial.sort_values(["source_id", "rank", "start"], kind="stable")
    found = set(zip(provincial["source_id"], provincial["province"], strict=True))
    expected = set(zip(pairs["source_id"], pairs["province"], strict=True))
    first = provincial.groupby(["source_id", "province"]).agg(date=("date", "first"),
                                                                cities=("city", lambda cities: set(cities)))
    own = provincial[provincial["city"] == ""].groupby(["source_id", "province"])["date"].first()
    first.loc[own.index, "date"] = own  # a province's own passages date it, where it has any besides its cities'

    city_dates = provincial.groupby(["source_id", "province", "city"])["date"].first().to_dict()
    dated = pairs[pairs["date"] != ""]
    wrong_dates = []
    for row in dated.itertuples():
        key = (row.source_id, row.province, row.city)
        date = city_dates.get(key, "(no passage)") if row.city else (
            first.at[key[:2], "date"] if key[:2] in found else "(no passage)")
        if not same_date(row.date, date):
            wrong_dates.append((*key, row.date, date))
    with_city = pairs[pairs["city"] != ""]
    wrong_cities = [(row.source_id, row.province, row.city) for row in with_city.itertuples()
                    if (row.source_id, row.province) not in found
                    or row.city not in first.at[(row.source_id, row.province), "cities"]]
    counts = read_expected(folder, "expected_concepts.csv")
    counts["count"] = counts["count"].astype(int)
    wanted = counts.set_index(["source_id", "owner", "concept"])["count"].to_dict()
    got = mentions.groupby(["source_id", "province", "concept"])["count"].sum().to_dict()
    keys = sorted(set(wanted) | set(got))
    wrong_counts = [(*key, wanted.get(key, 0), got.get(key, 0)) for key in keys
                    if wanted.get(key, 0) != got.get(key, 0)]
    hits = len(found & expected)
    return Score(
        precision=hits / len(found) if found else 1.0, recall=hits / len(expected) if expected else 1.0,
        date_accuracy=1 - len(wrong_dates) / len(dated) if len(dated) else 1.0,
        city_accuracy=1 - len(wrong_cities) / len(with_city) if len(with_city) else 1.0,
        concept_accuracy=1 - len(wrong_counts) / len(keys) if keys else 1.0,
        missed=sorted(expected - found), spurious=sorted(found - expected), wrong_dates=wrong_dates,
        wrong_cities=wrong_cities, wrong_counts=wrong_counts,
    )


def main(folder: Path) -> None:
    """Print the scores and every disagreement."""
    from helpers.config import project_root

    result = score(folder, Lexicon(project_root() / "data" / "lexicon"))
    print(f"pairs: precision {result.precision:.3f}, recall {result.recall:.3f}; dates {result.date_accuracy:.3f}; "
          f"cities {result.city_accuracy:.3f}; concept counts {result.concept_accuracy:.3f}")
    for name in ("missed", "spurious", "wrong_dates", "wrong_cities", "wrong_counts"):
        for row in getattr(result, name):
            print(f"{name}: {row}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEVSET)
