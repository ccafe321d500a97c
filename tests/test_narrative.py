"""The report's words: counts and lists in English, numbers read back from tables, and sentences that follow the
data (dates, the most widespread programme, what was skipped)."""

from __future__ import annotations

import pandas as pd

from helpers.findings import widest
from helpers.narrative import count, dates_sentence, numeric, verb, words
from helpers.status import status_table


def test_counts_lists_and_verbs_agree_with_their_numbers():
    assert [count(0, "province"), count(1, "province"), count(3, "province")] == [
        "no provinces", "1 province", "3 provinces"]
    assert count(2, "analysis", "analyses") == "2 analyses" and count(1200, "passage") == "1,200 passages"
    assert [words([]), words(["a"]), words(["a", "b"]), words(["a", "b", "c"])] == ["", "a", "a and b", "a, b and c"]
    assert (verb(1, "has", "have"), verb(2, "has", "have"), verb(0, "has", "have")) == ("has", "have", "have")


def test_numbers_written_with_empty_cells_are_read_back_as_numbers_but_ids_stay_text():
    table = pd.DataFrame({"source_id": ["000", ""], "mean_pairwise": ["0.25", ""], "thin": ["True", ""],
                          "label": ["3", ""]})
    read = numeric(table)
    assert read["mean_pairwise"].iloc[0] == 0.25 and read["mean_pairwise"].isna().iloc[1]
    assert read["source_id"].tolist() == ["000", ""] and read["label"].tolist() == ["3", ""]
    assert read["thin"].tolist() == ["True", ""]


def test_the_dates_sentence_says_where_each_date_comes_from():
    passages = pd.DataFrame({"date": ["2021-03", "2021", "", "2020-01"],
                             "date_basis": ["stated", "page", "", "stated"]})
    assert dates_sentence(passages) == ("A passage's date is the date the passage states for 2 passages and the "
                                        "page's publication date for 1 passage; 1 passage stays undated.")
    assert dates_sentence(passages.assign(date="")) == "No passage is dated, so nothing here is placed in time."
    assert dates_sentence(passages.assign(date_basis="")).startswith("3 dated passages do not record where their")


def test_the_most_widespread_programme_is_computed_with_its_ties():
    mentions = pd.DataFrame({"concept": ["一网通办", "一网通办", "一网统管", "一网统管", "跨省通办"],
                             "province": ["浙江", "上海", "浙江", "北京", "全国"],
                             "level": ["province", "city", "province", "province", "national"],
                             "count": [1, 2, 1, 1, 5]})
    assert widest(mentions) == "一网统管 and 一网通办 are the most widespread (2 provinces each)"
    assert widest(mentions.iloc[:3]) == "一网通办 is the most widespread (2 provinces)"
    national = mentions[mentions["level"] == "national"]
    assert widest(national) == "only the national texts mention programmes, 跨省通办 most often"


def test_status_tables_feed_the_list_of_skipped_analyses():
    from helpers.narrative import ReportData, skipped_analyses, supports

    stages = ("tfidf", "topics", "clusters", "convergence", "reuse", "sensitivity")
    status = {stage: status_table({}) for stage in stages}
    status["clusters"] = status_table({"clusters": "only 1 province", "bootstrap": "skipped with the clustering"})
    status["sensitivity"] = status_table({"sweep": "no variant to run", "min_df": "sweep_min_df is empty"})
    data = ReportData({}, status, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), None, {})
    assert skipped_analyses(data) == [("the clustering of provinces", "only 1 province"),
                                      ("the sensitivity sweep", "no variant to run")]
    listed = supports(data)[1].splitlines()
    assert listed == ["- **The clustering of provinces**: only 1 province.",
                      "- **The sensitivity sweep**: no variant to run."]
    data.status = {stage: status_table({}) for stage in stages}
    assert supports(data) == ["Every analysis of the pipeline ran on this corpus."]
