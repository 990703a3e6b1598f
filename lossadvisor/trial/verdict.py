"""The verdict a person can act on, first in a trial's report: works, runs without a measurable gain, or broken.

Judged by the held-out metric and its noise, not by whether the training loss went down: the loss of
pos_weight BCE or of a listwise loss need not fall step by step while the ranking improves.
"""

from __future__ import annotations

import math

from lossadvisor.trial.data_checks import LISTWISE_FORMAT
from lossadvisor.trial.options import EvalScore, TrialResult

RANDOM_MODEL_NOTE = "the random tiny model only shows that the loss runs; pass --model with a real base to measure it"


def curve_is_judged(format_name: str, params: tuple = ()) -> bool:
    """Whether the training loss is expected to fall step by step: not for listwise losses, nor for a pos_weight BCE
    (its weighted positives make the value jump with each batch's mix)."""
    if format_name == LISTWISE_FORMAT:
        return False
    return not any(getattr(param, "name", "") == "pos_weight" for param in params)


def _change_text(e: EvalScore) -> str:
    noise = f", noise ±{e.noise:.3f}" if e.noise is not None else ""
    return f"{e.metric} {e.before:.3f} → {e.after:.3f} ({e.change:+.3f}{noise})"


def verdict(result: TrialResult) -> str:
    """One line: 'works: …', 'gets worse: …', 'runs, no measurable gain …', 'runs: …' or 'broken: …'."""
    if result.status == "not-finite":
        return "broken: " + _nonfinite_text(result)
    if result.status != "ok":
        return f"broken: {result.problem}"
    random_note = f" ({RANDOM_MODEL_NOTE})" if result.random_model else ""
    e = result.evaluation
    if e is None or e.before is None or e.after is None:
        why = "no held-out metric (pass --eval-fraction above 0)" if e is None else "the held-out metric could not be measured"
        return f"runs: {result.steps_run} steps trained, {why}; a loss curve cannot say whether it helps{random_note}"
    if e.significant and result.random_model:
        # A random model's metric moves by chance as much as by learning: never "works" on it.
        return f"runs: {_change_text(e)} on the random tiny model, which only shows that the loss trains; " \
               "pass --model with a real base to measure it"
    if e.significant and e.change > 0:
        return f"works: {_change_text(e)}"
    if e.significant:
        return f"gets worse: {_change_text(e)}; try a lower --lr (now {result.learning_rate:g})"
    advice = "try more steps" + (" / a real model (--model)" if result.random_model else " or a larger --sample-size")
    return f"runs, no measurable gain in {result.steps_run} steps: {_change_text(e)}; {advice}"


def _nonfinite_text(result: TrialResult) -> str:
    bad = next((value for value in result.losses if not math.isfinite(value)), float("nan"))
    kind = "NaN" if math.isnan(bad) else "infinite"
    step = result.first_bad_step
    problem = result.problem or ""
    prefix = f"the loss became non-finite at step {step}"
    reason = problem[len(prefix):].lstrip(" :") if problem.startswith(prefix) else problem
    return f"loss {kind} at step {step}" + (f" because {reason}" if reason else "")
