"""The training script for the embedder families (SentenceTransformer, SparseEncoder, MultiVectorEncoder).

The same shape as the CrossEncoder script (lossadvisor.scaffold): the caller's loading and fixes, the family's model,
the loss from the recipe's source (inside SpladeLoss for a sparse model, inside a modifier when asked), the family's
evaluator on held-out rows, its trainer with the batch sampler the loss needs. The classes come from the table's
adapter; the evaluator's sample builders and the data rules are copied from lossadvisor's own functions, so the script
and `lossadvisor trial --family ...` agree.
"""

from __future__ import annotations

import inspect
import json
from string import Template
from textwrap import indent

from lossadvisor import recipe as recipes
from lossadvisor.recipe import MODEL_LR, TINY_LR, Recipe
from lossadvisor.scaffold_template import FAMILY_TEMPLATE
from lossadvisor.table import LossTable
from lossadvisor.trial import embed_eval, evaluation, training
from lossadvisor.trial.family import EVALUATOR_PREFIX, batch_sampler, sampler_why
from lossadvisor.trial.modifiers import DIMS_PARAM, default_dims, fit_dims, takes_dims

# How the script builds the model from a base name, per model class (tiny is handled before).
_MODEL_BODIES = {
    "SparseEncoder": [
        "# SPLADE: the masked-LM logits of every token, max-pooled over the vocabulary. For a base that is already a",
        "# SparseEncoder, `return SparseEncoder(name)` instead.",
        'transformer = Transformer(name, transformer_task="fill-mask", max_seq_length=max_length)',
        'return SparseEncoder(modules=[transformer, SpladePooling("max")])',
    ],
}
_EXTRA_MODEL_IMPORTS = {"SparseEncoder": "from sentence_transformers.sparse_encoder.modules import SpladePooling, Transformer\n"}


def render_family_script(spec, loss_table: LossTable, recipe: Recipe, fmt: str, batch_size: int, warmup: str) -> str:
    """The script text for `spec` (a lossadvisor.scaffold.ScriptSpec) in the table's family; `warmup` is the
    TrainingArguments line the installed transformers takes."""
    from lossadvisor.errors import printable

    family = loss_table.family
    check_dims(spec, loss_table)
    kind = embed_eval.evaluation_kind(fmt)
    modifier = spec.modifier
    dims = takes_dims(modifier, loss_table) if modifier else False
    doc_spec = printable(spec.dataset_spec.replace("\\", "\\\\").replace('"', '\\"'))
    imports = "".join(f"\n{line}" for line in sorted(set(spec.extra_imports)))
    evaluator_import = "" if kind is None else (
        f"from {family.module}.evaluation import {_evaluator_name(family.model_class, kind)}\n")
    load_block = "\n".join([spec.load_code.rstrip(), *[line.rstrip() for line in spec.fixes_code]])
    values = {
        "model_class": family.model_class, "role": family.role, "loss": recipe.loss, "doc_spec": doc_spec, "fmt": fmt,
        "family": loss_table.family_name, "family_literal": json.dumps(loss_table.family_name),
        "module": family.module, "trainer_class": family.trainer.rsplit(".", 1)[1],
        "args_class": family.training_args.rsplit(".", 1)[1],
        "extra_model_imports": (_EXTRA_MODEL_IMPORTS.get(family.model_class, "") + evaluator_import
                                + ("import numpy as np\n" if recipe.loss == "DenoisingAutoEncoderLoss" else "")),
        "imports": imports + "\n",
        "model": json.dumps(spec.model), "output_dir": json.dumps(spec.output_dir or f"output/{recipe.loss}-{fmt}"),
        "constants": _constants(recipe, modifier, dims, spec, loss_table),
        "epochs": str(spec.epochs), "batch_size": str(batch_size), "lr": repr(spec.lr), "model_lr": f"{MODEL_LR:g}",
        "tiny_lr": f"{TINY_LR:g}", "max_length": str(spec.max_length or (128 if spec.model == "tiny" else 256)),
        "eval_fraction": str(spec.eval_fraction), "seed": str(spec.seed),
        "warmup": warmup,
        "load_block": indent(load_block, "    "),
        "model_body": indent("\n".join(_MODEL_BODIES.get(family.model_class, [
            f"model = {family.model_class}(name)", "model.max_seq_length = max_length", "return model"])), "    "),
        "loss_body": indent("\n".join(_loss_lines(recipe, modifier, dims)), "    "),
        "evaluator_body": indent("\n".join(_evaluator_lines(family.model_class, kind, fmt)), "    "),
        "helpers": _helpers(recipe, kind, modifier and dims),
        "rows_body": indent("\n".join(_rows_lines(recipe.loss, fmt, loss_table)), "    "),
        "sampler": _sampler_lines(recipe.loss),
    }
    return Template(FAMILY_TEMPLATE).substitute(values)


def _evaluator_name(model_class: str, kind: str) -> str:
    return embed_eval.EVALUATOR_NAMES[kind].format(prefix=EVALUATOR_PREFIX.get(model_class, ""))


def _constants(recipe: Recipe, modifier: str | None, dims: bool, spec, loss_table: LossTable) -> str:
    lines = []
    guide = next((param for param in recipe.params if param.kind == "model"), None)
    if guide is not None:
        location = training.guide_location(str(guide.value))
        note = "the installed copy of " if location != guide.value else ""
        lines.append(f"# The guide model that filters false in-batch negatives ({note}{guide.value}).")
        lines.append(f"GUIDE = {json.dumps(location)}")
    if modifier and dims:
        asked = list(spec.matryoshka_dims)
        lines.append(f"# {modifier}'s dims: {'as asked' if asked else 'the table default'}, at most the model's dimension.")
        lines.append(f"MATRYOSHKA_DIMS = {asked or default_dims(modifier, loss_table)}")
        lines.append(f"DIMS_ASKED = {bool(asked)}")
    if recipe.loss == "DenoisingAutoEncoderLoss":
        lines.append(f"DELETE_RATIO = {training.DELETE_RATIO}  # DenoisingAutoEncoderDataset's word deletion")
    if recipe.loss == "ContrastiveTensionLoss":
        lines.append(f"CT_POS_NEG_RATIO = {training.CT_POS_NEG_RATIO}  # one positive pair in 8, as ContrastiveTensionDataLoader")
    return "\n".join(lines) + ("\n" if lines else "")


def _loss_lines(recipe: Recipe, modifier: str | None, dims: bool) -> list[str]:
    codes = {}
    lines = []
    for param in [*recipe.params, *(recipe.wrapper.params if recipe.wrapper else ())]:
        lines.append(f"# {param.name}: {param.why}")
        if param.kind == "classes":
            codes[param.name] = 'num_labels_from_ids(train_dataset["label"])'
        elif param.kind == "model":
            codes[param.name] = "SentenceTransformer(GUIDE)"
    if recipe.wrapper is not None:
        lines.append(f"# {recipe.wrapper.loss}: a sparse loss trains inside it (its FLOPS regularizers keep the vectors sparse).")
    source = recipe.loss_source("model", codes)
    if modifier:
        lines.append(f"loss = {source}")
        if dims:
            lines.append("dims = fit_dims(MATRYOSHKA_DIMS, model.get_embedding_dimension(), DIMS_ASKED)")
            return lines + [f"return losses.{modifier}(model, loss, {DIMS_PARAM}=dims)"]
        return lines + [f"return losses.{modifier}(model, loss)"]
    return lines + [f"return {source}"]


def _evaluator_lines(model_class: str, kind: str | None, fmt: str) -> list[str]:
    if kind is None:
        return [f"# {embed_eval.NO_METRIC.get(fmt, 'no held-out metric for this format')}", "return None"]
    name = _evaluator_name(model_class, kind)
    lines = [
        'inputs = [name for name in eval_dataset.column_names if name != "label"]',
        "columns = [list(eval_dataset[name]) for name in inputs]",
        'labels = list(eval_dataset["label"]) if "label" in eval_dataset.column_names else []',
    ]
    if kind == "retrieval":
        return lines + [f"queries, corpus, relevant = retrieval_samples({fmt!r}, columns, labels)",
                        f'return {name}(queries, corpus, relevant, name="eval")']
    if kind == "class-retrieval":
        return lines + ["queries, corpus, relevant = class_retrieval_samples(columns[0], labels)",
                        f'return {name}(queries, corpus, relevant, name="eval")']
    return lines + [f'return {name}(columns[0], columns[1], labels, name="eval")']


def _rows_lines(loss: str, fmt: str, loss_table: LossTable) -> list[str]:
    if fmt != "single" or loss not in ("DenoisingAutoEncoderLoss", "ContrastiveTensionLoss"):
        return []
    if loss == "DenoisingAutoEncoderLoss":
        return ["# DenoisingAutoEncoderLoss trains on (damaged, original) pairs: damage each text by deleting words.",
                "column = train_dataset.column_names[0]",
                "rng = np.random.default_rng(args.seed)",
                "train_dataset = Dataset.from_dict({\"damaged\": [damage(text, rng) for text in train_dataset[column]],",
                "                                   column: list(train_dataset[column])})"]
    return ["# ContrastiveTensionLoss trains on (sentence, sentence) pairs: one text with itself in every CT_POS_NEG_RATIO.",
            "texts = list(train_dataset[train_dataset.column_names[0]])",
            "others = [text if i % CT_POS_NEG_RATIO == 0 else texts[(i + 1) % len(texts)] for i, text in enumerate(texts)]",
            'train_dataset = Dataset.from_dict({"text": texts, "other": others})']


def _sampler_lines(loss: str) -> str:
    sampler = batch_sampler(loss)
    why = sampler_why(sampler)
    if why is None:
        return ""
    return f"        # {why[:1].upper()}{why[1:]}.\n        batch_sampler={sampler!r},\n"


def _helpers(recipe: Recipe, kind: str | None, dims: bool) -> str:
    functions = []
    if any(param.kind == "classes" for param in recipe.params):
        functions.append(recipes.num_labels_from_ids)
    if dims:
        functions.append(fit_dims)
    if recipe.loss == "DenoisingAutoEncoderLoss":
        functions.append(training.damage)
    if kind in ("retrieval", "class-retrieval"):
        functions += list(embed_eval.SCRIPT_FUNCTIONS)
    functions += list(evaluation.SCRIPT_FUNCTIONS)
    sources = "\n\n".join(inspect.getsource(function).rstrip() + "\n" for function in functions)
    header = "# The rules lossadvisor applies, copied from its source so that this script needs no lossadvisor to run.\n\n\n"
    return header + sources + "\n\n"


def base_dimension(model: str) -> int | None:
    """The embedding dimension of a SentenceTransformer base without loading it: the tiny model's, or what a local
    folder's pooling config (else its config.json) says; None when unknown (a hub id)."""
    from pathlib import Path

    from lossadvisor.tiny_model import HIDDEN_SIZE, TINY

    if model == TINY:
        return HIDDEN_SIZE
    folder = Path(model).expanduser()
    for name, keys in (("1_Pooling/config.json", ("embedding_dimension", "word_embedding_dimension")),
                       ("config.json", ("hidden_size",))):
        try:
            config = json.loads((folder / name).read_text())
        except (OSError, ValueError):
            continue
        value = next((config[key] for key in keys if isinstance(config.get(key), int)), None)
        if value is not None:
            return value
    return None


def check_dims(spec, loss_table: LossTable) -> None:
    """Asked Matryoshka dims beyond the base's dimension fail now (exit 2), not when the script runs."""
    from lossadvisor.trial.modifiers import matryoshka_dims

    if spec.modifier and spec.matryoshka_dims and takes_dims(spec.modifier, loss_table):
        matryoshka_dims(spec.modifier, loss_table, base_dimension(spec.model), tuple(spec.matryoshka_dims))
