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
    progress=None,
    reinspect: bool = True,
    other_inputs=(),
) -> ConvertReport:
    from lossadvisor.convert import check_output, output_kind, plan_conversion, run_conversion, write_output
    from lossadvisor.tidy import load_canonical

    started = time.perf_counter()
    if target is None and not fix_only:
        raise FitError("say what to convert to: --to FORMAT (or --fix to tidy the data in its own format)")
    wanted = loss_table.resolve_format(target) if target else None
    protect = _protected_paths(spec) + [Path(p) for p in other_inputs if p]  # --corpus, --table
    check_output(out, overwrite=overwrite, protect=protect)

    prepared = load_canonical(spec, loss_table, split=split, subset=subset, score_range=score_range,
                              choice=choice, reading=reading)
    source = prepared.format
    wanted = wanted or source
    if prepared.report.classes and options.class_names is None:
        options = replace(options, class_names=tuple(prepared.report.classes))
    plan = plan_conversion(loss_table, source, wanted, options)  # fails before any slow work
    dropped = {f"fix: {reason}": count for reason, count in prepared.result.dropped.items()}
    notes: list[str] = []
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
    metadata = {
        "lossadvisor": {
            "source": spec, "source_format": source, "format": wanted, "steps": steps,
            "fixes": list(prepared.result.applied), "class_mapping": prepared.result.class_mapping,
        }
    }
    written = write_output(table, out, overwrite=overwrite, metadata=metadata, protect=protect)
    verdict = _verdict(str(written.path), loss_table) if reinspect else None
    return ConvertReport(
        dataset=spec,
        output=str(written.path),
        output_kind=output_kind(out),
        source_format=source,
        target_format=wanted,
        steps=tuple(steps),
        rows_in=prepared.result.rows_in,
        rows_out=table.num_rows,
        dropped=dropped,
        fixes=prepared.result.applied,
        notes=tuple(notes),
        stats=stats,
        class_mapping=prepared.result.class_mapping,
        seconds=round(time.perf_counter() - started, 3),
        unlocks=_unlocks(loss_table, source, wanted),
        verdict=verdict,
    )


def _unlocks(loss_table, source: str, wanted: str) -> tuple[str, ...]:
    """The losses the target format allows that the source format did not."""
    before = {loss for row in loss_table.rows_for_format(source) for loss in row.losses}
    return tuple(dict.fromkeys(loss for row in loss_table.rows_for_format(wanted) for loss in row.losses if loss not in before))


def _verdict(path: str, loss_table) -> Verdict:
    from lossadvisor.advice import inspect_dataset
    from lossadvisor.errors import LossAdvisorError

    try:
        report = inspect_dataset(path, loss_table)
    except LossAdvisorError as exc:
        return Verdict(None, (), (f"re-inspect failed: {exc.message}",))
    return Verdict(
        report.format,
        tuple(r.loss for r in report.recommendations),
        tuple(w.code for w in report.warnings if w.severity == "warning"),
    )
