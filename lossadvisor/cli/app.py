"""The typer app: the global options and the commands, registered from one module each."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from lossadvisor import __version__
from lossadvisor.cli.advise import advise_command
from lossadvisor.cli.context import PLAIN, CliContext
from lossadvisor.cli.convert import convert_command
from lossadvisor.cli.examples import app_epilog, epilog, help_text
from lossadvisor.cli.explain import explain_command
from lossadvisor.cli.group import LossAdvisorGroup
from lossadvisor.cli.inspect import inspect_command
from lossadvisor.cli.scaffold import scaffold_command
from lossadvisor.cli.table import table_command
from lossadvisor.cli.trial import trial_command
from lossadvisor.errors import EXIT_INTERRUPTED

app = typer.Typer(
    name="lossadvisor",
    cls=LossAdvisorGroup,
    help="Which sentence-transformers loss fits your data (rerankers, embedders, sparse and multi-vector models); reshape the data; prove it with a real smoke-train.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    rich_markup_mode="rich",
    epilog=app_epilog(),
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lossadvisor {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    table: Annotated[Optional[Path], typer.Option("--table", help="Use this loss table instead of the packaged data_formats.yaml.")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
    plain: Annotated[bool, typer.Option("--plain", help="Draw tables without box characters (always so when the output is piped).")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    PLAIN["on"] = plain
    ctx.obj = CliContext(table=table, debug=debug)


for name, command in (("table", table_command), ("explain", explain_command), ("inspect", inspect_command),
                      ("convert", convert_command), ("trial", trial_command), ("scaffold", scaffold_command),
                      ("advise", advise_command)):
    app.command(name, help=help_text(command), epilog=epilog(name))(command)


def main() -> None:
    """The console script: the app, with Ctrl-C turned into exit code 130."""
    if len(sys.argv) == 1 and sys.stdin.isatty() and sys.stdout.isatty():
        sys.argv.append("advise")  # plain `lossadvisor` in a terminal starts the guided session
    try:
        app()
    except SystemExit as exc:
        if exc.code == EXIT_INTERRUPTED:
            _ignore_further_interrupts()
        raise
    except KeyboardInterrupt:
        _ignore_further_interrupts()
        sys.stderr.write("Interrupted.\n")
        sys.exit(EXIT_INTERRUPTED)


def _ignore_further_interrupts() -> None:
    """Leaving on Ctrl-C: a second SIGINT must not turn exit code 130 into death by signal.

    pyarrow catches a SIGINT that lands inside its calls and sends it again afterwards (SignalStopHandler).
    Once, in CI, a trial printed "Interrupted." and then died by SIGINT (exit -2): most likely such a second
    signal arriving while the interpreter shut down, with the default handler back in place.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
