"""Options shared by several commands, declared once (`Annotated` aliases), and `str` Enums for fixed choices.

A command module imports the aliases it needs, so `--inputs` means the same thing, with the same help, everywhere.
"""

from __future__ import annotations

import functools
import math
from enum import Enum
from typing import Annotated, Optional

import typer

INPUTS_HELP = "Input columns, comma-separated, in the order the model should see them (overrides inference)."
LABEL_HELP = "The label column (overrides inference), or 'none'."
SCORE_RANGE_HELP = "Rescale scores from LOW:HIGH to [0, 1] (e.g. 0:5)."
DATASET_HELP = "The dataset (as for inspect)."
SEED_MAX = 2**32 - 1  # numpy's and torch's seeds are unsigned 32-bit


@functools.cache
def format_names() -> tuple[str, ...]:
    """The canonical format names of the packaged loss table (the data, not a hand-kept list); () if it cannot load."""
    try:
        from lossadvisor.table import load_table

        return tuple(f.name for f in load_table(None).formats)
    except Exception:  # the help must render even when the table is broken; the command reports the problem
        return ()


def formats_help(text: str) -> str:
    names = format_names()
    return f"{text} One of: {', '.join(names)}." if names else text


def finite(value: float | None) -> float | None:
    """A callback for float options: nan and infinities are refused as the bad value they are (exit 2)."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a finite number")
    return value


def seed_value(value: int) -> int:
    """A callback for --seed: numpy and torch take 0 to 2**32-1; anything else is the user's bad value (exit 2)."""
    if not 0 <= value <= SEED_MAX:
        raise typer.BadParameter(f"{value} is not between 0 and 2**32-1")
    return value


FAMILIES = ("cross-encoder", "sentence-transformer", "sparse-encoder", "multi-vector")
FAMILY_HELP = ("The model family to advise for: cross-encoder (reranker; the default), sentence-transformer (embedder), "
               "sparse-encoder (SPLADE) or multi-vector (ColBERT). Aliases such as embedder, reranker, splade work.")
FamilyOpt = Annotated[Optional[str], typer.Option("--family", help=FAMILY_HELP)]
AS_HELP = formats_help("Read the data as this format where it is ambiguous (e.g. pair-class for 0/1 labels).")


class Sampling(str, Enum):
    """How `convert` picks negatives among the candidates."""

    top = "top"
    random = "random"


class NegativesPolicy(str, Enum):
    """Ragged negative lists expanded into n-tuples: cut to the shortest, repeat to the longest, or drop short rows."""

    truncate = "truncate"
    pad = "pad"
    drop = "drop"


DatasetArg = Annotated[str, typer.Argument(help=DATASET_HELP, metavar="DATASET", show_default=False)]
SplitOpt = Annotated[Optional[str], typer.Option("--split", help="Split to use (DatasetDict folders and hub datasets).")]
InputsOpt = Annotated[Optional[str], typer.Option("--inputs", help=INPUTS_HELP)]
LabelOpt = Annotated[Optional[str], typer.Option("--label", help=LABEL_HELP)]
AsOpt = Annotated[Optional[str], typer.Option("--as", help=AS_HELP)]
ScoreRangeOpt = Annotated[Optional[str], typer.Option("--score-range", help=SCORE_RANGE_HELP)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace an existing output (kept until the new one is complete).")]
SeedOpt = Annotated[int, typer.Option("--seed", callback=seed_value, help="Seed for sampling (0 to 2**32-1).")]


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
