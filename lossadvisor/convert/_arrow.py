"""Small vectorised building blocks shared by the conversion methods (Arrow and numpy, no per-row Python)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lossadvisor.errors import FitError

LABEL = "label"


def flat(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """One contiguous array; dictionary columns (parquet categoricals) are decoded to their values."""
    if isinstance(column, pa.ChunkedArray):
        try:
            column = column.combine_chunks()
        except pa.ArrowInvalid:
            # More than 2 GiB of text in a 32-bit-offset string column: widen rather than fail.
            column = pc.cast(column, _large(column.type)).combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    return column


def _large(type_: pa.DataType) -> pa.DataType:
    if pa.types.is_string(type_):
        return pa.large_string()
    if pa.types.is_list(type_):
        return pa.large_list(type_.value_type)
    return type_


def is_text(type_: pa.DataType) -> bool:
    return pa.types.is_string(type_) or pa.types.is_large_string(type_)


def is_text_list(type_: pa.DataType) -> bool:
    return (pa.types.is_list(type_) or pa.types.is_large_list(type_)) and is_text(type_.value_type)


def to_numpy_bool(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(flat(pc.fill_null(mask, False)).to_numpy(zero_copy_only=False), dtype=bool)


def present_text(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """True where a text is there: not null, not empty, not only whitespace."""
    column = flat(column)
    if len(column) == 0:
        return np.zeros(0, dtype=bool)
    blank = pc.or_(pc.equal(pc.utf8_length(column), 0), pc.utf8_is_space(column))
    return to_numpy_bool(pc.and_(pc.is_valid(column), pc.invert(blank)))


def dense_ids(column: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Integer ids numbered by first appearance, and the distinct values in that order. Nulls get -1."""
    encoded = pc.dictionary_encode(flat(column))
    ids = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return ids, encoded.dictionary


def group_starts(counts: np.ndarray) -> np.ndarray:
    starts = np.zeros(len(counts), dtype=np.int64)
    if len(counts) > 1:
        np.cumsum(counts[:-1], out=starts[1:])
    return starts


def ranks_in_groups(lengths: np.ndarray) -> np.ndarray:
    """For groups of the given lengths laid end to end: 0, 1, ... within each group."""
    total = int(lengths.sum())
    return np.arange(total, dtype=np.int64) - np.repeat(group_starts(lengths), lengths)


def list_array(offsets: np.ndarray, values: pa.Array) -> pa.Array:
    """A list column from offsets; 64-bit offsets only when the values need them."""
    if offsets[-1] < 2**31 - 1:
        return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values)
    return pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), values)


def fixed_lists(values: pa.Array, width: int) -> pa.Array:
    """Consecutive runs of `width` values as one list per row."""
    rows = len(values) // width if width else 0
    return list_array(np.arange(rows + 1, dtype=np.int64) * width, values)


def interleave(columns: list[pa.Array]) -> pa.Array:
    """Row-major values of several equally long columns: r0c0, r0c1, ..., r1c0, ..."""
    rows, width = len(columns[0]), len(columns)
    stacked = pa.concat_arrays([flat(c) for c in columns]) if width > 1 else flat(columns[0])
    order = (np.arange(rows, dtype=np.int64)[:, None] + rows * np.arange(width, dtype=np.int64)[None, :]).ravel()
    return stacked.take(pa.array(order))


def label_position(table: pa.Table) -> int:
    names = table.column_names
    return names.index(LABEL) if LABEL in names else len(names) - 1


def need_columns(table: pa.Table, count: int, what: str) -> None:
    if table.num_columns < count:
        raise FitError(
            f"{what} needs at least {count} columns, found {table.num_columns} ({', '.join(table.column_names)})",
            "Select and order the columns first: text columns, then the label.",
        )


def need_text(table: pa.Table, positions: list[int], what: str) -> None:
    for position in positions:
        field = table.schema.field(position)
        type_ = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
        if not is_text(type_):
            raise FitError(
                f"{what} expects text in column '{field.name}', found {field.type}",
                "Put the text columns first, in order, and the label last.",
            )


def add_count(counts: dict[str, int], reason: str, amount: int | np.integer) -> None:
    amount = int(amount)
    if amount:
        counts[reason] = counts.get(reason, 0) + amount


def unique_name(name: str, taken: list[str]) -> str:
    candidate, suffix = name, 2
    while candidate in taken:
        candidate, suffix = f"{name}_{suffix}", suffix + 1
    return candidate
