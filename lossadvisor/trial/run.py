"""Train a loss for a few steps on a seeded sample of the data, alone (run_trial) or side by side (compare)."""

from __future__ import annotations

import math
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lossadvisor.errors import FitError, LossAdvisorError
from lossadvisor.fit import check_fit
from lossadvisor.recipe import Recipe, instantiate_loss
from lossadvisor.signals import Terminated, exit_on_sigterm
from lossadvisor.table import LossTable
from lossadvisor.tiny_model import TINY, resolve_model
from lossadvisor.trial.custom_loss import build_custom_loss, check_custom_loss
from lossadvisor.trial.data_checks import check_data, check_embedding_size, check_known_bad, data_notes, infer_num_labels
from lossadvisor.trial.failures import explain_error, explain_nonfinite, explain_oom, is_oom
from lossadvisor.trial.family import FamilyAdapter, adapter_for
from lossadvisor.trial.loss import advise_loss
from lossadvisor.trial.measure import Measurement, paired_noise
from lossadvisor.trial.options import EvalScore, Status, TrialOptions, TrialResult
from lossadvisor.trial.ranking import rank
from lossadvisor.trial.sampling import Split, to_dataset
from lossadvisor.trial.training import (
    Prepared,
    guide_location,
    make_recorder,
    peak_rss_mib,
    prepare,
    prepared_rows,
    reset_peak_rss,
    training_args,
    weight_distance,
    weights_of,
    window_means,
)
from lossadvisor.trial.verdict import curve_is_judged, verdict

if TYPE_CHECKING:
    from torch import nn


def run_trial(
    table: pa.Table,
    format_name: str,
    loss: str | type,
    loss_table: LossTable,
    options: TrialOptions = TrialOptions(),
    *,
    on_step: Callable[[int, float], None] | None = None,
    _prepared: Prepared | None = None,
) -> TrialResult:
    """Train `loss` for `options.steps` steps on a seeded sample of `table` and report what happened.

    Raises FitError/LossAdvisorError for what is wrong before training (fit, known-bad combinations, data
    shape); returns a TrialResult with status "not-finite" or "error" for what goes wrong while training.
    """
    if not isinstance(table, pa.Table):
        kind = type(table).__name__
        if "Iterable" in kind:
            check_known_bad("", replace(options, streaming=True), loss_table)
        raise LossAdvisorError(f"run_trial needs a pyarrow.Table, got {kind}", None)
    options = replace(options, model=resolve_model(options.model))
    fmt, loss_name, custom = _checked(table, format_name, loss, loss_table, options)
    if _prepared is not None:
        return _run_prepared(table, fmt, loss_name, custom, loss_table, options, on_step, _prepared)[0]
    restore = exit_on_sigterm()  # SIGTERM leaves through the finally below (exit 143)
    workdir = Path(tempfile.mkdtemp(prefix="lossadvisor-trial-"))
    try:
        prepared = prepare(table, options, workdir)
        return _run_prepared(table, fmt, loss_name, custom, loss_table, options, on_step, prepared)[0]
    finally:
        # Also on an error, Ctrl-C or SIGTERM: the trial leaves nothing behind.
        shutil.rmtree(workdir, ignore_errors=True)
        restore()


def _checked(table: pa.Table, format_name: str, loss: str | type, loss_table: LossTable,
             options: TrialOptions) -> tuple[str, str, type | None]:
    """The format, the loss name and the custom class, once fit, known-bad combinations and data are checked."""
    fmt = loss_table.resolve_format(format_name)
    custom = loss if isinstance(loss, type) else None
    loss_name = custom.__name__ if custom is not None else loss_table.resolve_loss(str(loss))
    if custom is None and not options.force:
        check_fit(fmt, loss_name, loss_table)
    check_known_bad(loss_name, options, loss_table)
    if not options.force:
        check_data(table, fmt, loss_name if custom is None else None, loss_table)
    return fmt, loss_name, custom


@dataclass
class _Setup:
    """The model, the loss and the evaluator one trial trains and scores."""

    recipe: Recipe
    adapter: FamilyAdapter
    model: nn.Module
    train: pa.Table  # the rows the loss trains on (prepared for it, e.g. damaged texts for a denoising loss)
    loss_module: Any
    loss_code: str
    evaluator: Any
    before: Measurement | None
    notes: list[str]


@dataclass
class _Outcome:
    """What training did: the recorder's measurements, and the problem when it failed."""

    recorder: Any
    status: Status
    problem: str | None
    hint: str | None
    started: float
    finished: float
    peak_rss: float
    peak_cuda: float | None
    weight_change: float | None = None


def _run_prepared(
    table: pa.Table,
    fmt: str,
    loss_name: str,
    custom: type | None,
    loss_table: LossTable,
    options: TrialOptions,
    on_step: Callable[[int, float], None] | None,
    prepared: Prepared,
) -> tuple[TrialResult, Measurement | None]:
    """The result, and the held-out measurement after training (what a comparison ranks by)."""
    setup = _setup(table, fmt, loss_name, custom, loss_table, options, prepared)
    outcome = _train(setup, fmt, loss_name, loss_table, options, on_step, prepared)
    after = setup.adapter.measure(setup.evaluator, fmt, setup.model, setup.notes) if _measurable(setup, outcome) else None
    return _result(setup, outcome, fmt, loss_name, options, prepared.split, after), after


def _measurable(setup: _Setup, outcome: _Outcome) -> bool:
    return setup.evaluator is not None and setup.before is not None and outcome.status == "ok"


def _trial_recipe(table: pa.Table, fmt: str, loss_name: str, custom: type | None, loss_table: LossTable,
                  options: TrialOptions, batch_size: int) -> Recipe:
    if custom is None:
        recipe = advise_loss(loss_name, table, loss_table, batch_size, options.class_names)
    else:
        num_labels = infer_num_labels("CrossEntropyLoss", table, loss_table, options.class_names) if fmt == "pair-class" else 1
        recipe = Recipe(loss_name, "", num_labels, str(num_labels), False, "default", ())
    if options.num_labels is not None:
        recipe = replace(recipe, num_labels=options.num_labels)
    return recipe


def _setup(table: pa.Table, fmt: str, loss_name: str, custom: type | None, loss_table: LossTable,
           options: TrialOptions, prepared: Prepared) -> _Setup:
    from transformers import set_seed

    split = prepared.split
    adapter = adapter_for(loss_table)
    recipe = _trial_recipe(table, fmt, loss_name, custom, loss_table, options, split.batch_size)
    set_seed(options.seed)
    model = adapter.load_model(prepared, options, recipe)
    check_embedding_size(split.train, fmt, model, loss_name)
    notes = list(split.notes) + prepared.notes + data_notes(table, fmt, loss_name)
    train, prepared_note = prepared_rows(split.train, fmt, loss_name, options.seed)
    if prepared_note:
        notes.append(prepared_note)
    if custom is None:
        loss_module, loss_code = instantiate_loss(recipe, model, resolve_model=guide_location), recipe.loss_source()
        if options.modifier is not None:
            from lossadvisor.trial.models import embedding_dimension
            from lossadvisor.trial.modifiers import wrap

            loss_module, loss_code = wrap(options.modifier, loss_module, loss_code, loss_table, model,
                                          embedding_dimension(model), options.matryoshka_dims)
    else:
        checks = check_custom_loss(custom, split.train, fmt, loss_table, model)
        failed = next((check for check in checks if check.required and not check.passed), None)
        if failed is not None:
            raise FitError(f"custom loss {loss_name} fails '{failed.name}': {failed.detail}", None)
        set_seed(options.seed)
        loss_module, loss_code = build_custom_loss(custom, model), f"{loss_name}(model)"
    evaluator = None
    if split.eval is not None and split.eval.num_rows:
        evaluator, why = adapter.build_evaluator(fmt, split.eval, recipe)
        if evaluator is None and why:
            notes.append(why)
    before = adapter.measure(evaluator, fmt, model, notes) if evaluator is not None else None
    return _Setup(recipe, adapter, model, train, loss_module, loss_code, evaluator, before, notes)


def _train(setup: _Setup, fmt: str, loss_name: str, loss_table: LossTable, options: TrialOptions,
           on_step: Callable[[int, float], None] | None, prepared: Prepared) -> _Outcome:
    import torch
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    split = prepared.split
    recorder = make_recorder(on_step)
    output_dir = prepared.workdir / ("run-" + re.sub(r"[^\w.-]", "_", loss_name))  # a name, never a path
    args = training_args(options, output_dir, split.batch_size, loss_name, setup.adapter.args_class(),
                         setup.adapter.sampler(loss_name))
    card = getattr(setup.model, "model_card_data", None)
    if card is not None and not setup.adapter.is_cross_encoder:
        card.set_widget_examples = lambda dataset: None  # a model card's examples: a progress bar, no use in a trial
    trainer = setup.adapter.trainer_class()(
        model=setup.model, args=args, train_dataset=to_dataset(setup.train), loss=setup.loss_module, callbacks=[recorder]
    )
    # The CLI draws its own progress; the trainer's printer would write dicts to stdout.
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    cuda = torch.cuda.is_available() and setup.model.device.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    reset_peak_rss()
    start_weights = weights_of(setup.model)
    status: Status = "ok"
    problem = hint = None
    started = time.perf_counter()
    try:
        trainer.train()
    except (KeyboardInterrupt, Terminated):
        raise
    except SystemExit as exc:  # user code (a custom loss) called sys.exit: the loss failed, the trial goes on
        status = "error"
        problem = f"the loss called sys.exit({exc.code!r}) after {len(recorder.losses)} training step(s): training stopped"
        hint = "A loss should raise an exception, not call sys.exit()."
    except (RuntimeError, ValueError, IndexError, TypeError, MemoryError) as exc:
        status = "error"
        if is_oom(exc):
            problem, hint = explain_oom(loss_name, fmt, split.train, split.batch_size, options, loss_table)
            if cuda:
                # Let the next loss of a comparison start with the memory this one could not use.
                torch.cuda.empty_cache()
        else:
            problem, hint = explain_error(exc, loss_name, fmt, split.train, loss_table)
    finished = time.perf_counter()
    peak_cuda = torch.cuda.max_memory_allocated() / 2**20 if cuda else None
    if status == "ok" and recorder.first_bad_step is not None:
        status = "not-finite"
        problem, hint = explain_nonfinite(loss_name, split.train, recorder.first_bad_step, options)
    return _Outcome(recorder, status, problem, hint, started, finished, peak_rss_mib(), peak_cuda,
                    weight_distance(start_weights, setup.model))


def _evaluation(setup: _Setup, after: Measurement | None, split: Split, seed: int) -> EvalScore | None:
    before = setup.before
    if setup.evaluator is None or before is None or split.eval is None:
        return None
    others = tuple((name, value, after.others.get(name) if after else None) for name, value in before.others.items())
    noise = paired_noise(before, after, seed=seed) if after is not None else None
    return EvalScore(type(setup.evaluator).__name__, before.metric, before.value, after.value if after else None,
                     split.eval.num_rows, before.units, before.unit, noise, others)


def _result(setup: _Setup, outcome: _Outcome, fmt: str, loss_name: str, options: TrialOptions, split: Split,
            after: Measurement | None) -> TrialResult:
    recorder, status = outcome.recorder, outcome.status
    losses = tuple(recorder.losses)
    times = recorder.step_times
    steps_per_second = (len(times) - 1) / (times[-1] - times[0]) if len(times) >= 2 and times[-1] > times[0] else None
    finite = [value for value in losses if math.isfinite(value)]
    first_mean, last_mean, went_down = window_means(finite if status == "ok" else [])
    judged = curve_is_judged(fmt, setup.recipe.params)
    result = TrialResult(
        loss_name=loss_name,
        format_name=fmt,
        status=status,
        losses=losses,
        grad_norms=tuple(recorder.grad_norms),
        steps_requested=options.steps,
        first_bad_step=recorder.first_bad_step,
        first_window_mean=first_mean,
        last_window_mean=last_mean,
        went_down=went_down if judged else None,
        steps_per_second=steps_per_second,
        samples_per_second=steps_per_second * split.batch_size if steps_per_second else None,
        time_to_first_step_s=times[0] - outcome.started if times else None,
        train_seconds=outcome.finished - outcome.started,
        peak_rss_mib=outcome.peak_rss,
        peak_cuda_mib=outcome.peak_cuda,
        device=str(setup.model.device),
        model_code=setup.adapter.model_code(options, setup.recipe),
        loss_code=setup.loss_code,
        params=setup.recipe.params,
        train_rows=split.train.num_rows,
        eval_rows=split.eval.num_rows if split.eval is not None else 0,
        batch_size=split.batch_size,
        learning_rate=options.learning_rate,
        evaluation=_evaluation(setup, after, split, options.seed),
        problem=outcome.problem,
        hint=outcome.hint,
        notes=tuple(setup.notes),
        model=options.model,
        random_model=options.model == TINY,
        curve_judged=judged,
        weight_change=outcome.weight_change,
        family=setup.adapter.name,
        model_class=setup.adapter.model_class,
    )
    return replace(result, verdict=verdict(result))


def _release_memory() -> None:
    """The trainer holds reference cycles; collect them so the next loss starts from the same memory."""
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def compare(
    table: pa.Table,
    format_name: str,
    losses: Sequence[str | type],
    loss_table: LossTable,
    options: TrialOptions = TrialOptions(),
    *,
    on_step: Callable[[str, int, float], None] | None = None,
) -> list[TrialResult]:
    """Several losses on the same sample, the same starting weights and the same seed, one result each.

    Every loss is checked before any trains, so a misfit fails in a second rather than after the others ran.
    """
    if not losses:
        raise LossAdvisorError("compare needs at least one loss", None)
    options = replace(options, model=resolve_model(options.model))
    fmt = loss_table.resolve_format(format_name)
    names = []
    for loss in losses:
        if isinstance(loss, type):
            names.append(loss)
            continue
        name = loss_table.resolve_loss(str(loss))
        if not options.force:
            check_fit(fmt, name, loss_table)
        check_known_bad(name, options, loss_table)
        if not options.force:
            check_data(table, fmt, name, loss_table)
        names.append(name)
    restore = exit_on_sigterm()  # SIGTERM leaves through the finally below (exit 143)
    workdir = Path(tempfile.mkdtemp(prefix="lossadvisor-compare-"))
    try:
        prepared = prepare(table, options, workdir)
        runs = []
        for loss in names:
            _, label, custom = _checked(table, fmt, loss, loss_table, options)
            step_hook = (lambda step, value, _label=label: on_step(_label, step, value)) if on_step else None
            runs.append(_run_prepared(table, fmt, label, custom, loss_table, options, step_hook, prepared))
            _release_memory()
        return rank(runs, options.seed)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        restore()
