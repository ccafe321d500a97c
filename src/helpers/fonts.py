"""Find the report's fonts (a CJK font every output can use, its bold and an italic for Latin text) and derive
from them the faces both renderers embed."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont
from fontTools.varLib import instancer

from helpers.config import ProjectError

# Packages on PyPI that ship an OFL-licensed Simplified Chinese font, in order of preference.
FONT_PACKAGES = (("pylopdf_fonts_zh_cn", "NotoSansSC-Regular.otf"),)
SYSTEM_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
# The bold of Noto Sans CJK (OFL): the PyPI file defaults to Japanese forms but holds every CJK glyph; its own
# `locl` feature for Simplified Chinese selects the Chinese forms. Debian's fonts-noto-cjk has the same face.
BOLD_PACKAGES = (("noto_cjk_sans_jp_bold", "NotoSansCJKjp-Bold.otf"),)
BOLD_SYSTEM_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",
)
# The italic of Source Sans 3 (OFL), the Latin design of Noto Sans CJK, a variable font used at weight 400: the
# CJK fonts have no italic, and the report sets pinyin and emphasis in italic.
ITALIC_PACKAGES = (("fontpkg_source_sans_3", "files/SourceSans3-Italic[wght].ttf"),)
QUOTES = "‘’“”"
SIMPLIFIED_CHINESE = "ZHS "
# Name records rewritten when a face joins the report's family: family, style, unique id, full and PostScript
# names, typographic family and style, and the names of variable-font instances.
NAME_IDS = (1, 2, 3, 4, 6, 16, 17, 21, 22, 25)


@dataclass(frozen=True)
class Face:
    """One face of the report's font family: its style name, weight, slant and source file."""

    style: str
    weight: int
    italic: bool
    path: Path
    number: int = 0


@cache
def cjk_font_file() -> Path:
    """Return the path of a font with Simplified Chinese glyphs: a pip-shipped font first, then system fonts."""
    found = _package_file(FONT_PACKAGES) or next((path for path in map(Path, SYSTEM_FONTS) if path.is_file()), None)
    if found:
        return found
    if shutil.which("fc-list"):
        listing = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, check=False)
        files = sorted(line.split(":")[0].strip() for line in listing.stdout.splitlines() if line.strip())
        if files:
            return Path(files[0])
    raise ProjectError(
        "no CJK font found: install the project (`make setup`, which installs pylopdf-fonts-zh-cn) "
        "or a system font such as Debian's fonts-noto-cjk"
    )


def report_faces() -> tuple[Face, Face, Face]:
    """Return the regular, bold and italic faces of the report: the CJK font, its bold, a Latin italic."""
    bold = _package_file(BOLD_PACKAGES) or next((path for path in map(Path, BOLD_SYSTEM_FONTS) if path.is_file()),
                                                None)
    italic = _package_file(ITALIC_PACKAGES)
    if not bold or not italic:
        missing = "noto-cjk-sans-jp-bold" if not bold else "fontpkg-source-sans-3"
        raise ProjectError(f"the report's {'bold' if not bold else 'italic'} font is missing: install the project "
                           f"(`make setup`, which installs {missing})")
    return (Face("Regular", 400, False, cjk_font_file(), _simplified_chinese_face(cjk_font_file())),
            Face("Bold", 700, False, bold, _simplified_chinese_face(bold)),
            Face("Italic", 400, True, italic))


def face_font(face: Face, family: str, chars: str) -> TTFont:
    """Return a face as a font of `family`: Simplified Chinese forms, proportional curly quotes, reduced to the
    glyphs of `chars`, a static instance at the face's weight, named and flagged as the face's style."""
    font = TTFont(face.path, fontNumber=face.number, recalcTimestamp=False)
    _apply_single_substitutions(font, _feature_mapping(font, "locl", SIMPLIFIED_CHINESE))
    _proportional_quotes(font)
    options = subset.Options()
    options.hinting = False
    options.desubroutinize = True
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=chars)
    subsetter.subset(font)
    if "fvar" in font:
        axes = {axis.axisTag: axis for axis in font["fvar"].axes}
        weight = min(max(face.weight, axes["wght"].minValue), axes["wght"].maxValue) if "wght" in axes else None
        font = instancer.instantiateVariableFont(font, {tag: (weight if tag == "wght" else axis.defaultValue)
                                                        for tag, axis in axes.items()})
    _name_face(font, family, face)
    font.recalcTimestamp = False
    return font


def font_family(font_file: Path, number: int = 0) -> str:
    """Return the family name of a font file (of its first face for a collection)."""
    names = TTFont(font_file, lazy=True, fontNumber=number)["name"]
    return str(names.getDebugName(16) or names.getDebugName(1))


def _package_file(packages: tuple[tuple[str, str], ...]) -> Path | None:
    """Return the first font file found in the installed packages named, or None."""
    for package, filename in packages:
        spec = importlib.util.find_spec(package)
        if spec and spec.origin:
            candidate = Path(spec.origin).parent / filename
            if candidate.is_file():
                return candidate
    return None


def _simplified_chinese_face(path: Path) -> int:
    """Return the index of the Simplified Chinese face of a font collection (0 for a single font)."""
    if path.suffix.lower() not in (".ttc", ".otc"):
        return 0
    with open(path, "rb") as handle:
        count = int.from_bytes(handle.read(12)[8:12], "big")
    for number in range(count):
        if re.search(r"\bSC\b", font_family(path, number)):
            return number
    return 0


def _feature_mapping(font: TTFont, tag: str, language: str | None = None) -> dict[str, str]:
    """Return the single substitutions of a GSUB feature (for one language system when given)."""
    if "GSUB" not in font or not font["GSUB"].table.FeatureList:
        return {}
    gsub = font["GSUB"].table
    records = gsub.FeatureList.FeatureRecord
    indices = set(range(len(records)))
    if language:
        indices = {index for script in gsub.ScriptList.ScriptRecord for system in script.Script.LangSysRecord
                   if system.LangSysTag == language for index in system.LangSys.FeatureIndex}
    mapping: dict[str, str] = {}
    for index in sorted(indices):
        if records[index].FeatureTag != tag:
            continue
        for lookup_index in records[index].Feature.LookupListIndex:
            lookup = gsub.LookupList.Lookup[lookup_index]
            for table in lookup.SubTable:
                table = table.ExtSubTable if lookup.LookupType == 7 else table
                mapping.update(getattr(table, "mapping", None) or {})
    return mapping


def _apply_single_substitutions(font: TTFont, mapping: dict[str, str]) -> None:
    """Point the character map at the substituted glyphs, so that the substitution needs no shaping feature."""
    if not mapping:
        return
    for table in font["cmap"].tables:
        if table.isUnicode():
            table.cmap = {code: mapping.get(glyph, glyph) for code, glyph in table.cmap.items()}


def _proportional_quotes(font: TTFont) -> None:
    """Map full-width curly quotes to the font's proportional forms (feature pwid), as Latin text needs."""
    alternates = _feature_mapping(font, "pwid")
    em = font["head"].unitsPerEm
    for table in font["cmap"].tables:
        if table.isUnicode():
            for code in map(ord, QUOTES):
                glyph = table.cmap.get(code)
                if glyph in alternates and font["hmtx"][glyph][0] >= 0.9 * em:
                    table.cmap[code] = alternates[glyph]


def _name_face(font: TTFont, family: str, face: Face) -> None:
    """Name a font as the face `style` of `family` and set its weight and style flags."""
    postscript = re.sub(r"[^A-Za-z0-9]", "", family) + "-" + face.style
    names = font["name"]
    names.names = [record for record in names.names if record.nameID not in NAME_IDS]
    full = family if face.style == "Regular" else f"{family} {face.style}"
    for name_id, value in {1: family, 2: face.style, 3: f"{postscript};report", 4: full, 6: postscript}.items():
        names.setName(value, name_id, 3, 1, 0x409)
        names.setName(value, name_id, 1, 0, 0)
    os2, head = font["OS/2"], font["head"]
    os2.usWeightClass = face.weight
    bold = face.weight >= 700
    os2.fsSelection = (os2.fsSelection & ~0b1100001) | (1 if face.italic else 0) | (0b100000 if bold else 0) | (
        0b1000000 if not bold and not face.italic else 0)
    head.macStyle = (head.macStyle & ~0b11) | (1 if bold else 0) | (0b10 if face.italic else 0)
    if "post" in font:
        font["post"].italicAngle = font["post"].italicAngle if face.italic else 0
    if "CFF " in font:
        cff = font["CFF "].cff
        cff.fontNames = [postscript]
        top = cff.topDictIndex[0]
        for key, value in (("FullName", full), ("FamilyName", family), ("Weight", face.style)):
            if hasattr(top, key):
                setattr(top, key, value)
