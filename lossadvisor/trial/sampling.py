"""The seeded sample a trial trains on, and the table as the trainer wants it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from lossadvisor.recipe import LABEL
from lossadvisor.trial.data_checks import input_columns, is_list
from lossadvisor.trial.options import TrialOptions

# Columns the collator or the trainer treat specially: an input column with one of these names would be
# swallowed as the label or rejected, so inputs are renamed away from them.
MIN_EVAL_ROWS = 32
_RESERVED = {"label", "labels", "score", "scores", "dataset_name", "return_loss"}


@dataclass(frozen=True)
class Split:
    train: pa.Table
    eval: pa.Table | None
    batch_size: int
    notes: tuple[str, ...] = ()


def sample_split(table: pa.Table, options: TrialOptions) -> Split:
    """A seeded sample with a held-out part split by anchor: no query (first input column) is on both sides.

    The same seed gives the same rows, in the same order, for every loss of a comparison.
    """
    import numpy as np

    n = table.num_rows
    notes: list[str] = []
    wanted = options.sample_size or options.steps * options.batch_size
    frac = min(max(options.eval_fraction, 0.0), 0.9)
    # A few steps' worth of rows is too few to measure on: hold out at least MIN_EVAL_ROWS when there are enough.
    n_eval = max(math.ceil(wanted * frac / (1 - frac)), min(MIN_EVAL_ROWS, int(n * frac))) if frac else 0
    if wanted + n_eval > n:
        n_eval = max(2, int(n * frac)) if frac and n >= 4 else 0
        wanted = n - n_eval
    rng = np.random.default_rng(options.seed)
    if n_eval:
        eval_rows, train_rows = _split_by_anchor(anchor_keys(table), n_eval, rng)
    else:  # nothing held out: the rows of one seeded permutation, as a hand-written script would draw them
        eval_rows, train_rows = [], list(rng.permutation(n))
    if n_eval and not train_rows:
        notes.append("no held-out rows: every row shares one anchor, so none can be held out without leaking it")
        eval_rows, train_rows = [], list(rng.permutation(n))
    eval_table = table.take(pa.array(sorted(eval_rows), type=pa.int64())) if eval_rows else None
    train_table = table.take(pa.array(train_rows[:wanted], type=pa.int64()))
    batch_size = options.batch_size
    if train_table.num_rows < batch_size:
        batch_size = max(1, train_table.num_rows)
        notes.append(f"batch size lowered to {batch_size}: the data has only {train_table.num_rows} training rows")
    return Split(train_table, eval_table, batch_size, tuple(notes))


def anchor_keys(table: pa.Table) -> list:
    """The anchor (query) of every row: the first input column's value."""
    inputs = input_columns(table)
    return table.column(inputs[0]).to_pylist() if inputs else list(range(table.num_rows))


def _split_by_anchor(keys: list, n_eval: int, rng) -> tuple[list[int], list[int]]:
    """Whole anchor groups, in a seeded order, go to the held-out side until it has `n_eval` rows; the rest
    (rows in a seeded order) are the training candidates."""
    groups: dict = {}
    for index, key in enumerate(keys):
        groups.setdefault(key if isinstance(key, (str, int, float)) else repr(key), []).append(index)
    order = [list(groups.values())[i] for i in rng.permutation(len(groups))]
    eval_rows: list[int] = []
    taken = 0
    while taken < len(order) and len(eval_rows) < n_eval:
        eval_rows.extend(order[taken])
        taken += 1
    rest = [row for group in order[taken:] for row in group]
    train_rows = [rest[i] for i in rng.permutation(len(rest))]
    return eval_rows, train_rows


def _trainer_columns(table: pa.Table) -> pa.Table:
    """Rename inputs that collide with the label or reserved names; order (what the losses read) is kept."""
    names = []
    for name in table.column_names:
        if name != LABEL and name in _RESERVED:
            name = f"{name}_text"
        while name in names:
            name = f"{name}_"
        names.append(name)
    return table.rename_columns(names)


def to_dataset(table: pa.Table):
    from datasets import Dataset
    from datasets.table import InMemoryTable

    return Dataset(InMemoryTable(_trainer_columns(table).combine_chunks()))


def texts_of(table: pa.Table, limit: int = 20000) -> list[str]:
    """Every text of the table (list columns flattened), for training the tiny model's tokenizer."""
    texts: list[str] = []
    for name in input_columns(table):
        column = table.column(name)
        values = pc.list_flatten(column) if is_list(column.type) else column
        texts.extend(value for value in values.to_pylist() if isinstance(value, str))
        if len(texts) >= limit:
            break
    return texts[:limit]
