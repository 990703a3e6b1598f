"""Parquet, Arrow and save_to_disk folders: schema and a bounded sample, no full scan."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pyarrow as pa

from lossadvisor.errors import SourceError
from lossadvisor.sources import dictionary
from lossadvisor.sources.base import _first_batches, _short

# A footer claiming more rows than this per byte of file is checked against the rows its pages really hold.
PLAUSIBLE_ROWS_PER_BYTE = 256
# The sample is decoded up to this many bytes (a dictionary page of one huge value repeated is a few kB on disk)...
SAMPLE_MAX_BYTES = 64 * 1024 * 1024
# ...and a full read up to this, or this many times the file's size when that is more.
FULL_READ_MIN_BYTES = 512 * 1024 * 1024
FULL_READ_BYTES_PER_FILE_BYTE = 64


def open_parquet(path: str):
    """A ParquetFile whose footer was checked against the file; strings read as dictionaries (sized before decoding)."""
    import pyarrow.parquet as pq

    try:
        # only the pages the sample touches are read; pre_buffer would fetch whole column chunks (tens of MB)
        probe = pq.ParquetFile(path, memory_map=True, pre_buffer=False)
        strings = [f.name for f in probe.schema_arrow if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
                   or pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)]
        parquet = pq.ParquetFile(path, memory_map=True, pre_buffer=False, read_dictionary=strings) if strings else probe
    except (pa.ArrowException, OSError) as exc:
        raise SourceError(f"{path}: not a readable parquet file ({_short(exc)})") from None
    _check_footer(path, parquet)
    return parquet, probe.schema_arrow


def _check_footer(path: str, parquet) -> None:
    """The row count in the footer is only a claim: a 4 kB file may say 2^40 rows. Check what its pages hold."""
    metadata = parquet.metadata
    claimed = metadata.num_rows
    groups = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    if claimed < 0 or any(n < 0 for n in groups) or sum(groups) != claimed:
        raise SourceError(f"{path}: corrupt parquet footer (its row counts disagree: {claimed:,} vs {sum(groups):,})")
    size = os.path.getsize(path)
    if claimed <= max(65536, size * PLAUSIBLE_ROWS_PER_BYTE) or not metadata.num_columns:
        return
    first = parquet.schema_arrow.names[0]
    held = 0
    try:
        for batch in parquet.iter_batches(batch_size=65536, columns=[first], use_threads=False):
            held += batch.num_rows
    except (pa.ArrowException, OSError) as exc:
        raise SourceError(f"{path}: corrupt parquet file: its footer claims {claimed:,} rows in {size:,} bytes and "
                          f"its pages cannot be read ({_short(exc)})") from None
    if held != claimed:
        raise SourceError(f"{path}: corrupt parquet footer: it claims {claimed:,} rows, its pages hold {held:,}",
                          "Rewrite the file from its source; lossadvisor does not trust a footer that its data contradicts.")


def _decoded_bytes(batch: pa.RecordBatch):
    """Per row (a numpy array), the bytes the batch takes once its dictionary columns are decoded, without decoding."""
    import numpy as np

    fixed = sum(c.nbytes for c in batch.columns if not pa.types.is_dictionary(c.type))
    costs = np.full(batch.num_rows, fixed // max(1, batch.num_rows) + 8, dtype=np.int64)
    for column in batch.columns:
        if pa.types.is_dictionary(column.type):
            costs += dictionary.value_bytes(column)
    return costs


def _decode(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    columns = [dictionary.decode(c, target=f.type) if pa.types.is_dictionary(c.type) else c
               for c, f in zip(batch.columns, schema)]
    return pa.RecordBatch.from_arrays([c.cast(f.type) if c.type != f.type else c for c, f in zip(columns, schema)],
                                      schema=schema)


def parquet_batches(path: str, batch_rows: int = 65536, max_rows: int | None = None, max_bytes: int | None = None,
                    stop_at_budget: bool = False, opened=None):
    """(schema, batches) of a parquet file, decoded batch by batch within a byte budget.

    Past the budget: the batches stop (stop_at_budget, for a sample) or a SourceError names the file (a full read).
    `opened`: what open_parquet(path) returned already (the sample opens the file once).
    """
    parquet, schema = opened or open_parquet(path)
    size = os.path.getsize(path)
    budget = max_bytes if max_bytes is not None else max(FULL_READ_MIN_BYTES, FULL_READ_BYTES_PER_FILE_BYTE * size)

    def generate():
        import numpy as np

        used = rows = 0
        batches = parquet.iter_batches(batch_size=batch_rows, use_threads=False)
        try:
            for batch in batches:
                if max_rows is not None and rows >= max_rows:
                    return
                if max_rows is not None:
                    batch = batch.slice(0, max_rows - rows)
                running = used + np.cumsum(_decoded_bytes(batch))
                keep = int(np.searchsorted(running, budget, side="right"))
                used = int(running[keep - 1]) if keep else used
                if keep < batch.num_rows:
                    if not stop_at_budget or (rows + keep) == 0:
                        raise SourceError(
                            f"{path}: its data decodes to more than {budget / 2**20:,.0f} MiB ({size:,} bytes on disk): "
                            "values repeated from a dictionary, too large to read",
                            "Check how the file was made; a few kB must not hold gigabytes of text.")
                    if keep:
                        yield _decode(batch.slice(0, keep), schema)
                    return
                rows += batch.num_rows
                yield _decode(batch, schema)
        except (pa.ArrowException, OSError) as exc:
            raise SourceError(f"{path}: cannot read parquet data ({_short(exc)})") from None
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()

    return schema, generate()


def _parquet_sample(files: list[str], limit: int) -> tuple[pa.Table, int, dict[str, dict[str, Any]]]:
    total, tables, stats, schemas = 0, [], {}, []
    for index, path in enumerate(files):
        parquet, schema = opened = open_parquet(path)
        schemas.append(schema)
        total += parquet.metadata.num_rows
        if index == 0:
            stats = _parquet_column_stats(parquet)
        have = sum(t.num_rows for t in tables)
        if have < limit:
            _, batches = parquet_batches(path, batch_rows=min(limit, 65536), max_rows=limit - have,
                                         max_bytes=SAMPLE_MAX_BYTES, stop_at_budget=True, opened=opened)
            tables.append(_first_batches(batches, limit, schema))
    _check_schemas(schemas, files)  # every shard's footer, not only the shards the sample reached
    table = _concat(tables, files) if len(tables) > 1 else tables[0]
    return table.slice(0, limit), total, stats


def _check_schemas(schemas: list[pa.Schema], files: list[str]) -> None:
    if len(schemas) > 1:
        _concat([s.empty_table() for s in schemas], files)


def _concat(tables: list[pa.Table], files: list[str]) -> pa.Table:
    """Shards whose schemas drift: unified where compatible, otherwise one line naming two files and the column."""
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowException, TypeError, ValueError):
        pass
    first = tables[0].schema
    for table, path in zip(tables[1:], files[1:]):
        for field in table.schema:
            if field.name in first.names and first.field(field.name).type != field.type:
                try:
                    pa.unify_schemas([pa.schema([first.field(field.name)]), pa.schema([field])], promote_options="permissive")
                except (pa.ArrowException, TypeError, ValueError):
                    raise SourceError(
                        f"shards disagree on column '{field.name}': {first.field(field.name).type} in {files[0]}, "
                        f"{field.type} in {path}", "Cast that column to one type in every file.") from None
    raise SourceError(f"shards {files[0]} and others have schemas that cannot be unified",
                      "Cast the columns to one type in every file.")


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
        if complete and lows and all(isinstance(v, (int, float)) and math.isfinite(v) for v in (*lows, *highs)):
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
