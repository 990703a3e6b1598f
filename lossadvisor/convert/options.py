"""What `lossadvisor convert` can be told, and what each step and the whole conversion report back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from lossadvisor.errors import FitError

if TYPE_CHECKING:
    import pyarrow as pa

    from lossadvisor.table import Conversion

BM25 = "bm25"
DEFAULT_NUM_NEGATIVES = 3  # mine_hard_negatives' own default
# More negatives per row than any loss batch holds; the data bounds it further (mine.py: candidates in the corpus).
MAX_NUM_NEGATIVES = 1000


@dataclass(frozen=True)
class ConvertOptions:
    """Every knob of every conversion method; a method reads only the ones it needs.

    The mining knobs mirror `sentence_transformers.util.mine_hard_negatives` so that a user who knows one
    knows the other. `miner`, `rescore` and `teacher` take a local folder or an id already in the Hugging
    Face cache (nothing is ever downloaded), or an already loaded model object.
    """

    seed: int = 42
    positive_class: str | int | None = None
    # Only rows of these classes become negatives in class-sampling; None means every other class.
    negative_class: str | int | None = None
    class_names: tuple[str, ...] | None = None
    num_negatives: int | None = None
    range_min: int = 0
    range_max: int | None = None
    max_score: float | None = None
    min_score: float | None = None
    absolute_margin: float | None = None
    relative_margin: float | None = None
    sampling: Literal["top", "random"] = "top"
    scores: bool = False
    corpus: tuple[str, ...] | None = None
    miner: Any = BM25
    rescore: Any = None
    teacher: Any = None
    batch_size: int = 32
    # Ragged negative lists into a fixed-width n-tuple: truncate | pad | drop (convert/lists.py).
    negatives_policy: str = "truncate"
    # --to labeled-list drops lists whose labels are all equal (nothing to rank); True keeps them.
    keep_constant_lists: bool = False
    # Dense mining at scale, passed to mine_hard_negatives: None = use faiss when it is installed.
    use_faiss: bool | None = None
    faiss_batch_size: int = 16384
    # False, True (every CPU core / GPU) or the devices to encode on, e.g. ("cuda:0", "cuda:1").
    multi_process: bool | tuple[str, ...] = False
    # Where models run ("cpu", "cuda", "cuda:1", "mps"); None = the library's own choice.
    device: str | None = None
    # Run a model's own code (auto_map) and accept pickled weights: only when the user says so.
    trust_remote_code: bool = False

    def __post_init__(self) -> None:
        if self.num_negatives is not None and self.num_negatives < 1:
            raise FitError(f"num_negatives must be at least 1, got {self.num_negatives}")
        if self.num_negatives is not None and self.num_negatives > MAX_NUM_NEGATIVES:
            raise FitError(f"num_negatives must be at most {MAX_NUM_NEGATIVES:,}, got {self.num_negatives:,}",
                           "A row of a CrossEncoder loss holds its anchor, positive and negatives: a few to a few dozen.")
        if self.range_min < 0:
            raise FitError(f"range_min must be 0 or more, got {self.range_min}")
        if self.range_max is not None and self.range_max <= self.range_min:
            raise FitError(f"range_max ({self.range_max}) must be larger than range_min ({self.range_min})")
        if self.sampling not in ("top", "random"):
            raise FitError(f"sampling must be 'top' or 'random', got '{self.sampling}'")
        if self.negatives_policy not in ("truncate", "pad", "drop"):
            raise FitError(f"negatives policy must be truncate, pad or drop, got '{self.negatives_policy}'")
        if self.batch_size < 1:
            raise FitError(f"batch_size must be at least 1, got {self.batch_size}")
        # Lists are accepted for convenience and frozen here, so that options stay immutable.
        if self.class_names is not None and not isinstance(self.class_names, tuple):
            object.__setattr__(self, "class_names", tuple(self.class_names))
        if self.corpus is not None and not isinstance(self.corpus, tuple):
            object.__setattr__(self, "corpus", tuple(self.corpus))
        if self.faiss_batch_size < 1:
            raise FitError(f"faiss_batch_size must be at least 1, got {self.faiss_batch_size}")
        if not isinstance(self.multi_process, (bool, tuple)):
            object.__setattr__(self, "multi_process", tuple(self.multi_process))
        if self.multi_process == ():
            raise FitError("multi_process needs at least one device, or True for all of them")
        if self.device is not None and not str(self.device).strip():
            raise FitError("device must name a device such as cpu, cuda or cuda:1, got an empty string")

    @property
    def uses_bm25(self) -> bool:
        return isinstance(self.miner, str) and self.miner.strip().lower() == BM25


@dataclass(frozen=True)
class StepResult:
    """One conversion step: the new table and an account of every input row.

    `rows_in == rows_used + sum(dropped.values())` always holds: a row is either used in the output (perhaps
    more than once, perhaps merged with others) or dropped for a stated reason. Counts of parts of rows
    (documents inside a list, negative cells of an n-tuple) live in `stats`.
    """

    method: str
    target_format: str
    table: pa.Table
    rows_in: int
    rows_out: int
    rows_used: int
    dropped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the table)."""
        return {
            "method": self.method,
            "target_format": self.target_format,
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "rows_used": self.rows_used,
            "dropped": dict(self.dropped),
            "notes": list(self.notes),
            "stats": dict(self.stats),
        }


@dataclass(frozen=True)
class ConversionResult:
    """The whole chain from the source format to the target format."""

    table: pa.Table
    source_format: str
    target_format: str
    plan: list[Conversion]
    steps: list[StepResult]
    rows_in: int
    rows_out: int
    dropped: dict[str, int]
    notes: list[str]
    stats: dict[str, Any]
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the table), for `convert --json`."""
        return {
            "source_format": self.source_format,
            "target_format": self.target_format,
            "methods": [step.method for step in self.steps],
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "dropped": dict(self.dropped),
            "notes": list(self.notes),
            "stats": dict(self.stats),
            "seconds": round(self.seconds, 3),
            "columns": list(self.table.column_names),
            "steps": [step.as_dict() for step in self.steps],
        }
