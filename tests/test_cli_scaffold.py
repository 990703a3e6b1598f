"""`lossadvisor scaffold` end to end: the command writes a script for real data, and the script trains.

Through typer's CliRunner for the command; the written script then runs in its own Python process (as a user
would run it) with `--max-steps 2` and the tiny model, offline, in tmp_path. test_scaffold.py covers the
script template itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from real_data import REAL, needs_real
from typer.testing import CliRunner

from lossadvisor.cli import app

REPO = Path(__file__).resolve().parents[1]
pytestmark = needs_real


def run(*args: str | Path):
    return CliRunner().invoke(app, [str(a) for a in args])


def error_lines(result) -> list[str]:
    assert result.exit_code == 2, (result.exit_code, result.stdout[-1000:], result.stderr[-1000:])
    lines = result.stderr.splitlines()
    assert lines and lines[0].startswith("Error: "), lines
    assert len(lines) <= 2 and all(line.startswith(("Error: ", "Hint: ")) for line in lines), lines
    assert "Traceback" not in result.output and result.stdout == ""
    return lines


def run_script(script: Path, cwd: Path, *args: str, timeout: int = 400) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    # Nothing may reach for the network: local data, the tiny model.
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    # One torch thread: on a small shared machine a per-core pool turns other processes' load into 10x slower steps.
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["HF_DATASETS_CACHE"] = str(cwd / "datasets-cache")
    return subprocess.run([sys.executable, str(script), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


# (dataset, loss, format the script trains on, a line the fixes must contain)
CASES = [
    ("sick/SICK.txt", "CrossEntropyLoss", "pair-class", "CLASSES = ['ENTAILMENT', 'NEUTRAL', 'CONTRADICTION']"),
    ("stsb/stsb_train_sample.csv", "BinaryCrossEntropyLoss", "pair-score", "(row['score'] - 0.0) / 5.0"),
    # long format: one row per judgment, grouped into (query, docs, labels) by the script itself
    ("cranfield/cranfield_judgments_joined.csv", "LambdaLoss", "labeled-list", ".groupby('query', sort=False)"),
    # nested JSON: {data: [{paragraphs: [{qas: [...]}]}]} flattened the way inspect reads it
    ("squad/squad_v1.1_slice.json", "MultipleNegativesRankingLoss", "pair", None),
    # already a labeled-list: its list columns must not be a drop_duplicates key (pandas cannot hash them)
    ("wikiqa/wikiqa_test_labeled_list.jsonl", "ListNetLoss", "labeled-list", "drop_duplicates(subset=['query'])"),
]


REAL_BASE_CASE = "stsb/stsb_train_sample.csv"


@pytest.mark.slow
@pytest.mark.parametrize("dataset, loss, fmt, fix", CASES, ids=[c[0].split("/")[1] for c in CASES])
def test_scaffolded_script_trains(tmp_path, dataset, loss, fmt, fix):
    script = tmp_path / "train.py"
    # The default base is the real MiniLM (installed) or a hub id; one case trains it, the others prove the
    # script's plumbing with the tiny model in seconds.
    model = () if dataset == REAL_BASE_CASE else ("--model", "tiny")
    result = run("scaffold", REAL / dataset, "--loss", loss, "-o", script, *model, "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["script"] == str(script) and report["format"] == fmt and report["loss"] == loss
    assert report["run"] == [f"python {script}", f"accelerate launch {script}"]
    if fix is not None:
        assert any(fix in line for line in report["fixes"]), report["fixes"]
    text = script.read_text(encoding="utf-8")
    compile(text, str(script), "exec")
    assert f"losses.{loss}(" in text and os.access(script, os.X_OK)
    if loss == "MultipleNegativesRankingLoss":
        assert "read_table(open_sample(" in text and 'batch_sampler="no_duplicates"' in text

    done = run_script(script, tmp_path, "--max-steps", "2", "--output-dir", "out")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "before training:" in done.stdout and "after training:" in done.stdout
    assert (tmp_path / "out" / "final" / "config.json").is_file()
    metric = {"pair-class": "accuracy", "pair-score": "spearman"}.get(fmt, "ndcg@10")
    assert f"after training: {metric} " in done.stdout  # the metric trial reports first
    if dataset == REAL_BASE_CASE:
        from lossadvisor.tiny_model import installed_base

        assert installed_base() is None or f"MODEL = {json.dumps(installed_base())}" in text


def test_rich_view_names_the_script_and_how_to_run_it(tmp_path):
    script = tmp_path / "train.py"
    result = run("scaffold", REAL / "stsb" / "stsb_train_sample.csv", "--loss", "BinaryCrossEntropyLoss", "-o", script)
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stdout.split())  # rich wraps at the terminal width (80 columns when not a tty)
    assert text.startswith(f"wrote {script}: BinaryCrossEntropyLoss on pair-score data, ")
    assert f"run it: python {script} " in text and f"accelerate launch {script}" in text


def test_an_existing_script_is_not_overwritten(tmp_path):
    script = tmp_path / "train.py"
    script.write_text("# my own edits\n", encoding="utf-8")
    args = ("scaffold", REAL / "squad" / "squad_qa_pairs.csv", "--loss", "MultipleNegativesRankingLoss", "-o", script)
    assert error_lines(run(*args)) == [
        f"Error: {script} already exists",
        "Hint: Pass --overwrite to replace it, or choose another -o.",
    ]
    assert script.read_text(encoding="utf-8") == "# my own edits\n"
    result = run(*args, "--overwrite")
    assert result.exit_code == 0, result.stderr
    assert "losses.MultipleNegativesRankingLoss(" in script.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.py"]  # written atomically: no temporary left


@pytest.mark.parametrize(
    "dataset, loss, lines",
    [
        (
            "squad/squad_qa_pairs.csv",
            "LambdaLoss",
            [
                "Error: LambdaLoss does not train on pair data",
                "Hint: Run `lossadvisor convert {path} --to labeled-list -o labeled-list-dataset` (pair -> labeled-list).",
            ],
        ),
        (
            "snli/snli_triplets.csv",
            "CrossEntropyLoss",
            [
                "Error: CrossEntropyLoss does not train on triplet data",
                # no conversion makes pair-class: the hint names what fits instead of a convert that would fail
                "Hint: No declared conversion leads from triplet to pair-class. "
                "Losses that fit triplet: CachedMultipleNegativesRankingLoss, MultipleNegativesRankingLoss.",
            ],
        ),
        ("snli/snli_triplets.csv", "LambaLoss", ["Error: unknown loss 'LambaLoss'", "Hint: Did you mean 'LambdaLoss'?"]),
    ],
    ids=["needs-mining", "no-conversion", "unknown-loss"],
)
def test_a_loss_that_does_not_fit_exits_2(tmp_path, dataset, loss, lines):
    script = tmp_path / "train.py"
    path = REAL / dataset
    assert error_lines(run("scaffold", path, "--loss", loss, "-o", script)) == [line.format(path=path) for line in lines]
    assert not script.exists()
