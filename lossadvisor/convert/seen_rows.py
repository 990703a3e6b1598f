"""Exact duplicates dropped batch by batch: the keys of the rows kept so far, held as 128-bit hashes."""

from __future__ import annotations

from typing import Any


class SeenRows:
    """Rows already kept, as 128-bit hashes of their duplicate key (clean.duplicate_key), for drop_duplicates batch
    by batch: 16 bytes a kept row (twice that while two runs merge), in sorted runs that merge like a binary counter
    (O(n log n) in all)."""

    MAX_RUN = 1 << 23  # runs stop merging at 8M rows (128 MiB): a merge never holds more than that twice

    def __init__(self) -> None:
        import numpy as np

        self._np = np
        self.runs: list[tuple[Any, Any]] = []  # (first 64 bits sorted, second 64 bits aligned)

    def _hashes(self, table: Any, columns: list[str]) -> tuple[Any, Any]:
        import pandas as pd

        from lossadvisor.convert._arrow import flat

        frame = pd.DataFrame({f"k{i}": flat(table.column(n)).to_pandas() for i, n in enumerate(columns)})
        first = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        second = pd.util.hash_pandas_object(frame, index=False, hash_key="lossadvisor-dups").to_numpy()
        return first, second

    def drop(self, table: Any) -> Any:
        """`table` less the rows whose key an earlier row had (in this batch or a kept one); a StepResult."""
        import pandas as pd
        import pyarrow as pa

        from lossadvisor.convert import clean

        np = self._np
        columns = clean.duplicate_key(table)
        if not columns or table.num_rows == 0:
            return clean._result("drop-duplicates", table, table.num_rows, {})
        first, second = self._hashes(table, columns)
        keep = ~pd.DataFrame({"a": first, "b": second}).duplicated(keep="first").to_numpy()
        for run_first, run_second in self.runs:
            at = np.searchsorted(run_first, first)
            inside = at < len(run_first)
            hit = np.zeros(len(first), dtype=bool)
            hit[inside] = (run_first[at[inside]] == first[inside]) & (run_second[at[inside]] == second[inside])
            keep &= ~hit
        order = np.argsort(first[keep], kind="stable")
        self.runs.append((first[keep][order], second[keep][order]))
        while (len(self.runs) > 1 and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0])
               and len(self.runs[-2][0]) + len(self.runs[-1][0]) <= self.MAX_RUN):
            (new1, new2), (old1, old2) = self.runs.pop(), self.runs.pop()
            at = np.searchsorted(old1, new1)  # a merge by insertion: one new copy of the run, no sort index
            self.runs.append((np.insert(old1, at, new1), np.insert(old2, at, new2)))
        dropped: dict[str, int] = {}
        gone = int((~keep).sum())
        if gone:
            reason = "exact duplicate" if len(columns) == table.num_columns else f"duplicate of ({', '.join(columns)})"
            dropped[reason] = gone
        out = table if keep.all() else table.filter(pa.array(keep))
        return clean._result("drop-duplicates", out, table.num_rows, dropped)

    @property
    def rows(self) -> int:
        return sum(len(run[0]) for run in self.runs)
