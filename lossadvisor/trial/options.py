"""What a trial is asked (TrialOptions) and what it reports (TrialResult)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lossadvisor.errors import LossAdvisorError
from lossadvisor.recipe import MODEL_LR, TINY_LR, RecipeParam

Status = Literal["ok", "not-finite", "error"]
# The most tokens any encoder a CrossEncoder builds on reads (ModernBERT: 8,192 positions).
MAX_LENGTH = 8192


class TrialError(LossAdvisorError):
    """A trial ran and failed (non-finite loss, a shape error, out of memory)."""


# --------------------------------------------------------------------------------------------- options


@dataclass(frozen=True)
class TrialOptions:
    # "auto": a real pretrained base when one is installed or cached (lossadvisor.tiny_model.resolve_model), else
    # "tiny"; "tiny" is the random model that only shows that a loss runs.
    model: str = "auto"
    steps: int = 20
    batch_size: int = 8
    lr: float | None = None
    max_length: int = 128
    seed: int = 0
    sample_size: int | None = None
    # Held out by anchor (no query on both sides) and measured before and after training.
    eval_fraction: float = 0.2
    plot: Path | None = None
    force: bool = False
    gradient_checkpointing: bool = False
    bf16: bool = False
    fp16: bool = False
    streaming: bool = False
    num_labels: int | None = None
    # The class names of a class label, in id order (a ClassLabel's names may outnumber the ids in the sample).
    class_names: tuple[str, ...] = ()
    # Run the model's own code (auto_map) and accept pickled weights: only when the user says so.
    trust_remote_code: bool = False
    # A loss modifier of the family (MatryoshkaLoss, AdaptiveLayerLoss, Matryoshka2dLoss) and its dims (() = default).
    modifier: str | None = None
    matryoshka_dims: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        # The tiny model is built with max_length + 2 positions: 1e9 would be a 256 GB embedding table.
        if not 1 <= self.max_length <= MAX_LENGTH:
            raise LossAdvisorError(f"--max-length {self.max_length:,} is beyond what a CrossEncoder reads (1 to {MAX_LENGTH:,} "
                                   "tokens)", "Use the model's own limit, e.g. --max-length 512 for BERT-style models.")

    @property
    def learning_rate(self) -> float:
        if self.lr is not None:
            return self.lr
        return TINY_LR if self.model == "tiny" else MODEL_LR

@dataclass(frozen=True)
class EvalScore:
    """The task's metric on the held-out rows before and after training, with the noise of the change.

    `noise` is the half-width of the 95% bootstrap interval of the change (resampling held-out queries, or rows
    for pair formats); a change is significant only beyond it. `others` holds the secondary metrics
    (name -> (before, after)): MRR@10 beside NDCG@10, F1 beside accuracy.
    """

    evaluator: str
    metric: str
    before: float | None
    after: float | None
    rows: int
    units: int = 0
    unit: str = "rows"
    noise: float | None = None
    others: tuple[tuple[str, float | None, float | None], ...] = ()

    @property
    def change(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def significant(self) -> bool:
        change = self.change
        return change is not None and self.noise is not None and abs(change) > self.noise


@dataclass(frozen=True)
class Standing:
    """Where a loss ended in a comparison: rank by the held-out metric after training, the gap to the best with
    its paired-bootstrap noise, and the group of losses it cannot be told apart from (group 1 holds the best)."""

    rank: int
    metric: str
    after: float | None
    behind_best: float | None
    noise: float | None
    group: int
    indistinguishable_from_best: bool


@dataclass(frozen=True)
class TrialResult:
    loss_name: str
    format_name: str
    status: Status
    losses: tuple[float, ...]
    grad_norms: tuple[float | None, ...]
    steps_requested: int
    first_bad_step: int | None
    first_window_mean: float | None
    last_window_mean: float | None
    went_down: bool | None
    steps_per_second: float | None
    samples_per_second: float | None
    time_to_first_step_s: float | None
    train_seconds: float | None
    peak_rss_mib: float | None
    peak_cuda_mib: float | None
    device: str
    model_code: str
    loss_code: str
    params: tuple[RecipeParam, ...]
    train_rows: int
    eval_rows: int
    batch_size: int
    learning_rate: float
    evaluation: EvalScore | None = None
    problem: str | None = None
    hint: str | None = None
    notes: tuple[str, ...] = ()
    # The base the trial trained (a folder, a hub id or "tiny") and whether it is the random tiny model.
    model: str = "tiny"
    random_model: bool = True
    # Whether the loss value is expected to fall step by step (not for pos_weight BCE or listwise losses).
    curve_judged: bool = True
    verdict: str = ""
    standing: Standing | None = None
    # How far training moved the model's weights (L2 norm of the change over all parameters; 0: nothing trained).
    weight_change: float | None = None
    # The model family and the model class the trial trained (lossadvisor.trial.family).
    family: str = "cross-encoder"
    model_class: str = "CrossEncoder"

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def steps_run(self) -> int:
        return len(self.losses)

    @property
    def final_loss(self) -> float | None:
        return self.losses[-1] if self.losses else None


@dataclass(frozen=True)
class RequirementCheck:
    name: str
    passed: bool
    detail: str
    required: bool = True


def raise_for_failure(results: TrialResult | Sequence[TrialResult]) -> None:
    """Turn the first failed result into a TrialError (the CLI's exit code) after it has been rendered."""
    for result in [results] if isinstance(results, TrialResult) else results:
        if not result.ok:
            raise TrialError(f"{result.loss_name}: {result.problem}", result.hint)
