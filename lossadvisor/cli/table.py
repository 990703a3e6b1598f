"""`lossadvisor table`: the documented loss table, and its check against the installed library."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from lossadvisor.cli.context import context_of, handles_errors, out
from lossadvisor.cli.options import FamilyOpt, JsonOpt, formats_help


@handles_errors
def table_command(
    ctx: typer.Context,
    format: Annotated[Optional[str], typer.Option("--format", "-f", help=formats_help("Only the rows of this format."))] = None,
    check: Annotated[bool, typer.Option("--check", help="Compare the table with the installed sentence-transformers losses.")] = False,
    family: FamilyOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """The documented loss table of a model family (CrossEncoder by default), as lossadvisor knows it.

    --check compares every family's table with the installed library.
    """
    from lossadvisor import render
    from lossadvisor.table import as_plain_data

    loss_table = context_of(ctx).loss_table(family)
    if check:
        _check(loss_table, json_output)
        return
    name = loss_table.resolve_format(format) if format else None
    if json_output:
        rows = [r for r in loss_table.rows if name is None or r.format == name]
        render.print_json({"family": loss_table.family_name, "model": loss_table.family.model,
                           "rows": [as_plain_data(r) for r in rows], "common": [as_plain_data(c) for c in loss_table.common],
                           "wrappers": loss_table.family.wrappers, "modifiers": loss_table.family.modifiers,
                           "regularizers": loss_table.family.regularizers})
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
