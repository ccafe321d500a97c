"""UTF-8 text read with the wrong codec is repaired where the bytes allow, and counted where they do not."""

from __future__ import annotations

from helpers.cleaning import clean_document
from helpers.mojibake import repair_mojibake

SENTENCE = "全面推进一网统管建设，实现政务服务一网通办，打造浙里办。"


def as_gbk_reader_saw_it(text: str) -> str:
    """Text encoded as UTF-8 and decoded as GB18030, as a scraper with the wrong codec saves it."""
    return text.encode("utf-8").decode("gb18030", errors="replace")


def test_a_whole_line_read_as_gbk_is_repaired():
    tally: dict[str, int] = {}
    repaired = repair_mojibake(as_gbk_reader_saw_it(SENTENCE), tally)
    assert repaired.startswith(SENTENCE[:-1])
    assert tally["mojibake_repaired"] > 0


def test_damaged_fragments_inside_clean_text_are_repaired_and_the_lost_end_is_counted():
    line = "上海市推进" + as_gbk_reader_saw_it("一网通办") + "和" + as_gbk_reader_saw_it("城市运行一网统管") + "。"
    tally: dict[str, int] = {}
    repaired = repair_mojibake(line, tally)
    assert repaired.startswith("上海市推进一网通办和城市运行一网统")
    assert "\ufffd" not in repaired and tally["mojibake_unrepaired"] >= 1


def test_a_browser_rendering_with_the_euro_sign_is_repaired():
    line = SENTENCE.encode("utf-8").decode("gb18030", errors="replace").replace("\ufffd", "€")
    assert repair_mojibake(line, {}).startswith(SENTENCE[:-1])


def test_clean_text_with_rare_characters_is_left_alone(root):
    for path in sorted((root / "data" / "raw").glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            tally: dict[str, int] = {}
            assert repair_mojibake(line, tally) == line, line
            assert not tally


def test_lost_bytes_are_dropped_and_counted_in_the_audit(lexicon):
    result = clean_document("推进一网通办锟斤拷锟斤拷改革\ufffd\ufffd。\n", lexicon)
    assert result.text == "推进一网通办改革。\n"
    assert result.removed_chars["mojibake_unrepaired"] == 8


def test_repaired_programme_names_reach_the_cleaned_text(lexicon):
    result = clean_document(as_gbk_reader_saw_it("各地积极推进一网统管。") + "\n", lexicon)
    assert "一网统管" in result.text
