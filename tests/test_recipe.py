"""lossadvisor.recipe: one construction for explain, inspect, trial and scaffold, and it runs as printed.

The regression tests at the top go through the CLI and `lossadvisor.trial` only, so they also run (and fail) on
the code before the recipe existed: a NameError in LambdaLoss's block, num_negatives in explain but not in trial,
a literal `\\n` in the rich view, num_labels as text in `explain --json`.
"""

from __future__ import annotations

import ast
import builtins
import json
import shlex
from pathlib import Path

import pyarrow as pa
import pytest
from real_data import REAL, needs_real
from typer.testing import CliRunner

from lossadvisor.cli import app
from lossadvisor.table import load_table

TABLE = load_table()
LOSSES = sorted(TABLE.losses)
WIKIQA_TSV = REAL / "wikiqa" / "WikiQA-test.tsv"
WIKIQA_LISTS = REAL / "wikiqa" / "wikiqa_test_labeled_list.jsonl"
SQUAD = REAL / "squad" / "squad_qa_pairs.csv"
SNLI = REAL / "snli" / "snli_pair_class.parquet"


def cli_json(*args: str | Path) -> dict:
    result = CliRunner().invoke(app, [str(a) for a in args] + ["--json"])
    assert result.exit_code == 0, (result.exit_code, result.stderr[-2000:])
    return json.loads(result.stdout)


def explain(loss: str) -> dict:
    return cli_json("explain", loss)


def unbound_names(block: str) -> set[str]:
    """Names the block reads that it neither imports nor assigns (nor builtins): each one a NameError."""
    tree = ast.parse(block)
    bound = set(dir(builtins))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)} - bound


# --------------------------------------------------------------------------------------------- regressions


@pytest.mark.parametrize("loss", LOSSES)
def test_explain_construction_binds_every_name_it_uses(loss):
    """LambdaLoss printed `weighting_scheme=NDCGLoss2PPScheme()` and no imports: a NameError as written."""
    block = explain(loss)["construction"]
    assert unbound_names(block) == set(), block
    assert "\nmodel = CrossEncoder(MODEL, " in block and f"\nloss = losses.{loss}(model" in block


@pytest.mark.parametrize("loss", LOSSES)
def test_explain_json_num_labels_is_an_int(loss):
    info = explain(loss)
    assert type(info["num_labels"]) is int
    assert f"num_labels={info['num_labels']}" in info["construction"]


@needs_real
@pytest.mark.parametrize("path", [WIKIQA_TSV, SNLI], ids=["wikiqa-tsv", "snli-pair-class"])
def test_inspect_json_num_labels_is_an_int(path):
    report = cli_json("inspect", path)
    assert type(report["num_labels"]) is int
    assert all(type(rec["num_labels"]) is int for rec in report["recommendations"])


def test_rich_explain_shows_the_construction_on_separate_lines():
    """The block was printed through escape(), which showed its line break as a literal \\n."""
    result = CliRunner().invoke(app, ["explain", "LambdaLoss"])
    assert result.exit_code == 0, result.stderr
    assert "\\n" not in result.stdout
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert any(line.startswith("model = CrossEncoder(MODEL, num_labels=1") for line in lines)
    assert any(line.startswith("loss = losses.LambdaLoss(model, weighting_scheme=losses.NDCGLoss2PPScheme()") for line in lines)


@needs_real
def test_cmnrl_parameters_agree_between_explain_inspect_and_trial():
    """explain showed num_negatives=4 for CachedMultipleNegativesRankingLoss; trial left it out."""
    from lossadvisor.trial import advise_loss

    name = "CachedMultipleNegativesRankingLoss"
    explained = {p["name"]: p["value"] for p in explain(name)["params"]}
    report = cli_json("inspect", SQUAD)
    inspected = next({p["name"]: p["value"] for p in rec["params"]} for rec in report["recommendations"] if rec["loss"] == name)
    sample = pa.table({"anchor": ["who wrote it?", "when?"], "positive": ["she did.", "in 1990."]})
    # a batch above the mini-batch: the trial keeps the table's mini_batch_size as explain and inspect do
    trial = {p.name: p.code for p in advise_loss(name, sample, TABLE, batch_size=64).params}
    assert explained == inspected == trial
    assert "activation_fn" in explained and "mini_batch_size" in explained


# --------------------------------------------------------------------------------------------- the rules


def test_num_labels_is_max_id_plus_one_and_sparse_ids_are_a_fact():
    from lossadvisor.recipe import build_recipe, data_facts

    facts = data_facts(pa.table({"label": [0, 2, 2, 0]}))
    assert facts.class_ids is not None and facts.class_ids.sparse and not facts.class_ids.out_of_range
    recipe = build_recipe("CrossEntropyLoss", TABLE, facts)
    assert recipe.num_labels == 3 and recipe.num_labels_from_data
    named = build_recipe("CrossEntropyLoss", TABLE, data_facts(pa.table({"label": ["a", "b"]}), classes=("a", "b", "c")))
    assert named.num_labels == 3
    odd = data_facts(pa.table({"label": [-1, 0, 1]}))
    assert odd.class_ids is not None and odd.class_ids.out_of_range
    assert not build_recipe("CrossEntropyLoss", TABLE, odd).num_labels_from_data
    assert build_recipe("BinaryCrossEntropyLoss", TABLE, facts).num_labels == 1


def test_data_facts_read_labels_of_any_numeric_kind():
    from lossadvisor.recipe import data_facts

    assert data_facts(pa.table({"label": [True, False, False, False]})).pos_weight == 3.0
    assert data_facts(pa.table({"label": ["1", "0", "0"]})).pos_weight == 2.0
    assert data_facts(pa.table({"label": [0.2, 0.0, 1.0]})).pos_weight is None
    assert data_facts(pa.table({"y": [1, 0, 0]}), label="y").pos_weight == 2.0
    assert data_facts(pa.table({"label": [[3, None, 1], [2, 1, 0]]})).lists_sorted is True
    assert data_facts(pa.table({"label": [[0, 1]]})).lists_sorted is False
    assert data_facts(pa.table({"label": ["yes", "no"]})).class_ids is None


def test_the_recipe_sets_data_params_only_when_the_data_calls_for_them():
    from lossadvisor.recipe import DataFacts, build_recipe

    bce = build_recipe("BinaryCrossEntropyLoss", TABLE, DataFacts(pos_weight=1.5, negatives=3, positives=2))
    assert bce.loss_source() == "losses.BinaryCrossEntropyLoss(model, pos_weight=torch.tensor(1.50))"
    assert build_recipe("BinaryCrossEntropyLoss", TABLE).params == ()
    unsorted = build_recipe("PListMLELoss", TABLE, DataFacts(lists_sorted=False))
    assert "respect_input_order=False" in unsorted.loss_source()
    assert "respect_input_order" not in build_recipe("PListMLELoss", TABLE, DataFacts(lists_sorted=True)).loss_source()
    cached = build_recipe("CachedMultipleNegativesRankingLoss", TABLE, DataFacts(batch_size=8))
    assert dict((p.name, p.value) for p in cached.params)["mini_batch_size"] == 4
    assert [o.name for o in cached.options] == ["num_negatives"]


def test_scaffold_embeds_the_recipe_rules_and_evaluator_functions_from_their_source():
    import inspect

    from lossadvisor import recipe
    from lossadvisor.scaffold import render_training_script
    from lossadvisor.trial import evaluation

    bce = render_training_script("d", "dataset = None", [], "labeled-pair", "BinaryCrossEntropyLoss", TABLE)
    assert inspect.getsource(recipe.pos_weight) in bce
    listwise = render_training_script("d", "dataset = None", [], "labeled-list", "PListMLELoss", TABLE)
    assert inspect.getsource(recipe.lists_sorted) in listwise
    assert all(inspect.getsource(function) in listwise for function in evaluation.SCRIPT_FUNCTIONS)
    classes = render_training_script("d", "dataset = None", [], "pair-class", "CrossEntropyLoss", TABLE)
    assert inspect.getsource(recipe.num_labels_from_ids) in classes
    # the embedded functions run as the script runs them
    namespace: dict = {}
    exec(compile(inspect.getsource(recipe.pos_weight), "pos_weight", "exec"), namespace)
    assert namespace["pos_weight"]([0, 0, 0, 1]) == 3.0 and namespace["pos_weight"]([0.5, 1]) is None


def test_fit_hints_paste_as_printed():
    from lossadvisor.fit import fit_hint

    hint = fit_hint("pair", "LambdaLoss", TABLE, "my data.csv")
    command = hint.split("`")[1]
    argv = shlex.split(command)
    assert argv[:4] == ["lossadvisor", "convert", "my data.csv", "--to"] and "-o" in argv


# --------------------------------------------------------------------------------------------- it runs


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """Tiny saved models by num_labels, to stand in for the base model of a printed block."""
    from lossadvisor.tiny_model import save_tiny_model

    folder = tmp_path_factory.mktemp("tiny")
    texts = [f"what is the answer number {i}" for i in range(50)] + ["a passage about something else"] * 5
    cache: dict[int, Path] = {}

    def get(num_labels: int) -> Path:
        if num_labels not in cache:
            cache[num_labels] = save_tiny_model(texts, num_labels, folder / f"tiny-{num_labels}")
        return cache[num_labels]

    return get


def run_block(block: str, model_path: Path):
    """Exec the block verbatim, with the tiny model's folder in place of the base model's name."""
    from lossadvisor.recipe import BASE_MODEL

    assert json.dumps(BASE_MODEL) in block
    namespace: dict = {}
    exec(compile(block.replace(json.dumps(BASE_MODEL), json.dumps(str(model_path))), "construction", "exec"), namespace)
    return namespace["model"], namespace["loss"]


def assert_built_as_printed(model, loss, loss_name: str, num_labels: int, params: list[dict], identity: bool):
    import torch
    from sentence_transformers.cross_encoder import losses

    assert type(loss) is getattr(losses, loss_name)
    assert model.num_labels == num_labels
    assert isinstance(model.activation_fn, torch.nn.Identity) == identity or num_labels > 1
    for param in params:
        actual = getattr(loss, param["name"])
        source = param["value"]
        if source == "torch.nn.Identity()":
            assert isinstance(actual, torch.nn.Identity), param
        elif source.startswith("torch.tensor("):
            assert float(actual) == pytest.approx(float(source[len("torch.tensor("):-1])), param
        elif source.startswith("losses."):
            assert type(actual).__name__ == source[len("losses."):-2], param
        else:
            assert actual == ast.literal_eval(source), param


@pytest.mark.slow
@pytest.mark.parametrize("loss", LOSSES)
def test_every_explain_block_builds_its_loss(loss, tiny_models):
    info = explain(loss)
    model, built = run_block(info["construction"], tiny_models(info["num_labels"]))
    identity = info["activation"].startswith("Identity")
    assert_built_as_printed(model, built, loss, info["num_labels"], info["params"], identity)


@pytest.mark.slow
@needs_real
@pytest.mark.parametrize(
    "path, loss, param",
    [(WIKIQA_TSV, "BinaryCrossEntropyLoss", "pos_weight"), (WIKIQA_LISTS, "LambdaLoss", "weighting_scheme"),
     (SNLI, "CrossEntropyLoss", None)],
    ids=["wikiqa-tsv", "wikiqa-labeled-list", "snli-pair-class"],
)
def test_inspect_top_block_builds_its_loss(path, loss, param, tiny_models):
    report = cli_json("inspect", path)
    top = report["recommendations"][0]
    assert top["loss"] == loss
    assert param is None or param in {p["name"] for p in top["params"]}
    model, built = run_block(top["construction"], tiny_models(top["num_labels"]))
    assert_built_as_printed(model, built, loss, top["num_labels"], top["params"], top["activation"] == "Identity")
