"""Passages of the development set (real-like pages of many sites) agree with a careful reading of them."""

from __future__ import annotations

import pytest
from devset import DEVSET, HOLDOUT, TESTSET, score


@pytest.fixture(scope="module")
def result(lexicon):
    """The development set's passages scored against its hand-read expectations."""
    return score(DEVSET, lexicon)


@pytest.fixture(scope="module")
def second(lexicon):
    """The second set (written apart from the code and the first set) scored the same way."""
    return score(HOLDOUT, lexicon)


def test_pages_are_tied_to_the_provinces_a_reader_finds(result):
    assert result.precision >= 0.95, result.spurious
    assert result.recall >= 0.95, result.missed


def test_pairs_get_the_dates_a_reader_gives(result):
    assert result.date_accuracy >= 0.90, result.wrong_dates


def test_city_pages_and_sections_name_their_city(result):
    assert result.city_accuracy >= 0.90, result.wrong_cities


def test_programme_mentions_are_counted_for_their_owner(result):
    assert result.concept_accuracy >= 0.90, result.wrong_counts


def test_the_set_has_many_sites_and_pairs():
    import pandas as pd

    manifest = pd.read_csv(DEVSET / "sources.csv", dtype=str, keep_default_na=False)
    pairs = pd.read_csv(DEVSET / "expected_pairs.csv", dtype=str, keep_default_na=False)
    assert len(manifest) >= 25 and manifest["site"].nunique() >= 15
    assert pairs["province"].nunique() >= 25


def test_the_second_set_written_apart_from_the_code_is_attributed_alike(second):
    assert second.precision >= 0.95 and second.recall >= 0.95, (second.spurious, second.missed)
    assert second.date_accuracy >= 0.90, second.wrong_dates
    assert second.city_accuracy >= 0.90, second.wrong_cities


def test_the_second_set_s_concept_counts_mostly_agree(second):
    assert second.concept_accuracy >= 0.75, second.wrong_counts


def test_a_third_set_read_once_still_finds_most_pairs(lexicon):
    third = score(TESTSET, lexicon)
    assert third.precision >= 0.85 and third.recall >= 0.95, (third.spurious, third.missed)
