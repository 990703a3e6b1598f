"""The training script `lossadvisor scaffold` writes, as a string.Template (lossadvisor.scaffold fills it in)."""

# The functions every family's script has alike: arguments, loading, the held-out split, the texts.
SHARED_FUNCTIONS = '''def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=MODEL, help="a Hugging Face Hub id, a local folder, or 'tiny'")
    parser.add_argument("--output-dir", default=OUTPUT_DIR)
    parser.add_argument("--epochs", type=float, default=$epochs)
    parser.add_argument("--max-steps", type=int, default=-1, help="stop after this many steps (-1: run the epochs)")
    parser.add_argument("--batch-size", type=int, default=$batch_size)
    parser.add_argument("--lr", type=float, default=$lr, help="default: $model_lr, or $tiny_lr for the tiny model")
    parser.add_argument("--max-length", type=int, default=$max_length)
    parser.add_argument("--eval-fraction", type=float, default=$eval_fraction)
    parser.add_argument("--seed", type=int, default=$seed)
    return parser.parse_args()


# A split of the dataset's own that is held out already, in the order they are preferred.
EVAL_SPLITS = ("validation", "dev", "eval", "test")


def load_data() -> Dataset | DatasetDict:
$load_block
    return dataset


def split_data(dataset: Dataset | DatasetDict, eval_fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    """The dataset's own eval/test split when it has one; otherwise rows held out by anchor (the first column),
    so that no query is on both sides (as `lossadvisor trial` holds them out)."""
    if isinstance(dataset, DatasetDict):
        own = next((name for name in EVAL_SPLITS if name in dataset), None)
        if own is not None and "train" in dataset:
            print(f"evaluating on the dataset's own '{own}' split")
            return dataset["train"], dataset[own]
        dataset = dataset["train"] if "train" in dataset else dataset[next(iter(dataset))]
    train_rows, eval_rows = held_out_by_anchor(list(dataset[dataset.column_names[0]]), eval_fraction, seed)
    return dataset.select(train_rows), dataset.select(eval_rows)


def texts_of(dataset: Dataset) -> list[str]:
    texts = []
    for column in dataset.column_names:
        if column != "label":
            for value in dataset[column]:
                texts.extend(value if isinstance(value, list) else [value])
    return texts'''


# The training arguments both templates write: the CrossEncoder script always evaluates, a family script only when
# it has an evaluator for the format.
TRAINING_ARGUMENTS = '''    lr = args.lr if args.lr is not None else ($tiny_lr if args.model == "tiny" else $model_lr)
    training_args = @ARGS_CLASS@(
        output_dir=args.output_dir,
        num_train_epochs=args.epochs,
        max_steps=args.max_steps,
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=args.batch_size,
        learning_rate=lr,
        $warmup
        # bf16 where the GPU supports it; float32 elsewhere.
        bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
$sampler        eval_strategy=@EVAL_STRATEGY@,
        eval_steps=0.2,
        save_strategy="steps",
        save_steps=0.2,
        save_total_limit=2,
        logging_steps=0.05,
        logging_first_step=True,
        seed=args.seed,
        report_to="none",
    )
'''


TEMPLATE = '''#!/usr/bin/env python
"""Train a CrossEncoder reranker with $loss on $doc_spec ($fmt data).

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
from sentence_transformers.cross_encoder.evaluation import $evaluator_class
$imports
MODEL = $model
OUTPUT_DIR = $output_dir


''' + SHARED_FUNCTIONS + '''


def build_model(name: str, dataset: Dataset, num_labels: int, max_length: int, seed: int) -> CrossEncoder:
    if name == "tiny":
        # A tiny random BERT with a tokenizer trained on these texts: it proves the pipeline in seconds and
        # learns little. Pass a real model (e.g. --model cross-encoder/ms-marco-MiniLM-L6-v2) to train for real.
        from lossadvisor.tiny_model import build_tiny_cross_encoder

        return build_tiny_cross_encoder(
            texts_of(dataset), num_labels=num_labels, identity_activation=$identity, max_length=max_length, seed=seed
        )
    $activation_why
    return $model_source


def build_loss(model: CrossEncoder, train_dataset: Dataset) -> torch.nn.Module:
$loss_body


def build_evaluator(eval_dataset: Dataset) -> $evaluator_class:
$evaluator_body


${helpers}def main() -> None:
    args = parse_args()
    train_dataset, eval_dataset = split_data(load_data(), args.eval_fraction, args.seed)
$num_labels_body

    model = build_model(args.model, train_dataset, num_labels, args.max_length, args.seed)
    loss = build_loss(model, train_dataset)
    evaluator = build_evaluator(eval_dataset)
    # The metric `lossadvisor trial` reports: ndcg@10 for rankings, spearman for scores, accuracy for classes.
    before = evaluator(model)
    print("before training: %s %.4f" % headline_metric(before), before)

@TRAINING_ARGUMENTS@    trainer = CrossEncoderTrainer(
        model=model,
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        loss=loss,
        evaluator=evaluator,
    )
    trainer.train()

    after = evaluator(model)
    print("after training: %s %.4f" % headline_metric(after), after)
    # save_model writes from the main process only, which matters under `accelerate launch`.
    trainer.save_model(f"{args.output_dir}/final")


if __name__ == "__main__":
    main()
'''


def _with_training_arguments(template: str, args_class: str, eval_strategy: str) -> str:
    return template.replace("@TRAINING_ARGUMENTS@", TRAINING_ARGUMENTS.replace("@ARGS_CLASS@", args_class)
                            .replace("@EVAL_STRATEGY@", eval_strategy))


TEMPLATE = _with_training_arguments(TEMPLATE, "CrossEncoderTrainingArguments", '"steps"')


# The script for the embedder families (SentenceTransformer, SparseEncoder, MultiVectorEncoder); scaffold_family fills it.
FAMILY_TEMPLATE = '''#!/usr/bin/env python
"""Train a $model_class ($role) with $loss on $doc_spec ($fmt data).

Written by `lossadvisor scaffold --family $family`; edit freely. Run it with:

    python train.py                                   # defaults below
    python train.py --model tiny --max-steps 20       # smoke run in seconds, no download (needs lossadvisor)
    accelerate launch train.py                        # several GPUs
"""

from __future__ import annotations

import argparse

import torch
from datasets import Dataset, DatasetDict, load_dataset, load_from_disk
from $module import (
    $model_class,
    $trainer_class,
    $args_class,
    losses,
)
$extra_model_imports$imports
MODEL = $model
OUTPUT_DIR = $output_dir
$constants

''' + SHARED_FUNCTIONS + '''


def build_model(name: str, dataset: Dataset, max_length: int, seed: int, output_dir: str) -> $model_class:
    if name == "tiny":
        # A tiny random model with a tokenizer trained on these texts: it proves the pipeline in seconds and
        # learns little. Pass a real model to train for real.
        from lossadvisor.trial.models import build_tiny_model

        return build_tiny_model($family_literal, texts_of(dataset), max_length=max_length, seed=seed,
                                workdir=f"{output_dir}/tiny-base")
$model_body


def build_loss(model: $model_class, train_dataset: Dataset) -> torch.nn.Module:
$loss_body


def build_evaluator(eval_dataset: Dataset):
$evaluator_body


${helpers}def main() -> None:
    args = parse_args()
    train_dataset, eval_dataset = split_data(load_data(), args.eval_fraction, args.seed)
$rows_body
    model = build_model(args.model, train_dataset, args.max_length, args.seed, args.output_dir)
    loss = build_loss(model, train_dataset)
    evaluator = build_evaluator(eval_dataset)
    if evaluator is not None:
        # The metric `lossadvisor trial` reports: ndcg@10 for retrieval, spearman for scores, accuracy for pairs.
        before = evaluator(model)
        print("before training: %s %.4f" % headline_metric(before), before)

@TRAINING_ARGUMENTS@    trainer = $trainer_class(
        model=model,
        args=training_args,
        train_dataset=train_dataset,
        loss=loss,
        evaluator=evaluator,
    )
    trainer.train()

    if evaluator is not None:
        after = evaluator(model)
        print("after training: %s %.4f" % headline_metric(after), after)
    # save_model writes from the main process only, which matters under `accelerate launch`.
    trainer.save_model(f"{args.output_dir}/final")


if __name__ == "__main__":
    main()
'''

FAMILY_TEMPLATE = _with_training_arguments(FAMILY_TEMPLATE, "$args_class", '"steps" if evaluator is not None else "no"')
