"""Text reuse: verbatim formulations shared by passages of two provinces or of a province and the nation.

Passages are compared on their Han characters, Latin letters and digits only (punctuation and spaces
dropped), with a map back to offsets in the passage text. Document titles inside 《》 are citations, not
formulations: each becomes a barrier that is never matched and that no match crosses. Character n-gram
shingles feed an inverted index; shingles found in more than max_passages passages are boilerplate and
ignored. Pairs of passages of different provinces (or a province and the nation) and, by default, of
different sources sharing enough shingles are aligned by extending their shared shingles to maximal
common substrings (seed and extend). Matches are then grouped into formulations.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from helpers.config import ProjectError
from helpers.status import empty_like, status_table

REUSE_COLUMNS = ["passage_a", "passage_b", "province_a", "province_b", "level_a", "level_b", "source_a", "source_b",
                 "start_a", "end_a", "start_b", "end_b", "length", "text"]
FORMULATION_COLUMNS = ["formulation", "n_provinces", "provinces", "n_sources", "n_national", "n_pairs", "length"]
SUMMARY_COLUMNS = ["province", "n_passages", "n_passages_with_reuse", "n_partners", "share_of_chars_reused"]
SIDE_KEYS = ["passage_id", "source_id", "province", "level", "before", "match", "after"]
KEPT = re.compile(r"[\u3400-\u9fffA-Za-z0-9]+")
TITLE_MARKS = re.compile("[《》]")
BARRIER = "\x00"  # stands for a 《》 title in a reduced text; no shingle holds it and no match crosses it

Match = tuple[int, int, int]  # start in a, start in b, length (in kept characters)


def title_spans(text: str) -> list[tuple[int, int]]:
    """Return the spans of the 《…》 titles in a text, marks included, outermost titles only.

    An unclosed 《 runs to the end of the text; a 》 without an opening mark closes a title that began
    after the previous title (or at the start: the passage was cut inside a title).
    """
    spans: list[tuple[int, int]] = []
    depth, start = 0, 0
    for mark in TITLE_MARKS.finditer(text):
        if mark.group() == "《":
            start = start if depth else mark.start()
            depth += 1
        elif depth > 1:
            depth -= 1
        else:
            start = start if depth else (spans[-1][1] if spans else 0)
            depth = 0
            spans.append((start, mark.end()))
    if depth:
        spans.append((start, len(text)))
    return spans


def reduce_text(text: str) -> tuple[str, list[int]]:
    """Return a text's Han characters, Latin letters and digits, and each one's offset in the text.

    Each 《…》 title is replaced by one BARRIER character whose offset is that of its opening mark.
    """
    pieces: list[str] = []
    offsets: list[int] = []
    previous = 0
    for start, end in [*title_spans(text), (len(text), len(text))]:
        for run in KEPT.finditer(text, previous, start):
            pieces.append(run.group())
            offsets.extend(range(run.start(), run.end()))
        if start < end:
            pieces.append(BARRIER)
            offsets.append(start)
        previous = end
    return "".join(pieces), offsets


def check_reuse_params(n: int, min_chars: int, max_passages: int) -> None:
    """Raise a ProjectError unless n >= 1, min_chars >= 1 and max_passages >= 2 are whole numbers."""
    for name, value, low in (("n", n, 1), ("min_chars", min_chars, 1), ("max_passages", max_passages, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ProjectError(f"{name}={value!r}: must be a whole number of at least {low}")


def check_min_overlap(min_overlap: float) -> None:
    """Raise a ProjectError unless 0 < min_overlap <= 1."""
    if isinstance(min_overlap, bool) or not isinstance(min_overlap, int | float) or not 0 < min_overlap <= 1:
        raise ProjectError(f"min_overlap={min_overlap!r}: must be a share above 0 and at most 1")


def shingle_occurrences(strings: list[str], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the shingle id, passage and position of every barrier-free n-character shingle, sorted so."""
    windows, passages, positions = [], [], []
    for passage, string in enumerate(strings):
        if len(string) >= n:
            codes = np.frombuffer(string.encode("utf-16-le"), dtype=np.uint16)  # kept characters are all BMP
            clear = ~sliding_window_view(codes == ord(BARRIER), n).any(axis=1)
            windows.append(sliding_window_view(codes, n)[clear])
            passages.append(np.full(int(clear.sum()), passage))
            positions.append(np.flatnonzero(clear))
    if not windows or not sum(map(len, positions)):
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


def shared_seeds(strings: list[str], places: np.ndarray, sources: np.ndarray, n: int, max_passages: int,
                 min_shared: int) -> dict[tuple[int, int], list[tuple[int, int]]]:
    """Return the shared shingle positions of each pair of passages sharing min_shared shingles.

    Only pairs of different places (province and level) and different sources (integer codes) count.
    """
    ids, passage, position = shingle_occurrences(strings, n)
    first_in_passage = np.r_[True, (ids[1:] != ids[:-1]) | (passage[1:] != passage[:-1])]
    n_passages = np.bincount(ids, weights=first_in_passage)[ids] if len(ids) else np.zeros(0)
    kept = (n_passages >= 2) & (n_passages <= max_passages)
    ids, passage, position = ids[kept], passage[kept], position[kept]
    left, right = occurrence_pairs(ids)
    first, second = passage[left], passage[right]
    across = (first < second) & (places[first] != places[second]) & (sources[first] != sources[second])
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
    """Return the maximal common substrings of a and b grown from shared shingles, at least min_chars long.

    Growth stops at a BARRIER, so a match never holds or crosses a 《》 title.
    """
    matches: set[Match] = set()
    diagonal, reach = None, -1
    for i, j in sorted(seeds, key=lambda seed: (seed[0] - seed[1], seed[0])):
        if i - j == diagonal and i + n <= reach:
            continue
        start_i, start_j = i, j
        while start_i and start_j and a[start_i - 1] == b[start_j - 1] != BARRIER:
            start_i, start_j = start_i - 1, start_j - 1
        end_i, end_j = i + n, j + n
        while end_i < len(a) and end_j < len(b) and a[end_i] == b[end_j] != BARRIER:
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


def integer_codes(values: Iterable) -> np.ndarray:
    """Return one integer per value, equal for equal values."""
    return np.unique(np.asarray([repr(value) for value in values], dtype=str), return_inverse=True)[1].ravel()


def source_labels(table: pd.DataFrame) -> list[str]:
    """Return each passage's source_id; a passage without one (no column, or missing) is its own source."""
    if "source_id" not in table:
        return table["passage_id"].astype(str).tolist()
    return [str(passage) if pd.isna(source) else str(source)
            for passage, source in zip(table["passage_id"], table["source_id"], strict=True)]


def find_reuse(passages: pd.DataFrame, n: int = 8, min_chars: int = 10, max_passages: int = 50,
               across_sources: bool = True) -> pd.DataFrame:
    """Return the verbatim spans of at least min_chars kept characters shared across provinces or levels.

    With across_sources (the default) only passages of different sources (source_id) are compared, so a
    phrase a single document repeats in several of its rows is not counted as reuse.
    """
    check_reuse_params(n, min_chars, max_passages)
    table = passages.sort_values("passage_id", kind="stable", ignore_index=True)
    texts = table["text"].fillna("").astype(str).tolist()
    reduced = [reduce_text(text) for text in texts]
    strings = [string for string, _ in reduced]
    provinces, levels = table["province"].astype(str).tolist(), table["level"].astype(str).tolist()
    sources = source_labels(table)
    has_source = table["source_id"].notna().tolist() if "source_id" in table else [False] * len(table)
    source_codes = (integer_codes(zip(has_source, sources, strict=True)) if across_sources
                    else np.arange(len(table)))
    places = integer_codes(provinces)  # a city's passages speak for its province: the same place
    records = []
    seeds_by_pair = shared_seeds(strings, places, source_codes, n, max_passages, max(1, min_chars - n + 1))
    for (first, second), seeds in seeds_by_pair.items():
        offsets_a, offsets_b = reduced[first][1], reduced[second][1]
        for start_a, start_b, length in extend_seeds(strings[first], strings[second], seeds, n, min_chars):
            span_a = (offsets_a[start_a], offsets_a[start_a + length - 1] + 1)
            span_b = (offsets_b[start_b], offsets_b[start_b + length - 1] + 1)
            records.append([
                table.at[first, "passage_id"], table.at[second, "passage_id"], provinces[first], provinces[second],
                levels[first], levels[second], sources[first], sources[second], *span_a, *span_b, length,
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


def match_groups(reuse: pd.DataFrame, min_overlap: float = 0.8) -> list[int]:
    """Label each match with its group: same kept text, or overlapping in one passage by min_overlap of the
    shorter span (groups are closed under these links)."""
    check_min_overlap(min_overlap)
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
        occurrences.sort()
        for index, (start, end, row) in enumerate(occurrences):
            for other in range(index + 1, len(occurrences)):
                other_start, other_end, other_row = occurrences[other]
                if other_start >= end:
                    break
                shorter = min(end - start, other_end - other_start)
                if min(end, other_end) - other_start >= min_overlap * shorter - 1e-9:
                    join(row, other_row)
    return [find_root(parents, row) for row in range(len(reuse))]


def formulation_record(rows: list) -> list:
    """Return one formulation's row: its most frequent text and who uses it."""
    sides = [(row.passage_a, row.province_a, row.level_a, row.source_a) for row in rows]
    sides += [(row.passage_b, row.province_b, row.level_b, row.source_b) for row in rows]
    provinces = sorted({province for _, province, level, _ in sides if level != "national"})
    national = len({passage for passage, _, level, _ in sides if level == "national"})
    sources = len({source for *_, source in sides})
    texts = Counter((row.text, row.length) for row in rows)
    (text, length), _ = min(texts.items(), key=lambda item: (-item[1], -item[0][1], item[0][0]))
    return [text, len(provinces), "、".join(provinces), sources, national, len(rows), length]


def formulations(reuse: pd.DataFrame, min_overlap: float = 0.8) -> pd.DataFrame:
    """Return the shared formulations (each match group's most frequent text), the provinces using them,
    how many sources and national passages use them; most widely shared first, ties broken by text."""
    members: dict[int, list] = defaultdict(list)
    for group, record in zip(match_groups(reuse, min_overlap), reuse.itertuples(index=False), strict=True):
        members[group].append(record)
    table = pd.DataFrame([formulation_record(rows) for rows in members.values()], columns=FORMULATION_COLUMNS)
    return table.sort_values(["n_provinces", "n_sources", "n_national", "length", "formulation"],
                             ascending=[False, False, False, False, True], ignore_index=True)


def passage_texts(reuse: pd.DataFrame, passages: pd.DataFrame) -> pd.Series:
    """Return the passages' texts by passage_id; raise a ProjectError if the reuse table names others."""
    texts = passages.set_index("passage_id")["text"].fillna("").astype(str)
    missing = sorted(set(reuse["passage_a"]).union(reuse["passage_b"]) - set(texts.index))
    if missing:
        raise ProjectError(f"passage {missing[0]}: in the reuse table but not in passages.csv; "
                           "rerun find_reuse on the same passages")
    return texts


def aligned_example(reuse: pd.DataFrame, passages: pd.DataFrame, width: int = 60) -> dict:
    """Return one match with width characters of context per side, or {} when there is no match.

    Preference: matches between different sources, then province-vs-national ("national") over
    province-vs-province ("provincial"), then the longest. The result holds kind, length, across_sources
    and two sides (national side first, else passage_a first), each with SIDE_KEYS; pd.DataFrame(sides).T
    is a two-column side-by-side table.
    """
    if reuse.empty:
        return {}
    texts = passage_texts(reuse, passages)
    ranked = reuse.assign(_across=reuse["source_a"] != reuse["source_b"],
                          _national=(reuse["level_a"] == "national") | (reuse["level_b"] == "national"))
    best = ranked.sort_values(["_across", "_national", "length", "passage_a", "passage_b", "start_a"],
                              ascending=[False, False, False, True, True, True], kind="stable").iloc[0]
    order = ("b", "a") if best["level_b"] == "national" and best["level_a"] != "national" else ("a", "b")
    sides = []
    for side in order:
        passage, start, end = best[f"passage_{side}"], int(best[f"start_{side}"]), int(best[f"end_{side}"])
        text = texts[passage]
        sides.append(dict(zip(SIDE_KEYS, [
            passage, best[f"source_{side}"], best[f"province_{side}"], best[f"level_{side}"],
            text[max(0, start - width):start], text[start:end], text[end:end + width],
        ], strict=True)))
    return {"kind": "national" if best["_national"] else "provincial", "length": int(best["length"]),
            "across_sources": bool(best["_across"]), "sides": sides}


def covered_chars(spans: list[tuple[int, int]]) -> int:
    """Return how many characters the union of [start, end) spans covers."""
    total, reach = 0, 0
    for start, end in sorted(spans):
        total += max(0, end - max(start, reach))
        reach = max(reach, end)
    return total


def reuse_summary(reuse: pd.DataFrame, passages: pd.DataFrame) -> pd.DataFrame:
    """Return per province (全国 included): passages, passages with reuse, partner provinces (or 全国) it shares
    text with, and the share of its passage characters covered by any match (union of spans, counted once).

    Sorted by share of characters reused (descending), then province.
    """
    texts = passage_texts(reuse, passages)
    spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
    partners: dict[str, set[str]] = defaultdict(set)
    for row in reuse.itertuples(index=False):
        spans[row.passage_a].append((row.start_a, row.end_a))
        spans[row.passage_b].append((row.start_b, row.end_b))
        partners[str(row.province_a)].add(str(row.province_b))
        partners[str(row.province_b)].add(str(row.province_a))
    records = []
    for province, group in passages.groupby(passages["province"].astype(str), sort=True):
        ids = group["passage_id"].tolist()
        chars = sum(len(texts[passage]) for passage in ids)
        covered = sum(covered_chars(spans[passage]) for passage in ids if passage in spans)
        records.append([province, len(ids), sum(passage in spans for passage in ids), len(partners[province]),
                        covered / chars if chars else 0.0])
    table = pd.DataFrame(records, columns=SUMMARY_COLUMNS)
    return table.sort_values(["share_of_chars_reused", "province"], ascending=[False, True], ignore_index=True)


EXAMPLE_COLUMNS = [*SIDE_KEYS, "kind", "length"]
REUSE_TABLES: dict[str, tuple[list[str], list[str]]] = {
    "reuse_matches": (["passage_a", "passage_b", "start_a", "start_b"], REUSE_COLUMNS),
    "reuse_formulations": ([], FORMULATION_COLUMNS),
    "reuse_provinces": (["province"], SUMMARY_COLUMNS),
    "reuse_example": ([], EXAMPLE_COLUMNS),
}


@dataclass
class ReuseStage:
    """What the reuse stage writes: its tables by name (see REUSE_TABLES) and its status table."""

    tables: dict[str, pd.DataFrame]
    status: pd.DataFrame


def reuse_skip_reason(passages: pd.DataFrame, across_sources: bool = True) -> str:
    """Why no pair of passages can be compared for reuse, or "" when some pair can."""
    if passages.empty:
        return "the corpus has no passage"
    places = passages["province"].astype(str)
    if places.nunique() < 2:
        return (f"all passages are about one place ({passages['province'].iloc[0]}), and reuse is counted only "
                "between two provinces or a province and the nation")
    if not across_sources:
        return ""
    sources = pd.Series(source_labels(passages.reset_index(drop=True)))
    if sources.nunique() < 2:
        return ("the corpus has a single source, and only passages of different sources are compared "
                "(reuse_across_sources)")
    pairs = pd.DataFrame({"place": places.to_numpy(), "source": sources.to_numpy()}).drop_duplicates()
    if not any(pairs[pairs["source"] != source]["place"].ne(place).any()
               for place, source in pairs.itertuples(index=False)):
        return "no two sources speak about different places, and only passages of different sources are compared"
    return ""


def reuse_stage(passages: pd.DataFrame, n: int, min_chars: int, max_passages: int,
                across_sources: bool) -> ReuseStage:
    """Find the verbatim matches, group them into formulations, summarise them per province and align one.

    When no pair of passages can be compared (reuse_skip_reason), the match tables are written empty; the
    per-province summary is kept (with no text shared) and the status table says why.
    """
    reason = reuse_skip_reason(passages, across_sources)
    matches = (empty_like(REUSE_COLUMNS) if reason
               else find_reuse(passages, n, min_chars, max_passages, across_sources))
    example = aligned_example(matches, passages)
    sides = pd.DataFrame(example.get("sides", []), columns=SIDE_KEYS)
    tables = {"reuse_matches": matches,
              "reuse_formulations": formulations(matches) if len(matches) else empty_like(FORMULATION_COLUMNS),
              "reuse_provinces": reuse_summary(matches, passages),
              "reuse_example": sides.assign(kind=example.get("kind", ""), length=example.get("length", 0))}
    return ReuseStage(tables, status_table({"reuse": reason}))
