"""Open whatever a user points at: save_to_disk folders, local data files, globs, folders of files, hub ids.

Two ways in, sharing one reading plan:
- `open_sample` reads the schema and a bounded sample with pyarrow (no `datasets` import, no full scan), for
  `inspect`;
- `read_table` reads everything, for `convert` and `trial`.
"""

from __future__ import annotations

import csv
import glob as globlib
import io
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from lossadvisor.errors import SourceError

SAMPLE_ROWS = 2000
# Text files are sniffed from their head; whole-file facts (merged rows, ragged lines) come from this window.
TEXT_WINDOW_BYTES = 4 * 1024 * 1024
# ...grown (up to TEXT_WINDOW_MAX_BYTES) while it holds fewer lines than this: a few huge cells do not hide the rows.
WINDOW_MIN_LINES = 50
TEXT_WINDOW_MAX_BYTES = 64 * 1024 * 1024
DATA_SUFFIXES = {".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson", ".parquet", ".arrow"}
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class TextDialect:
    delimiter: str
    quoting: bool
    header: bool
    column_names: tuple[str, ...]
    encoding: str = "utf-8"


@dataclass(frozen=True)
class Sample:
    """A bounded view of a dataset: what inference works on."""

    spec: str
    kind: str  # parquet | arrow | save_to_disk | csv | json | hub
    table: pa.Table
    num_rows: int | None
    files: tuple[str, ...]
    split: str | None = None
    splits: tuple[str, ...] = ()
    class_names: dict[str, list[str]] = field(default_factory=dict)
    dialect: TextDialect | None = None
    json_field: str | None = None
    flattened: tuple[str, ...] = ()
    reading_notes: tuple[tuple[str, str], ...] = ()  # (code, message) noticed while reading
    column_stats: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def exhaustive(self) -> bool:
        """True when the sample is the whole dataset."""
        return self.num_rows is not None and self.num_rows == self.table.num_rows


def _class_names_from_schema(schema: pa.Schema) -> dict[str, list[str]]:
    """ClassLabel names that `datasets` keeps in the Arrow schema metadata."""
    metadata = schema.metadata or {}
    raw = metadata.get(b"huggingface")
    if not raw:
        return {}
    try:
        features = json.loads(raw).get("info", {}).get("features", {})
    except (ValueError, AttributeError, RecursionError):
        return {}
    return _class_names(features)


def _class_names(features: Any) -> dict[str, list[str]]:
    """ClassLabel names from a `datasets` features dict; whatever is malformed in it is ignored."""
    if not isinstance(features, dict):
        return {}
    return {
        str(name): [str(n) for n in feature["names"]]
        for name, feature in features.items()
        if isinstance(feature, dict) and feature.get("_type") == "ClassLabel" and isinstance(feature.get("names"), list)
        and feature["names"]
    }


def _first_batches(batches, limit: int, schema: pa.Schema) -> pa.Table:
    collected, count = [], 0
    for batch in batches:
        collected.append(batch)
        count += batch.num_rows
        if count >= limit:
            break
    table = pa.Table.from_batches(collected, schema=schema) if collected else schema.empty_table()
    return table.slice(0, limit)


# --- parquet and arrow -------------------------------------------------------------------------------


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


# --- text files -----------------------------------------------------------------------------------------


def _read_window(path: str) -> tuple[str, bool]:
    """The head of a text file, in whole lines: TEXT_WINDOW_BYTES, or more when a few long lines fill that."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(TEXT_WINDOW_BYTES + 1)
            # Multi-megabyte cells: keep reading until the window holds a header and some rows.
            while len(raw) > TEXT_WINDOW_BYTES and raw.count(b"\n") < WINDOW_MIN_LINES and len(raw) <= TEXT_WINDOW_MAX_BYTES:
                more = handle.read(TEXT_WINDOW_BYTES)
                if not more:
                    break
                raw += more
    except OSError as exc:
        raise SourceError(f"{path}: cannot read it ({exc.strerror or _short(exc)})") from None
    complete = len(raw) <= TEXT_WINDOW_BYTES or not _more_after(path, len(raw))
    if not complete:
        cut = raw.rfind(b"\n") + 1
        if cut == 0:
            raise SourceError(f"{path}: the first line is longer than {len(raw) // 2**20} MiB, more than lossadvisor reads to sample it",
                              "Write it as JSON Lines or parquet, or load it with datasets and save_to_disk.")
        raw = raw[:cut]  # only whole lines
    if b"\x00" in raw[:8192]:
        raise SourceError(f"{path}: binary data, not a text file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{path}: not UTF-8 text (bad byte at offset {exc.start})",
            f"Re-encode it, e.g. `iconv -f latin1 -t utf-8 {path} > fixed.csv`.",
        ) from None
    return text.removeprefix("\ufeff"), complete


def _more_after(path: str, offset: int) -> bool:
    try:
        return os.path.getsize(path) > offset
    except OSError:
        return True


def _looks_numeric(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def _sniff_delimiter(lines: list[str], suffix: str) -> str:
    if suffix == ".tsv":
        return "\t"
    counts = {d: [line.count(d) for line in lines[:50]] for d in ("\t", ",", ";", "|")}

    def consistency(values: list[int]) -> tuple[int, int]:
        if not values or max(values) == 0:
            return (0, 0)
        mode = max(set(values), key=values.count)
        return (values.count(mode) if mode else 0, mode)

    best = max(counts, key=lambda d: consistency(counts[d]))
    if consistency(counts[best])[1] == 0:
        return "," if suffix == ".csv" else "\t"
    return best


def _parse_rows(text: str, delimiter: str, quoting: bool) -> list[list[str]]:
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=delimiter,
        quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE,
        strict=False,
    )
    csv.field_size_limit(1 << 30)
    try:
        return [row for row in reader if row != []]
    except csv.Error as exc:
        raise SourceError(f"cannot parse delimited text: {exc}") from None


def _has_header(rows: list[list[str]]) -> bool:
    """A header row names columns: short, distinct, non-numeric cells over columns whose values differ."""
    if len(rows) < 2:
        return True
    first = rows[0]
    if any(_looks_numeric(cell) or not cell.strip() or len(cell) > 64 for cell in first):
        return False
    body = rows[1:200]
    for index, cell in enumerate(first):
        values = [row[index] for row in body if index < len(row)]
        if values and all(_looks_numeric(v) for v in values):
            return True  # a name over a numeric column (even when names repeat: text,text,label)
        if values and cell in values:
            return False  # the "header" is an ordinary value of its column
    if len(set(first)) != len(first):
        return False
    average_first = sum(map(len, first)) / len(first)
    average_body = sum(len(c) for row in body for c in row) / max(1, sum(len(row) for row in body))
    return average_first < average_body


def _choose_dialect(path: str, text: str, complete: bool) -> tuple[TextDialect, list[list[str]], list[tuple[str, str]]]:
    notes: list[tuple[str, str]] = []
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise SourceError(f"{path}: empty file")
    suffix = Path(path).suffix.lower()
    delimiter = _sniff_delimiter(lines, suffix)
    name = {"\t": "TAB", ",": "comma", ";": "semicolon", "|": "pipe"}[delimiter]
    if suffix == ".csv" and delimiter != ",":
        notes.append(("misleading-extension", f"{Path(path).name} is {name}-separated despite its .csv extension"))
    if suffix == ".txt":
        notes.append(("misleading-extension", f"{Path(path).name} is {name}-separated text with a .txt extension"))
    if "\r\n" in text[:65536]:
        notes.append(("crlf", "CRLF (Windows) line endings"))

    quoted = _parse_rows(text, delimiter, quoting=True)
    literal = _parse_rows(text, delimiter, quoting=False)
    quoting = True
    if len(quoted) < len(literal) and '"' in text:
        # Quote characters inside fields swallowed line breaks: the file does not use CSV quoting.
        quoting = False
        notes.append((
            "literal-quotes",
            f"quote characters are literal text: CSV quoting would silently merge {len(literal) - len(quoted)} rows"
            f" ({len(quoted) - int(_has_header(literal))} rows instead of {len(literal) - int(_has_header(literal))}); read with quoting=csv.QUOTE_NONE (3)",
        ))
    else:
        widths_quoted = {len(r) for r in quoted}
        widths_literal = {len(r) for r in literal}
        if len(widths_quoted) > 1 and len(widths_literal) < len(widths_quoted):
            quoting = False
            notes.append(("literal-quotes", "quote characters are literal text; read with quoting=csv.QUOTE_NONE (3)"))
    rows = quoted if quoting else literal
    header = _has_header(rows)
    widths = [len(r) for r in rows]
    width = max(widths)
    body = rows[1:] if header else rows
    common = max(set(widths), key=widths.count)
    odd = sum(1 for r in body if len(r) != common)
    if odd:
        notes.append((
            "ragged-rows",
            f"{odd} of {len(body)} rows have a different number of fields than the usual {common}"
            f" (up to {width}); the extra fields become extra columns",
        ))
    if header:
        names = list(rows[0]) + [f"column_{i + 1}" for i in range(len(rows[0]), width)]
        names = _unique([n if n.strip() else f"column_{i + 1}" for i, n in enumerate(names)])
    else:
        names = [f"column_{i + 1}" for i in range(width)]
        notes.append(("no-header", "no header row: columns are named column_1..column_%d by position" % width))
    dialect = TextDialect(delimiter=delimiter, quoting=quoting, header=header, column_names=tuple(names))
    return dialect, body, notes


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name in seen:
            seen[name] += 1
            out.append(f"{name}_{seen[name]}")
        else:
            seen[name] = 0
            out.append(name)
    return out


def _rows_to_table(rows: list[list[str]], names: tuple[str, ...]) -> pa.Table:
    """Columns of strings, then each column cast to int or float where every value parses."""
    width = len(names)
    columns: list[list[str | None]] = [[] for _ in range(width)]
    for row in rows:
        for index in range(width):
            value = row[index] if index < len(row) else None
            columns[index].append(value if value != "" or index < len(row) else None)
    arrays = [_typed_column(values) for values in columns]
    return pa.table(dict(zip(names, arrays)))


_ZERO_PADDED = re.compile(r"^[+-]?0\d")


def _typed_column(values: list[str | None]) -> pa.Array:
    present = [v for v in values if v not in (None, "")]
    # Zero-padded numbers ('0001') are codes or ids: reading them as int would lose the padding.
    if present and not any(_ZERO_PADDED.match(v) for v in present):
        for kind in (int, float):
            try:
                parsed = [kind(v) if v not in (None, "") else None for v in values]
            except (ValueError, OverflowError):
                continue
            if kind is int and any(abs(v) >= 2**63 for v in parsed if v is not None):
                continue
            return _number_array(parsed, pa.int64() if kind is int else pa.float64())
    return _string_array([v if v != "" else None for v in values] if present else values)


# `pa.array(list)` imports pandas (~0.6 s) whenever pandas is installed, only to ask whether the list is a
# pandas object. The sample tables are built without it so that `inspect` on a CSV/JSON file starts fast.


def _string_array(values: list[str | None]) -> pa.Array:
    builder = pa.lib.StringBuilder()
    builder.append_values(values)
    return builder.finish()


def _number_array(values: list[int | float | None], type: pa.DataType) -> pa.Array:
    import array

    data = array.array("q" if pa.types.is_integer(type) else "d", [0 if v is None else v for v in values])
    validity = None
    if any(v is None for v in values):
        bits = bytearray((len(values) + 7) // 8)
        for index, value in enumerate(values):
            if value is not None:
                bits[index >> 3] |= 1 << (index & 7)
        validity = pa.py_buffer(bytes(bits))
    return pa.Array.from_buffers(type, len(values), [validity, pa.py_buffer(data)])


def _count_lines(path: str) -> int:
    count = 0
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 24):
                count += chunk.count(b"\n")
    except OSError as exc:
        raise SourceError(f"{path}: cannot read it ({exc.strerror or _short(exc)})") from None
    return count


def _text_sample(files: list[str], limit: int):
    path = files[0]
    text, complete = _read_window(path)
    dialect, rows, notes = _choose_dialect(path, text, complete)
    table = _rows_to_table(rows[:limit], dialect.column_names)
    if complete and len(files) == 1:
        total = len(rows)
    else:
        lines = sum(_count_lines(f) for f in files)
        total = lines - (len(files) if dialect.header else 0)
    return table, total, dialect, notes


# --- JSON -------------------------------------------------------------------------------------------------


def _json_records(path: str, limit: int) -> tuple[list[Any], int | None, str | None, list[tuple[str, str]]]:
    text, complete = _read_window(path)
    stripped = text.lstrip()
    if not stripped:
        raise SourceError(f"{path}: empty file")
    notes: list[tuple[str, str]] = []
    if stripped[0] in "[{" and complete:
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            document = None
        except RecursionError:
            raise _too_deep(path) from None
        if isinstance(document, list):
            return document[:limit], len(document), None, notes
        if isinstance(document, dict):
            lists = [k for k, v in document.items() if isinstance(v, list) and v and isinstance(v[0], dict)]
            if len(lists) == 1:
                key = lists[0]
                notes.append(("json-field", f"one JSON document: the records are under the field '{key}' (field=\"{key}\")"))
                return document[key][:limit], len(document[key]), key, notes
    records, bad = [], 0
    lines = text.splitlines()
    first_bad = None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except RecursionError:
            raise _too_deep(path) from None
        except json.JSONDecodeError:
            bad += 1
            first_bad = first_bad or number
            continue
        if len(records) < limit:
            records.append(record)
    if bad and not records:
        raise SourceError(f"{path}: not JSON or JSON Lines (line {first_bad} does not parse)")
    if bad:
        raise SourceError(f"{path}: line {first_bad} is not valid JSON ({bad} bad lines)", "Fix or drop those lines.")
    if records and not all(isinstance(r, dict) for r in records):
        raise SourceError(f"{path}: JSON values are not objects (found {type(records[0]).__name__})")
    total = len([line for line in lines if line.strip()]) if complete else _count_lines(path)
    return records, total, None, notes


def _too_deep(path: str) -> SourceError:
    return SourceError(f"{path}: JSON nested too deeply to read (more than {sys.getrecursionlimit()} levels)",
                       "Flatten the records to one object per row.")


def _checked(table: pa.Table) -> pa.Table:
    """pyarrow's JSON reader (26.0) can return a list<string> column whose values lost a null item, e.g. from
    [null, ""]; reading it then fails deep in pyarrow. Full validation turns that into an ArrowInvalid here,
    and the callers read the records another way."""
    table.validate(full=True)
    return table


def _records_to_table(records: list[Any], path: str) -> pa.Table:
    if not records:
        raise SourceError(f"{path}: no records")
    if not all(isinstance(r, dict) for r in records):
        raise SourceError(f"{path}: JSON records are not objects")
    import pyarrow.json as pj

    # pyarrow's JSON reader infers one schema over all records (keys missing from the first record included)
    # and, unlike Table.from_pylist, does not import pandas.
    try:
        data = "\n".join(json.dumps(r, ensure_ascii=False) for r in records).encode("utf-8", "surrogatepass")
        return _checked(pj.read_json(pa.BufferReader(data), read_options=pj.ReadOptions(block_size=min(len(data) + 1, 2**31 - 1))))
    except (pa.ArrowException, TypeError, ValueError, OverflowError, RecursionError):
        pass
    try:
        return pa.Table.from_pylist(records)
    except RecursionError:
        raise _too_deep(path) from None
    except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
        raise SourceError(f"{path}: records with inconsistent types ({_short(exc)})") from None


def flatten_nested(table: pa.Table) -> tuple[pa.Table, tuple[str, ...]]:
    """Explode lists of records one level at a time (data → paragraphs → qas), keeping parent fields.

    Stops when no column is a list of structs, or when more than one is (no single way down).
    """
    path: list[str] = []
    for _ in range(8):
        nested = [
            f.name for f in table.schema
            if pa.types.is_list(f.type) or pa.types.is_large_list(f.type)
            if pa.types.is_struct(f.type.value_type)
        ]
        if len(nested) != 1 or table.num_rows == 0:
            break
        name = nested[0]
        text_columns = sum(1 for f in table.schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
        if text_columns >= 2 and not _holds_records(table.schema.field(name).type.value_type):
            break  # the rows already pair texts; what is left nested (e.g. SQuAD answers) is a leaf
        import pyarrow.compute as pc  # here, not at the top: most data has nothing to flatten

        column = table.column(name).combine_chunks()
        parents = pc.list_parent_indices(column)
        children = pc.list_flatten(column)
        rest = table.drop_columns([name]).take(parents)
        struct_type = children.type
        for index in range(struct_type.num_fields):
            child_field = struct_type.field(index)
            child_name = child_field.name if child_field.name not in rest.column_names else f"{name}.{child_field.name}"
            rest = rest.append_column(child_name, pc.struct_field(children, index))
        table = rest
        path.append(name)
    return table, tuple(path)


def _holds_records(struct_type: pa.StructType) -> bool:
    return any(
        (pa.types.is_list(f.type) or pa.types.is_large_list(f.type)) and pa.types.is_struct(f.type.value_type)
        for f in struct_type
    )


# --- entry points ---------------------------------------------------------------------------------------


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def resolve_files(spec: str) -> tuple[str, list[str]]:
    """(kind, files) for a local spec, or ('hub', []) for a hub id; SourceError when nothing is there."""
    path = Path(spec).expanduser()
    if any(ch in spec for ch in "*?["):
        files = sorted(f for f in globlib.glob(spec, recursive=True) if os.path.isfile(f))
        if not files:
            raise SourceError(f"no files match '{spec}'")
        return _kind_of(files, spec), files
    if path.is_dir():
        if (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
            return "save_to_disk", [str(path)]
        files = sorted(
            str(p) for p in path.rglob("*") if p.is_file() and p.suffix.lower() in DATA_SUFFIXES
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
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
        elif suffix in (".csv", ".tsv", ".txt"):
            kinds.add("csv")
        else:
            raise SourceError(f"{f}: unknown file type '{suffix or '(none)'}'", "Use csv, tsv, txt, json, jsonl, parquet or arrow.")
    if len(kinds) > 1:
        raise SourceError(f"{spec}: mixes file types ({', '.join(sorted(kinds))}); point at one type")
    return kinds.pop()


def open_sample(spec: str, split: str | None = None, subset: str | None = None, limit: int = SAMPLE_ROWS) -> Sample:
    kind, files = resolve_files(spec)
    if kind == "hub":
        return _hub_sample(spec, split, subset, limit)
    if subset is not None:
        raise SourceError("--subset applies to hub datasets only")
    if kind == "save_to_disk":
        folder, chosen, splits = _save_to_disk_split(Path(files[0]), split)
        data_files = _save_to_disk_files(folder)
        table, total, schema = _arrow_sample(data_files, limit)
        class_names = _class_names_from_schema(schema) or _class_names_from_info(folder)
        return Sample(spec, kind, table, total, tuple(data_files), chosen, splits, class_names)
    if split not in (None, "train"):
        raise SourceError(f"{spec}: local files have one split, 'train' (got --split {split})")
    if kind == "parquet":
        table, total, stats = _parquet_sample(files, limit)
        return _finish(Sample(spec, kind, table, total, tuple(files), "train", ("train",),
                              _class_names_from_schema(table.schema), column_stats=stats))
    if kind == "arrow":
        table, total, schema = _arrow_sample(files, limit)
        return _finish(Sample(spec, kind, table, total, tuple(files), "train", ("train",), _class_names_from_schema(schema)))
    if kind == "json":
        records, total, json_field, notes = _json_records(files[0], limit)
        if len(files) > 1:
            total = None
        table = _records_to_table(records, files[0])
        return _finish(Sample(spec, kind, table, total, tuple(files), "train", ("train",), json_field=json_field,
                              reading_notes=tuple(notes)))
    table, total, dialect, notes = _text_sample(files, limit)
    return _finish(Sample(spec, kind, table, total, tuple(files), "train", ("train",), dialect=dialect,
                          reading_notes=tuple(notes)))


def _finish(sample: Sample) -> Sample:
    table, path = flatten_nested(sample.table)
    if not path:
        return sample
    note = ("nested-records", f"nested records flattened: {' → '.join(path)} (one row per innermost record)")
    return Sample(
        sample.spec, sample.kind, table, table.num_rows if sample.exhaustive else None, sample.files, sample.split,
        sample.splits, sample.class_names, sample.dialect, sample.json_field, path, sample.reading_notes + (note,),
        sample.column_stats,
    )


def _class_names_from_info(folder: Path) -> dict[str, list[str]]:
    try:
        info = json.loads((folder / "dataset_info.json").read_text())
    except (OSError, ValueError, RecursionError):
        return {}
    return _class_names(info.get("features", {}) if isinstance(info, dict) else {})


def _offline() -> bool:
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def _hub_sample(spec: str, split: str | None, subset: str | None, limit: int) -> Sample:
    if _offline():
        raise SourceError(
            f"'{spec}' is not a local path and the Hugging Face Hub is offline (HF_HUB_OFFLINE is set)",
            "Point at a local file or save_to_disk folder, or unset HF_HUB_OFFLINE.",
        )
    import itertools
    import socket

    try:  # fail in seconds, not after the hub client's minute of retries
        socket.create_connection(("huggingface.co", 443), timeout=3).close()
    except OSError:
        raise SourceError(
            f"'{spec}' is not a local path, and the Hugging Face Hub cannot be reached (offline?)",
            "Point at a local file or save_to_disk folder, or check your network.",
        ) from None

    try:
        import datasets

        stream = datasets.load_dataset(spec, subset, split=split or "train", streaming=True)
        records = list(itertools.islice(iter(stream), limit))
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # the hub client raises many types; all mean "could not open it"
        raise SourceError(f"cannot open hub dataset '{spec}': {_short(exc)}",
                          "Check the id and your network, or point at a local copy.") from None
    table = _records_to_table(records, spec)
    return _finish(Sample(spec, "hub", table, None, (), split or "train", (split or "train",)))


def read_table(sample: Sample) -> pa.Table:
    """The whole dataset, read the way the sample was (same dialect, field, flattening)."""
    kind, files = sample.kind, list(sample.files)
    if sample.exhaustive and not sample.flattened:
        return sample.table
    if kind == "hub":
        raise SourceError("hub datasets are read through a local copy: use datasets.load_dataset(...).save_to_disk(PATH)")
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            table = pa.concat_tables([pq.read_table(f) for f in files], promote_options="permissive")
        elif kind in ("arrow", "save_to_disk"):
            table = pa.concat_tables([_arrow_reader(f).read_all() for f in files], promote_options="permissive")
        elif kind == "json":
            table = pa.concat_tables([_read_json_all(f, sample.json_field) for f in files], promote_options="permissive")
        else:
            assert sample.dialect is not None
            table = pa.concat_tables([_read_text_all(f, sample.dialect) for f in files], promote_options="permissive")
    except (pa.ArrowException, OSError) as exc:
        raise SourceError(f"{sample.spec}: cannot read the whole dataset ({_short(exc)})") from None
    if sample.flattened:
        table, _ = flatten_nested(table)
    return table


def _read_json_all(path: str, json_field: str | None) -> pa.Table:
    try:
        return _read_json_whole(path, json_field)
    except RecursionError:
        raise _too_deep(path) from None
    except (ValueError, KeyError, TypeError) as exc:  # the sample parsed; the rest of the file does not
        raise SourceError(f"{path}: cannot read the whole file as JSON ({_short(exc)})") from None


def _read_json_whole(path: str, json_field: str | None) -> pa.Table:
    if json_field is not None:
        with open(path, encoding="utf-8") as handle:
            return _records_to_table(json.load(handle)[json_field], path)
    import pyarrow.json as pj

    try:
        return _checked(pj.read_json(path))
    except pa.ArrowException:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        stripped = text.lstrip()
        if stripped.startswith("["):
            return _records_to_table(json.loads(text), path)
        return _records_to_table([json.loads(line) for line in text.splitlines() if line.strip()], path)


def _read_text_all(path: str, dialect: TextDialect) -> pa.Table:
    import pyarrow.csv as pcsv

    try:
        return pcsv.read_csv(
            path,
            read_options=pcsv.ReadOptions(
                column_names=list(dialect.column_names), skip_rows=1 if dialect.header else 0, block_size=1 << 24
            ),
            parse_options=pcsv.ParseOptions(delimiter=dialect.delimiter, quote_char='"' if dialect.quoting else False,
                                            newlines_in_values=dialect.quoting),
            convert_options=pcsv.ConvertOptions(strings_can_be_null=False),
        )
    except pa.ArrowInvalid:
        # Ragged rows: pyarrow refuses them; the csv module pads them.
        with open(path, encoding="utf-8", newline="") as handle:
            text = handle.read().removeprefix("\ufeff")
        rows = _parse_rows(text, dialect.delimiter, dialect.quoting)
        return _rows_to_table(rows[1:] if dialect.header else rows, dialect.column_names)
