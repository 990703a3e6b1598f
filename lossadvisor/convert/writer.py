"""Write a converted table so that OUT is either complete or absent, never half written.

The table goes to a hidden temporary sibling of OUT (same folder, so the final rename stays on one file
system and nothing is written anywhere else) and is renamed into place once complete. An existing OUT is
kept until the new one is complete. Ctrl-C or an error removes the temporary copy; OS errors (read-only
folder, full disk) become a one-line FitError.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from lossadvisor import outputs
from lossadvisor.errors import FitError

KINDS = {".parquet": "parquet", ".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv"}
DATASET_FOLDER = "datasets"
# Suffixes of data files that lossadvisor does not write: without this check `-o data.xlsx` would silently
# become a save_to_disk folder named data.xlsx.
_UNWRITABLE_SUFFIXES = frozenset({
    ".arrow", ".avro", ".bz2", ".db", ".feather", ".gz", ".h5", ".hdf5", ".ndjson", ".npy", ".npz", ".orc", ".pickle",
    ".pkl", ".sqlite", ".tar", ".txt", ".xls", ".xlsx", ".xz", ".yaml", ".yml", ".zip", ".zst",
})
METADATA_KEY = b"lossadvisor"


@dataclass(frozen=True)
class WriteResult:
    path: Path
    kind: str  # datasets | parquet | jsonl | csv | tsv
    rows: int
    bytes: int
    replaced: bool
    metadata_written: bool


def output_kind(out: str | Path) -> str:
    """By suffix: .parquet, .jsonl (or .json: JSON Lines), .csv, .tsv; anything else is a save_to_disk folder."""
    return KINDS.get(Path(out).suffix.lower(), DATASET_FOLDER)


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def check_output(out: str | Path, overwrite: bool = False, protect: Iterable[str | Path] = ()) -> Path:
    """Every check that needs no data, so that the CLI can fail before a slow conversion starts.

    The suffix is checked here; the path rules (never an input, never a link, --overwrite only over a file of
    its kind or a folder holding nothing but a saved dataset) are lossadvisor.outputs'.
    """
    out = Path(out).expanduser()
    suffix = out.suffix.lower()
    if suffix in _UNWRITABLE_SUFFIXES and not out.is_dir():
        raise FitError(
            f"{out}: cannot write {suffix} files",
            "Give OUT a .parquet, .jsonl, .csv or .tsv suffix, or no suffix for a save_to_disk folder.",
        )
    kind = outputs.DATASET_FOLDER if output_kind(out) == DATASET_FOLDER else outputs.DATA_FILE
    return outputs.check_output(out, kind, protect, overwrite)


def _sibling(out: Path, tag: str) -> Path:
    return out.absolute().parent / f".{out.name}.lossadvisor-{tag}-{os.getpid()}-{secrets.token_hex(4)}"


_SIBLING = re.compile(r"^\.(?P<name>.+)\.lossadvisor-(?P<tag>tmp|old)-(?P<pid>\d+)-[0-9a-f]{8}$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process: alive
    return True


def _clean_stale(out: Path) -> None:
    """Siblings left by a run that was killed (SIGKILL, power loss): a half-written copy is removed, and an old
    OUT parked during a folder swap comes back when OUT itself is missing. A live run's files are left alone."""
    parent = out.absolute().parent
    prefix = f".{out.name}.lossadvisor-"
    try:
        entries = [entry for entry in parent.iterdir() if entry.name.startswith(prefix)]
    except OSError:
        return
    for entry in sorted(entries, key=lambda e: e.name):
        match = _SIBLING.match(entry.name)
        if match is None or match["name"] != out.name or _alive(int(match["pid"])):
            continue
        with contextlib.suppress(OSError):
            if match["tag"] == "old" and not _exists(out):
                os.rename(entry, out)
            else:
                _remove(entry)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def _fsync(path: Path) -> None:
    """Every file of an output (a folder's files, or the file itself) on disk before it is renamed into place."""
    for file in ([p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]):
        outputs.fsync_file(file)


_fsync_dir = outputs.fsync_folder


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


@contextlib.contextmanager
def _datasets_quiet() -> Iterator[None]:
    from datasets.utils import logging as ds_logging

    was_enabled = ds_logging.is_progress_bar_enabled()
    ds_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            ds_logging.enable_progress_bar()


def _write_dataset_folder(table: pa.Table | dict[str, pa.Table], path: Path, metadata: dict[str, Any] | None) -> bool:
    from datasets import Dataset, DatasetDict, DatasetInfo
    from datasets.table import InMemoryTable

    info = DatasetInfo(description=json.dumps(metadata, sort_keys=True)) if metadata else None
    with _datasets_quiet():
        if isinstance(table, dict):  # every split of a DatasetDict, kept
            DatasetDict({name: Dataset(InMemoryTable(part), info=info) for name, part in table.items()}).save_to_disk(str(path))
        else:
            Dataset(InMemoryTable(table), info=info).save_to_disk(str(path))
    return bool(metadata)


def _write_parquet(table: pa.Table, path: Path, metadata: dict[str, Any] | None) -> bool:
    import pyarrow.parquet as pq

    if metadata:
        merged = dict(table.schema.metadata or {})
        merged[METADATA_KEY] = json.dumps(metadata, sort_keys=True).encode()
        table = table.replace_schema_metadata(merged)
    pq.write_table(table, path)
    return bool(metadata)


# pandas writes "/" as "\\/" (legal JSON, but noisy); an escaped backslash before a slash must stay as it is.
_ESCAPED_SLASH = re.compile(r"(?<!\\)((?:\\\\)*)\\/")


def _write_jsonl(table: pa.Table, path: Path, metadata: dict[str, Any] | None) -> bool:
    # pandas' JSON writer is vectorised C; a batch at a time bounds memory.
    with open(path, "w", encoding="utf-8") as handle:
        for batch in table.to_batches(max_chunksize=65_536):
            if batch.num_rows == 0:
                continue
            text = batch.to_pandas().to_json(orient="records", lines=True, force_ascii=False, double_precision=15)
            text = _ESCAPED_SLASH.sub(r"\1/", text)
            handle.write(text if text.endswith("\n") else text + "\n")
    return False


def _write_delimited(table: pa.Table, path: Path, delimiter: str) -> bool:
    import pyarrow.csv as pcsv

    pcsv.write_csv(table, path, pcsv.WriteOptions(delimiter=delimiter))
    return False


def _write(kind: str, table: pa.Table, path: Path, metadata: dict[str, Any] | None) -> bool:
    if kind == DATASET_FOLDER:
        return _write_dataset_folder(table, path, metadata)
    if kind == "parquet":
        return _write_parquet(table, path, metadata)
    if kind == "jsonl":
        return _write_jsonl(table, path, metadata)
    return _write_delimited(table, path, "\t" if kind == "tsv" else ",")


def _move_into_place(temporary: Path, out: Path, overwrite: bool) -> bool:
    """Rename the complete temporary copy to OUT; True when an existing OUT was replaced."""
    if not temporary.is_dir():
        return outputs.publish(temporary, out, overwrite)
    if not _exists(out):
        os.rename(temporary, out)  # fails if a non-empty folder appeared meanwhile
        return False
    if not overwrite:
        raise FitError(f"{out} already exists", "Pass --overwrite to replace it, or choose another OUT.")
    if out.is_symlink() or not out.is_dir() or not outputs.is_saved_dataset(out):
        raise FitError(f"{out} is no longer a saved dataset folder; refusing to replace it", "Choose a new OUT path.")
    # A folder cannot be swapped in one rename: park the old one, move the new one in, then delete the old.
    backup = _sibling(out, "old")
    os.rename(out, backup)
    try:
        os.rename(temporary, out)
    except BaseException:
        os.rename(backup, out)
        raise
    _remove(backup)
    return True


def write_output(
    table: pa.Table | dict[str, pa.Table],
    out: str | Path,
    overwrite: bool = False,
    metadata: dict[str, Any] | None = None,
    *,
    protect: Iterable[str | Path] = (),
) -> WriteResult:
    """Write `table` to OUT: a datasets save_to_disk folder, or .parquet / .jsonl / .csv / .tsv by suffix.

    protect: paths OUT must not be, contain or sit inside (the input); metadata: JSON-able provenance,
    stored in the parquet schema or the dataset's description (JSON Lines and CSV have nowhere to put it).
    """
    _clean_stale(Path(out).expanduser())
    out = check_output(out, overwrite, protect)
    kind = output_kind(out)
    if isinstance(table, dict) and kind != DATASET_FOLDER:
        raise FitError(f"several splits ({', '.join(table)}) need a dataset folder OUT, not a .{kind} file")
    if kind in ("csv", "tsv"):
        nested = [f.name for f in table.schema if pa.types.is_nested(f.type)]
        if nested:
            raise FitError(
                f"{kind.upper()} cannot hold the list column(s) {', '.join(nested)}",
                "Write .parquet, .jsonl or a dataset folder instead.",
            )
    written_metadata, size, replaced = _publish(out, overwrite, lambda temporary: _write(kind, table, temporary, metadata))
    rows = sum(t.num_rows for t in table.values()) if isinstance(table, dict) else table.num_rows
    return WriteResult(out, kind, rows, size, replaced, written_metadata)


def _publish(out: Path, overwrite: bool, produce: Callable[[Path], Any]) -> tuple[Any, int, bool]:
    """`produce(temporary)` writes a hidden sibling of OUT, which is then synced and renamed into place; on an error or
    Ctrl-C the sibling is removed and OUT is left as it was. Returns what produce returned, the size, and whether
    an existing OUT was replaced."""
    temporary = _sibling(out, "tmp")
    try:
        produced = produce(temporary)
        _fsync(temporary)
        size = _size(temporary)
        replaced = _move_into_place(temporary, out, overwrite)
        _fsync_dir(out.absolute().parent)
    except OSError as exc:
        _remove(temporary)
        raise outputs.os_error(out, exc) from None
    except BaseException:
        _remove(temporary)
        raise
    return produced, size, replaced


def write_streamed(write: Callable[[Path, str], int], out: str | Path, overwrite: bool = False,
                   metadata: dict[str, Any] | None = None, *, protect: Iterable[str | Path] = ()) -> WriteResult:
    """write_output for a table made batch by batch: `write(temporary, kind)` writes the hidden sibling and returns
    its row count; the same checks, rename into place and clean-up on Ctrl-C or an error as write_output."""
    _clean_stale(Path(out).expanduser())
    out = check_output(out, overwrite, protect)
    kind = output_kind(out)
    rows, size, replaced = _publish(out, overwrite, lambda temporary: write(temporary, kind))
    return WriteResult(out, kind, rows, size, replaced, bool(metadata) and kind in ("parquet", DATASET_FOLDER))
