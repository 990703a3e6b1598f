"""Conversions that run one record batch at a time, for datasets larger than memory.

A conversion streams when each output row depends only on its own input row: explode, split-negatives,
class-to-binary and teacher. The others need a global view, and `global_view_reasons` says which and why
before any work starts. `stream_parquet` reads a parquet file with pyarrow's `iter_batches` (not
`datasets`' streaming, which hangs at exit on multi-row-group parquet: see the pitfalls notes), converts
each batch, appends it to a hidden sibling of OUT and renames that into place at the end, so that a Ctrl-C
leaves nothing half-written. Memory stays that of one batch whatever the file size.

`lossadvisor convert` streams through `StreamedConversion` (read → inspect's fixes → the conversion chain → write,
one batch at a time) when the input is local parquet, OUT is a .parquet file or a dataset folder, and
`stream_blocker` finds nothing that needs the whole table; otherwise it reads the table whole and says why.
The only thing that grows with the rows is the duplicate check (`SeenRows`: 16 bytes a kept row).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from lossadvisor.convert.methods import METHODS
from lossadvisor.convert.options import ConvertOptions, StepResult
from lossadvisor.convert.progress import as_reporter
from lossadvisor.convert.seen_rows import SeenRows as SeenRows  # re-exported: the streamed de-duplication
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


# What `convert` streams: local parquet in, a .parquet file or a dataset folder out.
STREAM_OUTPUTS = ("parquet", "datasets")
_SUMMED = frozenset({"pairs", "blank_docs_dropped", "positives", "negatives", "blank_negatives_dropped", "pairs_scored",
                     "negatives_scored_above_positive", "outside_range"})


def stream_blocker(sample: Any, report: Any, methods: list[str], out_kind: str, *, score_range: Any = None,
                   gain: Any = None, keep_constant_lists: bool = False) -> str | None:
    """Why `convert` must read this dataset whole, or None when it can stream it batch by batch.

    Row-local fixes stream: selecting, reordering and renaming columns, casting, mapping class names, rescaling
    with a known range, dropping null rows and lists with nothing to rank; exact duplicates are dropped by a set of
    128-bit row hashes (16 bytes a row). Grouping by anchor, rescaling by the column's own range and --gain (whose
    output type depends on every label) need the whole column.
    """
    if sample.kind != "parquet":
        return f"only parquet input streams (this is {sample.kind}, read whole)"
    if sample.fields_flattened or sample.flattened:
        return "nested columns are flattened on the whole table"
    if out_kind not in STREAM_OUTPUTS:
        return f"a .{out_kind} output is written whole (write .parquet or a dataset folder to stream)"
    reasons = global_view_reasons(methods)
    if reasons:
        method, why = next(iter(reasons.items()))
        return f"{method} needs a global view: {why}"
    plan = report.tidy
    if plan.group_by_anchor:
        return "the fix 'group rows by anchor' needs a global view: the rows of one anchor may be anywhere in the file"
    if plan.label and not plan.label_parts and plan.score_range is not None and score_range is None:
        return "the fix 'rescale scores' uses the whole column's range (pass --score-range LO:HI to stream)"
    if gain is not None:
        return "--gain needs every label (the output type depends on all of them)"
    return None


def _merge_stats(total: dict[str, Any], stats: dict[str, Any]) -> None:
    for key, value in stats.items():
        if isinstance(value, dict):
            _merge_stats(total.setdefault(key, {}), value)
        elif key not in total:
            total[key] = value
        elif key in _SUMMED and isinstance(value, (int, float)) and not isinstance(value, bool):
            total[key] += value
        elif key.endswith("_min") and value is not None and total[key] is not None:
            total[key] = min(total[key], value)
        elif key.endswith("_max") and value is not None and total[key] is not None:
            total[key] = max(total[key], value)


_COUNTED = re.compile(r"^(\D*?)(\d+)(\D.*)?$", re.S)


def _merge_lines(lines: list[str], new: list[str]) -> None:
    """Notes of one more batch into the notes so far: a note that differs from an earlier one only in its first
    number is a count ('12 blank documents were left out') and is summed, so the notes read as for the whole table."""
    for line in new:
        if line in lines:
            continue
        match = _COUNTED.match(line)
        for i, seen in enumerate(lines):
            other = _COUNTED.match(seen)
            if match and other and (match[1], match[3]) == (other[1], other[3]):
                lines[i] = f"{match[1]}{int(match[2]) + int(other[2])}{match[3] or ''}"
                break
        else:
            lines.append(line)


def _add(total: dict[str, int], counts: dict[str, int], prefix: str = "") -> None:
    for reason, count in counts.items():
        total[prefix + reason] = total.get(prefix + reason, 0) + count


class StreamedConversion:
    """`convert`'s read → fix → convert chain run one record batch at a time; the account summed over batches."""

    def __init__(self, sample: Any, report: Any, source: str, target: str, loss_table: Any, options: ConvertOptions, *,
                 score_range: Any = None, keep_constant_lists: bool = False, batch_rows: int | None = None,
                 progress: Any = None) -> None:
        self.sample, self.report, self.source, self.target = sample, report, source, target
        self.loss_table, self.options = loss_table, options
        self.score_range, self.progress = score_range, progress
        self.batch_rows = batch_rows or DEFAULT_BATCH_ROWS
        plan = report.tidy
        self.drop_constant = plan.drop_constant_lists and not keep_constant_lists
        self.seen = SeenRows() if plan.drop_duplicates else None
        self.rows_in = self.rows_out = self.batches = 0
        self.fix_dropped: dict[str, int] = {}
        self.dropped: dict[str, int] = {}
        self.applied: list[str] = []
        self.class_mapping: dict[str, int] = {}
        self.notes: list[str] = []
        self.stats: dict[str, Any] = {}
        self.steps: list[Any] = []

    def _batches(self) -> Any:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from lossadvisor.sources.schema import conform

        for name in self.sample.files:
            # pre_buffer off: pyarrow keeps every pre-read range until the reader closes (memory grows with the file)
            reader = pq.ParquetFile(name, pre_buffer=False)
            try:
                for batch in reader.iter_batches(batch_size=self.batch_rows, use_threads=False):
                    yield conform(pa.Table.from_batches([batch]), self.sample.table.schema, self.sample.spec)
            finally:
                reader.close()

    def _fix(self, table: Any) -> Any:
        from lossadvisor.convert import clean
        from lossadvisor.tidy import tidy

        result = tidy(table, self.report, drop_duplicates=False, score_range=self.score_range, keep_constant_lists=True)
        _add(self.fix_dropped, result.dropped)
        _merge_lines(self.applied, list(result.applied))
        self.class_mapping = self.class_mapping or dict(result.class_mapping)
        table = result.table
        if self.seen is not None:  # apply_plan's order: duplicates, then lists with nothing to rank
            step = self.seen.drop(table)
            _add(self.fix_dropped, step.dropped)
            table = step.table
        if self.drop_constant and clean.LABEL in table.column_names:
            step = clean.drop_constant_lists(table)
            _add(self.fix_dropped, step.dropped)
            table = step.table
        return table

    def _convert(self, table: Any) -> Any:
        from lossadvisor.convert.plan import run_conversion

        if self.source == self.target or table.num_rows == 0:
            return table
        result = run_conversion(table, self.source, self.target, self.loss_table, self.options)
        _add(self.dropped, result.dropped)
        _merge_lines(self.notes, list(result.notes))
        _merge_stats(self.stats, result.stats)
        return result.table

    def tables(self) -> Any:
        """The converted batches, in order (the accounting fills in as they are taken)."""
        total = self.sample.num_rows or 0
        task = as_reporter(self.progress).task(f"converting (streamed, {self.batch_rows:,} rows a batch)", total)
        if "teacher" in [c.method for c in self._plan()] and isinstance(self.options.teacher, (str, Path)):
            from dataclasses import replace

            from lossadvisor.convert.models import load_teacher

            model = load_teacher(self.options.teacher, trust_remote_code=self.options.trust_remote_code)
            self.options = replace(self.options, teacher=model)
        batches = self._batches()
        try:  # an unfinished parquet iterator left to the interpreter's exit can crash it: close it here
            for raw in batches:
                self.batches += 1
                self.rows_in += raw.num_rows
                out = self._convert(self._fix(raw))
                self.rows_out += out.num_rows
                task.advance(raw.num_rows)
                if out.num_rows:
                    yield out
        finally:
            batches.close()
        task.finish()

    def _plan(self) -> list[Any]:
        from lossadvisor.convert.plan import plan_conversion

        return plan_conversion(self.loss_table, self.source, self.target, self.options) if self.source != self.target else []

    def write(self, temporary: Path, kind: str, metadata: Any) -> int:
        """Write every converted batch to `temporary` (a .parquet file or a save_to_disk folder); the rows written.

        metadata: a callable giving the provenance to store, called once the first batch is converted (the fixes
        applied are known then)."""
        if kind == "parquet":
            return self._write_parquet(temporary, metadata)
        return self._write_dataset_folder(temporary, metadata)

    def _no_rows(self) -> FitError:
        dropped = {f"fix: {r}": n for r, n in self.fix_dropped.items()} | self.dropped
        reasons = "; ".join(f"{count:,} {reason}" for reason, count in dropped.items()) or "no rows came out"
        return FitError(f"converting {self.sample.spec} from {self.source} to {self.target} leaves no rows (dropped: {reasons})",
                        "Check the columns it read (--inputs, --label), or choose another --to.")

    def _write_parquet(self, path: Path, metadata: Any) -> int:
        import json

        import pyarrow.parquet as pq

        from lossadvisor.convert.writer import METADATA_KEY

        writer = None
        schema = None
        try:
            for table in self.tables():
                if writer is None:
                    schema = table.schema
                    metadata = metadata()
                    if metadata:
                        schema = schema.with_metadata({**(schema.metadata or {}), METADATA_KEY: json.dumps(metadata, sort_keys=True).encode()})
                    writer = pq.ParquetWriter(path, schema)
                writer.write_table(table.cast(schema))
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            raise self._no_rows()
        return self.rows_out

    def _write_dataset_folder(self, folder: Path, metadata: Any) -> int:
        """A save_to_disk folder of one shard, written batch by batch: an empty dataset saved by `datasets` gives
        state.json and dataset_info.json, and the shard is an Arrow stream with the schema `datasets` gave it."""
        import json

        import pyarrow as pa
        from datasets import Dataset, DatasetInfo
        from datasets.table import InMemoryTable

        from lossadvisor.convert.writer import _datasets_quiet

        shard_name = "data-00000-of-00001.arrow"
        writer = sink = None
        try:
            for table in self.tables():
                if writer is None:
                    metadata = metadata()
                    info = DatasetInfo(description=json.dumps(metadata, sort_keys=True)) if metadata else None
                    empty = Dataset(InMemoryTable(table.slice(0, 0)), info=info)
                    with _datasets_quiet():
                        empty.save_to_disk(str(folder))
                    schema = empty.data.schema
                    state_file = folder / "state.json"
                    state = json.loads(state_file.read_text())
                    state["_data_files"] = [{"filename": shard_name}]
                    state_file.write_text(json.dumps(state, indent=2, sort_keys=True))
                    sink = pa.OSFile(str(folder / shard_name), "wb")
                    writer = pa.ipc.new_stream(sink, schema)
                writer.write_table(table.cast(schema))
        finally:
            if writer is not None:
                writer.close()
            if sink is not None:
                sink.close()
        if writer is None:
            raise self._no_rows()
        return self.rows_out
