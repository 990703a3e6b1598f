"""`lossadvisor trial`: prove that a loss trains on the user's data, with the real trainer, in seconds.

A trial draws a seeded sample of the data (already in canonical column order), builds the CrossEncoder the
loss needs and the loss with the parameters the recipe (lossadvisor.recipe) advises, trains a few steps with
`CrossEncoderTrainer` from a real pretrained base (or the random tiny model, which only shows that a loss runs),
and measures the task's metric on rows held out by anchor before and after training, with its bootstrap noise.
The report leads with a verdict (works / no measurable gain / broken); the loss curve, speed and memory follow.
It refuses known-bad combinations up front and explains failures (non-finite loss, shape errors, out of memory)
in terms of the data and the loss rather than the stack trace.

Every model family of the table trains with its own model, trainer and evaluator: family (the adapter, its classes
from the table's `families.<name>`), models (the embedder families' bases: MiniLM, a SPLADE built on it, the tiny
models), embed_eval (their evaluators and per-query metric), modifiers (MatryoshkaLoss & co).

One concern per module: options (what is asked and reported), data_checks (refusals up front), sampling,
loss (the recipe for this data), custom_loss, evaluation (which evaluator), measure (metric and noise),
verdict, ranking (--compare), training (the trainer's parts), failures, run, report.
"""

from lossadvisor.fit import check_fit, fit_hint
from lossadvisor.recipe import LABEL, MAX_CLASSES, MODEL_LR, TINY_LR, Recipe, RecipeParam, instantiate_loss
from lossadvisor.trial.custom_loss import check_custom_loss, load_custom_loss
from lossadvisor.trial.data_checks import (
    LISTWISE_MIXED_PRECISION_MIN,
    check_data,
    check_known_bad,
    infer_num_labels,
    input_columns,
    is_listwise,
)
from lossadvisor.trial.evaluation import build_evaluator
from lossadvisor.trial.loss import advise_loss, build_loss, model_code
from lossadvisor.trial.options import (
    EvalScore,
    RequirementCheck,
    Standing,
    Status,
    TrialError,
    TrialOptions,
    TrialResult,
    raise_for_failure,
)
from lossadvisor.trial.report import sparkline, write_plot
from lossadvisor.trial.run import compare, run_trial
from lossadvisor.trial.sampling import sample_split, texts_of
from lossadvisor.trial.verdict import verdict

__all__ = [
    "LABEL", "LISTWISE_MIXED_PRECISION_MIN", "MAX_CLASSES", "MODEL_LR", "TINY_LR",
    "EvalScore", "Recipe", "RecipeParam", "RequirementCheck", "Standing", "Status", "TrialError", "TrialOptions", "TrialResult",
    "advise_loss", "build_evaluator", "build_loss", "check_custom_loss", "check_data", "check_fit", "check_known_bad",
    "compare", "fit_hint", "infer_num_labels", "input_columns", "instantiate_loss", "is_listwise", "load_custom_loss",
    "model_code", "raise_for_failure", "run_trial", "sample_split", "sparkline", "texts_of", "verdict", "write_plot",
]
