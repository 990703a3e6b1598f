"""`lossadvisor inspect DATASET`: the format, the losses, the traps and their fixes."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from lossadvisor.cli.context import context_of, handles_errors, out
from lossadvisor.cli.options import AsOpt, FamilyOpt, InputsOpt, LabelOpt, SplitOpt, column_choice


@handles_errors
def inspect_command(
    ctx: typer.Context,
    dataset: Annotated[str, typer.Argument(
        metavar="DATASET",
        help="A save_to_disk folder, data file(s) (csv/tsv/json/jsonl/parquet/arrow, a glob or a folder), or a hub id.")],
    split: SplitOpt = None,
    subset: Annotated[Optional[str], typer.Option("--subset", help="Hub dataset configuration (subset) name.")] = None,
    inputs: InputsOpt = None,
    label: LabelOpt = None,
    read_as: AsOpt = None,
    family: FamilyOpt = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Infer the training format, recommend losses, and flag the traps (with fixes).

    The losses are for --family (CrossEncoder rerankers by default); a compact table gives the top pick of every
    model family for the same data.
    """
    from lossadvisor import render
    from lossadvisor.advice import inspect_dataset

    report = inspect_dataset(dataset, context_of(ctx).loss_table(family), split=split, subset=subset,
                             choice=column_choice(inputs, label), reading=read_as)
    if json_output:
        render.print_json(report)
    else:
        render.render_report(report, out())
