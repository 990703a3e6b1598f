"""`lossadvisor explain LOSS`: what data a loss wants and how to build the CrossEncoder for it."""

from __future__ import annotations

from typing import Annotated

import typer

from lossadvisor.cli.context import context_of, handles_errors, out
from lossadvisor.cli.options import FamilyOpt, JsonOpt


@handles_errors
def explain_command(
    ctx: typer.Context,
    loss: Annotated[str, typer.Argument(metavar="LOSS",
        help="A loss class name, e.g. LambdaLoss (case and the 'Loss' suffix are forgiven); see `lossadvisor table`.")],
    family: FamilyOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """What data a loss wants, how to build the model for it, and what converts into it.

    A loss name only one family has (CoSENTLoss) picks that family; --family picks among those that share a name
    (MultipleNegativesRankingLoss is in three).
    """
    from lossadvisor import render
    from lossadvisor.advice import explain_loss

    info = explain_loss(context_of(ctx).loss_table(family, loss), loss)
    if json_output:
        render.print_json(info)
    else:
        render.render_explain(render.to_plain(info) | {"import": info.import_path}, out())
