"""`lossadvisor scaffold`: a complete, readable training script for the advised loss.

The script is plain sentence-transformers code: the caller's dataset loading and fixes, the CrossEncoder with
the num_labels and activation the loss needs, the loss with its advised parameters (the recipe's, with the data
rules applied to the data when the script runs, so they stay right after the data changes), an evaluator on a
held-out split, training and saving. The data rules and the evaluator's sample builders are copied into the
script from lossadvisor's own functions (inspect.getsource), so the script and `lossadvisor trial` agree.
It runs as `python train.py` and under `accelerate launch train.py`, from a real pretrained base by default;
`--model tiny` swaps in the tiny random model from lossadvisor for a smoke run without a download. It evaluates
on the dataset's own eval/test split when it has one, else on rows held out by anchor, with trial's metric.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from string import Template
from textwrap import indent

from lossadvisor import recipe as recipes
from lossadvisor.errors import FitError, printable
from lossadvisor.fit import fit_hint
from lossadvisor.recipe import IN_BATCH_LOSSES, MODEL_LR, TINY_LR, Recipe, build_recipe
from lossadvisor.scaffold_template import TEMPLATE as _TEMPLATE
from lossadvisor.table import DEFAULT_FAMILY, LossTable
from lossadvisor.tiny_model import installed_base
from lossadvisor.trial import evaluation


@dataclass(frozen=True)
class ScriptSpec:
    """What a training script is written for.

    `load_code` (and then each line of `fixes_code`) must leave a `datasets.Dataset` (or a DatasetDict with a
    "train" split) named `dataset`, in canonical column order: the inputs, then `label` when the format has one.
    `extra_imports` are import lines that code needs beyond `datasets`' load_dataset/load_from_disk.
    """

    dataset_spec: str
    load_code: str
    format_name: str
    loss_name: str
    fixes_code: Sequence[str] = ()
    # A real pretrained base (see default_base); "tiny" is the random smoke-run model and needs lossadvisor.
    model: str = ""
    output_dir: str | None = None
    batch_size: int | None = None
    epochs: int = 1
    lr: float | None = None
    max_length: int | None = None
    eval_fraction: float = 0.1
    seed: int = 12
    extra_imports: Sequence[str] = ()
    # A loss modifier of the family (MatryoshkaLoss, ...) and the Matryoshka dims asked for (() = the table's).
    modifier: str | None = None
    matryoshka_dims: Sequence[int] = ()


def default_base() -> str:
    """The base a script trains from when none is named: the installed or cached real MiniLM, else a hub id
    (downloaded when the script runs) — never the random tiny model."""
    from lossadvisor.tiny_model import HUB_BASE, cached_base, installed_base

    return installed_base() or cached_base() or HUB_BASE


def _warmup() -> str:
    """transformers 5 takes a fraction as warmup_steps; 4 needs warmup_ratio."""
    return "warmup_steps=0.1," if _installed_major("transformers") >= 5 else "warmup_ratio=0.1,"


def _installed_major(package: str) -> int:
    from importlib.metadata import PackageNotFoundError, version

    from packaging.version import InvalidVersion, Version

    try:
        return Version(version(package)).major
    except (PackageNotFoundError, InvalidVersion):
        return 0


# --------------------------------------------------------------------------------------------- the loss


def _loss_lines(recipe: Recipe) -> list[str]:
    """Body of build_loss(model, train_dataset): the recipe's arguments, and its data rules applied at run time."""
    lines: list[str] = []
    data_rules = {option.name: option for option in recipe.options if option.name in recipes.DATA_PARAMS}
    if data_rules:
        lines.append("kwargs = {}")
    if "pos_weight" in data_rules:
        lines += [
            'weight = pos_weight(train_dataset["label"])',
            "if weight is not None:",
            f"    # {data_rules['pos_weight'].why}",
            '    kwargs["pos_weight"] = torch.tensor(weight)',
        ]
    if "respect_input_order" in data_rules:
        lines += [
            'if not lists_sorted(train_dataset["label"]):',
            f"    # {recipes.UNSORTED_WHY}: the loss must sort the documents itself.",
            '    kwargs["respect_input_order"] = False',
        ]
    arguments: list[str] = []
    for param in recipe.params:
        arguments += [f"# {param.why}", f"{param.name}={param.code},"]
    if data_rules:
        arguments.append("**kwargs,")
    if not arguments:
        return lines + [f"return losses.{recipe.loss}(model)"]
    return lines + [f"return losses.{recipe.loss}(", "    model,", *[f"    {line}" for line in arguments], ")"]


def _helpers(recipe: Recipe, evaluator_kind: str) -> str:
    """The lossadvisor functions the script calls, copied from lossadvisor's own source."""
    functions = []
    if recipe.num_labels_rule == "num_classes":
        functions.append(recipes.num_labels_from_ids)
    names = {option.name for option in recipe.options}
    if "pos_weight" in names:
        functions.append(recipes.pos_weight)
    if "respect_input_order" in names:
        functions.append(recipes.lists_sorted)
    if evaluator_kind == "reranking":
        functions += list(evaluation.RERANKING_FUNCTIONS)
    functions += list(evaluation.SCRIPT_FUNCTIONS)
    sources = "\n\n".join(inspect.getsource(function).rstrip() + "\n" for function in functions)
    return "# The rules lossadvisor applies, copied from its source so that this script needs no lossadvisor to run.\n\n\n" + sources + "\n\n"


def _num_labels_lines(recipe: Recipe) -> list[str]:
    if recipe.num_labels_rule == "num_classes":
        return ["# One output per class: class ids run from 0 to N-1.", 'num_labels = num_labels_from_ids(train_dataset["label"])']
    return [f"num_labels = {recipe.num_labels}"]


# --------------------------------------------------------------------------------------------- the evaluator

_EVALUATOR_CLASSES = {
    "classification": "CrossEncoderClassificationEvaluator",
    "correlation": "CrossEncoderCorrelationEvaluator",
    "reranking": "CrossEncoderRerankingEvaluator",
}


def _evaluator_lines(kind: str, format_name: str) -> list[str]:
    lines = [
        'inputs = [name for name in eval_dataset.column_names if name != "label"]',
        "columns = [list(eval_dataset[name]) for name in inputs]",
        'labels = list(eval_dataset["label"]) if "label" in eval_dataset.column_names else []',
    ]
    if kind == "reranking":
        return lines + [
            f"samples = reranking_samples({format_name!r}, columns, labels)",
            'return CrossEncoderRerankingEvaluator(samples, at_k=10, name="eval")',
        ]
    return lines + [
        "pairs = list(zip(columns[0], columns[1]))",
        f'return {_EVALUATOR_CLASSES[kind]}(pairs, labels, name="eval")',
    ]


# --------------------------------------------------------------------------------------------- the script


def render_training_script(
    dataset_spec: str,
    load_code: str,
    fixes_code: Sequence[str],
    format_name: str,
    loss_name: str,
    loss_table: LossTable,
    model: str = "",
    **settings,
) -> str:
    """A complete training script as text (the arguments of `ScriptSpec`, positionally as before)."""
    spec = ScriptSpec(dataset_spec, load_code, format_name, loss_name, tuple(fixes_code), model, **settings)
    return render_script(spec, loss_table)


def render_script(spec: ScriptSpec, loss_table: LossTable) -> str:
    """A complete training script as text, from the recipe of the loss."""
    family = loss_table.family_name != DEFAULT_FAMILY
    if spec.model in ("", "auto"):
        spec = replace(spec, model=default_base() if not family else installed_base() or loss_table.family.base_model)
    fmt = loss_table.resolve_format(spec.format_name)
    loss = loss_table.resolve_loss(spec.loss_name)
    if fmt not in loss_table.formats_for_loss(loss):
        # The shortest declared conversion, or the losses that fit when none leads there (never a dead end).
        raise FitError(f"{loss} does not train on {fmt} data", fit_hint(fmt, loss, loss_table, spec.dataset_spec, force=False))
    batch_size = spec.batch_size or (8 if fmt == "labeled-list" else 16 if spec.model == "tiny" else 32)
    recipe = build_recipe(loss, loss_table, recipes.DataFacts(batch_size=batch_size))
    if family:
        from lossadvisor.scaffold_family import render_family_script

        return render_family_script(spec, loss_table, recipe, fmt, batch_size, _warmup())
    kind = evaluation.evaluator_kind(fmt)
    return Template(_TEMPLATE).substitute(
        _header_values(spec, loss, fmt, kind),
        **_setting_values(spec, fmt, batch_size),
        **_body_values(recipe, kind, fmt),
    )


def _header_values(spec: ScriptSpec, loss: str, fmt: str, kind: str) -> dict[str, str]:
    # The path goes into the docstring: quotes, backslashes and line breaks in it must stay text, never code.
    doc_spec = printable(spec.dataset_spec.replace("\\", "\\\\").replace('"', '\\"'))
    # The caller's imports get their own group; the blank line before MODEL stays either way.
    imports = "".join(f"\n{line}" for line in sorted(set(spec.extra_imports))) + "\n"
    load_block = "\n".join([spec.load_code.rstrip(), *[line.rstrip() for line in spec.fixes_code]])
    return {"loss": loss, "doc_spec": doc_spec, "fmt": fmt, "evaluator_class": _EVALUATOR_CLASSES[kind],
            "imports": imports, "load_block": indent(load_block, "    ")}


def _setting_values(spec: ScriptSpec, fmt: str, batch_size: int) -> dict[str, str]:
    max_length = spec.max_length or (128 if spec.model == "tiny" else 256)
    return {
        "model": json.dumps(spec.model),
        "output_dir": json.dumps(spec.output_dir or f"output/{spec.loss_name}-{fmt}"),
        "epochs": str(spec.epochs),
        "batch_size": str(batch_size),
        "lr": repr(spec.lr),
        "model_lr": f"{MODEL_LR:g}",
        "tiny_lr": f"{TINY_LR:g}",
        "max_length": str(max_length),
        "eval_fraction": str(spec.eval_fraction),
        "seed": str(spec.seed),
        "warmup": _warmup(),
    }


def _body_values(recipe: Recipe, kind: str, fmt: str) -> dict[str, str]:
    identity = recipe.identity_activation
    sampler = (
        "        # In-batch negatives: a duplicate text in a batch would be a false negative.\n"
        '        batch_sampler="no_duplicates",\n'
        if recipe.loss in IN_BATCH_LOSSES
        else ""
    )
    return {
        "identity": str(identity),
        "activation_why": (
            "# Raw scores: a Sigmoid on top would flatten the scores this loss ranks or regresses."
            if identity
            else "# Default activation: Sigmoid for 1 output, none for several."
        ),
        "model_source": recipe.model_source("name", "max_length", num_labels="num_labels"),
        "loss_body": indent("\n".join(_loss_lines(recipe)), "    "),
        "evaluator_body": indent("\n".join(_evaluator_lines(kind, fmt)), "    "),
        "num_labels_body": indent("\n".join(_num_labels_lines(recipe)), "    "),
        "helpers": _helpers(recipe, kind),
        "sampler": sampler,
    }


def write_new_file(path: str | Path, text: str, overwrite: bool = False, inputs: Sequence[str | Path | None] = ()) -> Path:
    """Write `text` to `path` atomically, by lossadvisor.outputs' rules: never over an input, a link or a folder;
    an existing file is replaced only with `overwrite`."""
    from lossadvisor.outputs import SCRIPT, atomic_write, check_output

    path = check_output(path, SCRIPT, inputs, overwrite)
    # A script is executable, as a plain open() + chmod +x would leave it.
    return atomic_write(path, lambda temporary: temporary.write_text(text, encoding="utf-8"), overwrite,
                        0o777 if path.suffix == ".py" else 0o666)
