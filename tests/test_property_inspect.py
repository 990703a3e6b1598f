"""Property: whatever the schema and the values, inspect returns a Report or raises LossAdvisorError, nothing else."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lossadvisor.advice import Report, inspect_dataset
from lossadvisor.errors import LossAdvisorError
from lossadvisor.table import load_table

TABLE = load_table()

NAMES = ["label", "labels", "score", "scores", "id", "qid", "query", "question", "passage", "answer", "anchor", "positive",
         "negative", "negative_1", "docs", "text", "sentence1", "sentence2", "gold_label", "relevance", "dataset_name",
         "return_loss", "title", "split", "ï»¿Quality", "#1 String"]
WORDS = ["the", "cat", "sat", "on", "mat", "what", "is", "bm25?", "Paris", "naïve", "日本語", "🙂", "-", "0", "1", "entailment"]

ARROW_TYPES = {
    "string": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "list_string": pa.list_(pa.string()),
    "list_float": pa.list_(pa.float64()),
    "null": pa.null(),
}

texts = st.one_of(
    st.none(),
    st.just(""),
    st.text(max_size=40),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join),
)
floats = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.floats(0, 1), st.sampled_from([0.0, 1.0, -1.0, 5.0]))
VALUES = {
    "string": texts,
    "int": st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.integers(-1, 4)),
    "float": floats,
    "bool": st.one_of(st.none(), st.booleans()),
    "list_string": st.one_of(st.none(), st.lists(texts, max_size=5)),
    "list_float": st.one_of(st.none(), st.lists(floats, max_size=5)),
    "null": st.none(),
}

schemas = st.lists(
    st.tuples(st.one_of(st.sampled_from(NAMES), st.text(min_size=1, max_size=10)), st.sampled_from(sorted(ARROW_TYPES))),
    min_size=1, max_size=6, unique_by=lambda column: column[0],
)


@st.composite
def datasets(draw):
    schema = draw(schemas)
    rows = draw(st.integers(min_value=1, max_value=25))
    columns = {name: draw(st.lists(VALUES[kind], min_size=rows, max_size=rows)) for name, kind in schema}
    return schema, columns


def inspect_or_error(path: Path) -> Report | LossAdvisorError:
    try:
        return inspect_dataset(str(path), TABLE)
    except LossAdvisorError as exc:  # anything else fails the test
        assert exc.message and "\n" not in exc.message
        return exc


def check(result: Report | LossAdvisorError) -> None:
    if isinstance(result, Report):
        assert result.format is None or result.format in {f.name for f in TABLE.formats}
        assert all(r.loss in TABLE.losses for r in result.recommendations)
        json.dumps(__import__("lossadvisor.render", fromlist=["to_plain"]).to_plain(result), default=str)
        check_warnings(result)


def check_warnings(report: Report) -> None:
    """Warnings are data: a known code, `fixable` exactly for the codes `convert --fix` repairs, their columns real,
    and every fix that is `datasets` code (`dataset = ...`) valid Python."""
    from lossadvisor.checks import FIXABLE, WarningCode

    names = {c.name for c in report.columns}
    for w in report.warnings:
        assert w.code in {c.value for c in WarningCode}, w.code
        assert w.fixable == (w.code in FIXABLE), w
        assert set(w.columns) <= names, w
        if w.fix.startswith("dataset = "):
            compile(w.fix, "<fix>", "exec")


def jsonable(value):
    if isinstance(value, float) and math.isnan(value):
        return float("nan")  # written as NaN, which json.loads (and so `datasets`) reads back
    return value


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(datasets())
def test_random_schemas_never_crash_inference(data):
    schema, columns = data
    with tempfile.TemporaryDirectory() as folder:
        table = pa.table({name: pa.array(columns[name], type=ARROW_TYPES[kind]) for name, kind in schema})
        parquet = Path(folder) / "data.parquet"
        pq.write_table(table, parquet)
        check(inspect_or_error(parquet))

        jsonl = Path(folder) / "data.jsonl"
        records = [{name: jsonable(columns[name][i]) for name, _ in schema} for i in range(table.num_rows)]
        jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        check(inspect_or_error(jsonl))


@pytest.mark.parametrize("content", [
    '{"query": NaN, "label": Infinity}\n',
    '{"a": [1, "x"]}\n',
    '{"a": 1}\n{"a": "x"}\n',
    '{"a": {}}\n',
    '{}\n',
    '{"a": 123456789012345678901234567890}\n',
    '{"q": "what is it?", "d": ["a b c", null], "label": [1, null]}\n',
])
def test_odd_json_lines(tmp_path, content):
    path = tmp_path / "odd.jsonl"
    path.write_text(content, encoding="utf-8")
    check(inspect_or_error(path))
