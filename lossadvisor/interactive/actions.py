"""The actions the session offers: fix, convert, trial, scaffold. Each is a `CommandLine`, shown, then run."""

from __future__ import annotations

from pathlib import Path

from lossadvisor.commands import DEFAULT_OUT, CommandLine, convert_command
from lossadvisor.errors import EXIT_INTERRUPTED
from lossadvisor.interactive.checks import check_int, check_output, fresh_path, goal_of, offer_goal
from lossadvisor.interactive.goal import ask_teacher, choose_loss, recommend
from lossadvisor.interactive.prompts import Option
from lossadvisor.interactive.session import Data, Session, Step
from lossadvisor.render import escape

NO_CONVERSION = "(no conversion)"
TRIAL_STEPS = 20
DEFAULT_NEGATIVES = 3  # convert's (and mine_hard_negatives') default
FILE_HELP = "A folder (save_to_disk) or a .parquet/.jsonl/.csv/.tsv file; becomes -o OUT."


def offer(s: Session, action: str, command: CommandLine, question: str = "Run it?") -> bool:
    """Show the command; run it when the user agrees (or, without questions, when --run names it)."""
    step = Step(action, command)
    s.steps.append(step)
    s.console.print(f"  [bold]$[/bold] [cyan]{escape(command.render())}[/cyan]", highlight=False, soft_wrap=True)
    if s.ask.interactive:
        what = "convert --fix" if action == "fix" else action
        go = s.ask.confirm(question, True, f"Runs exactly the command above (as `lossadvisor {what}`).")
    else:
        go = action in s.run
        if not go:
            s.say(f"  [dim]not run (add --run {action} to run it)[/dim]")
    if not go:
        step.status = "skipped" if s.ask.interactive else "planned"
        return False
    step.code = s.actions.run(command)
    if step.code == EXIT_INTERRUPTED:
        raise KeyboardInterrupt
    step.status = "ran" if step.code == 0 else "failed"
    s.say("  [green]✓ done[/green]" if step.code == 0 else f"  [red]✗ exit code {step.code}[/red]")
    return step.code == 0


def wants(s: Session, question: str, help: str) -> bool:
    """Offer an action (default yes); without questions every action is planned and --run decides in offer()."""
    return s.ask.confirm(question, True, help) if s.ask.interactive else True


def output_path(s: Session, question: str, default: str, help: str) -> tuple[str, tuple[tuple[str, None], ...]]:
    """An output path and, where it exists and the user agrees to replace it, --overwrite."""
    while True:
        path = s.ask.path(question, fresh_path(default), help, check_output)
        if not Path(path).expanduser().exists():
            return path, ()
        if s.ask.confirm(f"{path} exists. Replace it?", False, "Yes adds --overwrite; no asks for another path."):
            return path, (("--overwrite", None),)


def switch_to(s: Session, spec: str) -> None:
    from lossadvisor.interactive.columns import show

    report = s.inspect(spec, original=False)
    s.data = Data(spec, report, False)
    show(s, report)


def _converting(s: Session, data: Data, to: str | None, out: str, overwrite=(), extra=()) -> CommandLine:
    """`convert SPEC (--to FORMAT | --fix) -o OUT [--overwrite] [the user's reading flags] [the conversion's options]`."""

    answers = s.convert_flags if data.original else ()
    line = convert_command(data.spec, to, out, *overwrite, *s.flags(data, score_range=True), *answers, *extra,
                           *s.family_flags())
    return line.with_globals(s.actions.global_options)


def fix(s: Session) -> None:
    data = s.current()
    fixable = [w for w in data.report.warnings if w.severity == "warning" and w.fixable]
    if not fixable:
        return
    s.heading("Fixes")
    for w in fixable:
        s.say(f"  [yellow]![/yellow] \\[{w.code}] {escape(w.message)}")
    if not wants(s, "Write a fixed copy of the data (convert --fix)?",
                 "Applies every fix above and writes a new dataset; the original is never changed."):
        s.steps.append(Step("fix", _converting(s, data, None, DEFAULT_OUT["fix"]), "skipped"))
        return
    out, overwrite = output_path(s, "Where should the fixed data go?", DEFAULT_OUT["fix"], FILE_HELP)
    if offer(s, "fix", _converting(s, data, None, out, overwrite)):
        switch_to(s, out)


def _conversion_target(s: Session) -> str:
    report = s.current().report
    needed = not [r for r in report.recommendations if goal_of(r) == s.goal]
    ordered = sorted(report.conversions, key=lambda o: offer_goal(o) != s.goal)
    options = [Option(NO_CONVERSION, NO_CONVERSION, "keep the data as it is")]
    for o in ordered:
        need = " [needs a teacher model]" if "teacher" in o.needs else ""
        options.append(Option(f"{o.to}: unlocks {', '.join(o.unlocks) or 'no new losses'}{need}", o.to, o.summary))
    default = ordered[0].to if needed and offer_goal(ordered[0]) == s.goal else NO_CONVERSION
    if s.expansion in {o.to for o in ordered}:
        default = s.expansion
    if not s.ask.interactive and "convert" in s.run and default == NO_CONVERSION:
        default = next((o.to for o in report.conversions if "teacher" not in o.needs), NO_CONVERSION)
    return s.ask.choose("Convert the data to another format?", options, default,
                        "Reshapes the data (incl. hard-negative mining) to unlock more losses; becomes convert --to FORMAT.")


def _positive_class(s: Session, default_class: str) -> str:
    report = s.current().report
    classes = list(report.classes) or ([str(i) for i in range(report.num_labels)] if isinstance(report.num_labels, int) else [])
    if classes and default_class in classes:
        return s.ask.choose(
            "Which class marks a positive (matching) pair?", [Option(c, c) for c in classes], default_class,
            "Rows of this class become positives, the other classes negatives; becomes --positive-class "
            "(SNLI/MNLI ids: 0 = entailment).")
    return s.ask.text("Which class marks a positive (matching) pair?", default_class,
                      "A class name or id; becomes --positive-class.", lambda t: None if t.strip() else "Enter a class.")


def _conversion_options(s: Session, target: str) -> list[tuple[str, str | None]] | None:
    """The options the chosen conversion needs (asked for); None when it cannot go ahead (no teacher)."""
    chosen = next(o for o in s.current().report.conversions if o.to == target)
    extra: list[tuple[str, str | None]] = []
    if "positive-class" in chosen.needs:
        extra.append(("--positive-class", _positive_class(s, chosen.args.option("--positive-class") or "0")))
    if "teacher" in chosen.needs:
        if not s.teacher:
            ask_teacher(s)
        if not s.teacher:
            s.say("[yellow]No teacher model: skipping this conversion.[/yellow]")
            return None
        extra.append(("--teacher", s.teacher))
    if chosen.mines:
        negatives = s.ask.text("How many hard negatives per query?", str(DEFAULT_NEGATIVES),
                               "Mined with BM25 from the other rows' documents; becomes --num-negatives.", check_int(1, 100))
        if int(negatives) != DEFAULT_NEGATIVES:
            extra.append(("--num-negatives", str(int(negatives))))
    return extra


def convert(s: Session) -> None:
    data = s.current()
    if not data.report.conversions:
        return
    s.heading("Conversions")
    target = _conversion_target(s)
    if target == NO_CONVERSION:
        return
    extra = _conversion_options(s, target)
    if extra is None:
        return
    out, overwrite = output_path(s, "Where should the converted data go?", f"{target}-dataset", FILE_HELP)
    if offer(s, "convert", _converting(s, data, target, out, overwrite, extra)):
        switch_to(s, out)
        recommend(s, s.current().report)


def trial(s: Session) -> None:
    data = s.current()
    s.heading("Trial")
    loss = choose_loss(s)
    if loss is None:
        s.say("[dim]no loss fits this data: nothing to trial[/dim]")
        return
    flags = s.flags(data, score_range=True)
    if not wants(s, f"Smoke-train {loss} on a sample (a tiny local model)?",
                 f"A real {s.loss_table.family.trainer.rsplit('.', 1)[1]} run with the real loss; proves the data and the"
                 " loss work together."):
        skipped = s.command("trial", data.spec, ("--loss", loss), ("--steps", str(TRIAL_STEPS)), *flags)
        s.steps.append(Step("trial", skipped, "skipped"))
        return
    steps = s.ask.text("How many training steps?", str(TRIAL_STEPS), "Becomes --steps; 20 shows whether the loss goes down.",
                       check_int(1, 100000))
    offer(s, "trial", s.command("trial", data.spec, ("--loss", loss), ("--steps", str(int(steps))), *flags))


def scaffold(s: Session) -> None:
    data = s.current()
    s.heading("Training script")
    loss = s.loss or choose_loss(s)
    if loss is None:
        return
    if not wants(s, f"Write a training script for {loss}?",
                 "A complete script (python train.py, or accelerate launch train.py) with the fixes and the construction."):
        skipped = s.command("scaffold", data.spec, ("--loss", loss), ("-o", fresh_path("train.py")), *s.flags(data))
        s.steps.append(Step("scaffold", skipped, "skipped"))
        return
    out, overwrite = output_path(s, "Where should the script go?", "train.py", "A .py file; becomes -o PATH.")
    offer(s, "scaffold", s.command("scaffold", data.spec, ("--loss", loss), ("-o", out), *overwrite, *s.flags(data)))
