"""Options shared by several commands, declared once (`Annotated` aliases), and `str` Enums for fixed choices.

A command module imports the aliases it needs, so `--inputs` means the same thing, with the same help, everywhere.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

INPUTS_HELP = "Input columns, comma-separated, in the order the model should see them (overrides inference)."
LABEL_HELP = "The label column (overrides inference), or 'none'."
SCORE_RANGE_HELP = "Rescale scores from LOW:HIGH to [0, 1] (e.g. 0:5)."
AS_HELP = "Read the data as this format where it is ambiguous (e.g. pair-class for 0/1 labels)."
DATASET_HELP = "The dataset (as for inspect)."


class Sampling(str, Enum):
    """How `convert` picks negatives among the candidates."""

    top = "top"
    random = "random"


class NegativesPolicy(str, Enum):
    """Ragged negative lists expanded into n-tuples: cut to the shortest, repeat to the longest, or drop short rows."""

    truncate = "truncate"
    pad = "pad"
    drop = "drop"


DatasetArg = Annotated[str, typer.Argument(help=DATASET_HELP)]
SplitOpt = Annotated[Optional[str], typer.Option("--split", help="Split to use (DatasetDict folders and hub datasets).")]
InputsOpt = Annotated[Optional[str], typer.Option("--inputs", help=INPUTS_HELP)]
LabelOpt = Annotated[Optional[str], typer.Option("--label", help=LABEL_HELP)]
AsOpt = Annotated[Optional[str], typer.Option("--as", help=AS_HELP)]
ScoreRangeOpt = Annotated[Optional[str], typer.Option("--score-range", help=SCORE_RANGE_HELP)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace an existing output (kept until the new one is complete).")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed for sampling.")]


def column_choice(inputs: str | None, label: str | None):
    """--inputs a,b,c and --label X as the core's ColumnChoice."""
    from lossadvisor.profile import ColumnChoice

    names = tuple(n.strip() for n in inputs.split(",") if n.strip()) if inputs else None
    return ColumnChoice(inputs=names, label=label)


def parse_range(text: str | None) -> tuple[float, float] | None:
    """--score-range LOW:HIGH as two floats, LOW below HIGH."""
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
