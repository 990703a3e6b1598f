"""Does a loss train on a format, and if not, the way out: shared by trial, scaffold and the CLI."""

from __future__ import annotations

from lossadvisor.commands import convert_command
from lossadvisor.errors import FitError
from lossadvisor.table import LossTable


def check_fit(format_name: str, loss_name: str, loss_table: LossTable, dataset: str | None = None,
              positive_class: str | None = None) -> None:
    """Raise FitError when the table does not list `loss_name` for `format_name`, with the convert command.

    With `dataset` (what the user typed), the command in the hint is ready to paste; without, it says DATASET.
    """
    fmt = loss_table.resolve_format(format_name)
    loss = loss_table.resolve_loss(loss_name)
    if fmt in loss_table.formats_for_loss(loss):
        return
    rows = loss_table.rows_for_loss(loss)
    wants = "; ".join(f"{row.format}: {row.inputs}, labels {row.labels}" for row in rows)
    raise FitError(f"{loss} does not fit {fmt} data: it trains on {wants}",
                   fit_hint(fmt, loss, loss_table, dataset, positive_class=positive_class))


def fit_hint(format_name: str, loss_name: str, loss_table: LossTable, dataset: str | None = None, *, force: bool = True,
             positive_class: str | None = None) -> str:
    """The way out of a misfit: the shortest declared conversion into a format the loss trains on, or, when none
    leads there, the losses that do fit. `force` adds the --force escape (trial has it; scaffold does not).

    The command is built by `convert_command`, so it pastes as printed (with its -o).
    """
    fmt = loss_table.resolve_format(format_name)
    loss = loss_table.resolve_loss(loss_name)
    targets = loss_table.formats_for_loss(loss)
    paths = [(target, loss_table.conversion_path(fmt, target)) for target in targets]
    reachable = [(target, path) for target, path in paths if path is not None]
    if reachable:
        target, path = min(reachable, key=lambda item: len(item[1]))
        needs = sorted({need for step in path for need in step.needs} - {"miner"})  # BM25 mines by default
        via = " -> ".join([fmt] + [step.to_format for step in path])
        given = (("--positive-class", positive_class),) if positive_class is not None and "positive-class" in needs else ()
        needs = [need for need in needs if not (given and need == "positive-class")]
        extra = f" (needs: {', '.join(needs)})" if needs else ""
        command = convert_command(dataset or "DATASET", target, None, *given).render()
        escape = ", or pass --force to try anyway" if force else ""
        return f"Run `{command}` ({via}){extra}{escape}."
    fitting = sorted(fitting_losses(fmt, loss_table))
    return f"No declared conversion leads from {fmt} to {', '.join(targets)}. Losses that fit {fmt}: {', '.join(fitting) or 'none'}."


def fitting_losses(format_name: str, loss_table: LossTable) -> list[str]:
    """The losses the table lists for a format, common choices first: what a command without --loss may pick."""
    fmt = loss_table.resolve_format(format_name)
    common = [advice.loss for advice in loss_table.common_for_format(fmt) if advice.loss]
    names = list(dict.fromkeys(name for row in loss_table.rows_for_format(fmt) for name in row.losses))
    return sorted(names, key=lambda name: (name not in common, name))
