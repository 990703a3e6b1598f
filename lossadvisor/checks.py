"""Warnings as data: what is wrong with a dataset for its format, and the fix for each, in an order that works.

Each warning carries its `WarningCode`, the columns it is about and whether `convert --fix` repairs it. The checks
read the profile's facts (column kinds, `Why` a column got its role, label kind), never its prose.

A fix that is `datasets` code starts with `dataset = ` and is written against the dataset as the fixes before it
leave it, so the fixes run in the order printed. `order_warnings` sorts them into that order:

    load the data  →  clean column names  →  drop rows  →  select columns  →  drop duplicates
    →  map / cast the label  →  rename the label to `label`

Column names in code are the cleaned ones (a byte-order mark removed, a reserved name suffixed with `_`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lossadvisor.checks_family import family_warnings
from lossadvisor.checks_label import _format_warnings, _label_warnings, _tidy_plan
from lossadvisor.checks_shapes import shape_warnings
from lossadvisor.commands import convert_command
from lossadvisor.findings import (
    BOMS,
    FIXABLE,
    INFO,
    WarningCode,
    _fix_command,
    _py,
    clean_name,
    order_warnings,
    warning,
)
from lossadvisor.profile import RESERVED_NAMES, ST_LABEL_NAMES, Profile, Why

if TYPE_CHECKING:
    from lossadvisor.findings import Reading, Warning
    from lossadvisor.sources import Sample
    from lossadvisor.table import LossTable

C = WarningCode


# --- the checks ---------------------------------------------------------------------------------------------


def _warnings(profile: Profile, reading: Reading | None, table: LossTable) -> list[Warning]:
    out: list[Warning] = []
    _reading_warnings(profile, out)
    _name_warnings(profile, out)
    _split_warnings(profile, out)
    _layout_warnings(profile, reading, out)
    if profile.label:
        _label_warnings(profile, out)
    _null_text_warnings(profile, out)
    _duplicate_warning(profile, out)
    if reading is not None:
        _format_warnings(profile, reading, table, out)
        shape_warnings(profile, reading, table, out)
        family_warnings(profile, reading, table, out)
    return order_warnings(out)


def _reading_warnings(profile: Profile, out: list[Warning]) -> None:
    sample = profile.sample
    load = f"dataset = {load_code(sample)}"
    fixes = {
        C.MISLEADING_EXTENSION: load,
        C.LITERAL_QUOTES: load + "  # quoting=3 is csv.QUOTE_NONE",
        C.RAGGED_ROWS: load + "  # every column named, so the extra fields are kept apart",
        C.NO_HEADER: load,
        C.DECIMAL_COMMA: load + "  # decimal=\",\" reads 0,5 as 0.5 (pandas' option, which datasets passes on)",
        C.PANDAS_INDEX: load + "  # the index column is dropped with the other extra columns",
        C.CRLF: "Nothing to do: CSV readers handle CRLF; other tools may keep a trailing \\r.",
        C.JSON_FIELD: load,
        C.NESTED_FIELDS: _nested_fields_code(sample),
        C.BEIR_FOLDER: _beir_command(profile),
        C.PARALLEL_FILES: load,
        C.RESOLVED_IDS: load,
        C.NESTED_RECORDS: _flatten_code(sample) + f"  # or: {_fix_command(profile)}",
    }
    for code, message in sample.reading_notes:
        code = WarningCode(code)
        severity = INFO if code in (C.CRLF, C.MISLEADING_EXTENSION, C.JSON_FIELD, C.PANDAS_INDEX, C.NESTED_FIELDS, C.BEIR_FOLDER,
                                   C.PARALLEL_FILES, C.RESOLVED_IDS) else "warning"
        out.append(warning(code, message, fixes.get(code, _fix_command(profile)), severity))


def _beir_command(profile: Profile) -> str:
    """Judged pairs to lists: grouped when graded, mined from the corpus when the qrels hold positives only."""
    sample = profile.sample
    split = (("--split", sample.split),) if sample.split and sample.split != sample.splits[0] else ()
    if profile.label is None:
        return convert_command(sample.spec, "labeled-list", None, ("--corpus", sample.files[0]), *split).render()
    return convert_command(sample.spec, "labeled-list", None, *split).render()


def _nested_fields_code(sample: Sample) -> str:
    from lossadvisor.sources.nested import flatten_code

    return flatten_code(sample.fields_flattened, sample.schema_before) if sample.schema_before is not None else ""


def _flatten_code(sample: Sample) -> str:
    """`datasets` code doing what sources.flatten_nested did: one row per innermost record, parent fields kept."""
    path = sample.flattened
    rows = [f"r{i}" for i in range(len(path) + 1)]
    loops = " ".join(f"for {rows[i + 1]} in {rows[i]}[{name!r}]" for i, name in enumerate(path))
    parents = ", ".join(f"**{{k: v for k, v in {rows[i]}.items() if k != {name!r}}}" for i, name in enumerate(path))
    return f"dataset = Dataset.from_list([{{{parents}, **{rows[-1]}}} for r0 in dataset {loops}])"


def _name_warnings(profile: Profile, out: list[Warning]) -> None:
    for column in profile.columns:
        if column.name.startswith(BOMS):
            out.append(warning(C.BOM_IN_HEADER, f"column '{column.name}' starts with a byte-order mark decoded as text",
                               f"dataset = dataset.rename_column({column.name!r}, {clean_name(column.name)!r})",
                               columns=[column.name]))
        if column.name in RESERVED_NAMES:
            out.append(warning(C.RESERVED_COLUMN, f"column '{column.name}' is reserved by CrossEncoderTrainer",
                               f"dataset = dataset.rename_column({column.name!r}, {clean_name(column.name)!r})",
                               columns=[column.name]))


def _split_warnings(profile: Profile, out: list[Warning]) -> None:
    sample = profile.sample
    if len(sample.splits) > 1 and sample.kind == "beir":
        out.append(warning(C.DATASET_DICT, f"qrels splits {', '.join(sample.splits)}: joined '{sample.split}'",
                           "Pick another with --split; train on train, evaluate on the others.", INFO))
    elif len(sample.splits) > 1:
        out.append(warning(C.DATASET_DICT, f"a DatasetDict with splits {', '.join(sample.splits)}: inspecting '{sample.split}'",
                           "Pick another with --split; train on train, evaluate on the others.", INFO))
    for column in profile.columns:
        if column.why is not Why.SPLIT_MARKER:
            continue
        top = column.stats["top"]
        train = next((v for v, _ in top if v.strip().lower() == "train"), top[0][0])
        values = ", ".join(f"{v} {n}" for v, n in top)
        out.append(warning(C.SPLIT_COLUMN, f"the split is stored in column '{column.name}' ({values}), not in files: train on the"
                           f" {train!r} rows, evaluate on the others",
                           f"dataset = dataset.filter(lambda row: row[{clean_name(column.name)!r}] == {train!r})",
                           columns=[column.name]))


def _selected(profile: Profile) -> list[str]:
    names = list(profile.inputs) + ([profile.label] if profile.label else []) + list(profile.label_parts)
    return [clean_name(n) for n in names]


def _layout_warnings(profile: Profile, reading: Reading | None, out: list[Warning]) -> None:
    select = f"dataset = dataset.select_columns({_py(_selected(profile))})"
    original_inputs = [c.name for c in profile.columns if c.name not in ST_LABEL_NAMES]
    extra = [n for n in original_inputs if n not in profile.inputs and n not in profile.label_parts and n != profile.label]
    if extra:
        mnrl = " MultipleNegativesRankingLoss does not check the column count: extra columns become negatives." \
            if reading and reading.label_kind == "none" else ""
        out.append(warning(C.EXTRA_COLUMNS, f"{len(extra)} column(s) would be fed to the model as inputs: {', '.join(extra)}.{mnrl}",
                           select, columns=extra))
    present_order = [c.name for c in profile.columns if c.name in profile.inputs]
    if present_order != list(profile.inputs):
        out.append(warning(C.INPUT_ORDER, f"inputs are taken by order: they should be {', '.join(profile.inputs)},"
                           f" but the data has {', '.join(present_order)}", select, columns=profile.inputs))
    label_names_present = [c.name for c in profile.columns if c.name in ST_LABEL_NAMES]
    if profile.label and profile.label not in ST_LABEL_NAMES:
        out.append(warning(C.LABEL_NAME, f"the label is in '{profile.label}', which sentence-transformers treats as an input"
                           " (labels must be named label/labels/score/scores)",
                           f"dataset = dataset.rename_column({clean_name(profile.label)!r}, \"label\")", columns=[profile.label]))
    if len(label_names_present) > 1:
        out.append(warning(C.TWO_LABELS, f"several label-named columns ({', '.join(label_names_present)}): only the first,"
                           f" '{label_names_present[0]}', is used", select, columns=label_names_present[1:]))
    competing = [c.name for c in profile.columns if c.why is Why.SECOND_LABEL]
    if competing:
        out.append(warning(C.COMPETING_LABELS, f"'{', '.join(competing)}' could also be a label; '{profile.label}' was taken"
                           " (pick with --label, or drop the other)", select, columns=competing))
    if profile.label_parts:
        parts = [clean_name(p) for p in profile.label_parts]
        listed = all(profile.column(p).kind == "number-list" for p in profile.label_parts)
        value = " + ".join(f"row[{p!r}]" for p in parts) if listed else f"[{', '.join(f'row[{p!r}]' for p in parts)}]"
        out.append(warning(C.SPLIT_LABEL, f"teacher scores are spread over {', '.join(profile.label_parts)}: the loss needs them"
                           " in one list column 'label'",
                           f"dataset = dataset.map(lambda row: {{\"label\": {value}}})"
                           f".remove_columns({_py(parts)})", columns=profile.label_parts))


def _null_text_warnings(profile: Profile, out: list[Warning]) -> None:
    for name in profile.inputs:
        column = profile.column(name)
        if column.kind != "text":
            continue
        bad = column.stats["nulls"] + column.stats["empty"]
        if bad:
            clean = clean_name(name)
            out.append(warning(C.NULL_TEXTS, f"{bad} row(s) of the sample have a null or empty '{name}'",
                               f"dataset = dataset.filter(lambda row: bool(row[{clean!r}] and row[{clean!r}].strip()))",
                               columns=[name]))


def _duplicate_warning(profile: Profile, out: list[Warning]) -> None:
    texts = [n for n in profile.inputs if profile.column(n).kind == "text"]
    if not texts:
        return
    table = profile.sample.table
    rows = list(zip(*[table.column(n).to_pylist() for n in texts]))
    duplicates = len(rows) - len(set(rows))
    if not duplicates:
        return
    # `convert --fix` drops exact duplicates only (same texts and same label): a pair that comes back with
    # another label is a conflict for the user to settle, which the code fix settles by keeping the first.
    conflicting = 0
    key = [clean_name(n) for n in texts]
    scalar_label = profile.label and profile.label in table.column_names and profile.column(profile.label).kind != "number-list"
    if scalar_label:
        labels = [tuple(v) if isinstance(v, list) else v for v in table.column(profile.label).to_pylist()]
        conflicting = duplicates - (len(rows) - len(set(zip(rows, labels))))
    message = f"{duplicates} duplicated ({', '.join(texts)}) row(s) in the sample"
    if conflicting:
        message += f"; {conflicting} of them with a different label, which `convert --fix` keeps (the code keeps the first)"
    elif scalar_label:
        key.append(clean_name(profile.label))
    fix = (f"dataset = Dataset.from_pandas(dataset.to_pandas().drop_duplicates(subset={_py(key)}), preserve_index=False)"
           f"  # or: {_fix_command(profile)}")
    out.append(warning(C.DUPLICATES, message, fix, columns=texts))


# the label, the format and the tidy plan live in checks_label.py (one module would pass 400 lines)


def load_code(sample: Sample) -> str:
    """The `datasets` call that reads this source the way lossadvisor did."""
    files = sample.files
    target = repr(files[0]) if len(files) == 1 else repr(list(files))
    if sample.kind == "save_to_disk":
        code = f"load_from_disk({sample.spec!r})"
        return code + (f"[{sample.split!r}]" if sample.splits else "")
    if sample.kind == "parallel":
        from lossadvisor.sources.parallel import join_code

        return join_code(list(files), sample.table.schema)
    if sample.kind == "beir":
        from lossadvisor.sources.beir import beir_layout, beir_load_code

        return beir_load_code(beir_layout(sample.spec), sample.split, "label" in sample.table.column_names)
    if sample.kind == "ids":
        from lossadvisor.sources.ids import sample_load_code

        return sample_load_code(sample)
    if sample.kind == "hub":
        return f"load_dataset({sample.spec!r}, split={(sample.split or 'train')!r})"
    if sample.kind in ("parquet", "arrow"):
        return f"load_dataset(\"{sample.kind}\", data_files={target}, split=\"train\")"
    if sample.kind == "json":
        field_arg = f", field={sample.json_field!r}" if sample.json_field else ""
        return f"load_dataset(\"json\", data_files={target}{field_arg}, split=\"train\")"
    dialect = sample.dialect
    assert dialect is not None
    args = [f"data_files={target}"]
    if dialect.delimiter != ",":
        args.append(f"sep={dialect.delimiter!r}")
    if not dialect.quoting:
        args.append("quoting=3")
    if dialect.decimal_comma:
        args.append("decimal=\",\"")
    if not dialect.header:
        args.append("header=None")
        args.append(f"column_names={list(dialect.column_names)!r}")
    return f"load_dataset(\"csv\", {', '.join(args)}, split=\"train\")"


__all__ = ["WarningCode", "FIXABLE", "clean_name", "load_code", "order_warnings", "warning", "_warnings", "_format_warnings",
           "_label_warnings", "_tidy_plan", "_duplicate_warning", "_py"]
