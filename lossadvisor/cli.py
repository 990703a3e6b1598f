"""The command line: parse flags, call one core function, render its result.

Heavy libraries are imported inside the commands that need them, so `--help` and `inspect` start fast.
"""

from __future__ import annotations

import functools
import sys
import traceback
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from lossadvisor import __version__
from lossadvisor.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, LossAdvisorError

app = typer.Typer(
    name="lossadvisor",
    help="Which sentence-transformers CrossEncoder loss fits your data; reshape the data; prove it with a real smoke-train.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    rich_markup_mode="rich",
)
out = Console(soft_wrap=False)
err = Console(stderr=True, soft_wrap=True)
_state = {"debug": False, "table": None}


def _fail(message: str, hint: str | None, code: int) -> None:
    sys.stderr.write(f"Error: {message}\n")
    if hint:
        sys.stderr.write(f"Hint: {hint}\n")
    raise typer.Exit(code)


def handles_errors(command):
    """Turn the exception family into one line and an exit code; anything else is an internal error."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except typer.Exit:
            raise
        except LossAdvisorError as exc:
            if _state["debug"]:
                traceback.print_exc()
            _fail(exc.message, exc.hint, exc.exit_code)
        except KeyboardInterrupt:
            sys.stderr.write("Interrupted.\n")
            raise typer.Exit(EXIT_INTERRUPTED)
        except Exception as exc:  # an internal failure: one line unless --debug
            if _state["debug"]:
                traceback.print_exc()
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            _fail(f"internal error: {type(exc).__name__}: {text}"[:500], "Run again with --debug for the traceback.", EXIT_INTERNAL)

    return wrapper


def _loss_table():
    from lossadvisor.table import load_table

    return load_table(_state["table"])


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lossadvisor {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    table: Optional[Path] = typer.Option(None, "--table", help="Use this loss table instead of the packaged data_formats.yaml."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of internal errors."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    _state["debug"] = debug
    _state["table"] = table


@app.command("table")
@handles_errors
def table_command(
    format: Optional[str] = typer.Option(None, "--format", "-f", help="Only the rows of this format (e.g. labeled-list)."),
    check: bool = typer.Option(False, "--check", help="Compare the table with the installed sentence-transformers losses."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The documented loss table, as lossadvisor knows it.

    Example: [cyan]lossadvisor table --format pair-score[/cyan]
    """
    from lossadvisor import render

    loss_table = _loss_table()
    if check:
        from lossadvisor.drift import check_against_library

        report = check_against_library(loss_table)
        if json_output:
            render.print_json(report, out)
        else:
            out.print(f"sentence-transformers {report.library_version}: checked {len(report.checked)} losses")
            for line in report.differences:
                out.print(f"  [red]✗[/red] {line}")
            if report.ok:
                out.print("  [green]✓[/green] the table agrees with the installed library")
        if not report.ok:
            raise typer.Exit(1)
        return
    name = loss_table.resolve_format(format) if format else None
    if json_output:
        rows = [r for r in loss_table.model.rows if name is None or r.format == name]
        render.print_json({"rows": [r.model_dump() for r in rows], "common": [c.model_dump() for c in loss_table.model.common]}, out)
    else:
        render.render_table(loss_table, name, out)


@app.command("explain")
@handles_errors
def explain_command(
    loss: str = typer.Argument(..., help="A loss class name, e.g. LambdaLoss (case and the 'Loss' suffix are forgiven)."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """What data a loss wants, how to build the CrossEncoder for it, and what converts into it.

    Example: [cyan]lossadvisor explain ListNetLoss[/cyan]
    """
    from lossadvisor import render
    from lossadvisor.advice import explain_loss

    info = explain_loss(_loss_table(), loss)
    if json_output:
        render.print_json(info, out)
    else:
        render.render_explain(render.to_plain(info) | {"import": info.import_path}, out)


@app.command("inspect")
@handles_errors
def inspect_command(
    dataset: str = typer.Argument(..., help="A save_to_disk folder, data file(s) (csv/tsv/json/jsonl/parquet/arrow, a glob or a folder), or a hub id."),
    split: Optional[str] = typer.Option(None, "--split", help="Split to inspect (DatasetDict folders and hub datasets)."),
    subset: Optional[str] = typer.Option(None, "--subset", help="Hub dataset configuration (subset) name."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Infer the training format, recommend losses, and flag the traps (with fixes).

    Example: [cyan]lossadvisor inspect data/train.parquet --json[/cyan]
    """
    from lossadvisor import render
    from lossadvisor.advice import inspect_dataset

    report = inspect_dataset(dataset, _loss_table(), split=split, subset=subset)
    if json_output:
        render.print_json(report, out)
    else:
        render.render_report(report, out)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        sys.exit(EXIT_INTERRUPTED)
