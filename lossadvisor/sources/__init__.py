"""Open whatever a user points at: save_to_disk folders, local data files, globs, folders of files, hub ids.

Two ways in, sharing one reading plan and one schema:
- `open_sample` (sample.py) reads the schema and a bounded sample with pyarrow (no `datasets` import, no full
  scan), for `inspect`;
- `read_table` (full.py) reads everything with the sample's dialect and schema, for `convert` and `trial`.

Modules: spec.py (what a spec names), local.py (parquet, arrow, save_to_disk), text.py (delimited text),
jsonfile.py (JSON, JSON Lines, nested records), hub.py, schema.py (the typing rule both reads share); sources joined
from several files: beir.py (corpus + queries + qrels), ids.py (rows of ids + queries + corpus, resolve_ids),
parallel.py (line-aligned files, one column each).
"""

from lossadvisor.sources.base import (
    DATA_SUFFIXES,
    HUB_ID,
    SAMPLE_ROWS,
    TEXT_WINDOW_BYTES,
    TEXT_WINDOW_MAX_BYTES,
    WINDOW_MIN_LINES,
    Sample,
    TextDialect,
)
from lossadvisor.sources.full import read_table
from lossadvisor.sources.jsonfile import flatten_nested
from lossadvisor.sources.sample import open_sample
from lossadvisor.sources.spec import resolve_files

__all__ = [
    "DATA_SUFFIXES", "HUB_ID", "SAMPLE_ROWS", "TEXT_WINDOW_BYTES", "TEXT_WINDOW_MAX_BYTES", "WINDOW_MIN_LINES", "Sample",
    "TextDialect", "flatten_nested", "open_sample", "read_table", "resolve_files",
]
