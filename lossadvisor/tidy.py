"""Apply inspect's fixes (a TidyPlan) to a whole table: the canonical layout sentence-transformers expects.

The one tidy: used by `convert --fix`, `convert` and, in memory, by `trial` and `scaffold`; the steps themselves
and their rules (class-name matching, score clipping, the duplicate key) live in convert/clean.py, and grouping is
convert/reshape.group. Vectorised on Arrow: no per-row Python. `tidy_code` writes the same plan as `datasets` code.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import pyarrow as pa

from lossadvisor.advice import Report, TidyPlan
from lossadvisor.errors import FitError

if TYPE_CHECKING:
    from lossadvisor.convert.options import StepResult


@dataclass(frozen=True)
class TidyResult:
    table: pa.Table
    format: str
    rows_in: int
    rows_out: int
    dropped: dict[str, int] = field(default_factory=dict)
    applied: tuple[str, ...] = ()
    class_mapping: dict[str, int] = field(default_factory=dict)


def tidy(table: pa.Table, report: Report, drop_duplicates: bool | None = None,
         score_range: tuple[float, float] | None = None, gain=None, keep_constant_lists: bool = False) -> TidyResult:
    """The report's plan applied to the whole table (what `convert --fix`, `convert` and `trial` start from)."""
    plan: TidyPlan | None = report.tidy
    if plan is None or report.format is None:
        raise FitError(f"{report.dataset}: no format fits this data, so there is nothing to tidy it into")
    missing = [n for n in (*plan.inputs, *([plan.label] if plan.label else []), *plan.label_parts) if n not in table.column_names]
    if missing:
        raise FitError(f"{report.dataset}: column(s) {', '.join(missing)} seen in the sample are missing from the data")
    if keep_constant_lists:
        plan = replace(plan, drop_constant_lists=False)
    result = apply_plan(table, plan, report.format, drop_duplicates=drop_duplicates, score_range=score_range, gain=gain)
    original = [c.name for c in report.columns]
    canonical = list(plan.inputs) + (["label"] if (plan.label or plan.label_parts) else [])
    if list(plan.inputs) != [n for n in original if n in plan.inputs] or len(original) != len(canonical):
        applied = list(result.applied)
        applied.insert(len(applied) - int(plan.group_by_anchor), f"selected and ordered columns: {', '.join(canonical)}")
        result = replace(result, applied=tuple(applied))
    return result


class _Steps:
    """The cleaning steps of convert/clean.py run one after the other, with their drops and notes collected."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        self.dropped: dict[str, int] = {}
        self.applied: list[str] = []

    def run(self, step: StepResult) -> StepResult:
        for reason, count in step.dropped.items():
            self.dropped[reason] = self.dropped.get(reason, 0) + count
        self.table = step.table
        return step


def apply_plan(table: pa.Table, plan: TidyPlan, fmt: str, drop_duplicates: bool | None = None,
               score_range: tuple[float, float] | None = None, gain=None) -> TidyResult:
    """A TidyPlan applied with the steps of convert/clean.py (whose docstring holds the rules): drop rows without
    a gold label and rows with empty texts, build the `label` column, select the columns in order, drop null
    labels, mismatched lists and duplicates, and group long-format rows with convert/reshape.group."""
    from lossadvisor.convert import clean

    rows_in = table.num_rows
    steps = _Steps(table)
    if plan.label and plan.drop_label_values:
        steps.run(clean.drop_label_values(steps.table, plan.label, plan.drop_label_values))
    if plan.drop_null_texts:
        steps.run(clean.drop_empty_texts(steps.table, list(plan.inputs)))
    columns = {name: steps.table.column(name) for name in plan.inputs}
    if plan.label_parts:
        columns[clean.LABEL] = clean.combine_columns(steps.table, plan.label_parts)
        steps.applied.append(f"combined {', '.join(plan.label_parts)} into label")
    elif plan.label:
        columns[clean.LABEL] = steps.table.column(plan.label)
    steps.table = pa.table(columns)
    mapping = _label_steps(steps, plan, score_range) if plan.label and not plan.label_parts else {}
    if gain is not None and clean.LABEL in steps.table.column_names:
        from lossadvisor.convert.gain import apply_gain

        steps.applied.extend(steps.run(apply_gain(steps.table, gain)).notes)
    if clean.LABEL in steps.table.column_names:
        steps.run(clean.drop_null_labels(steps.table))
        docs = plan.inputs[-1] if plan.inputs else None
        lists = sum(1 for name in plan.inputs if _is_list(steps.table.schema.field(name).type))
        if docs and lists == 1 and _is_list(steps.table.schema.field(clean.LABEL).type) and _is_list(steps.table.schema.field(docs).type):
            steps.run(clean.drop_list_mismatch(steps.table, docs))  # inspect's list-length-mismatch fix
    if drop_duplicates if drop_duplicates is not None else plan.drop_duplicates:
        steps.run(clean.drop_duplicates(steps.table))
    if plan.group_by_anchor:
        from lossadvisor.convert.options import ConvertOptions
        from lossadvisor.convert.reshape import group

        steps.run(group(steps.table, fmt, ConvertOptions(keep_constant_lists=True)))  # plan.drop_constant_lists decides
        steps.applied.append(f"grouped rows by '{steps.table.column_names[0]}' into lists")
    if plan.drop_constant_lists and clean.LABEL in steps.table.column_names:
        steps.run(clean.drop_constant_lists(steps.table))
    return TidyResult(steps.table, fmt, rows_in, steps.table.num_rows, steps.dropped, tuple(steps.applied), mapping)


def _label_steps(steps: _Steps, plan: TidyPlan, score_range: tuple[float, float] | None) -> dict[str, int]:
    from lossadvisor.convert import clean

    mapping: dict[str, int] = {}
    if plan.classes:
        mapped = steps.run(clean.map_class_names(steps.table, names=plan.classes))
        mapping = dict(mapped.stats["mapping"])
        steps.applied.append(f"mapped class names to ids: {mapping}")
    elif plan.cast_label_numeric:
        steps.run(clean.cast_numbers(steps.table))
        steps.applied.append("cast string labels to numbers")
    scale = score_range or plan.score_range
    whole = ""
    if score_range is None and plan.score_range is not None:
        # inspect saw a sample (a parquet footer gives the whole column; a text file does not): rescale by the
        # range of the whole column, so that no score lands outside [0, 1]
        import pyarrow.compute as pc

        labels = steps.table.column(clean.LABEL)
        if pa.types.is_floating(labels.type):  # inf / -inf are dropped later, as their own reason: not a bound
            labels = pc.filter(labels, pc.is_finite(labels))
        bounds = pc.min_max(labels).as_py()
        if bounds["min"] is not None and (bounds["min"], bounds["max"]) != tuple(plan.score_range):
            whole = f" (the whole column's range; the sample's was [{plan.score_range[0]}, {plan.score_range[1]}])"
            scale = (float(bounds["min"]), float(bounds["max"]))
    if scale is not None:
        lo, hi = scale
        if hi <= lo:
            raise FitError(f"invalid score range {lo}:{hi}")
        scaled = steps.run(clean.normalize_scores(steps.table, value_range=(lo, hi)))
        steps.applied.append(f"scaled scores from [{lo}, {hi}] to [0, 1]{whole}")
        if scaled.stats["outside_range"]:
            steps.applied.append(f"clipped {scaled.stats['outside_range']} score(s) outside [{lo}, {hi}] to [0, 1]")
    if plan.label != clean.LABEL:
        steps.applied.append(f"renamed '{plan.label}' to 'label'")
    return mapping


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t)


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
                   score_range: tuple[float, float] | None = None, choice=None, reading: str | None = None,
                   gain=None, keep_constant_lists: bool = False) -> Canonical:
    """inspect + read everything + apply the fixes: what convert, trial and scaffold start from."""
    from lossadvisor.advice import advise
    from lossadvisor.profile import build_profile
    from lossadvisor.sources import open_sample, read_table
    from lossadvisor.sources.parallel import files_as_columns

    spec, choice = files_as_columns(spec, choice)  # --inputs a.toks,b.toks --label sim.txt: files as columns
    sample = open_sample(spec, split=split, subset=subset)
    if sample.table.num_rows == 0:
        raise FitError(f"{spec}: the dataset is empty (no rows)")
    report = advise(build_profile(sample, choice), loss_table, reading)
    if report.format is None:
        raise FitError(f"{spec}: no format of the loss table fits this data",
                       f"Run `lossadvisor inspect {spec}` to see the columns and what is missing.")
    result = tidy(read_table(sample), report, score_range=score_range, gain=gain, keep_constant_lists=keep_constant_lists)
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
        if plan.classes:  # the rules of convert/clean.py: names match ignoring case and spaces, others are dropped
            lines.append(f"CLASSES = {list(plan.classes)!r}")
            lines.append("CLASS_IDS = {name.strip().lower(): i for i, name in enumerate(CLASSES)}")
            lines.append(f"dataset = dataset.filter(lambda row: ({value} or '').strip().lower() in CLASS_IDS)")
            value = f"CLASS_IDS[{value}.strip().lower()]"
        elif plan.cast_label_numeric:
            value = f"float({value})"
        if plan.score_range:
            lo, hi = plan.score_range
            value = f"min(1.0, max(0.0, ({value} - {lo}) / {hi - lo}))"  # clipped to [0, 1], as convert does
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
