"""JSON and JSON Lines files: records of the head of the file, the field holding them, and nested records."""

from __future__ import annotations

import json
import sys
from typing import Any

import pyarrow as pa

from lossadvisor.errors import SourceError
from lossadvisor.sources.base import TEXT_WINDOW_MAX_BYTES, _short
from lossadvisor.sources.text import _count_lines, _read_window


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
    if not complete and stripped[0] == "[":  # a JSON array larger than the window (json.dump(records, indent=2))
        records = _array_head(path, limit)
        return records, None, None, notes
    if not complete and stripped[0] == "{" and not _parses(stripped.split("\n", 1)[0]):
        return _document(path, limit, notes)  # one pretty-printed object, larger than the window
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


# A single JSON document ({"data": [...]}) is parsed whole: up to this size (JSON Lines and arrays are read by their head).
JSON_DOCUMENT_MAX_BYTES = 512 * 1024 * 1024
ARRAY_CHUNK_BYTES = 1 << 20


def _parses(line: str) -> bool:
    try:
        json.loads(line)
        return True
    except (ValueError, RecursionError):
        return False


def _array_head(path: str, limit: int) -> list[Any]:
    """The first `limit` elements of a JSON array, parsed as the file is read (never the whole file for a sample)."""
    import codecs

    decoder, text_decoder = json.JSONDecoder(), codecs.getincrementaldecoder("utf-8")()
    records: list[Any] = []
    buffer, position, done = "", 0, False
    with open(path, "rb") as handle:
        def more() -> bool:
            nonlocal buffer, position
            chunk = handle.read(ARRAY_CHUNK_BYTES)
            try:
                buffer = buffer[position:] + text_decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError:
                raise SourceError(f"{path}: not UTF-8 text") from None
            position = 0
            if len(buffer) > TEXT_WINDOW_MAX_BYTES:
                raise SourceError(f"{path}: a JSON array element longer than {TEXT_WINDOW_MAX_BYTES // 2**20} MiB",
                                  "Write it as JSON Lines or parquet.")
            return bool(chunk)

        more()
        buffer = buffer.lstrip().removeprefix("\ufeff").lstrip().removeprefix("[")
        while len(records) < limit and not done:
            while position < len(buffer) and buffer[position] in " \t\r\n,":
                position += 1
            if position >= len(buffer):
                if not more():
                    raise SourceError(f"{path}: not JSON (the array is not closed)")
                continue
            if buffer[position] == "]":
                break
            try:
                record, end = decoder.raw_decode(buffer, position)
            except RecursionError:
                raise _too_deep(path) from None
            except json.JSONDecodeError as exc:
                if more():
                    continue  # the element runs past what was read so far
                raise SourceError(f"{path}: not JSON or JSON Lines ({_short(exc)})") from None
            records.append(record)
            position = end
    if not records:
        raise SourceError(f"{path}: an empty JSON array")
    return records


def _document(path: str, limit: int, notes: list[tuple[str, str]]):
    import os

    size = os.path.getsize(path)
    if size > JSON_DOCUMENT_MAX_BYTES:
        raise SourceError(f"{path}: one JSON document of {size / 2**20:,.0f} MiB, more than lossadvisor parses whole",
                          "Write the records as JSON Lines (one object per line).")
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except RecursionError:
        raise _too_deep(path) from None
    except (ValueError, OSError) as exc:
        raise SourceError(f"{path}: not JSON or JSON Lines ({_short(exc)})") from None
    if isinstance(document, dict):
        lists = [k for k, v in document.items() if isinstance(v, list) and v and isinstance(v[0], dict)]
        if len(lists) == 1:
            key = lists[0]
            notes.append(("json-field", f"one JSON document: the records are under the field '{key}' (field=\"{key}\")"))
            return document[key][:limit], len(document[key]), key, notes
    raise SourceError(f"{path}: one JSON object, not a list of records", "Write the records as JSON Lines.")


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
