"""Write and read the pipeline's tables and texts atomically and deterministically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from helpers.config import ProjectError

if TYPE_CHECKING:
    import pandas as pd

# When this environment variable names a file, every file written here is recorded in it (one absolute path a
# line); the pipeline sets it per stage to learn the stage's outputs.
WRITE_LOG = "HELPERS_WRITE_LOG"


def log_write(path: Path) -> None:
    """Append a written file's absolute path to the write log named by $HELPERS_WRITE_LOG, if it is set."""
    log = os.environ.get(WRITE_LOG)
    if not log:
        return
    with open(log, "a", encoding="utf-8") as stream:
        stream.write(f"{Path(path).resolve()}\n")
        stream.flush()


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write bytes to path through a temporary file in the same folder, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    log_write(path)
    return path


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete the temporary files that writes interrupted by a killed process left in a folder tree."""
    stale = sorted(folder.rglob(".*.tmp")) if folder.is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def write_text(path: Path, text: str) -> Path:
    """Write UTF-8 text atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def write_table(table: pd.DataFrame, path: Path, sort_by: list[str] | None = None) -> Path:
    """Write a table as UTF-8 CSV, sorted when asked, without index, atomically."""
    if sort_by:
        table = table.sort_values(sort_by, kind="stable", ignore_index=True)
    return write_text(path, table.to_csv(index=False, lineterminator="\n", float_format="%.6g"))


def read_table(path: Path, stage: str) -> pd.DataFrame:
    """Read a table an earlier stage wrote; missing file -> an error naming the stage to run."""
    import pandas as pd

    if not path.is_file():
        raise ProjectError(
            f"{path}: not found; run the '{stage}' stage first (python -m helpers.pipeline --from {stage})"
        )
    return pd.read_csv(path, dtype={"source_id": str, "passage_id": str, "date": str, "first_date": str},
                       keep_default_na=False)
