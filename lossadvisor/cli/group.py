"""The app's click group: parser errors as our one `Error:` / `Hint:` line, and output that ends quietly.

typer draws a parser error (a missing `-o`, a misspelt option, a bad `--sampling`) as a box under the usage; here it
is one line on stderr, as every other error, with exit code 2. A closed pipe (`lossadvisor table | head`) ends the
program quietly with exit code 141 (128 + SIGPIPE, what a shell reports for `yes | head`); a full disk or a device
that refuses the output (`> /dev/full`) is one `Error:` line and exit code 2.
"""

from __future__ import annotations

import errno
import os
import re
import sys

import typer
from typer import _click as click  # typer bundles its own click: its exceptions are these
from typer.core import TyperGroup

from lossadvisor.errors import EXIT_USAGE, printable

EXIT_BROKEN_PIPE = 141
_SUGGESTION = re.compile(r"\s*\(?(Did you mean [^)]*?)\)?\s*$|\s*\((Possible options: [^)]*)\)\s*$")


def usage_error_lines(error: click.ClickException) -> tuple[str, str]:
    """The `Error:` text and the `Hint:` of a parser error; click's "Did you mean …" moves into the hint."""
    message = error.format_message().strip()
    suggestion = ""
    found = _SUGGESTION.search(message)
    if found:
        suggestion = (found.group(1) or found.group(2)).strip().rstrip(".?") + "?"
        if suggestion.startswith("Possible options: "):
            names = suggestion.removeprefix("Possible options: ").rstrip("?").split(", ")
            suggestion = f"Did you mean {' or '.join(names)}?"
        message = message[: found.start()].strip()
    ctx = getattr(error, "ctx", None)
    command = ctx.command_path if ctx is not None else "lossadvisor"
    hint = f"{suggestion} See `{command} --help`." if suggestion else f"See `{command} --help`."
    return message.replace("\n", " "), hint


def quiet_broken_pipe() -> None:
    """The reader went away: point stdout at /dev/null so the interpreter's last flush cannot complain, and leave."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    try:
        sys.stdout.flush()  # what was buffered goes to /dev/null now
    except (OSError, ValueError):
        os._exit(EXIT_BROKEN_PIPE)  # a stdout that cannot even be flushed would fail again at shutdown
    sys.exit(EXIT_BROKEN_PIPE)


def output_failed(exc: OSError) -> None:
    """stdout refused the output (ENOSPC, EIO, …): one line and exit 2; never a second error at shutdown."""
    sys.stderr.write(f"Error: cannot write the output: {printable(exc.strerror or str(exc))}\n")
    sys.stderr.write("Hint: Send the output somewhere with room (another file, or a pipe).\n")
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    os._exit(EXIT_USAGE)


class LossAdvisorGroup(TyperGroup):
    """typer's group, with our error format; `standalone_mode=False` callers (the session's runner) get the raw errors."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            sys.stdout.flush()
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else exc.format_message())
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            message, hint = usage_error_lines(exc)
            sys.stderr.write(f"Error: {printable(message)}\nHint: {printable(hint)}\n")
            sys.exit(exc.exit_code)
        except SystemExit as exc:
            if isinstance(exc.__context__, BrokenPipeError):  # rich's console (typer's help) exits 1 on a closed pipe
                quiet_broken_pipe()
            raise
        except typer.Abort:
            sys.stderr.write("Aborted.\n")
            sys.exit(1)
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                quiet_broken_pipe()
            if exc.errno in (errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EFBIG):
                output_failed(exc)
            raise
        sys.exit(result if isinstance(result, int) else 0)
