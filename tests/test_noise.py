"""Damage clean text with each damage family, clean it again and measure the character error rate."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.cleaning import clean_document
from helpers.noise import CHROME, DAMAGE_KINDS, character_error_rate, content_chars, damage


@pytest.fixture(scope="module")
def clean_texts(root, lexicon) -> list[str]:
    """Clean prose not in the corpus, and the prose passages of the bundled corpus."""
    from helpers.corpus import load_manifest, read_sources
    from helpers.passages import passages_table
    from helpers.provenance import SourceInfo

    texts = (root / "tests" / "fixtures" / "clean_prose.txt").read_text("utf-8").splitlines()
    raw = root / "data" / "raw"
    for source_id, text in read_sources(raw, load_manifest(raw)).items():
        result = clean_document(text, lexicon)
        table = passages_table(source_id, result.text, lexicon, SourceInfo(page_date=result.page_date), 12)
        texts += [passage for passage in table["text"] if "|" not in passage]
    return texts


def test_error_rate_counts_only_content_characters():
    assert content_chars("数字（政府）2021年，APP。") == "数字政府2021年APP"
    assert character_error_rate("数字政府", "数字政府") == 0
    assert character_error_rate("数字政府", "数字政") == pytest.approx(0.25)


def test_damage_really_damages():
    text = "推进城市运行“一网统管”，到2023年底实现一网通办。"
    damaged = damage(text, seed=1)
    assert character_error_rate(text, damaged) > 0.5


@pytest.mark.parametrize("kind", DAMAGE_KINDS)
def test_each_damage_family_is_undone(kind, clean_texts, lexicon):
    errors = sum(character_error_rate(text, clean_document(damage(text, seed, (kind,)), lexicon).text)
                 * len(content_chars(text)) for seed, text in enumerate(clean_texts))
    assert errors / sum(len(content_chars(text)) for text in clean_texts) <= 0.003


def test_all_damage_together_stays_under_the_target(clean_texts, lexicon):
    rates = pd.Series([character_error_rate(text, clean_document(damage(text, 1000 + seed), lexicon).text)
                       for seed, text in enumerate(clean_texts)])
    weights = pd.Series([len(content_chars(text)) for text in clean_texts])
    assert (rates * weights).sum() / weights.sum() <= 0.003


def test_no_chrome_line_survives(clean_texts, lexicon):
    chrome = {line.format(n=12345, m=6, d=18) for line in CHROME}
    for seed, text in enumerate(clean_texts[:30]):
        kept = clean_document(damage(text, seed, ("chrome",)), lexicon).text.splitlines()
        survivors = [line for line in kept if content_chars(line) not in {content_chars(t) for t in text.split("\n")}]
        assert not survivors, (survivors, chrome & set(kept))
