"""One typing rule for text cells, and the sample's schema applied to the full read.

A column of a delimited file is int64 when every non-empty cell is a plain integer (`-12`, not `+12`, `0012` or
`1_000`), float64 when every one is a plain decimal number (`1.5`, `.5`, `1e-3`, `nan`, `inf`), text otherwise; an
empty cell is null. Zero-padded numbers ('0001') are codes or ids, so they stay text. The patterns accept only
what pyarrow's own string-to-number cast parses the same way, so the sample (typed here, in Python, with no
numpy or pandas import) and the full read (read as strings, then `conform`ed with pyarrow) agree cell by cell.
"""

from __future__ import annotations

import re

import pyarrow as pa

from lossadvisor.errors import SourceError

INTEGER = re.compile(r"-?(0|[1-9][0-9]*)", re.ASCII)
DECIMAL = re.compile(r"[+-]?(([1-9][0-9]*|0)(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?(nan|inf)", re.ASCII | re.IGNORECASE)
INT64_MAX = 2**63 - 1


def rows_to_strings(rows: list[list[str]], names: tuple[str, ...]) -> list[list[str | None]]:
    """The cells column by column; an empty or missing cell is None."""
    columns: list[list[str | None]] = [[] for _ in names]
    for row in rows:
        for index, column in enumerate(columns):
            value = row[index] if index < len(row) else None
            column.append(value if value else None)
    return columns


def infer_type(values: list[str | None]) -> pa.DataType:
    present = [v for v in values if v is not None]
    if not present:
        return pa.string()
    if all(INTEGER.fullmatch(v) for v in present) and all(-INT64_MAX - 1 <= int(v) <= INT64_MAX for v in present):
        return pa.int64()
    if all(DECIMAL.fullmatch(v) for v in present):
        return pa.float64()
    return pa.string()


def rows_to_table(rows: list[list[str]], names: tuple[str, ...]) -> pa.Table:
    """Rows of strings as a typed table (the sample's reader)."""
    arrays = []
    for values in rows_to_strings(rows, names):
        kind = infer_type(values)
        if pa.types.is_int64(kind):
            arrays.append(_number_array([None if v is None else int(v) for v in values], kind))
        elif pa.types.is_float64(kind):
            arrays.append(_number_array([None if v is None else float(v) for v in values], kind))
        else:
            arrays.append(string_array(values))
    return pa.table(dict(zip(names, arrays)))


# `pa.array(list)` imports pandas (~0.6 s) whenever pandas is installed, only to ask whether the list is a
# pandas object. The sample tables are built without it so that `inspect` on a CSV/JSON file starts fast.


def string_array(values: list[str | None]) -> pa.Array:
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


def _is_string(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def conform(table: pa.Table, schema: pa.Schema, where: str, empty_is_null: bool = False) -> pa.Table:
    """`table` (a full read) with exactly the columns and types of `schema` (its sample's).

    Columns the sample did not have are dropped and missing ones are null; a column the sample saw only as nulls
    stays null (the profile ignored it). A value that does not fit the sample's type is a SourceError naming the
    column: the sample was read from the head of the data, and the rest must read the same way.
    `empty_is_null`: text files, where an empty cell is null in the sample too.
    """
    import pyarrow.compute as pc

    arrays = []
    for target in schema:
        if target.name not in table.column_names:
            arrays.append(pa.nulls(table.num_rows, target.type))
            continue
        column = table.column(target.name)
        if empty_is_null and _is_string(column.type):
            column = pc.if_else(pc.equal(column, ""), pa.scalar(None, column.type), column)
        if pa.types.is_null(target.type):
            arrays.append(pa.nulls(table.num_rows, pa.null()))
        elif column.type == target.type:
            arrays.append(column)
        else:
            arrays.append(_cast(column, target, where))
    return pa.Table.from_arrays(arrays, schema=schema)


def _cast(column: pa.ChunkedArray, target: pa.Field, where: str) -> pa.ChunkedArray:
    import pyarrow.compute as pc

    try:
        return pc.cast(column, target.type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise SourceError(
            f"{where}: column '{target.name}' reads as {target.type} in the sampled rows but not in all of the data"
            f" ({str(exc).splitlines()[0][:160]})",
            "Make the column's values one type, or save the data as parquet / JSON Lines with the type you mean.",
        ) from None
