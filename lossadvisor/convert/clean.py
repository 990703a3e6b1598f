"""The cleaning steps, in one place: `tidy.apply_plan` composes them for `convert --fix`, `convert`, `trial` and
`scaffold`, and benchmarks/bench_convert.py measures them. Each returns a StepResult whose `dropped` says what went
and why; they keep the column layout as it is (no renaming, no reordering) and never touch the input table.

The rules, decided once:
- Class names match after trimming spaces and ignoring case ('ENTAILMENT' is 'entailment'); a label that is not
  one of the names drops its row ("label not a known class").
- Scores are scaled to [0, 1] with the given range (inspect's: the sample's min and max, or --score-range) and
  values that still fall outside are clipped to [0, 1] and counted: the full data can reach past the sample's
  range, and BinaryCrossEntropyLoss needs [0, 1].
- A duplicate is a row whose texts and (scalar) label repeat an earlier row's: `duplicate_key`. List columns (the
  docs of a labeled-list, a list label) are not compared. The first row is kept. A pair that comes back with
  another label is not a duplicate: it is a conflict that inspect reports, for the user to settle.
- Empty means null, empty or only whitespace; an empty list of texts is empty too.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lossadvisor.convert._arrow import LABEL, add_count, flat, is_text, is_text_list, present_text, to_numpy_bool
from lossadvisor.convert.options import StepResult
from lossadvisor.errors import FitError

NLI_CLASSES = ("entailment", "neutral", "contradiction")  # the SNLI / MultiNLI / SICK ids 0, 1, 2
SAME = "same"  # target format of a tidy step: the format does not change


def _result(
    method: str, table: pa.Table, rows_in: int, dropped: dict[str, int], notes: list[str] | None = None, stats: dict | None = None
) -> StepResult:
    return StepResult(method, SAME, table, rows_in, table.num_rows, table.num_rows, dropped, notes or [], stats or {})


def _text_columns(table: pa.Table) -> list[str]:
    return [
        f.name
        for f in table.schema
        if is_text(f.type) or is_text_list(f.type) or (pa.types.is_dictionary(f.type) and is_text(f.type.value_type))
    ]


def drop_empty_texts(table: pa.Table, columns: list[str] | None = None) -> StepResult:
    """Drop rows where a text column is null, empty or only whitespace, or a list of texts is null or empty."""
    columns = _text_columns(table) if columns is None else columns
    keep = np.ones(table.num_rows, dtype=bool)
    dropped: dict[str, int] = {}
    for name in columns:
        column = flat(table.column(name))
        if is_text_list(column.type):
            ok = to_numpy_bool(pc.greater(pc.list_value_length(column), 0))
            reason = f"empty list in '{name}'"
        else:
            ok = present_text(column)
            reason = f"null or empty text in '{name}'"
        add_count(dropped, reason, (keep & ~ok).sum())
        keep &= ok
    out = table if keep.all() else table.filter(pa.array(keep))
    return _result("drop-empty-texts", out, table.num_rows, dropped)


def _hashable(column: pa.Array) -> pa.Array:
    """group_by cannot key on lists: a list becomes one string (with a separator no text contains)."""
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        as_text = pc.cast(column, pa.list_(pa.string()))
        return pc.binary_join(as_text, "\x1f")
    return column


def duplicate_key(table: pa.Table) -> list[str]:
    """The columns two rows must share to be duplicates: the text columns and a scalar label (see the rules above)."""
    texts = [f.name for f in table.schema if is_text(f.type) or (pa.types.is_dictionary(f.type) and is_text(f.type.value_type))]
    scalar_label = LABEL in table.column_names and LABEL not in texts and not _is_list(table.schema.field(LABEL).type)
    return texts + ([LABEL] if scalar_label else [])


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t)


def drop_duplicates(table: pa.Table, columns: list[str] | None = None) -> StepResult:
    """Keep the first of each set of rows equal in `columns` (default: `duplicate_key`)."""
    columns = duplicate_key(table) if columns is None else columns
    if not columns:
        return _result("drop-duplicates", table, table.num_rows, {})
    if table.num_rows == 0:
        return _result("drop-duplicates", table, 0, {})
    keys = pa.table({f"k{i}": _hashable(flat(table.column(n))) for i, n in enumerate(columns)})
    keys = keys.append_column("__row", pa.array(np.arange(table.num_rows, dtype=np.int64)))
    first = keys.group_by([f"k{i}" for i in range(len(columns))], use_threads=True).aggregate([("__row", "min")])
    rows = np.sort(first.column("__row_min").to_numpy())
    dropped: dict[str, int] = {}
    add_count(
        dropped,
        "exact duplicate" if len(columns) == table.num_columns else f"duplicate of ({', '.join(columns)})",
        table.num_rows - len(rows),
    )
    out = table if len(rows) == table.num_rows else table.take(pa.array(rows))
    return _result("drop-duplicates", out, table.num_rows, dropped)


def normalize_scores(
    table: pa.Table, column: str = LABEL, value_range: tuple[float, float] | None = None, clip: bool = True
) -> StepResult:
    """Scale a score column (or a list of scores) to [0, 1]: (x - low) / (high - low).

    Without `value_range` the observed minimum and maximum are used. Values outside the range are clipped
    (and counted) unless clip=False.
    """
    if column not in table.column_names:
        raise FitError(f"no column '{column}' to normalise (columns: {', '.join(table.column_names)})")
    values_column = flat(table.column(column))
    is_list = pa.types.is_list(values_column.type) or pa.types.is_large_list(values_column.type)
    values = pc.list_flatten(values_column) if is_list else values_column
    if not (pa.types.is_integer(values.type) or pa.types.is_floating(values.type)):
        raise FitError(f"cannot normalise '{column}': it holds {values.type}, not numbers")
    numbers = pc.cast(values, pa.float64())
    if value_range is None:
        bounds = pc.min_max(numbers)
        low, high = bounds["min"].as_py(), bounds["max"].as_py()
        if low is None:
            raise FitError(f"'{column}' has no values to normalise")
    else:
        low, high = float(value_range[0]), float(value_range[1])
    if not high > low:
        raise FitError(f"cannot normalise '{column}' with the range [{low}, {high}]", "Pass a range whose upper end is larger.")
    scaled = pc.divide(pc.subtract(numbers, low), high - low)
    # inf / -inf are not scores beyond the range but broken values: kept as they are, so that the label check
    # after this step drops them under their own reason instead of training them as 1.0 / 0.0
    finite = pc.is_finite(scaled)
    outside = int(pc.sum(pc.and_(finite, pc.or_(pc.less(scaled, 0.0), pc.greater(scaled, 1.0)))).as_py() or 0)
    if clip and outside:
        scaled = pc.if_else(finite, pc.max_element_wise(pc.min_element_wise(scaled, 1.0), 0.0), scaled)
    if is_list:
        offsets = pc.subtract(values_column.offsets, values_column.offsets[0])
        scaled = pa.ListArray.from_arrays(pc.cast(offsets, pa.int32()), scaled, mask=values_column.is_null())
    out = table.set_column(table.column_names.index(column), column, scaled)
    notes = [f"scaled '{column}' from [{low:g}, {high:g}] to [0, 1]"]
    if outside:
        notes.append(f"{outside} values fell outside [{low:g}, {high:g}]" + (" and were clipped" if clip else ""))
    return _result("normalize-scores", out, table.num_rows, {}, notes, {"range": [low, high], "outside_range": outside})


def map_class_names(table: pa.Table, column: str = LABEL, names: list[str] | tuple[str, ...] | None = None) -> StepResult:
    """Replace class names with ids 0..n-1. Returns the mapping in stats['mapping'].

    Matching ignores case and surrounding spaces. Without `names`: NLI labels get the usual ids
    (entailment 0, neutral 1, contradiction 2), anything else the sorted order. Rows whose label is not one
    of the names are dropped (e.g. SNLI's '-', no annotator consensus: without `names`, a label with no letter
    or digit is never taken for a class).
    """
    if column not in table.column_names:
        raise FitError(f"no column '{column}' to map (columns: {', '.join(table.column_names)})")
    labels = flat(table.column(column))
    if not is_text(labels.type):
        return _result("map-class-names", table, table.num_rows, {}, [f"'{column}' already holds {labels.type}"], {"mapping": {}})
    normalised = pc.utf8_lower(pc.utf8_trim_whitespace(labels))
    if names is None:
        # A value with no letter or digit ('-', '?') marks a missing label, not a class.
        seen = sorted(v for v in pc.unique(pc.drop_null(normalised)).to_pylist() if any(ch.isalnum() for ch in v))
        names = NLI_CLASSES if set(seen) <= set(NLI_CLASSES) and "entailment" in seen else tuple(seen)
    lowered = [str(n).strip().lower() for n in names]
    ids = pc.index_in(normalised, value_set=pa.array(lowered, pa.string()))
    known = to_numpy_bool(pc.is_valid(ids))
    dropped: dict[str, int] = {}
    add_count(dropped, "label not a known class", (~known).sum())
    mask = pa.array(known)
    out = table.filter(mask)
    out = out.set_column(out.column_names.index(column), column, pc.cast(ids.filter(mask), pa.int64()))
    mapping = {str(name): index for index, name in enumerate(names)}
    return _result("map-class-names", out, table.num_rows, dropped, [f"class ids: {mapping}"], {"mapping": mapping})


def drop_label_values(table: pa.Table, column: str, values: tuple[str, ...]) -> StepResult:
    """Drop rows whose label is one of `values` (SNLI's '-': no annotator consensus); a null label stays for later."""
    labels = pc.cast(flat(table.column(column)), pa.string())
    keep = to_numpy_bool(pc.fill_null(pc.invert(pc.is_in(labels, value_set=pa.array(list(values), pa.string()))), True))
    dropped: dict[str, int] = {}
    add_count(dropped, f"label in {list(values)}", (~keep).sum())
    return _result("drop-label-values", table if keep.all() else table.filter(pa.array(keep)), table.num_rows, dropped)


def combine_columns(table: pa.Table, parts: tuple[str, ...] | list[str]) -> pa.Array:
    """Several numeric columns as one list<double> column, row by row (teacher scores spread over columns);
    list columns (FlagEmbedding's pos_scores, neg_scores) are concatenated row by row."""
    if all(pa.types.is_list(table.schema.field(p).type) or pa.types.is_large_list(table.schema.field(p).type) for p in parts):
        lists = [table.column(p).to_pylist() for p in parts]
        return pa.array([[float(v) for part in row for v in (part or [])] for row in zip(*lists)], pa.list_(pa.float64()))
    values = np.stack([flat(pc.cast(table.column(p), pa.float64())).to_numpy(zero_copy_only=False) for p in parts], axis=1)
    offsets = pa.array(np.arange(table.num_rows + 1, dtype=np.int32) * len(parts))
    return pa.ListArray.from_arrays(offsets, pa.array(values.reshape(-1), pa.float64()))


def drop_constant_lists(table: pa.Table, column: str = LABEL) -> StepResult:
    """labeled-list rows whose labels are all equal (no positive, or all positives): nothing to rank there."""
    labels = table.column(column)
    if not (pa.types.is_list(labels.type) or pa.types.is_large_list(labels.type)):
        return _result("drop-constant-lists", table, table.num_rows, {})
    keep = np.array([bool(row) and len(set(row)) > 1 for row in labels.to_pylist()], dtype=bool)
    dropped: dict[str, int] = {}
    add_count(dropped, "nothing to rank (every label in the list equal)", (~keep).sum())
    return _result("drop-constant-lists", table if keep.all() else table.filter(pa.array(keep)), table.num_rows, dropped)


def cast_numbers(table: pa.Table, column: str = LABEL) -> StepResult:
    """A label of numbers written as strings ('0', '1', '0.5') as float64."""
    out = table.set_column(table.column_names.index(column), column, pc.cast(table.column(column), pa.float64()))
    return _result("cast-numbers", out, table.num_rows, {}, [f"cast '{column}' to numbers"])


def drop_null_labels(table: pa.Table, column: str = LABEL) -> StepResult:
    labels = flat(table.column(column))
    valid = pc.is_valid(labels)
    if pa.types.is_floating(labels.type):
        valid = pc.and_(valid, pc.invert(pc.is_nan(labels)))
    keep = to_numpy_bool(valid)
    dropped: dict[str, int] = {}
    add_count(dropped, "null or NaN label", (~keep).sum())
    if pa.types.is_floating(labels.type):  # inf / -inf: their own reason, and only those rows
        infinite = to_numpy_bool(pc.fill_null(pc.is_inf(labels), False))
        add_count(dropped, "infinite label", infinite.sum())
        keep = keep & ~infinite
    return _result("drop-null-labels", table if keep.all() else table.filter(pa.array(keep)), table.num_rows, dropped)


def drop_list_mismatch(table: pa.Table, docs: str, column: str = LABEL) -> StepResult:
    """A listwise loss needs one label per document: drop rows whose lists differ in length."""
    same = to_numpy_bool(pc.equal(pc.list_value_length(flat(table.column(docs))), pc.list_value_length(flat(table.column(column)))))
    dropped: dict[str, int] = {}
    add_count(dropped, "docs and labels differ in length", (~same).sum())
    return _result("drop-list-mismatch", table if same.all() else table.filter(pa.array(same)), table.num_rows, dropped)
