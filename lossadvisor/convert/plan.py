"""Plan a conversion from the table of declared conversions, check what it needs, and run it step by step."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from lossadvisor.convert._arrow import flat, is_text, label_position
from lossadvisor.convert.classes import NLI_POSITIVE
from lossadvisor.convert.methods import METHODS
from lossadvisor.convert.options import ConversionResult, ConvertOptions, StepResult
from lossadvisor.convert.progress import as_reporter
from lossadvisor.errors import FitError

if TYPE_CHECKING:
    from lossadvisor.table import Conversion, Format, LossTable


def _reachable(loss_table: LossTable, source: str) -> list[str]:
    seen, frontier = [source], [source]
    while frontier:
        frontier = [c.to_format for name in frontier for c in loss_table.conversions_from(name) if c.to_format not in seen]
        for name in frontier:
            if name not in seen:
                seen.append(name)
    return seen[1:]


def _positive_class_known(options: ConvertOptions) -> bool:
    if options.positive_class is not None:
        return True
    return any(str(n).strip().lower() == NLI_POSITIVE for n in options.class_names or ())


def plan_conversion(
    loss_table: LossTable, source_format: str, target_format: str, options: ConvertOptions | None = None
) -> list[Conversion]:
    """The shortest chain of declared conversions, or a FitError saying what would make it possible.

    Needs are checked up front so that nothing slow starts before a missing --positive-class or --teacher
    is reported. 'miner' is always met (BM25 is the default). For pair-class sources the positive class may
    be implied by class names ('entailment'): pass them in options.class_names (ClassLabel names, or the
    distinct string labels); run_conversion does that itself from the data.
    """
    options = options or ConvertOptions()
    source = loss_table.resolve_format(source_format)
    target = loss_table.resolve_format(target_format)
    if source == target:
        return []
    path = loss_table.conversion_path(source, target)
    if path is None:
        reachable = _reachable(loss_table, source)
        makers = [f"{c.from_format} ({c.method})" for c in loss_table.conversions if c.to_format == target]
        can = (
            f"From {source} lossadvisor can make {', '.join(reachable)}." if reachable else f"Nothing is converted from {source}."
        )
        made = f" {target} is made from {', '.join(makers)}." if makers else f" No conversion makes {target}."
        raise FitError(f"no conversion from {source} to {target}", can + made)
    if any(step.method == "group-negatives" for step in path[1:]):  # the triplets made on the way hold one negative each
        raise FitError(f"no conversion from {source} to {target}: the way there makes triplets with one negative per "
                       f"(anchor, positive) pair, and an {target} needs two or more",
                       "Convert to triplet instead (--to triplet): MultipleNegativesRankingLoss trains on triplets too.")
    for step in path:
        if step.method not in METHODS:
            raise FitError(
                f"data_formats.yaml names the conversion method '{step.method}', which this lossadvisor cannot run",
                f"Known methods: {', '.join(METHODS)}.",
            )
        route = f"converting {source} to {target}" + (f" (via {step.from_format} → {step.to_format})" if len(path) > 1 else "")
        for need in step.needs:
            if need == "positive-class" and not _positive_class_known(options):
                from lossadvisor.profile import default_positive_class  # the class inspect offers, too

                names = f" (classes: {', '.join(options.class_names)})" if options.class_names else ""
                raise FitError(
                    f"{route} needs to know which class is the positive one{names}",
                    "Pass --positive-class with a class name or id, e.g. --positive-class "
                    f"{default_positive_class(options.class_names or ())}.",
                )
            if need == "teacher" and options.teacher is None:
                embeds = step.method == "teacher-embeddings"
                model = "SentenceTransformer" if embeds else "CrossEncoder (or SentenceTransformer / SparseEncoder)"
                raise FitError(
                    f"{route} needs a teacher {model} to {'embed the texts' if embeds else 'score the pairs'}",
                    f"Pass --teacher with a local {model.split(' ')[0]} folder or a model id already in your Hugging Face cache.",
                )
    return path


def _check_shape(table: pa.Table, fmt: Format) -> None:
    has_label = fmt.labels != ["none"]
    if fmt.text_list:
        width = fmt.texts.min + fmt.list_inputs + (1 if has_label else 0)
        fits, what = table.num_columns == width, f"{width} columns ({fmt.description})"
    else:
        fits = fmt.texts.admits(table.num_columns - (1 if has_label else 0))
        low, high = fmt.texts.min, fmt.texts.max
        count = f"{low}" if high == low else (f"{low} or more" if high is None else f"{low} to {high}")
        what = f"{count} text columns" + (" then a label column" if has_label else " and no label column")
    if not fits:
        raise FitError(
            f"a {fmt.name} table has {what}; found {table.num_columns} columns ({', '.join(table.column_names)})",
            "Select the columns in canonical order first: the texts in order, then the label.",
        )


def _class_names_from_data(table: pa.Table, options: ConvertOptions) -> ConvertOptions:
    """String class labels name themselves: let 'entailment' be found without --class-names."""
    if options.class_names is not None or options.positive_class is not None:
        return options
    label = flat(table.column(label_position(table)))
    if not is_text(label.type):
        return options
    names = tuple(str(v) for v in pc.unique(pc.drop_null(label)).to_pylist())
    return replace(options, class_names=names) if any(n.strip().lower() == NLI_POSITIVE for n in names) else options


def run_conversion(
    table: pa.Table,
    source_format: str,
    target_format: str,
    loss_table: LossTable | None = None,
    options: ConvertOptions | None = None,
    progress: Any = None,
) -> ConversionResult:
    """Convert `table` (canonical columns of source_format) to target_format.

    progress: None (silent), a rich.progress.Progress, or a callback (description, completed, total).
    In the result, `dropped` and `stats` are the step's own for a one-step conversion; for a chain, dropped
    reasons read "method: reason" and stats are keyed by method (counts of each step are rows of its input).
    """
    from lossadvisor.table import load_table

    loss_table = loss_table or load_table()
    options = options or ConvertOptions()
    source = loss_table.resolve_format(source_format)
    target = loss_table.resolve_format(target_format)
    _check_shape(table, loss_table.format(source))
    if source == "pair-class":
        options = _class_names_from_data(table, options)
    plan = plan_conversion(loss_table, source, target, options)
    reporter = as_reporter(progress)
    started = time.perf_counter()
    steps: list[StepResult] = []
    current = table
    for conversion in plan:
        step = METHODS[conversion.method](current, conversion.to_format, options, progress=reporter)
        steps.append(step)
        current = step.table
    seconds = time.perf_counter() - started
    notes: list[str] = []
    for step in steps:
        notes.extend(n for n in step.notes if n not in notes)
    if not steps:
        notes.append(f"the table is already {target}: nothing to convert")
        return ConversionResult(table, source, target, plan, steps, table.num_rows, table.num_rows, {}, notes, {}, seconds)
    if len(steps) == 1:
        dropped, stats = dict(steps[0].dropped), dict(steps[0].stats)
    else:
        dropped = {f"{s.method}: {reason}": count for s in steps for reason, count in s.dropped.items()}
        stats = {s.method: dict(s.stats) for s in steps}
    return ConversionResult(
        current, source, target, plan, steps, table.num_rows, current.num_rows, dropped, notes, stats, seconds
    )
