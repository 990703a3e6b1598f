"""What every reader shares: the Sample a reader returns, the text dialect, limits, and small helpers."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

SAMPLE_ROWS = 2000
# Text files are sniffed from their head; whole-file facts (merged rows, ragged lines) come from this window.
TEXT_WINDOW_BYTES = 4 * 1024 * 1024
# ...grown (up to TEXT_WINDOW_MAX_BYTES) while it holds fewer lines than this: a few huge cells do not hide the rows.
WINDOW_MIN_LINES = 50
TEXT_WINDOW_MAX_BYTES = 64 * 1024 * 1024
DATA_SUFFIXES = {".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson", ".parquet", ".arrow"}
TREC_SUFFIXES = {".qrels", ".run", ".trec"}  # read as text, to be recognised as ids (sources/beir.py)
# The name pandas and `datasets` give the index column df.to_csv() writes (its header cell is empty).
PANDAS_INDEX = "Unnamed: 0"
INDEX_COLUMNS = re.compile(r"^(Unnamed: \d+|__index_level_\d+__)$")
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")

@dataclass(frozen=True)
class TextDialect:
    delimiter: str
    quoting: bool
    header: bool
    column_names: tuple[str, ...]
    encoding: str = "utf-8"
    decimal_comma: tuple[str, ...] = ()  # columns of numbers written with a decimal comma ("0,5"): read as 0.5


@dataclass(frozen=True)
class Sample:
    """A bounded view of a dataset: what inference works on."""

    spec: str
    kind: str  # parquet | arrow | save_to_disk | csv | json | hub
    table: pa.Table
    num_rows: int | None
    files: tuple[str, ...]
    split: str | None = None
    splits: tuple[str, ...] = ()
    class_names: dict[str, list[str]] = field(default_factory=dict)
    dialect: TextDialect | None = None
    json_field: str | None = None
    flattened: tuple[str, ...] = ()
    reading_notes: tuple[tuple[str, str], ...] = ()  # (code, message) noticed while reading
    column_stats: dict[str, dict[str, Any]] = field(default_factory=dict)
    fields_flattened: tuple[str, ...] = ()  # struct / judged-record columns read as `a.b` columns (sources/nested.py)
    schema_before: pa.Schema | None = None  # the schema as stored, when fields were flattened
    # What a composite source (sources/ids.py) found while reading, for its load code: data, not prose.
    source_info: dict[str, Any] = field(default_factory=dict)

    @property
    def exhaustive(self) -> bool:
        """True when the sample is the whole dataset."""
        return self.num_rows is not None and self.num_rows == self.table.num_rows


def _class_names_from_schema(schema: pa.Schema) -> dict[str, list[str]]:
    """ClassLabel names that `datasets` keeps in the Arrow schema metadata."""
    metadata = schema.metadata or {}
    raw = metadata.get(b"huggingface")
    if not raw:
        return {}
    try:
        features = json.loads(raw).get("info", {}).get("features", {})
    except (ValueError, AttributeError, RecursionError):
        return {}
    return _class_names(features)


def _class_names(features: Any) -> dict[str, list[str]]:
    """ClassLabel names from a `datasets` features dict; whatever is malformed in it is ignored."""
    if not isinstance(features, dict):
        return {}
    return {
        str(name): [str(n) for n in feature["names"]]
        for name, feature in features.items()
        if isinstance(feature, dict) and feature.get("_type") == "ClassLabel" and isinstance(feature.get("names"), list)
        and feature["names"]
    }


def _first_batches(batches, limit: int, schema: pa.Schema) -> pa.Table:
    collected, count = [], 0
    for batch in batches:
        collected.append(batch)
        count += batch.num_rows
        if count >= limit:
            break
    table = pa.Table.from_batches(collected, schema=schema) if collected else schema.empty_table()
    return table.slice(0, limit)



def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def json_lines(path, handle):
    """The records of a JSON Lines file, blank lines skipped; a line that is not JSON is a one-line SourceError."""
    from lossadvisor.errors import SourceError

    for number, line in enumerate(handle, 1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except ValueError:
            raise SourceError(f"{path}: line {number} is not JSON") from None
