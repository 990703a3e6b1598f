"""What the global options (--table, --debug) leave for the commands: a `CliContext` on `typer.Context.obj`.

Also the one place that turns the exception family into `Error: …` / `Hint: …` and an exit code.
"""

from __future__ import annotations

import errno
import functools
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from lossadvisor import render
from lossadvisor.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE, LossAdvisorError, printable

if TYPE_CHECKING:
    from lossadvisor.table import LossTable


@dataclass(frozen=True)
class CliContext:
    """The global options, as every command sees them."""

    table: Path | None = None
    debug: bool = False

    def loss_table(self, family: str | None = None, loss: str | None = None) -> LossTable:
        """The table through `family` (None: the default), or, without one, through the family that has `loss`."""
        from lossadvisor.table import load_table

        table = load_table(self.table)
        return table.for_loss(loss) if family is None and loss is not None else table.for_family(family)

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


PLAIN = {"on": False}  # set by the global --plain


def out():
    """stdout for the rich views; made on first use, so `--json` output never imports rich.

    Piped, it takes the width of `output_width()` and draws no box characters (nor does `--plain`); both are read
    again on every call, as stdout may have been replaced since (tests, the session running commands in-process).
    """
    console = _stdout_console()
    console.soft_wrap = not sys.stdout.isatty()
    console.width = render.output_width()
    console.plain = PLAIN["on"] or not console.is_terminal
    return console


@functools.cache
def _stdout_console():
    from rich.console import Console

    console = Console(highlight=False)  # rich's repr highlighter takes seconds on a 20,000-character column name
    console.on_broken_pipe = _broken_pipe  # rich would exit 1; a closed pipe exits 141 like every other output
    return console


def _broken_pipe() -> None:
    from lossadvisor.cli.group import quiet_broken_pipe

    quiet_broken_pipe()


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
        except OSError as exc:
            if debug:
                traceback.print_exc()
            os_error(exc)
            internal_error(exc)
        except Exception as exc:  # an internal failure: one line unless --debug
            if debug:
                traceback.print_exc()
            internal_error(exc)

    return wrapper


def internal_error(exc: BaseException) -> None:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    fail(f"internal error: {type(exc).__name__}: {text}"[:500], "Run again with --debug for the traceback.", EXIT_INTERNAL)


def os_error(exc: OSError) -> None:
    """An error of the system, not of lossadvisor: a closed pipe ends quietly; a file the user named that cannot be
    read or written, or an output with no room, is one line and exit 2. Returns for anything else."""
    from lossadvisor.cli.group import output_failed, quiet_broken_pipe

    if exc.errno == errno.EPIPE:
        quiet_broken_pipe()
    if exc.filename is not None and exc.errno in USER_ERRNOS:
        names = " → ".join(str(name) for name in (exc.filename, exc.filename2) if name is not None)
        fail(f"{names}: {exc.strerror}", "Check the path and its permissions.", EXIT_USAGE)
    if exc.filename is None and exc.errno in OUTPUT_ERRNOS:
        output_failed(exc)


USER_ERRNOS = {errno.EACCES, errno.EPERM, errno.ENOENT, errno.EISDIR, errno.ENOTDIR, errno.ENOSPC, errno.EROFS, errno.ELOOP,
               errno.ENAMETOOLONG, errno.EDQUOT, errno.EFBIG, errno.EEXIST, errno.ENXIO}
OUTPUT_ERRNOS = {errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EFBIG}
