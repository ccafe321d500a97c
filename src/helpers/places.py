"""Find the places a text names (provinces, prefectures, counties) and tell the ones it names only in passing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cache

from helpers.lexicon import FormMatcher, Lexicon, read_lexicon_table

NATIONAL = "全国"
# Issuing verbs: a date before one of them in a sentence is the date the document or action was issued.
ISSUING = re.compile(r"(印发|出台|发布|公布|颁布|出炉|推出|上线|启动|召开|审议通过|表决通过|通过了|正式实施|施行|"
                     r"挂牌|揭牌|成立|开通|投入运行|投入使用|提出|明确|部署|完成|建成)")
# What stands between two places of one list (广东、浙江等): a place listed after one named in passing is too.
LIST_JOINS = ("、", "和", "及", "与", "以及", "，", "")  # "" joins a province to its city: 浙江省义乌市
CUE_WINDOW = 40  # characters before and after a place name in which a passing-mention cue is looked for
# A bloc stands for its members only where it opens a clause (after a date at most), counts them out (川渝两地,
# 长三角三省一市, 京津冀三地) and issues something.
CLAUSE_OPENING = re.compile(r"[\s\d年月日初中底上下旬今去]*")
BLOC_COUNT = r"(两|三|四|三省一|两省一)(地|省|市|省市|省份|方)"


@dataclass(frozen=True)
class Place:
    """A place named in a text: its span, its province, its prefecture-level city ('' for a province)."""

    start: int
    end: int
    province: str
    city: str = ""

    @property
    def owner(self) -> tuple[str, str]:
        """The (province, city) the mention stands for."""
        return self.province, self.city


@dataclass(frozen=True)
class PlaceFinder:
    """Every written form of every place of the gazetteer in one pattern, and the passing-mention cues."""

    forms: dict[str, tuple[str, str]]
    matcher: FormMatcher
    cues: tuple[tuple[str, re.Pattern[str] | None, re.Pattern[str] | None], ...]
    short_forms: frozenset[str] = frozenset()
    words: frozenset[str] = frozenset()
    blocs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    bloc_pattern: re.Pattern[str] | None = None
    county_short: dict[str, str] = field(default_factory=dict)  # full name of a county → its short form

    def find(self, text: str) -> list[Place]:
        """Every place named in text, longest form first, left to right; a city's short form (沈阳 for 沈阳市)
        only where it does not run into a word of the dictionary (四平台 is 四 + 平台, not 四平)."""
        return [Place(start, end, *self.forms[text[start:end]]) for start, end in self.matcher.finditer(text)
                if text[start:end] not in self.short_forms or self.stands_alone(text, start, end)]

    def stands_alone(self, text: str, start: int, end: int) -> bool:
        """Tell whether text[start:end] shares no character with a dictionary word running across its edges."""
        before = text[start - 1 : start + 1] if start else ""
        after = text[end - 1 : end + 1] if end < len(text) else ""
        return before not in self.words and after not in self.words

    def passing(self, text: str, place: Place) -> str:
        """The kind of passing mention (visit, comparison, media, publication) a place is in text, or ''."""
        before = text[max(0, place.start - CUE_WINDOW) : place.start]
        after = text[place.end : place.end + CUE_WINDOW]
        for kind, before_cue, after_cue in self.cues:
            if (before_cue is None or before_cue.search(before)) and (after_cue is None or after_cue.match(after)):
                return kind
        return ""

    def owners(self, text: str) -> list[tuple[str, str]]:
        """The (province, city) pairs text speaks of as their own, in order (see owner_places)."""
        return [place.owner for place in self.owner_places(text)]

    def for_document(self, text: str) -> PlaceFinder:
        """This finder, with the short forms of the counties that text names in full (仪陇县 … 仪陇还在…) added:
        once a page has named a county, its short name refers to it."""
        introduced = {short: self.forms[full] for full, short in self.county_short.items()
                      if full in text and short in text and short not in self.forms}
        if not introduced:
            return self
        forms = {**self.forms, **introduced}
        return replace(self, forms=forms, matcher=FormMatcher.of(forms),
                       short_forms=self.short_forms | frozenset(introduced))

    def with_blocs(self, text: str) -> list[Place]:
        """The places of text, with each regional bloc that opens a clause, counts out its members and issues
        something (3月川渝两地发布…) standing for them at its own position."""
        places = self.find(text)
        for match in self.bloc_pattern.finditer(text) if self.bloc_pattern is not None else ():
            clause = re.split(r"[。！？；，：]", text[: match.start()])[-1]
            rest = re.split(r"[。！？；，]", text[match.end() :])[0]
            if CLAUSE_OPENING.fullmatch(clause) and ISSUING.search(rest):  # the bloc acts: 川渝两地发布…
                places += [Place(match.start(), match.start() + len(match.group(1)), member)
                           for member in self.blocs[match.group(1)]]
        return sorted(places, key=lambda place: place.start)

    def owner_places(self, text: str) -> list[Place]:
        """The places text speaks of as their own, each at its first mention, in order: passing mentions (and the
        places listed right after one) left out, a city folded into its province when both are named."""
        found: list[Place] = []
        previous: Place | None = None
        passing = False
        for place in self.with_blocs(text):
            listed = previous is not None and text[previous.end : place.start] in LIST_JOINS
            passing = bool(self.passing(text, place)) or (listed and passing)
            previous = place
            if passing:
                continue
            owners = [known.owner for known in found]
            if place.city and (place.province, "") in owners:
                index = owners.index((place.province, ""))
                found[index] = Place(found[index].start, found[index].end, place.province, place.city)
            elif not any(province == place.province and (not place.city or city == place.city)
                         for province, city in owners):
                found.append(place)
        return found


def has_gazetteer(lexicon: Lexicon) -> bool:
    """Tell whether the lexicon folder has the place gazetteer places.csv."""
    return (lexicon.folder / "places.csv").is_file()


def city_forms(lexicon: Lexicon) -> dict[str, tuple[str, str]]:
    """Written forms of prefecture- and county-level units mapped to (province, prefecture), where the gazetteer
    has them (empty for a lexicon folder without places.csv); a district of a municipality (徐汇区) has no
    prefecture and stands for its province. A county is named by its full name only (余杭区):
    its short forms are too often ordinary words (和政, 新建, 平和). An autonomous prefecture is also named by its
    short form and 州, as its own documents do (恩施州)."""
    if not has_gazetteer(lexicon):
        return {}
    places = lexicon.places
    county_short = set(places.loc[places["level"] == "county", "short"])
    full = set(places["name"]) | set(places["traditional"])
    forms = {form: (unit.province, unit.prefecture) for form, unit in lexicon.place_names.items()
             if unit.level != "province" and (form in full or form not in county_short)}
    autonomous = places[(places["level"] == "prefecture") & places["name"].str.endswith("自治州")]
    forms.update({f"{row.short}州": (row.province, row.name) for row in autonomous.itertuples()
                  if row.ambiguous != "1" and f"{row.short}州" not in forms})
    return forms


def dictionary_words() -> frozenset[str]:
    """Two-character words of jieba's dictionary (loaded once)."""
    import jieba

    jieba.setLogLevel(60)
    jieba.dt.check_initialized()
    return frozenset(word for word, frequency in jieba.dt.FREQ.items() if len(word) == 2 and frequency)


@cache
def place_finder(lexicon: Lexicon) -> PlaceFinder:
    """The place finder of a lexicon folder (built once per process)."""
    forms: dict[str, tuple[str, str]] = dict(city_forms(lexicon))
    full = set(lexicon.places["name"]) | set(lexicon.places["traditional"]) if has_gazetteer(lexicon) else set()
    short_forms = frozenset(form for form in forms if form not in full)
    if (lexicon.folder / "province_nicknames.csv").is_file():
        forms.update({form: (province, "") for form, province in lexicon.province_nicknames.items()})
    if (lexicon.folder / "local_brands.csv").is_file():
        brands = read_lexicon_table(lexicon.folder / "local_brands.csv", ["brand", "province"])
        forms.update(zip(brands["brand"], zip(brands["province"], [""] * len(brands), strict=True), strict=True))
    forms.update({form: (province, "") for form, province in lexicon.province_names.items()})
    table = read_lexicon_table(lexicon.folder / "passing_mentions.csv", ["kind", "before", "after"])
    cues = tuple((row.kind, *(re.compile(cue) if cue else None for cue in (row.before, row.after)))
                 for row in table.itertuples())
    short_forms = frozenset(short_forms - set(lexicon.province_names))
    blocs = read_lexicon_table(lexicon.folder / "blocs.csv", ["bloc", "members"])
    members = {row.bloc: tuple(row.members.split("|")) for row in blocs.itertuples()}
    names = "|".join(map(re.escape, sorted(members, key=lambda bloc: (-len(bloc), bloc))))
    county_short = {}
    if has_gazetteer(lexicon):
        counties = lexicon.places[(lexicon.places["level"] == "county") & (lexicon.places["ambiguous"] != "1")]
        county_short = {row.name: row.short for row in counties.itertuples()
                        if row.name in forms and len(row.short) >= 2 and row.short != row.name}
    return PlaceFinder(forms, FormMatcher.of(forms), cues, short_forms,
                       dictionary_words() if short_forms else frozenset(), members,
                       re.compile(rf"({names})(?={BLOC_COUNT})") if members else None, county_short)
