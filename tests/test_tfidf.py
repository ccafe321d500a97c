"""TF-IDF: province documents, document-frequency limits on tiny corpora, distinctive terms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.config import ProjectError
from helpers.tfidf import distinctive_terms, document_counts, fit_tfidf, province_documents


def test_province_documents_join_tokens_in_passage_order():
    passages = pd.DataFrame({
        "passage_id": ["000-0002", "000-0001", "001-0001", "001-0002"],
        "province": ["浙江", "浙江", "全国", "北京"],
        "level": ["province", "province", "national", "province"],
        "text": ["一二三四", "一二", "一二三", "一"],
    })
    tokens = pd.DataFrame({"passage_id": ["000-0001", "000-0002", "001-0001"],
                           "tokens": ["交通 道路", "医疗", "政务"]})
    documents = province_documents(passages, tokens)
    assert documents.to_dict("list") == {
        "province": ["全国", "北京", "浙江"],
        "level": ["national", "province", "province"],
        "tokens": ["政务", "", "交通 道路 医疗"],
        "n_chars": [3, 1, 6],
    }


@pytest.mark.parametrize(("n_documents", "min_df", "max_df", "expected"), [
    (162, 2, 0.5, (2, 81)),
    (33, 2, 0.5, (2, 16)),
    (4, 2, 0.5, (2, 2)),
    (3, 2, 0.5, (1, 1)),
    (1, 2, 0.5, (1, 1)),
    (10, 0.3, 1.0, (3, 10)),
    (10, 1, 4, (1, 4)),
])
def test_document_counts_are_clipped_to_a_usable_range(n_documents, min_df, max_df, expected):
    assert document_counts(n_documents, min_df, max_df) == expected


@pytest.mark.parametrize(("min_df", "max_df", "name"),
                         [(0, 0.5, "min_df"), (2, 1.5, "max_df"), (2, -1, "max_df")])
def test_bad_document_frequency_limits_are_named(min_df, max_df, name):
    with pytest.raises(ProjectError, match=name):
        document_counts(10, min_df, max_df)


def test_fit_tfidf_keeps_terms_within_the_limits():
    documents = ["交通 道路 政务", "交通 医疗 政务", "医疗 医院 政务", "教育 学校 政务"]
    matrix, vocabulary = fit_tfidf(documents, min_df=2, max_df=0.5)
    assert vocabulary == sorted(["交通", "医疗"])
    assert matrix.shape == (4, 2)
    assert matrix[3].nnz == 0
    assert np.allclose(np.asarray(matrix[:3].multiply(matrix[:3]).sum(axis=1)).ravel(), 1.0)


def test_fit_tfidf_without_any_term_left_says_what_to_change():
    with pytest.raises(ProjectError, match="lower min_df"):
        fit_tfidf(["甲 乙", "甲 乙", "乙 甲", "甲 乙"], min_df=1, max_df=0.5)


def test_distinctive_terms_rank_each_province_own_vocabulary():
    documents = pd.DataFrame({
        "province": ["北京", "浙江", "全国"],
        "tokens": ["交通 交通 交通 道路 政务", "医疗 医院 医疗 政务", "教育 学校 政务"],
    })
    table = distinctive_terms(documents, min_df=1, max_df=0.5, top_n=2)
    assert list(table.columns) == ["province", "rank", "term", "score"]
    terms = table.groupby("province")["term"].agg(list).to_dict()
    assert terms == {"全国": ["学校", "教育"], "北京": ["交通", "道路"], "浙江": ["医疗", "医院"]}
    assert "政务" not in set(table["term"])
    assert table["rank"].tolist() == [1, 2] * 3
    assert (table.groupby("province")["score"].apply(lambda scores: scores.is_monotonic_decreasing)).all()
