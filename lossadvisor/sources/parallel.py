"""Line-aligned files in one folder, one column each: `a.toks`, `b.toks`, `sim.txt` (the Tree-LSTM / SentEval
layout of SICK and STS): line i of every file belongs to row i. Read as columns named by the file stem.

Recognised when every file of a folder (hidden ones aside) is a line file (LINE_SUFFIXES), at least one of them
not a .txt, and every file has the same number of lines. Code, tables and anything else are never read this way.
Named, the files need not be alone in their folder nor anything but .txt: comma-separated as the dataset
(`a.txt,b.txt,sim.txt`), or as the columns of one (`DATASET --inputs a.txt,b.txt --label sim.txt`, `files_as_columns`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa

from lossadvisor.errors import SourceError
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


def named_parallel_files(spec: str) -> list[str] | None:
    """Line files named together, comma-separated (`a.toks,b.toks,sim.txt`), all of one length; else None."""
    if "," not in spec:
        return None
    paths = [Path(p.strip()).expanduser() for p in spec.split(",") if p.strip()]
    if not 2 <= len(paths) <= MAX_FILES or not all(p.is_file() and p.suffix.lower() in LINE_SUFFIXES for p in paths):
        return None
    counts = {_lines(p) for p in paths}
    return [str(p) for p in paths] if len(counts) == 1 and counts != {0} else None


def files_as_columns(spec: str, choice):
    """--inputs a.toks,b.toks --label sim.txt: when the names are line files (in the folder DATASET names, or beside
    the file it names, or in the working folder), the dataset is those files, line by line, and the choice names
    their columns. Anything else is returned as it came."""
    inputs = list(getattr(choice, "inputs", None) or ())
    label = getattr(choice, "label", None)
    named = inputs + ([label] if label not in (None, "none") else [])
    if not named or any(not Path(n).suffix for n in named):  # a.toks, sim.txt: a file name, never a column's
        return spec, choice
    base = Path(spec).expanduser()
    folders = [base] if base.is_dir() else [base.parent] if base.is_file() else []
    found = []
    for name in named:
        path = next((f / name for f in folders + [Path(".")] if (f / name).is_file()), None)
        if path is None or path.suffix.lower() not in LINE_SUFFIXES:
            return spec, choice
        found.append(str(path))
    files = named_parallel_files(",".join(found)) if len(found) > 1 else None
    if files is None:
        return spec, choice
    from dataclasses import replace

    names = names_of(files)
    return ",".join(files), replace(choice, inputs=tuple(names[:len(inputs)]) if inputs else None,
                                    label=names[len(inputs)] if label not in (None, "none") else label)


NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")
LABEL_STEM = re.compile(r"sim|score|label|gold|relatedness|rating|relevance|gs", re.I)


def aligned_error(folder: Path) -> SourceError | None:
    """A folder whose line files (all .txt, or beside other files) are line-aligned columns: texts in some, a number
    per line in another (SICK's a.txt, b.txt, sim.txt, id.txt): not one table. Say so, and the command naming them."""
    try:
        files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                       and p.suffix.lower() in LINE_SUFFIXES)
    except OSError:
        return None
    if not 2 <= len(files) <= MAX_FILES:
        return None
    groups: dict[int, list[Path]] = {}
    for path in files:
        groups.setdefault(_lines(path), []).append(path)
    count, group = max(groups.items(), key=lambda item: (len(item[1]), item[0]))
    if len(group) < 2 or count == 0:
        return None
    heads = {p: [line for line in _read(str(p), 50) if line.strip()] for p in group}
    numbers = [p for p in group if heads[p] and all(NUMBER.match(line) for line in heads[p])]
    texts = [p for p in group if p not in numbers and sum(" " in line for line in heads[p]) > len(heads[p]) // 2]
    labels = [p for p in numbers if LABEL_STEM.search(p.stem)] or [
        p for p in numbers if any("." in line for line in heads[p])]
    if not texts or not labels:
        return None
    command = (f"lossadvisor inspect {folder} --inputs {','.join(p.name for p in texts)} --label {labels[0].name}")
    return SourceError(
        f"{folder}: {', '.join(p.name for p in group)} hold {count:,} lines each: line-aligned columns (line i of each "
        "file is row i), not one table",
        f"Name the files as the columns: {command} (convert and trial take the same; or pass them comma-separated).")


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
