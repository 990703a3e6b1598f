"""The findings inspect reports, as data: readings, warnings (with their codes, fixes and the order fixes run in)
and the tidy plan `convert --fix` applies. The checks (checks.py, checks_label.py, checks_shapes.py) make them;
advice.py assembles the report; nothing here looks at data.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from lossadvisor.commands import convert_command
from lossadvisor.profile import RESERVED_NAMES, Profile


@dataclass(frozen=True)
class Reading:
    """One way to read the data: a format, and what must be assumed for it."""

    format: str
    label_kind: str
    assumption: str | None
    losses: tuple[str, ...]
    needs_grouping: bool = False


@dataclass(frozen=True)
class Warning:
    code: str  # a checks.WarningCode
    message: str
    fix: str
    severity: str = "warning"  # warning | info
    fixable: bool = False  # `convert --fix` repairs it (and so does `fix` when it is `datasets` code)
    columns: tuple[str, ...] = ()  # the columns it is about


@dataclass(frozen=True)
class TidyPlan:
    """What `convert --fix` (and trial, in memory) applies to reach the format cleanly."""

    inputs: tuple[str, ...]
    label: str | None
    label_parts: tuple[str, ...] = ()
    label_parts_as: str = "scores"  # scores | margins (for label_parts)
    classes: tuple[str, ...] = ()  # map these label strings to ids, in this order
    cast_label_numeric: bool = False
    score_range: tuple[float, float] | None = None
    drop_label_values: tuple[str, ...] = ()
    group_by_anchor: bool = False
    drop_null_texts: bool = True
    drop_duplicates: bool = True
    drop_constant_lists: bool = False  # labeled-list: lists whose labels are all equal have nothing to rank


BOMS = ("ï»¿", "\ufeff")


class WarningCode(str, Enum):
    __str__ = str.__str__
    __format__ = str.__format__

    MISLEADING_EXTENSION = "misleading-extension"
    LITERAL_QUOTES = "literal-quotes"
    RAGGED_ROWS = "ragged-rows"
    NO_HEADER = "no-header"
    CRLF = "crlf"
    DECIMAL_COMMA = "decimal-comma"
    JSON_FIELD = "json-field"
    NESTED_RECORDS = "nested-records"
    BOM_IN_HEADER = "bom-in-header"
    RESERVED_COLUMN = "reserved-column"
    DATASET_DICT = "dataset-dict"
    SPLIT_COLUMN = "split-column"
    EXTRA_COLUMNS = "extra-columns"
    INPUT_ORDER = "input-order"
    LABEL_NAME = "label-name"
    TWO_LABELS = "two-labels"
    COMPETING_LABELS = "competing-labels"
    SPLIT_LABEL = "split-label"
    NO_CONSENSUS_LABELS = "no-consensus-labels"
    STRING_LABELS = "string-labels"
    NULL_LABELS = "null-labels"
    INFINITE_LABELS = "infinite-labels"
    SCORE_RANGE = "score-range"
    GRADED_NEGATIVE = "graded-negative"
    SINGLE_CLASS = "single-class"
    IMBALANCED = "imbalanced"
    SCORE_READING = "score-reading"
    CLASS_IDS = "class-ids"
    MARGIN_LABEL = "margin-label"
    LIST_LENGTH_MISMATCH = "list-length-mismatch"
    RAGGED_LISTS = "ragged-lists"
    GRADED_LISTS = "graded-lists"
    CONSTANT_LISTS = "constant-lists"
    UNSORTED_LISTS = "unsorted-lists"
    RANK_LABELS = "rank-labels"
    LIST_LABEL = "list-label"
    NULL_TEXTS = "null-texts"
    DUPLICATES = "duplicates"
    SIGMOID_ACTIVATION = "sigmoid-activation"
    REPEATED_POSITIVES = "repeated-positives"
    REPEATED_ANCHORS = "repeated-anchors"
    LONG_FORMAT = "long-format"
    ASSUMPTION = "assumption"
    NO_FORMAT = "no-format"
    PANDAS_INDEX = "pandas-index"
    LIST_NEGATIVES = "list-negatives"
    OTHER_FAMILY = "other-family"
    NESTED_FIELDS = "nested-fields"
    BEIR_FOLDER = "beir-folder"
    PARALLEL_FILES = "parallel-files"
    RESOLVED_IDS = "resolved-ids"
    # the traps of one model family (checks_family.py)
    IN_BATCH_DUPLICATES = "in-batch-duplicates"
    BATCH_CLASSES = "batch-classes"
    GUIDE_MODEL = "guide-model"
    CLASSIFIER_HEAD = "classifier-head"
    WRAPPER = "wrapper"
    ASYMMETRIC = "asymmetric"
    MATRYOSHKA_DIMS = "matryoshka-dims"
    EMBEDDING_DIM = "embedding-dim"


C = WarningCode
# What `convert --fix` repairs (the tidy plan: reading traps, columns, labels, scores, nulls, duplicates).
FIXABLE = frozenset({
    C.EXTRA_COLUMNS, C.INPUT_ORDER, C.LABEL_NAME, C.TWO_LABELS, C.COMPETING_LABELS, C.SPLIT_LABEL, C.STRING_LABELS,
    C.SCORE_RANGE, C.NO_CONSENSUS_LABELS, C.NULL_TEXTS, C.NULL_LABELS, C.INFINITE_LABELS, C.DUPLICATES, C.LITERAL_QUOTES,
    C.MISLEADING_EXTENSION, C.DECIMAL_COMMA, C.RAGGED_ROWS, C.NO_HEADER, C.NESTED_RECORDS, C.BOM_IN_HEADER, C.RESERVED_COLUMN, C.CONSTANT_LISTS,
})
# The order the fixes run in (see the module docstring); codes not listed keep their place after these.
PHASES = (
    (C.MISLEADING_EXTENSION, C.LITERAL_QUOTES, C.RAGGED_ROWS, C.NO_HEADER, C.PANDAS_INDEX, C.CRLF, C.DECIMAL_COMMA, C.JSON_FIELD, C.NESTED_FIELDS,
     C.NESTED_RECORDS, C.PARALLEL_FILES, C.BEIR_FOLDER, C.RESOLVED_IDS),
    (C.BOM_IN_HEADER, C.RESERVED_COLUMN),
    (C.SPLIT_COLUMN, C.NO_CONSENSUS_LABELS, C.NULL_LABELS, C.INFINITE_LABELS, C.NULL_TEXTS, C.LIST_LENGTH_MISMATCH, C.CONSTANT_LISTS),
    (C.EXTRA_COLUMNS, C.INPUT_ORDER, C.TWO_LABELS, C.COMPETING_LABELS),
    (C.DUPLICATES,),
    (C.SCORE_RANGE, C.STRING_LABELS, C.SPLIT_LABEL, C.GRADED_NEGATIVE),
    (C.LABEL_NAME,),
)
PHASE = {code: index for index, codes in enumerate(PHASES) for code in codes}
INFO = "info"


def warning(code: WarningCode, message: str, fix: str, severity: str = "warning", columns=()) -> Warning:
    return Warning(code, message, fix, severity, fixable=code in FIXABLE, columns=tuple(columns))


def order_warnings(warnings: list[Warning]) -> list[Warning]:
    """The warnings in the order their fixes must run (stable otherwise)."""
    return sorted(warnings, key=lambda w: PHASE.get(w.code, len(PHASES)))


def _py(names) -> str:
    return "[" + ", ".join(repr(n) for n in names) + "]"


def clean_name(name: str) -> str:
    """A column's name once the name fixes ran: no byte-order mark, reserved names suffixed."""
    for bom in BOMS:
        name = name.replace(bom, "")
    return name + "_" if name in RESERVED_NAMES else name


def _fix_command(profile: Profile, *extra: tuple[str, str | None]) -> str:
    return convert_command(profile.sample.spec, None, None, *extra).render()



# graded codes to gains, by preset name (convert --gain NAME)
GAIN_PRESETS = {"cranfield": "1=4,2=3,3=2,4=1,5=0,-1=0"}
