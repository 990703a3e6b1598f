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

from lossadvisor import __version__, numpy_free
from lossadvisor.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, LossAdvisorError, printable

app = typer.Typer(
    name="lossadvisor",
    help="Which sentence-transformers CrossEncoder loss fits your data; reshape the data; prove it with a real smoke-train.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    rich_markup_mode="rich",
)


@functools.cache
def _out():
    """stdout for the rich views; made on first use, so `--json` output never imports rich."""
    from rich.console import Console

    return Console(soft_wrap=not sys.stdout.isatty())


@functools.cache
def _err():
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True)


_state = {"debug": False, "table": None, "own_process": False}  # own_process: run by main(), not in-process
def _fail(message: str, hint: str | None, code: int) -> None:
    sys.stderr.write(f"Error: {printable(message)}\n")
    if hint:
        sys.stderr.write(f"Hint: {printable(hint)}\n")
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
            if numpy_free.wants_held_back_numpy(exc):
                raise numpy_free.NeedsNumpy() from exc
            if _state["debug"]:
                traceback.print_exc()
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            _fail(f"internal error: {type(exc).__name__}: {text}"[:500], "Run again with --debug for the traceback.", EXIT_INTERNAL)

    return wrapper


INPUTS_HELP = "Input columns, comma-separated, in the order the model should see them (overrides inference)."
LABEL_HELP = "The label column (overrides inference), or 'none'."
SCORE_RANGE_HELP = "Rescale scores from LOW:HIGH to [0, 1] (e.g. 0:5)."
AS_HELP = "Read the data as this format where it is ambiguous (e.g. pair-class for 0/1 labels)."


def _choice(inputs: str | None, label: str | None):
    from lossadvisor.profile import ColumnChoice

    names = tuple(n.strip() for n in inputs.split(",") if n.strip()) if inputs else None
    return ColumnChoice(inputs=names, label=label)


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
    from lossadvisor.table import as_plain_data

    loss_table = _loss_table()
    if check:
        from lossadvisor.drift import check_against_library

        report = check_against_library(loss_table, on_progress=lambda line: print(line, file=sys.stderr, flush=True))
        if json_output:
            render.print_json(report)
        else:
            _out().print(f"sentence-transformers {report.library_version}: checked {len(report.checked)} losses")
            for line in report.differences:
                _out().print(f"  [red]✗[/red] {line}")
            if report.ok:
                _out().print("  [green]✓[/green] the table agrees with the installed library")
        if not report.ok:
            raise typer.Exit(1)
        return
    name = loss_table.resolve_format(format) if format else None
    if json_output:
        rows = [r for r in loss_table.model.rows if name is None or r.format == name]
        render.print_json({"rows": [as_plain_data(r) for r in rows], "common": [as_plain_data(c) for c in loss_table.model.common]})
    else:
        render.render_table(loss_table, name, _out())


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
        render.print_json(info)
    else:
        render.render_explain(render.to_plain(info) | {"import": info.import_path}, _out())


@app.command("inspect")
@handles_errors
def inspect_command(
    dataset: str = typer.Argument(..., help="A save_to_disk folder, data file(s) (csv/tsv/json/jsonl/parquet/arrow, a glob or a folder), or a hub id."),
    split: Optional[str] = typer.Option(None, "--split", help="Split to inspect (DatasetDict folders and hub datasets)."),
    subset: Optional[str] = typer.Option(None, "--subset", help="Hub dataset configuration (subset) name."),
    inputs: Optional[str] = typer.Option(None, "--inputs", help=INPUTS_HELP),
    label: Optional[str] = typer.Option(None, "--label", help=LABEL_HELP),
    read_as: Optional[str] = typer.Option(None, "--as", help=AS_HELP),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Infer the training format, recommend losses, and flag the traps (with fixes).

    Example: [cyan]lossadvisor inspect data/train.parquet --json[/cyan]
    """
    if _state["own_process"]:
        numpy_free.hold_back_numpy(dataset)
    from lossadvisor import render
    from lossadvisor.advice import inspect_dataset

    report = inspect_dataset(dataset, _loss_table(), split=split, subset=subset, choice=_choice(inputs, label), reading=read_as)
    if json_output:
        render.print_json(report)
    else:
        render.render_report(report, _out())


def _parse_range(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    from lossadvisor.errors import LossAdvisorError

    try:
        lo, hi = (float(part) for part in text.split(":"))
    except ValueError:
        raise LossAdvisorError(f"--score-range must look like LOW:HIGH (e.g. 0:5), got '{text}'") from None
    if hi <= lo:
        raise LossAdvisorError(f"--score-range {text}: HIGH must be above LOW")
    return lo, hi


def _read_corpus(path: Path) -> tuple[str, ...]:
    from lossadvisor.errors import LossAdvisorError

    if not path.is_file():
        raise LossAdvisorError(f"--corpus {path}: no such file")
    if path.suffix.lower() == ".txt":
        try:
            return tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
        except UnicodeDecodeError:
            raise LossAdvisorError(f"--corpus {path}: not UTF-8 text") from None
    import pyarrow as pa

    from lossadvisor.sources import open_sample, read_table

    table = read_table(open_sample(str(path)))
    texts = [n for n in table.column_names if pa.types.is_string(table.column(n).type) or pa.types.is_large_string(table.column(n).type)]
    if not texts:
        raise LossAdvisorError(f"--corpus {path}: no text column")
    column = next((n for n in texts if n.lower() in ("text", "document", "doc", "passage", "context")), texts[0])
    return tuple(v for v in table.column(column).to_pylist() if v and v.strip())


@app.command("convert")
@handles_errors
def convert_command(
    dataset: str = typer.Argument(..., help="The dataset (as for inspect). It is never modified."),
    to: Optional[str] = typer.Option(None, "--to", "-t", help="Target format (canonical name; plurals accepted)."),
    output: Path = typer.Option(..., "--output", "-o", help="A save_to_disk folder, or a .parquet / .jsonl / .csv file by its suffix."),
    fix: bool = typer.Option(False, "--fix", help="Only apply inspect's fixes, keeping the format."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output (kept until the new one is complete)."),
    split: Optional[str] = typer.Option(None, "--split", help="Split to convert."),
    inputs: Optional[str] = typer.Option(None, "--inputs", help=INPUTS_HELP),
    label: Optional[str] = typer.Option(None, "--label", help=LABEL_HELP),
    read_as: Optional[str] = typer.Option(None, "--as", help=AS_HELP),
    score_range: Optional[str] = typer.Option(None, "--score-range", help=SCORE_RANGE_HELP),
    positive_class: Optional[str] = typer.Option(None, "--positive-class", help="Class (name or id) that marks a positive pair."),
    negative_class: Optional[str] = typer.Option(None, "--negative-class", help="Only this class gives negatives (default: every other class)."),
    num_negatives: Optional[int] = typer.Option(None, "--num-negatives", min=1, help="Negatives per anchor when mining."),
    range_min: int = typer.Option(0, "--range-min", min=0, help="Skip the closest N candidates when mining."),
    range_max: Optional[int] = typer.Option(None, "--range-max", min=1, help="Consider at most N candidates when mining."),
    max_score: Optional[float] = typer.Option(None, "--max-score", help="Candidates scoring above this are not negatives."),
    absolute_margin: Optional[float] = typer.Option(None, "--absolute-margin", help="A negative must score this much below the positive."),
    relative_margin: Optional[float] = typer.Option(None, "--relative-margin", help="A negative must score this fraction below the positive."),
    sampling: str = typer.Option("top", "--sampling", help="top or random."),
    scores: bool = typer.Option(False, "--scores", help="Similarity scores instead of 0/1 labels (like output_scores)."),
    corpus: Optional[Path] = typer.Option(None, "--corpus", help="Extra candidate documents: a .txt (one per line) or a data file."),
    model: Optional[str] = typer.Option(None, "--model", help="Dense miner: a SentenceTransformer folder or cached id (default: bm25)."),
    rescore: Optional[str] = typer.Option(None, "--rescore", help="A CrossEncoder to drop false negatives."),
    teacher: Optional[str] = typer.Option(None, "--teacher", help="A CrossEncoder teacher, for the distillation formats."),
    seed: int = typer.Option(42, "--seed", help="Seed for sampling."),
    trust_remote_code: bool = typer.Option(False, "--trust-remote-code", help="Let --model, --rescore and --teacher run their own code (auto_map) and load pickled weights. Only for models you trust."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Reshape a dataset into the format a loss needs: fixes, class sampling, hard-negative mining, teacher labels.

    Example: [cyan]lossadvisor convert qa_pairs.csv --to labeled-list -o mined --num-negatives 5[/cyan]
    """
    from lossadvisor import render
    from lossadvisor.convert import ConvertOptions, rich_progress
    from lossadvisor.convert.command import convert_dataset

    loss_table = _loss_table()
    options = ConvertOptions(
        seed=seed, positive_class=positive_class, negative_class=negative_class, num_negatives=num_negatives,
        range_min=range_min, range_max=range_max, max_score=max_score, absolute_margin=absolute_margin,
        relative_margin=relative_margin, sampling=sampling, scores=scores,
        corpus=_read_corpus(corpus) if corpus else None, miner=model or "bm25", rescore=rescore, teacher=teacher,
        trust_remote_code=trust_remote_code,
    )
    show_progress = not json_output and sys.stderr.isatty()
    progress = rich_progress() if show_progress else None
    kwargs = dict(fix_only=fix, overwrite=overwrite, split=split, choice=_choice(inputs, label), reading=read_as,
                  score_range=_parse_range(score_range))
    if progress is not None:
        with progress:
            report = convert_dataset(dataset, None if fix else to, output, loss_table, options, progress=progress, **kwargs)
    else:
        report = convert_dataset(dataset, None if fix else to, output, loss_table, options, **kwargs)
    if json_output:
        render.print_json(report)
    else:
        render.render_conversion(report, _out())


@app.command("trial")
@handles_errors
def trial_command(
    dataset: str = typer.Argument(..., help="The dataset (as for inspect)."),
    loss: Optional[str] = typer.Option(None, "--loss", "-l", help="A loss class name, or a custom loss: path/to/file.py:Class or package.module:Class."),
    compare_losses: Optional[str] = typer.Option(None, "--compare", help="Several losses, comma-separated, or 'fitting' for every loss that fits the data."),
    model: str = typer.Option("auto", "--model", help="'auto' (a real pretrained base when one is installed or cached, else tiny), 'tiny' (random weights: only shows the loss runs), a local model folder, or a hub id."),
    steps: int = typer.Option(20, "--steps", min=1, max=100000, help="Training steps."),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="Rows per batch (a list counts as one row)."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Learning rate (default 5e-4 for tiny, 2e-5 otherwise)."),
    max_length: int = typer.Option(128, "--max-length", min=8, help="Tokenizer max length."),
    seed: int = typer.Option(0, "--seed", help="Seed for the sample, the model and the trainer."),
    sample_size: Optional[int] = typer.Option(None, "--sample-size", min=1, help="Rows to sample (default: what the steps need)."),
    eval_fraction: float = typer.Option(0.2, "--eval-fraction", min=0.0, max=0.5, help="Fraction held out by anchor for the metric before/after (0: none)."),
    split: Optional[str] = typer.Option(None, "--split", help="Split to train on."),
    inputs: Optional[str] = typer.Option(None, "--inputs", help=INPUTS_HELP),
    label: Optional[str] = typer.Option(None, "--label", help=LABEL_HELP),
    read_as: Optional[str] = typer.Option(None, "--as", help=AS_HELP),
    score_range: Optional[str] = typer.Option(None, "--score-range", help=SCORE_RANGE_HELP),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write the loss curve(s) to this PNG."),
    force: bool = typer.Option(False, "--force", help="Try a loss even though the table says it does not fit."),
    gradient_checkpointing: bool = typer.Option(False, "--gradient-checkpointing", help="Turn on gradient checkpointing."),
    bf16: bool = typer.Option(False, "--bf16", help="Train in bf16."),
    fp16: bool = typer.Option(False, "--fp16", help="Train in fp16 (CUDA only)."),
    trust_remote_code: bool = typer.Option(False, "--trust-remote-code", help="Let --model run its own code (auto_map) and load pickled (non-safetensors) weights. Only for models you trust."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Smoke-train the real loss on the real CrossEncoderTrainer, on a sample of your data.

    Example: [cyan]lossadvisor trial data.jsonl --loss ListNetLoss --steps 30 --plot curve.png[/cyan]
    """
    from lossadvisor import render
    from lossadvisor.errors import LossAdvisorError
    from lossadvisor.tidy import load_canonical

    if not loss and not compare_losses:
        raise LossAdvisorError("name a loss with --loss, or several with --compare", "e.g. --loss BinaryCrossEntropyLoss, or --compare fitting")
    loss_table = _loss_table()
    names: list = []
    if compare_losses:
        if compare_losses.strip().lower() != "fitting":
            names = [loss_table.resolve_loss(n) for n in compare_losses.split(",") if n.strip()]
    elif loss and ":" not in loss:
        names = [loss_table.resolve_loss(loss)]
    prepared = load_canonical(dataset, loss_table, split=split, score_range=_parse_range(score_range),
                              choice=_choice(inputs, label), reading=read_as)
    fmt = prepared.format
    if compare_losses and not names:
        names = [name for row in loss_table.rows_for_format(fmt) for name in row.losses]
        names = list(dict.fromkeys(names))
    from lossadvisor import trial as trial_core

    if not force:
        for name in names:
            trial_core.check_fit(fmt, name, loss_table, dataset=dataset)
    if loss and ":" in loss:
        names = [trial_core.load_custom_loss(loss)]
    options = trial_core.TrialOptions(
        model=model, steps=steps, batch_size=batch_size, lr=lr, max_length=max_length, seed=seed, sample_size=sample_size,
        eval_fraction=eval_fraction, plot=plot, force=force, gradient_checkpointing=gradient_checkpointing, bf16=bf16, fp16=fp16,
        trust_remote_code=trust_remote_code,
    )
    from lossadvisor.trial.progress import step_printer

    _err().print(f"[dim]{prepared.format} data, {prepared.result.rows_out:,} rows; fixes applied in memory: "
                 f"{'; '.join(prepared.result.applied) or 'none'}[/dim]")
    labels = [n.__name__ if isinstance(n, type) else n for n in names]
    progress = step_printer(labels, steps)  # stderr: stdout keeps the report or the JSON
    if len(names) == 1:
        results = [trial_core.run_trial(prepared.table, fmt, names[0], loss_table, options,
                                        on_step=lambda step, value: progress(labels[0], step, value))]
    else:
        results = trial_core.compare(prepared.table, fmt, names, loss_table, options, on_step=progress)
    if plot is not None:
        trial_core.write_plot(results, plot)
    if json_output:
        render.print_json({"format": fmt, "fixes_applied": list(prepared.result.applied), "rows": prepared.result.rows_out,
                           "results": [render.to_plain(r) | {"ok": r.ok} for r in results],
                           "plot": str(plot) if plot else None})
    else:
        render.render_trials(results, prepared.result.applied, plot, _out())
    trial_core.raise_for_failure(results)


@app.command("scaffold")
@handles_errors
def scaffold_command(
    dataset: str = typer.Argument(..., help="The dataset (as for inspect)."),
    loss: str = typer.Option(..., "--loss", "-l", help="The loss to train with."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write the training script (e.g. train.py)."),
    model: str = typer.Option("auto", "--model", help="Base model: a hub id or local folder (auto: the installed or cached MiniLM, else cross-encoder/ms-marco-MiniLM-L6-v2; tiny: a small random BERT for smoke runs)."),
    split: Optional[str] = typer.Option(None, "--split", help="Split to train on."),
    inputs: Optional[str] = typer.Option(None, "--inputs", help=INPUTS_HELP),
    label: Optional[str] = typer.Option(None, "--label", help=LABEL_HELP),
    read_as: Optional[str] = typer.Option(None, "--as", help=AS_HELP),
    epochs: int = typer.Option(1, "--epochs", min=1, help="Training epochs."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1, help="Per-device batch size."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing script."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Write a complete training script (runs with `python train.py` or `accelerate launch train.py`).

    Example: [cyan]lossadvisor scaffold data.parquet --loss BinaryCrossEntropyLoss -o train.py[/cyan]
    """
    from lossadvisor import render
    from lossadvisor.advice import inspect_dataset
    from lossadvisor.scaffold import render_training_script, write_new_file
    from lossadvisor.tidy import tidy_code

    loss_table = _loss_table()
    loss_name = loss_table.resolve_loss(loss)
    if output.exists() and not overwrite:
        from lossadvisor.errors import FitError

        raise FitError(f"{output} already exists", "Pass --overwrite to replace it, or choose another -o.")
    report = inspect_dataset(dataset, loss_table, split=split, choice=_choice(inputs, label), reading=read_as)
    if report.format is None or report.tidy is None:
        from lossadvisor.errors import FitError

        raise FitError(f"{dataset}: no format of the loss table fits this data", f"Run `lossadvisor inspect {dataset}`.")
    fixes, _ = tidy_code(report)  # the script imports Dataset already
    load_code = f"dataset = {report.load_code}"
    if any(w.code == "nested-records" for w in report.warnings):
        load_code = ("from lossadvisor.sources import open_sample, read_table\nfrom datasets import Dataset\n"
                     f"# Nested records, flattened the way `lossadvisor inspect` reads them.\n"
                     f"dataset = Dataset(read_table(open_sample({dataset!r})))")
    text = render_training_script(dataset, load_code, fixes, report.format, loss_name, loss_table, model, epochs=epochs,
                                  batch_size=batch_size)
    path = write_new_file(output, text, overwrite=overwrite)
    result = {"script": str(path), "format": report.format, "loss": loss_name, "fixes": fixes,
              "run": [f"python {path}", f"accelerate launch {path}"]}
    if json_output:
        render.print_json(result)
    else:
        _out().print(f"wrote [bold]{path}[/bold]: {loss_name} on {report.format} data, {len(fixes)} fix line(s)")
        _out().print(f"  run it: [cyan]python {path}[/cyan]   or on several GPUs: [cyan]accelerate launch {path}[/cyan]")


@app.command("advise")
@handles_errors
def advise_command(
    dataset: Optional[str] = typer.Argument(None, help="The dataset (as for inspect); asked for when left out in a terminal."),
    no_input: bool = typer.Option(False, "--no-input", help="Ask nothing (also the case without a terminal): use and print the defaults."),
    run: Optional[str] = typer.Option(None, "--run", help="Without questions, run these actions: fix,convert,trial,scaffold (or all)."),
    split: Optional[str] = typer.Option(None, "--split", help="Split to use (DatasetDict folders and hub datasets)."),
) -> None:
    """A guided session: confirm the columns, answer what the data cannot tell, then fix, convert, trial and scaffold.

    Every answer is a flag of inspect/convert/trial/scaffold: each command is shown before it runs, and the
    session ends with the command lines that repeat it. Without a terminal, or with --no-input, nothing is asked:
    the inferred columns, the first reading and the goal that reading implies are used (each printed as an
    assumption), and no command runs unless --run names it (the fix writes fixed-dataset, a conversion the first
    offered format, the trial 20 steps of the first loss, the script train.py). The exit code is 0, or that of
    the first command that failed; Ctrl-C exits with 130.

    Example: [cyan]lossadvisor advise data/train.csv[/cyan]   or without questions:
    [cyan]lossadvisor advise data/train.csv --no-input --run fix,trial[/cyan]
    """
    from lossadvisor.interactive import advise

    advise(dataset, no_input, run, split)


def main() -> None:
    if len(sys.argv) == 1 and sys.stdin.isatty() and sys.stdout.isatty():
        sys.argv.append("advise")  # plain `lossadvisor` in a terminal starts the guided session
    _state["own_process"] = True
    try:
        app()
    except numpy_free.NeedsNumpy:
        if _state["debug"]:
            sys.stderr.write("debug: inspect needs numpy after all; running it again with numpy\n")
        numpy_free.rerun_with_numpy(sys.argv[1:])
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
