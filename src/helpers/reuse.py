"""Text reuse: verbatim formulations shared by passages of two provinces or of a province and the nation.

Passages are compared on their Han characters, Latin letters and digits only (punctuation and spaces
dropped), with a map back to offsets in the passage text. Character n-gram shingles feed an inverted index;
shingles found in more than max_passages passages are boilerplate and ignored. Passage pairs of different
provinces sharing enough shingles are aligned by extending their shared shingles to maximal common
substrings (seed and extend).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from itertools import combinations

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from helpers.config import ProjectError

REUSE_COLUMNS = ["passage_a", "passage_b", "province_a", "province_b", "level_a", "level_b",
                 "start_a", "end_a", "start_b", "end_b", "length", "text"]
FORMULATION_COLUMNS = ["formulation", "n_provinces", "provinces", "n_national", "n_pairs", "length"]
KEPT = re.compile(r"[\u3400-\u9fffA-Za-z0-9]+")

Match = tuple[int, int, int]  # start in a, start in b, length (in kept characters)


def reduce_text(text: str) -> tuple[str, list[int]]:
    """Return a text's Han characters, Latin letters and digits, and each one's offset in the text."""
    runs = list(KEPT.finditer(text))
    offsets = [offset for run in runs for offset in range(run.start(), run.end())]
    return "".join(run.group() for run in runs), offsets


def check_reuse_params(n: int, min_chars: int, max_passages: int) -> None:
    """Raise a ProjectError unless n >= 1, min_chars >= 1 and max_passages >= 2 are whole numbers."""
    for name, value, low in (("n", n, 1), ("min_chars", min_chars, 1), ("max_passages", max_passages, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ProjectError(f"{name}={value!r}: must be a whole number of at least {low}")


def shingle_occurrences(strings: list[str], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the shingle id, passage and position of every n-character shingle, sorted in that order."""
    windows, passages, positions = [], [], []
    for passage, string in enumerate(strings):
        if len(string) >= n:
            codes = np.frombuffer(string.encode("utf-16-le"), dtype=np.uint16)  # kept characters are all BMP
            windows.append(sliding_window_view(codes, n))
            passages.append(np.full(len(string) - n + 1, passage))
            positions.append(np.arange(len(string) - n + 1))
    if not windows:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0, int)
    keys = np.ascontiguousarray(np.concatenate(windows)).view(np.dtype((np.void, 2 * n))).ravel()
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    ids = np.cumsum(np.r_[False, keys[1:] != keys[:-1]])
    return ids, np.concatenate(passages)[order], np.concatenate(positions)[order]


def occurrence_pairs(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return every ordered pair of indexes into the sorted ids that hold the same shingle."""
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    sizes = np.diff(np.r_[starts, len(ids)])
    size, start = np.repeat(sizes, sizes), np.repeat(starts, sizes)
    left = np.repeat(np.arange(len(ids)), size)
    offset = np.arange(len(left)) - np.repeat(np.cumsum(size) - size, size)
    return left, np.repeat(start, size) + offset


def shared_seeds(strings: list[str], provinces: list[str], n: int, max_passages: int,
                 min_shared: int) -> dict[tuple[int, int], list[tuple[int, int]]]:
    """Return the shared shingle positions of each pair of passages of two provinces sharing min_shared."""
    ids, passage, position = shingle_occurrences(strings, n)
    first_in_passage = np.r_[True, (ids[1:] != ids[:-1]) | (passage[1:] != passage[:-1])]
    n_passages = np.bincount(ids, weights=first_in_passage)[ids] if len(ids) else np.zeros(0)
    kept = (n_passages >= 2) & (n_passages <= max_passages)
    ids, passage, position = ids[kept], passage[kept], position[kept]
    left, right = occurrence_pairs(ids)
    province = np.unique(np.asarray(provinces, dtype=str), return_inverse=True)[1].ravel()
    across = (passage[left] < passage[right]) & (province[passage[left]] != province[passage[right]])
    left, right = left[across], right[across]
    pair = passage[left] * len(strings) + passage[right]
    width = int(ids.max()) + 1 if len(ids) else 1
    pairs, n_shared = np.unique(np.unique(pair * width + ids[left]) // width, return_counts=True)
    candidate = np.isin(pair, pairs[n_shared >= min_shared])
    pair, i, j = pair[candidate], position[left[candidate]], position[right[candidate]]
    order = np.lexsort((j, i, pair))
    pair, i, j = pair[order], i[order], j[order]
    bounds = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1], True]) if len(pair) else np.zeros(1, int)
    return {
        divmod(int(pair[begin]), len(strings)): list(zip(i[begin:end].tolist(), j[begin:end].tolist(),
                                                         strict=True))
        for begin, end in zip(bounds[:-1], bounds[1:], strict=True)
    }


def extend_seeds(a: str, b: str, seeds: list[tuple[int, int]], n: int, min_chars: int) -> list[Match]:
    """Return the maximal common substrings of a and b grown from shared shingles, at least min_chars long."""
    matches: set[Match] = set()
    diagonal, reach = None, -1
    for i, j in sorted(seeds, key=lambda seed: (seed[0] - seed[1], seed[0])):
        if i - j == diagonal and i + n <= reach:
            continue
        start_i, start_j = i, j
        while start_i and start_j and a[start_i - 1] == b[start_j - 1]:
            start_i, start_j = start_i - 1, start_j - 1
        end_i, end_j = i + n, j + n
        while end_i < len(a) and end_j < len(b) and a[end_i] == b[end_j]:
            end_i, end_j = end_i + 1, end_j + 1
        diagonal, reach = i - j, end_i
        if end_i - start_i >= min_chars:
            matches.add((start_i, start_j, end_i - start_i))
    return non_overlapping(matches)


def disjoint(match: Match, other: Match) -> bool:
    """Whether two matches share no character, neither in a nor in b."""
    return all(match[side] + match[2] <= other[side] or other[side] + other[2] <= match[side]
               for side in (0, 1))


def non_overlapping(matches: set[Match]) -> list[Match]:
    """Keep the longest matches first, dropping any that overlaps a kept one in a or in b; sorted by start."""
    kept: list[Match] = []
    for match in sorted(matches, key=lambda match: (-match[2], match[0], match[1])):
        if all(disjoint(match, other) for other in kept):
            kept.append(match)
    return sorted(kept)


def find_reuse(passages: pd.DataFrame, n: int = 8, min_chars: int = 10,
               max_passages: int = 50) -> pd.DataFrame:
    """Return the verbatim spans of at least min_chars kept characters shared across provinces or levels."""
    check_reuse_params(n, min_chars, max_passages)
    table = passages.sort_values("passage_id", kind="stable", ignore_index=True)
    texts = table["text"].fillna("").astype(str).tolist()
    reduced = [reduce_text(text) for text in texts]
    strings = [string for string, _ in reduced]
    provinces = table["province"].astype(str).tolist()
    min_shared = max(1, min_chars - n + 1)
    records = []
    for (first, second), seeds in shared_seeds(strings, provinces, n, max_passages, min_shared).items():
        offsets_a, offsets_b = reduced[first][1], reduced[second][1]
        for start_a, start_b, length in extend_seeds(strings[first], strings[second], seeds, n, min_chars):
            span_a = (offsets_a[start_a], offsets_a[start_a + length - 1] + 1)
            span_b = (offsets_b[start_b], offsets_b[start_b + length - 1] + 1)
            records.append([
                table.at[first, "passage_id"], table.at[second, "passage_id"],
                provinces[first], provinces[second], table.at[first, "level"], table.at[second, "level"],
                *span_a, *span_b, length,
                texts[first][span_a[0]:span_a[1]],
            ])
    reuse = pd.DataFrame(records, columns=REUSE_COLUMNS)
    reuse = reuse.astype({column: int for column in ["start_a", "end_a", "start_b", "end_b", "length"]})
    return reuse.sort_values(["passage_a", "passage_b", "start_a", "start_b"], ignore_index=True)


def find_root(parents: list[int], item: int) -> int:
    """Return the representative of an item in a union-find forest, compressing the path."""
    while parents[item] != item:
        parents[item] = parents[parents[item]]
        item = parents[item]
    return item


def match_groups(reuse: pd.DataFrame) -> list[int]:
    """Label each match with its group: same kept text, or overlapping by half in one passage."""
    parents = list(range(len(reuse)))

    def join(first: int, second: int) -> None:
        parents[find_root(parents, first)] = find_root(parents, second)

    firsts: dict[str, int] = {}
    for row, text in enumerate(reuse["text"]):
        join(row, firsts.setdefault(reduce_text(text)[0], row))
    spans: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for row, record in enumerate(reuse.itertuples(index=False)):
        spans[record.passage_a].append((record.start_a, record.end_a, row))
        spans[record.passage_b].append((record.start_b, record.end_b, row))
    for occurrences in spans.values():
        for (start, end, row), (other_start, other_end, other_row) in combinations(sorted(occurrences), 2):
            overlap = min(end, other_end) - max(start, other_start)
            if overlap > 0 and 2 * overlap >= min(end - start, other_end - other_start):
                join(row, other_row)
    return [find_root(parents, row) for row in range(len(reuse))]


def formulations(reuse: pd.DataFrame) -> pd.DataFrame:
    """Return the shared formulations (each match group's most frequent text) and the provinces using them."""
    members: dict[int, list] = defaultdict(list)
    for group, record in zip(match_groups(reuse), reuse.itertuples(index=False), strict=True):
        members[group].append(record)
    records = []
    for rows in members.values():
        sides = [(row.passage_a, row.province_a, row.level_a) for row in rows]
        sides += [(row.passage_b, row.province_b, row.level_b) for row in rows]
        provinces = sorted({province for _, province, level in sides if level == "province"})
        national = len({passage for passage, _, level in sides if level == "national"})
        texts = Counter((row.text, row.length) for row in rows)
        (text, length), _ = min(texts.items(), key=lambda item: (-item[1], -item[0][1], item[0][0]))
        records.append([text, len(provinces), "、".join(provinces), national, len(rows), length])
    table = pd.DataFrame(records, columns=FORMULATION_COLUMNS)
    return table.sort_values(["n_provinces", "length", "formulation", "n_national", "n_pairs"],
                             ascending=[False, False, True, False, False], ignore_index=True)


def aligned_example(reuse: pd.DataFrame, passages: pd.DataFrame, width: int = 60) -> dict:
    """Return the longest province-vs-national match with width characters of context per side, or {}."""
    mixed = reuse[reuse["level_a"] != reuse["level_b"]]
    if mixed.empty:
        return {}
    best = mixed.sort_values(["length", "passage_a", "passage_b", "start_a"],
                             ascending=[False, True, True, True]).iloc[0]
    texts = passages.set_index("passage_id")["text"].astype(str)
    example: dict = {"length": int(best["length"])}
    for side in ("a", "b"):
        passage, start, end = best[f"passage_{side}"], int(best[f"start_{side}"]), int(best[f"end_{side}"])
        if passage not in texts.index:
            raise ProjectError(f"passage {passage}: in the reuse table but not in passages.csv; "
                               "rerun find_reuse on the same passages")
        text = texts[passage]
        example[best[f"level_{side}"]] = {
            "passage_id": passage, "province": best[f"province_{side}"],
            "before": text[max(0, start - width):start], "match": text[start:end],
            "after": text[end:end + width],
        }
    return example
