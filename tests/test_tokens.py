"""Tokeniser on a tiny lexicon: lexicon terms stay whole; stopwords, places, punctuation, numbers go."""

from __future__ import annotations

import copy
import time
from pathlib import Path

import pandas as pd
import pytest

from helpers.config import ProjectError
from helpers.tokens import Tokenizer, build_user_dictionary, tokenize_passages

PROVINCES = """province,full_name,kind,name_en,region,aliases,abbreviation
北京,北京市,municipality,Beijing,东部,,京
内蒙古,内蒙古自治区,autonomous_region,Inner Mongolia,西部,内蒙,蒙
浙江,浙江省,province,Zhejiang,东部,,浙
"""
CONCEPTS = """concept,form,form_kind,gloss_en,note
一网通办,一网通办,canonical,,
一网通办,网通办,damaged,,
一网统管,一网统管,canonical,,
一网统管,一网通管,variant,,
跨省通办,跨省通办,canonical,,
跨省通办,跨省（区）通办,variant,,
互联网+政务服务,互联网+政务服务,canonical,,
"""


def write_lexicon(folder: Path, userdict: str | None = "# extra terms\n数字政府\n城市大脑\n") -> Path:
    """Write a tiny lexicon folder and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "provinces.csv").write_text(PROVINCES, encoding="utf-8")
    (folder / "concepts.csv").write_text(CONCEPTS, encoding="utf-8")
    (folder / "stopwords.txt").write_text("# filler\n推进\n加快\n建设\n全面\n的\n", encoding="utf-8")
    if userdict is not None:
        (folder / "userdict.txt").write_text(userdict, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def lexicon_dir(tmp_path_factory) -> Path:
    """A tiny lexicon folder with concepts, three provinces, stopwords and a user dictionary."""
    return write_lexicon(tmp_path_factory.mktemp("lexicon"))


@pytest.fixture(scope="module")
def tokenizer(lexicon_dir) -> Tokenizer:
    """One tokeniser for the module (jieba loads its dictionary once)."""
    return Tokenizer(lexicon_dir, min_token_chars=2)


def test_user_dictionary_holds_concepts_provinces_and_userdict(lexicon_dir, tmp_path):
    terms = build_user_dictionary(lexicon_dir)
    assert {"一网通办", "网通办", "互联网+政务服务", "跨省（区）通办", "内蒙古自治区", "内蒙", "浙江省",
            "数字政府", "城市大脑"} <= set(terms)
    assert [len(term) for term in terms] == sorted((len(term) for term in terms), reverse=True)
    bare = write_lexicon(tmp_path / "bare", userdict=None)
    assert "数字政府" not in build_user_dictionary(bare)
    assert "一网统管" in build_user_dictionary(bare)


def test_user_dictionary_rejects_terms_with_spaces(tmp_path):
    folder = write_lexicon(tmp_path / "spaced", userdict="数字 政府\n")
    with pytest.raises(ProjectError, match="contain spaces"):
        build_user_dictionary(folder)


def test_concept_forms_come_out_as_single_tokens(tokenizer):
    tokens = tokenizer.tokenize("深入推进“互联网+政务服务”，实现一网通办和跨省（区）通办，建设城市大脑。")
    assert "互联网+政务服务" in tokens
    assert "一网通办" in tokens
    assert "跨省（区）通办" in tokens
    assert "城市大脑" in tokens
    assert not {"互联网", "政务服务", "通办", "一网", "+"} & set(tokens)


def test_damaged_forms_are_repaired_and_variants_kept(tokenizer):
    assert tokenizer.tokenize("推行网通办，探索一网通管") == ["推行", "一网通办", "探索", "一网通管"]


def test_stopwords_punctuation_numbers_and_single_characters_are_dropped(tokenizer):
    tokens = tokenizer.tokenize("加快推进数字政府建设，2021年全面提升的5G网络和APP覆盖率达到95%。")
    assert "数字政府" in tokens and "5G" in tokens and "APP" in tokens
    assert not {"加快", "推进", "建设", "全面", "的", "2021", "95", "年", "，", "。", "%"} & set(tokens)


def test_province_names_are_dropped_whole(tokenizer):
    tokens = tokenizer.tokenize("内蒙古自治区与浙江省、北京市共同推动跨省通办")
    assert tokens == ["共同", "推动", "跨省通办"]


def test_lexicon_terms_are_kept_below_the_minimum_length(tokenizer):
    strict = copy.copy(tokenizer)
    strict.min_token_chars = 5
    assert strict.tokenize("政务服务实现一网通办") == ["一网通办"]


def test_bad_min_token_chars_is_refused(lexicon_dir):
    with pytest.raises(ProjectError, match="min_token_chars"):
        Tokenizer(lexicon_dir, min_token_chars=0)


def test_missing_stopword_list_is_named(tmp_path):
    folder = write_lexicon(tmp_path / "nostop")
    (folder / "stopwords.txt").unlink()
    with pytest.raises(ProjectError, match="stopwords.txt"):
        Tokenizer(folder, min_token_chars=2)


def test_tokenize_passages_sorts_and_joins_with_spaces(tokenizer):
    passages = pd.DataFrame({"passage_id": ["001-0002", "000-0001"],
                             "text": ["浙江省推行一网通办", "数字政府，2021年"]})
    table = tokenize_passages(passages, tokenizer)
    assert table["passage_id"].tolist() == ["000-0001", "001-0002"]
    assert table["tokens"].tolist() == ["数字政府", "推行 一网通办"]


def test_tokenising_a_corpus_sized_text_is_fast(tokenizer, root):
    text = "".join(path.read_text(encoding="utf-8") for path in sorted((root / "data" / "raw").glob("*.txt")))
    text = (text * (80_000 // max(len(text), 1) + 1))[:80_000]
    started = time.perf_counter()
    tokens = tokenizer.tokenize(text)
    assert time.perf_counter() - started < 2.0
    assert len(tokens) > 5_000



def test_jieba_loads_only_where_text_is_tokenised(lexicon_dir):
    import pandas as pd

    from helpers.tokens import tokenize_passages

    main = Tokenizer(lexicon_dir, 2)
    assert "jieba" not in vars(main)
    passages = pd.DataFrame({"passage_id": ["a-1", "a-2"], "text": ["推进政务服务一网通办。", "建设城市大脑。"]})
    parallel = tokenize_passages(passages, main, n_jobs=2)
    assert "jieba" not in vars(main)
    assert parallel.equals(tokenize_passages(passages, main)) and "jieba" in vars(main)
