"""The StepResult of a reshape, with the row accounting every conversion method keeps."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from lossadvisor.convert.options import StepResult


def _mean(values: np.ndarray) -> float:
    return round(float(values.mean()), 3) if len(values) else 0.0


def _step(
    method: str,
    target: str,
    table: pa.Table,
    rows_in: int,
    rows_used: int,
    dropped: dict[str, int],
    notes: list[str],
    stats: dict[str, Any],
) -> StepResult:
    # The accounting invariant every caller and test relies on; a mismatch is a bug here, not bad input.
    assert rows_in == rows_used + sum(dropped.values()), (method, rows_in, rows_used, dropped)
    return StepResult(method, target, table, rows_in, table.num_rows, rows_used, dropped, notes, stats)
