"""`lossadvisor scaffold`: a complete, readable training script for the advised loss.

The script is plain sentence-transformers code: the caller's dataset loading and fixes, the CrossEncoder with
the num_labels and activation the loss needs, the loss with its advised parameters (computed from the data when
the script runs, so they stay right after the data changes), an evaluator on a held-out split, training and
saving. It runs as `python train.py` and under `accelerate launch train.py`; `--model tiny` swaps in the tiny
random model from lossadvisor for a smoke run without a download.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from textwrap import indent

from lossadvisor.errors import FitError, printable
from lossadvisor.table import LossTable

_IN_BATCH_LOSSES = {"MultipleNegativesRankingLoss", "CachedMultipleNegativesRankingLoss"}
TINY_LR = 5e-4
MODEL_LR = 2e-5


def _installed_major(package: str) -> int:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return int(version(package).split(".")[0])
    except (PackageNotFoundError, ValueError):
        return 0


def _loss_lines(loss_name: str, loss_table: LossTable, batch_size: int) -> list[str]:
    """Body of build_loss(model, train_dataset): the advised arguments, each with the table's reason."""
    entry = loss_table.losses[loss_name]
    params = {param.name: param for param in entry.params}
    lines: list[str] = []
    kwargs: list[str] = []
    if entry.loss_activation and entry.activation == "identity" and "activation_fn" in params:
        kwargs.append(f"# {params['activation_fn'].why}")
        kwargs.append("activation_fn=torch.nn.Identity(),")
    if loss_name == "LambdaLoss" and "weighting_scheme" in params:
        kwargs.append(f"# {params['weighting_scheme'].why}")
        kwargs.append("weighting_scheme=losses.NDCGLoss2PPScheme(),")
    if "mini_batch_size" in params:
        size = int(params["mini_batch_size"].value)
        if loss_name.startswith("Cached"):
            # Below the batch size, or the cache saves nothing.
            size = min(size, max(1, batch_size // 2)) if batch_size <= size else size
        kwargs.append(f"# {params['mini_batch_size'].why}")
        kwargs.append(f"mini_batch_size={size},")
    extra = ""
    if loss_name == "BinaryCrossEntropyLoss":
        lines += [
            "kwargs = {}",
            'labels = train_dataset["label"]',
            "negatives = sum(1 for value in labels if value == 0)",
            "positives = sum(1 for value in labels if value == 1)",
            "if positives and negatives and positives + negatives == len(labels):",
            f"    # {params['pos_weight'].why}" if "pos_weight" in params else "    # balances rare positives",
            '    kwargs["pos_weight"] = torch.tensor(negatives / positives)',
        ]
        extra = "**kwargs"
    if "respect_input_order" in params:
        lines += [
            "kwargs = {}",
            "sorted_lists = all(",
            '    all(a >= b for a, b in zip(gains, gains[1:])) for gains in train_dataset["label"]',
            ")",
            "if not sorted_lists:",
            "    # The documents are not sorted by label, so the loss must sort them itself.",
            '    kwargs["respect_input_order"] = False',
        ]
        extra = "**kwargs"
    if extra:
        kwargs.append(f"{extra},")
    if kwargs:
        lines.append(f"return losses.{loss_name}(")
        lines.append("    model,")
        lines += [f"    {line}" for line in kwargs]
        lines.append(")")
    else:
        lines.append(f"return losses.{loss_name}(model)")
    return lines


_EVALUATORS: dict[str, tuple[str, list[str]]] = {
    "classification": (
        "CrossEncoderClassificationEvaluator",
        [
            "pairs = list(zip(eval_dataset[inputs[0]], eval_dataset[inputs[1]]))",
            'return CrossEncoderClassificationEvaluator(pairs, eval_dataset["label"], name="eval")',
        ],
    ),
    "correlation": (
        "CrossEncoderCorrelationEvaluator",
        [
            "pairs = list(zip(eval_dataset[inputs[0]], eval_dataset[inputs[1]]))",
            'return CrossEncoderCorrelationEvaluator(pairs, eval_dataset["label"], name="eval")',
        ],
    ),
    "labeled-list": (
        "CrossEncoderRerankingEvaluator",
        [
            "samples = []",
            'for query, docs, gains in zip(eval_dataset[inputs[0]], eval_dataset[inputs[1]], eval_dataset["label"]):',
            "    positive = [doc for doc, gain in zip(docs, gains) if gain > 0]",
            "    negative = [doc for doc, gain in zip(docs, gains) if gain <= 0]",
            "    # A list with no positive (or no negative) ranks nothing.",
            "    if positive and negative:",
            '        samples.append({"query": query, "positive": positive, "negative": negative})',
            'return CrossEncoderRerankingEvaluator(samples, at_k=10, name="eval")',
        ],
    ),
    "pair": (
        "CrossEncoderRerankingEvaluator",
        [
            "# The data has no negatives: the other rows' positives stand in, as in-batch negatives do in training.",
            "answers = eval_dataset[inputs[1]]",
            "samples = []",
            "for query, positive in zip(eval_dataset[inputs[0]], answers):",
            "    negative = [doc for doc in answers if doc != positive][:9]",
            "    if negative:",
            '        samples.append({"query": query, "positive": [positive], "negative": negative})',
            'return CrossEncoderRerankingEvaluator(samples, at_k=10, name="eval")',
        ],
    ),
    "tuple": (
        "CrossEncoderRerankingEvaluator",
        [
            "samples = []",
            "for row in eval_dataset:",
            "    candidates = [row[name] for name in inputs[1:]]",
            '    samples.append({"query": row[inputs[0]], "positive": [candidates[0]], "negative": candidates[1:]})',
            'return CrossEncoderRerankingEvaluator(samples, at_k=10, name="eval")',
        ],
    ),
    "teacher": (
        "CrossEncoderRerankingEvaluator",
        [
            "samples = []",
            "for row in eval_dataset:",
            "    candidates = [row[name] for name in inputs[1:]]",
            '    label = row["label"]',
            "    # The teacher decides which candidate is best: a margin is relative to the first candidate.",
            "    if not isinstance(label, list):",
            "        relevance = [label, 0.0]",
            "    elif len(label) == len(candidates) - 1:",
            "        relevance = [0.0] + [-margin for margin in label]",
            "    else:",
            "        relevance = list(label)",
            "    best = max(range(len(candidates)), key=relevance.__getitem__)",
            "    negative = [doc for i, doc in enumerate(candidates) if i != best]",
            '    samples.append({"query": row[inputs[0]], "positive": [candidates[best]], "negative": negative})',
            'return CrossEncoderRerankingEvaluator(samples, at_k=10, name="eval")',
        ],
    ),
}


def _evaluator_kind(format_name: str, loss_name: str) -> str:
    if format_name in ("pair-class", "labeled-pair"):
        return "classification"
    if format_name == "pair-score":
        return "correlation"
    if format_name in ("labeled-list", "pair"):
        return format_name
    if format_name in ("triplet", "n-tuple"):
        return "tuple"
    return "teacher"


def _num_labels_lines(loss_name: str, loss_table: LossTable) -> list[str]:
    if loss_table.losses[loss_name].num_labels == "num_classes":
        return [
            "# One output per class: class ids run from 0 to N-1.",
            'num_labels = int(max(dataset["label"])) + 1',
        ]
    return ["num_labels = 1"]


def render_training_script(
    dataset_spec: str,
    load_code: str,
    fixes_code: Sequence[str],
    format_name: str,
    loss_name: str,
    loss_table: LossTable,
    model: str = "tiny",
    *,
    output_dir: str | None = None,
    batch_size: int | None = None,
    epochs: int = 1,
    lr: float | None = None,
    max_length: int | None = None,
    eval_fraction: float = 0.1,
    seed: int = 12,
    extra_imports: Sequence[str] = (),
) -> str:
    """A complete training script as text.

    `load_code` (and then each line of `fixes_code`) must leave a `datasets.Dataset` (or a DatasetDict with a
    "train" split) named `dataset`, in canonical column order: the inputs, then `label` when the format has one.
    `extra_imports` are import lines that code needs beyond `datasets`' load_dataset/load_from_disk.
    """
    fmt = loss_table.resolve_format(format_name)
    loss = loss_table.resolve_loss(loss_name)
    if fmt not in loss_table.formats_for_loss(loss):
        from lossadvisor.fit import fit_hint

        # The shortest declared conversion, or the losses that fit when none leads there (never a dead end).
        raise FitError(f"{loss} does not train on {fmt} data", fit_hint(fmt, loss, loss_table, dataset_spec, force=False))
    entry = loss_table.losses[loss]
    identity = entry.activation == "identity"
    listwise = fmt == "labeled-list"
    batch_size = batch_size or (8 if listwise else 16 if model == "tiny" else 32)
    max_length = max_length or (128 if model == "tiny" else 256)
    output_dir = output_dir or f"output/{loss}-{fmt}"
    evaluator_class, evaluator_lines = _EVALUATORS[_evaluator_kind(fmt, loss)]
    in_batch = loss in _IN_BATCH_LOSSES
    warmup = "warmup_steps=0.1," if _installed_major("transformers") >= 5 else "warmup_ratio=0.1,"
    activation_arg = ", activation_fn=torch.nn.Identity()" if identity else ""
    activation_why = (
        "# Raw scores: a Sigmoid on top would flatten the scores this loss ranks or regresses.\n"
        if identity
        else "# Default activation: Sigmoid for 1 output, none for several.\n"
    )

    # The path goes into the docstring: quotes, backslashes and line breaks in it must stay text, never code.
    doc_spec = printable(dataset_spec.replace("\\", "\\\\").replace('"', '\\"'))
    load_block = "\n".join([load_code.rstrip(), *[line.rstrip() for line in fixes_code]])
    # The caller's imports get their own group; the blank line before MODEL stays either way.
    imports = "".join(f"\n{line}" for line in sorted(set(extra_imports))) + "\n"
    sampler_line = (
        "        # In-batch negatives: a duplicate text in a batch would be a false negative.\n"
        '        batch_sampler="no_duplicates",\n'
        if in_batch
        else ""
    )

    return f'''#!/usr/bin/env python
"""Train a CrossEncoder reranker with {loss} on {doc_spec} ({fmt} data).

Written by `lossadvisor scaffold`; edit freely. Run it with:

    python train.py                                   # defaults below
    python train.py --model tiny --max-steps 20       # smoke run in seconds, no download (needs lossadvisor)
    accelerate launch train.py                        # several GPUs
"""

from __future__ import annotations

import argparse

import torch
from datasets import Dataset, DatasetDict, load_dataset, load_from_disk
from sentence_transformers.cross_encoder import (
    CrossEncoder,
    CrossEncoderTrainer,
    CrossEncoderTrainingArguments,
    losses,
)
from sentence_transformers.cross_encoder.evaluation import {evaluator_class}
{imports}
MODEL = {json.dumps(model)}
OUTPUT_DIR = {json.dumps(output_dir)}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=MODEL, help="a Hugging Face Hub id, a local folder, or 'tiny'")
    parser.add_argument("--output-dir", default=OUTPUT_DIR)
    parser.add_argument("--epochs", type=float, default={epochs})
    parser.add_argument("--max-steps", type=int, default=-1, help="stop after this many steps (-1: run the epochs)")
    parser.add_argument("--batch-size", type=int, default={batch_size})
    parser.add_argument("--lr", type=float, default=None, help="default: {MODEL_LR:g}, or {TINY_LR:g} for the tiny model")
    parser.add_argument("--max-length", type=int, default={max_length})
    parser.add_argument("--eval-fraction", type=float, default={eval_fraction})
    parser.add_argument("--seed", type=int, default={seed})
    return parser.parse_args()


def load_data() -> Dataset:
{indent(load_block, "    ")}
    if isinstance(dataset, DatasetDict):
        dataset = dataset["train"]
    return dataset


def texts_of(dataset: Dataset) -> list[str]:
    texts = []
    for column in dataset.column_names:
        if column != "label":
            for value in dataset[column]:
                texts.extend(value if isinstance(value, list) else [value])
    return texts


def build_model(name: str, dataset: Dataset, num_labels: int, max_length: int, seed: int) -> CrossEncoder:
    if name == "tiny":
        # A tiny random BERT with a tokenizer trained on these texts: it proves the pipeline in seconds and
        # learns little. Pass a real model (e.g. --model cross-encoder/ms-marco-MiniLM-L6-v2) to train for real.
        from lossadvisor.tiny_model import build_tiny_cross_encoder

        return build_tiny_cross_encoder(
            texts_of(dataset), num_labels=num_labels, identity_activation={identity}, max_length=max_length, seed=seed
        )
    {activation_why.strip()}
    return CrossEncoder(name, num_labels=num_labels, max_length=max_length{activation_arg})


def build_loss(model: CrossEncoder, train_dataset: Dataset) -> torch.nn.Module:
{indent(chr(10).join(_loss_lines(loss, loss_table, batch_size)), "    ")}


def build_evaluator(eval_dataset: Dataset) -> {evaluator_class}:
    inputs = [name for name in eval_dataset.column_names if name != "label"]
{indent(chr(10).join(evaluator_lines), "    ")}


def main() -> None:
    args = parse_args()
    dataset = load_data()
{indent(chr(10).join(_num_labels_lines(loss, loss_table)), "    ")}
    split = dataset.train_test_split(test_size=args.eval_fraction, seed=args.seed)
    train_dataset, eval_dataset = split["train"], split["test"]

    model = build_model(args.model, dataset, num_labels, args.max_length, args.seed)
    loss = build_loss(model, train_dataset)
    evaluator = build_evaluator(eval_dataset)
    print("before training:", evaluator(model))

    lr = args.lr if args.lr is not None else ({TINY_LR:g} if args.model == "tiny" else {MODEL_LR:g})
    training_args = CrossEncoderTrainingArguments(
        output_dir=args.output_dir,
        num_train_epochs=args.epochs,
        max_steps=args.max_steps,
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=args.batch_size,
        learning_rate=lr,
        {warmup}
        # bf16 where the GPU supports it; float32 elsewhere.
        bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
{sampler_line}        eval_strategy="steps",
        eval_steps=0.2,
        save_strategy="steps",
        save_steps=0.2,
        save_total_limit=2,
        logging_steps=0.05,
        logging_first_step=True,
        seed=args.seed,
        report_to="none",
    )
    trainer = CrossEncoderTrainer(
        model=model,
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        loss=loss,
        evaluator=evaluator,
    )
    trainer.train()

    print("after training:", evaluator(model))
    # save_model writes from the main process only, which matters under `accelerate launch`.
    trainer.save_model(f"{{args.output_dir}}/final")


if __name__ == "__main__":
    main()
'''


def write_new_file(path: str | Path, text: str, overwrite: bool = False) -> Path:
    """Write `text` to `path` atomically; an existing file is replaced only with `overwrite`."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FitError(f"{path} already exists", "Pass --overwrite to replace it, or choose another path.")
    if path.is_dir():
        raise FitError(f"{path} is a folder", "Give a file name, e.g. train.py.")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FitError(f"folder {folder} does not exist", None)
    # Same folder, so os.replace is a rename on one filesystem: readers never see half a file.
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        # mkstemp creates 0600; give the file the mode a plain open() would (executable for a script).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp_name, (0o777 if path.suffix == ".py" else 0o666) & ~umask)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path
