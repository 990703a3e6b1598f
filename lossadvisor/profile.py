"""Columns → roles: which columns are text inputs, which is the label and of what kind, which are ignorable.

Works on a bounded sample (`sources.Sample`), using both names and content. The sentence-transformers rules
drive everything: columns named label/labels/score/scores are labels; every other column is an input, taken
by order. The profile records what the data *is*; advice.py decides what that means for the user.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from lossadvisor.errors import SourceError
from lossadvisor.sources import Sample

ST_LABEL_NAMES = ("label", "labels", "score", "scores")
RESERVED_NAMES = ("dataset_name", "return_loss")

LABEL_LIKE = re.compile(
    r"(^|[^a-z])(label|labels|score|scores|gold|target|class|category|relevance|relevant|is_relevant|rel|grade|gain|rating|judg(e)?ment|"
    r"similarity|sim|quality|is_duplicate|duplicate|paraphrase|entailment|y|margin|teacher)([^a-z]|$)",
    re.I,
)
GRADED_NAMES = re.compile(r"relevance|grade|gain|rating|judg", re.I)
ID_LIKE = re.compile(r"(^|[^a-z])(id|ids|qid|pid|did|idx|index|key|uuid|hash|guid|pair_?id|caption_?id)([^a-z]|$)|id$", re.I)
METADATA_NAMES = re.compile(
    r"title|parse|_original|source|dataset|genre|file|year|url|lang|split|set$|date|time|author|annotator|domain",
    re.I,
)
ANCHOR_NAMES = re.compile(r"^(query|question|anchor|premise|sentence_?1|sentence_?a|text_?1|q|search|prompt|input_?a|questions?)$", re.I)
POSITIVE_NAMES = re.compile(
    r"^(positive|pos|answer|passage|document|doc|docs|documents|context|sentence|hypothesis|sentence_?2|sentence_?b|"
    r"response|text_?2|doc_?text|input_?b|passages|candidates|positive_?passage)$",
    re.I,
)
NEGATIVE_NAMES = re.compile(r"^(hard_?)?neg(ative)?s?(_?\d+)?$|^hard_negative", re.I)
QUESTION_START = re.compile(r"^(what|who|whom|whose|when|where|why|which|how|is|are|do|does|did|can|could|was|were)\b", re.I)
ID_VALUE = re.compile(r"^[A-Za-z]{0,4}[-_]?\d+([-_.]\d+)*$")
SPLIT_VALUES = {"train", "test", "dev", "trial", "validation", "valid", "val"}
NLI_NAMES = {"entailment", "neutral", "contradiction"}


@dataclass(frozen=True)
class ColumnProfile:
    name: str
    dtype: str
    kind: str  # text | text-list | number | number-list | text-list-short | struct | other
    role: str = "ignored"  # input | label | ignored
    reason: str = ""
    label_kind: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Profile:
    sample: Sample
    columns: tuple[ColumnProfile, ...]
    inputs: tuple[str, ...]  # in the order sentence-transformers should see them
    label: str | None
    label_kind: str | None
    label_parts: tuple[str, ...] = ()  # several numeric columns that together form a list label
    classes: tuple[str, ...] = ()  # class names (for string labels or ClassLabel), in id order
    class_counts: dict[str, int] = field(default_factory=dict)
    drop_label_values: tuple[str, ...] = ()
    anchor_repeats: float = 1.0  # mean rows per distinct first input
    text_list: bool = False

    def column(self, name: str) -> ColumnProfile:
        return next(c for c in self.columns if c.name == name)


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
    """The items of a list column (no pyarrow.compute: importing it costs ~0.1 s of start-up)."""
    return pa.chunked_array([chunk.flatten() for chunk in column.chunks], type=column.type.value_type)


def _text_stats(column: pa.ChunkedArray) -> dict[str, Any]:
    values = column.to_pylist()
    present = [v for v in values if v is not None]
    non_empty = [v for v in present if v.strip()]
    lengths = [len(v) for v in non_empty]
    words = [len(v.split()) for v in non_empty[:500]]
    distinct = len(set(non_empty))
    counts = Counter(non_empty)
    return {
        "nulls": len(values) - len(present),
        "empty": len(present) - len(non_empty),
        "distinct": distinct,
        "mean_chars": sum(lengths) / len(lengths) if lengths else 0.0,
        "mean_words": sum(words) / len(words) if words else 0.0,
        "numeric": sum(1 for v in non_empty[:500] if _is_float(v)) / max(1, min(500, len(non_empty))),
        "id_like": sum(1 for v in non_empty[:500] if ID_VALUE.match(v.strip())) / max(1, min(500, len(non_empty))),
        "parse_tree": sum(1 for v in non_empty[:200] if v.lstrip().startswith("(") and v.count("(") > 3)
        / max(1, min(200, len(non_empty))),
        "questions": sum(1 for v in non_empty[:500] if v.rstrip().endswith("?") or QUESTION_START.match(v.strip()))
        / max(1, min(500, len(non_empty))),
        "top": counts.most_common(12) if distinct <= 50 else [],
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
    values = [v for v in raw if v is not None and not (isinstance(v, float) and math.isnan(v))]
    nan = sum(1 for v in raw if isinstance(v, float) and math.isnan(v))
    distinct = sorted(set(values))
    stats: dict[str, Any] = {
        "nulls": column.null_count,
        "nan": nan,
        "min": min(values) if values else None,
        "max": max(values) if values else None,
        "distinct": len(distinct),
        "values": distinct[:20] if len(distinct) <= 20 else None,
        "integral": all(float(v).is_integer() for v in values) if values else False,
        "counts": {str(k): v for k, v in Counter(values).most_common(20)} if len(distinct) <= 20 else {},
        "rows": len(column),
        "unique_per_row": len(distinct) > 20 and len(distinct) >= 0.9 * len(values),
    }
    if whole:  # footer statistics cover every row, not only the sample
        stats["min"], stats["max"] = whole.get("min", stats["min"]), whole.get("max", stats["max"])
        stats["whole_column"] = True
    return stats


def _list_stats(column: pa.ChunkedArray) -> dict[str, Any]:
    lengths = [v for chunk in column.chunks for v in chunk.value_lengths().to_pylist() if v is not None]
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


# --- roles ----------------------------------------------------------------------------------------------


def _looks_like_text(c: ColumnProfile) -> bool:
    if c.kind != "text":
        return False
    s = c.stats
    mostly_null = s["nulls"] + s["empty"] > 0.5 * s["rows"]
    return s["mean_words"] >= 2.5 and s["numeric"] < 0.5 and s["id_like"] < 0.5 and not mostly_null


def _class_like_text(c: ColumnProfile) -> bool:
    if c.kind != "text":
        return False
    s = c.stats
    non_null = s["rows"] - s["nulls"] - s["empty"]
    return 0 < s["distinct"] <= 20 and s["mean_words"] < 2.5 and s["distinct"] < max(3, non_null / 4)


def _is_id_number(c: ColumnProfile) -> bool:
    s = c.stats
    if ID_LIKE.search(c.name) and not LABEL_LIKE.search(c.name.replace("ID", "").replace("id", "")):
        return True
    return bool(s["integral"] and s["unique_per_row"])


def _label_kind_of_number(c: ColumnProfile, texts: int) -> str:
    s = c.stats
    lo, hi = s["min"], s["max"]
    if lo is None:
        return "none"
    values = s["values"]
    if values is not None and set(values) <= {0, 1} and len(values) >= 1:
        return "binary"
    if s["integral"] and values is not None and (GRADED_NAMES.search(c.name) or lo < 0):
        return "graded"
    if s["integral"] and values is not None and len(values) <= 20 and lo >= 0:
        return "class"
    if lo >= 0 and hi <= 1:
        return "score"
    if lo < 0 and texts >= 3:
        return "margin"
    return "scaled-score"


@dataclass(frozen=True)
class ColumnChoice:
    """What the user said about the columns (--inputs, --label); None leaves it to inference."""

    inputs: tuple[str, ...] | None = None
    label: str | None = None  # a column name, or "none" for no label

    def check(self, names: list[str]) -> None:
        asked = list(self.inputs or ()) + ([self.label] if self.label not in (None, "none") else [])
        unknown = [n for n in asked if n not in names]
        if unknown:
            raise SourceError(f"no column named {', '.join(repr(n) for n in unknown)} (columns: {', '.join(names)})")
        if self.inputs is not None and self.label in self.inputs:
            raise SourceError(f"column '{self.label}' cannot be both an input and the label")


def build_profile(sample: Sample, choice: ColumnChoice | None = None) -> Profile:
    table = sample.table
    choice = choice or ColumnChoice()
    choice.check(table.column_names)
    described = [
        _describe(name, table.column(name), sample.column_stats.get(name)) for name in table.column_names
    ]
    by_name = {c.name: c for c in described}
    roles: dict[str, tuple[str, str]] = {
        c.name: ("ignored", "reserved column name (CrossEncoderTrainer uses it)") for c in described if c.name in RESERVED_NAMES
    }

    text_candidates = [c for c in described if _looks_like_text(c) and c.name not in roles]
    for c in text_candidates:
        if c.stats["parse_tree"] > 0.5 or re.search(r"parse", c.name, re.I):
            roles[c.name] = ("ignored", "parse trees, not text to score")
        elif METADATA_NAMES.search(c.name) and not (ANCHOR_NAMES.match(c.name) or POSITIVE_NAMES.match(c.name)):
            roles[c.name] = ("ignored", "metadata by its name")
    texts = [c for c in text_candidates if c.name not in roles]

    # --- the label -----------------------------------------------------------------------------------
    label_candidates: list[ColumnProfile] = []
    for c in described:
        if c.name in RESERVED_NAMES:
            continue
        if c.kind == "number" and not _is_id_number(c):
            label_candidates.append(c)
        elif c.kind == "number-list":
            label_candidates.append(c)
        elif _class_like_text(c) and not METADATA_NAMES.search(c.name):
            label_candidates.append(c)
    exact_any = [c for c in described if c.name in ST_LABEL_NAMES]
    named = [c for c in label_candidates if LABEL_LIKE.search(c.name)]

    label: ColumnProfile | None = None
    label_parts: tuple[str, ...] = ()
    if exact_any:
        label = exact_any[0]
    elif len(named) >= 2 and len(texts) >= 3 and all(c.kind == "number" for c in named) and len(named) == len(texts) - 1:
        label_parts = tuple(c.name for c in named)  # teacher scores spread over columns (pos_score, neg_score)
    elif named:
        label = _prefer_label(named)
    elif label_candidates:
        numeric = [c for c in label_candidates if c.kind in ("number", "number-list")]
        # Unnamed columns: a fractional score or a small value set reads as a label before a wide integer range.
        numeric.sort(key=lambda c: 0 if c.kind == "number-list" or not c.stats["integral"] else (1 if c.stats["values"] else 2))
        label = numeric[0] if numeric else (label_candidates[0] if len(texts) >= 2 else None)

    if choice.label is not None:
        label_parts = ()
        label = None if choice.label == "none" else by_name[choice.label]
    if choice.inputs is not None:
        texts = [by_name[n] for n in choice.inputs if by_name[n].kind == "text"]
        for name in choice.inputs:
            roles.pop(name, None)

    label_kind: str | None = None
    classes: tuple[str, ...] = ()
    class_counts: dict[str, int] = {}
    drop_values: tuple[str, ...] = ()
    if label_parts:
        label_kind = "number-list"
        for part in label_parts:
            roles[part] = ("label", "teacher scores, one column per text after the first")
    elif label is not None:
        reason = "chosen with --label" if choice.label is not None else _label_reason(label, bool(exact_any))
        roles[label.name] = ("label", reason)
        if label.kind == "number":
            label_kind = _label_kind_of_number(label, len(texts))
            if label.name in sample.class_names:
                classes = tuple(sample.class_names[label.name])
                label_kind = "class" if len(classes) > 2 or label_kind != "binary" else label_kind
            class_counts = dict(label.stats["counts"])
            if classes:
                class_counts = {classes[int(k)] if int(k) < len(classes) else k: v for k, v in class_counts.items()}
        elif label.kind == "number-list":
            label_kind = "number-list"
        elif label.kind == "text":
            top = [value for value, _ in label.stats["top"]]
            drop_values = tuple(v for v in top if v.strip() in {"-", "?", "none", "null", "nan", "n/a"})
            kept = [v for v in top if v not in drop_values]
            class_counts = {v: n for v, n in label.stats["top"] if v not in drop_values}
            if kept and all(_is_float(v) for v in kept):
                numbers = {float(v) for v in kept}
                label_kind = "binary" if numbers <= {0.0, 1.0} else "class"
            else:
                label_kind = "class"
            classes = tuple(_order_classes(kept))
        else:
            label_kind = "none"

    # --- everything else: input or ignored -----------------------------------------------------------
    for c in described:
        if c.name in roles:
            continue
        if choice.inputs is not None:
            roles[c.name] = ("input", "chosen with --inputs") if c.name in choice.inputs else ("ignored", "not in --inputs")
            continue
        if c.kind == "number":
            roles[c.name] = ("ignored", "id column" if _is_id_number(c) else "second label-like column")
        elif c.kind == "text" and c not in texts:
            if c.stats["nulls"] + c.stats["empty"] > 0.9 * c.stats["rows"]:
                roles[c.name] = ("ignored", "mostly null")
            elif c.stats["id_like"] >= 0.5 or ID_LIKE.search(c.name):
                roles[c.name] = ("ignored", "id column")
            elif c.stats["top"] and {v.lower() for v, _ in c.stats["top"]} <= SPLIT_VALUES:
                # before the metadata names: a split column is often called *_set or split
                roles[c.name] = ("ignored", "split marker (train/test) stored as a column")
            elif METADATA_NAMES.search(c.name):
                roles[c.name] = ("ignored", "metadata by its name")
            else:
                roles[c.name] = ("ignored", "short codes or categories, not text")
        elif c.kind == "text-list":
            roles[c.name] = ("input", "list of texts")
        elif c.kind == "text-list-short":
            roles[c.name] = ("ignored", "list of short codes (e.g. annotator votes)")
        elif c.kind == "struct":
            roles[c.name] = ("ignored", "nested record (not a label: sentence-transformers cannot use it)")
        elif c.kind == "number-list":
            roles[c.name] = ("ignored", "second list of numbers")
        elif c.kind == "text":
            roles[c.name] = ("input", "text")
        else:
            roles[c.name] = ("ignored", f"unsupported type {c.dtype}")

    if choice.inputs is not None:
        inputs = list(choice.inputs)  # the user's order is the order
    else:
        inputs = _order_inputs([c for c in described if roles[c.name][0] == "input"])
    anchor_repeats = 1.0
    if inputs and by_name[inputs[0]].kind == "text":
        s = by_name[inputs[0]].stats
        non_null = s["rows"] - s["nulls"]
        anchor_repeats = non_null / s["distinct"] if s["distinct"] else 1.0

    columns = tuple(
        ColumnProfile(c.name, c.dtype, c.kind, roles[c.name][0], roles[c.name][1],
                      label_kind if roles[c.name][0] == "label" else None, c.stats)
        for c in described
    )
    return Profile(
        sample=sample,
        columns=columns,
        inputs=tuple(inputs),
        label=label.name if label is not None else None,
        label_kind=label_kind if (label is not None or label_parts) else "none",
        label_parts=label_parts,
        classes=classes,
        class_counts=class_counts,
        drop_label_values=drop_values,
        anchor_repeats=anchor_repeats,
        text_list=any(by_name[n].kind == "text-list" for n in inputs),
    )


def _prefer_label(named: list[ColumnProfile]) -> ColumnProfile:
    """Among label-like names: a gold/class label over a second score; the first column otherwise."""
    for pattern in (r"gold|^label|_label$|^class|entailment_label|quality|is_duplicate", r"relevance|score|sim"):
        for c in named:
            if re.search(pattern, c.name, re.I):
                return c
    return named[0]


def _label_reason(c: ColumnProfile, exact: bool) -> str:
    if exact:
        return "named as sentence-transformers expects"
    if LABEL_LIKE.search(c.name):
        return "label under another name"
    return "the only numeric column: read as the label"


def _order_classes(values: list[str]) -> list[str]:
    lowered = {v.lower(): v for v in values}
    if set(lowered) == NLI_NAMES:
        return [lowered[n] for n in ("entailment", "neutral", "contradiction")]
    return sorted(values)


def _order_inputs(inputs: list[ColumnProfile]) -> list[str]:
    """Anchor first, then positives, then negatives; texts in the order found otherwise."""

    def rank(position: int, c: ColumnProfile) -> tuple[int, int]:
        if ANCHOR_NAMES.match(c.name):
            return (0, position)
        if NEGATIVE_NAMES.match(c.name):
            return (2, position)
        if c.kind == "text-list":
            return (3, position)
        if POSITIVE_NAMES.match(c.name):
            return (1, position)
        return (1, position)

    ordered = [c for _, c in sorted(((rank(i, c), c) for i, c in enumerate(inputs)), key=lambda x: x[0])]
    named_anchor = any(ANCHOR_NAMES.match(c.name) for c in inputs)
    if not named_anchor and len(ordered) == 2 and all(c.kind == "text" for c in ordered):
        first, second = ordered
        # Unnamed pair: a question after a passage is a reversed (anchor, positive) pair.
        if second.stats["questions"] > 0.6 and first.stats["questions"] < 0.2 and first.stats["mean_chars"] > 2 * second.stats["mean_chars"]:
            ordered = [second, first]
    return [c.name for c in ordered]
