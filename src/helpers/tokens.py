"""Tokenise passages with jieba, keeping lexicon terms whole, dropping stopwords, punctuation and numbers."""

from __future__ import annotations

import logging
import re
from functools import cached_property, partial
from pathlib import Path

import jieba
import pandas as pd

from helpers.config import ProjectError
from helpers.lexicon import Lexicon, read_word_list
from helpers.parallel import FileVersions, folder_versions, map_in_order, once_per_process, runs_in_workers

STOPWORDS_FILE = "stopwords.txt"
USERDICT_FILE = "userdict.txt"
WORD = re.compile(r"[\u3400-\u9fffA-Za-z]")
NUMBER = re.compile(r"[0-9０-９.,%．·]+")


def build_user_dictionary(lexicon_dir: Path) -> list[str]:
    """Return every term kept whole (concept forms, province names, userdict.txt entries), longest first."""
    lexicon = Lexicon(lexicon_dir)
    terms = {*lexicon.concepts["form"], *lexicon.province_names}
    userdict = lexicon_dir / USERDICT_FILE
    if userdict.is_file():
        terms.update(read_word_list(userdict))
    spaced = sorted(term for term in terms if re.search(r"\s", term))
    if spaced:
        raise ProjectError(f"{lexicon_dir}: lexicon term(s) {', '.join(map(repr, spaced))} contain spaces; "
                           "remove the spaces (tokens are stored space-separated)")
    return sorted(terms, key=lambda term: (-len(term), term))


class Tokenizer:
    """A jieba tokeniser keeping lexicon terms whole, dropping stopwords, places, punctuation and numbers.

    Province names are recognised whole and dropped: they say who wrote a passage, not what it is about.
    Damaged concept forms (form_kind "damaged" in concepts.csv) come out as their concept; variants stay
    as written.
    """

    def __init__(self, lexicon_dir: Path, min_token_chars: int) -> None:
        """Load the lexicon and the stopword list; jieba's dictionary loads on first use."""
        if not isinstance(min_token_chars, int) or min_token_chars < 1:
            raise ProjectError(f"min_token_chars={min_token_chars!r}: must be a whole number of at least 1")
        self.lexicon_dir = lexicon_dir
        self.min_token_chars = min_token_chars
        self.terms = build_user_dictionary(lexicon_dir)
        lexicon = Lexicon(lexicon_dir)
        self.places = set(lexicon.province_names)
        damaged = lexicon.concepts[lexicon.concepts["form_kind"] == "damaged"]
        self.repairs = dict(zip(damaged["form"], damaged["concept"], strict=True))
        self.stopwords = set(read_word_list(lexicon_dir / STOPWORDS_FILE))
        self.term_pattern = re.compile("(" + "|".join(map(re.escape, self.terms)) + ")")
        logging.getLogger("jieba").setLevel(logging.WARNING)

    @cached_property
    def jieba(self) -> jieba.Tokenizer:
        """A private jieba tokeniser, its dictionary loaded on first use (never, when workers tokenise)."""
        segmenter = jieba.Tokenizer()
        segmenter.initialize()
        return segmenter

    def keep(self, token: str) -> bool:
        """Whether a jieba token is a content word: long enough, not a stopword, number or punctuation."""
        return (len(token) >= self.min_token_chars and token not in self.stopwords
                and WORD.search(token) is not None and NUMBER.fullmatch(token) is None)

    def tokenize(self, text: str) -> list[str]:
        """Return a text's content tokens: lexicon terms whole, damaged forms repaired, places dropped."""
        tokens: list[str] = []
        for index, piece in enumerate(self.term_pattern.split(text)):
            if index % 2:
                if piece not in self.places and piece not in self.stopwords:
                    tokens.append(self.repairs.get(piece, piece))
            elif piece:
                tokens.extend(token for token in self.jieba.lcut(piece) if self.keep(token))
        return tokens


@once_per_process
def cached_tokenizer(lexicon_dir: Path, min_token_chars: int, versions: FileVersions) -> Tokenizer:
    """Return a tokeniser built once per process and per version of the lexicon files (jieba loads once)."""
    tokenizer = Tokenizer(lexicon_dir, min_token_chars)
    tokenizer.jieba.initialize()  # load the dictionary now, under the cache's lock, not in racing threads
    return tokenizer


def joined_tokens(text: str, tokenizer: Tokenizer) -> str:
    """Return a text's tokens separated by spaces."""
    return " ".join(tokenizer.tokenize(text))


def joined_tokens_in_worker(text: str, lexicon_dir: Path, min_token_chars: int, versions: FileVersions) -> str:
    """Return a text's tokens separated by spaces, with the worker process's cached tokeniser."""
    return joined_tokens(text, cached_tokenizer(lexicon_dir, min_token_chars, versions))


def tokenize_passages(passages: pd.DataFrame, tokenizer: Tokenizer, n_jobs: int = 1,
                      scheduler: str = "") -> pd.DataFrame:
    """Return passage_id and the space-separated tokens of every passage, sorted by passage_id.

    With n_jobs > 1 (or -1) or a Dask scheduler, workers rebuild the tokeniser from its lexicon_dir and
    min_token_chars, once per process.
    """
    if runs_in_workers(n_jobs, scheduler):
        folder = Path(tokenizer.lexicon_dir).absolute()
        tokenize = partial(joined_tokens_in_worker, lexicon_dir=folder, min_token_chars=tokenizer.min_token_chars,
                           versions=folder_versions(folder))
    else:
        tokenize = partial(joined_tokens, tokenizer=tokenizer)
    texts = passages["text"].astype(str).tolist()
    table = pd.DataFrame({
        "passage_id": passages["passage_id"].astype(str),
        "tokens": map_in_order(tokenize, texts, n_jobs, scheduler, "tokenising"),
    })
    return table.sort_values("passage_id", ignore_index=True)
