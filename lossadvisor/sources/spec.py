"""What a spec names: a save_to_disk folder, local files (a path, a glob, a folder of files) or a hub id."""

from __future__ import annotations

import glob as globlib
import os
from pathlib import Path

from lossadvisor.errors import SourceError
from lossadvisor.sources.base import DATA_SUFFIXES, HUB_ID, TREC_SUFFIXES
from lossadvisor.sources.beir import beir_layout
from lossadvisor.sources.ids import ids_layout
from lossadvisor.sources.parallel import aligned_error, named_parallel_files, parallel_files


def resolve_files(spec: str) -> tuple[str, list[str]]:
    """(kind, files) for a local spec, or ('hub', []) for a hub id; SourceError when nothing is there."""
    path = Path(spec).expanduser()
    layout = beir_layout(spec)
    if layout is not None:  # corpus + queries + qrels: ids joined into texts
        return "beir", [str(layout["corpus"]), str(layout["queries"]), *(str(p) for p in layout["qrels"].values())]
    resolved = ids_layout(spec)
    if resolved is not None:  # rows of ids + queries + corpus: resolved into texts (resolve_ids)
        return "ids", [str(resolved["ids"]), str(resolved["queries"]), str(resolved["corpus"])]
    named = named_parallel_files(spec)
    if named:  # a.txt,b.txt,sim.txt: one column per file, line by line
        return "parallel", named
    if any(ch in spec for ch in "*?[") and not os.path.lexists(spec):  # an existing name is taken literally
        files = _glob_files(spec)
        if not files:
            raise SourceError(f"no files match '{spec}'")
        return _kind_of(files, spec), files
    if path.is_dir():
        if (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
            return "save_to_disk", [str(path)]
        aligned = parallel_files(path)
        if aligned:  # a.toks, b.toks, sim.txt: one column per file, line by line
            return "parallel", aligned
        misread = aligned_error(path)  # a.txt, b.txt, sim.txt, id.txt: columns, not one table
        if misread is not None:
            raise misread
        files = sorted(
            f for f in _walk_files(str(path)) if Path(f).suffix.lower() in DATA_SUFFIXES
            and not any(part.startswith(".") for part in Path(f).relative_to(path).parts)
        )
        if not files:
            raise SourceError(f"{spec}: folder holds no data files (csv, tsv, json, jsonl, parquet, arrow)")
        return _kind_of(files, spec), files
    if path.is_file():
        return _kind_of([str(path)], spec), [str(path)]
    if path.exists():
        raise SourceError(f"{spec}: not a regular file or folder")
    if HUB_ID.match(spec) and not spec.startswith((".", "/")):
        return "hub", []
    raise SourceError(f"{spec}: no such file or folder")


# A glob or a folder is walked without following links to folders (a link loop would never end), and only so far.
MAX_WALK_ENTRIES = 200_000


def _walk_files(top: str) -> list[str]:
    """Regular files under `top` (links to files included, links to folders not followed), bounded."""
    files, seen = [], 0
    for folder, dirs, names in os.walk(top, followlinks=False):
        seen += len(dirs) + len(names)
        if seen > MAX_WALK_ENTRIES:
            raise SourceError(f"{top}: more than {MAX_WALK_ENTRIES:,} entries under it; point at the data files")
        files.extend(os.path.join(folder, n) for n in names if os.path.isfile(os.path.join(folder, n)))
    return files


def _glob_files(spec: str) -> list[str]:
    """The regular files a glob matches; `**` descends folders without following links to folders."""
    if "**" not in spec:
        return sorted(f for f in globlib.glob(spec) if os.path.isfile(f))
    import fnmatch

    parts = spec.split(os.sep)
    fixed = next(i for i, part in enumerate(parts) if globlib.has_magic(part))
    top = os.sep.join(parts[:fixed]) or ("/" if spec.startswith(os.sep) else ".")
    pattern = parts[fixed:]

    def matches(names: list[str], pats: list[str]) -> bool:
        if not pats:
            return not names
        if pats[0] == "**":
            return any(matches(names[i:], pats[1:]) for i in range(len(names) + 1))
        return bool(names) and fnmatch.fnmatchcase(names[0], pats[0]) and matches(names[1:], pats[1:])

    found = []
    for f in _walk_files(top):
        relative = os.path.relpath(f, top).split(os.sep)
        if not any(n.startswith(".") for n in relative) and matches(relative, pattern):
            found.append(f if parts[:fixed] else os.path.relpath(f, "."))
    return sorted(found)


def _kind_of(files: list[str], spec: str) -> str:
    kinds = set()
    for f in files:
        suffix = Path(f).suffix.lower()
        if suffix == ".parquet":
            kinds.add("parquet")
        elif suffix == ".arrow":
            kinds.add("arrow")
        elif suffix in (".json", ".jsonl", ".ndjson"):
            kinds.add("json")
        elif suffix in (".csv", ".tsv", ".txt", *TREC_SUFFIXES):
            kinds.add("csv")
        else:
            raise SourceError(f"{f}: unknown file type '{suffix or '(none)'}'", "Use csv, tsv, txt, json, jsonl, parquet or arrow.")
    if len(kinds) > 1:
        raise SourceError(f"{spec}: mixes file types ({', '.join(sorted(kinds))}); point at one type")
    return kinds.pop()
