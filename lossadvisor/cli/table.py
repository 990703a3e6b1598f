"""`lossadvisor table`: the documented loss table, and its check against the installed library."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from lossadvisor.cli.context import context_of, handles_errors, out
from lossadvisor.cli.options import JsonOpt, formats_help


@handles_errors
def table_command(
    ctx: typer.Context,
    format: Annotated[Optional[str], typer.Option("--format", "-f", help=formats_help("Only the rows of this format."))] = None,
    check: Annotated[bool, typer.Option("--check", help="Compare the table with the installed sentence-transformers losses.")] = False,
    json_output: JsonOpt = False,
) -> None:
    """The documented loss table, as lossadvisor knows it.
    """
    from lossadvisor import render
    from lossadvisor.table import as_plain_data

    loss_table = context_of(ctx).loss_table()
    if check:
        _check(loss_table, json_output)
        return
    name = loss_table.resolve_format(format) if format else None
    if json_output:
        rows = [r for r in loss_table.rows if name is None or r.format == name]
        render.print_json({"rows": [as_plain_data(r) for r in rows], "common": [as_plain_data(c) for c in loss_table.common]})
    else:
        render.render_table(loss_table, name, out())


def _check(loss_table, json_output: bool) -> None:
    from lossadvisor import render
    from lossadvisor.drift import check_against_library

    report = check_against_library(loss_table, on_progress=lambda line: print(line, file=sys.stderr, flush=True))
    if json_output:
        render.print_json(report)
    else:
        out().print(f"sentence-transformers {report.library_version}: checked {len(report.checked)} losses")
        for line in report.differences:
            out().print(f"  [red]✗[/red] {line}")
        if report.ok:
            out().print("  [green]✓[/green] the table agrees with the installed library")
    if not report.ok:
        raise typer.Exit(1)
