"""`lossadvisor trial`: prove that a loss trains on the user's data, with the real trainer, in seconds.

A trial draws a seeded sample of the data (already in canonical column order), builds the CrossEncoder the
loss needs (num_labels, activation) and the loss with the parameters the table advises, trains a few steps with
`CrossEncoderTrainer`, and reports the loss at every step, speed, memory and whether the loss went down. It
refuses known-bad combinations up front and explains failures (non-finite loss, shape errors, out of memory) in
terms of the data and the loss rather than the stack trace.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import json
import math
import re
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from lossadvisor.errors import FitError, LossAdvisorError
from lossadvisor.table import LossTable

if TYPE_CHECKING:
    import torch
    from sentence_transformers.cross_encoder import CrossEncoder

LABEL = "label"
# Columns the collator or the trainer treat specially: an input column with one of these names would be
# swallowed as the label or rejected, so inputs are renamed away from them.
_RESERVED = {"label", "labels", "score", "scores", "dataset_name", "return_loss"}
TINY_LR = 5e-4
MODEL_LR = 2e-5
# First release whose listwise losses cast the scores to float32 (huggingface/sentence-transformers#3800):
# before it, half-precision scores scattered into the float32 score matrix crash, and fp16 overflows.
LISTWISE_MIXED_PRECISION_MIN = "5.6"
_LISTWISE_FORMAT = "labeled-list"
# A class id beyond this is not a class id: CrossEntropyLoss would build a head with that many outputs.
MAX_CLASSES = 100_000
_IN_BATCH_LOSSES = {"MultipleNegativesRankingLoss", "CachedMultipleNegativesRankingLoss"}

Status = Literal["ok", "not-finite", "error"]


class TrialError(LossAdvisorError):
    """A trial ran and failed (non-finite loss, a shape error, out of memory)."""


# --------------------------------------------------------------------------------------------- options


@dataclass(frozen=True)
class TrialOptions:
    model: str = "tiny"
    steps: int = 20
    batch_size: int = 8
    lr: float | None = None
    max_length: int = 128
    seed: int = 0
    sample_size: int | None = None
    eval_fraction: float = 0.0
    plot: Path | None = None
    force: bool = False
    gradient_checkpointing: bool = False
    bf16: bool = False
    fp16: bool = False
    streaming: bool = False
    num_labels: int | None = None
    # Run the model's own code (auto_map) and accept pickled weights: only when the user says so.
    trust_remote_code: bool = False

    @property
    def learning_rate(self) -> float:
        # A random tiny model at 2e-5 (or even 5e-5) learns nothing in 20 steps: see pitfalls.md.
        if self.lr is not None:
            return self.lr
        return TINY_LR if self.model == "tiny" else MODEL_LR


# --------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class AdvisedParam:
    """One constructor argument set on the loss: its Python source, the value behind it, and why."""

    name: str
    code: str
    value: float | int | bool | str | None
    why: str


@dataclass(frozen=True)
class LossConstruction:
    loss_name: str
    num_labels: int
    identity_activation: bool
    params: tuple[AdvisedParam, ...]

    @property
    def code(self) -> str:
        args = ["model"] + [f"{p.name}={p.code}" for p in self.params]
        return f"losses.{self.loss_name}({', '.join(args)})"


@dataclass(frozen=True)
class EvalScore:
    evaluator: str
    metric: str
    before: float | None
    after: float | None
    rows: int

    @property
    def change(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


@dataclass(frozen=True)
class TrialResult:
    loss_name: str
    format_name: str
    status: Status
    losses: tuple[float, ...]
    grad_norms: tuple[float | None, ...]
    steps_requested: int
    first_bad_step: int | None
    first_window_mean: float | None
    last_window_mean: float | None
    went_down: bool | None
    steps_per_second: float | None
    samples_per_second: float | None
    time_to_first_step_s: float | None
    train_seconds: float | None
    peak_rss_mib: float | None
    peak_cuda_mib: float | None
    device: str
    model_code: str
    loss_code: str
    params: tuple[AdvisedParam, ...]
    train_rows: int
    eval_rows: int
    batch_size: int
    learning_rate: float
    evaluation: EvalScore | None = None
    problem: str | None = None
    hint: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def steps_run(self) -> int:
        return len(self.losses)

    @property
    def final_loss(self) -> float | None:
        return self.losses[-1] if self.losses else None


@dataclass(frozen=True)
class RequirementCheck:
    name: str
    passed: bool
    detail: str
    required: bool = True


def raise_for_failure(results: TrialResult | Sequence[TrialResult]) -> None:
    """Turn the first failed result into a TrialError (the CLI's exit code) after it has been rendered."""
    for result in [results] if isinstance(results, TrialResult) else results:
        if not result.ok:
            raise TrialError(f"{result.loss_name}: {result.problem}", result.hint)


# --------------------------------------------------------------------------------------------- fit checks


def check_fit(format_name: str, loss_name: str, loss_table: LossTable, dataset: str | None = None,
              positive_class: str | None = None) -> None:
    """Raise FitError when the table does not list `loss_name` for `format_name`, with the convert command.

    With `dataset` (what the user typed), the command in the hint is ready to paste; without, it says DATASET.
    """
    fmt = loss_table.resolve_format(format_name)
    loss = loss_table.resolve_loss(loss_name)
    if fmt in loss_table.formats_for_loss(loss):
        return
    rows = loss_table.rows_for_loss(loss)
    wants = "; ".join(f"{row.format}: {row.inputs}, labels {row.labels}" for row in rows)
    raise FitError(f"{loss} does not fit {fmt} data: it trains on {wants}",
                   fit_hint(fmt, loss, loss_table, dataset, positive_class=positive_class))


def fit_hint(format_name: str, loss_name: str, loss_table: LossTable, dataset: str | None = None, *, force: bool = True,
             positive_class: str | None = None) -> str:
    """The way out of a misfit: the shortest declared conversion into a format the loss trains on, or, when none
    leads there, the losses that do fit. `force` adds the --force escape (trial has it; scaffold does not)."""
    fmt = loss_table.resolve_format(format_name)
    loss = loss_table.resolve_loss(loss_name)
    targets = loss_table.formats_for_loss(loss)
    paths = [(target, loss_table.conversion_path(fmt, target)) for target in targets]
    reachable = [(target, path) for target, path in paths if path is not None]
    if reachable:
        target, path = min(reachable, key=lambda item: len(item[1]))
        needs = sorted({need for step in path for need in step.needs} - {"miner"})  # BM25 mines by default
        via = " -> ".join([fmt] + [step.to_format for step in path])
        from lossadvisor.commands import convert_command  # h-cli: a pasteable command (with -o); see fit.py on h-recipe

        given = (("--positive-class", positive_class),) if positive_class is not None and "positive-class" in needs else ()
        needs = [n for n in needs if not (given and n == "positive-class")]
        extra = f" (needs: {', '.join(needs)})" if needs else ""
        escape = ", or pass --force to try anyway" if force else ""
        return f"Run `{convert_command(dataset or 'DATASET', target, None, *given).render()}` ({via}){extra}{escape}."
    fitting = sorted({name for row in loss_table.rows_for_format(fmt) for name in row.losses})
    return f"No declared conversion leads from {fmt} to {', '.join(targets)}. Losses that fit {fmt}: {', '.join(fitting) or 'none'}."


def _installed_sentence_transformers() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sentence-transformers")
    except PackageNotFoundError:
        return "0"


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def is_listwise(loss_name: str, loss_table: LossTable) -> bool:
    return loss_name in loss_table.losses and _LISTWISE_FORMAT in loss_table.formats_for_loss(loss_name)


def check_known_bad(loss_name: str, options: TrialOptions, loss_table: LossTable, st_version: str | None = None) -> None:
    """Refuse the combinations known to fail or to mislead, before anything is loaded."""
    if options.streaming:
        raise FitError(
            "a streaming (IterableDataset) source cannot be trained: CrossEncoderTrainer rejects IterableDataset, "
            "because its collator returns raw texts that accelerate cannot concatenate across batches",
            "Drop --streaming (the trial only reads a sample), or materialise rows first: "
            "Dataset.from_list(list(dataset.take(N))).",
        )
    if options.bf16 and options.fp16:
        raise FitError("--bf16 and --fp16 are mutually exclusive", "Pick one (bf16 where the GPU supports it).")
    if loss_name.startswith("Cached") and options.gradient_checkpointing:
        raise FitError(
            f"{loss_name} cannot be combined with gradient checkpointing: the cached loss already trades compute "
            "for memory by re-running the forward pass per mini-batch with replayed random states, and "
            "checkpointing inside that re-run saves nothing more while putting its cached gradients at risk",
            "Drop --gradient-checkpointing; lower the loss's mini_batch_size to save memory instead.",
        )
    if (options.bf16 or options.fp16) and is_listwise(loss_name, loss_table):
        installed = st_version or _installed_sentence_transformers()
        if _version_tuple(installed) < _version_tuple(LISTWISE_MIXED_PRECISION_MIN):
            flag = "--bf16" if options.bf16 else "--fp16"
            raise FitError(
                f"{loss_name} with {flag} on sentence-transformers {installed}: before "
                f"{LISTWISE_MIXED_PRECISION_MIN} the listwise losses put half-precision scores into a float32 "
                "score matrix, which fails ('Index put requires the source and destination dtypes match'), and "
                "run exp/softmax in half precision, which overflows under fp16",
                f"Upgrade: pip install 'sentence-transformers>={LISTWISE_MIXED_PRECISION_MIN}', or drop {flag}.",
            )
    if options.fp16:
        import torch

        if not torch.cuda.is_available():
            raise FitError("--fp16 needs a CUDA GPU, and none is available", "Drop --fp16 (or use --bf16 on CPU).")


# --------------------------------------------------------------------------------------------- data


def input_columns(table: pa.Table) -> list[str]:
    return [name for name in table.column_names if name != LABEL]


def _is_list(data_type: pa.DataType) -> bool:
    return pa.types.is_list(data_type) or pa.types.is_large_list(data_type) or pa.types.is_fixed_size_list(data_type)


def _is_text(data_type: pa.DataType) -> bool:
    return pa.types.is_string(data_type) or pa.types.is_large_string(data_type)


def _label_values(table: pa.Table) -> list[Any]:
    return table.column(LABEL).to_pylist() if LABEL in table.column_names else []


def _rows_where(mask: pa.ChunkedArray | pa.Array, limit: int = 3) -> list[int]:
    return [i for i, flag in enumerate(mask.to_pylist()) if flag][:limit]


def _describe_rows(rows: list[int], total: int) -> str:
    shown = ", ".join(str(r) for r in rows)
    return f"{total} row{'s' if total != 1 else ''} (e.g. row {shown})" if total else "no rows"


def check_data(table: pa.Table, format_name: str, loss_name: str | None, loss_table: LossTable) -> None:
    """Shape problems that would crash (or silently mislead) the loss, found in the whole table up front."""
    fmt = loss_table.format(format_name)
    inputs = input_columns(table)
    has_label = LABEL in table.column_names
    wants_label = fmt.labels != ["none"]
    # For a labeled-list, `texts` counts the plain text inputs before the list of documents.
    plain = inputs[:-1] if fmt.text_list else inputs
    if not fmt.texts.admits(len(plain)):
        upper = fmt.texts.max if fmt.texts.max is not None else "or more"
        expected = f"{fmt.texts.min}" if fmt.texts.min == fmt.texts.max else f"{fmt.texts.min} {upper}"
        expected = f"{expected} text input column{'s' if fmt.texts.min != 1 or fmt.texts.max != 1 else ''}"
        if fmt.text_list:
            expected += " and a list of documents"
        raise FitError(
            f"{fmt.name} data needs {expected}, but the table has {len(inputs)} input columns ({', '.join(inputs)})",
            "Select the input columns in order, then the label column named 'label'.",
        )
    if wants_label and not has_label:
        raise FitError(
            f"{fmt.name} data needs a label column named 'label', but the table has only {', '.join(inputs)}",
            "Rename the label column: dataset = dataset.rename_column('score', 'label').",
        )
    if table.num_rows == 0:
        raise FitError("the table has no rows", None)
    for name in inputs:
        column = table.column(name)
        if column.null_count:
            raise FitError(
                f"input column '{name}' is empty (null) in {column.null_count} rows",
                f"Drop them first: dataset = dataset.filter(lambda row: row['{name}'] is not None).",
            )
        if not (_is_text(column.type) or (_is_list(column.type) and _is_text(column.type.value_type))):
            raise FitError(
                f"input column '{name}' holds {column.type}, not text",
                "Inputs must be strings (or a list of strings for the documents of a labeled-list).",
            )
    last = table.column(inputs[-1])
    if fmt.text_list and not _is_list(last.type):
        raise FitError(
            f"{fmt.name} data needs its last input ('{inputs[-1]}') to be a list of documents, but it holds {last.type}",
            "Group the pairs by query: `lossadvisor convert DATASET --to labeled-list`.",
        )
    if not has_label:
        return
    label = table.column(LABEL)
    if label.null_count:
        raise FitError(f"the label column is empty (null) in {label.null_count} rows", "Drop or fill those rows.")
    if fmt.label_length is not None:
        _check_list_labels(table, fmt.name, fmt.label_length, inputs)
    elif _is_list(label.type):
        raise FitError(
            f"{fmt.name} data needs one number per row in 'label', but it holds lists ({label.type})",
            "A list per row is a labeled-list or a *-scores distillation format.",
        )
    else:
        _check_scalar_labels(table, fmt.name, loss_name, loss_table)


def _check_list_labels(table: pa.Table, fmt: str, label_length: str, inputs: list[str]) -> None:
    label = table.column(LABEL)
    if not _is_list(label.type):
        raise FitError(f"{fmt} data needs a list of numbers per row in 'label', but it holds {label.type}", None)
    lengths = pc.list_value_length(label)
    if label_length == "docs":
        docs = pc.list_value_length(table.column(inputs[-1]))
        mismatch = pc.not_equal(lengths, docs)
        count = pc.sum(mismatch).as_py() or 0
        if count:
            rows = _rows_where(mismatch)
            first = rows[0]
            raise FitError(
                f"{_describe_rows(rows, count)} have a different number of documents and labels "
                f"(row {first}: {docs[first].as_py()} documents, {lengths[first].as_py()} labels): a listwise loss "
                "needs one label per document",
                "Fix or drop those rows: dataset.filter(lambda row: len(row['docs']) == len(row['label'])).",
            )
        empty = pc.equal(docs, 0)
        count = pc.sum(empty).as_py() or 0
        if count:
            raise FitError(
                f"{_describe_rows(_rows_where(empty), count)} have an empty document list",
                "Drop them: dataset.filter(lambda row: len(row['docs']) > 0).",
            )
    else:
        expected = len(inputs) - 2 if label_length == "negatives" else len(inputs) - 1
        mismatch = pc.not_equal(lengths, expected)
        count = pc.sum(mismatch).as_py() or 0
        if count:
            rows = _rows_where(mismatch)
            raise FitError(
                f"{_describe_rows(rows, count)} have {lengths[rows[0]].as_py()} labels, but {fmt} with "
                f"{len(inputs)} input columns needs {expected} per row",
                "MarginMSELoss takes either [pos - neg_i for each negative] or [pos, neg_1, ..., neg_n].",
            )
    flat = pc.list_flatten(label)
    if not (pa.types.is_integer(flat.type) or pa.types.is_floating(flat.type)):
        raise FitError(f"the labels are {flat.type}, not numbers", None)
    _check_finite(pc.list_flatten(label), "label list entries")


def _check_finite(values: pa.Array | pa.ChunkedArray, what: str) -> None:
    if pa.types.is_floating(values.type):
        bad = pc.invert(pc.is_finite(values))
        count = pc.sum(bad).as_py() or 0
        if count:
            raise FitError(
                f"{count} {what} are NaN or infinite: the loss would be NaN from the first batch that holds one",
                "Drop or fix them: dataset.filter(lambda row: math.isfinite(row['label'])).",
            )


def _check_scalar_labels(table: pa.Table, fmt: str, loss_name: str | None, loss_table: LossTable) -> None:
    label = table.column(LABEL)
    if pa.types.is_boolean(label.type):
        return
    if not (pa.types.is_integer(label.type) or pa.types.is_floating(label.type)):
        hint = (
            "Encode the classes as integers: dataset = dataset.class_encode_column('label')."
            if fmt == "pair-class"
            else "Convert the labels to numbers first."
        )
        raise FitError(f"the label column holds {label.type}, not numbers", hint)
    _check_finite(label, "labels")
    if loss_name is None or loss_name not in loss_table.losses:
        return
    low, high = pc.min(label).as_py(), pc.max(label).as_py()
    if loss_table.losses[loss_name].num_labels == "num_classes":
        integral = pc.all(pc.equal(label, pc.round(label))).as_py() if pa.types.is_floating(label.type) else True
        if not integral or low < 0 or high >= MAX_CLASSES:
            raise FitError(
                f"{loss_name} needs class ids 0..N-1 in 'label', but found values from {low} to {high}",
                "Map each class to an integer id: dataset = dataset.class_encode_column('label').",
            )
    if loss_name == "BinaryCrossEntropyLoss" and (low < 0 or high > 1):
        raise FitError(
            f"BinaryCrossEntropyLoss needs labels between 0 and 1, but found {low} to {high}",
            f"Rescale them: dataset = dataset.map(lambda row: {{'label': (row['label'] - {low}) / {high - low}}}).",
        )


@dataclass(frozen=True)
class _Split:
    train: pa.Table
    eval: pa.Table | None
    batch_size: int
    notes: tuple[str, ...] = ()


def sample_split(table: pa.Table, options: TrialOptions) -> _Split:
    """A seeded sample with an optional held-out part; the same seed gives the same rows for every loss."""
    import numpy as np

    n = table.num_rows
    notes: list[str] = []
    wanted = options.sample_size or options.steps * options.batch_size
    frac = min(max(options.eval_fraction, 0.0), 0.9)
    n_eval = math.ceil(wanted * frac / (1 - frac)) if frac else 0
    if wanted + n_eval > n:
        n_eval = max(2, int(n * frac)) if frac and n >= 4 else 0
        wanted = n - n_eval
    order = np.random.default_rng(options.seed).permutation(n)
    eval_table = table.take(pa.array(np.sort(order[:n_eval]))) if n_eval else None
    train_table = table.take(pa.array(order[n_eval : n_eval + wanted]))
    batch_size = options.batch_size
    if train_table.num_rows < batch_size:
        batch_size = max(1, train_table.num_rows)
        notes.append(f"batch size lowered to {batch_size}: the data has only {train_table.num_rows} training rows")
    return _Split(train_table, eval_table, batch_size, tuple(notes))


def _trainer_columns(table: pa.Table) -> pa.Table:
    """Rename inputs that collide with the label or reserved names; order (what the losses read) is kept."""
    names = []
    for name in table.column_names:
        if name != LABEL and name in _RESERVED:
            name = f"{name}_text"
        while name in names:
            name = f"{name}_"
        names.append(name)
    return table.rename_columns(names)


def _to_dataset(table: pa.Table):
    from datasets import Dataset
    from datasets.table import InMemoryTable

    return Dataset(InMemoryTable(_trainer_columns(table).combine_chunks()))


def texts_of(table: pa.Table, limit: int = 20000) -> list[str]:
    """Every text of the table (list columns flattened), for training the tiny model's tokenizer."""
    texts: list[str] = []
    for name in input_columns(table):
        column = table.column(name)
        values = pc.list_flatten(column) if _is_list(column.type) else column
        texts.extend(value for value in values.to_pylist() if isinstance(value, str))
        if len(texts) >= limit:
            break
    return texts[:limit]


# --------------------------------------------------------------------------------------------- model + loss


def infer_num_labels(loss_name: str, table: pa.Table, loss_table: LossTable) -> int:
    """num_classes for CrossEntropyLoss (from the label values), 1 for every other loss."""
    rule = loss_table.losses[loss_name].num_labels if loss_name in loss_table.losses else "1"
    if rule != "num_classes":
        return 1
    if LABEL not in table.column_names:
        raise FitError(f"{loss_name} needs a class label column named 'label'", None)
    high = pc.max(table.column(LABEL)).as_py()
    if not isinstance(high, (int, float)) or not math.isfinite(high) or high >= MAX_CLASSES:
        raise FitError(
            f"{loss_name} needs class ids 0..N-1 in 'label', but the largest label is {high}: "
            f"that would be a model with {high} outputs",
            "Map each class to an integer id: dataset = dataset.class_encode_column('label').",
        )
    # Class ids are 0..N-1; a slice that lacks the top class still needs its output.
    return max(2, int(high) + 1)


def _binary_counts(table: pa.Table) -> tuple[int, int] | None:
    if LABEL not in table.column_names or _is_list(table.column(LABEL).type):
        return None
    values = table.column(LABEL)
    if pa.types.is_boolean(values.type):
        values = pc.cast(values, pa.int64())
    if not (pa.types.is_integer(values.type) or pa.types.is_floating(values.type)):
        return None
    is_zero = pc.equal(values, 0)
    is_one = pc.equal(values, 1)
    if not pc.all(pc.or_(is_zero, is_one)).as_py():
        return None
    return int(pc.sum(is_zero).as_py() or 0), int(pc.sum(is_one).as_py() or 0)


def _lists_sorted_by_label(table: pa.Table) -> bool:
    for labels in table.column(LABEL).to_pylist():
        if any(later > earlier for earlier, later in zip(labels, labels[1:])):
            return False
    return True


def advise_loss(loss_name: str, table: pa.Table, loss_table: LossTable, batch_size: int = 8) -> LossConstruction:
    """The constructor arguments the table advises, with the values taken from this data. Pure: no torch."""
    entry = loss_table.losses[loss_name]
    table_params = {param.name: param for param in entry.params}
    params: list[AdvisedParam] = []
    if entry.loss_activation and entry.activation == "identity" and "activation_fn" in table_params:
        params.append(AdvisedParam("activation_fn", "torch.nn.Identity()", "identity", table_params["activation_fn"].why))
    if loss_name == "BinaryCrossEntropyLoss":
        counts = _binary_counts(table)
        if counts is not None and counts[0] and counts[1]:
            ratio = round(counts[0] / counts[1], 2)
            why = f"{counts[0]} negatives / {counts[1]} positives: {table_params['pos_weight'].why}"
            params.append(AdvisedParam("pos_weight", f"torch.tensor({ratio})", ratio, why))
    if loss_name == "LambdaLoss":
        why = table_params["weighting_scheme"].why if "weighting_scheme" in table_params else "the default"
        params.append(AdvisedParam("weighting_scheme", "losses.NDCGLoss2PPScheme()", "NDCGLoss2PPScheme", why))
    if "respect_input_order" in table_params and LABEL in table.column_names:
        if not _lists_sorted_by_label(table):
            params.append(
                AdvisedParam(
                    "respect_input_order",
                    "False",
                    False,
                    "the documents are not sorted by label, so the loss must sort them itself",
                )
            )
    if "mini_batch_size" in table_params:
        size = int(table_params["mini_batch_size"].value)
        why = table_params["mini_batch_size"].why
        if loss_name.startswith("Cached") and batch_size <= size:
            # A mini-batch as large as the batch caches nothing; half the batch exercises the caching path.
            size = max(1, batch_size // 2)
            why = f"{why} (halved batch here so that the trial exercises gradient caching)"
        params.append(AdvisedParam("mini_batch_size", str(size), size, why))
    return LossConstruction(
        loss_name=loss_name,
        num_labels=infer_num_labels(loss_name, table, loss_table),
        identity_activation=entry.activation == "identity",
        params=tuple(params),
    )


def _param_value(param: AdvisedParam, model: CrossEncoder):
    import torch
    from sentence_transformers.cross_encoder import losses

    if param.name == "activation_fn":
        return torch.nn.Identity()
    if param.name == "pos_weight":
        return torch.tensor(float(param.value), device=model.device)
    if param.name == "weighting_scheme":
        return getattr(losses, str(param.value))()
    return param.value


def build_loss(
    model: CrossEncoder, loss_name: str, table: pa.Table, loss_table: LossTable, batch_size: int = 8
) -> tuple[torch.nn.Module, str]:
    """The real loss class from sentence_transformers.cross_encoder.losses, with the advised parameters."""
    construction = advise_loss(loss_name, table, loss_table, batch_size)
    return instantiate_loss(model, construction, loss_table), construction.code


def instantiate_loss(model: CrossEncoder, construction: LossConstruction, loss_table: LossTable) -> torch.nn.Module:
    module_path, class_name = loss_table.losses[construction.loss_name].import_path.rsplit(".", 1)
    cls = getattr(importlib.import_module(module_path), class_name)
    kwargs = {param.name: _param_value(param, model) for param in construction.params}
    return cls(model, **kwargs)


def model_code(options: TrialOptions, num_labels: int, identity_activation: bool) -> str:
    if options.model == "tiny":
        return (
            f"build_tiny_cross_encoder(texts, num_labels={num_labels}, identity_activation={identity_activation}, "
            f"max_length={options.max_length}, seed={options.seed})"
        )
    activation = ", activation_fn=torch.nn.Identity()" if identity_activation else ""
    return f"CrossEncoder({json.dumps(options.model)}, num_labels={num_labels}, max_length={options.max_length}{activation})"


# --------------------------------------------------------------------------------------------- custom losses


def load_custom_loss(spec: str) -> type:
    """`path/to/file.py:ClassName` or `package.module:ClassName`; the code is imported only now."""
    if ":" not in spec:
        raise FitError(f"custom loss '{spec}' needs the form path/to/file.py:ClassName or package.module:ClassName", None)
    where, _, class_name = spec.rpartition(":")
    if not class_name.isidentifier():
        raise FitError(f"'{class_name}' is not a class name (in custom loss '{spec}')", None)
    if where.endswith(".py") or "/" in where or "\\" in where:
        path = Path(where).expanduser()
        if not path.is_file():
            raise FitError(f"custom loss file {where} does not exist", None)
        digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
        module_name = f"lossadvisor_custom_{path.stem}_{digest}"
        module_spec = importlib.util.spec_from_file_location(module_name, path)
        if module_spec is None or module_spec.loader is None:
            raise FitError(f"cannot import {where} as Python code", None)
        module = importlib.util.module_from_spec(module_spec)
        # Registered before execution: dataclasses and pickling look the module up by name.
        sys.modules[module_name] = module
        try:
            module_spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(module_name, None)
            raise FitError(f"importing {where} failed: {type(exc).__name__}: {exc}", None) from None
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as exc:
            raise FitError(f"cannot import module '{where}': {exc}", "Is it installed, or on PYTHONPATH?") from None
    cls = getattr(module, class_name, None)
    if cls is None:
        found = sorted(name for name, value in vars(module).items() if inspect.isclass(value))
        raise FitError(f"{where} has no class '{class_name}'", f"Classes there: {', '.join(found) or 'none'}.")
    if not inspect.isclass(cls):
        raise FitError(f"'{class_name}' in {where} is not a class", None)
    return cls


def _example_table(format_name: str, loss_table: LossTable) -> pa.Table:
    """Two rows built from the format's example in the table: enough for one forward pass."""
    example = dict(loss_table.format(format_name).example)
    label_key = next((key for key in ("label", "labels", "score") if key in example), None)
    columns = {key: [value, value] for key, value in example.items() if key != label_key}
    if label_key is not None:
        columns[LABEL] = [example[label_key], example[label_key]]
    return pa.table(columns)


def _one_batch(model: CrossEncoder, table: pa.Table, rows: int = 2) -> tuple[list[Any], Any]:
    """The (inputs, labels) the trainer would hand the loss, from the first rows, built the trainer's way."""
    from sentence_transformers.cross_encoder.data_collator import CrossEncoderDataCollator

    dataset = _to_dataset(table.slice(0, rows))
    batch = CrossEncoderDataCollator(preprocess_fn=model.preprocess)([dataset[i] for i in range(len(dataset))])
    labels = batch.pop("label", None)
    return list(batch.values()), labels


def check_custom_loss(
    cls: type,
    table: pa.Table | None = None,
    format_name: str = "labeled-pair",
    loss_table: LossTable | None = None,
    model: CrossEncoder | None = None,
) -> list[RequirementCheck]:
    """What the trainer needs from a loss class, each checked; forward is really called on one tiny batch."""
    import torch

    from lossadvisor.table import load_table

    loss_table = loss_table or load_table()
    checks: list[RequirementCheck] = []
    name = getattr(cls, "__name__", repr(cls))
    is_module = inspect.isclass(cls) and issubclass(cls, torch.nn.Module)
    checks.append(
        RequirementCheck(
            "subclass of torch.nn.Module",
            is_module,
            f"{name} derives from torch.nn.Module" if is_module else f"{name} does not derive from torch.nn.Module",
        )
    )
    try:
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    except (TypeError, ValueError):
        parameters = []
    first = parameters[0].name if parameters else None
    model_first = first == "model"
    checks.append(
        RequirementCheck(
            "`model` is the first constructor argument",
            model_first,
            "the trainer rebuilds the loss around a wrapped model through this argument"
            if model_first
            else f"the first argument is {first!r}"
            if first
            else "the constructor takes no arguments",
        )
    )
    required_extra = [
        p.name
        for p in parameters[1:]
        if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    forward = getattr(cls, "forward", None)
    forward_params = list(inspect.signature(forward).parameters.values())[1:] if callable(forward) else []
    positional = [p for p in forward_params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    takes_two = len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in forward_params)
    checks.append(
        RequirementCheck(
            "forward(inputs, labels)",
            takes_two,
            "forward takes the list of input columns and the labels"
            if takes_two
            else f"forward takes ({', '.join(p.name for p in forward_params)}); the trainer calls loss(inputs, labels)",
        )
    )
    checks.append(
        _call_check(cls, is_module and model_first and takes_two, required_extra, table, format_name, loss_table, model)
    )
    config = getattr(cls, "get_config_dict", None)
    own_config = callable(config) and config is not getattr(torch.nn.Module, "get_config_dict", None)
    checks.append(
        RequirementCheck(
            "get_config_dict()",
            True,
            "present: the model card lists the loss parameters"
            if own_config
            else "absent (optional): the model card will list no loss parameters",
            required=False,
        )
    )
    has_citation = "citation" in dir(cls)
    checks.append(
        RequirementCheck(
            "citation",
            True,
            "present: the model card cites it" if has_citation else "absent (optional): the model card cites nothing",
            required=False,
        )
    )
    return checks


def _call_check(
    cls: type,
    callable_shape: bool,
    required_extra: list[str],
    table: pa.Table | None,
    format_name: str,
    loss_table: LossTable,
    model: CrossEncoder | None,
) -> RequirementCheck:
    import torch

    title = "forward returns a tensor or a dict of tensors"
    if not callable_shape:
        return RequirementCheck(title, False, "not called: the checks above must pass first")
    if required_extra:
        return RequirementCheck(
            title, False, f"not called: the constructor also requires {', '.join(required_extra)} without defaults"
        )
    fmt = loss_table.resolve_format(format_name)
    sample = table if table is not None else _example_table(fmt, loss_table)
    if model is None:
        from lossadvisor.tiny_model import build_tiny_cross_encoder

        num_labels = infer_num_labels("CrossEntropyLoss", sample, loss_table) if fmt == "pair-class" else 1
        model = build_tiny_cross_encoder(texts_of(sample), num_labels, identity_activation=False)
    try:
        loss = cls(model)
        inputs, labels = _one_batch(model, sample)
        output = loss(inputs, labels)
    except Exception as exc:
        return RequirementCheck(title, False, f"calling it on one {fmt} batch raised {type(exc).__name__}: {exc}")
    values = list(output.values()) if isinstance(output, dict) else [output]
    if not values or not all(isinstance(value, torch.Tensor) for value in values):
        return RequirementCheck(title, False, f"it returned {type(output).__name__}, not a tensor or dict of tensors")
    if not all(value.numel() == 1 for value in values):
        shapes = ", ".join(str(tuple(value.shape)) for value in values)
        return RequirementCheck(title, False, f"it returned shape {shapes}; the trainer needs one number per loss")
    if not all(value.requires_grad for value in values):
        return RequirementCheck(title, False, "the result does not depend on the model (no gradient): nothing trains")
    kind = "a dict of " + str(len(values)) + " tensors" if isinstance(output, dict) else "a scalar tensor"
    return RequirementCheck(title, True, f"one {fmt} batch gave {kind} ({float(sum(v.item() for v in values)):.4g})")


# --------------------------------------------------------------------------------------------- evaluation


def build_evaluator(format_name: str, table: pa.Table, num_labels: int):
    """The library evaluator that fits the format, on the held-out rows (None when none fits)."""
    from sentence_transformers.cross_encoder.evaluation import (
        CrossEncoderClassificationEvaluator,
        CrossEncoderCorrelationEvaluator,
        CrossEncoderRerankingEvaluator,
    )

    inputs = input_columns(table)
    columns = [table.column(name).to_pylist() for name in inputs]
    labels = _label_values(table)
    common = {"name": "", "write_csv": False, "show_progress_bar": False}
    if format_name in ("pair-class", "labeled-pair"):
        pairs = [list(pair) for pair in zip(columns[0], columns[1])]
        if num_labels == 1 and len(set(labels)) < 2:
            return None
        return CrossEncoderClassificationEvaluator(pairs, [int(v) for v in labels], **common)
    if format_name == "pair-score":
        pairs = [list(pair) for pair in zip(columns[0], columns[1])]
        return CrossEncoderCorrelationEvaluator(pairs, [float(v) for v in labels], **common)
    samples = []
    if format_name == "labeled-list":
        for query, docs, gains in zip(columns[0], columns[1], labels):
            positive = [doc for doc, gain in zip(docs, gains) if gain > 0]
            negative = [doc for doc, gain in zip(docs, gains) if gain <= 0]
            if positive and negative:
                samples.append({"query": query, "positive": positive, "negative": negative})
    elif format_name == "pair":
        # No negatives in the data: the other rows' positives stand in, as in-batch negatives do in training.
        for index, (query, positive) in enumerate(zip(columns[0], columns[1])):
            others = [doc for doc in columns[1] if doc != positive][:9]
            start = index % max(1, len(others))
            negatives = others[start:] + others[:start]
            if negatives:
                samples.append({"query": query, "positive": [positive], "negative": negatives})
    else:
        for index, row in enumerate(zip(*columns)):
            query, candidates = row[0], list(row[1:])
            relevance = _relevance(format_name, labels[index] if labels else None, len(candidates))
            best = max(range(len(candidates)), key=lambda i: relevance[i])
            negatives = [doc for i, doc in enumerate(candidates) if i != best and doc != candidates[best]]
            if negatives:
                samples.append({"query": query, "positive": [candidates[best]], "negative": negatives})
    if not samples:
        return None
    return CrossEncoderRerankingEvaluator(samples, at_k=10, name="", write_csv=False, show_progress_bar=False)


def _relevance(format_name: str, label: Any, candidates: int) -> list[float]:
    """Which candidate is best: the positive column unless the teacher says otherwise."""
    if label is None:
        return [1.0] + [0.0] * (candidates - 1)
    if format_name == "triplet-margin":
        return [float(label), 0.0]
    if format_name == "n-tuple-margin" or (isinstance(label, list) and len(label) == candidates - 1):
        return [0.0] + [-float(margin) for margin in label]
    return [float(score) for score in label]


def _evaluate(evaluator, model: CrossEncoder, notes: list[str]) -> tuple[str, float] | None:
    """The evaluator's primary metric; an evaluator that fails costs the trial its score, not its result."""
    try:
        scores = evaluator(model)
    except Exception as exc:
        notes.append(f"evaluation failed: {type(exc).__name__}: {str(exc).strip()[:200]}")
        return None
    metric = evaluator.primary_metric
    value = scores.get(metric)
    if value is None:
        metric, value = next(iter(scores.items()))
    return metric, float(value)


# --------------------------------------------------------------------------------------------- training


def _make_recorder(on_step: Callable[[int, float], None] | None):
    from transformers import TrainerCallback

    class LossRecorder(TrainerCallback):
        """Loss and gradient norm at every step; stops at the first non-finite loss."""

        def __init__(self) -> None:
            self.losses: list[float] = []
            self.grad_norms: list[float | None] = []
            self.step_times: list[float] = []
            self.first_bad_step: int | None = None

        def on_step_end(self, args, state, control, **kwargs):
            self.step_times.append(time.perf_counter())

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not logs or "loss" not in logs:
                return
            loss = float(logs["loss"])
            norm = logs.get("grad_norm")
            self.losses.append(loss)
            self.grad_norms.append(float(norm) if norm is not None else None)
            if on_step is not None:
                on_step(state.global_step, loss)
            if not math.isfinite(loss) and self.first_bad_step is None:
                self.first_bad_step = state.global_step
                control.should_training_stop = True

    return LossRecorder()


def _reset_peak_rss() -> bool:
    """Linux lets a process reset its own peak RSS (VmHWM); elsewhere the peak covers the whole process."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def _peak_rss_mib() -> float:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is KiB on Linux, bytes on macOS.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _window_means(losses: Sequence[float]) -> tuple[float | None, float | None, bool | None]:
    if len(losses) < 4:
        return None, None, None
    width = max(2, len(losses) // 4)
    first = sum(losses[:width]) / width
    last = sum(losses[-width:]) / width
    return first, last, last < first


@dataclass
class _Prepared:
    """What run_trial and compare share: the sample, the evaluator rows and the model folders."""

    split: _Split
    workdir: Path
    model_folders: dict[int, Path] = field(default_factory=dict)


def _prepare(table: pa.Table, options: TrialOptions, workdir: Path) -> _Prepared:
    return _Prepared(split=sample_split(table, options), workdir=workdir)


def _load_model(prepared: _Prepared, options: TrialOptions, num_labels: int, identity: bool) -> CrossEncoder:
    from lossadvisor.tiny_model import load_cross_encoder, load_local_cross_encoder, save_tiny_model

    if options.model != "tiny":
        return load_cross_encoder(options.model, [], num_labels, identity, options.max_length, options.seed,
                                  trust_remote_code=options.trust_remote_code)
    folder = prepared.model_folders.get(num_labels)
    if folder is None:
        split = prepared.split
        texts = texts_of(split.train) + (texts_of(split.eval) if split.eval is not None else [])
        folder = save_tiny_model(texts, num_labels, prepared.workdir / f"tiny-{num_labels}", options.max_length, options.seed)
        prepared.model_folders[num_labels] = folder
    # Every loss of a comparison starts from the same saved weights.
    return load_local_cross_encoder(folder, num_labels, identity, options.max_length)


def _checkpointing_argument(enabled: bool) -> dict[str, bool]:
    """transformers 5 renamed gradient_checkpointing to activation_checkpointing (the old name warns)."""
    if not enabled:
        return {}
    from transformers import TrainingArguments

    fields = getattr(TrainingArguments, "__dataclass_fields__", {})
    return {"activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing": True}


def _training_args(options: TrialOptions, output_dir: Path, batch_size: int, loss_name: str):
    import torch
    from sentence_transformers.cross_encoder import CrossEncoderTrainingArguments

    settings: dict[str, Any] = dict(
        output_dir=str(output_dir),
        max_steps=options.steps,
        per_device_train_batch_size=batch_size,
        learning_rate=options.learning_rate,
        warmup_steps=0,
        logging_strategy="steps",
        logging_steps=1,
        # Without this the trainer hides a NaN step behind the mean of the previous ones.
        logging_nan_inf_filter=False,
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=options.seed,
        data_seed=options.seed,
        bf16=options.bf16,
        fp16=options.fp16,
        dataloader_pin_memory=False,
        # The sampler by value: its enum moved between sentence-transformers 5 and 6.
        batch_sampler="no_duplicates" if loss_name in _IN_BATCH_LOSSES else "batch_sampler",
        **_checkpointing_argument(options.gradient_checkpointing),
    )
    if options.bf16 and not torch.cuda.is_available():
        # bf16 without CUDA runs as CPU autocast, which transformers accepts only when told so.
        settings["use_cpu"] = True
    try:
        return CrossEncoderTrainingArguments(**settings)
    except ValueError as exc:
        raise FitError(f"the trainer refused these settings: {str(exc).strip().splitlines()[0]}", None) from None


def _is_oom(exc: BaseException) -> bool:
    import torch

    oom_type = getattr(torch, "OutOfMemoryError", None)
    if isinstance(exc, MemoryError) or (oom_type is not None and isinstance(exc, oom_type)):
        return True
    return "out of memory" in str(exc).lower()


def _explain_oom(loss_name: str, format_name: str, table: pa.Table, batch_size: int, options: TrialOptions) -> tuple[str, str]:
    inputs = input_columns(table)
    if format_name == _LISTWISE_FORMAT:
        longest = pc.max(pc.list_value_length(table.column(inputs[-1]))).as_py() or 0
        scored = f"up to {batch_size * longest} (query, document) pairs per step (the longest list has {longest})"
        hint = "Lower --batch-size or --max-length, or set mini_batch_size on the loss to bound the pairs per forward."
    elif loss_name in _IN_BATCH_LOSSES:
        per_anchor = len(inputs) - 1 + 4
        scored = f"about {batch_size * per_anchor} pairs per step ({per_anchor} candidates per anchor)"
        hint = "Lower --batch-size, or use CachedMultipleNegativesRankingLoss with a small mini_batch_size."
    else:
        scored = f"{batch_size * max(1, len(inputs) - 1)} pairs per step"
        hint = "Lower --batch-size or --max-length, or add --gradient-checkpointing."
    problem = f"out of memory: {loss_name} scores {scored} at up to {options.max_length} tokens each"
    return problem, hint


def _explain_nonfinite(loss_name: str, table: pa.Table, step: int, options: TrialOptions) -> tuple[str, str]:
    problem = f"the loss became non-finite at step {step}"
    if options.fp16:
        return problem + " under fp16, whose range overflows easily", "Use --bf16, or train in float32."
    if LABEL in table.column_names:
        label = table.column(LABEL)
        values = pc.list_flatten(label) if _is_list(label.type) else label
        if pa.types.is_floating(values.type) or pa.types.is_integer(values.type):
            high = pc.max(pc.abs(values)).as_py() or 0
            if high > 100:
                return (
                    problem + f": labels reach {high}, far outside the range {loss_name} regresses comfortably",
                    "Rescale the labels (e.g. to [0, 1]) before training.",
                )
    return (
        problem + f" at learning rate {options.learning_rate:g}: the updates diverged",
        f"Try --lr {options.learning_rate / 10:g}.",
    )


def _explain_error(
    exc: BaseException, loss_name: str, format_name: str, table: pa.Table, loss_table: LossTable
) -> tuple[str, str | None]:
    """Name the data problem behind a crash inside the loss, when the data shows one."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if loss_name in loss_table.losses:
        # Under --force the likeliest cause is the misfit that --force overrode: name it, not the column order.
        try:
            check_fit(format_name, loss_name, loss_table)
        except FitError as misfit:
            hint = fit_hint(format_name, loss_name, loss_table, force=False)
            return f"{misfit.message} (tried with --force; {loss_name} raised {type(exc).__name__}: {message})", hint
    try:
        check_data(table, format_name, loss_name, loss_table)
    except FitError as found:
        return f"{found.message} ({loss_name} raised {type(exc).__name__}: {message})", found.hint
    fmt = loss_table.format(format_name)
    if isinstance(exc, IndexError) and loss_name in loss_table.losses:
        return (
            f"{loss_name} got a label outside the model's outputs ({message})",
            "Class ids must run from 0 to N-1 and num_labels must be N.",
        )
    expected = f"{fmt.name} ({fmt.description})"
    return (
        f"{loss_name} failed on a batch of {expected}: {type(exc).__name__}: {message}",
        "Check that the columns are in the order the loss reads them (inputs first, then 'label').",
    )


def run_trial(
    table: pa.Table,
    format_name: str,
    loss: str | type,
    loss_table: LossTable,
    options: TrialOptions = TrialOptions(),
    *,
    on_step: Callable[[int, float], None] | None = None,
    _prepared: _Prepared | None = None,
) -> TrialResult:
    """Train `loss` for `options.steps` steps on a seeded sample of `table` and report what happened.

    Raises FitError/LossAdvisorError for what is wrong before training (fit, known-bad combinations, data
    shape); returns a TrialResult with status "not-finite" or "error" for what goes wrong while training.
    """
    if not isinstance(table, pa.Table):
        kind = type(table).__name__
        if "Iterable" in kind:
            check_known_bad("", replace(options, streaming=True), loss_table)
        raise LossAdvisorError(f"run_trial needs a pyarrow.Table, got {kind}", None)
    fmt = loss_table.resolve_format(format_name)
    custom = loss if isinstance(loss, type) else None
    loss_name = custom.__name__ if custom is not None else loss_table.resolve_loss(str(loss))
    if custom is None and not options.force:
        check_fit(fmt, loss_name, loss_table)
    check_known_bad(loss_name, options, loss_table)
    if not options.force:
        check_data(table, fmt, loss_name if custom is None else None, loss_table)

    if _prepared is not None:
        return _run_prepared(table, fmt, loss_name, custom, loss_table, options, on_step, _prepared)
    workdir = Path(tempfile.mkdtemp(prefix="lossadvisor-trial-"))
    try:
        prepared = _prepare(table, options, workdir)
        return _run_prepared(table, fmt, loss_name, custom, loss_table, options, on_step, prepared)
    finally:
        # Also on an error or Ctrl-C: the trial leaves nothing behind.
        shutil.rmtree(workdir, ignore_errors=True)


def _run_prepared(
    table: pa.Table,
    fmt: str,
    loss_name: str,
    custom: type | None,
    loss_table: LossTable,
    options: TrialOptions,
    on_step: Callable[[int, float], None] | None,
    prepared: _Prepared,
) -> TrialResult:
    import torch
    from sentence_transformers.cross_encoder import CrossEncoderTrainer
    from transformers import set_seed
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    split = prepared.split
    if custom is None:
        construction = advise_loss(loss_name, table, loss_table, split.batch_size)
    else:
        num_labels = options.num_labels or (infer_num_labels("CrossEntropyLoss", table, loss_table) if fmt == "pair-class" else 1)
        construction = LossConstruction(loss_name, num_labels, False, ())
    if options.num_labels is not None:
        construction = replace(construction, num_labels=options.num_labels)
    set_seed(options.seed)
    model = _load_model(prepared, options, construction.num_labels, construction.identity_activation)
    if custom is None:
        loss_module = instantiate_loss(model, construction, loss_table)
        loss_code = construction.code
    else:
        checks = check_custom_loss(custom, split.train, fmt, loss_table, model)
        failed = next((check for check in checks if check.required and not check.passed), None)
        if failed is not None:
            raise FitError(f"custom loss {loss_name} fails '{failed.name}': {failed.detail}", None)
        set_seed(options.seed)
        loss_module = custom(model)
        loss_code = f"{loss_name}(model)"

    notes = list(split.notes)
    evaluator = None
    if split.eval is not None and split.eval.num_rows:
        evaluator = build_evaluator(fmt, split.eval, construction.num_labels)
        if evaluator is None:
            notes.append(f"no evaluation: the {split.eval.num_rows} held-out rows give the evaluator nothing to rank")
    before = _evaluate(evaluator, model, notes) if evaluator is not None else None

    recorder = _make_recorder(on_step)
    output_dir = prepared.workdir / ("run-" + re.sub(r"[^\w.-]", "_", loss_name))  # a name, never a path
    args = _training_args(options, output_dir, split.batch_size, loss_name)
    trainer = CrossEncoderTrainer(
        model=model, args=args, train_dataset=_to_dataset(split.train), loss=loss_module, callbacks=[recorder]
    )
    # The CLI draws its own progress; the trainer's printer would write dicts to stdout.
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    cuda = torch.cuda.is_available() and model.device.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    _reset_peak_rss()
    status: Status = "ok"
    problem = hint = None
    started = time.perf_counter()
    try:
        trainer.train()
    except KeyboardInterrupt:
        raise
    except (RuntimeError, ValueError, IndexError, TypeError, MemoryError) as exc:
        status = "error"
        if _is_oom(exc):
            problem, hint = _explain_oom(loss_name, fmt, split.train, split.batch_size, options)
            if cuda:
                # Let the next loss of a comparison start with the memory this one could not use.
                torch.cuda.empty_cache()
        else:
            problem, hint = _explain_error(exc, loss_name, fmt, split.train, loss_table)
    finished = time.perf_counter()
    peak_rss = _peak_rss_mib()
    peak_cuda = torch.cuda.max_memory_allocated() / 2**20 if cuda else None

    losses = tuple(recorder.losses)
    if status == "ok" and recorder.first_bad_step is not None:
        status = "not-finite"
        problem, hint = _explain_nonfinite(loss_name, split.train, recorder.first_bad_step, options)
    times = recorder.step_times
    steps_per_second = (len(times) - 1) / (times[-1] - times[0]) if len(times) >= 2 and times[-1] > times[0] else None
    finite = [value for value in losses if math.isfinite(value)]
    first_mean, last_mean, went_down = _window_means(finite if status == "ok" else [])

    evaluation = None
    if evaluator is not None and before is not None:
        after = _evaluate(evaluator, model, notes) if status == "ok" else None
        evaluation = EvalScore(type(evaluator).__name__, before[0], before[1], after[1] if after else None, split.eval.num_rows)
    return TrialResult(
        loss_name=loss_name,
        format_name=fmt,
        status=status,
        losses=losses,
        grad_norms=tuple(recorder.grad_norms),
        steps_requested=options.steps,
        first_bad_step=recorder.first_bad_step,
        first_window_mean=first_mean,
        last_window_mean=last_mean,
        went_down=went_down,
        steps_per_second=steps_per_second,
        samples_per_second=steps_per_second * split.batch_size if steps_per_second else None,
        time_to_first_step_s=times[0] - started if times else None,
        train_seconds=finished - started,
        peak_rss_mib=peak_rss,
        peak_cuda_mib=peak_cuda,
        device=str(model.device),
        model_code=model_code(options, construction.num_labels, construction.identity_activation),
        loss_code=loss_code,
        params=construction.params,
        train_rows=split.train.num_rows,
        eval_rows=split.eval.num_rows if split.eval is not None else 0,
        batch_size=split.batch_size,
        learning_rate=options.learning_rate,
        evaluation=evaluation,
        problem=problem,
        hint=hint,
        notes=tuple(notes),
    )


def _release_memory() -> None:
    """The trainer holds reference cycles; collect them so the next loss starts from the same memory."""
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def compare(
    table: pa.Table,
    format_name: str,
    losses: Sequence[str | type],
    loss_table: LossTable,
    options: TrialOptions = TrialOptions(),
    *,
    on_step: Callable[[str, int, float], None] | None = None,
) -> list[TrialResult]:
    """Several losses on the same sample, the same starting weights and the same seed, one result each.

    Every loss is checked before any trains, so a misfit fails in a second rather than after the others ran.
    """
    if not losses:
        raise LossAdvisorError("compare needs at least one loss", None)
    fmt = loss_table.resolve_format(format_name)
    names = []
    for loss in losses:
        if isinstance(loss, type):
            names.append(loss)
            continue
        name = loss_table.resolve_loss(str(loss))
        if not options.force:
            check_fit(fmt, name, loss_table)
        check_known_bad(name, options, loss_table)
        if not options.force:
            check_data(table, fmt, name, loss_table)
        names.append(name)
    workdir = Path(tempfile.mkdtemp(prefix="lossadvisor-compare-"))
    try:
        prepared = _prepare(table, options, workdir)
        results = []
        for loss in names:
            label = loss.__name__ if isinstance(loss, type) else loss
            step_hook = (lambda step, value, _label=label: on_step(_label, step, value)) if on_step else None
            results.append(run_trial(table, fmt, loss, loss_table, options, on_step=step_hook, _prepared=prepared))
            _release_memory()
        return results
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# --------------------------------------------------------------------------------------------- display helpers

_BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int | None = None) -> str:
    """One character per value (or per bucket when `width` is smaller); a non-finite value shows as '×'."""
    values = list(values)
    if width is not None and 0 < width < len(values):
        buckets = []
        for index in range(width):
            chunk = values[index * len(values) // width : (index + 1) * len(values) // width]
            bad = any(not math.isfinite(v) for v in chunk)
            buckets.append(float("nan") if bad else sum(chunk) / len(chunk))
        values = buckets
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return "×" * len(values)
    low, high = min(finite), max(finite)
    span = high - low
    chars = []
    for value in values:
        if not math.isfinite(value):
            chars.append("×")
        elif span == 0:
            chars.append(_BLOCKS[len(_BLOCKS) // 2])
        else:
            chars.append(_BLOCKS[round((value - low) / span * (len(_BLOCKS) - 1))])
    return "".join(chars)


def write_plot(results: Sequence[TrialResult], path: str | Path) -> Path:
    """A PNG (or any format matplotlib knows from the suffix) with one loss curve per result."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    if not path.parent.is_dir():
        raise LossAdvisorError(f"cannot write the plot: folder {path.parent} does not exist", None)
    figure, axes = plt.subplots(figsize=(8, 4.5))
    try:
        for result in results:
            steps = list(range(1, len(result.losses) + 1))
            shown = [v if math.isfinite(v) else float("nan") for v in result.losses]
            label = result.loss_name if result.ok else f"{result.loss_name} ({result.status})"
            (line,) = axes.plot(steps, shown, label=label, linewidth=1.5)
            if result.first_bad_step is not None:
                finite = [v for v in shown if math.isfinite(v)]
                axes.plot([result.first_bad_step], [finite[-1] if finite else 0.0], "x", color=line.get_color(), markersize=10)
        axes.set_xlabel("step")
        axes.set_ylabel("training loss")
        if results:
            first = results[0]
            axes.set_title(f"lossadvisor trial: {first.format_name}, batch {first.batch_size}, lr {first.learning_rate:g}")
        axes.grid(alpha=0.3)
        axes.legend()
        figure.tight_layout()
        figure.savefig(path, dpi=120)
    except OSError as exc:
        raise LossAdvisorError(f"cannot write the plot to {path}: {exc.strerror or exc}", None) from None
    finally:
        plt.close(figure)
    return path
