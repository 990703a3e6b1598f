"""Dictionary-encoded text columns (how parquet strings are read for a sample): sized and decoded from their buffers.

Both steps use numpy over the Arrow buffers, not pyarrow.compute: importing pyarrow.compute costs ~30 ms, half of
what `inspect` does on a big parquet file, and a 2,000-row sample needs none of its kernels. Anything unusual
(a value type other than strings or bytes, a batch too large for a loop in Python) goes to pyarrow.compute, which
gives the same values.
"""

from __future__ import annotations

import sys

import pyarrow as pa

# Up to this many rows, a batch is decoded in Python unless pyarrow.compute is loaded already (~0.5 µs a row,
# against its import of ~30 ms); larger batches (full reads) use its kernel.
PYTHON_DECODE_ROWS = 8192
INT32_MAX = 2**31 - 1


def _binary_like(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_binary(t) or pa.types.is_large_string(t) or pa.types.is_large_binary(t)


def _large(t: pa.DataType) -> bool:
    return pa.types.is_large_string(t) or pa.types.is_large_binary(t)


def _valid(array: pa.Array):
    """A numpy bool per item: not null."""
    import numpy as np

    if array.null_count == 0:
        return np.ones(len(array), dtype=bool)
    bits = np.unpackbits(np.frombuffer(array.buffers()[0], dtype=np.uint8), bitorder="little")
    return bits[array.offset:array.offset + len(array)].astype(bool)


def _entries(column: pa.DictionaryArray):
    """Per row: where its value starts in the dictionary's data buffer, its length in bytes (0 when null), valid.

    None for indices out of range (pyarrow.compute raises the error that names them)."""
    import numpy as np

    values, indices = column.dictionary, column.indices
    n = len(indices)
    if n == 0 or len(values) == 0:  # no entry to point at: every index is null
        return np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64 if _large(values.type) else np.int32)
    offsets = offsets[values.offset:values.offset + len(values) + 1].astype(np.int64)
    kind = "uint" if pa.types.is_unsigned_integer(indices.type) else "int"
    picks = np.frombuffer(indices.buffers()[1], dtype=f"{kind}{indices.type.bit_width}")
    valid = _valid(indices)
    picks = np.where(valid, picks[indices.offset:indices.offset + n], 0).astype(np.int64)  # a null index may hold garbage
    if picks.min() < 0 or picks.max() >= len(values):
        return None
    valid &= _valid(values)[picks]
    lengths = np.where(valid, np.diff(offsets)[picks], 0)
    return offsets[:-1][picks], lengths, valid


def value_bytes(column: pa.DictionaryArray):
    """Per row (numpy int64), the bytes of the value it decodes to: 0 for a null index or a null entry."""
    entries = _entries(column) if _binary_like(column.dictionary.type) else None
    return _value_bytes_compute(column) if entries is None else entries[1]


def decode(column: pa.DictionaryArray, in_python: bool | None = None, target: pa.DataType | None = None) -> pa.Array:
    """The column's values, as `column.dictionary_decode()` gives them; `in_python` None: whichever is faster here.

    `target`: the type the caller casts the values to next; a large_string (large_binary) column, as polars writes,
    is read as a dictionary of strings, and the values come out in the large type directly (a cast needs
    pyarrow.compute). Any other target is left to the caller.
    """
    values = column.dictionary
    if in_python is None:
        in_python = "pyarrow.compute" not in sys.modules and len(column) <= PYTHON_DECODE_ROWS
    if not in_python or not _binary_like(values.type):
        return column.dictionary_decode()
    widened = {pa.string(): pa.large_string(), pa.binary(): pa.large_binary()}.get(values.type)
    out_type = target if target is not None and target == widened else values.type
    import numpy as np

    entries = _entries(column)
    if entries is None:
        return column.dictionary_decode()
    starts, lengths, valid = entries
    ends = np.cumsum(lengths)
    if ends.size and ends[-1] > INT32_MAX and not _large(out_type):
        return column.dictionary_decode()
    data = memoryview(values.buffers()[2]) if len(values) else memoryview(b"")
    joined = b"".join([data[start:start + length] for start, length in zip(starts.tolist(), lengths.tolist()) if length])
    offsets = np.zeros(len(column) + 1, dtype=np.int64 if _large(out_type) else np.int32)
    offsets[1:] = ends
    nulls = int(len(column) - valid.sum())
    validity = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
    return pa.Array.from_buffers(out_type, len(column), [validity, pa.py_buffer(offsets), pa.py_buffer(joined)],
                                 null_count=nulls)


def _value_bytes_compute(column: pa.DictionaryArray):
    import numpy as np
    import pyarrow.compute as pc

    def zeros(n: int) -> pa.Array:
        return pa.Array.from_buffers(pa.int64(), n, [None, pa.py_buffer(np.zeros(n, np.int64))])

    def values(array: pa.Array):
        array = pc.coalesce(array, zeros(len(array)))  # a null index or entry decodes to nothing
        return np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset:array.offset + len(array)]

    lengths = pc.coalesce(pc.binary_length(column.dictionary).cast(pa.int64()), zeros(len(column.dictionary)))
    return values(pc.take(lengths, column.indices))
