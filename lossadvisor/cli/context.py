"""What the global options (--table, --debug) leave for the commands: a `CliContext` on `typer.Context.obj`.

Also the one place that turns the exception family into `Error: …` / `Hint: …` and an exit code.
"""

from __future__ import annotations

import functools
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from lossadvisor.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, LossAdvisorError, printable

if TYPE_CHECKING:
    from lossadvisor.table import LossTable


@dataclass(frozen=True)
class CliContext:
    """The global options, as every command sees them."""

    table: Path | None = None
    debug: bool = False

    def loss_table(self) -> LossTable:
        from lossadvisor.table import load_table

        return load_table(self.table)

    def global_options(self) -> tuple[tuple[str, str | None], ...]:
        """The global options as they are written before a command (for the command lines the session prints)."""
        options: list[tuple[str, str | None]] = []
        if self.table is not None:
            options.append(("--table", str(self.table)))
        if self.debug:
            options.append(("--debug", None))
        return tuple(options)


def context_of(ctx: typer.Context) -> CliContext:
    """The CliContext the app's callback stored (a default one when a command is invoked on its own)."""
    obj = ctx.find_object(CliContext)
    return obj if obj is not None else CliContext()


@functools.cache
def out():
    """stdout for the rich views; made on first use, so `--json` output never imports rich."""
    from rich.console import Console

    return Console(soft_wrap=not sys.stdout.isatty())


@functools.cache
def err():
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True)


def fail(message: str, hint: str | None, code: int) -> None:
    sys.stderr.write(f"Error: {printable(message)}\n")
    if hint:
        sys.stderr.write(f"Hint: {printable(hint)}\n")
    raise typer.Exit(code)


def handles_errors(command):
    """Turn the exception family into one line and an exit code; anything else is an internal error.

    The wrapped command takes the `typer.Context` as its first argument, `ctx`.
    """

    @functools.wraps(command)
    def wrapper(ctx: typer.Context, *args, **kwargs):
        debug = context_of(ctx).debug
        try:
            return command(ctx, *args, **kwargs)
        except typer.Exit:
            raise
        except LossAdvisorError as exc:
            if debug:
                traceback.print_exc()
            fail(exc.message, exc.hint, exc.exit_code)
        except KeyboardInterrupt:
            sys.stderr.write("Interrupted.\n")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:  # an internal failure: one line unless --debug
            if debug:
                traceback.print_exc()
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            fail(f"internal error: {type(exc).__name__}: {text}"[:500], "Run again with --debug for the traceback.", EXIT_INTERNAL)

    return wrapper
