"""What went wrong while training, said in terms of the data and the loss rather than the stack trace."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from lossadvisor.errors import FitError
from lossadvisor.fit import check_fit, fit_hint
from lossadvisor.recipe import IN_BATCH_LOSSES, LABEL, in_batch_negatives
from lossadvisor.table import LossTable
from lossadvisor.trial.data_checks import LISTWISE_FORMAT, check_data, input_columns, is_list
from lossadvisor.trial.options import TrialOptions


def is_oom(exc: BaseException) -> bool:
    import torch

    oom_type = getattr(torch, "OutOfMemoryError", None)
    if isinstance(exc, MemoryError) or (oom_type is not None and isinstance(exc, oom_type)):
        return True
    return "out of memory" in str(exc).lower()


def explain_oom(
    loss_name: str, format_name: str, table: pa.Table, batch_size: int, options: TrialOptions, loss_table: LossTable
) -> tuple[str, str]:
    inputs = input_columns(table)
    if format_name == LISTWISE_FORMAT:
        longest = pc.max(pc.list_value_length(table.column(inputs[-1]))).as_py() or 0
        scored = f"up to {batch_size * longest} (query, document) pairs per step (the longest list has {longest})"
        hint = "Lower --batch-size or --max-length, or set mini_batch_size on the loss to bound the pairs per forward."
    elif loss_name in IN_BATCH_LOSSES:
        per_anchor = len(inputs) - 1 + in_batch_negatives(loss_table, loss_name)
        scored = f"about {batch_size * per_anchor} pairs per step ({per_anchor} candidates per anchor)"
        hint = "Lower --batch-size, or use CachedMultipleNegativesRankingLoss with a small mini_batch_size."
    else:
        scored = f"{batch_size * max(1, len(inputs) - 1)} pairs per step"
        hint = "Lower --batch-size or --max-length, or add --gradient-checkpointing."
    problem = f"out of memory: {loss_name} scores {scored} at up to {options.max_length} tokens each"
    return problem, hint


def explain_nonfinite(loss_name: str, table: pa.Table, step: int, options: TrialOptions) -> tuple[str, str]:
    problem = f"the loss became non-finite at step {step}"
    if options.fp16:
        return problem + " under fp16, whose range overflows easily", "Use --bf16, or train in float32."
    if LABEL in table.column_names:
        label = table.column(LABEL)
        values = pc.list_flatten(label) if is_list(label.type) else label
        if pa.types.is_floating(values.type) or pa.types.is_integer(values.type):
            high = pc.max(pc.abs(values)).as_py() or 0
            if high > 100:
                return (
                    problem + f": labels reach {high}, far outside the range {loss_name} regresses comfortably",
                    "Rescale the labels (e.g. to [0, 1]) before training.",
                )
    return (
        problem + f" at learning rate {options.learning_rate:g}: the updates diverged",
        f"Try --lr {options.learning_rate / 10:g}.",
    )


def explain_error(
    exc: BaseException, loss_name: str, format_name: str, table: pa.Table, loss_table: LossTable
) -> tuple[str, str | None]:
    """Name the data problem behind a crash inside the loss, when the data shows one."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if loss_name in loss_table.losses:
        # Under --force the likeliest cause is the misfit that --force overrode: name it, not the column order.
        try:
            check_fit(format_name, loss_name, loss_table)
        except FitError as misfit:
            hint = fit_hint(format_name, loss_name, loss_table, force=False)
            return f"{misfit.message} (tried with --force; {loss_name} raised {type(exc).__name__}: {message})", hint
    try:
        check_data(table, format_name, loss_name, loss_table)
    except FitError as found:
        return f"{found.message} ({loss_name} raised {type(exc).__name__}: {message})", found.hint
    fmt = loss_table.format(format_name)
    if isinstance(exc, IndexError) and loss_name in loss_table.losses:
        return (
            f"{loss_name} got a label outside the model's outputs ({message})",
            "Class ids must run from 0 to N-1 and num_labels must be N.",
        )
    expected = f"{fmt.name} ({fmt.description})"
    return (
        f"{loss_name} failed on a batch of {expected}: {type(exc).__name__}: {message}",
        "Check that the columns are in the order the loss reads them (inputs first, then 'label').",
    )
