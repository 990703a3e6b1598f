"""`lossadvisor advise`: a guided session over inspect, convert, trial and scaffold.

The session adds no second implementation of any of them. It analyses with `advice.inspect_dataset`, and for
every action it builds the exact non-interactive command line, shows it, asks, and runs it in-process through
the typer app. Every answer is a flag of those commands, and the session ends by printing the command lines
that repeat it without questions.

The questions go through a small `Prompter`: `QuestionaryPrompter` (arrow keys, validation, path completion) in a
terminal, `DefaultsPrompter` (no questions; each default is printed as an assumption) without one or with
`--no-input`.
"""

from __future__ import annotations

import glob
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Protocol, Sequence

import typer
from rich.console import Console

from lossadvisor.errors import EXIT_INTERRUPTED, LossAdvisorError
from lossadvisor.render import escape

if TYPE_CHECKING:
    from lossadvisor.advice import ConversionOffer, Recommendation, Report
    from lossadvisor.table import LossTable

ACTIONS = ("fix", "convert", "trial", "scaffold")
GOALS = ("reranker", "classifier", "distill")
GOAL_TITLES = {
    "reranker": "Reranker: score (query, document) pairs to rank search results",
    "classifier": "Pair classifier: predict a class for each (A, B) pair",
    "distill": "Distillation: learn the scores of a stronger (teacher) model",
}
NO_LABEL = "(none)"
NO_CONVERSION = "(no conversion)"
TRIAL_STEPS = 20
DEFAULT_NEGATIVES = 3  # convert's (and mine_hard_negatives') default
# Warnings that `convert --fix` repairs (the tidy plan: columns, labels, scores, nulls, duplicates, reading traps).
FIXABLE = {
    "extra-columns", "input-order", "label-name", "two-labels", "competing-labels", "split-label", "string-labels",
    "score-range", "no-consensus-labels", "null-texts", "null-labels", "duplicates", "literal-quotes",
    "misleading-extension", "ragged-rows", "no-header", "nested-records", "bom-in-header", "reserved-column",
}
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
DATA_SUFFIXES = {".csv", ".tsv", ".txt", ".json", ".jsonl", ".parquet", ".arrow"}

Validator = Callable[[str], Optional[str]]  # returns an error message, or None when the answer is fine


# --- the prompt layer -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """One answer of a multiple-choice question; `value` is what the session uses (never None)."""

    title: str
    value: Any
    help: str | None = None


class Prompter(Protocol):
    """Asks the questions. `interactive` is False when nothing may prompt (the defaults are used)."""

    interactive: bool

    def choose(self, question: str, options: Sequence[Option], default: Any, help: str) -> Any: ...

    def pick_many(self, question: str, options: Sequence[Option], defaults: Sequence[Any], help: str,
                  validate: Callable[[list], Optional[str]] | None = None) -> list: ...

    def confirm(self, question: str, default: bool, help: str) -> bool: ...

    def text(self, question: str, default: str, help: str, validate: Validator | None = None) -> str: ...

    def path(self, question: str, default: str, help: str, validate: Validator | None = None) -> str: ...


def _questionary_check(validate: Callable[[Any], Optional[str]] | None) -> Callable[[Any], Any]:
    if validate is None:
        return lambda _answer: True
    return lambda answer: validate(answer) or True


class QuestionaryPrompter:
    """Arrow-key choices (type to filter), validation with a re-ask, path completion; Ctrl-C raises KeyboardInterrupt."""

    interactive = True

    def __init__(self, console: Console) -> None:
        self.console = console

    def _help(self, help: str) -> None:
        self.console.print(f"  [dim]{escape(help)}[/dim]", highlight=False)

    @staticmethod
    def _ask(question) -> Any:
        answer = question.unsafe_ask()  # unsafe: Ctrl-C raises KeyboardInterrupt instead of returning None
        if answer is None:
            raise KeyboardInterrupt
        return answer

    def choose(self, question: str, options: Sequence[Option], default: Any, help: str) -> Any:
        import questionary

        self._help(help)
        choices = [questionary.Choice(o.title, value=o.value, description=o.help) for o in options]
        start = next((c for c in choices if c.value == default), choices[0])
        return self._ask(questionary.select(question, choices=choices, default=start, use_search_filter=True,
                                            use_jk_keys=False, instruction="(↑/↓ move, type to filter, Enter chooses)"))

    def pick_many(self, question: str, options: Sequence[Option], defaults: Sequence[Any], help: str,
                  validate: Callable[[list], Optional[str]] | None = None) -> list:
        import questionary

        self._help(help)
        choices = [questionary.Choice(o.title, value=o.value, checked=o.value in defaults, description=o.help) for o in options]
        return self._ask(questionary.checkbox(question, choices=choices, validate=_questionary_check(validate),
                                              instruction="(↑/↓ move, Space toggles, Enter accepts)"))

    def confirm(self, question: str, default: bool, help: str) -> bool:
        import questionary

        self._help(help)
        return self._ask(questionary.confirm(question, default=default))

    def text(self, question: str, default: str, help: str, validate: Validator | None = None) -> str:
        import questionary

        self._help(help)
        return self._ask(questionary.text(question, default=default, validate=_questionary_check(validate))).strip()

    def path(self, question: str, default: str, help: str, validate: Validator | None = None) -> str:
        import questionary

        self._help(help)
        # No space reserved for the completion menu: it appears below the line when there is something to show.
        return self._ask(questionary.path(question, default=default, validate=_questionary_check(validate),
                                          reserve_space_for_menu=0)).strip()


class DefaultsPrompter:
    """Asks nothing: every question takes its documented default, which is printed as an assumption."""

    interactive = False

    def __init__(self, console: Console) -> None:
        self.console = console

    def _assume(self, question: str, answer: str) -> None:
        self.console.print(f"  [dim]assumed:[/dim] {escape(question)} [bold]{escape(answer)}[/bold]", highlight=False)

    def choose(self, question: str, options: Sequence[Option], default: Any, help: str) -> Any:
        self._assume(question, next((o.title for o in options if o.value == default), str(default)))
        return default

    def pick_many(self, question: str, options: Sequence[Option], defaults: Sequence[Any], help: str,
                  validate: Callable[[list], Optional[str]] | None = None) -> list:
        self._assume(question, ", ".join(o.title for o in options if o.value in defaults) or "none")
        return list(defaults)

    def confirm(self, question: str, default: bool, help: str) -> bool:
        self._assume(question, "yes" if default else "no")
        return default

    def text(self, question: str, default: str, help: str, validate: Validator | None = None) -> str:
        self._assume(question, default)
        return default

    def path(self, question: str, default: str, help: str, validate: Validator | None = None) -> str:
        return self.text(question, default, help, validate)


# --- running the real commands --------------------------------------------------------------------------


def command_line(args: Sequence[str]) -> str:
    return "lossadvisor " + shlex.join(args)


def run_command(args: Sequence[str]) -> int:
    """Run one lossadvisor command line in this process, through the typer app; return its exit code."""
    from typer.main import get_command

    from lossadvisor.cli import app

    try:
        result = get_command(app).main(list(args), prog_name="lossadvisor", standalone_mode=False)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:  # typer's bundled click: UsageError, BadParameter, Abort
        code = getattr(exc, "exit_code", None)
        if code is None and type(exc).__name__ != "Abort":
            raise
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        sys.stderr.write(f"Error: {message}\n" if message else "Aborted.\n")
        return code if code is not None else 1
    return result if isinstance(result, int) else 0


@dataclass
class Step:
    """One offered action: the command line, and what became of it (ran / failed / skipped / planned)."""

    action: str
    args: list[str]
    status: str = "planned"
    code: int | None = None


# --- small helpers --------------------------------------------------------------------------------------


def check_dataset(text: str) -> Optional[str]:
    """Accept an existing path, a glob that matches, or something shaped like a hub id (org/name)."""
    text = text.strip()
    if not text:
        return "Enter a file, a folder, a glob or a hub id (org/name)."
    path = Path(text).expanduser()
    if path.exists():
        return None
    if any(ch in text for ch in "*?[") and glob.glob(str(path)):
        return None
    if HUB_ID.match(text) and path.suffix.lower() not in DATA_SUFFIXES and not text.startswith((".", "/", "~")):
        return None
    return f"No such file or folder: {text}"


def parse_score_range(text: str) -> tuple[float, float] | None:
    try:
        lo, hi = (float(part) for part in text.split(":"))
    except ValueError:
        return None
    return (lo, hi) if hi > lo else None


def _check_range(text: str) -> Optional[str]:
    return None if parse_score_range(text) else "Write LOW:HIGH with LOW below HIGH, e.g. 0:5."


def _check_int(low: int, high: int) -> Validator:
    def check(text: str) -> Optional[str]:
        if not text.strip().isdigit() or not low <= int(text) <= high:
            return f"Enter a whole number from {low} to {high}."
        return None

    return check


def _check_output(text: str) -> Optional[str]:
    if not text.strip():
        return "Enter a path."
    parent = Path(text).expanduser().absolute().parent
    if not parent.is_dir():
        return f"The folder {parent} does not exist."
    return None


def fresh_path(name: str) -> str:
    """`name`, or `name-2`, `name-3`, … (before the suffix): a path that does not exist yet."""
    path = Path(name)
    if not path.exists():
        return name
    for n in range(2, 1000):
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        if not candidate.exists():
            return str(candidate)
    return name


def goal_of(rec: Recommendation) -> str:
    if rec.distillation:
        return "distill"
    if rec.num_labels == "num_classes" or (isinstance(rec.num_labels, int) and rec.num_labels > 1):
        return "classifier"
    return "reranker"


def offer_goal(offer: ConversionOffer) -> str:
    return "distill" if "teacher" in offer.needs else "reranker"


def _flag_value(command: str, flag: str) -> str | None:
    parts = shlex.split(command)
    return parts[parts.index(flag) + 1] if flag in parts[:-1] else None


def _fmt_range(lo: float, hi: float) -> str:
    return f"{lo:g}:{hi:g}"


# --- the session ----------------------------------------------------------------------------------------


@dataclass
class Data:
    """The dataset the next command reads: the original (with the user's flags) or an output of a step."""

    spec: str
    report: Report
    original: bool


@dataclass
class Session:
    prompter: Prompter
    console: Console
    loss_table: LossTable
    split: str | None = None
    run: frozenset[str] = frozenset()
    global_args: tuple[str, ...] = ()
    inputs: tuple[str, ...] | None = None
    label: str | None = None
    reading: str | None = None
    score_range: str | None = None
    goal: str = "reranker"
    teacher: str | None = None
    loss: str | None = None
    data: Data | None = None
    origin: str = ""
    steps: list[Step] = field(default_factory=list)

    # --- plumbing ---

    @property
    def ask(self) -> Prompter:
        return self.prompter

    def say(self, text: str = "") -> None:
        self.console.print(text, highlight=False)

    def heading(self, text: str) -> None:
        self.console.print(f"\n[bold magenta]{escape(text)}[/bold magenta]", highlight=False)

    def inspect(self, spec: str, original: bool) -> Report:
        from lossadvisor.advice import inspect_dataset
        from lossadvisor.profile import ColumnChoice

        if not original:
            return inspect_dataset(spec, self.loss_table)
        return inspect_dataset(spec, self.loss_table, split=self.split, choice=ColumnChoice(self.inputs, self.label),
                               reading=self.reading)

    def flags(self, data: Data, *, score_range: bool = False) -> list[str]:
        """The flags that make a command read `data` the way the user chose (none for a step's output)."""
        if not data.original:
            return []
        flags: list[str] = []
        if self.split:
            flags += ["--split", self.split]
        if self.inputs is not None:
            flags += ["--inputs", ",".join(self.inputs), "--label", self.label or "none"]
        if self.reading:
            flags += ["--as", self.reading]
        if score_range and self.score_range:
            flags += ["--score-range", self.score_range]
        return flags

    # --- 1. open ---

    def open(self, dataset: str | None) -> None:
        error = check_dataset(dataset) if dataset is not None else None
        while True:
            if dataset is None or error:
                if not self.ask.interactive:
                    if dataset is None:
                        raise LossAdvisorError("no DATASET given, and no terminal to ask for one",
                                               "Name it: lossadvisor advise DATASET --no-input")
                else:
                    if error:
                        self.console.print(f"[red]{escape(error)}[/red]")
                    dataset = self.ask.path(
                        "Which dataset?", dataset or "",
                        "A data file (csv, tsv, json, jsonl, parquet, arrow), a folder, a glob, or a hub id; Tab completes paths.",
                        check_dataset)
            self.say(f"[dim]reading {escape(dataset)} …[/dim]")
            try:
                report = self.inspect(dataset, original=True)
            except LossAdvisorError as exc:
                if not self.ask.interactive:
                    raise
                error = exc.message + (f" ({exc.hint})" if exc.hint else "")
                continue
            self.origin = dataset
            self.data = Data(dataset, report, True)
            return

    # --- 2. columns ---

    def model_inputs(self, report: Report) -> tuple[list[str], str | None]:
        if report.tidy is not None:
            return list(report.tidy.inputs), report.tidy.label
        inputs = [c.name for c in report.columns if c.role == "input"]
        label = next((c.name for c in report.columns if c.role == "label"), None)
        return inputs, label

    def show(self, report: Report) -> None:
        from rich.table import Table

        rows = f"{report.num_rows:,} rows" if report.num_rows is not None else "row count unknown (streamed)"
        split = f", split '{report.split}'" if report.split else ""
        self.say(f"[bold]{escape(report.dataset)}[/bold]  ({report.source_kind}{split}, {rows})")
        view = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        for header in ("#", "column", "dtype", "role", "why"):
            view.add_column(header)
        inputs, _ = self.model_inputs(report)
        for index, column in enumerate(report.columns, 1):
            role = column.role + (f" ({column.label_kind})" if column.label_kind else "")
            if column.role == "input" and column.name in inputs:
                role = f"input {inputs.index(column.name) + 1}"
            view.add_row(str(index), escape(column.name), escape(column.dtype), role, escape(column.reason))
        self.console.print(view)
        if report.format is None:
            self.say("[bold red]format: none of the table's formats fits these columns[/bold red]")
        else:
            state = " [yellow](after fixes)[/yellow]" if report.needs_fixing else ""
            self.say(f"format: [bold green]{report.format}[/bold green]{state}: {escape(report.format_description or '')}")
        for w in report.warnings:
            if w.severity == "warning":
                self.say(f"  [yellow]![/yellow] \\[{w.code}] {escape(w.message)}")

    def columns(self) -> None:
        assert self.data is not None
        while True:
            report = self.data.report
            self.show(report)
            inputs, label = self.model_inputs(report)
            summary = f"inputs {' → '.join(inputs) or 'none'}; label {label or 'none'}"
            keep = report.format is not None
            answer = self.ask.choose(
                "Use these columns?",
                [Option(f"Yes: {summary}", "keep"), Option("No: choose the anchor, the label, the columns to drop and their order", "change")],
                "keep" if keep else "change",
                "The answer becomes --inputs a,b,c (in the order the model sees them) and --label X (or none).",
            )
            if answer == "keep":
                if report.format is None:
                    raise LossAdvisorError(f"{report.dataset}: no format of the loss table fits these columns",
                                           f"Pick the columns: lossadvisor inspect {shlex.quote(report.dataset)} --inputs A,B --label L")
                return
            self.change_columns(report, inputs, label)

    def change_columns(self, report: Report, inputs: list[str], label: str | None) -> None:
        names = [c.name for c in report.columns]
        described = {c.name: f"{c.dtype}, {c.role}: {c.reason}" for c in report.columns}
        anchor = self.ask.choose(
            "Which column is the anchor (the query, or the first text)?",
            [Option(n, n, described[n]) for n in names], inputs[0] if inputs else names[0],
            "The anchor is the first input (--inputs ANCHOR,…); sentence-transformers takes inputs by order, not by name.")
        label_options = [Option(NO_LABEL, NO_LABEL, "no label column: pairs, triplets or n-tuples")]
        label_options += [Option(n, n, described[n]) for n in names if n != anchor]
        new_label = self.ask.choose(
            "Which column is the label?", label_options, label if label and label != anchor else NO_LABEL,
            "The label (--label X, or --label none); it is renamed to 'label' by convert --fix.")
        new_label = None if new_label == NO_LABEL else new_label
        rest = [n for n in names if n not in (anchor, new_label)]
        others = self.ask.pick_many(
            "Which other columns are inputs? (unticked columns are dropped)",
            [Option(n, n, described[n]) for n in rest], [n for n in inputs[1:] if n in rest],
            "Ticked columns follow the anchor as inputs; unticked ones are dropped (left out of --inputs).",
            lambda picked: None if picked else "Tick at least one more input (e.g. the document or the second sentence).")
        if len(others) > 1:
            current = ",".join(others)

            def check_order(text: str) -> Optional[str]:
                given = [t.strip() for t in text.split(",") if t.strip()]
                return None if sorted(given) == sorted(others) else f"List exactly these columns, comma-separated: {current}"

            order = self.ask.text(f"In which order do they follow {anchor}? (comma-separated)", current,
                                  "The order of --inputs after the anchor, e.g. positive,negative_1,negative_2.", check_order)
            others = [t.strip() for t in order.split(",") if t.strip()]
        self.inputs = (anchor, *others)
        self.label = new_label or "none"  # ColumnChoice: a column name, or "none" for no label
        self.reading = None
        try:
            assert self.data is not None
            self.data = Data(self.data.spec, self.inspect(self.data.spec, original=True), True)
        except LossAdvisorError as exc:
            self.console.print(f"[red]{escape(exc.message)}[/red]" + (f"\n[dim]{escape(exc.hint)}[/dim]" if exc.hint else ""))
            self.inputs, self.label = None, None
            assert self.data is not None

    # --- 3. ambiguity ---

    def readings(self) -> None:
        assert self.data is not None
        report = self.data.report
        if len(report.readings) > 1:
            options = []
            for r in report.readings:
                what = r.assumption or self.loss_table.format(r.format).description
                options.append(Option(f"{r.format}: {what}", r.format, "losses: " + ", ".join(r.losses)))
            chosen = self.ask.choose(
                "The data can be read more than one way. Which is it?", options, report.readings[0].format,
                "The answer becomes --as FORMAT (the first is the documented common choice).")
            if chosen != report.readings[0].format:
                self.reading = chosen
                self.data = Data(self.data.spec, self.inspect(self.data.spec, original=True), True)
        report = self.data.report
        if report.tidy is not None and report.tidy.score_range is not None:
            lo, hi = report.tidy.score_range
            self.score_range = self.ask.text(
                f"The scores run from {lo:g} to {hi:g}. From which range should they be rescaled to [0, 1]?",
                _fmt_range(lo, hi), "LOW:HIGH, the scale the scores were given on (e.g. 0:5 for STS-B); becomes --score-range.",
                _check_range)

    # --- 4. goal ---

    def choose_goal(self) -> None:
        assert self.data is not None
        report = self.data.report
        direct = {g: [r for r in report.recommendations if goal_of(r) == g] for g in GOALS}
        via = {g: [o for o in report.conversions if offer_goal(o) == g] for g in GOALS}
        available = [g for g in GOALS if direct[g] or via[g]]
        default = goal_of(report.recommendations[0]) if report.recommendations else (available[0] if available else "reranker")
        if len(available) > 1:
            options = []
            for g in available:
                if direct[g]:
                    how = ", ".join(r.loss for r in direct[g])
                else:
                    how = "after converting to " + ", ".join(o.to for o in via[g])
                    if g == "distill":
                        how += "; needs a teacher model"
                options.append(Option(f"{GOAL_TITLES[g]} ({how})", g))
            self.goal = self.ask.choose(
                "What should the model do?", options, default,
                "Picks the loss (--loss) and, where the data must change shape first, the conversion (convert --to).")
        else:
            self.goal = default
        if self.goal == "distill" and not direct["distill"]:
            self.ask_teacher()
            if not self.teacher:
                self.say("[yellow]No teacher model: advising a reranker instead.[/yellow]")
                self.goal = "reranker" if "reranker" in available else default

    def ask_teacher(self) -> None:
        def check(text: str) -> Optional[str]:
            if not text.strip():
                return None
            if text.startswith((".", "/", "~")) and not Path(text).expanduser().exists():
                return f"No such folder: {text}"
            return None

        self.teacher = self.ask.text(
            "Which teacher CrossEncoder? (empty: none available)", "",
            "A local model folder or a model id already in your Hugging Face cache (nothing is downloaded); becomes --teacher.",
            check) or None

    # --- 5. recommend ---

    def losses_for_goal(self, report: Report) -> list[Recommendation]:
        recs = [r for r in report.recommendations if goal_of(r) == self.goal]
        return recs or list(report.recommendations)

    def recommend(self, report: Report) -> None:
        recs = [r for r in report.recommendations if goal_of(r) == self.goal]
        if not recs:
            offers = [o for o in report.conversions if offer_goal(o) == self.goal]
            self.say(f"No loss for this goal fits {report.format} data as it is; convert it first:")
            for o in offers:
                self.say(f"  → {o.to}: {escape(o.summary)} (unlocks {escape(', '.join(o.unlocks) or 'no new losses')})")
            return
        self.say(f"For a {self.goal} on {report.format} data, best first:")
        for index, rec in enumerate(recs, 1):
            self.say(f"  {index}. [bold]{rec.loss}[/bold]: {escape(rec.reason)}")
            self.say(f"     CrossEncoder(num_labels={rec.num_labels}), activation {escape(str(rec.activation))}")
            for line in rec.construction.splitlines():
                self.say(f"     [cyan]{escape(line)}[/cyan]")
            for p in rec.params:
                self.say(f"       {escape(p['name'])}={escape(str(p['value']))}  [dim]{escape(p.get('why', ''))}[/dim]")

    # --- 6. actions ---

    def offer(self, action: str, args: list[str], question: str = "Run it?") -> bool:
        """Show the command; run it when the user agrees (or, without questions, when --run names it)."""
        step = Step(action, args)
        self.steps.append(step)
        self.console.print(f"  [bold]$[/bold] [cyan]{escape(command_line(args))}[/cyan]", highlight=False, soft_wrap=True)
        if self.ask.interactive:
            go = self.ask.confirm(question, True, f"Runs exactly the command above (as `lossadvisor {action if action != 'fix' else 'convert --fix'}`).")
        else:
            go = action in self.run
            if not go:
                self.say(f"  [dim]not run (add --run {action} to run it)[/dim]")
        if not go:
            step.status = "skipped" if self.ask.interactive else "planned"
            return False
        code = run_command(args)
        step.code = code
        if code == EXIT_INTERRUPTED:
            raise KeyboardInterrupt
        step.status = "ran" if code == 0 else "failed"
        self.say("  [green]✓ done[/green]" if code == 0 else f"  [red]✗ exit code {code}[/red]")
        return code == 0

    def wants(self, question: str, help: str) -> bool:
        """Offer an action (default yes); without questions every action is planned and --run decides in offer()."""
        return self.ask.confirm(question, True, help) if self.ask.interactive else True

    def output_path(self, question: str, default: str, help: str) -> tuple[str, list[str]]:
        """An output path and, where it exists and the user agrees to replace it, ['--overwrite']."""
        while True:
            path = self.ask.path(question, fresh_path(default), help, _check_output)
            if not Path(path).expanduser().exists():
                return path, []
            if self.ask.confirm(f"{path} exists. Replace it?", False, "Yes adds --overwrite; no asks for another path."):
                return path, ["--overwrite"]

    def switch_to(self, spec: str) -> None:
        report = self.inspect(spec, original=False)
        self.data = Data(spec, report, False)
        self.show(report)

    def fix(self) -> None:
        assert self.data is not None
        report = self.data.report
        fixable = [w for w in report.warnings if w.severity == "warning" and (w.code in FIXABLE or "--fix" in w.fix)]
        if not fixable:
            return
        self.heading("Fixes")
        for w in fixable:
            self.say(f"  [yellow]![/yellow] \\[{w.code}] {escape(w.message)}")
        if not self.wants("Write a fixed copy of the data (convert --fix)?",
                          "Applies every fix above and writes a new dataset; the original is never changed."):
            self.steps.append(Step("fix", ["convert", self.data.spec, "--fix", "-o", "fixed-dataset", *self.flags(self.data, score_range=True)], "skipped"))
            return
        out, overwrite = self.output_path("Where should the fixed data go?", "fixed-dataset",
                                          "A folder (save_to_disk) or a .parquet/.jsonl/.csv/.tsv file; becomes -o OUT.")
        args = ["convert", self.data.spec, "--fix", "-o", out, *overwrite, *self.flags(self.data, score_range=True)]
        if self.offer("fix", self.global_args_for(args)):
            self.switch_to(out)

    def global_args_for(self, args: list[str]) -> list[str]:
        return [*self.global_args, *args]

    def convert(self) -> None:
        assert self.data is not None
        report = self.data.report
        if not report.conversions:
            return
        self.heading("Conversions")
        needed = not [r for r in report.recommendations if goal_of(r) == self.goal]
        ordered = sorted(report.conversions, key=lambda o: offer_goal(o) != self.goal)
        options = [Option(NO_CONVERSION, NO_CONVERSION, "keep the data as it is")]
        for o in ordered:
            unlocks = ", ".join(o.unlocks) or "no new losses"
            need = " [needs a teacher model]" if "teacher" in o.needs else ""
            options.append(Option(f"{o.to}: unlocks {unlocks}{need}", o.to, o.summary))
        default = ordered[0].to if needed and offer_goal(ordered[0]) == self.goal else NO_CONVERSION
        if not self.ask.interactive and "convert" in self.run and default == NO_CONVERSION:
            default = next((o.to for o in report.conversions if "teacher" not in o.needs), NO_CONVERSION)
        target = self.ask.choose("Convert the data to another format?", options, default,
                                 "Reshapes the data (incl. hard-negative mining) to unlock more losses; becomes convert --to FORMAT.")
        if target == NO_CONVERSION:
            return
        offer = next(o for o in report.conversions if o.to == target)
        extra: list[str] = []
        if "positive-class" in offer.needs:
            default_class = _flag_value(offer.command, "--positive-class") or "0"
            classes = list(report.classes) or ([str(i) for i in range(report.num_labels)] if isinstance(report.num_labels, int) else [])
            if classes and default_class in classes:
                positive = self.ask.choose(
                    "Which class marks a positive (matching) pair?", [Option(c, c) for c in classes], default_class,
                    "Rows of this class become positives, the other classes negatives; becomes --positive-class "
                    "(SNLI/MNLI ids: 0 = entailment).")
            else:
                positive = self.ask.text("Which class marks a positive (matching) pair?", default_class,
                                         "A class name or id; becomes --positive-class.", lambda t: None if t.strip() else "Enter a class.")
            extra += ["--positive-class", positive]
        if "teacher" in offer.needs:
            if not self.teacher:
                self.ask_teacher()
            if not self.teacher:
                self.say("[yellow]No teacher model: skipping this conversion.[/yellow]")
                return
            extra += ["--teacher", self.teacher]
        if "miner" in offer.needs:
            negatives = self.ask.text("How many hard negatives per query?", str(DEFAULT_NEGATIVES),
                                      "Mined with BM25 from the other rows' documents; becomes --num-negatives.", _check_int(1, 100))
            if int(negatives) != DEFAULT_NEGATIVES:
                extra += ["--num-negatives", str(int(negatives))]
        out, overwrite = self.output_path("Where should the converted data go?", f"{target}-dataset",
                                          "A folder (save_to_disk) or a .parquet/.jsonl/.csv/.tsv file; becomes -o OUT.")
        args = ["convert", self.data.spec, "--to", target, "-o", out, *overwrite, *self.flags(self.data, score_range=True), *extra]
        if self.offer("convert", self.global_args_for(args)):
            self.switch_to(out)
            self.recommend(self.data.report)

    def choose_loss(self) -> str | None:
        assert self.data is not None
        recs = self.losses_for_goal(self.data.report)
        if not recs:
            return None
        default = recs[0].loss
        if self.loss in [r.loss for r in recs]:
            default = self.loss
        self.loss = self.ask.choose(
            "Which loss?", [Option(r.loss, r.loss, r.reason) for r in recs], default,
            "Best first, for your goal and data; becomes --loss for trial and scaffold.")
        return self.loss

    def trial(self) -> None:
        assert self.data is not None
        self.heading("Trial")
        loss = self.choose_loss()
        if loss is None:
            self.say("[dim]no loss fits this data: nothing to trial[/dim]")
            return
        base = ["trial", self.data.spec, "--loss", loss]
        if not self.wants(f"Smoke-train {loss} on a sample (a tiny local model, about 20 s)?",
                          "A real CrossEncoderTrainer run with the real loss; proves the data and the loss work together."):
            self.steps.append(Step("trial", self.global_args_for([*base, "--steps", str(TRIAL_STEPS), *self.flags(self.data, score_range=True)]), "skipped"))
            return
        steps = self.ask.text("How many training steps?", str(TRIAL_STEPS), "Becomes --steps; 20 shows whether the loss goes down.",
                              _check_int(1, 100000))
        self.offer("trial", self.global_args_for([*base, "--steps", str(int(steps)), *self.flags(self.data, score_range=True)]))

    def scaffold(self) -> None:
        assert self.data is not None
        self.heading("Training script")
        loss = self.loss or self.choose_loss()
        if loss is None:
            return
        base = ["scaffold", self.data.spec, "--loss", loss]
        if not self.wants(f"Write a training script for {loss}?",
                          "A complete script (python train.py, or accelerate launch train.py) with the fixes and the construction."):
            self.steps.append(Step("scaffold", self.global_args_for([*base, "-o", fresh_path("train.py"), *self.flags(self.data)]), "skipped"))
            return
        out, overwrite = self.output_path("Where should the script go?", "train.py", "A .py file; becomes -o PATH.")
        self.offer("scaffold", self.global_args_for([*base, "-o", out, *overwrite, *self.flags(self.data)]))

    # --- 7. the summary ---

    def summary(self) -> None:
        self.heading("Equivalent commands (repeat this session without questions)")
        assert self.data is not None
        origin = Data(self.origin, self.data.report, True)
        lines = [command_line(self.global_args_for(["inspect", self.origin, *self.flags(origin)]))]
        for step in self.steps:
            line = command_line(step.args)
            if step.status == "skipped":
                line = f"# skipped: {line}"
            elif step.status == "failed":
                line = f"{line}  # failed with exit code {step.code}"
            lines.append(line)
        for line in lines:
            self.console.print(line, markup=False, highlight=False, soft_wrap=True)


def run_session(dataset: str | None, prompter: Prompter, console: Console, *, split: str | None = None,
                run: Sequence[str] = (), loss_table: LossTable | None = None, global_args: Sequence[str] = ()) -> int:
    """The guided session; returns 0, or the exit code of the first command that failed.

    Ctrl-C (KeyboardInterrupt) propagates to the caller, which exits with 130.
    """
    if loss_table is None:
        from lossadvisor.table import load_table

        loss_table = load_table(None)
    session = Session(prompter, console, loss_table, split=split, run=frozenset(run), global_args=tuple(global_args))
    if not prompter.interactive:
        console.print("[dim]No questions (no terminal, or --no-input): the defaults are used and printed as 'assumed'; "
                      "commands run only where --run names them.[/dim]", highlight=False)
    session.heading("Dataset")
    session.open(dataset)
    session.columns()
    session.readings()
    session.heading("Goal")
    session.choose_goal()
    assert session.data is not None
    session.heading("Recommendation")
    session.recommend(session.data.report)
    session.fix()
    session.convert()
    session.trial()
    session.scaffold()
    session.summary()
    failed = [s.code for s in session.steps if s.status == "failed" and s.code]
    return failed[0] if failed else 0


def _global_args() -> tuple[str, ...]:
    from lossadvisor import cli

    args: list[str] = []
    if cli._state.get("table"):
        args += ["--table", str(cli._state["table"])]
    if cli._state.get("debug"):
        args.append("--debug")
    return tuple(args)


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


def advise(dataset: str | None, no_input: bool, run: str | None, split: str | None) -> None:
    """The `advise` command's body (its flags and help live in cli.py)."""
    from lossadvisor import cli

    actions = parse_run(run)
    interactive = not no_input and sys.stdin.isatty() and sys.stdout.isatty()
    console = Console(highlight=False)
    prompter: Prompter = QuestionaryPrompter(console) if interactive else DefaultsPrompter(console)
    try:
        code = run_session(dataset, prompter, console, split=split, run=actions, loss_table=cli._loss_table(),
                           global_args=_global_args())
    except (KeyboardInterrupt, EOFError):
        sys.stderr.write("\nInterrupted: nothing more was run; completed steps kept their output.\n")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    if code:
        raise typer.Exit(code)
