"""Graded relevance as gains: `--gain 1=4,2=3,3=2,4=1,-1=0` (or a preset) maps the label's codes to gains where
higher means more relevant and 0 means not relevant, which the listwise losses assume.

Cranfield grades 1 (a complete answer) to 4 (of minimal interest), and -1 for no interest: inverted. A code that
the mapping does not name is an error that lists the codes found, never silently kept. `clip` keeps the grades
and raises negatives to 0.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from lossadvisor.convert._arrow import LABEL
from lossadvisor.convert.options import StepResult
from lossadvisor.convert.steps import _step
from lossadvisor.errors import FitError

CLIP = "clip"


def parse_gain(text: str) -> dict[float, float] | str:
    """'1=4,2=3' → {1.0: 4.0, 2.0: 3.0}; a preset name → its mapping; 'clip' → 'clip'."""
    text = text.strip()
    if text.lower() == CLIP:
        return CLIP
    from lossadvisor.findings import GAIN_PRESETS as PRESETS

    text = PRESETS.get(text.lower(), text)
    mapping: dict[float, float] = {}
    for part in text.split(","):
        code, sep, gain = part.partition("=")
        try:
            if not sep:
                raise ValueError
            mapping[float(code)] = float(gain)
        except ValueError:
            raise FitError(f"--gain: {part.strip()!r} is not CODE=GAIN",
                           f"Write it as 1=4,2=3,3=2,4=1,-1=0, or name a preset: {', '.join(PRESETS)} (or {CLIP}).") from None
    return mapping


def apply_gain(table: pa.Table, gain: dict[float, float] | str, column: str = LABEL) -> StepResult:
    """The label (a number or a list of numbers) mapped to gains; every row kept."""
    values = table.column(column)
    listed = pa.types.is_list(values.type) or pa.types.is_large_list(values.type)
    rows = values.to_pylist()
    found = {float(v) for row in rows for v in ((row or []) if listed else [row]) if v is not None}
    if gain == CLIP:
        def mapped(v):
            return None if v is None else max(0.0, float(v))
    else:
        unknown = sorted(found - set(gain))
        if unknown:
            raise FitError(f"--gain names {', '.join(_num(c) for c in sorted(gain))} but the labels also hold "
                           f"{', '.join(_num(c) for c in unknown)}", "Give a gain for every code (CODE=GAIN).")

        def mapped(v):
            return None if v is None else gain[float(v)]
    new = [[mapped(v) for v in (row or [])] if listed else mapped(row) for row in rows]
    array = pa.array(new, pa.list_(pa.float64()) if listed else pa.float64())
    if all(float(x).is_integer() for row in new for x in ((row or []) if listed else [row]) if x is not None):
        array = pc.cast(array, pa.list_(pa.int64()) if listed else pa.int64())
    out = table.set_column(table.column_names.index(column), column, array)
    note = "raised negative grades to 0" if gain == CLIP else "mapped grades to gains: " + ", ".join(
        f"{_num(c)}→{_num(g)}" for c, g in gain.items() if c in found)
    return _step("gain", "", out, table.num_rows, table.num_rows, {}, [note], {"codes": sorted(found)})


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
