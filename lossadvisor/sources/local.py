"""Parquet, Arrow and save_to_disk folders: schema and a bounded sample, no full scan."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa

from lossadvisor.errors import SourceError
from lossadvisor.sources.base import _first_batches, _short


def _parquet_sample(files: list[str], limit: int) -> tuple[pa.Table, int, dict[str, dict[str, Any]]]:
    import pyarrow.parquet as pq

    total, tables, stats = 0, [], {}
    for index, path in enumerate(files):
        try:
            # only the pages the sample touches are read; pre_buffer would fetch whole column chunks (tens of MB)
            parquet = pq.ParquetFile(path, memory_map=True, pre_buffer=False)
        except (pa.ArrowException, OSError) as exc:
            raise SourceError(f"{path}: not a readable parquet file ({_short(exc)})") from None
        total += parquet.metadata.num_rows
        if index == 0:
            stats = _parquet_column_stats(parquet)
        if sum(t.num_rows for t in tables) < limit:
            try:
                batches = parquet.iter_batches(batch_size=min(limit, 65536))
                tables.append(_first_batches(batches, limit, parquet.schema_arrow))
                batches.close() if hasattr(batches, "close") else None
            except (pa.ArrowException, OSError) as exc:
                raise SourceError(f"{path}: cannot read parquet data ({_short(exc)})") from None
    table = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
    return table.slice(0, limit), total, stats


def _parquet_column_stats(parquet) -> dict[str, dict[str, Any]]:
    """Whole-column min/max/nulls from the row-group statistics in the footer: no data is read."""
    stats: dict[str, dict[str, Any]] = {}
    metadata = parquet.metadata
    schema = parquet.schema_arrow
    for column_index in range(metadata.num_columns):
        path = metadata.schema.column(column_index).path
        if "." in path or path not in schema.names:
            continue
        lows, highs, nulls, complete = [], [], 0, True
        for group in range(metadata.num_row_groups):
            column = metadata.row_group(group).column(column_index)
            statistics = column.statistics
            if statistics is None or not statistics.has_min_max:
                complete = False
                continue
            lows.append(statistics.min)
            highs.append(statistics.max)
            nulls += statistics.null_count or 0
        if complete and lows and isinstance(lows[0], (int, float)):
            stats[path] = {"min": min(lows), "max": max(highs), "nulls": nulls}
    return stats


def _arrow_reader(path: str):
    """datasets writes Arrow *stream* files; other tools write the file format. Accept both."""
    source = pa.memory_map(path)
    try:
        return pa.ipc.open_stream(source)
    except pa.ArrowInvalid:
        source.seek(0)
        return pa.ipc.open_file(source)


def _arrow_sample(files: list[str], limit: int) -> tuple[pa.Table, int, pa.Schema]:
    total, tables, schema = 0, [], None
    for path in files:
        try:
            reader = _arrow_reader(path)
        except (pa.ArrowException, OSError) as exc:
            raise SourceError(f"{path}: not a readable Arrow file ({_short(exc)})") from None
        schema = schema or reader.schema
        try:
            if isinstance(reader, pa.ipc.RecordBatchFileReader):
                batches = [reader.get_batch(i) for i in range(reader.num_record_batches)]
            else:
                batches = list(reader)  # memory-mapped: batches are views, counting them reads no data
        except (pa.ArrowException, OSError) as exc:
            raise SourceError(f"{path}: truncated or corrupt Arrow data ({_short(exc)})") from None
        total += sum(b.num_rows for b in batches)
        if sum(t.num_rows for t in tables) < limit:
            tables.append(_first_batches(batches, limit, reader.schema))
    assert schema is not None
    table = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
    return table.slice(0, limit), total, schema


def _inside(folder: Path, name: str, what: str) -> Path:
    """folder/name, refused when a name taken from the data would lead out of the folder the user named."""
    # Lexical: `..`, an absolute path or a drive; links inside the folder are the user's own arrangement.
    if not name.strip() or Path(name).is_absolute() or "\\" in name or ":" in name or any(
            part in ("..", ".") for part in name.split("/")) or name.startswith("/"):
        raise SourceError(f"{what} {name!r} points outside {folder}; refusing to read it",
                          "A dataset folder must hold its own files: re-save it with save_to_disk.")
    return folder / name


def _save_to_disk_split(folder: Path, split: str | None) -> tuple[Path, str | None, tuple[str, ...]]:
    dict_file = folder / "dataset_dict.json"
    if not dict_file.is_file():
        if split not in (None, "train"):
            raise SourceError(f"{folder} is a single Dataset: it has no split '{split}'")
        return folder, None, ()
    try:
        splits = json.loads(dict_file.read_text())["splits"]
    except (ValueError, KeyError, TypeError, OSError, RecursionError):
        raise SourceError(f"{dict_file}: corrupt dataset_dict.json") from None
    if not isinstance(splits, list) or not splits or not all(isinstance(s, str) for s in splits):
        raise SourceError(f"{dict_file}: corrupt dataset_dict.json (\"splits\" is not a list of names)")
    for name in splits:
        _inside(folder, name, f"{dict_file}: split")
    splits = tuple(splits)
    chosen = split or ("train" if "train" in splits else splits[0])
    if chosen not in splits:
        raise SourceError(f"{folder} has no split '{chosen}'", f"Known splits: {', '.join(splits)}. Use --split.")
    return folder / chosen, chosen, splits


def _save_to_disk_files(folder: Path) -> list[str]:
    try:
        state = json.loads((folder / "state.json").read_text())
        names = [entry["filename"] for entry in state["_data_files"]]
    except (ValueError, KeyError, TypeError, OSError, RecursionError):
        raise SourceError(f"{folder}: corrupt save_to_disk folder (state.json unreadable)") from None
    if not all(isinstance(name, str) for name in names):
        raise SourceError(f"{folder}: corrupt save_to_disk folder (state.json names no data files)")
    files = [str(_inside(folder, name, f"{folder / 'state.json'}: data file")) for name in names]
    if state.get("_indices_data_files"):
        raise SourceError(f"{folder}: saved with an indices mapping; re-save it with .flatten_indices()")
    missing = [f for f in files if not os.path.isfile(f)]
    if missing or not files:
        raise SourceError(f"{folder}: corrupt save_to_disk folder (missing {Path(missing[0]).name if missing else 'data'})")
    return files
