"""`lossadvisor trial` end to end through the CLI (typer's CliRunner, in-process: sentence_transformers is
imported once per session) on the real slices in ../shared/data/real.

One loss per row of data_formats.yaml trains a few steps on real data with the tiny model; then the refusal of
a misfit (and --force), --compare with --plot, a custom loss from a file, and --eval-fraction.
test_trial.py covers lossadvisor.trial itself on in-memory tables.

Four steps rather than three: `went_down` compares the mean of the first and the last quarter of the steps and
needs at least four, so with three it is always null and asserting it would prove nothing. These use the tiny
random model (--model tiny): they prove that each loss runs; test_trial_evidence.py trains the real base.
"""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from real_data import REAL, needs_real
from typer.testing import CliRunner

from lossadvisor.cli import app
from lossadvisor.table import load_table

pytestmark = needs_real

STEPS, BATCH, SAMPLE = 4, 4, 32
# The tiny random model: these tests prove that every row's loss runs through the CLI; the real base is
# exercised in test_trial_evidence.py.
SMALL = ("--steps", str(STEPS), "--batch-size", str(BATCH), "--sample-size", str(SAMPLE), "--max-length", "64", "--model", "tiny")


def slow(test):
    """A training test: marked slow, and run with one torch thread."""
    return pytest.mark.slow(pytest.mark.usefixtures("one_torch_thread")(test))


def run(*args: str | Path):
    return CliRunner().invoke(app, [str(a) for a in args])


def trial_json(*args: str | Path, exit_code: int = 0) -> dict:
    result = run("trial", *args, *SMALL, "--json")
    assert result.exit_code == exit_code, (result.exit_code, result.stderr[-2000:], result.stdout[-2000:])
    report = json.loads(result.stdout)  # one JSON object on stdout, also when the trial failed
    assert set(report) == {"format", "family", "model_class", "fixes_applied", "rows", "results", "plot"}
    assert (report["family"], report["model_class"]) == ("cross-encoder", "CrossEncoder")
    return report


def assert_trained(result: dict, loss: str) -> None:
    assert result["loss_name"] == loss
    assert result["status"] == "ok" and result["ok"] is True and result["problem"] is None
    assert result["steps_requested"] == STEPS and len(result["losses"]) == STEPS
    assert all(isinstance(v, float) and math.isfinite(v) for v in result["losses"])
    assert result["first_bad_step"] is None
    assert result["first_window_mean"] is not None and result["last_window_mean"] is not None
    # One outcome: the curve's verdict follows from the two window means, and is withheld (None) exactly for
    # losses that need not fall step by step (listwise losses, pos_weight BCE).
    if result["curve_judged"]:
        assert result["went_down"] is (result["last_window_mean"] < result["first_window_mean"])
    else:
        assert result["went_down"] is None
    assert result["random_model"] is True and result["model"] == "tiny"
    # whatever the random model's metric did, the verdict sends the user to a real base
    assert result["verdict"].startswith(("works: ", "runs", "gets worse: ")) and "--model" in result["verdict"]
    assert result["samples_per_second"] > 0 and result["steps_per_second"] > 0
    assert 0 < result["time_to_first_step_s"] < result["train_seconds"]
    assert result["batch_size"] == BATCH and result["device"] == "cpu"




@pytest.fixture(scope="module")
def derived(tmp_path_factory) -> dict[str, Path]:
    """Formats no real file is in, made from real files: an n-tuple mined through the CLI, and n-tuple teacher
    labels where the second negative (and its score) is borrowed from the next WikiQA triplet."""
    folder = tmp_path_factory.mktemp("derived")
    n_tuple = folder / "squad-n-tuple.parquet"
    mined = run("convert", REAL / "squad" / "squad_qa_pairs.csv", "--to", "n-tuple", "--num-negatives", "2", "-o", n_tuple, "--json")
    assert mined.exit_code == 0, mined.stderr
    rows = pq.read_table(REAL / "distill" / "wikiqa_triplet_scores.parquet").slice(0, 81).to_pylist()
    margin, scores = folder / "n-tuple-margin.jsonl", folder / "n-tuple-scores.jsonl"
    with margin.open("w", encoding="utf-8") as m, scores.open("w", encoding="utf-8") as s:
        for row, following in zip(rows, rows[1:]):
            positive, negative = row["label"]
            borrowed = following["label"][1]
            texts = {"query": row["query"], "positive": row["positive"], "negative_1": row["negative"], "negative_2": following["negative"]}
            m.write(json.dumps(texts | {"label": [positive - negative, positive - borrowed]}) + "\n")
            s.write(json.dumps(texts | {"label": [positive, negative, borrowed]}) + "\n")
    return {"n-tuple": n_tuple, "n-tuple-margin": margin, "n-tuple-scores": scores}


# One loss per row of the table, on real data as found where lossadvisor can read it (fixes applied in memory).
ROWS = [
    ("pair-class", False, "snli/snli_1.0_dev.jsonl", "CrossEntropyLoss"),
    ("pair", False, "squad/squad_qa_pairs.csv", "MultipleNegativesRankingLoss"),
    ("labeled-pair", False, "mrpc/mrpc_train_hf", "BinaryCrossEntropyLoss"),
    ("pair-score", False, "stsb/stsb_train_sample.csv", "BinaryCrossEntropyLoss"),
    ("triplet", False, "snli/snli_triplets.csv", "MultipleNegativesRankingLoss"),
    ("n-tuple", False, "n-tuple", "CachedMultipleNegativesRankingLoss"),
    ("labeled-list", False, "cranfield/cranfield_labeled_list_hf", "LambdaLoss"),
    ("pair-score", True, "sick/sick_relatedness.parquet", "MSELoss"),
    ("triplet-margin", True, "distill/wikiqa_triplet_margin.jsonl", "MarginMSELoss"),
    ("n-tuple-margin", True, "n-tuple-margin", "MarginMSELoss"),
    ("triplet-scores", True, "distill/wikiqa_teacher_scores_wide.csv", "MarginMSELoss"),
    ("n-tuple-scores", True, "n-tuple-scores", "MarginMSELoss"),
]
FIXES = {  # what the trial had to fix in memory before training
    "snli/snli_1.0_dev.jsonl": "mapped class names to ids: {'entailment': 0, 'neutral': 1, 'contradiction': 2}",
    "stsb/stsb_train_sample.csv": "scaled scores from [0.0, 5.0] to [0, 1]",
    "distill/wikiqa_teacher_scores_wide.csv": "combined pos_score, neg_score into label",
}


def test_the_cases_cover_every_row_of_the_table():
    table = load_table()
    rows = {(row.format, bool(row.distillation)): row.losses for row in table.rows}
    assert len(rows) == len(table.rows) == len(ROWS)
    for fmt, distillation, _, loss in ROWS:
        assert loss in rows[(fmt, distillation)]


@slow
@pytest.mark.parametrize("fmt, distillation, dataset, loss", ROWS, ids=[f"{r[0]}-{r[3]}" for r in ROWS])
def test_one_loss_per_row_trains(derived, fmt, distillation, dataset, loss):
    path = derived.get(dataset) or REAL / dataset
    report = trial_json(path, "--loss", loss)
    assert report["format"] == fmt
    if dataset in FIXES:
        assert FIXES[dataset] in report["fixes_applied"]
    [result] = report["results"]
    assert_trained(result, loss)
    assert result["format_name"] == fmt and result["train_rows"] == SAMPLE
    assert result["loss_code"].startswith(f"losses.{loss}(model")
    num_labels = 3 if loss == "CrossEntropyLoss" else 1
    assert f"num_labels={num_labels}" in result["model_code"]
    assert report["plot"] is None


# --------------------------------------------------------------------------------------------- refusal and --force

SQUAD = REAL / "squad" / "squad_qa_pairs.csv"


def test_a_misfit_is_refused_with_the_convert_command():
    result = run("trial", SQUAD, "--loss", "LambdaLoss", *SMALL)
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "Error: LambdaLoss does not fit pair data: it trains on labeled-list: (query, [doc1, doc2, ..., docN]), "
        "labels [score1, score2, ..., scoreN]"
    )
    assert lines[1] == (
        f"Hint: Run `lossadvisor convert {SQUAD} --to labeled-list -o labeled-list-dataset` (pair -> labeled-list), "
        "or pass --force to try anyway."
    )
    assert len(lines) == 2


@slow
def test_force_tries_anyway_and_names_the_misfit_when_it_breaks():
    report = trial_json(SQUAD, "--loss", "LambdaLoss", "--force", exit_code=2)
    [result] = report["results"]
    assert result["status"] == "error" and result["ok"] is False and result["losses"] == []
    assert result["problem"].startswith("LambdaLoss does not fit pair data")
    assert "(tried with --force; LambdaLoss raised " in result["problem"]
    assert result["hint"] == "Run `lossadvisor convert DATASET --to labeled-list -o labeled-list-dataset` (pair -> labeled-list)."


@slow
def test_force_trains_a_misfit_that_happens_to_run():
    """MSELoss is documented for pair-score, not labeled-pair; forced, it trains on MRPC's 0/1 labels."""
    report = trial_json(REAL / "mrpc" / "mrpc_train_hf", "--loss", "MSELoss", "--force")
    assert report["format"] == "labeled-pair"
    assert_trained(report["results"][0], "MSELoss")


def test_argument_errors():
    result = run("trial", SQUAD)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: name a loss with --loss, or several with --compare",
        f"Hint: For pair data, e.g. `lossadvisor trial {SQUAD} --loss MultipleNegativesRankingLoss`, or add --compare fitting.",
    ]
    result = run("trial", SQUAD, "--loss", "LambaLoss")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["Error: unknown loss 'LambaLoss'", "Hint: Did you mean 'LambdaLoss'?"]


# --------------------------------------------------------------------------------------------- --compare and --plot


def assert_png(path: Path) -> None:
    assert path.is_file() and path.stat().st_size > 1000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@slow
def test_compare_two_losses_and_plot(tmp_path):
    plot = tmp_path / "curves.png"
    report = trial_json(REAL / "cranfield" / "cranfield_labeled_list_hf", "--compare", "LambdaLoss,ListNetLoss", "--plot", plot)
    assert [r["loss_name"] for r in report["results"]] == ["LambdaLoss", "ListNetLoss"]
    for result, loss in zip(report["results"], ["LambdaLoss", "ListNetLoss"]):
        assert_trained(result, loss)
    # the same sample for both
    assert report["results"][0]["train_rows"] == report["results"][1]["train_rows"] == SAMPLE
    # ranked by the held-out metric, with the noise of each gap to the best
    standings = [r["standing"] for r in report["results"]]
    assert sorted(st["rank"] for st in standings) == [1, 2] and all(st["metric"] == "ndcg@10" for st in standings)
    assert [st["behind_best"] is None for st in standings].count(True) == 1
    assert report["plot"] == str(plot)
    assert_png(plot)


@slow
def test_compare_fitting_runs_every_loss_that_fits(tmp_path):
    plot = tmp_path / "fitting.png"
    report = trial_json(REAL / "sick" / "sick_relatedness.parquet", "--compare", "fitting", "--plot", plot)
    assert report["format"] == "pair-score"
    assert [r["loss_name"] for r in report["results"]] == ["BinaryCrossEntropyLoss", "MSELoss"]
    for result in report["results"]:
        assert_trained(result, result["loss_name"])
    assert_png(plot)


# --------------------------------------------------------------------------------------------- custom loss

CUSTOM = textwrap.dedent(
    '''
    from sentence_transformers.util import batch_to_device
    from torch import nn


    class PairBCE(nn.Module):
        """BCE on the pair scores, written the way the library writes its losses."""

        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, inputs, labels):
            tokens = batch_to_device(self.model.preprocess(list(zip(inputs[0], inputs[1]))), self.model.device)
            logits = self.model(tokens)["scores"].view(-1)
            return nn.functional.binary_cross_entropy_with_logits(logits, labels.float().view(-1))
    '''
)


@slow
def test_a_custom_loss_from_a_file(tmp_path):
    module = tmp_path / "my_losses.py"
    module.write_text(CUSTOM, encoding="utf-8")
    report = trial_json(REAL / "mrpc" / "mrpc_train_hf", "--loss", f"{module}:PairBCE")
    [result] = report["results"]
    assert_trained(result, "PairBCE")
    assert result["loss_code"] == "PairBCE(model)"

    missing = run("trial", REAL / "mrpc" / "mrpc_train_hf", "--loss", f"{module}:Missing", *SMALL)
    assert missing.exit_code == 2
    assert missing.stderr.splitlines() == [f"Error: {module} has no class 'Missing'", "Hint: Classes there: PairBCE."]


# --------------------------------------------------------------------------------------------- --eval-fraction


@slow
def test_eval_fraction_shows_before_and_after():
    sick = REAL / "sick" / "sick_relatedness.parquet"
    report = trial_json(sick, "--loss", "MSELoss", "--eval-fraction", "0.25")
    [result] = report["results"]
    assert_trained(result, "MSELoss")
    evaluation = result["evaluation"]
    assert evaluation["evaluator"] == "CrossEncoderCorrelationEvaluator" and evaluation["metric"] == "spearman"
    assert evaluation["rows"] == result["eval_rows"] > 0
    assert -1 <= evaluation["before"] <= 1 and -1 <= evaluation["after"] <= 1

    assert evaluation["units"] == evaluation["rows"] and evaluation["noise"] >= 0
    assert result["verdict"].startswith(("runs", "works", "gets worse"))

    view = run("trial", sick, "--loss", "MSELoss", "--eval-fraction", "0.25", *SMALL)
    assert view.exit_code == 0, view.stderr
    # the verdict first; the measurements after it
    assert " ".join(view.stdout.split("\n")[0].split()).startswith(result["verdict"][:40])
    text = " ".join(view.stdout.split())  # rich wraps at the terminal width
    assert "smoke-train" in text and "MSELoss" in text
    assert (f"CrossEncoderCorrelationEvaluator spearman: {evaluation['before']:.4f} → {evaluation['after']:.4f} "
            f"(change {evaluation['after'] - evaluation['before']:+.4f}, noise ±{evaluation['noise']:.4f}) "
            f"on {evaluation['rows']} held-out rows, no anchor of them in training") in text
    # progress: plain lines on stderr when piped (a line per loss and per step), never on stdout
    assert "[1/1] MSELoss: training 4 steps" in view.stderr and "MSELoss step 4/4: loss " in view.stderr
    assert "\x1b" not in view.stderr and "step 1/4" not in view.stdout
