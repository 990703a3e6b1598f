"""Apply inspect's fixes (a TidyPlan) to a whole table: the canonical layout sentence-transformers expects.

Used by `convert --fix` and, in memory, by `trial` and `scaffold`. Vectorised on Arrow: no per-row Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from lossadvisor.advice import Report, TidyPlan
from lossadvisor.errors import FitError


@dataclass(frozen=True)
class TidyResult:
    table: pa.Table
    format: str
    rows_in: int
    rows_out: int
    dropped: dict[str, int] = field(default_factory=dict)
    applied: tuple[str, ...] = ()
    class_mapping: dict[str, int] = field(default_factory=dict)


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def tidy(table: pa.Table, report: Report, drop_duplicates: bool | None = None,
         score_range: tuple[float, float] | None = None) -> TidyResult:
    plan: TidyPlan | None = report.tidy
    if plan is None or report.format is None:
        raise FitError(f"{report.dataset}: no format fits this data, so there is nothing to tidy it into")
    rows_in = table.num_rows
    dropped: dict[str, int] = {}
    applied: list[str] = []
    mapping: dict[str, int] = {}
    missing = [n for n in (*plan.inputs, *( [plan.label] if plan.label else []), *plan.label_parts) if n not in table.column_names]
    if missing:
        raise FitError(f"{report.dataset}: column(s) {', '.join(missing)} seen in the sample are missing from the data")

    def drop(mask: pa.Array, reason: str) -> None:
        nonlocal table
        removed = len(mask) - pc.sum(pc.cast(mask, pa.int64())).as_py() if len(mask) else 0
        if removed:
            dropped[reason] = dropped.get(reason, 0) + removed
            table = table.filter(mask)

    label = plan.label
    if label and plan.drop_label_values:
        drop(pc.invert(pc.is_in(pc.cast(table.column(label), pa.string()), pa.array(list(plan.drop_label_values)))).fill_null(True),
             f"label in {list(plan.drop_label_values)}")
    if plan.drop_null_texts:
        for name in plan.inputs:
            column = table.column(name)
            if _is_text(column.type):
                drop(pc.and_(pc.is_valid(column), pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(column)), 0)).fill_null(False),
                     "null or empty text")
    columns = {name: table.column(name) for name in plan.inputs}
    label_array = None
    if plan.label_parts:
        parts = [pc.cast(table.column(p), pa.float64()) for p in plan.label_parts]
        lists = pa.ListArray.from_arrays(
            pa.array(range(0, (len(parts)) * table.num_rows + 1, len(parts)), pa.int32()),
            pc.take(pa.concat_arrays([p.combine_chunks() for p in parts]),
                    pa.array([j * table.num_rows + i for i in range(table.num_rows) for j in range(len(parts))])),
        ) if table.num_rows else pa.array([], pa.list_(pa.float64()))
        label_array = lists
        applied.append(f"combined {', '.join(plan.label_parts)} into label")
    elif label:
        label_array = table.column(label)
        if plan.classes:
            mapping = {name: index for index, name in enumerate(plan.classes)}
            ids = pc.index_in(pc.cast(label_array, pa.string()), value_set=pa.array(list(plan.classes)))
            drop(pc.is_valid(ids), "label not a known class")
            label_array = pc.cast(pc.index_in(pc.cast(table.column(label), pa.string()), value_set=pa.array(list(plan.classes))), pa.int64())
            applied.append(f"mapped class names to ids: {mapping}")
        elif plan.cast_label_numeric:
            label_array = pc.cast(label_array, pa.float64())
            applied.append("cast string labels to numbers")
        scale = score_range or plan.score_range
        if scale is not None:
            lo, hi = scale
            if hi <= lo:
                raise FitError(f"invalid score range {lo}:{hi}")
            label_array = pc.divide(pc.subtract(pc.cast(label_array, pa.float64()), lo), hi - lo)
            applied.append(f"scaled scores from [{lo}, {hi}] to [0, 1]")
        columns = {name: table.column(name) for name in plan.inputs}
        if label != "label":
            applied.append(f"renamed '{label}' to 'label'")
    else:
        columns = {name: table.column(name) for name in plan.inputs}
    if label_array is not None:
        columns["label"] = label_array
        valid = pc.is_valid(label_array)
        if pa.types.is_floating(label_array.type):
            valid = pc.and_(valid, pc.invert(pc.is_nan(label_array)).fill_null(False))
        table = pa.table(columns)
        drop(valid, "null or NaN label")
    else:
        table = pa.table(columns)
    if "label" in table.column_names and _is_list(table.column("label").type) and plan.inputs \
            and _is_list(table.column(plan.inputs[-1]).type):
        # inspect's list-length-mismatch fix: a listwise loss needs one label per document.
        same = pc.equal(pc.list_value_length(table.column(plan.inputs[-1])), pc.list_value_length(table.column("label")))
        drop(same.fill_null(False), "docs and labels differ in length")
    original = [c.name for c in report.columns]
    if list(plan.inputs) != [n for n in original if n in plan.inputs] or len(original) != len(columns):
        applied.append(f"selected and ordered columns: {', '.join(table.column_names)}")
    if drop_duplicates if drop_duplicates is not None else plan.drop_duplicates:
        text_columns = [n for n in table.column_names if _is_text(table.column(n).type)]
        if text_columns:
            before = table.num_rows
            keys = text_columns + (["label"] if "label" in table.column_names and not _is_list(table.column("label").type) else [])
            # Positional key names: pyarrow's group_by reads '.' and '/' in a name as a path into nested fields.
            indexed = _positional(table, keys).append_column("__row", pa.array(range(before), pa.int64()))
            first = indexed.group_by([f"k{i}" for i in range(len(keys))], use_threads=False).aggregate([("__row", "min")])
            keep = pc.sort_indices(first.column("__row_min"))
            table = table.take(pc.take(first.column("__row_min"), keep))
            if before - table.num_rows:
                dropped["exact duplicate"] = before - table.num_rows
    fmt = report.format
    if plan.group_by_anchor:
        table = group_by_anchor(table)
        applied.append(f"grouped rows by '{table.column_names[0]}' into lists")
    return TidyResult(table, fmt, rows_in, table.num_rows, dropped, tuple(applied), mapping)


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t)


def group_by_anchor(table: pa.Table) -> pa.Table:
    """(query, doc, label) rows → (query, docs, label lists), keeping the first-seen order of queries and docs."""
    anchor, doc = table.column_names[0], table.column_names[1]
    indexed = _positional(table, [anchor, doc, "label"]).append_column("__row", pa.array(range(table.num_rows), pa.int64()))
    grouped = indexed.group_by("k0", use_threads=False).aggregate([("k1", "list"), ("k2", "list"), ("__row", "min")])
    order = pc.sort_indices(grouped.column("__row_min"))
    grouped = grouped.take(order)
    return pa.table({anchor: grouped.column("k0"), "docs": grouped.column("k1_list"), "label": grouped.column("k2_list")})


def _positional(table: pa.Table, names: list[str]) -> pa.Table:
    """These columns as k0, k1, …: pyarrow's group_by takes '.' and '/' in a column name for a nested path."""
    return pa.table({f"k{i}": table.column(name) for i, name in enumerate(names)})


@dataclass(frozen=True)
class Canonical:
    """A dataset read whole and tidied into the layout of its inferred format."""

    report: Report
    result: TidyResult

    @property
    def table(self) -> pa.Table:
        return self.result.table

    @property
    def format(self) -> str:
        return self.result.format


def load_canonical(spec: str, loss_table, split: str | None = None, subset: str | None = None,
                   score_range: tuple[float, float] | None = None, choice=None, reading: str | None = None) -> Canonical:
    """inspect + read everything + apply the fixes: what convert, trial and scaffold start from."""
    from lossadvisor.advice import advise
    from lossadvisor.profile import build_profile
    from lossadvisor.sources import open_sample, read_table

    sample = open_sample(spec, split=split, subset=subset)
    if sample.table.num_rows == 0:
        raise FitError(f"{spec}: the dataset is empty (no rows)")
    report = advise(build_profile(sample, choice), loss_table, reading)
    if report.format is None:
        raise FitError(f"{spec}: no format of the loss table fits this data",
                       f"Run `lossadvisor inspect {spec}` to see the columns and what is missing.")
    result = tidy(read_table(sample), report, score_range=score_range)
    if result.rows_out == 0:
        raise FitError(f"{spec}: no rows left after the fixes ({', '.join(f'{n} {r}' for r, n in result.dropped.items())})")
    return Canonical(report, result)


def tidy_code(report: Report) -> tuple[list[str], list[str]]:
    """The fixes of a TidyPlan as readable `datasets` code (for scaffolded scripts), plus the imports it needs."""
    plan = report.tidy
    assert plan is not None
    lines: list[str] = []
    imports: list[str] = []
    label = plan.label
    if label and plan.drop_label_values:
        lines.append(f"dataset = dataset.filter(lambda row: row[{label!r}] not in {list(plan.drop_label_values)!r})  # no gold label")
    text_inputs = [c.name for c in report.columns if c.name in plan.inputs and c.dtype == "string"]
    if plan.drop_null_texts and text_inputs:
        lines.append(f"dataset = dataset.filter(lambda row: all(row[c] and row[c].strip() for c in {text_inputs!r}))")
    if plan.label_parts:
        parts = ", ".join(f"row[{p!r}]" for p in plan.label_parts)
        lines.append(f"dataset = dataset.map(lambda row: {{\"label\": [{parts}]}})  # one list of teacher scores")
    elif label:
        value = f"row[{label!r}]"
        if plan.classes:
            lines.append(f"CLASSES = {list(plan.classes)!r}")
            value = f"CLASSES.index({value})"
        elif plan.cast_label_numeric:
            value = f"float({value})"
        if plan.score_range:
            lo, hi = plan.score_range
            value = f"({value} - {lo}) / {hi - lo}"
        if value != f"row[{label!r}]":
            lines.append(f"dataset = dataset.map(lambda row: {{\"label\": {value}}})")
        elif label != "label":
            lines.append(f"dataset = dataset.rename_column({label!r}, \"label\")")
    selected = list(plan.inputs) + (["label"] if (label or plan.label_parts) else [])
    if [c.name for c in report.columns] != selected:
        lines.append(f"dataset = dataset.select_columns({selected!r})  # inputs are taken by order")
    if plan.drop_duplicates and text_inputs:
        # The same key as tidy(): the text columns plus a scalar label. A list column (the docs of a labeled-list,
        # a list label) cannot be a pandas key: drop_duplicates would raise "unhashable type".
        dtypes = {c.name: c.dtype for c in report.columns}
        scalar_label = bool(label) and not plan.label_parts and not str(dtypes.get(label, "")).startswith(("list", "large_list"))
        key = text_inputs + (["label"] if scalar_label else [])
        imports.append("from datasets import Dataset")
        lines.append(f"dataset = Dataset.from_pandas(dataset.to_pandas().drop_duplicates(subset={key!r}), preserve_index=False)")
    if plan.group_by_anchor:
        anchor, doc = plan.inputs[0], plan.inputs[1]
        imports.append("from datasets import Dataset")
        lines.append(
            f"grouped = dataset.to_pandas().groupby({anchor!r}, sort=False).agg({{{doc!r}: list, \"label\": list}}).reset_index()"
        )
        lines.append(f"dataset = Dataset.from_pandas(grouped.rename(columns={{{doc!r}: \"docs\"}}), preserve_index=False)")
    return lines, sorted(set(imports))
