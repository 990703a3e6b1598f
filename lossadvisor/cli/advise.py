"""`lossadvisor advise [DATASET]`: the guided session, given the commands it may run.

The session (lossadvisor.interactive) never imports the CLI: this module hands it `SessionActions`, whose
`run` executes a `CommandLine` in this process through the typer app, exactly as typed on a shell.
"""

from __future__ import annotations

import functools
import sys
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from lossadvisor.cli.context import context_of, handles_errors
from lossadvisor.cli.options import FamilyOpt
from lossadvisor.errors import EXIT_INTERRUPTED

if TYPE_CHECKING:
    from typer import _click as click

    from lossadvisor.commands import CommandLine


@handles_errors
def advise_command(
    ctx: typer.Context,
    dataset: Annotated[Optional[str], typer.Argument(
        help="The dataset (as for inspect); asked for when left out in a terminal.", metavar="[DATASET]", show_default=False)] = None,
    no_input: Annotated[bool, typer.Option("--no-input", help="Ask nothing (also the case without a terminal): use and print the defaults.")] = False,
    run: Annotated[Optional[str], typer.Option("--run", help="Without questions, run these actions, comma-separated: fix, convert, trial, scaffold, or all.")] = None,
    split: Annotated[Optional[str], typer.Option("--split", help="Split to use (DatasetDict folders and hub datasets).")] = None,
    family: FamilyOpt = None,
) -> None:
    """A guided session: confirm the columns, answer what the data cannot tell, then fix, convert, trial and scaffold.

    Every answer is a flag of inspect/convert/trial/scaffold: each command is shown before it runs, and the
    session ends with the command lines that repeat it. Without a terminal, or with --no-input, nothing is asked:
    the inferred columns, the first reading and the goal that reading implies are used (each printed as an
    assumption), and no command runs unless --run names it (the fix writes fixed-dataset, a conversion the first
    offered format, the trial 20 steps of the first loss, the script train.py). The exit code is 0, or that of
    the first command that failed; Ctrl-C exits with 130. Without --family, the session asks which model is trained
    (reranker, dense or sparse first-stage retriever, late interaction) where the answer changes the losses.
    """
    from lossadvisor.interactive import SessionActions, advise

    state = context_of(ctx)
    root = ctx.find_root().command  # the app's own command: the session runs through it without importing the app module
    actions = SessionActions(loss_table=state.loss_table(), run=functools.partial(run_in_process, root),
                             global_options=state.global_options())
    chosen = state.loss_table(family).family_name if family is not None else None  # aliases and typos resolved here
    advise(dataset, no_input=no_input, run=run, split=split, actions=actions, family=chosen)


def run_in_process(root: click.Command, command: CommandLine) -> int:
    """Run one lossadvisor command line in this process, through the app's root command; return its exit code."""
    try:
        result = root.main(command.argv(), prog_name="lossadvisor", standalone_mode=False)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:  # click's UsageError, BadParameter, Abort
        code = getattr(exc, "exit_code", None)
        if code is None and type(exc).__name__ != "Abort":
            raise
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        sys.stderr.write(f"Error: {message}\n" if message else "Aborted.\n")
        return code if code is not None else 1
    return result if isinstance(result, int) else 0
