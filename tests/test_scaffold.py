"""lossadvisor.scaffold: the rendered training script, and writing it safely."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from real_data import REAL, needs_real

from lossadvisor.errors import FitError
from lossadvisor.scaffold import render_training_script, write_new_file
from lossadvisor.table import load_table

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def table():
    return load_table()


def _cases():
    table = load_table()
    return [(row.format, loss) for row in table.rows for loss in row.losses]


@pytest.mark.parametrize("format_name, loss_name", _cases())
def test_every_row_renders_a_valid_script(table, format_name, loss_name):
    script = render_training_script(
        "data.jsonl",
        'dataset = load_dataset("json", data_files="data.jsonl", split="train")',
        ["dataset = dataset.select(range(100))"],
        format_name,
        loss_name,
        table,
        model="cross-encoder/ms-marco-MiniLM-L6-v2",
    )
    tree = ast.parse(script)
    functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert {"load_data", "build_model", "build_loss", "build_evaluator", "main"} <= functions
    assert 'if __name__ == "__main__":\n    main()\n' in script
    assert f"losses.{loss_name}(" in script
    assert 'MODEL = "cross-encoder/ms-marco-MiniLM-L6-v2"' in script
    entry = table.losses[loss_name]
    identity = entry.activation == "identity"
    assert ("activation_fn=torch.nn.Identity())" in script) == identity
    assert f"identity_activation={identity}" in script
    assert ('batch_sampler="no_duplicates"' in script) == loss_name.endswith("MultipleNegativesRankingLoss")
    if entry.num_labels == "num_classes":
        assert 'num_labels = num_labels_from_ids(train_dataset["label"])' in script
    else:
        assert "num_labels = 1\n" in script


def test_script_parts_follow_the_advice(table):
    bce = render_training_script("d", "dataset = None", [], "labeled-pair", "BinaryCrossEntropyLoss", table)
    assert 'weight = pos_weight(train_dataset["label"])' in bce and 'kwargs["pos_weight"] = torch.tensor(weight)' in bce
    assert "CrossEncoderClassificationEvaluator(pairs" in bce
    lam = render_training_script("d", "dataset = None", [], "labeled-list", "LambdaLoss", table)
    assert "weighting_scheme=losses.NDCGLoss2PPScheme()," in lam and "mini_batch_size=16," in lam
    assert "CrossEncoderRerankingEvaluator(samples" in lam
    cached = render_training_script("d", "dataset = None", [], "pair", "CachedMultipleNegativesRankingLoss", table, batch_size=64)
    assert "mini_batch_size=32," in cached
    mse = render_training_script("d", "dataset = None", [], "pair-score", "MSELoss", table)
    assert "CrossEncoderCorrelationEvaluator(pairs" in mse and "return losses.MSELoss(model)" in mse
    extra = render_training_script(
        "d", "dataset = None", [], "pair", "MultipleNegativesRankingLoss", table, extra_imports=["import math"]
    )
    assert "\nimport math\n" in extra
    ast.parse(extra)


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call) and getattr(node.func, "id", None) == name]


def test_the_script_passes_its_evaluator_and_held_out_rows_to_the_trainer(table):
    """Without evaluator= and eval_dataset= the trainer evaluates nothing during training (eval_strategy would fail
    or be silent): the script must hand the trainer the evaluator it built on the held-out rows."""
    for fmt, loss in (("labeled-list", "LambdaLoss"), ("pair-score", "MSELoss"), ("pair-class", "CrossEntropyLoss")):
        tree = ast.parse(render_training_script("d", "dataset = None", [], fmt, loss, table))
        [trainer] = _calls(tree, "CrossEncoderTrainer")
        keywords = {k.arg: k.value for k in trainer.keywords}
        assert isinstance(keywords.get("evaluator"), ast.Name) and keywords["evaluator"].id == "evaluator"
        assert isinstance(keywords.get("eval_dataset"), ast.Name) and keywords["eval_dataset"].id == "eval_dataset"
        [built] = [n for n in ast.walk(tree) if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", None) == "evaluator"]
        assert _calls(built.value, "build_evaluator")[0].args[0].id == "eval_dataset"


def test_the_default_base_is_real_and_the_script_needs_no_lossadvisor(table):
    from lossadvisor.scaffold import default_base
    from lossadvisor.tiny_model import HUB_BASE, cached_base, installed_base

    script = render_training_script("d", "dataset = None", [], "labeled-list", "LambdaLoss", table)
    assert default_base() != "tiny" and default_base() in (installed_base(), cached_base(), HUB_BASE)
    assert f"MODEL = {json.dumps(default_base())}" in script
    tree = ast.parse(script)
    # lossadvisor only where the user asks for the tiny smoke-run model
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("lossadvisor")]
    assert [n.module for n in imports] == ["lossadvisor.tiny_model"]
    assert "split_data(load_data(), args.eval_fraction, args.seed)" in script
    assert 'EVAL_SPLITS = ("validation", "dev", "eval", "test")' in script
    assert "def held_out_by_anchor(" in script and "def headline_metric(" in script


def test_the_script_holds_out_whole_anchors_and_reports_trial_metric():
    from lossadvisor.trial.evaluation import headline_metric, held_out_by_anchor

    anchors = [f"q{i // 3}" for i in range(60)]
    train, held = held_out_by_anchor(anchors, 0.2, 12)
    assert sorted(train + held) == list(range(60)) and 10 <= len(held) <= 14
    assert not {anchors[i] for i in train} & {anchors[i] for i in held}
    assert held_out_by_anchor(anchors, 0.2, 12) == (train, held)
    assert held_out_by_anchor(["same"] * 5, 0.2, 0) == (list(range(5)), [])  # one anchor: nothing can be held out
    assert headline_metric({"eval_map": 0.1, "eval_ndcg@10": 0.7}) == ("ndcg@10", 0.7)
    assert headline_metric({"eval_pearson": 0.1, "eval_spearman": 0.6}) == ("spearman", 0.6)
    assert headline_metric({"eval_f1_macro": 0.5, "eval_f1_micro": 0.6}) == ("accuracy", 0.6)


def test_a_misfit_is_refused(table):
    with pytest.raises(FitError, match="LambdaLoss does not train on pair data"):
        render_training_script("d", "dataset = None", [], "pair", "LambdaLoss", table)


def test_write_new_file_refuses_to_overwrite(tmp_path):
    target = tmp_path / "train.py"
    write_new_file(target, "print('one')\n")
    assert target.read_text() == "print('one')\n"
    assert os.access(target, os.X_OK)
    with pytest.raises(FitError, match="already exists") as caught:
        write_new_file(target, "print('two')\n")
    assert "--overwrite" in caught.value.hint
    assert target.read_text() == "print('one')\n"
    write_new_file(target, "print('two')\n", overwrite=True)
    assert target.read_text() == "print('two')\n"
    # atomic: no temporary file is left next to it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.py"]
    with pytest.raises(FitError, match="does not exist"):
        write_new_file(tmp_path / "missing" / "train.py", "x")
    notes = write_new_file(tmp_path / "notes.txt", "x")
    assert not os.access(notes, os.X_OK)


def test_write_new_file_leaves_nothing_on_failure(tmp_path, monkeypatch):
    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    monkeypatch.setattr(os, "link", fail)  # without --overwrite the file is published by a hard link (no clobber)
    with pytest.raises(FitError, match="disk full"):  # one line, exit 2 (lossadvisor.outputs)
        write_new_file(tmp_path / "train.py", "x")
    assert list(tmp_path.iterdir()) == []


def _run(command: list[str], cwd: Path, timeout: int = 400) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    # Never reach for the network: the data is local and the model is the tiny one.
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env["HF_DATASETS_CACHE"] = str(cwd / "datasets-cache")
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _script(table, kind: str) -> str:
    if kind == "labeled-pair":
        return render_training_script(
            "mrpc/mrpc_train_hf",
            f'dataset = load_from_disk("{REAL / "mrpc/mrpc_train_hf"}")',
            ['dataset = dataset.select_columns(["sentence1", "sentence2", "label"])', "dataset = dataset.select(range(80))"],
            "labeled-pair",
            "BinaryCrossEntropyLoss",
            table,
            model="tiny",
            batch_size=8,
        )
    return render_training_script(
        "wikiqa/wikiqa_test_labeled_list.jsonl",
        f'dataset = load_dataset("json", data_files="{REAL / "wikiqa/wikiqa_test_labeled_list.jsonl"}", split="train")',
        ["dataset = dataset.filter(lambda row: len(row['docs']) <= 8).select(range(40))"],
        "labeled-list",
        "LambdaLoss",
        table,
        model="tiny",
        batch_size=4,
    )


@pytest.mark.slow
@needs_real
@pytest.mark.parametrize("kind", ["labeled-pair", "labeled-list"])
def test_the_script_trains_with_python(table, tmp_path, kind):
    script = write_new_file(tmp_path / "train.py", _script(table, kind))
    done = _run([sys.executable, str(script), "--model", "tiny", "--max-steps", "2", "--output-dir", "out"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "before training:" in done.stdout and "after training:" in done.stdout
    assert (tmp_path / "out" / "final" / "config.json").is_file()


@pytest.mark.slow
@needs_real
def test_the_script_trains_under_accelerate_launch(table, tmp_path):
    script = write_new_file(tmp_path / "train.py", _script(table, "labeled-pair"))
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent))
    assert accelerate, "accelerate is a dependency of lossadvisor, but its command is not installed"  # was a skip
    launch = [
        accelerate,
        "launch",
        "--cpu",
        "--num_processes",
        "1",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
    ]
    done = _run([*launch, str(script), "--model", "tiny", "--max-steps", "2", "--output-dir", "out"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "out" / "final" / "config.json").is_file()
