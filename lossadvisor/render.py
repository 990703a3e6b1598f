"""Results → rich views or JSON. Both render the same dataclasses, so they cannot disagree.

rich is imported by the views that draw, not here: `--json` output never loads it (start-up, see benchmarks/).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
from typing import TYPE_CHECKING, Any

from lossadvisor.errors import printable

if TYPE_CHECKING:
    from rich.console import Console

PIPED_WIDTH = 100  # the width of output that goes to no terminal, when no terminal is attached at all


def output_width() -> int | None:
    """None on a terminal (rich asks it); piped, COLUMNS, else the width of the terminal on stderr or stdin, else 100."""
    if sys.stdout.isatty():
        return None
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    for stream in (sys.stderr, sys.stdin):
        try:
            if stream is not None and stream.isatty():
                return os.get_terminal_size(stream.fileno()).columns
        except (OSError, ValueError):
            continue
    return PIPED_WIDTH


ROLE_STYLE = {"input": "green", "label": "bold cyan", "ignored": "dim"}


def escape(text: Any) -> str:
    """Text from the data, safe to print: no rich markup, and control characters shown as escapes (\\x1b)."""
    from rich.markup import escape as escape_markup

    return escape_markup(printable(str(text)))


def to_plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value) if not f.name.startswith("_")}
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "__fspath__"):
        return str(value)
    return value


def print_json(result: Any) -> None:
    sys.stdout.write(json.dumps(to_plain(result), indent=2, ensure_ascii=False, default=str) + "\n")


def plain(console: Console) -> bool:
    """Draw without box characters: asked for (`--plain`, set on the console), or the output is not a terminal."""
    return bool(getattr(console, "plain", not console.is_terminal))


def _box(console: Console):
    from rich import box

    return None if plain(console) else box.HEAVY_HEAD


def render_table(loss_table, format_filter: str | None, console: Console) -> None:
    """The loss table; below the width its longest words need, one block per row, so no loss name is ever cut."""
    from rich.table import Table

    family = loss_table.family
    title = f"{family.title} loss overview (data_formats.yaml)"
    view = Table(title=title, show_lines=False, box=_box(console))
    for header in ("format", "inputs", "labels", "num_labels", "losses"):
        if header != "num_labels" or family.num_labels:
            view.add_column(header, overflow="fold")
    common = {(f, c.loss) for c in loss_table.common for f in c.formats if c.loss}
    rows = [row for row in loss_table.rows if not format_filter or row.format == format_filter]
    cells = []
    for row in rows:
        losses = [f"[bold]{loss}[/bold]*" if (row.format, loss) in common else loss for loss in row.losses]
        fmt = row.format + (" [dim](distillation)[/dim]" if row.distillation else "")
        head = (str(row.num_labels),) if family.num_labels else ()
        cells.append((fmt, escape(row.inputs), escape(row.labels), *head, losses))
        view.add_row(*cells[-1][:-1], "\n".join(losses))
    if _fit_columns(view, console):
        console.print(view)
    else:
        _stacked(title, view, cells, console)
    # Prose, wrapped to the width even when piped (soft_wrap=False), so the whole view fits the columns it was given.
    console.print("[dim]* commonly used. Convert between formats with `lossadvisor convert DATASET --to FORMAT`.[/dim]",
                  soft_wrap=False)
    for advice in loss_table.common:
        if format_filter and format_filter not in advice.formats:
            continue
        console.print(f"  • {', '.join(advice.formats)}: {escape(advice.advice)}", soft_wrap=False)
    for key, what in (("wrappers", "every loss above trains inside one of these wrappers"),
                      ("modifiers", "wrap any loss above"), ("regularizers", "add beside the main loss")):
        if getattr(family, key):
            console.print(f"  {key}: {', '.join(getattr(family, key))} [dim]({what})[/dim]", soft_wrap=False)
    others = [name for name in loss_table.family_names if name != loss_table.family_name]
    console.print(f"[dim]Other families: {', '.join(others)} (lossadvisor table --family NAME).[/dim]", soft_wrap=False)


def _fit_columns(view, console: Console) -> bool:
    """Column widths that keep every word whole, or False when even the longest words do not fit side by side.

    Each column gets its longest word; the rest of the width goes to the columns in proportion to what they would
    still take. (rich, left to itself, narrows the widest columns first and cuts the words in them.)
    """
    options = console.options.update_width(10_000)
    ranges = [view._measure_column(console, options, column) for column in view.columns]
    room = console.width - view._extra_width
    need = sum(r.minimum for r in ranges)
    if need > room:
        return False
    wants = [r.maximum - r.minimum for r in ranges]
    if need + sum(wants) <= room:
        return True  # every cell fits on one line
    spare = room - need
    for index, (column, measured, want) in enumerate(zip(view.columns, ranges, wants)):
        column.width = measured.minimum - view._get_padding_width(index) + spare * want // sum(wants)
    return True


def _stacked(title: str, view, cells, console: Console) -> None:
    """The table as blocks (format, then its fields), for a terminal too narrow for the columns."""
    console.print(f"[bold]{title}[/bold]")
    headers = [column.header for column in view.columns]
    for fmt, *fields, losses in cells:
        console.print(f"\n[bold]{fmt}[/bold]")
        console.print("\n".join(f"  {header}: {value}" for header, value in zip(headers[1:], fields)), soft_wrap=False)
        console.print("  losses: " + ", ".join(losses), soft_wrap=False)


def render_explain(info: dict[str, Any], console: Console) -> None:
    from rich.table import Table

    console.print(f"[bold]{info['loss']}[/bold]  [dim]{info['import']}[/dim]")
    summary = info["summary"]
    summary = summary.removeprefix(f"{info['role']}: ")  # "modifier: trains the loss at ..." says its role once
    console.print(f"  {info['family_title']} {info['role']}: {escape(summary)}")
    if info["num_labels_rule"] is not None:
        console.print(f"  num_labels: {escape(info['num_labels_rule'])}   activation: {info['activation']}")
    if info["wrapper"]:
        others = info.get("other_wrappers") or []
        alternatives = f"; or {', '.join(others)}" if others else ""
        console.print(f"  unusable on its own: trains inside {info['wrapper']} (the family's wrapper; the construction below"
                      f" has it){alternatives}")
    if info["role"] in ("modifier", "wrapper"):
        console.print(f"  wraps any loss of the {info['family_title']} table, and trains on the data that loss takes")
    if info["rows"]:
        view = Table(title="data it wants", show_header=True, box=_box(console))
        view.add_column("format")
        view.add_column("inputs")
        view.add_column("labels")
        for row in info["rows"]:
            view.add_row(row["format"], escape(row["inputs"]), escape(row["labels"]))
        console.print(view)
    for title, params in (("parameters set", info["params"]), ("other knobs (the library default is kept)", info.get("options", []))):
        if params:
            console.print(f"[bold]{title}[/bold]")
        for p in params:
            console.print(f"  {p['name']}={escape(p['value'])}  [dim]{escape(p['why'])}[/dim]")
    if info["convertible_from"]:
        console.print("[bold]formats that convert into it[/bold]")
        for c in info["convertible_from"]:
            console.print(f"  {c['from']} → {c['to']}: {escape(c['summary'])}" + (f" [dim](needs {', '.join(c['needs'])})[/dim]" if c["needs"] else ""))
    console.print("[bold]construction[/bold]")
    # Line by line: escape() shows a line break inside one string as a literal \n.
    for line in info["construction"].splitlines():
        console.print(f"  {escape(line)}", soft_wrap=True)  # a wrapped line would not paste


def render_report(report, console: Console) -> None:
    from rich.table import Table

    rows = f"{report.num_rows:,} rows" if report.num_rows is not None else "rows: unknown (streamed)"
    split = f", split '{escape(report.split)}'" if report.split else ""
    console.print(f"[bold]{escape(report.dataset)}[/bold]  ({report.source_kind}{split}, {rows}; sampled {report.sample_rows:,})")
    view = Table(show_header=True, header_style="bold", box=_box(console))
    for header in ("column", "dtype", "role", "why"):
        view.add_column(header)
    for column in report.columns:
        role = column.role + (f" ({column.label_kind})" if column.label_kind else "")
        view.add_row(escape(column.name), escape(column.dtype), f"[{ROLE_STYLE[column.role]}]{role}[/]", escape(column.reason))
    console.print(view)
    if report.format is None:
        console.print("[bold red]format: none of the table's formats fits[/bold red]")
    else:
        state = " [yellow](after the fixes below)[/yellow]" if report.needs_fixing else ""
        console.print(f"[bold]format:[/bold] [bold green]{report.format}[/bold green]{state}: {escape(report.format_description or '')}")
        for reading in report.readings[1:]:
            console.print(f"  [dim]other reading:[/dim] {reading.format}: {escape(reading.assumption or '')}")
    if report.recommendations:
        if report.num_labels is not None:
            console.print(f"[bold]{report.family_title}:[/bold] num_labels={report.num_labels}, activation={report.activation}")
        console.print(f"[bold]recommended {report.family_title} losses[/bold] (best first)")
        for index, rec in enumerate(report.recommendations, 1):
            console.print(f"  {index}. [bold]{rec.loss}[/bold]: {escape(rec.reason)}")
            for p in rec.params:
                console.print(f"       {p['name']}={escape(p['value'])}  [dim]{escape(p['why'])}[/dim]")
    if report.conversions:
        console.print("[bold]conversions that unlock more losses[/bold]")
        for offer in report.conversions:
            unlocks = ", ".join(offer.unlocks) or "no new losses"
            console.print(f"  → {offer.to} ({escape(unlocks)})\n    [cyan]{escape(offer.command)}[/cyan]")
    warnings = [w for w in report.warnings if w.severity == "warning"]
    notes = [w for w in report.warnings if w.severity != "warning"]
    if warnings:
        console.print(f"[bold yellow]warnings ({len(warnings)})[/bold yellow]")
        for w in warnings:
            console.print(f"  [yellow]![/yellow] \\[{w.code}] {escape(w.message)}\n      fix: [cyan]{escape(w.fix)}[/cyan]")
    if notes:
        console.print("[bold]notes[/bold]")
        for w in notes:
            console.print(f"  [dim]i[/dim] \\[{w.code}] {escape(w.message)}\n      [dim]{escape(w.fix)}[/dim]")
    _render_family_picks(report, console)
    console.print(f"[dim]load it with: {escape(report.load_code)}[/dim]")


def _render_family_picks(report, console: Console) -> None:
    """Every family's top pick for this data, as a compact table, then the command that goes on for each."""
    from rich.table import Table

    from lossadvisor.families import picks_line

    if len(report.families) < 2:
        return
    console.print(f"[bold]top pick per model family[/bold]: {escape(picks_line(report.families))}", soft_wrap=False)
    view = Table(show_header=True, header_style="bold", box=_box(console), pad_edge=False)
    view.add_column("model", no_wrap=True)
    view.add_column("top pick", no_wrap=True)
    view.add_column("trains on", overflow="fold")
    first = report.recommendations[0].loss if report.recommendations else None
    for pick in report.families:
        where = "-" if pick.format is None else pick.format + (" (convert first)" if pick.via else "")
        if pick.family == report.family and pick.loss == first and not pick.via:
            where += " (above)"
        view.add_row(pick.title, escape(pick.loss or "none reaches this data"), escape(where))
    console.print(view)
    commands: dict[str, list[str]] = {}
    for pick in report.families:
        if pick.loss is not None and (pick.family != report.family or pick.via):
            commands.setdefault(pick.command, []).append(pick.title)
    for command, titles in commands.items():
        console.print(f"  {', '.join(titles)}: [cyan]{escape(command)}[/cyan]", soft_wrap=True)


def render_trials(results, applied, plot, console: Console) -> None:
    """Verdicts first (one line per loss), then for --compare the ranking, then the raw measurements."""
    from lossadvisor.trial.verdict import RANDOM_MODEL_NOTE

    for r in results:
        colour = "green" if r.verdict.startswith("works") else "red" if r.verdict.startswith(("broken", "gets worse")) else "yellow"
        prefix = f"{r.loss_name}: " if len(results) > 1 else ""
        console.print(f"[bold {colour}]{escape(prefix + r.verdict)}[/bold {colour}]")
    if results:
        base = "tiny (random weights): " + RANDOM_MODEL_NOTE if results[0].random_model else results[0].model
        family = "" if results[0].family == "cross-encoder" else f", a {results[0].model_class} (--family {results[0].family})"
        console.print(f"[dim]base model: {escape(base)}{escape(family)}[/dim]")
    if applied:
        console.print("[bold]fixes applied in memory[/bold]: " + escape("; ".join(applied)))
    if any(r.standing is not None for r in results):
        _render_ranking(results, console)
    _render_measurements(results, console)
    for r in results:
        _render_one_trial(r, console)
    if plot:
        console.print(f"curves written to [bold]{plot}[/bold]")


def _render_ranking(results, console: Console) -> None:
    from rich.table import Table

    ranked = sorted(results, key=lambda r: r.standing.rank if r.standing is not None else 10**9)
    view = Table(title="ranking by the held-out metric after training", show_header=True, header_style="bold")
    for header in ("#", "loss", ranked[0].evaluation.metric if ranked[0].evaluation else "metric", "change ±noise", "gap to best ±noise", "group"):
        view.add_column(header, no_wrap=header == "loss")
    for r in ranked:
        st, e = r.standing, r.evaluation
        if st is None:
            view.add_row("-", r.loss_name, "-", "-", "-", f"[red]{r.status}[/red]" if not r.ok else "not measured")
            continue
        change = f"{e.change:+.3f} ±{e.noise:.3f}" if e is not None and e.change is not None and e.noise is not None else "-"
        behind = "best" if st.behind_best is None else f"{st.behind_best:.3f} ±{_num(st.noise, digits=3)}"
        group = f"{st.group}" + (" = best" if st.indistinguishable_from_best and st.rank > 1 else "")
        view.add_row(str(st.rank), r.loss_name, f"{st.after:.3f}", change, behind, group)
    console.print("[dim]group 1 = the best loss and those within noise of it (paired bootstrap over the held-out "
                  f"{ranked[0].evaluation.unit if ranked[0].evaluation else 'rows'})[/dim]")
    console.print(view)


def _render_measurements(results, console: Console) -> None:
    from rich.table import Table

    view = Table(title="smoke-train", show_header=True, header_style="bold")
    view.add_column("loss", no_wrap=True)
    for header in ("status", "loss first → last", "falling?", "steps/s", "rows/s", "1st step", "peak MiB"):
        view.add_column(header)
    for r in results:
        first = f"{r.first_window_mean:.4f}" if r.first_window_mean is not None else "-"
        last = f"{r.last_window_mean:.4f}" if r.last_window_mean is not None else "-"
        status = "[green]ok[/green]" if r.ok else f"[red]{r.status}[/red]"
        down = {True: "yes", False: "no", None: "-"}[r.went_down] if r.curve_judged else "not judged"
        view.add_row(r.loss_name, status, f"{first} → {last}", down,
                     _num(r.steps_per_second), _num(r.samples_per_second), _num(r.time_to_first_step_s, "s"),
                     _num(r.peak_cuda_mib or r.peak_rss_mib, digits=0))
    console.print(view)


def _render_one_trial(r, console: Console) -> None:
    from lossadvisor.trial import sparkline

    console.print(f"[bold]{r.loss_name}[/bold] on {r.train_rows} rows, batch {r.batch_size}, lr {r.learning_rate:g}, {r.device}")
    judged = "" if r.curve_judged else "  [dim](this loss need not fall step by step: judged by the metric)[/dim]"
    console.print(f"  loss per step: {sparkline(r.losses, width=60)}  ({len(r.losses)} steps){judged}")
    console.print(f"  [dim]{escape(r.model_code)}[/dim]\n  [dim]loss = {escape(r.loss_code)}[/dim]")
    grads = [g for g in r.grad_norms if g is not None]
    if grads:
        console.print(f"  gradient norm: first {grads[0]:.3g}, last {grads[-1]:.3g}")
    for p in r.params:
        console.print(f"  {p.name}={escape(str(p.code))}  [dim]{escape(p.why)}[/dim]")
    if r.evaluation is not None:
        e = r.evaluation
        noise = f" (change {e.change:+.4f}, noise ±{e.noise:.4f})" if e.change is not None and e.noise is not None else ""
        console.print(f"  {e.evaluator} {e.metric}: {_num(e.before, digits=4)} → {_num(e.after, digits=4)}{noise} "
                      f"on {e.units} held-out {e.unit}" + (f" ({e.rows} rows)" if e.unit != "rows" else "")
                      + ", no anchor of them in training")
        for name, before, after in e.others:
            console.print(f"  {name}: {_num(before, digits=4)} → {_num(after, digits=4)}")
    if r.problem:
        console.print(f"  [red]problem:[/red] {escape(r.problem)}")
    if r.hint:
        console.print(f"  [cyan]hint:[/cyan] {escape(r.hint)}")
    for note in r.notes:
        console.print(f"  [dim]note: {escape(note)}[/dim]")


def _num(value, unit: str = "", digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}{unit}"


def render_conversion(report, console: Console) -> None:
    steps = " → ".join(report.steps)
    console.print(f"[bold]{escape(report.dataset)}[/bold] ({report.source_format}) → [bold green]{escape(report.output)}[/bold green]"
                  f" ({report.target_format}, {report.output_kind}) in {report.seconds:.1f}s  [dim]{steps}[/dim]")
    console.print(f"  rows: {report.rows_in:,} in, {report.rows_out:,} out")
    for reason, count in report.dropped.items():
        console.print(f"  dropped {count:,}: {escape(reason)}")
    for fix in report.fixes:
        console.print(f"  fixed: {escape(fix)}")
    stats = report.stats
    if "negatives_per_anchor_mean" in stats:
        console.print(f"  negatives per anchor: min {stats['negatives_per_anchor_min']}, mean {stats['negatives_per_anchor_mean']}"
                      f"; anchors short of negatives: {stats.get('anchors_short_of_negatives', 0)}"
                      f"; miner: {escape(str(stats.get('miner', '')))}")
    for note in report.notes:
        console.print(f"  [dim]note: {escape(note)}[/dim]")
    if report.unlocks:
        console.print(f"  unlocks: {', '.join(report.unlocks)}")
    if report.verdict is not None:
        v = report.verdict
        state = "[green]clean[/green]" if not v.warnings else f"[yellow]warnings: {', '.join(v.warnings)}[/yellow]"
        console.print(f"  inspect of the output: {v.format}, fits {', '.join(v.losses) or 'nothing'}; {state}")
