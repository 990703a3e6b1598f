"""`lossadvisor trial DATASET --loss LOSS`: smoke-train the real loss on the real trainer, on a sample."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lossadvisor.cli.context import context_of, err, handles_errors, out
from lossadvisor.cli.options import (
    AsOpt,
    DatasetArg,
    FamilyOpt,
    InputsOpt,
    JsonOpt,
    LabelOpt,
    ScoreRangeOpt,
    column_choice,
    finite,
    parse_range,
    seed_value,
)

MODIFIER_HELP = ("Wrap the loss in a loss modifier of the family: MatryoshkaLoss, AdaptiveLayerLoss or Matryoshka2dLoss "
                 "(SentenceTransformer).")
DIMS_HELP = ("Matryoshka dims, comma-separated, each at most the model's embedding dimension (default: the table's, cut "
             "to the model's dimension).")
ModifierOpt = Annotated[Optional[str], typer.Option("--modifier", help=MODIFIER_HELP)]
DimsOpt = Annotated[Optional[str], typer.Option("--matryoshka-dims", help=DIMS_HELP)]


def parse_dims(text: str | None) -> tuple[int, ...]:
    """--matryoshka-dims 384,256,128 as positive ints."""
    if not text:
        return ()
    from lossadvisor.errors import LossAdvisorError

    try:
        dims = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise LossAdvisorError(f"--matryoshka-dims must be integers, comma-separated (e.g. 384,256,128), got '{text}'") from None
    if not dims or min(dims) < 1:
        raise LossAdvisorError(f"--matryoshka-dims {text}: every dim must be 1 or more")
    return dims


@handles_errors
def trial_command(
    ctx: typer.Context,
    dataset: DatasetArg,
    loss: Annotated[Optional[str], typer.Option("--loss", "-l", help=(
        "A loss class name (see `lossadvisor table`), or a custom loss: path/to/file.py:Class or package.module:Class."))] = None,
    compare_losses: Annotated[Optional[str], typer.Option("--compare", help=(
        "Several losses, comma-separated, or 'fitting' for every loss that fits the data."))] = None,
    model: Annotated[str, typer.Option("--model", help=(
        "'auto' (a real pretrained base when one is installed or cached, else tiny), 'tiny' (random weights: only shows "
        "the loss runs), a local model folder, or a hub id."))] = "auto",
    steps: Annotated[int, typer.Option("--steps", min=1, max=100000, help="Training steps.")] = 20,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Rows per batch (a list counts as one row).")] = 8,
    lr: Annotated[Optional[float], typer.Option("--lr", callback=finite, min=0.0, show_default="5e-4 for tiny, 2e-5 otherwise",
                                                      help="Learning rate.")] = None,
    max_length: Annotated[int, typer.Option("--max-length", min=8, help="Tokenizer max length.")] = 128,
    seed: Annotated[int, typer.Option("--seed", callback=seed_value, help="Seed for the sample, the model and the trainer (0 to 2**32-1).")] = 0,
    sample_size: Annotated[Optional[int], typer.Option("--sample-size", min=1, show_default="steps x batch size",
                                                              help="Rows to sample.")] = None,
    eval_fraction: Annotated[float, typer.Option("--eval-fraction", min=0.0, max=0.5, callback=finite, help=(
        "Fraction held out by anchor for the metric before/after (0: none)."))] = 0.2,
    split: Annotated[Optional[str], typer.Option("--split", help="Split to train on.")] = None,
    inputs: InputsOpt = None,
    label: LabelOpt = None,
    read_as: AsOpt = None,
    score_range: ScoreRangeOpt = None,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Write the loss curve(s) to this PNG.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing --plot file.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Try a loss even though the table says it does not fit.")] = False,
    gradient_checkpointing: Annotated[bool, typer.Option("--gradient-checkpointing", help="Turn on gradient checkpointing.")] = False,
    bf16: Annotated[bool, typer.Option("--bf16", help="Train in bf16.")] = False,
    fp16: Annotated[bool, typer.Option("--fp16", help="Train in fp16 (CUDA only).")] = False,
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code", help=(
        "Let --model run its own code (auto_map) and load pickled (non-safetensors) weights. Only for models you trust."))] = False,
    family: FamilyOpt = None,
    modifier: ModifierOpt = None,
    matryoshka_dims: DimsOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Smoke-train the real loss on the family's real trainer (CrossEncoderTrainer, SentenceTransformerTrainer,
    SparseEncoderTrainer, MultiVectorEncoderTrainer), on a sample of your data.
    """
    from lossadvisor import trial as trial_core
    from lossadvisor.tidy import load_canonical

    if plot is not None:  # before any work: a bad --plot path fails in a second, not after training
        from lossadvisor.outputs import PLOT, check_output, input_paths

        read = [*input_paths(dataset), context_of(ctx).table, (loss or "").rpartition(":")[0] or None]
        plot = check_output(plot, PLOT, read, overwrite, option="--plot")
    loss_table, modifier = _family_table(ctx, family, loss, compare_losses, modifier, model)
    prepared = load_canonical(dataset, loss_table, split=split, score_range=parse_range(score_range),
                              choice=column_choice(inputs, label), reading=read_as)
    fmt = prepared.format
    if not loss and not compare_losses:
        _name_a_loss(ctx, dataset, fmt, loss_table, split=split, inputs=inputs, label=label, read_as=read_as,
                     score_range=score_range)
    names = _losses(loss, compare_losses, fmt, loss_table, dataset, force, prepared.report.classes)
    options = trial_core.TrialOptions(
        model=model, steps=steps, batch_size=batch_size, lr=lr, max_length=max_length, seed=seed, sample_size=sample_size,
        eval_fraction=eval_fraction, plot=plot, force=force, gradient_checkpointing=gradient_checkpointing, bf16=bf16, fp16=fp16,
        trust_remote_code=trust_remote_code, class_names=tuple(prepared.report.classes), modifier=modifier,
        matryoshka_dims=parse_dims(matryoshka_dims),
    )
    from lossadvisor.trial.progress import step_printer

    err().print(f"[dim]{prepared.format} data, {prepared.result.rows_out:,} rows; fixes applied in memory: "
                f"{'; '.join(prepared.result.applied) or 'none'}[/dim]")
    labels = [n.__name__ if isinstance(n, type) else n for n in names]
    progress = step_printer(labels, steps)  # stderr: stdout keeps the report or the JSON
    if len(names) == 1:
        results = [trial_core.run_trial(prepared.table, fmt, names[0], loss_table, options,
                                        on_step=lambda step, value: progress(labels[0], step, value))]
    else:
        results = trial_core.compare(prepared.table, fmt, names, loss_table, options, on_step=progress)
    if plot is not None:
        trial_core.write_plot(results, plot, overwrite=overwrite)
    _report(results, prepared, loss_table, plot, json_output)
    trial_core.raise_for_failure(results)


def _report(results, prepared, loss_table, plot: Path | None, json_output: bool) -> None:
    """The JSON object (with the family and its model class), or the rich report."""
    from lossadvisor import render

    if json_output:
        render.print_json({"format": prepared.format, "family": loss_table.family_name,
                           "model_class": loss_table.family.model_class, "fixes_applied": list(prepared.result.applied),
                           "rows": prepared.result.rows_out, "results": [render.to_plain(r) | {"ok": r.ok} for r in results],
                           "plot": str(plot) if plot else None})
    else:
        render.render_trials(results, prepared.result.applied, plot, out())


def _family_table(ctx: typer.Context, family: str | None, loss: str | None, compare_losses: str | None,
                  modifier: str | None, model: str | None = None):
    """The table through --family, else through the family of a --model folder, else through the family of the
    (first) loss named; and the modifier's class."""
    from lossadvisor.families import family_of_model
    from lossadvisor.trial.modifiers import resolve_modifier

    family = family or family_of_model(model, context_of(ctx).loss_table())
    fitting = not compare_losses or compare_losses.strip().lower() == "fitting"
    first = loss if fitting else compare_losses.split(",")[0].strip()
    loss_table = context_of(ctx).loss_table(family, first if first and ":" not in first else None)
    return loss_table, resolve_modifier(modifier, loss_table)


def _losses(loss: str | None, compare_losses: str | None, fmt: str, loss_table, dataset: str, force: bool, classes=()) -> list:
    """The losses to train: --loss, --compare A,B or --compare fitting; each checked against the format unless --force."""
    from lossadvisor import trial as trial_core

    names: list = []
    if compare_losses:
        if compare_losses.strip().lower() != "fitting":
            names = [loss_table.resolve_loss(n) for n in compare_losses.split(",") if n.strip()]
        else:
            names = list(dict.fromkeys(name for row in loss_table.rows_for_format(fmt) for name in row.losses))
    elif loss and ":" not in loss:
        names = [loss_table.resolve_loss(loss)]
    if not force:
        from lossadvisor.profile import default_positive_class

        for name in names:
            trial_core.check_fit(fmt, name, loss_table, dataset=dataset, positive_class=default_positive_class(classes))
    if loss and ":" in loss:
        names = [trial_core.load_custom_loss(loss)]
    return names


def _name_a_loss(ctx: typer.Context, dataset: str, fmt: str, loss_table, **flags: str | None) -> None:
    """No --loss and no --compare: the error names the command that trains the first loss fitting this data."""
    from lossadvisor.commands import CommandLine
    from lossadvisor.errors import LossAdvisorError

    fitting = list(dict.fromkeys(name for row in loss_table.rows_for_format(fmt) for name in row.losses))
    message = "name a loss with --loss, or several with --compare"
    if not fitting:
        raise LossAdvisorError(message, f"No loss of the table fits {fmt} data; see `lossadvisor table`.")
    names = {"split": "--split", "inputs": "--inputs", "label": "--label", "read_as": "--as", "score_range": "--score-range"}
    given = tuple((names[key], value) for key, value in flags.items() if value is not None)
    line = CommandLine("trial", dataset, (("--loss", fitting[0]), *given), context_of(ctx).global_options())
    raise LossAdvisorError(message, f"For {fmt} data, e.g. `{line.render()}`, or add --compare fitting.")
