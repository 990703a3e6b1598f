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


CONSTANT_LIST = "list with nothing to rank (every label equal)"


def constant_lists_note(lists: int, without_positive: int, rows: int | None = None) -> str:
    """What dropping the lists with nothing to rank did, and the flag that keeps them."""
    of_rows = f", {rows:,} rows" if rows is not None else ""
    return (f"dropped {lists:,} lists with nothing to rank ({without_positive:,} without a positive{of_rows}): every label"
            " of each is equal, so a listwise loss learns nothing from them (--keep-constant-lists keeps them)")


def drop_constant_lists(out: pa.Table, constant: np.ndarray, rows_per_list: np.ndarray, without_positive: np.ndarray,
                        dropped: dict[str, int], notes: list[str], stats: dict[str, Any]) -> tuple[pa.Table, int]:
    """A labeled-list without its lists of all-equal labels; the input rows they held (counted as dropped)."""
    rows = int(rows_per_list[constant].sum())
    if rows:
        dropped[CONSTANT_LIST] = dropped.get(CONSTANT_LIST, 0) + rows
    notes.append(constant_lists_note(int(constant.sum()), int(without_positive.sum()), rows))
    stats["constant_lists_dropped"] = int(constant.sum())
    return out.filter(pa.array(~constant)), rows
