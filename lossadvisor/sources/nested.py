"""Nested fields read as columns with `a.b` names (what `datasets`' Dataset.flatten() names them).

Only judged fields (a text and a label-like number side by side) are read into; any other nested value stays
one column, which profile explains as a nested record.

- a struct column (`passages: {is_selected: [...], passage_text: [...], url: [...]}`, MS MARCO v1.1 as
  published) becomes one column per field: `passages.is_selected`, `passages.passage_text`, `passages.url`;
- a list of records with a label-like number in each (`passages: [{is_selected, passage_text, url}, ...]`)
  becomes the same parallel lists, so the row stays one query with its judged passages (a labeled-list);
- a list of records without such a label is left to `jsonfile.flatten_nested`, which explodes it (SQuAD's
  data → paragraphs → qas).
"""

from __future__ import annotations

import re

import pyarrow as pa

# the per-record judgment of a list of records (MS MARCO's is_selected); the names profile.LABEL_LIKE knows too
RECORD_LABEL = re.compile(r"(^|_)(is_selected|selected|label|labels|relevance|relevant|is_relevant|score|scores|rel|grade|gain)$", re.I)


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t)


def _text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _number(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)


def _judged(fields: list[pa.Field]) -> bool:
    """Fields holding a text (or texts) and a label-like number (or numbers): passages with their judgments."""
    def inner(t: pa.DataType) -> pa.DataType:
        return t.value_type if _is_list(t) else t

    return any(_text(inner(f.type)) for f in fields) and any(RECORD_LABEL.search(f.name) and _number(inner(f.type)) for f in fields)


def _judged_struct(t: pa.DataType) -> bool:
    """A struct of judged fields (MS MARCO's passages: {is_selected: [...], passage_text: [...]}); other structs
    (SQuAD's answers: {text, answer_start}) stay one nested column, explained by profile."""
    return pa.types.is_struct(t) and _judged(list(t))


def _judged_records(t: pa.DataType) -> bool:
    """A list of records holding a text and a label-like number: passages with their judgments."""
    return _is_list(t) and pa.types.is_struct(t.value_type) and _judged(list(t.value_type))


def flatten_fields(table: pa.Table) -> tuple[pa.Table, tuple[str, ...]]:
    """Struct columns and judged lists of records as `a.b` columns; returns the table and the columns flattened."""
    flattened: list[str] = []
    for _ in range(4):
        names = [f.name for f in table.schema if _judged_struct(f.type) or _judged_records(f.type)]
        if not names or table.num_rows == 0:
            break
        for name in names:
            table = _flatten_one(table, name)
            flattened.append(name)
    return table, tuple(dict.fromkeys(flattened))


def _flatten_one(table: pa.Table, name: str) -> pa.Table:
    import pyarrow.compute as pc  # here, not at the top: most data has nothing nested

    position = table.column_names.index(name)
    column = table.column(name).combine_chunks()
    field_type = column.type
    new: list[tuple[str, pa.Array]] = []
    if pa.types.is_struct(field_type):
        for index in range(field_type.num_fields):
            child = pc.struct_field(column, index)
            if column.null_count:
                child = pc.if_else(pc.is_valid(column), child, pa.nulls(len(column), child.type))
            new.append((f"{name}.{field_type.field(index).name}", child))
    else:  # a list of records: one parallel list per field, the record order kept
        offsets = column.offsets
        values = column.flatten()
        for index in range(field_type.value_type.num_fields):
            child = pc.struct_field(values, index)
            lists = pa.ListArray.from_arrays(offsets, child, mask=column.is_null() if column.null_count else None)
            new.append((f"{name}.{field_type.value_type.field(index).name}", lists))
    table = table.remove_column(position)
    for offset, (child_name, array) in enumerate(new):
        while child_name in table.column_names:
            child_name += "_"
        table = table.add_column(position + offset, child_name, array)
    return table


def flatten_code(flattened: tuple[str, ...], schema: pa.Schema) -> str:
    """The `datasets` code doing what flatten_fields did."""
    lines = []
    structs = [n for n in flattened if n in schema.names and pa.types.is_struct(schema.field(n).type)]
    if structs or not flattened:
        lines.append("dataset = dataset.flatten()")
    for name in flattened:
        if name in schema.names and _judged_records(schema.field(name).type):
            keys = [f.name for f in schema.field(name).type.value_type]
            lines.append(f"dataset = dataset.map(lambda row: {{f'{name}.{{k}}': [r[k] for r in row[{name!r}]] for k in {keys!r}}},"
                         f" remove_columns=[{name!r}])")
    return "; ".join(lines)
