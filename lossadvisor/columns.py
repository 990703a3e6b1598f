"""One column of a sample: its kind, its statistics, and `Why` it has its role (the reason as data).

profile.py decides the roles over all columns; this module describes each column on its own.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import pyarrow as pa

QUESTION_START = re.compile(r"^(what|who|whom|whose|when|where|why|which|how|is|are|do|does|did|can|could|was|were)\b", re.I)
ID_VALUE = re.compile(r"^[A-Za-z]{0,4}[-_]?\d+([-_.]\d+)*$")


class Why(str, Enum):
    """Why a column has its role: the structured fact behind `ColumnProfile.reason` (which is prose for people)."""

    __str__ = str.__str__
    __format__ = str.__format__

    TEXT = "text"
    TEXT_LIST = "text-list"
    CHOSEN_INPUT = "chosen-input"
    NOT_CHOSEN = "not-chosen"
    LABEL_NAMED = "label-named"
    LABEL_OTHER_NAME = "label-other-name"
    LABEL_ONLY_NUMBER = "label-only-number"
    LABEL_CHOSEN = "label-chosen"
    LABEL_PART = "label-part"
    RESERVED = "reserved"
    PARSE_TREE = "parse-tree"
    METADATA = "metadata"
    ID = "id"
    PANDAS_INDEX = "pandas-index"
    SPLIT_MARKER = "split-marker"
    MOSTLY_NULL = "mostly-null"
    SHORT_CODES = "short-codes"
    CODE_LIST = "code-list"
    NESTED = "nested"
    SECOND_LABEL = "second-label"
    SECOND_LIST = "second-list"
    UNALIGNED_LIST = "unaligned-list"
    UNSUPPORTED = "unsupported"

    @property
    def role(self) -> str:
        if self in (Why.TEXT, Why.TEXT_LIST, Why.CHOSEN_INPUT):
            return "input"
        if self.value.startswith("label"):
            return "label"
        return "ignored"


REASONS = {
    Why.TEXT: "text",
    Why.TEXT_LIST: "list of texts",
    Why.CHOSEN_INPUT: "chosen with --inputs",
    Why.NOT_CHOSEN: "not in --inputs",
    Why.LABEL_NAMED: "named as sentence-transformers expects",
    Why.LABEL_OTHER_NAME: "label under another name",
    Why.LABEL_ONLY_NUMBER: "the only numeric column: read as the label",
    Why.LABEL_CHOSEN: "chosen with --label",
    Why.LABEL_PART: "teacher scores, one column per text (or list of texts) after the first",
    Why.RESERVED: "reserved column name (CrossEncoderTrainer uses it)",
    Why.PARSE_TREE: "parse trees, not text to score",
    Why.METADATA: "metadata by its name",
    Why.ID: "id column",
    Why.PANDAS_INDEX: "pandas index written with the data (to drop)",
    Why.SPLIT_MARKER: "split marker (train/test) stored as a column",
    Why.MOSTLY_NULL: "mostly null",
    Why.SHORT_CODES: "short codes or categories, not text",
    Why.CODE_LIST: "list of short codes (e.g. annotator votes)",
    Why.NESTED: "nested record (not a label: sentence-transformers cannot use it)",
    Why.SECOND_LABEL: "second label-like column",
    Why.SECOND_LIST: "second list of numbers",
    Why.UNALIGNED_LIST: "list of texts not aligned with the label list (metadata)",
}


@dataclass(frozen=True)
class ColumnProfile:
    name: str
    dtype: str
    kind: str  # text | text-list | number | number-list | text-list-short | struct | other
    role: str = "ignored"  # input | label | ignored
    reason: str = ""
    label_kind: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    why: Why | None = None  # the role's reason as data; None until roles are assigned


# --- per-column facts ---------------------------------------------------------------------------------


def _is_string(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def _is_number(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_decimal(t)


def _dtype_name(t: pa.DataType) -> str:
    text = str(t)
    return text.replace("large_string", "string").replace("item: ", "").replace("element: ", "")


def _flatten(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """The items of a list column, as `flatten()` gives them, without pyarrow.compute (`flatten()` imports it: ~30 ms)."""
    return pa.chunked_array([_items(chunk) for chunk in column.chunks], type=column.type.value_type)


def _bounds(chunk: pa.Array):
    """Per list of the chunk: where its items start and end in `chunk.values`, and whether it is not null (numpy)."""
    import numpy as np

    n = len(chunk)
    if pa.types.is_fixed_size_list(chunk.type):
        starts = (chunk.offset + np.arange(n, dtype=np.int64)) * chunk.type.list_size
        ends = starts + chunk.type.list_size
    else:
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64 if pa.types.is_large_list(chunk.type) else np.int32)
        offsets = offsets[chunk.offset:chunk.offset + n + 1].astype(np.int64)
        starts, ends = offsets[:-1], offsets[1:]
    if chunk.null_count:
        bits = np.unpackbits(np.frombuffer(chunk.buffers()[0], dtype=np.uint8), bitorder="little")
        valid = bits[chunk.offset:chunk.offset + n].astype(bool)
    else:
        valid = np.ones(n, dtype=bool)
    return starts, ends, valid


def _items(chunk: pa.Array) -> pa.Array:
    """The items of the lists that are not null, in order: slices of `chunk.values` (a null list's items are left out)."""
    starts, ends, valid = _bounds(chunk)
    ranges: list[list[int]] = []
    for start, end in zip(starts[valid].tolist(), ends[valid].tolist()):
        if ranges and ranges[-1][1] == start:
            ranges[-1][1] = end
        elif end > start:
            ranges.append([start, end])
    values = chunk.values
    if not ranges:
        return values.slice(0, 0)
    pieces = [values.slice(start, end - start) for start, end in ranges]
    return pieces[0] if len(pieces) == 1 else pa.concat_arrays(pieces)


def _list_lengths(chunk: pa.Array) -> list[int]:
    """The length of each list that is not null (`value_lengths()` imports pyarrow.compute)."""
    starts, ends, valid = _bounds(chunk)
    return (ends - starts)[valid].tolist()


def _text_stats(column: pa.ChunkedArray) -> dict[str, Any]:
    values = column.to_pylist()
    present = [v for v in values if v is not None]
    non_empty = [v for v in present if v and not v.isspace()]  # what strips to something: no new string per value
    head = non_empty[:500]
    words = [len(v.split()) for v in head]
    stripped = [v.strip() for v in head]
    unique = set(non_empty)
    sampled = max(1, len(head))
    return {
        "nulls": len(values) - len(present),
        "empty": len(present) - len(non_empty),
        "distinct": len(unique),
        "mean_chars": sum(map(len, non_empty)) / len(non_empty) if non_empty else 0.0,
        "mean_words": sum(words) / len(words) if words else 0.0,
        # float() and ID_VALUE refuse whitespace inside a value: only one-word values are tried (no exception per text)
        "numeric": sum(1 for v, n in zip(head, words) if n == 1 and _is_float(v)) / sampled,
        "id_like": sum(1 for v, n in zip(stripped, words) if n == 1 and ID_VALUE.match(v)) / sampled,
        "parse_tree": sum(1 for v in non_empty[:200] if v.lstrip().startswith("(") and v.count("(") > 3)
        / max(1, min(200, len(non_empty))),
        "questions": sum(1 for v in stripped if v.endswith("?") or QUESTION_START.match(v)) / sampled,
        "top": Counter(non_empty).most_common(12) if len(unique) <= 50 else [],
        "rows": len(values),
    }


def _is_float(value: str) -> bool:
    try:
        float(value)
        return True
    except ValueError:
        return False


def _number_stats(column: pa.ChunkedArray, whole: dict[str, Any] | None) -> dict[str, Any]:
    raw = column.to_pylist()
    if pa.types.is_boolean(column.type):
        raw = [None if v is None else int(v) for v in raw]
    exact = pa.types.is_integer(column.type) or pa.types.is_boolean(column.type)  # no NaN or inf; every value integral
    if exact:
        values, nan, infinite = [v for v in raw if v is not None], 0, 0
    else:
        values = [v for v in raw if v is not None and not (isinstance(v, float) and not math.isfinite(v))]
        nan = sum(1 for v in raw if isinstance(v, float) and math.isnan(v))
        infinite = sum(1 for v in raw if isinstance(v, float) and math.isinf(v))  # its own warning: not a score to scale by
    distinct = sorted(set(values))
    stats: dict[str, Any] = {
        "nulls": column.null_count,
        "nan": nan,
        "inf": infinite,
        "min": min(values) if values else None,
        "max": max(values) if values else None,
        "distinct": len(distinct),
        "values": distinct[:20] if len(distinct) <= 20 else None,
        "integral": bool(values) and (exact or all(float(v).is_integer() for v in values)),
        "counts": {str(k): v for k, v in Counter(values).most_common(20)} if len(distinct) <= 20 else {},
        "rows": len(column),
        "unique_per_row": len(distinct) > 20 and len(distinct) >= 0.9 * len(values),
    }
    if whole:  # footer statistics cover every row, not only the sample
        stats["min"], stats["max"] = whole.get("min", stats["min"]), whole.get("max", stats["max"])
        stats["whole_column"] = True
    return stats


def _list_stats(column: pa.ChunkedArray) -> dict[str, Any]:
    lengths = [v for chunk in column.chunks for v in _list_lengths(chunk)]
    return {
        "nulls": column.null_count,
        "min_len": min(lengths) if lengths else 0,
        "max_len": max(lengths) if lengths else 0,
        "lengths": lengths,
    }


def _describe(name: str, column: pa.ChunkedArray, whole: dict[str, Any] | None) -> ColumnProfile:
    t = column.type
    if pa.types.is_null(t):
        return ColumnProfile(name, "null", "other", stats={"nulls": len(column)})
    if _is_string(t):
        return ColumnProfile(name, _dtype_name(t), "text", stats=_text_stats(column))
    if pa.types.is_dictionary(t):
        return _describe(name, column.cast(t.value_type), whole)
    if _is_number(t):
        return ColumnProfile(name, _dtype_name(t), "number", stats=_number_stats(column, whole))
    if _is_list(t):
        inner = t.value_type
        stats = _list_stats(column)
        flat = _flatten(column)
        if _is_string(inner):
            items = _text_stats(flat)
            stats.update({"item_" + k: v for k, v in items.items() if k in ("mean_words", "distinct", "top", "nulls")})
            short = items["mean_words"] < 2.5 and items["distinct"] <= 20
            return ColumnProfile(name, _dtype_name(t), "text-list-short" if short else "text-list", stats=stats)
        if _is_number(inner):
            stats.update({"item_" + k: v for k, v in _number_stats(flat, None).items() if k != "counts"})
            return ColumnProfile(name, _dtype_name(t), "number-list", stats=stats)
        return ColumnProfile(name, _dtype_name(t), "struct" if pa.types.is_struct(inner) else "other", stats=stats)
    if pa.types.is_struct(t):
        return ColumnProfile(name, _dtype_name(t), "struct")
    return ColumnProfile(name, _dtype_name(t), "other")
