"""Repair text that was decoded with the wrong codec (UTF-8 read as GBK or Big5), where the bytes allow it."""

from __future__ import annotations

import re
from functools import cache

# Runs of non-ASCII text: mojibake keeps ASCII bytes as they were, so a damaged stretch lies inside one run.
NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
# What a lost byte leaves behind: the replacement character, and the classic GBK renderings of replaced bytes.
UNREPAIRABLE = re.compile(r"\ufffd+|(?:锟斤拷)+|(?:烫){2,}|(?:屯){2,}")
# Wrong codecs a UTF-8 text is commonly read with; the repair encodes back with it and decodes as UTF-8.
WRONG_CODECS = ("gb18030", "big5")
# UTF-8 read as GB18030 loses exactly the bytes 0x80, the one byte value that cannot start a GB18030 character:
# Python's decoder leaves U+FFFD for it, a browser's (WHATWG gbk) leaves the euro sign.
LOST_GB18030_BYTE = {"\ufffd": b"\x80", "€": b"\x80"}
COMMON_SHARE_REPAIRED = 0.9  # a repair is taken only when its Han characters are at least this common
SLACK = 4  # characters around a group of suspicious characters that may belong to the damaged span


@cache
def is_common(char: str) -> bool:
    """Tell whether a Han character is in the common level of GB 2312 (simplified) or Big5 (traditional)."""
    for codec, first, last in (("gb2312", 0xB0, 0xD7), ("big5", 0xA4, 0xC6)):
        try:
            encoded = char.encode(codec)
        except UnicodeEncodeError:
            continue
        if len(encoded) == 2 and first <= encoded[0] <= last:
            return True
    return False


def common_share(text: str) -> float:
    """Share of the Han characters of text that are common ones (1.0 when there are none)."""
    han = HAN.findall(text)
    return sum(map(is_common, han)) / len(han) if han else 1.0


def redecode(span: str) -> tuple[str, int]:
    """Return span encoded with a wrong codec and decoded as UTF-8, with its count of undecodable characters.

    Returns ('', 0) when no codec gives Chinese text. A byte lost at the very end of a span (an unfinished
    character) stays undecodable: it may have been any byte, so it is counted, never guessed.
    """
    unfinished = span[-1] in LOST_GB18030_BYTE
    span = span[:-1] if unfinished else span
    best = ("", 0)
    for codec in WRONG_CODECS:
        try:
            if codec == "gb18030":
                encoded = b"".join(LOST_GB18030_BYTE.get(char) or char.encode(codec) for char in span)
            else:
                encoded = span.encode(codec)
        except UnicodeEncodeError:
            continue
        repaired = encoded.decode("utf-8", errors="replace") + "\ufffd" * unfinished
        lost = repaired.count("\ufffd")
        readable = repaired.replace("\ufffd", "")
        if lost <= max(1, len(readable) // 20) and HAN.search(readable) \
                and common_share(readable) >= COMMON_SHARE_REPAIRED and (not best[0] or lost < best[1]):
            best = (repaired, lost)
    return best


def suspicious(char: str) -> bool:
    """Tell whether a character may be part of mojibake: a rare Han character or a lost-byte mark."""
    return char in LOST_GB18030_BYTE or bool(HAN.match(char)) and not is_common(char)


def groups(run: str) -> list[list[int]]:
    """Return the positions of suspicious characters, grouped where they are at most SLACK apart."""
    grouped: list[list[int]] = []
    for position in (index for index, char in enumerate(run) if suspicious(char)):
        if grouped and position - grouped[-1][-1] <= SLACK:
            grouped[-1].append(position)
        else:
            grouped.append([position])
    return grouped


def best_span(run: str, first: int, last: int, floor: int) -> tuple[int, int, str] | None:
    """Return (start, end, repair) of the best-decoding span around positions first..last of run, or None."""
    candidates = []
    for start in range(max(floor, first - SLACK), first + 1):
        for end in range(last + 1, min(len(run), last + SLACK + 1) + 1):
            repaired, lost = redecode(run[start:end])
            if repaired and len(repaired) < end - start:
                candidates.append((lost, start - end, start, end, repaired))
    return min(candidates)[2:] if candidates else None


def repair_group(run: str, group: list[int], floor: int) -> list[tuple[int, int, str]]:
    """Repair one group of suspicious positions, or else its two halves split at the widest gap."""
    found = best_span(run, group[0], group[-1], floor)
    if found or len(group) < 2:
        return [found] if found else []
    gaps = [group[index + 1] - group[index] for index in range(len(group) - 1)]
    split = gaps.index(max(gaps)) + 1
    left = repair_group(run, group[:split], floor)
    return left + repair_group(run, group[split:], left[-1][1] if left else floor)


def repair_run(run: str) -> str:
    """Repair the damaged spans of one non-ASCII run: the best-decoding span around each group of rare characters."""
    pieces, copied = [], 0
    for group in groups(run):
        for start, end, repaired in repair_group(run, group, copied):
            pieces += [run[copied:start], repaired]
            copied = end
    return "".join([*pieces, run[copied:]])


def repair_mojibake(line: str, tally: dict[str, int]) -> str:
    """Repair UTF-8 text read as GBK or Big5; drop and count what lost bytes left behind ('mojibake_*' rules)."""
    if line.isascii():
        return line
    repaired = NON_ASCII_RUN.sub(lambda match: repair_run(match.group()), line)
    if repaired != line:
        tally["mojibake_repaired"] = tally.get("mojibake_repaired", 0) + max(len(line) - len(repaired), 1)
    lost = UNREPAIRABLE.findall(repaired)
    if lost:
        tally["mojibake_unrepaired"] = tally.get("mojibake_unrepaired", 0) + sum(map(len, lost))
        repaired = UNREPAIRABLE.sub("", repaired)
    return repaired
