"""Read the corpus manifest (sources.csv) and the raw documents it lists."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from helpers.config import ProjectError
from helpers.formats import DOCUMENT_SUFFIXES, read_documents
from helpers.provenance import PROVENANCE_COLUMNS, check_manifest_values

MANIFEST = "sources.csv"
MANIFEST_COLUMNS = ["source_id", "file", "title", "site", "publisher", "date", "url", "script", "damage", "note",
                    *PROVENANCE_COLUMNS]
REQUIRED_COLUMNS = ["source_id", "file"]
# A file in the folder is a document if its suffix is in DOCUMENT_SUFFIXES (.txt, .html, .htm, .pdf, .docx, .doc),
# unless it is a README or a hidden or lock file (.name, ~$name); every other file (notes in .md, the manifest,
# images) is ignored. A document the manifest does not list is refused by name.
IGNORED_PREFIXES = ("README", ".", "~$")


def load_manifest(raw_dir: Path, province_names: dict[str, str] | None = None,
                  city_names: dict[str, tuple[str, str]] | None = None) -> pd.DataFrame:
    """Read sources.csv, check it against the folder both ways (ids unique) and check its provenance values.

    Given the gazetteer's written forms (province_names, city_names), provinces and cities are checked too.
    """
    path = raw_dir / MANIFEST
    if not path.is_file():
        raise ProjectError(f"{path}: manifest missing; list every source file in it (see data/raw/README.md)")
    manifest = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [column for column in REQUIRED_COLUMNS if column not in manifest.columns]
    if missing:
        raise ProjectError(f"{path}: missing column(s) {', '.join(missing)}; see data/raw/README.md")
    for column in MANIFEST_COLUMNS:
        if column not in manifest.columns:
            manifest[column] = ""
    duplicated = sorted(set(manifest.loc[manifest["source_id"].duplicated(), "source_id"]))
    if duplicated:
        raise ProjectError(f"{path}: source_id {', '.join(duplicated)} used by more than one row; make ids unique")
    absent = [name for name in manifest["file"] if not (raw_dir / name).is_file()]
    if absent:
        raise ProjectError(f"{path}: row(s) name missing file(s) {', '.join(absent)}; add the file or drop the row")
    listed = set(manifest["file"])
    unlisted = sorted(
        item.name for item in raw_dir.iterdir()
        if item.suffix.lower() in DOCUMENT_SUFFIXES and item.name not in listed
        and not item.name.upper().startswith(IGNORED_PREFIXES)
    )
    if unlisted:
        raise ProjectError(f"{path}: file(s) {', '.join(unlisted)} not in the manifest; add a row for each")
    check_manifest_values(manifest, path, province_names, city_names)
    return manifest[MANIFEST_COLUMNS].sort_values("source_id", ignore_index=True)


def read_sources(raw_dir: Path, manifest: pd.DataFrame) -> dict[str, str]:
    """Return the text of every source (extracted from HTML, PDF and Word files), keyed by source_id."""
    return {source_id: document.text for source_id, document in read_documents(raw_dir, manifest).items()}


def checksums(raw_dir: Path, manifest: pd.DataFrame) -> pd.DataFrame:
    """Return the SHA-256 checksum and size of every raw source file."""
    records = []
    for row in manifest.itertuples():
        data = (raw_dir / row.file).read_bytes()
        records.append([row.source_id, row.file, len(data), hashlib.sha256(data).hexdigest()])
    return pd.DataFrame(records, columns=["source_id", "file", "bytes", "sha256"])
