"""lossadvisor.scaffold, line by line (issue 17, "Tests that bite"): the exact text of the training script's parts.

test_scaffold.py checks that every row renders a script that parses and names the right loss; these tests pin what a
user reads and runs in it: the argparse defaults, the loading block, build_loss / build_evaluator / the num_labels
lines, the helpers copied in and their layout, the docstring, and the rules for the base and the written file.
All in-process (render_* and write_new_file imported), no model and no data loaded.
"""

from __future__ import annotations

import ast
import importlib.metadata
import io

import pytest

from lossadvisor import scaffold
from lossadvisor.errors import FitError
from lossadvisor.scaffold import render_training_script, write_new_file
from lossadvisor.table import load_table
from lossadvisor.tiny_model import HUB_BASE

LOAD = 'dataset = load_dataset("json", data_files="d.jsonl", split="train")'


@pytest.fixture(scope="module")
def table():
    return load_table()


def _fake_versions(monkeypatch, versions: dict[str, str]) -> None:
    """importlib.metadata.version answering from `versions` (names normalised as importlib does), the real one else."""
    real = importlib.metadata.version

    def version(name: str) -> str:
        key = name.lower().replace("_", "-")
        if key in versions:
            return versions[key]
        return real(name)

    monkeypatch.setattr(importlib.metadata, "version", version)


@pytest.fixture
def transformers_5(monkeypatch):
    """The installed transformers reads as 5.x, whatever is installed: the script's warmup line is then fixed."""
    _fake_versions(monkeypatch, {"transformers": "5.1.0"})


def _function(script: str, name: str) -> str:
    tree = ast.parse(script)
    [node] = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name]
    return ast.get_source_segment(script, node)


def _function_names(script: str) -> list[str]:
    return [n.name for n in ast.parse(script).body if isinstance(n, ast.FunctionDef)]


def _defaults(script: str) -> dict[str, str]:
    """--flag: the source of its argparse default, read from parse_args()."""
    tree = ast.parse(_function(script, "parse_args"))
    out = {}
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and getattr(call.func, "attr", None) == "add_argument":
            default = next(k.value for k in call.keywords if k.arg == "default")
            out[call.args[0].value] = ast.unparse(default)
    return out


# --------------------------------------------------------------------------------------------- base and warmup


@pytest.mark.parametrize("installed, cached, expected", [
    (None, None, HUB_BASE),
    ("/models/installed", None, "/models/installed"),
    (None, "/cache/minilm", "/cache/minilm"),
    ("/models/installed", "/cache/minilm", "/models/installed"),
])
def test_default_base_prefers_installed_then_cached_then_the_hub(monkeypatch, installed, cached, expected):
    import lossadvisor.tiny_model as tiny_model

    monkeypatch.setattr(tiny_model, "installed_base", lambda: installed)
    monkeypatch.setattr(tiny_model, "cached_base", lambda: cached)
    assert scaffold.default_base() == expected


@pytest.mark.parametrize("installed, line", [
    ("5.0.0", "warmup_steps=0.1,"),
    ("6.2.1", "warmup_steps=0.1,"),
    ("4.57.1", "warmup_ratio=0.1,"),
    ("not a version", "warmup_ratio=0.1,"),
])
def test_warmup_follows_the_installed_transformers_major(monkeypatch, installed, line):
    _fake_versions(monkeypatch, {"transformers": installed})
    assert scaffold._warmup() == line


def test_installed_major_of_a_missing_package_is_zero(monkeypatch):
    _fake_versions(monkeypatch, {"transformers": "5.3.0"})
    assert scaffold._installed_major("transformers") == 5
    assert scaffold._installed_major("lossadvisor-no-such-package") == 0


# --------------------------------------------------------------------------------------------- the settings


@pytest.mark.parametrize("fmt, loss, settings, batch, max_length", [
    ("labeled-list", "ListMLELoss", {"model": "m/x"}, "8", "256"),
    ("labeled-list", "ListMLELoss", {"model": "tiny"}, "8", "128"),
    ("pair", "MultipleNegativesRankingLoss", {"model": "tiny"}, "16", "128"),
    ("pair", "MultipleNegativesRankingLoss", {"model": "m/x"}, "32", "256"),
    ("pair", "MultipleNegativesRankingLoss", {"model": "tiny", "batch_size": 64, "max_length": 64}, "64", "64"),
])
def test_batch_size_and_max_length_defaults(table, fmt, loss, settings, batch, max_length):
    script = render_training_script("d", "dataset = None", [], fmt, loss, table, **settings)
    defaults = _defaults(script)
    assert (defaults["--batch-size"], defaults["--max-length"]) == (batch, max_length)


def test_every_setting_reaches_its_argparse_default(table, transformers_5):
    script = render_training_script(
        "d", "dataset = None", [], "labeled-pair", "BinaryCrossEntropyLoss", table,
        model="m/x", epochs=3, lr=3e-5, eval_fraction=0.25, seed=7,
    )
    assert _defaults(script) == {
        "--model": "MODEL", "--output-dir": "OUTPUT_DIR", "--epochs": "3", "--max-steps": "-1", "--batch-size": "32",
        "--lr": "3e-05", "--max-length": "256", "--eval-fraction": "0.25", "--seed": "7",
    }
    lines = script.splitlines()
    assert 'MODEL = "m/x"' in lines
    assert 'OUTPUT_DIR = "output/BinaryCrossEntropyLoss-labeled-pair"' in lines
    assert '    parser.add_argument("--lr", type=float, default=3e-05, help="default: 2e-05, or 0.0005 for the tiny model")' \
        in lines
    assert "        warmup_steps=0.1," in lines
    named = render_training_script("d", "dataset = None", [], "labeled-pair", "BinaryCrossEntropyLoss", table,
                                   model="m/x", output_dir="runs/bce")
    assert 'OUTPUT_DIR = "runs/bce"' in named.splitlines()
    assert _defaults(named)["--lr"] == "None"


# --------------------------------------------------------------------------------------------- header and loading


def test_docstring_imports_and_load_block(table):
    script = render_training_script(
        'runs\\a"""b.jsonl', LOAD + "\n", ["dataset = dataset.select(range(5))  \n"],
        "labeled-pair", "BinaryCrossEntropyLoss", table, model="m/x",
        extra_imports=["import math", "import json", "import math"],
    )
    tree = ast.parse(script)
    # A backslash and triple quotes in the path stay text in the docstring.
    assert ast.get_docstring(tree).splitlines()[0] == \
        'Train a CrossEncoder reranker with BinaryCrossEntropyLoss on runs\\a"""b.jsonl (labeled-pair data).'
    # The caller's imports: sorted, once each, a group of their own before MODEL.
    assert ("from sentence_transformers.cross_encoder.evaluation import CrossEncoderClassificationEvaluator\n"
            "\nimport json\nimport math\n\nMODEL = ") in script
    assert _function(script, "load_data") == (
        "def load_data() -> Dataset | DatasetDict:\n"
        f"    {LOAD}\n"
        "    dataset = dataset.select(range(5))\n"
        "    return dataset"
    )


# --------------------------------------------------------------------------------------------- model, loss, evaluator


def test_build_model_for_a_sigmoid_loss(table):
    script = render_training_script("d", "dataset = None", [], "labeled-pair", "BinaryCrossEntropyLoss", table, model="m/x")
    body = _function(script, "build_model").splitlines()
    assert "            texts_of(dataset), num_labels=num_labels, identity_activation=False, max_length=max_length, " \
           "seed=seed" in body
    assert body[-2:] == [
        "    # Default activation: Sigmoid for 1 output, none for several.",
        "    return CrossEncoder(name, num_labels=num_labels, max_length=max_length)",
    ]


def test_build_model_for_a_raw_score_loss(table):
    script = render_training_script("d", "dataset = None", [], "pair-score", "MSELoss", table, model="m/x")
    body = _function(script, "build_model").splitlines()
    assert "            texts_of(dataset), num_labels=num_labels, identity_activation=True, max_length=max_length, " \
           "seed=seed" in body
    assert body[-2:] == [
        "    # Raw scores: a Sigmoid on top would flatten the scores this loss ranks or regresses.",
        "    return CrossEncoder(name, num_labels=num_labels, max_length=max_length, activation_fn=torch.nn.Identity())",
    ]


def test_build_loss_applies_the_data_rules_at_run_time(table):
    bce = render_training_script("d", "dataset = None", [], "labeled-pair", "BinaryCrossEntropyLoss", table, model="m/x")
    assert _function(bce, "build_loss").splitlines()[1:] == [
        "    kwargs = {}",
        '    weight = pos_weight(train_dataset["label"])',
        "    if weight is not None:",
        "        # balances rare positives (set from the label ratio)",
        '        kwargs["pos_weight"] = torch.tensor(weight)',
        "    return losses.BinaryCrossEntropyLoss(",
        "        model,",
        "        **kwargs,",
        "    )",
    ]
    plist = render_training_script("d", "dataset = None", [], "labeled-list", "PListMLELoss", table, model="m/x")
    assert _function(plist, "build_loss").splitlines()[1:] == [
        "    kwargs = {}",
        '    if not lists_sorted(train_dataset["label"]):',
        "        # your lists are not sorted by relevance: the loss must sort the documents itself.",
        '        kwargs["respect_input_order"] = False',
        "    return losses.PListMLELoss(",
        "        model,",
        "        # bounds memory for long lists",
        "        mini_batch_size=16,",
        "        **kwargs,",
        "    )",
    ]
    mse = render_training_script("d", "dataset = None", [], "pair-score", "MSELoss", table, model="m/x")
    assert _function(mse, "build_loss").splitlines()[1:] == ["    return losses.MSELoss(model)"]


@pytest.mark.parametrize("model, mini", [("m/x", "16"), ("tiny", "8")])
def test_cached_loss_mini_batch_is_half_the_script_batch(table, model, mini):
    script = render_training_script("d", "dataset = None", [], "pair", "CachedMultipleNegativesRankingLoss", table,
                                    model=model)
    batch = _defaults(script)["--batch-size"]
    assert _function(script, "build_loss").splitlines()[-3:] == [
        "        # the memory knob; the batch size can then grow freely "
        f"(half the batch of {batch}, so that gradient caching is used)",
        f"        mini_batch_size={mini},",
        "    )",
    ]


def test_in_batch_losses_get_the_no_duplicates_sampler(table):
    mnrl = render_training_script("d", "dataset = None", [], "pair", "MultipleNegativesRankingLoss", table, model="m/x")
    assert ("        bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),\n"
            "        # In-batch negatives: a duplicate text in a batch would be a false negative.\n"
            '        batch_sampler="no_duplicates",\n'
            '        eval_strategy="steps",\n') in mnrl
    bce = render_training_script("d", "dataset = None", [], "labeled-pair", "BinaryCrossEntropyLoss", table, model="m/x")
    assert ("        bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),\n"
            '        eval_strategy="steps",\n') in bce


EVALUATOR_HEAD = [
    '    inputs = [name for name in eval_dataset.column_names if name != "label"]',
    "    columns = [list(eval_dataset[name]) for name in inputs]",
    '    labels = list(eval_dataset["label"]) if "label" in eval_dataset.column_names else []',
]


@pytest.mark.parametrize("fmt, loss, tail", [
    ("labeled-pair", "BinaryCrossEntropyLoss", [
        "    pairs = list(zip(columns[0], columns[1]))",
        '    return CrossEncoderClassificationEvaluator(pairs, labels, name="eval")']),
    ("pair-score", "MSELoss", [
        "    pairs = list(zip(columns[0], columns[1]))",
        '    return CrossEncoderCorrelationEvaluator(pairs, labels, name="eval")']),
    ("labeled-list", "ListMLELoss", [
        "    samples = reranking_samples('labeled-list', columns, labels)",
        '    return CrossEncoderRerankingEvaluator(samples, at_k=10, name="eval")']),
])
def test_build_evaluator(table, fmt, loss, tail):
    script = render_training_script("d", "dataset = None", [], fmt, loss, table, model="m/x")
    assert _function(script, "build_evaluator").splitlines()[1:] == EVALUATOR_HEAD + tail


# --------------------------------------------------------------------------------------------- helpers and main


@pytest.mark.parametrize("fmt, loss, helpers", [
    ("labeled-pair", "BinaryCrossEntropyLoss", ["pos_weight"]),
    ("labeled-list", "ListMLELoss", ["lists_sorted", "reranking_samples", "candidate_relevance"]),
    ("labeled-list", "LambdaLoss", ["reranking_samples", "candidate_relevance"]),
    ("pair-class", "CrossEntropyLoss", ["num_labels_from_ids"]),
    ("pair-score", "MSELoss", []),
])
def test_the_helpers_copied_in(table, fmt, loss, helpers):
    script = render_training_script("d", "dataset = None", [], fmt, loss, table, model="m/x")
    assert _function_names(script) == [
        "parse_args", "load_data", "split_data", "texts_of", "build_model", "build_loss", "build_evaluator",
        *helpers, "held_out_by_anchor", "headline_metric", "main",
    ]
    first = helpers[0] if helpers else "held_out_by_anchor"
    assert ("\n\n# The rules lossadvisor applies, copied from its source so that this script needs no lossadvisor to "
            f"run.\n\n\ndef {first}(") in script
    # Two blank lines between top-level functions (PEP 8), never three.
    assert "\n\n\n\n" not in script
    assert "\n\n\ndef main() -> None:\n" in script


def test_num_labels_in_main(table):
    classes = render_training_script("d", "dataset = None", [], "pair-class", "CrossEntropyLoss", table, model="m/x")
    assert _function(classes, "main").splitlines()[1:5] == [
        "    args = parse_args()",
        "    train_dataset, eval_dataset = split_data(load_data(), args.eval_fraction, args.seed)",
        "    # One output per class: class ids run from 0 to N-1.",
        '    num_labels = num_labels_from_ids(train_dataset["label"])',
    ]
    one = render_training_script("d", "dataset = None", [], "labeled-pair", "BinaryCrossEntropyLoss", table, model="m/x")
    assert _function(one, "main").splitlines()[2:5] == [
        "    train_dataset, eval_dataset = split_data(load_data(), args.eval_fraction, args.seed)",
        "    num_labels = 1",
        "",
    ]


# --------------------------------------------------------------------------------------------- the base the script names


@pytest.mark.parametrize("model", ["", "auto"])
def test_no_model_or_auto_takes_the_default_base(table, monkeypatch, model):
    monkeypatch.setattr(scaffold, "default_base", lambda: "base/default")
    monkeypatch.setattr(scaffold, "installed_base", lambda: None)
    script = render_training_script("d", "dataset = None", [], "labeled-pair", "BinaryCrossEntropyLoss", table,
                                    model=model)
    assert 'MODEL = "base/default"' in script.splitlines()


@pytest.mark.parametrize("installed, expected", [
    (None, "sentence-transformers/all-MiniLM-L6-v2"),
    ("/models/installed", "/models/installed"),
])
def test_a_family_script_takes_the_installed_base_or_the_family_base(table, monkeypatch, transformers_5, installed,
                                                                    expected):
    monkeypatch.setattr(scaffold, "default_base", lambda: "base/default")
    monkeypatch.setattr(scaffold, "installed_base", lambda: installed)
    family = table.for_family("sentence-transformer")
    script = render_training_script("d.jsonl", "dataset = None", [], "pair", "MultipleNegativesRankingLoss", family)
    lines = script.splitlines()
    assert ast.get_docstring(ast.parse(script)).splitlines()[0] == \
        "Train a SentenceTransformer (embedder) with MultipleNegativesRankingLoss on d.jsonl (pair data)."
    assert f'MODEL = "{expected}"' in lines
    assert 'OUTPUT_DIR = "output/MultipleNegativesRankingLoss-pair"' in lines
    assert _defaults(script)["--batch-size"] == "32"
    assert "        warmup_steps=0.1," in lines


# --------------------------------------------------------------------------------------------- writing the script


def test_write_new_file_refuses_a_folder_with_a_script_name_hint(tmp_path):
    (tmp_path / "train.py").mkdir()
    with pytest.raises(FitError) as caught:
        write_new_file(tmp_path / "train.py", "print(1)\n", overwrite=True)
    assert (caught.value.message, caught.value.hint) == (
        f"-o {tmp_path / 'train.py'} is a folder; refusing to replace it", "Give a new file name, e.g. train.py.")


def test_write_new_file_writes_utf8_whatever_the_locale(tmp_path, monkeypatch):
    """A script is read back as UTF-8 by Python: on a latin-1 (or cp1252) locale it must still be written as UTF-8."""
    real = io.text_encoding
    monkeypatch.setattr(io, "text_encoding", lambda encoding, stacklevel=2: "latin-1" if encoding is None else
                        real(encoding, stacklevel))
    path = write_new_file(tmp_path / "train.py", '"""Train on café.jsonl."""\n')
    assert path.read_bytes() == '"""Train on café.jsonl."""\n'.encode()
