"""The session's state, what it is given to run (`SessionActions`), and the summary it ends with.

The session builds every command as a `CommandLine` (the arguments as data), shows its `.render()`, and hands
the same object to `SessionActions.run`; nothing is parsed back out of printed text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from rich.console import Console

from lossadvisor.commands import CommandLine
from lossadvisor.render import escape
from lossadvisor.table import DEFAULT_FAMILY

if TYPE_CHECKING:
    from lossadvisor.advice import Report
    from lossadvisor.interactive.prompts import Prompter
    from lossadvisor.profile import ColumnChoice
    from lossadvisor.table import LossTable

Options = tuple[tuple[str, "str | None"], ...]


def _inspect(spec: str, table: LossTable, split: str | None, choice: ColumnChoice | None, reading: str | None) -> Report:
    from lossadvisor.advice import inspect_dataset

    return inspect_dataset(spec, table, split=split, choice=choice, reading=reading)


@dataclass(frozen=True)
class SessionActions:
    """What the session may do besides asking: given by its caller (the CLI), so the session never imports the CLI.

    `run` executes a command line (as typed on a shell) and returns its exit code; `inspect` analyses a dataset;
    `global_options` (--table, --debug) go in front of every command the session prints and runs.
    """

    loss_table: LossTable
    run: Callable[[CommandLine], int]
    inspect: Callable[..., Report] = _inspect
    global_options: Options = ()


@dataclass
class Step:
    """One offered action: the command line, and what became of it (ran / failed / skipped / planned)."""

    action: str
    command: CommandLine
    status: str = "planned"
    code: int | None = None


@dataclass
class Data:
    """The dataset the next command reads: the original (with the user's flags) or an output of a step."""

    spec: str
    report: Report
    original: bool


class PendingHeading:
    """A rich render hook: the heading waiting for its section's first output, printed just before it."""

    def __init__(self) -> None:
        self.text: str | None = None
        self.console: Console | None = None

    def wait(self, console: Console, text: str) -> None:
        if self.console is not console:
            console.push_render_hook(self)
            self.console = console
        self.text = text

    def process_renderables(self, renderables: list) -> list:
        if self.text is None:
            return renderables
        from rich.text import Text

        heading = Text.from_markup(f"\n[bold magenta]{escape(self.text)}[/bold magenta]")
        self.text = None
        return [heading, *renderables]


@dataclass
class Session:
    """What the user has said so far; the phases (columns, goal, actions) read and change it."""

    prompter: Prompter
    console: Console
    actions: SessionActions
    split: str | None = None
    run: frozenset[str] = frozenset()
    inputs: tuple[str, ...] | None = None
    label: str | None = None
    reading: str | None = None
    score_range: str | None = None
    goal: str = "reranker"
    teacher: str | None = None
    loss: str | None = None
    goal_hint: str | None = None  # the goal an answer implies, offered as the default when the goal is asked
    expansion: str | None = None  # the conversion the user chose for list-valued data (convert --to)
    convert_flags: Options = ()  # convert-only answers: --gain, --negatives-policy
    data: Data | None = None
    family: str | None = None  # the model family advised (--family); None: the table's default
    family_fixed: bool = False  # given on the command line: not asked
    origin: str = ""
    steps: list[Step] = field(default_factory=list)
    _headings: PendingHeading = field(default_factory=lambda: PendingHeading(), repr=False)

    @property
    def ask(self) -> Prompter:
        return self.prompter

    @property
    def loss_table(self) -> LossTable:
        return self.actions.loss_table.for_family(self.family) if self.family else self.actions.loss_table

    def say(self, text: str = "") -> None:
        self.console.print(text, highlight=False)

    def heading(self, text: str) -> None:
        """A section heading, printed with the first line of its section: a section with nothing in it shows none."""
        self._headings.wait(self.console, text)

    def current(self) -> Data:
        if self.data is None:
            raise RuntimeError("no dataset opened yet")
        return self.data

    def inspect(self, spec: str, original: bool) -> Report:
        from lossadvisor.profile import ColumnChoice

        if not original:
            return self.actions.inspect(spec, self.loss_table, None, None, None)
        return self.actions.inspect(spec, self.loss_table, self.split, ColumnChoice(self.inputs, self.label), self.reading)

    def flags(self, data: Data, *, score_range: bool = False) -> Options:
        """The flags that make a command read `data` the way the user chose (none for a step's output)."""
        if not data.original:
            return ()
        flags: list[tuple[str, str | None]] = []
        if self.split:
            flags.append(("--split", self.split))
        if self.inputs is not None:
            flags += [("--inputs", ",".join(self.inputs)), ("--label", self.label or "none")]
        if self.reading:
            flags.append(("--as", self.reading))
        if score_range and self.score_range:
            flags.append(("--score-range", self.score_range))
        return tuple(flags)

    def command(self, name: str, spec: str, *options: tuple[str, str | None]) -> CommandLine:
        """`lossadvisor [globals] NAME SPEC OPTIONS… [--family NAME]`."""
        return CommandLine(name, spec, tuple(options) + self.family_flags(), self.actions.global_options)

    def family_flags(self) -> tuple[tuple[str, str], ...]:
        """--family NAME when the session advises another family than the default (the commands' own default)."""
        return (("--family", self.family),) if self.family and self.family != DEFAULT_FAMILY else ()


def summary(s: Session) -> None:
    """The command lines that repeat the session without questions (skipped and failed steps marked)."""
    s.heading("Equivalent commands (repeat this session without questions)")
    origin = Data(s.origin, s.current().report, True)
    lines = [s.command("inspect", s.origin, *s.flags(origin)).render()]
    for step in s.steps:
        line = step.command.render()
        if step.status == "skipped":
            line = f"# skipped: {line}"
        elif step.status == "failed":
            line = f"{line}  # failed with exit code {step.code}"
        lines.append(line)
    for line in lines:
        s.console.print(line, markup=False, highlight=False, soft_wrap=True)
