"""The first phases: open the dataset, confirm or choose its columns, settle what the data cannot tell."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from lossadvisor.errors import LossAdvisorError
from lossadvisor.interactive.checks import check_dataset, check_range, fmt_range
from lossadvisor.interactive.prompts import Option
from lossadvisor.interactive.session import Data, Session
from lossadvisor.render import escape

if TYPE_CHECKING:
    from lossadvisor.advice import Report

NO_LABEL = "(none)"


def open_dataset(s: Session, dataset: str | None) -> None:
    """Inspect DATASET; in a terminal, ask again (with the reason) until one opens."""
    error = check_dataset(dataset) if dataset is not None else None
    while True:
        if dataset is None or error:
            if not s.ask.interactive:
                if dataset is None:
                    raise LossAdvisorError("no DATASET given, and no terminal to ask for one",
                                           "Name it: lossadvisor advise DATASET --no-input")
            else:
                if error:
                    s.console.print(f"[red]{escape(error)}[/red]")
                dataset = s.ask.path(
                    "Which dataset?", dataset or "",
                    "A data file (csv, tsv, json, jsonl, parquet, arrow), a folder, a glob, or a hub id; Tab completes paths.",
                    check_dataset)
        s.say(f"[dim]reading {escape(dataset)} …[/dim]")
        try:
            report = s.inspect(dataset, original=True)
        except LossAdvisorError as exc:
            if not s.ask.interactive:
                raise
            error = exc.message + (f" ({exc.hint})" if exc.hint else "")
            continue
        s.origin = dataset
        s.data = Data(dataset, report, True)
        return


def model_inputs(report: Report) -> tuple[list[str], str | None]:
    if report.tidy is not None:
        return list(report.tidy.inputs), report.tidy.label
    inputs = [c.name for c in report.columns if c.role == "input"]
    label = next((c.name for c in report.columns if c.role == "label"), None)
    return inputs, label


def show(s: Session, report: Report) -> None:
    from rich.table import Table

    rows = f"{report.num_rows:,} rows" if report.num_rows is not None else "row count unknown (streamed)"
    split = f", split '{report.split}'" if report.split else ""
    s.say(f"[bold]{escape(report.dataset)}[/bold]  ({report.source_kind}{split}, {rows})")
    view = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for header in ("#", "column", "dtype", "role", "why"):
        view.add_column(header)
    inputs, _ = model_inputs(report)
    for index, column in enumerate(report.columns, 1):
        role = column.role + (f" ({column.label_kind})" if column.label_kind else "")
        if column.role == "input" and column.name in inputs:
            role = f"input {inputs.index(column.name) + 1}"
        view.add_row(str(index), escape(column.name), escape(column.dtype), role, escape(column.reason))
    s.console.print(view)
    if report.format is None:
        s.say("[bold red]format: none of the table's formats fits these columns[/bold red]")
    else:
        state = " [yellow](after fixes)[/yellow]" if report.needs_fixing else ""
        s.say(f"format: [bold green]{report.format}[/bold green]{state}: {escape(report.format_description or '')}")
    for w in report.warnings:
        if w.severity == "warning":
            s.say(f"  [yellow]![/yellow] \\[{w.code}] {escape(w.message)}")


def confirm_columns(s: Session) -> None:
    """Show the columns as read; keep them, or choose them (which becomes --inputs/--label)."""
    while True:
        report = s.current().report
        show(s, report)
        inputs, label = model_inputs(report)
        summary = f"inputs {' → '.join(inputs) or 'none'}; label {label or 'none'}"
        answer = s.ask.choose(
            "Use these columns?",
            [Option(f"Yes: {summary}", "keep"), Option("No: choose the anchor, the label, the columns to drop and their order", "change")],
            "keep" if report.format is not None else "change",
            "The answer becomes --inputs a,b,c (in the order the model sees them) and --label X (or none).",
        )
        if answer == "keep":
            if report.format is None:
                raise LossAdvisorError(f"{report.dataset}: no format of the loss table fits these columns",
                                       f"See the columns with `{s.command('inspect', report.dataset).render()}`, "
                                       "then name them with --inputs and --label.")
            return
        change_columns(s, report, inputs, label)


def change_columns(s: Session, report: Report, inputs: list[str], label: str | None) -> None:
    names = [c.name for c in report.columns]
    described = {c.name: f"{c.dtype}, {c.role}: {c.reason}" for c in report.columns}
    anchor = s.ask.choose(
        "Which column is the anchor (the query, or the first text)?",
        [Option(n, n, described[n]) for n in names], inputs[0] if inputs else names[0],
        "The anchor is the first input (--inputs ANCHOR,…); sentence-transformers takes inputs by order, not by name.")
    label_options = [Option(NO_LABEL, NO_LABEL, "no label column: pairs, triplets or n-tuples")]
    label_options += [Option(n, n, described[n]) for n in names if n != anchor]
    new_label = s.ask.choose(
        "Which column is the label?", label_options, label if label and label != anchor else NO_LABEL,
        "The label (--label X, or --label none); it is renamed to 'label' by convert --fix.")
    new_label = None if new_label == NO_LABEL else new_label
    rest = [n for n in names if n not in (anchor, new_label)]
    others = s.ask.pick_many(
        "Which other columns are inputs? (unticked columns are dropped)",
        [Option(n, n, described[n]) for n in rest], [n for n in inputs[1:] if n in rest],
        "Ticked columns follow the anchor as inputs; unticked ones are dropped (left out of --inputs).",
        lambda picked: None if picked else "Tick at least one more input (e.g. the document or the second sentence).")
    if len(others) > 1:
        others = _order(s, anchor, others)
    s.inputs = (anchor, *others)
    s.label = new_label or "none"  # ColumnChoice: a column name, or "none" for no label
    s.reading = None
    data = s.current()
    try:
        s.data = Data(data.spec, s.inspect(data.spec, original=True), True)
    except LossAdvisorError as exc:
        s.console.print(f"[red]{escape(exc.message)}[/red]" + (f"\n[dim]{escape(exc.hint)}[/dim]" if exc.hint else ""))
        s.inputs, s.label = None, None


def _order(s: Session, anchor: str, others: list[str]) -> list[str]:
    current = ",".join(others)

    def check_order(text: str) -> Optional[str]:
        given = [t.strip() for t in text.split(",") if t.strip()]
        return None if sorted(given) == sorted(others) else f"List exactly these columns, comma-separated: {current}"

    order = s.ask.text(f"In which order do they follow {anchor}? (comma-separated)", current,
                       "The order of --inputs after the anchor, e.g. positive,negative_1,negative_2.", check_order)
    return [t.strip() for t in order.split(",") if t.strip()]


def settle_readings(s: Session) -> None:
    """Where the data reads more than one way, ask which (--as); where scores need rescaling, from which range."""
    data = s.current()
    report = data.report
    if len(report.readings) > 1:
        options = []
        for r in report.readings:
            what = r.assumption or s.loss_table.format(r.format).description
            options.append(Option(f"{r.format}: {what}", r.format, "losses: " + ", ".join(r.losses)))
        chosen = s.ask.choose(
            "The data can be read more than one way. Which is it?", options, report.readings[0].format,
            "The answer becomes --as FORMAT (the first is the documented common choice).")
        if chosen != report.readings[0].format:
            s.reading = chosen
            s.data = Data(data.spec, s.inspect(data.spec, original=True), True)
    report = s.current().report
    if report.tidy is not None and report.tidy.score_range is not None:
        lo, hi = report.tidy.score_range
        s.score_range = s.ask.text(
            f"The scores run from {lo:g} to {hi:g}. From which range should they be rescaled to [0, 1]?",
            fmt_range(lo, hi), "LOW:HIGH, the scale the scores were given on (e.g. 0:5 for STS-B); becomes --score-range.",
            check_range)
