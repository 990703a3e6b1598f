"""The `--json` outputs, pinned by one schema written here: one type per field, in every command.

The schema names each field's JSON type (`str`, `int`, `float`, `bool`, a list of one kind, an object with its
fields); `Null(t)` allows null. An output may not add or drop a field the schema does not know. Across the
commands a field name has one type (checked on the schema itself), with one named exception: the loss table's
rows carry `num_labels` as the table's rule ("1" or "num_classes"), not as a count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from real_data import MANIFEST, REAL, needs_real
from typer.testing import CliRunner

from lossadvisor.cli import app

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "support_faq.csv"
ENTRIES = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))["entries"] if MANIFEST.is_file() else []
DATASETS = [REAL / entry["path"] for entry in ENTRIES] + [EXAMPLE]
IDS = [p.relative_to(REAL).as_posix() if p.is_relative_to(REAL) else p.name for p in DATASETS]


@dataclass(frozen=True)
class Null:
    """This type, or null."""

    type: Any


@dataclass(frozen=True)
class AnyOf:
    """A JSON value whose type varies by design (the values of free-form maps such as `stats`)."""

    types: tuple


Number = float  # an int is accepted where a float is declared (JSON has one number type)
OPTION = [Null(str)]  # a (flag, value) pair: the value is null for a bare switch

COMMAND_LINE = {"command": str, "dataset": Null(str), "options": [OPTION], "global_options": [OPTION]}
PARAM = {"name": str, "value": str, "why": str}
READING = {"format": str, "label_kind": str, "assumption": Null(str), "losses": [str], "needs_grouping": bool}
RECOMMENDATION = {"loss": str, "reason": str, "num_labels": Null(int), "activation": Null(str), "params": [PARAM],
                  "construction": str, "distillation": bool, "wrapper": Null(str)}
FAMILY_PICK = {"family": str, "title": str, "role": str, "loss": Null(str), "format": Null(str), "via": [str],
               "needs": [str], "command": str, "mines": bool}
OFFER = {"to": str, "command": str, "unlocks": [str], "needs": [str], "summary": str, "args": COMMAND_LINE, "mines": bool}
WARNING = {"code": str, "message": str, "fix": str, "severity": str, "fixable": bool, "columns": [str]}
COLUMN = {"name": str, "dtype": str, "role": str, "reason": str, "label_kind": Null(str)}
TIDY = {"inputs": [str], "label": Null(str), "label_parts": [str], "label_parts_as": str, "classes": [str],
        "cast_label_numeric": bool, "score_range": Null([Number]), "drop_label_values": [str], "group_by_anchor": bool,
        "drop_null_texts": bool, "drop_duplicates": bool, "drop_constant_lists": bool}
QUESTION = {"topic": str, "ask": str, "choices": [{"answer": str, "flag": str, "option": [str]}], "default": int}
INSPECT = {
    "dataset": str, "source_kind": str, "split": Null(str), "splits": [str], "num_rows": Null(int), "sample_rows": int,
    "format": Null(str), "format_description": Null(str), "needs_fixing": bool, "num_labels": Null(int),
    "activation": Null(str), "columns": [COLUMN], "readings": [READING], "recommendations": [RECOMMENDATION],
    "conversions": [OFFER], "warnings": [WARNING], "tidy": Null(TIDY), "classes": [str], "load_code": str, "extra": {}, "questions": [QUESTION],
    "family": str, "family_title": str, "families": [FAMILY_PICK],
}
TABLE_ROW = {"inputs": str, "labels": str, "num_labels": Null(str), "format": str, "losses": [str], "distillation": bool}
TABLE = {"family": str, "model": str, "rows": [TABLE_ROW],
         "common": [{"formats": [str], "advice": str, "loss": Null(str), "via": [str]}],
         "wrappers": [str], "modifiers": [str], "regularizers": [str]}
# explain has no data: num_labels is the count where the loss fixes it, null where it is the data's number of classes.
EXPLAIN = {
    "loss": str, "import_path": str, "summary": str, "num_labels": Null(int), "num_labels_rule": Null(str),
    "activation": Null(str), "rows": [{"format": str, "inputs": str, "labels": str, "num_labels": Null(str)}],
    "params": [PARAM], "options": [PARAM], "convertible_from": [{"from": str, "to": str, "summary": str, "needs": [str]}],
    "construction": str, "family": str, "family_title": str, "role": str, "wrapper": Null(str), "other_wrappers": [str],
}
SCALAR = AnyOf((str, int, float, bool, type(None)))
CONVERT = {
    "dataset": str, "output": str, "output_kind": str, "source_format": str, "target_format": str, "steps": [str],
    "rows_in": int, "rows_out": int, "dropped": {"*": int}, "fixes": [str], "notes": [str], "stats": {"*": SCALAR},
    "class_mapping": {"*": AnyOf((str, int))}, "seconds": Number, "unlocks": [str],
    "verdict": Null({"format": Null(str), "losses": [str], "warnings": [str]}), "extra": {"*": SCALAR},
}
SCAFFOLD = {"script": str, "format": str, "loss": str, "family": str, "model_class": str, "fixes": [str], "run": [str]}
# The table's rule for num_labels is text by design (it may say "num_classes"); everywhere else num_labels is a count.
RULE_FIELDS = {("num_labels", str)}


def problems(value: Any, schema: Any, path: str = "$") -> list[str]:
    """Where `value` departs from `schema` (empty when it conforms)."""
    if isinstance(schema, Null):
        return [] if value is None else problems(value, schema.type, path)
    if isinstance(schema, AnyOf):
        return [] if isinstance(value, schema.types) else [f"{path}: {type(value).__name__}, expected one of {schema.types}"]
    if isinstance(schema, list):
        if not isinstance(value, list):
            return [f"{path}: {type(value).__name__}, expected a list"]
        return [p for i, item in enumerate(value) for p in problems(item, schema[0], f"{path}[{i}]")]
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__}, expected an object"]
        if "*" in schema:
            return [p for k, v in value.items() for p in problems(v, schema["*"], f"{path}.{k}")]
        found = [f"{path}: unexpected field '{k}'" for k in value if k not in schema]
        found += [f"{path}: missing field '{k}'" for k in schema if k not in value]
        return found + [p for k, v in value.items() if k in schema for p in problems(v, schema[k], f"{path}.{k}")]
    if schema is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = isinstance(value, schema) and not (schema is int and isinstance(value, bool))
    return [] if ok else [f"{path}: {type(value).__name__} {value!r}, expected {schema.__name__}"]


def field_types(schema: Any, into: dict[str, set] | None = None) -> dict[str, set]:
    """Field name -> the types the schema declares for it, over every command."""
    into = {} if into is None else into
    if isinstance(schema, Null):
        return field_types(schema.type, into)
    if isinstance(schema, list):
        return field_types(schema[0], into)
    if isinstance(schema, dict):
        for key, sub in schema.items():
            declared = sub.type if isinstance(sub, Null) else sub
            kind = "object" if isinstance(declared, dict) else "list" if isinstance(declared, list) else declared
            if key != "*" and (key, kind) not in RULE_FIELDS:
                into.setdefault(key, set()).add(kind if not isinstance(kind, AnyOf) else "any")
            field_types(sub, into)
    return into


def run_json(*args: str) -> Any:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def test_one_type_per_field_name_across_commands():
    declared = field_types([INSPECT, TABLE, EXPLAIN, CONVERT, SCAFFOLD])
    mixed = {name: kinds for name, kinds in declared.items() if len(kinds) > 1}
    assert mixed == {}, mixed


def test_the_checker_catches_a_string_count():
    assert problems({"num_labels": "1"}, {"num_labels": int}) == ["$.num_labels: str '1', expected int"]
    assert problems({"a": 1, "b": 2}, {"a": int}) == ["$: unexpected field 'b'"]
    assert problems({"a": True}, {"a": int})  # a bool is not a count


@needs_real
@pytest.mark.parametrize("dataset", DATASETS, ids=IDS)
def test_inspect_json(dataset):
    assert problems(run_json("inspect", str(dataset)), INSPECT) == []


FAMILIES = ("cross-encoder", "sentence-transformer", "sparse-encoder", "multi-vector")


@pytest.mark.parametrize("family", FAMILIES)
def test_table_json(family):
    table = run_json("table", "--family", family)
    assert problems(table, TABLE) == [] and table["family"] == family


@pytest.mark.parametrize("family", FAMILIES)
def test_explain_json_for_every_loss(family):
    from lossadvisor.table import load_table

    for loss in load_table(None).for_family(family).losses:
        explained = run_json("explain", loss, "--family", family)
        assert problems(explained, EXPLAIN) == [], loss
        assert explained["family"] == family


@needs_real
@pytest.mark.parametrize("args", [("--fix",), ("--to", "triplet"), ("--to", "labeled-list", "--num-negatives", "2")],
                         ids=["fix", "triplet", "labeled-list"])
def test_convert_json(args, tmp_path):
    report = run_json("convert", str(REAL / "squad" / "squad_qa_pairs.csv"), *args, "-o", str(tmp_path / "out.parquet"))
    assert problems(report, CONVERT) == []


def test_scaffold_json(tmp_path):
    report = run_json("scaffold", str(EXAMPLE), "--loss", "BinaryCrossEntropyLoss", "-o", str(tmp_path / "train.py"))
    assert problems(report, SCAFFOLD) == []
