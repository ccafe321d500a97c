"""Find a CJK font that every output (figures, HTML, PDF) can use."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from functools import cache
from pathlib import Path

from helpers.config import ProjectError

# Packages on PyPI that ship an OFL-licensed Simplified Chinese font, in order of preference.
FONT_PACKAGES = (("pylopdf_fonts_zh_cn", "NotoSansSC-Regular.otf"),)
SYSTEM_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)


@cache
def cjk_font_file() -> Path:
    """Return the path of a font with Simplified Chinese glyphs: a pip-shipped font first, then system fonts."""
    for package, filename in FONT_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec and spec.origin:
            candidate = Path(spec.origin).parent / filename
            if candidate.is_file():
                return candidate
    for candidate in map(Path, SYSTEM_FONTS):
        if candidate.is_file():
            return candidate
    if shutil.which("fc-list"):
        listing = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, check=False)
        files = sorted(line.split(":")[0].strip() for line in listing.stdout.splitlines() if line.strip())
        if files:
            return Path(files[0])
    raise ProjectError(
        "no CJK font found: install the project (`make setup`, which installs pylopdf-fonts-zh-cn) "
        "or a system font such as Debian's fonts-noto-cjk"
    )
