"""`lossadvisor scaffold DATASET --loss LOSS -o train.py`: a complete training script."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lossadvisor.cli.context import context_of, handles_errors, out
from lossadvisor.cli.options import AsOpt, DatasetArg, FamilyOpt, InputsOpt, JsonOpt, LabelOpt, column_choice
from lossadvisor.cli.trial import DimsOpt, ModifierOpt, parse_dims


@handles_errors
def scaffold_command(
    ctx: typer.Context,
    dataset: DatasetArg,
    loss: Annotated[str, typer.Option("--loss", "-l", help="The loss to train with (a class name from `lossadvisor table`).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the training script (e.g. train.py).")],
    model: Annotated[str, typer.Option("--model", help=(
        "Base model: a hub id or local folder (auto: the installed or cached MiniLM, else "
        "cross-encoder/ms-marco-MiniLM-L6-v2; tiny: a small random BERT for smoke runs)."))] = "auto",
    split: Annotated[Optional[str], typer.Option("--split", help="Split to train on.")] = None,
    inputs: InputsOpt = None,
    label: LabelOpt = None,
    read_as: AsOpt = None,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Training epochs.")] = 1,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", min=1, show_default="8 for labeled-list, 16 for tiny, 32 otherwise", help="Per-device batch size.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing script.")] = False,
    family: FamilyOpt = None,
    modifier: ModifierOpt = None,
    matryoshka_dims: DimsOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Write a complete training script (runs with `python train.py` or `accelerate launch train.py`).
    """
    from lossadvisor import render
    from lossadvisor.advice import inspect_dataset
    from lossadvisor.commands import CommandLine
    from lossadvisor.errors import FitError
    from lossadvisor.families import family_of_model
    from lossadvisor.scaffold import render_training_script, write_new_file
    from lossadvisor.tidy import tidy_code
    from lossadvisor.trial.modifiers import resolve_modifier

    loss_table = context_of(ctx).loss_table(family or family_of_model(model, context_of(ctx).loss_table()), loss)
    loss_name = loss_table.resolve_loss(loss)
    modifier = resolve_modifier(modifier, loss_table)
    dims = parse_dims(matryoshka_dims)
    from lossadvisor.outputs import SCRIPT, check_output, input_paths

    check_output(output, SCRIPT, [*input_paths(dataset), context_of(ctx).table], overwrite)  # before any work
    report = inspect_dataset(dataset, loss_table, split=split, choice=column_choice(inputs, label), reading=read_as)
    if report.format is None or report.tidy is None:
        raise FitError(f"{dataset}: no format of the loss table fits this data",
                       f"Run `{CommandLine('inspect', dataset).render()}`.")
    fixes, _ = tidy_code(report)  # the script imports Dataset already
    load_code = f"dataset = {report.load_code}"
    if any(w.code == "nested-records" for w in report.warnings):
        load_code = ("from lossadvisor.sources import open_sample, read_table\nfrom datasets import Dataset\n"
                     f"# Nested records, flattened the way `lossadvisor inspect` reads them.\n"
                     f"dataset = Dataset(read_table(open_sample({dataset!r})))")
    text = render_training_script(dataset, load_code, fixes, report.format, loss_name, loss_table, model, epochs=epochs,
                                  batch_size=batch_size, modifier=modifier, matryoshka_dims=dims)
    path = write_new_file(output, text, overwrite=overwrite, inputs=[*input_paths(dataset), context_of(ctx).table])
    result = {"script": str(path), "format": report.format, "loss": loss_name, "family": loss_table.family_name,
              "model_class": loss_table.family.model_class, "fixes": fixes,
              "run": [f"python {path}", f"accelerate launch {path}"]}
    if json_output:
        render.print_json(result)
    else:
        what = "" if family is None and loss_table.family_name == "cross-encoder" else f" for a {loss_table.family.model_class}"
        out().print(f"wrote [bold]{path}[/bold]: {loss_name}{what} on {report.format} data, {len(fixes)} fix line(s)")
        out().print(f"  run it: [cyan]python {path}[/cyan]   or on several GPUs: [cyan]accelerate launch {path}[/cyan]")
