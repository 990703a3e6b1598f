"""`lossadvisor convert` as one core function: read, fix, plan, convert, write safely, re-inspect."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lossadvisor.errors import FitError


@dataclass(frozen=True)
class Verdict:
    """What `inspect` says of the written output."""

    format: str | None
    losses: tuple[str, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class ConvertReport:
    dataset: str
    output: str
    output_kind: str
    source_format: str
    target_format: str
    steps: tuple[str, ...]
    rows_in: int
    rows_out: int
    dropped: dict[str, int]
    fixes: tuple[str, ...]
    notes: tuple[str, ...]
    stats: dict[str, Any]
    class_mapping: dict[str, int]
    seconds: float
    unlocks: tuple[str, ...]
    verdict: Verdict | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _protected_paths(spec: str) -> list[Path]:
    from lossadvisor.outputs import input_paths
    from lossadvisor.sources import resolve_files

    resolve_files(spec)  # a spec that names nothing fails here, with its own message
    return input_paths(spec)


def _provenance(spec: str, first) -> dict:
    """What the written data records about where it came from (parquet metadata / dataset info)."""
    return {
        "lossadvisor": {
            "source": spec, "source_format": first.source, "format": first.target, "steps": first.steps,
            "fixes": list(first.prepared.result.applied), "class_mapping": first.prepared.result.class_mapping,
        }
    }


def _summed_drops(parts) -> dict[str, int]:
    dropped: dict[str, int] = {}
    for part in parts:
        for reason, count in part.dropped.items():
            dropped[reason] = dropped.get(reason, 0) + count
    return dropped


def convert_dataset(
    spec: str,
    target: str | None,
    out: Path,
    loss_table,
    options,
    *,
    fix_only: bool = False,
    overwrite: bool = False,
    split: str | None = None,
    subset: str | None = None,
    choice=None,
    reading: str | None = None,
    score_range: tuple[float, float] | None = None,
    gain=None,
    progress=None,
    reinspect: bool = True,
    other_inputs=(),
) -> ConvertReport:
    """Convert one split, or every split of a DatasetDict (when no --split is given and OUT is a dataset folder:
    each split converted the same way, written as a DatasetDict, row counts per split in stats['splits'])."""
    from lossadvisor.convert import check_output, output_kind, write_output
    from lossadvisor.convert.writer import DATASET_FOLDER

    started = time.perf_counter()
    from lossadvisor.sources.parallel import files_as_columns

    spec, choice = files_as_columns(spec, choice)  # --inputs a.toks,b.toks --label sim.txt: files as columns
    if target is None and not fix_only:
        raise FitError("say what to convert to: --to FORMAT (or --fix to tidy the data in its own format)")
    wanted = loss_table.resolve_format(target) if target else None
    protect = _protected_paths(spec) + [Path(p) for p in other_inputs if p]  # --corpus, --table
    check_output(out, overwrite=overwrite, protect=protect)
    splits = _dict_splits(spec) if split is None and subset is None else ()
    keep_all = len(splits) > 1 and output_kind(out) == DATASET_FOLDER
    args = dict(subset=subset, score_range=score_range, choice=choice, reading=reading, gain=gain, progress=progress)
    streamer, blocker = _streamer(spec, wanted, out, loss_table, options, split, **args)
    if streamer is not None:
        return _convert_streamed(streamer, spec, out, loss_table, overwrite=overwrite, protect=protect,
                                 reinspect=reinspect, started=started)
    first = _convert_one(spec, wanted, loss_table, options, split, **args)
    parts = {first.split or "train": first}
    if keep_all:
        for name in splits:
            if name not in parts:
                parts[name] = _convert_one(spec, first.target, loss_table, options, name, **args)
    notes = list(first.notes)
    stats = dict(first.stats)
    if keep_all:
        stats["splits"] = {name: {"rows_in": p.rows_in, "rows_out": p.table.num_rows} for name, p in parts.items()}
        notes.append("kept every split: " + ", ".join(f"{n} ({p.rows_in:,} → {p.table.num_rows:,} rows)" for n, p in parts.items()))
    elif len(splits) > 1:
        notes.append(f"only split '{first.split}' was converted: write OUT as a dataset folder to keep "
                     f"{', '.join(s for s in splits if s != first.split)} too, or pick one with --split")
    notes.append(f"read whole, not streamed: {blocker}")
    tables = {name: p.table for name, p in parts.items()} if keep_all else first.table
    written = write_output(tables, out, overwrite=overwrite, metadata=_provenance(spec, first), protect=protect)
    verdict = _verdict(str(written.path), loss_table, first.target) if reinspect else None
    return ConvertReport(
        dataset=spec,
        output=str(written.path),
        output_kind=output_kind(out),
        source_format=first.source,
        target_format=first.target,
        steps=tuple(first.steps),
        rows_in=sum(p.rows_in for p in parts.values()),
        rows_out=sum(p.table.num_rows for p in parts.values()),
        dropped=_summed_drops(parts.values()),
        fixes=first.prepared.result.applied,
        notes=tuple(notes),
        stats=stats,
        class_mapping=first.prepared.result.class_mapping,
        seconds=round(time.perf_counter() - started, 3),
        unlocks=_unlocks(loss_table, first.source, first.target),
        verdict=verdict,
        extra={"streamed": False, "stream_blocker": blocker},
    )


def _streamer(spec: str, wanted: str | None, out: Path, loss_table, options, split: str | None, *, subset, score_range,
              choice, reading, gain, progress):
    """(a StreamedConversion, None) when this conversion streams batch by batch, else (None, why not)."""
    from lossadvisor.convert import output_kind
    from lossadvisor.convert.streaming import STREAM_OUTPUTS, StreamedConversion, stream_blocker
    from lossadvisor.sources import resolve_files

    kind = resolve_files(spec)[0]
    if kind != "parquet":
        return None, f"only parquet input streams (this is {kind}, read whole)"
    if output_kind(out) not in STREAM_OUTPUTS:
        return None, f"a .{output_kind(out)} output is written whole (write .parquet or a dataset folder to stream)"
    from lossadvisor.advice import advise
    from lossadvisor.convert import plan_conversion
    from lossadvisor.profile import build_profile
    from lossadvisor.sources import open_sample

    sample = open_sample(spec, split=split, subset=subset)
    if sample.table.num_rows == 0:
        return None, "the dataset is empty"
    report = advise(build_profile(sample, choice), loss_table, reading)
    if report.format is None or report.tidy is None:
        return None, "no format fits the data"  # the in-memory path says so, with its hint
    source = report.format
    target = wanted or source
    if report.classes and options.class_names is None:
        options = replace(options, class_names=tuple(report.classes))
    plan = plan_conversion(loss_table, source, target, options)  # fails before any slow work
    keep_constant = (wanted is not None and wanted != "labeled-list") or options.keep_constant_lists
    blocker = stream_blocker(sample, report, [c.method for c in plan], output_kind(out), score_range=score_range,
                             gain=gain, keep_constant_lists=keep_constant)
    if blocker is not None:
        return None, blocker
    return StreamedConversion(sample, report, source, target, loss_table, options, score_range=score_range,
                              keep_constant_lists=keep_constant, progress=progress), None


def _convert_streamed(streamer, spec: str, out: Path, loss_table, *, overwrite: bool, protect, reinspect: bool,
                      started: float) -> ConvertReport:
    from lossadvisor.convert import output_kind
    from lossadvisor.convert.writer import write_streamed

    steps = ["fix"] + [c.method for c in streamer._plan()]

    def metadata() -> dict[str, Any]:
        return {"lossadvisor": {"source": spec, "source_format": streamer.source, "format": streamer.target,
                                "steps": steps, "fixes": list(streamer.applied), "class_mapping": streamer.class_mapping}}

    written = write_streamed(lambda path, kind: streamer.write(path, kind, metadata), out, overwrite, metadata,
                             protect=protect)
    verdict = _verdict(str(written.path), loss_table, streamer.target) if reinspect else None
    dropped = {f"fix: {reason}": count for reason, count in streamer.fix_dropped.items()}
    dropped.update(streamer.dropped)
    notes = list(streamer.notes)
    memory = "memory of one batch" + (f", plus 16 bytes per kept row for the duplicate check: {streamer.seen.rows:,} rows"
                                      if streamer.seen is not None else "")
    notes.append(f"streamed: {streamer.batches:,} batch(es) of up to {streamer.batch_rows:,} rows ({memory})")
    stats = dict(streamer.stats)
    stats.update(stream_batches=streamer.batches, stream_batch_rows=streamer.batch_rows)
    return ConvertReport(
        dataset=spec,
        output=str(written.path),
        output_kind=output_kind(out),
        source_format=streamer.source,
        target_format=streamer.target,
        steps=tuple(steps),
        rows_in=streamer.rows_in,
        rows_out=streamer.rows_out,
        dropped=dropped,
        fixes=tuple(streamer.applied),
        notes=tuple(notes),
        stats=stats,
        class_mapping=streamer.class_mapping,
        seconds=round(time.perf_counter() - started, 3),
        unlocks=_unlocks(loss_table, streamer.source, streamer.target),
        verdict=verdict,
        extra={"streamed": True, "stream_blocker": None},
    )


@dataclass(frozen=True)
class _Part:
    """One split read, fixed and converted."""

    split: str | None
    prepared: Any
    source: str
    target: str
    table: Any
    steps: list[str]
    dropped: dict[str, int]
    notes: list[str]
    stats: dict[str, Any]

    @property
    def rows_in(self) -> int:
        return self.prepared.result.rows_in


def _dict_splits(spec: str) -> tuple[str, ...]:
    from lossadvisor.sources import resolve_files

    kind, files = resolve_files(spec)
    if kind != "save_to_disk":
        return ()
    from lossadvisor.sources.local import _save_to_disk_split

    return _save_to_disk_split(Path(files[0]), None)[2]


def _convert_one(spec: str, wanted: str | None, loss_table, options, split: str | None, *, subset, score_range, choice,
                 reading, gain, progress) -> _Part:
    from lossadvisor.convert import plan_conversion, run_conversion
    from lossadvisor.tidy import load_canonical

    prepared = load_canonical(spec, loss_table, split=split, subset=subset, score_range=score_range,
                              choice=choice, reading=reading, gain=gain,
                              # lists with nothing to rank are dropped for the listwise losses only
                              keep_constant_lists=(wanted is not None and wanted != "labeled-list")
                              or options.keep_constant_lists)
    source = prepared.format
    wanted = wanted or source
    if prepared.report.classes and options.class_names is None:
        options = replace(options, class_names=tuple(prepared.report.classes))
    plan = plan_conversion(loss_table, source, wanted, options)  # fails before any slow work
    dropped = {f"fix: {reason}": count for reason, count in prepared.result.dropped.items()}
    # what joining the source's files left out (ids or judgments whose text is not there) is said with the rows
    notes: list[str] = [w.message for w in prepared.report.warnings if w.code in ("resolved-ids", "beir-folder")]
    stats: dict[str, Any] = {}
    steps = ["fix"]
    table = prepared.table
    if plan:
        result = run_conversion(table, source, wanted, loss_table, options, progress=progress)
        table = result.table
        dropped.update(result.dropped)
        notes.extend(result.notes)
        stats = dict(result.stats)
        steps += [step.method for step in plan]
    if table.num_rows == 0:
        # An empty output would only fail later (inspect, the trainer); say why here, and write nothing.
        reasons = "; ".join(f"{count:,} {reason}" for reason, count in dropped.items()) or "no rows came out"
        raise FitError(
            f"converting {spec} from {source} to {wanted} leaves no rows (dropped: {reasons})",
            (f"{notes[0]}. " if notes else "") + "Check the columns it read (--inputs, --label), or choose another --to.",
        )
    return _Part(prepared.report.split, prepared, source, wanted, table, steps, dropped, notes, stats)


def _unlocks(loss_table, source: str, wanted: str) -> tuple[str, ...]:
    """The losses the target format allows that the source format did not."""
    before = {loss for row in loss_table.rows_for_format(source) for loss in row.losses}
    return tuple(dict.fromkeys(loss for row in loss_table.rows_for_format(wanted) for loss in row.losses if loss not in before))


def _verdict(path: str, loss_table, target: str | None = None) -> Verdict:
    """inspect's verdict on the output; a format the shape cannot tell (anchor-anchor) is read as what was made."""
    from lossadvisor.advice import inspect_dataset
    from lossadvisor.errors import LossAdvisorError

    reading = target if target is not None and loss_table.format(target).explicit else None
    try:
        report = inspect_dataset(path, loss_table, reading=reading)
    except LossAdvisorError as exc:
        return Verdict(None, (), (f"re-inspect failed: {exc.message}",))
    return Verdict(
        report.format,
        tuple(r.loss for r in report.recommendations),
        tuple(w.code for w in report.warnings if w.severity == "warning"),
    )
