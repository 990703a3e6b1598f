"""`lossadvisor advise`: a guided session over inspect, convert, trial and scaffold.

The session adds no second implementation of any of them. It analyses with `advice.inspect_dataset`, and for
every action it builds the exact non-interactive command line (a `CommandLine`), shows it, asks, and hands it
to the runner its caller gave it (`SessionActions.run`; the CLI runs it in-process through the typer app).
Every answer is a flag of those commands, and the session ends by printing the command lines that repeat it
without questions.

Modules: `prompts` (the Prompter and its two implementations), `checks` (validators, goals), `session` (state,
actions given, summary), `columns`, `goal` and `actions` (the phases, in order).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Sequence

from lossadvisor.errors import EXIT_INTERRUPTED, LossAdvisorError
from lossadvisor.interactive import actions as _actions
from lossadvisor.interactive.checks import check_dataset, fresh_path, goal_of, offer_goal, parse_score_range
from lossadvisor.interactive.columns import confirm_columns, open_dataset, settle_readings
from lossadvisor.interactive.family import choose_family
from lossadvisor.interactive.goal import choose_goal, recommend
from lossadvisor.interactive.prompts import DefaultsPrompter, Option, Prompter, QuestionaryPrompter
from lossadvisor.interactive.session import Session, SessionActions, Step, summary
from lossadvisor.interactive.shapes import ask_shape_questions

if TYPE_CHECKING:
    from rich.console import Console

    from lossadvisor.commands import CommandLine

ACTIONS = ("fix", "convert", "trial", "scaffold")

__all__ = [
    "ACTIONS", "DefaultsPrompter", "Option", "Prompter", "QuestionaryPrompter", "Session", "SessionActions", "Step",
    "advise", "check_dataset", "fresh_path", "goal_of", "offer_goal", "parse_run", "parse_score_range", "run_session",
]


def _no_runner(command: CommandLine) -> int:
    raise RuntimeError(f"this session was given no way to run commands: {command.render()}")


def run_session(dataset: str | None, prompter: Prompter, console: Console, *, split: str | None = None,
                run: Sequence[str] = (), actions: SessionActions | None = None, family: str | None = None) -> int:
    """The guided session; returns 0, or the exit code of the first command that failed.

    Ctrl-C (KeyboardInterrupt) propagates to the caller, which exits with 130.
    """
    if actions is None:
        from lossadvisor.table import load_table

        actions = SessionActions(load_table(None), _no_runner)
    s = Session(prompter, console, actions, split=split, run=frozenset(run), family=family, family_fixed=family is not None)
    if not prompter.interactive:
        console.print("[dim]No questions (no terminal, or --no-input): the defaults are used and printed as 'assumed'; "
                      "commands run only where --run names them.[/dim]", highlight=False)
    s.heading("Dataset")
    open_dataset(s, dataset)
    confirm_columns(s)
    settle_readings(s)
    ask_shape_questions(s)
    s.heading("Goal")
    choose_family(s)
    choose_goal(s)
    s.heading("Recommendation")
    recommend(s, s.current().report)
    for phase in (_actions.fix, _actions.convert, _actions.trial, _actions.scaffold):
        phase(s)
    summary(s)
    failed = [step.code for step in s.steps if step.status == "failed" and step.code]
    return failed[0] if failed else 0


def parse_run(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    if names == ["all"]:
        return ACTIONS
    unknown = [n for n in names if n not in ACTIONS]
    if unknown:
        raise LossAdvisorError(f"--run: unknown action(s) {', '.join(unknown)}", f"Choose from {', '.join(ACTIONS)}, or all.")
    return tuple(names)


def advise(dataset: str | None, *, no_input: bool, run: str | None, split: str | None, actions: SessionActions,
           family: str | None = None) -> None:
    """The `advise` command's body: pick the prompter, run the session, turn its outcome into an exit code."""
    import typer
    from rich.console import Console

    chosen = parse_run(run)
    interactive = not no_input and sys.stdin.isatty() and sys.stdout.isatty()
    from lossadvisor.render import output_width

    console = Console(highlight=False, width=output_width())
    prompter: Prompter = QuestionaryPrompter(console) if interactive else DefaultsPrompter(console)
    try:
        code = run_session(dataset, prompter, console, split=split, run=chosen, actions=actions, family=family)
    except (KeyboardInterrupt, EOFError):
        sys.stderr.write("\nInterrupted: nothing more was run; completed steps kept their output.\n")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    if code:
        raise typer.Exit(code)
