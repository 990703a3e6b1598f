"""Conversions that run one record batch at a time, for datasets larger than memory.

A conversion streams when each output row depends only on its own input row: explode, split-negatives,
class-to-binary and teacher. The others need a global view, and `global_view_reasons` says which and why
before any work starts. `stream_parquet` reads a parquet file with pyarrow's `iter_batches` (not
`datasets`' streaming, which hangs at exit on multi-row-group parquet: see the pitfalls notes), converts
each batch, appends it to a hidden sibling of OUT and renames that into place at the end, so that a Ctrl-C
leaves nothing half-written. Memory stays that of one batch whatever the file size.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from lossadvisor.convert.methods import METHODS
from lossadvisor.convert.options import ConvertOptions, StepResult
from lossadvisor.convert.progress import as_reporter
from lossadvisor.errors import FitError

ROW_LOCAL = frozenset({"explode", "split-negatives", "class-to-binary", "teacher"})
GLOBAL_VIEW = {
    "mine": "the corpus is every positive of the dataset (index once, then retrieval and output run in batches)",
    "group": "the rows of one anchor may be anywhere in the file",
    "group-negatives": "the negatives of one anchor may be anywhere in the file",
    "class-sampling": "a premise's rows of each class may be anywhere in the file",
    "pair-positives-with-negatives": "an anchor's positives and negatives may be anywhere in the file",
}
DEFAULT_BATCH_ROWS = 100_000


def global_view_reasons(methods: list[str]) -> dict[str, str]:
    """For each method of a plan that cannot stream batch by batch, why not (empty: the plan streams)."""
    return {m: GLOBAL_VIEW.get(m, "not known to be row-local") for m in methods if m not in ROW_LOCAL}


def stream_parquet(
    source: str | Path,
    out: str | Path,
    method: str,
    target_format: str,
    options: ConvertOptions,
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    progress: Any = None,
) -> StepResult:
    """Convert a parquet file already in the canonical columns of its format, one batch at a time.

    Returns the summed account of every batch (its table is the last batch's output, for the schema).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    reasons = global_view_reasons([method])
    if reasons:
        raise FitError(f"{method} cannot stream batch by batch: {reasons[method]}", "Convert it in memory instead.")
    source, out = Path(source), Path(out)
    partial = out.with_name(f".{out.name}.partial")
    # pre_buffer (pyarrow's default) keeps every pre-read range until the reader closes: memory then grows
    # with the file (measured: +1.7 MB per 100k-row batch); without it, memory stays that of one batch.
    reader = pq.ParquetFile(source, pre_buffer=False)
    task = as_reporter(progress).task(f"{method} (streamed, {batch_rows:,} rows a batch)", reader.metadata.num_rows)
    rows_in = rows_out = rows_used = 0
    dropped: dict[str, int] = {}
    notes: list[str] = []
    last = None
    writer = None
    started = time.perf_counter()
    try:
        for batch in reader.iter_batches(batch_size=batch_rows, use_threads=False):
            step = METHODS[method](pa.Table.from_batches([batch]), target_format, options)
            writer = writer or pq.ParquetWriter(partial, step.table.schema)
            writer.write_table(step.table)
            rows_in, rows_out, rows_used = rows_in + step.rows_in, rows_out + step.rows_out, rows_used + step.rows_used
            for reason, count in step.dropped.items():
                dropped[reason] = dropped.get(reason, 0) + count
            notes.extend(n for n in step.notes if n not in notes)
            last = step
            task.advance(batch.num_rows)
        if writer is None:
            raise FitError(f"{source} has no rows to convert")
        writer.close()
        writer = None
        os.replace(partial, out)
    finally:
        if writer is not None:
            writer.close()
        partial.unlink(missing_ok=True)
    task.finish()
    stats = {"batches": -(-rows_in // batch_rows), "batch_rows": batch_rows, "seconds": round(time.perf_counter() - started, 3)}
    return StepResult(method, target_format, last.table, rows_in, rows_out, rows_used, dropped, notes, stats)
