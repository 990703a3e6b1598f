"""`scaffold --family`: a runnable script per model family (issue 13), with the family's trainer, loss and evaluator.

The slow tests write each family's script for real SNLI triplets (48 rows of ../shared/data/real) and run it for 3
steps on the family's tiny model; the fast ones read the script's source.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.csv as pcsv
import pytest
from family_data import table_for
from real_data import needs_real
from typer.testing import CliRunner

from lossadvisor.cli.app import app
from lossadvisor.table import load_table

SCRIPTS = {
    "sentence-transformer": ("MultipleNegativesRankingLoss", "SentenceTransformerTrainer", "InformationRetrievalEvaluator"),
    "sparse-encoder": ("SparseMultipleNegativesRankingLoss", "SparseEncoderTrainer", "SparseInformationRetrievalEvaluator"),
    "multi-vector": ("MultiVectorMultipleNegativesRankingLoss", "MultiVectorEncoderTrainer",
                     "MultiVectorInformationRetrievalEvaluator"),
}


@pytest.fixture(scope="module")
def triplets(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("family-scaffold") / "snli_triplets.csv"
    pcsv.write_csv(table_for("triplet").slice(0, 48), path)
    return path


def _scaffold(data: Path, out: Path, *args: str) -> str:
    result = CliRunner().invoke(app, ["scaffold", str(data), "-o", str(out), *args])
    assert result.exit_code == 0, result.output
    return out.read_text()


@needs_real
@pytest.mark.parametrize("family", SCRIPTS)
def test_the_script_uses_the_familys_classes(triplets, tmp_path, family):
    loss, trainer, evaluator = SCRIPTS[family]
    text = _scaffold(triplets, tmp_path / "train.py", "--family", family, "--loss", loss)
    ast.parse(text)
    view = load_table().for_family(family)
    assert f"from {view.family.module} import (" in text
    assert f"trainer = {trainer}(" in text and f"return {evaluator}(" in text
    assert 'batch_sampler="no_duplicates"' in text or "batch_sampler='no_duplicates'" in text
    assert "CrossEncoder" not in text
    if family == "sparse-encoder":
        assert "return losses.SpladeLoss(model, loss=losses.SparseMultipleNegativesRankingLoss(model)" in text


@needs_real
def test_the_family_is_picked_by_the_loss_and_named(triplets, tmp_path):
    result = CliRunner().invoke(app, ["scaffold", str(triplets), "-o", str(tmp_path / "t.py"), "--loss", "TripletLoss",
                                      "--json"])
    assert result.exit_code == 0, result.output
    assert '"family": "sentence-transformer"' in result.stdout and '"model_class": "SentenceTransformer"' in result.stdout


@needs_real
def test_asked_matryoshka_dims_beyond_the_base_exit_2(triplets, tmp_path):
    result = CliRunner().invoke(app, ["scaffold", str(triplets), "-o", str(tmp_path / "t.py"), "--loss", "TripletLoss",
                                      "--model", "tiny", "--modifier", "MatryoshkaLoss", "--matryoshka-dims", "512,64"])
    assert result.exit_code == 2
    assert "512" in result.output and "64 dimensions" in result.output
    assert not (tmp_path / "t.py").exists()


def _run(script: Path, out: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(script), "--model", "tiny", "--max-steps", "3", "--output-dir", str(out)],
                          capture_output=True, text=True, timeout=600, env=env, cwd=script.parent)


@needs_real
@pytest.mark.slow
@pytest.mark.parametrize("family", SCRIPTS)
def test_each_familys_script_trains_3_steps(triplets, tmp_path, family):
    loss = SCRIPTS[family][0]
    extra = ("--modifier", "MatryoshkaLoss") if family == "sentence-transformer" else ()
    script = tmp_path / "train.py"
    _scaffold(triplets, script, "--family", family, "--loss", loss, "--batch-size", "8", *extra)
    run = _run(script, tmp_path / "out")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "before training: ndcg@10" in run.stdout and "after training: ndcg@10" in run.stdout
    assert (tmp_path / "out" / "final").is_dir()
