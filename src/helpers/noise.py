"""Damage clean Chinese text the way scraped pages are damaged, to measure how well cleaning undoes it."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from functools import cache

HAN = re.compile(r"[\u4e00-\u9fff]")
JUNK = "♦↑♥¶£$±÷☆←≈βφπ®→¥©Ω∞✘€₹₩ε∑λ≤≥∏™↕↔§•★✔×σγδα<>"
GLOSSES = {"的": "of", "人": "people", "一": "one", "要": "want", "和": "and", "为": "for", "在": "exist",
           "以": "by", "大": "big", "用": "use", "生": "born", "地": "land", "来": "Come", "出": "out",
           "不": "No", "作": "do", "时": "hour", "个": "indivual", "到": "arrive", "是": "yes", "于": "At"}
CHROME = [
    "搜索", "[复制链接]", "{n}", "主题", "回帖", "积分", "金牌会员", "查看: {n}|: 0",
    "发表于 2021-{m}-{d} 15:20:58 | 显示全部楼层 |阅读模式", "您需要登录后才可以回帖 登录 | 立即注册",
    "本版积分规则", "版权所有: Discuz! © 2001-2013 大数据.", "快速回复 返回顶部 返回列表",
    "GMT+8, 2024-12-23 02:56 , Processed in 0.0{n} second(s), 24 queries .", "关注公众号", "免费获取更多报告节选",
    "电话:400-007-{n} 010-86223221", "客服QQ:{n}", "Email:sales@example.com", "{n}{n}.png", "{n}{n}.jpg",
    "原文链接:http://www.example.gov.cn/art/2021/{m}/{d}/art_{n}.html", "报告订购咨询请联系:",
    "【版权提示】本网倡导尊重与保护知识产权。未经许可,任何人不得复制、转载本网站的内容。",
    "据媒体报道,第十八届品牌大会在北京揭晓,本次发布会共有{n}家企业参加,价格从2…",
]
DAMAGE_KINDS = ("pinyin", "gloss", "junk", "quotes", "spaces", "entity", "traditional", "chrome")


@cache
def _to_traditional():
    """Return the simplified-to-traditional converter."""
    import opencc

    return opencc.OpenCC("s2t")


def _pinyin(char: str) -> str:
    """Return the tone-marked pinyin of one character."""
    from pypinyin import Style, pinyin

    return pinyin(char, style=Style.TONE, heteronym=False)[0][0]


def _junk(rng: random.Random, low: int = 1, high: int = 4) -> str:
    """Return a short run of junk symbols."""
    return "".join(rng.choice(JUNK) for _ in range(rng.randint(low, high)))


def add_pinyin(text: str, rng: random.Random, rate: float = 0.6) -> str:
    """Write the pinyin reading in parentheses after many characters, sometimes with junk inside."""
    out = []
    for char in text:
        out.append(char)
        if HAN.match(char) and rng.random() < rate:
            reading = _pinyin(char)
            if rng.random() < 0.15:
                cut = rng.randrange(len(reading) + 1)
                reading = reading[:cut] + _junk(rng) + reading[cut:]
            out.append(f"({reading})")
    return "".join(out)


def add_glosses(text: str, rng: random.Random, rate: float = 0.8) -> str:
    """Write an English gloss in parentheses after common characters."""
    return "".join(f"{char}({GLOSSES[char]})" if char in GLOSSES and rng.random() < rate else char for char in text)


def add_junk(text: str, rng: random.Random, rate: float = 0.04) -> str:
    """Insert runs of junk symbols between characters, inside words and dates."""
    return "".join(char + (_junk(rng) if rng.random() < rate else "") for char in text)


def add_quotes(text: str, rng: random.Random, rate: float = 0.01) -> str:
    """Insert stray ASCII quotes and symbols between Chinese characters."""
    return "".join(char + (rng.choice("\"'&$") if HAN.match(char) and rng.random() < rate else "") for char in text)


def add_spaces(text: str, rng: random.Random, rate: float = 0.01) -> str:
    """Insert spaces between Chinese characters."""
    return "".join(char + (" " * rng.randint(1, 2) if HAN.match(char) and rng.random() < rate else "") for char in text)


def add_entities(text: str, rng: random.Random, rate: float = 0.003) -> str:
    """Insert HTML entities, some broken by junk symbols."""
    out = []
    for char in text:
        out.append(char)
        if rng.random() < rate:
            entity = rng.choice(["&nbsp;", "&amp;", "&quot;"])
            if rng.random() < 0.5:
                cut = rng.randrange(2, len(entity) - 1)
                entity = entity[:cut] + _junk(rng, 1, 2) + entity[cut:]
            out.append(entity)
    return "".join(out)


def to_traditional(text: str, rng: random.Random) -> str:
    """Convert the text to traditional script."""
    return _to_traditional().convert(text)


def add_chrome(text: str, rng: random.Random, lines: int = 6) -> str:
    """Insert lines of page chrome (forum statistics, login, copyright, contact, ads, file names) between lines."""
    body = text.split("\n")
    for _ in range(lines):
        line = rng.choice(CHROME).format(n=rng.randint(10, 99999), m=rng.randint(1, 12), d=rng.randint(1, 28))
        body.insert(rng.randint(0, len(body)), line)
    return "\n".join(body)


DAMAGE: dict[str, Callable[[str, random.Random], str]] = {
    "pinyin": add_pinyin, "gloss": add_glosses, "junk": add_junk, "quotes": add_quotes, "spaces": add_spaces,
    "entity": add_entities, "traditional": to_traditional, "chrome": add_chrome,
}


def damage(text: str, seed: int, kinds: tuple[str, ...] = DAMAGE_KINDS) -> str:
    """Apply the chosen kinds of damage to clean simplified text, in the order scraping produces them."""
    rng = random.Random(seed)
    for kind in ("traditional", "gloss", "pinyin", "entity", "junk", "quotes", "spaces", "chrome"):
        if kind in kinds and not (kind == "gloss" and "pinyin" in kinds and rng.random() < 0.5):
            text = DAMAGE[kind](text, rng)
    return text


def content_chars(text: str) -> str:
    """Keep the characters the error rate is measured on: Han characters, ASCII letters and digits."""
    return "".join(re.findall(r"[\u4e00-\u9fffA-Za-z0-9]", text))


def character_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein distance over content characters divided by the reference's content length."""
    from rapidfuzz.distance import Levenshtein

    ref, hyp = content_chars(reference), content_chars(hypothesis)
    return Levenshtein.distance(ref, hyp) / max(len(ref), 1)
