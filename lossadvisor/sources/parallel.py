"""Line-aligned files in one folder, one column each: `a.toks`, `b.toks`, `sim.txt` (the Tree-LSTM / SentEval
layout of SICK and STS): line i of every file belongs to row i. Read as columns named by the file stem.

Recognised when every file of a folder (hidden ones aside) is a line file (LINE_SUFFIXES), at least one of them
not a .txt, and every file has the same number of lines. Code, tables and anything else are never read this way.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from lossadvisor.sources.base import DATA_SUFFIXES
from lossadvisor.sources.schema import rows_to_table

MAX_FILES = 16
LINE_SUFFIXES = {".toks", ".tok", ".txt", ".src", ".tgt", ".sent", ".sents", ".label", ".labels", ".lbl", ".sim", ""}


def parallel_files(folder: Path) -> list[str] | None:
    """The line-aligned files of a folder, in name order, or None when it is not such a folder."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    suffixes = {p.suffix.lower() for p in files}
    if not 2 <= len(files) <= MAX_FILES or not suffixes <= LINE_SUFFIXES or suffixes <= DATA_SUFFIXES:
        return None
    counts = {_lines(p) for p in files}
    return [str(p) for p in files] if len(counts) == 1 and counts != {0} else None


def _lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for _ in handle)


def _read(path: str, limit: int | None) -> list[str]:
    out = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:  # every line is a row, as str.splitlines() reads it
            out.append(line.rstrip("\r\n"))
            if limit is not None and len(out) >= limit:
                break
    return out


def names_of(files: list[str]) -> tuple[str, ...]:
    names: list[str] = []
    for f in files:
        name = Path(f).stem or Path(f).name
        while name in names:
            name += "_"
        names.append(name)
    return tuple(names)


def parallel_table(files: list[str], limit: int | None = None) -> pa.Table:
    columns = [_read(f, limit) for f in files]
    return rows_to_table([list(cells) for cells in zip(*columns)], names_of(files))


def join_code(files: list[str], schema: pa.Schema) -> str:
    """The same with `datasets`: one column per file, line by line (numbers as the sample typed them)."""
    parts = []
    for name, f in zip(names_of(files), files):
        lines = f"open({f!r}, encoding='utf-8').read().splitlines()"
        kind = schema.field(name).type if name in schema.names else pa.string()
        cast = "int" if pa.types.is_integer(kind) else "float" if pa.types.is_floating(kind) else None
        parts.append(f"{name!r}: " + (f"[{cast}(v) for v in {lines}]" if cast else lines))
    return f"Dataset.from_dict({{{', '.join(parts)}}})"
