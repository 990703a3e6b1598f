"""Conversions for the SentenceTransformer table's formats: single texts with a class, (anchor, anchor) pairs,
and a teacher's embeddings (issue 13).

| method             | from → to                       | how                                                          |
|--------------------|---------------------------------|--------------------------------------------------------------|
| pairs-to-singles   | pair-class → single-class       | each text of a pair takes the pair's class; a text seen with |
|                    |                                 | several classes keeps its most frequent one (ties: lowest)   |
| class-triplets     | single-class → triplet          | per text: a positive of its class, a negative of another     |
| duplicate          | single → anchor-anchor          | (text, the same text)                                        |
| teacher-embeddings | single → input-embeddings       | the teacher SentenceTransformer's embedding of each text     |
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lossadvisor.convert._arrow import LABEL, add_count, flat, label_position, need_columns, need_text, present_text
from lossadvisor.convert.options import ConvertOptions, StepResult
from lossadvisor.convert.progress import as_reporter
from lossadvisor.convert.steps import _step
from lossadvisor.errors import FitError

EMPTY_TEXT = "null or empty text"
MISSING_LABEL = "missing label"


def pairs_to_singles(table: pa.Table, target_format: str, options: ConvertOptions, *, progress: Any = None) -> StepResult:
    """pair-class → single-class: every distinct text of either column, with the class of the pairs it is in."""
    need_columns(table, 3, "pairs-to-singles")
    need_text(table, [0, 1], "pairs-to-singles")
    task = as_reporter(progress).task("one row per text", 1)
    a, b = flat(table.column(0)), flat(table.column(1))
    label = flat(table.column(label_position(table)))
    ok = present_text(a) & present_text(b)
    has_label = np.asarray(pc.is_valid(label).to_numpy(zero_copy_only=False), dtype=bool)
    dropped: dict[str, int] = {}
    add_count(dropped, EMPTY_TEXT, (~ok).sum())
    add_count(dropped, MISSING_LABEL, (ok & ~has_label).sum())
    keep = ok & has_label
    texts_a, texts_b, labels = (np.asarray(c.to_pylist(), dtype=object)[keep] for c in (a, b, label))
    votes: dict[str, Counter] = {}
    for texts in (texts_a, texts_b):
        for text, value in zip(texts, labels):
            votes.setdefault(text, Counter())[value] += 1
    texts, classes, conflicts = [], [], 0
    for text, counter in votes.items():  # first appearance order
        ranked = sorted(counter.items(), key=lambda item: (-item[1], str(item[0])))
        conflicts += len(counter) > 1
        texts.append(text)
        classes.append(ranked[0][0])
    out = pa.table({"text": pa.array(texts, pa.large_string()), LABEL: pa.array(classes, label.type)})
    notes = ["each text takes the class of the pairs it appears in (both texts of a pair get the pair's class): "
             "this fits data whose class belongs to each text (topic, intent); for a relation between the texts "
             "(NLI's entailment) the classes of single texts mean little"]
    if conflicts:
        notes.append(f"{conflicts:,} text(s) appear with several classes: each keeps its most frequent one")
    task.finish()
    return _step("pairs-to-singles", target_format, out, table.num_rows, int(keep.sum()), dropped, notes,
                 {"texts": len(texts), "texts_with_several_classes": conflicts, "classes": len(set(classes))})


def class_triplets(table: pa.Table, target_format: str, options: ConvertOptions, *, progress: Any = None) -> StepResult:
    """single-class → triplet: each text as an anchor, a positive of its own class and a negative of another (seeded)."""
    need_columns(table, 2, "class-triplets")
    need_text(table, [0], "class-triplets")
    task = as_reporter(progress).task("sampling positives and negatives by class", 1)
    text = flat(table.column(0))
    label = flat(table.column(label_position(table)))
    ok = present_text(text)
    has_label = np.asarray(pc.is_valid(label).to_numpy(zero_copy_only=False), dtype=bool)
    dropped: dict[str, int] = {}
    add_count(dropped, EMPTY_TEXT, (~ok).sum())
    add_count(dropped, MISSING_LABEL, (ok & ~has_label).sum())
    rows = np.flatnonzero(ok & has_label)
    values = label.take(pa.array(rows)).to_pylist()
    texts = text.take(pa.array(rows)).to_pylist()
    members: dict[Any, list[int]] = {}
    for index, value in enumerate(values):
        members.setdefault(value, []).append(index)
    if len(members) < 2:
        raise FitError("class-triplets needs two or more classes: a negative comes from another class",
                       f"The data has {len(members)} class(es).")
    rng = np.random.default_rng(options.seed)
    anchors, positives, negatives = [], [], []
    lonely = 0
    codes = np.asarray([id_of for id_of in _class_ids(values)])
    groups = {value: np.asarray(indices) for value, indices in members.items()}
    others: dict[Any, np.ndarray] = {}
    for index, value in enumerate(values):
        positive = _draw(rng, groups[value], lambda other: texts[other] != texts[index])
        if positive is None:
            lonely += 1
            continue
        negative = _draw(rng, np.arange(len(values)), lambda other: codes[other] != codes[index])
        if negative is None:  # one class holds nearly every row: draw from the others directly
            if value not in others:
                others[value] = np.flatnonzero(codes != codes[index])
            negative = int(others[value][int(rng.integers(len(others[value])))])
        anchors.append(texts[index])
        positives.append(texts[positive])
        negatives.append(texts[negative])
    add_count(dropped, "the only text of its class (no positive)", lonely)
    out = pa.table({"anchor": pa.array(anchors, pa.large_string()), "positive": pa.array(positives, pa.large_string()),
                    "negative": pa.array(negatives, pa.large_string())})
    notes = [f"per text: a positive of the same class and a negative of another class, seeded (--seed {options.seed})"]
    task.finish()
    return _step("class-triplets", target_format, out, table.num_rows, len(anchors), dropped, notes,
                 {"classes": len(members), "single_text_classes": sum(1 for m in members.values() if len(m) < 2)})


def _class_ids(values: list) -> list[int]:
    ids: dict[Any, int] = {}
    return [ids.setdefault(value, len(ids)) for value in values]


def _draw(rng: np.random.Generator, pool: np.ndarray, fits, tries: int = 32) -> int | None:
    """A random member of `pool` that `fits`, by rejection; None when `tries` draws find none (or none exists)."""
    for _ in range(min(tries, 4 * len(pool))):
        candidate = int(pool[int(rng.integers(len(pool)))])
        if fits(candidate):
            return candidate
    remaining = [int(c) for c in pool if fits(int(c))] if len(pool) <= 64 else []
    return remaining[int(rng.integers(len(remaining)))] if remaining else None


def duplicate(table: pa.Table, target_format: str, options: ConvertOptions, *, progress: Any = None) -> StepResult:
    """single → anchor-anchor: (text, the same text), for ContrastiveTensionLossInBatchNegatives."""
    need_columns(table, 1, "duplicate")
    need_text(table, [0], "duplicate")
    text = flat(table.column(0))
    ok = present_text(text)
    dropped: dict[str, int] = {}
    add_count(dropped, EMPTY_TEXT, (~ok).sum())
    kept = text.filter(pa.array(ok)) if not ok.all() else text
    out = pa.table({"anchor": kept.cast(pa.large_string()), "anchor_copy": kept.cast(pa.large_string())})
    notes = ["(anchor, anchor) pairs look like (anchor, positive) pairs: inspect the output with --as anchor-anchor"]
    return _step("duplicate", target_format, out, table.num_rows, int(ok.sum()), dropped, notes, {})


def teacher_embeddings(table: pa.Table, target_format: str, options: ConvertOptions, *, progress: Any = None) -> StepResult:
    """single → input-embeddings: the label is a teacher SentenceTransformer's embedding of the (first) text."""
    from lossadvisor.convert.models import describe, load_embedder

    if options.teacher is None:
        raise FitError(f"converting to {target_format} needs a teacher SentenceTransformer to embed the texts",
                       "Pass --teacher with a local SentenceTransformer folder or a model id already in your Hugging Face cache.")
    names = [n for n in table.column_names if n != LABEL]
    need_text(table, [table.column_names.index(n) for n in names], "teacher-embeddings")
    columns = [flat(table.column(n)) for n in names]
    ok = np.logical_and.reduce([present_text(c) for c in columns])
    dropped: dict[str, int] = {}
    add_count(dropped, EMPTY_TEXT, (~ok).sum())
    if not ok.all():
        columns = [c.filter(pa.array(ok)) for c in columns]
    model = load_embedder(options.teacher, trust_remote_code=options.trust_remote_code)
    distinct = list(dict.fromkeys(columns[0].to_pylist()))
    task = as_reporter(progress).task(f"embedding with teacher {describe(options.teacher)}", len(distinct))
    vectors = encode_texts(model, distinct, options.batch_size, task)
    task.finish()
    where = {text: index for index, text in enumerate(distinct)}
    rows = vectors[[where[t] for t in columns[0].to_pylist()]] if len(distinct) else np.zeros((0, 0), np.float32)
    dimension = int(vectors.shape[1]) if vectors.ndim == 2 and len(distinct) else 0
    label = pa.FixedSizeListArray.from_arrays(pa.array(rows.astype(np.float32).ravel(), pa.float32()), dimension) \
        if dimension else pa.array([], pa.list_(pa.float32()))
    label = label.cast(pa.list_(pa.float32()))
    out = pa.table([*columns, label], names=[*names, LABEL])
    notes = [f"labels are the teacher's {dimension}-dimensional embeddings of '{names[0]}': MSELoss needs a student of the"
             " same dimension (EmbedDistillLoss can project)"]
    return _step("teacher-embeddings", target_format, out, table.num_rows, int(ok.sum()), dropped, notes,
                 {"teacher": describe(options.teacher), "dimension": dimension, "texts_embedded": len(distinct)})


def encode_texts(model: Any, texts: list[str], batch_size: int, task: Any = None, chunk: int = 2048) -> np.ndarray:
    """Embeddings of `texts` as a float32 matrix, in chunks so that a progress bar can move (sparse: densified)."""
    out = []
    for start in range(0, len(texts), chunk):
        part = texts[start:start + chunk]
        vectors = model.encode(part, batch_size=batch_size, show_progress_bar=False, convert_to_tensor=True)
        if getattr(vectors, "is_sparse", False):
            vectors = vectors.to_dense()
        out.append(vectors.float().cpu().numpy())
        if task is not None:
            task.advance(len(part))
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)
