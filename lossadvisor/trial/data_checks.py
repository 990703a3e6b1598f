"""Refusals before anything is loaded: known-bad combinations, and data shapes that would crash the loss."""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from packaging.version import InvalidVersion, Version

from lossadvisor.errors import FitError
from lossadvisor.recipe import LABEL, MAX_CLASSES, build_recipe, data_facts
from lossadvisor.table import LossTable
from lossadvisor.trial.options import TrialOptions

# First release whose listwise losses cast the scores to float32 (huggingface/sentence-transformers#3800):
# before it, half-precision scores scattered into the float32 score matrix crash, and fp16 overflows.
LISTWISE_MIXED_PRECISION_MIN = "5.6"
LISTWISE_FORMAT = "labeled-list"


def _installed_sentence_transformers() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sentence-transformers")
    except PackageNotFoundError:
        return "0"


def _older_than(installed: str, minimum: str) -> bool:
    try:
        return Version(installed) < Version(minimum)
    except InvalidVersion:
        return True  # an unreadable version cannot be trusted to carry the fix


def is_listwise(loss_name: str, loss_table: LossTable) -> bool:
    return loss_name in loss_table.losses and LISTWISE_FORMAT in loss_table.formats_for_loss(loss_name)


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
        if _older_than(installed, LISTWISE_MIXED_PRECISION_MIN):
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


def is_list(data_type: pa.DataType) -> bool:
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
        if not (_is_text(column.type) or (is_list(column.type) and _is_text(column.type.value_type))):
            raise FitError(
                f"input column '{name}' holds {column.type}, not text",
                "Inputs must be strings (or a list of strings for the documents of a labeled-list).",
            )
    last = table.column(inputs[-1])
    if fmt.text_list and not is_list(last.type):
        raise FitError(
            f"{fmt.name} data needs its last input ('{inputs[-1]}') to be a list of documents, but it holds {last.type}",
            "Group the pairs by query: `lossadvisor convert DATASET --to labeled-list`.",
        )
    if not has_label:
        return
    label = table.column(LABEL)
    if label.null_count:
        raise FitError(f"the label column is empty (null) in {label.null_count} rows", "Drop or fill those rows.")
    if fmt.labels == ["embedding"]:
        _check_embeddings(label, fmt.name)
    elif fmt.label_length is not None:
        _check_list_labels(table, fmt.name, fmt.label_length, inputs)
    elif is_list(label.type):
        raise FitError(
            f"{fmt.name} data needs one number per row in 'label', but it holds lists ({label.type})",
            "A list per row is a labeled-list or a *-scores distillation format.",
        )
    else:
        _check_scalar_labels(table, fmt.name, loss_name, loss_table)


def _check_list_labels(table: pa.Table, fmt: str, label_length: str, inputs: list[str]) -> None:
    label = table.column(LABEL)
    if not is_list(label.type):
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


def _check_embeddings(label: pa.ChunkedArray, fmt: str) -> None:
    """A teacher's embedding per row: a list of numbers, the same length in every row."""
    if not is_list(label.type):
        raise FitError(f"{fmt} data needs a teacher embedding (a list of numbers) per row in 'label', but it holds {label.type}",
                       "Compute them with the teacher: dataset.map(lambda b: {'label': teacher.encode(b['text']).tolist()}, batched=True).")
    lengths = set(pc.list_value_length(label).to_pylist())
    if len(lengths) != 1 or 0 in lengths:
        raise FitError(f"the teacher embeddings in 'label' have different lengths ({', '.join(map(str, sorted(lengths)))})",
                       "Every embedding must come from the same teacher.")
    flat = pc.list_flatten(label)
    if not (pa.types.is_integer(flat.type) or pa.types.is_floating(flat.type)):
        raise FitError(f"the teacher embeddings are {flat.type}, not numbers", None)
    _check_finite(flat, "embedding entries")


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

def data_notes(table: pa.Table, format_name: str, loss_name: str) -> list[str]:
    """What the data suggests is wrong without being able to crash the loss: said in the trial's notes."""
    from lossadvisor.checks_shapes import rank_numbers, ranks_fix

    notes = []
    if format_name == LISTWISE_FORMAT and LABEL in table.column_names and is_list(table.column(LABEL).type):
        why = rank_numbers(table.column(LABEL).to_pylist())
        if why is not None:
            notes.append(f"the labels look inverted: {why}. {loss_name} reads a higher label as more relevant, so it"
                         f" would learn the ranking backwards. If 1 is the best, turn the ranks into gains first: "
                         f"{ranks_fix(LABEL)}")
    return notes


def infer_num_labels(loss_name: str, table: pa.Table, loss_table: LossTable, class_names: tuple[str, ...] = ()) -> int:
    """The recipe's num_labels for this data (class ids 0..N-1 need N outputs, and every named class one output, as
    inspect counts them); ids that cannot be ids are refused."""
    if loss_name not in loss_table.losses:
        return 1
    facts = data_facts(table, classes=class_names)
    if loss_table.losses[loss_name].num_labels == "num_classes":
        if LABEL not in table.column_names:
            raise FitError(f"{loss_name} needs a class label column named 'label'", None)
        high = facts.class_ids.high if facts.class_ids is not None else pc.max(table.column(LABEL)).as_py()
        if not isinstance(high, (int, float)) or not math.isfinite(high) or high >= MAX_CLASSES:
            raise FitError(
                f"{loss_name} needs class ids 0..N-1 in 'label', but the largest label is {high}: "
                f"that would be a model with {high} outputs",
                "Map each class to an integer id: dataset = dataset.class_encode_column('label').",
            )
    return build_recipe(loss_name, loss_table, facts).num_labels


def check_embedding_size(table: pa.Table, format_name: str, model, loss_name: str) -> None:
    """Teacher embeddings must have the student's dimension (a sparse model's: its vocabulary)."""
    if format_name != "input-embeddings" or LABEL not in table.column_names or not is_list(table.column(LABEL).type):
        return
    from lossadvisor.trial.models import embedding_dimension

    dimension = embedding_dimension(model)
    lengths = set(pc.list_value_length(table.column(LABEL)).to_pylist())
    if dimension is not None and lengths and lengths != {dimension}:
        raise FitError(f"{loss_name} regresses the model's embeddings onto the teacher's, but the model's have {dimension} "
                       f"dimensions and the teacher's {', '.join(map(str, sorted(lengths)))}",
                       "Use a teacher of the student's size (the same vocabulary, for a sparse model), or a student of the "
                       "teacher's size (--model).")
