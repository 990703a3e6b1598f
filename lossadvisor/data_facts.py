"""The facts about a dataset that decide a loss's construction (`DataFacts`, from a pyarrow table: the profile's
sample and the trial's table alike), and the data rules behind them.

The data rules (`pos_weight`, `lists_sorted`, `num_labels_from_ids`) are plain Python over lists, so that the
script `lossadvisor scaffold` writes embeds their source and applies them to the data when it runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

LABEL = "label"
# A class id beyond this is not a class id: CrossEntropyLoss would build a head with that many outputs.
MAX_CLASSES = 100_000


# --------------------------------------------------------------------------------------------- data rules
# Plain Python over lists: `scaffold` embeds these functions in the script it writes (inspect.getsource).


def pos_weight(labels):
    """negatives / positives for 0/1 labels (rounded to 2 places); None unless every label is 0 or 1 and both occur."""
    negatives = positives = 0
    for value in labels:
        if value == 0:
            negatives += 1
        elif value == 1:
            positives += 1
        else:
            return None
    if not negatives or not positives:
        return None
    return round(negatives / positives, 2)


def lists_sorted(label_lists):
    """Whether every complete list of labels is sorted by relevance, highest first."""
    for gains in label_lists:
        if gains is None or any(value is None or value != value for value in gains):
            continue
        if any(later > earlier for earlier, later in zip(gains, gains[1:])):
            return False
    return True


def num_labels_from_ids(labels):
    """Class ids run from 0 to N-1: a batch that lacks the top class still needs its output (at least 2).

    Values that cannot be ids (negative, fractional, 100,000 or more) are refused: map them to 0..N-1 first.
    """
    low, high = min(labels), max(labels)
    if low < 0 or high >= 100_000 or any(float(value) != int(value) for value in set(labels)):
        raise ValueError(f"class ids must run from 0 to N-1, but the labels run from {low} to {high}: map them first, "
                         "e.g. dataset = dataset.class_encode_column('label')")
    return max(2, int(high) + 1)


# --------------------------------------------------------------------------------------------- data facts


@dataclass(frozen=True)
class ClassIds:
    """What the label values say as class ids; `sparse` and `out_of_range` are worth a warning."""

    low: float
    high: float
    distinct: int
    integral: bool

    @property
    def out_of_range(self) -> bool:
        return not self.integral or self.low < 0 or self.high >= MAX_CLASSES

    @property
    def sparse(self) -> bool:
        """Fewer distinct ids than 0..max: the head gets outputs that no example trains."""
        return not self.out_of_range and self.distinct < int(self.high) + 1


@dataclass(frozen=True)
class DataFacts:
    """The facts about the data that decide a loss's construction."""

    rows: int = 0
    pos_weight: float | None = None
    negatives: int = 0
    positives: int = 0
    lists_sorted: bool | None = None
    class_names: tuple[str, ...] = ()
    class_ids: ClassIds | None = None
    batch_size: int | None = None


# Every character pyarrow's string -> float64 cast accepts (digits, sign, point, exponent, inf, infinity, nan in
# any case; no spaces): a string with any other character cannot be a number to it.
NUMBER_CHARS = frozenset("0123456789+-.eEiInNfFtTyYaA")


def data_facts(table: pa.Table, label: str | None = LABEL, classes=(), batch_size: int | None = None) -> DataFacts:
    """The facts of `table`'s `label` column (None: no label); `classes` are class names in id order, if known."""
    import pyarrow as pa

    facts = DataFacts(rows=table.num_rows, class_names=tuple(classes), batch_size=batch_size)
    if label is None or label not in table.column_names:
        return facts
    column = table.column(label)
    kind = column.type
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        return replace(facts, lists_sorted=lists_sorted(column.to_pylist()))
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        if any(not NUMBER_CHARS.issuperset(value) for value in column.to_pylist() if value is not None):
            return facts  # class names ("entailment"): the cast below would fail, and pyarrow.compute is not imported
        import pyarrow.compute as pc  # only here: its import costs ~30 ms, more than the rest of these facts

        try:
            column = pc.cast(column, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return facts
    elif not (pa.types.is_boolean(kind) or pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        return facts
    # Over the sample's ~2,000 values a Python pass takes well under 1 ms: less than importing pyarrow.compute.
    values = [int(value) if value is True or value is False else value for value in column.to_pylist()
              if value is not None and value == value]
    if not values:
        return facts
    weight = pos_weight(values)
    if weight is not None:
        facts = replace(facts, pos_weight=weight, negatives=values.count(0), positives=values.count(1))
    exact = pa.types.is_integer(kind) or pa.types.is_boolean(kind)
    integral = exact or all(float(value).is_integer() for value in values)
    ids = ClassIds(low=min(values), high=max(values), distinct=len(set(values)), integral=integral)
    return replace(facts, class_ids=ids)
