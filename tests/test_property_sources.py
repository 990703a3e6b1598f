"""Property: the sample (what inspect sees) and the full read (what convert and trial see) agree on types.

Generated CSV and JSON Lines files, sampled with a row limit below their length so that the full read really reads
more: the full read has the sample's schema, its first rows are the sample's rows value for value, or it refuses
with a SourceError naming a column whose later values do not read as the sample's type.
"""

from __future__ import annotations

import csv
import json
import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lossadvisor.errors import SourceError
from lossadvisor.sources import open_sample, read_table

CELLS = {
    "zero-padded": st.integers(0, 9999).map(lambda n: f"{n:04d}"),
    "int": st.integers(-(2**63), 2**63 - 1).map(str),
    "small-int": st.integers(-3, 3).map(str),
    "float": st.floats(allow_nan=False, allow_infinity=False).map(repr),
    "word": st.sampled_from(["yes", "no", "N/A", "-", "1_000", "+5", " 7", "1e5", "nan", "TRAIN", "0x1F"]),
    "text": st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=20),
    "quoted": st.lists(st.sampled_from(['say "hi"', "a, b", "it's", "tab\there", "two\nlines", '""']), min_size=1, max_size=3)
    .map(" ".join),
    "empty": st.just(""),
}


@st.composite
def csv_files(draw):
    width = draw(st.integers(1, 4))
    kinds = [draw(st.lists(st.sampled_from(sorted(CELLS)), min_size=1, max_size=3)) for _ in range(width)]
    rows = draw(st.integers(3, 25))
    body = [[draw(st.one_of(*(CELLS[k] for k in kinds[c]))) for c in range(width)] for _ in range(rows)]
    return [f"col{c}" for c in range(width)], body


JSON_VALUES = {
    "int": st.integers(-(2**53), 2**53),
    "float": st.floats(allow_nan=False, allow_infinity=False, width=32),
    "integral-float": st.integers(-5, 5).map(float),
    "zero-padded": st.integers(0, 999).map(lambda n: f"{n:04d}"),
    "string": st.text(max_size=12),
    "bool": st.booleans(),
    "strings": st.lists(st.text(max_size=5), max_size=3),
}


@st.composite
def json_files(draw):
    width = draw(st.integers(1, 4))
    kinds = [draw(st.lists(st.sampled_from(sorted(JSON_VALUES)), min_size=1, max_size=2)) for _ in range(width)]
    rows = draw(st.integers(3, 25))
    records = []
    for _ in range(rows):
        record = {}
        for c in range(width):
            value = draw(st.one_of(st.none(), *(JSON_VALUES[k] for k in kinds[c])))
            record[f"k{c}"] = value
        records.append(record)
    return records


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _check(path: Path, limit: int) -> None:
    try:
        sample = open_sample(str(path), limit=limit)
    except SourceError:
        return  # unreadable from its head: nothing for the full read to agree with
    try:
        full = read_table(sample)
    except SourceError as exc:
        # Refusing is right only when the rest of a column really holds something the sample's type cannot.
        assert "reads as" in exc.message or "inconsistent types" in exc.message, exc.message
        return
    assert full.schema == sample.table.schema
    head = full.slice(0, sample.table.num_rows)
    for name in sample.table.column_names:
        left, right = sample.table.column(name).to_pylist(), head.column(name).to_pylist()
        assert all(_same(a, b) for a, b in zip(left, right)), (name, left, right)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_files(), st.integers(1, 3))
def test_csv_sample_and_full_read_share_one_schema(data, limit):
    names, body = data
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.csv"
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(names)
            writer.writerows(body)
        _check(path, limit)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_files(), st.integers(1, 3))
def test_json_sample_and_full_read_share_one_schema(records, limit):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.jsonl"
        path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
        _check(path, limit)


def test_zero_padded_ids_are_text_in_both_reads(tmp_path):
    """Regression: a CSV column 0001, 0002, … was text in the sample and int64 in the full read."""
    path = tmp_path / "ids.csv"
    lines = ["id,question,answer"] + [f"{i:04d},what is item {i}?,it is the item numbered {i}" for i in range(1, 41)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sample = open_sample(str(path), limit=10)
    assert not sample.exhaustive
    full = read_table(sample)
    assert str(sample.table.schema.field("id").type) == "string"
    assert full.schema.field("id").type == sample.table.schema.field("id").type
    assert full.column("id").to_pylist()[:3] == ["0001", "0002", "0003"]


@pytest.mark.parametrize("cells, expected", [
    (["0001", "0002"], "string"), (["1", "-2", None], "int64"), (["1", "1.5", "nan"], "double"), (["+5"], "double"),
    (["1_000"], "string"), ([" 7"], "string"), ([None, None], "string"), (["9223372036854775808"], "double"),
])
def test_the_typing_rule(cells, expected):
    from lossadvisor.sources.schema import infer_type

    assert str(infer_type(cells)) == expected


def test_a_late_value_that_breaks_the_sampled_type_is_refused_by_name(tmp_path):
    path = tmp_path / "late.csv"
    lines = ["question,answer,score"] + [f"q {i}?,answer number {i},{i % 3}" for i in range(30)] + ["q late?,a late,high"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sample = open_sample(str(path), limit=10)
    with pytest.raises(SourceError, match="column 'score' reads as int64"):
        read_table(sample)
