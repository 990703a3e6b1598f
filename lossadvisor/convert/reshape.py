"""Reshapes that need no model: class sampling, binary labels, group/explode, pairing and (un)grouping negatives.

All of them work on whole columns (Arrow compute, numpy index arithmetic), so a million rows take about a
second. Row order is kept where the shape allows: output rows follow the first appearance of their anchor.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lossadvisor.convert._arrow import (
    LABEL,
    add_count,
    dense_ids,
    flat,
    group_starts,
    interleave,
    is_text_list,
    label_position,
    list_array,
    need_columns,
    need_text,
    present_text,
    ranks_in_groups,
    to_numpy_bool,
    unique_name,
)
from lossadvisor.convert.classes import split_classes
from lossadvisor.convert.options import ConvertOptions, StepResult
from lossadvisor.convert.progress import as_reporter
from lossadvisor.convert.steps import _mean, _step, drop_constant_lists
from lossadvisor.errors import FitError

EMPTY_TEXT = "null or empty text"
MISSING_LABEL = "missing label"


def balanced_pairs(
    group: np.ndarray, positive: np.ndarray, negative: np.ndarray, n_groups: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Pair positive rows with negative rows of the same group, max(#pos, #neg) pairs per group.

    Every positive and every negative of a group that has both is used at least once; the shorter side is
    reused round-robin. Negatives are shuffled (seeded) within their group so that which positive meets
    which negative does not depend on file order. Output is grouped by anchor (groups are numbered by first
    appearance), positives in input order within each group.
    """
    pos_rows, neg_rows = np.flatnonzero(positive), np.flatnonzero(negative)
    gp, gn = group[pos_rows], group[neg_rows]
    pos_sorted = pos_rows[np.argsort(gp, kind="stable")]
    # group + a random fraction: one float sort shuffles within groups and keeps groups apart.
    neg_sorted = neg_rows[np.argsort(gn + rng.random(len(neg_rows)) * 0.5, kind="stable")]
    cp, cn = np.bincount(gp, minlength=n_groups), np.bincount(gn, minlength=n_groups)
    sp, sn = group_starts(cp), group_starts(cn)
    both = np.flatnonzero((cp > 0) & (cn > 0))
    per_group = np.maximum(cp[both], cn[both])
    g = np.repeat(both, per_group)
    j = ranks_in_groups(per_group)
    return pos_sorted[sp[g] + j % cp[g]], neg_sorted[sn[g] + j % cn[g]]


def _pair_into_triplets(
    method: str,
    table: pa.Table,
    target: str,
    positive: np.ndarray,
    negative: np.ndarray,
    dropped: dict[str, int],
    notes: list[str],
    options: ConvertOptions,
) -> StepResult:
    """Shared by class-sampling and pair-positives-with-negatives: (anchor, positive, negative) per pair."""
    rows_in = table.num_rows
    anchor, text = flat(table.column(0)), flat(table.column(1))
    ok = present_text(anchor) & present_text(text)
    add_count(dropped, EMPTY_TEXT, ((~ok) & (positive | negative)).sum())
    positive, negative = positive & ok, negative & ok
    group, uniques = dense_ids(anchor)
    n_groups = max(len(uniques), 1)  # at least one slot, so that per-group lookups work on all-null anchors
    # A text labelled both positive and negative for the same anchor cannot be a negative of it.
    text_ids, _ = dense_ids(text)
    conflicting = np.zeros(rows_in, dtype=bool)
    # Only a text that occurs more than once can be both; usually there are few, so test just those.
    repeated = np.bincount(text_ids[text_ids >= 0], minlength=1)[np.maximum(text_ids, 0)] > 1
    if repeated.any():
        keys = group * (int(text_ids.max(initial=0)) + 1) + text_ids
        candidates = np.flatnonzero(repeated & negative)
        conflicting[candidates] = np.isin(keys[candidates], keys[positive & repeated])
    add_count(dropped, "negative also labelled positive for its anchor", conflicting.sum())
    negative &= ~conflicting

    has_pos = np.bincount(group[positive], minlength=n_groups) > 0
    has_neg = np.bincount(group[negative], minlength=n_groups) > 0
    pos_alone = positive & ~has_neg[np.maximum(group, 0)]
    neg_alone = negative & ~has_pos[np.maximum(group, 0)]
    add_count(dropped, "anchor has no negative", pos_alone.sum())
    add_count(dropped, "anchor has no positive", neg_alone.sum())
    positive, negative = positive & ~pos_alone, negative & ~neg_alone

    pos_idx, neg_idx = balanced_pairs(group, positive, negative, n_groups, np.random.default_rng(options.seed))
    take_pos, take_neg = pa.array(pos_idx), pa.array(neg_idx)
    names = table.column_names[:2]
    out = pa.table(
        [anchor.take(take_pos), text.take(take_pos), text.take(take_neg)],
        names=[names[0], names[1], unique_name("negative", names[:2])],
    )
    rows_used = int(positive.sum() + negative.sum())
    anchors_used = int((has_pos & has_neg).sum())
    present = np.zeros(n_groups, dtype=bool)
    present[group[ok & (group >= 0)]] = True
    stats = {
        "anchors": int(present.sum()),
        "anchors_used": anchors_used,
        "anchors_without_positive": int((present & ~has_pos).sum()),
        "anchors_without_negative": int((present & has_pos & ~has_neg).sum()),
        "triplets_per_anchor_mean": round(out.num_rows / anchors_used, 3) if anchors_used else 0.0,
        "positives_reused": int(out.num_rows - positive.sum()),
        "negatives_reused": int(out.num_rows - negative.sum()),
    }
    if stats["anchors_without_negative"] or stats["anchors_without_positive"]:
        notes.append(
            f"{stats['anchors_without_negative']} anchors have no negative and {stats['anchors_without_positive']} "
            "no positive; their rows are dropped"
        )
    return _step(method, target, out, rows_in, rows_used, dropped, notes, stats)


def class_sampling(table: pa.Table, target_format: str, options: ConvertOptions, *, progress: Any = None) -> StepResult:
    """pair-class → triplet: per anchor, positives of the positive class each meet a negative of another class."""
    need_columns(table, 3, "class-sampling")
    need_text(table, [0, 1], "class-sampling")
    task = as_reporter(progress).task("pairing positives with negatives", 1)
    split = split_classes(
        table.column(label_position(table)), options.positive_class, options.class_names, options.negative_class, target_format
    )
    dropped: dict[str, int] = {}
    add_count(dropped, MISSING_LABEL, split.missing.sum())
    add_count(dropped, "class not used as positive or negative", (~split.positive & ~split.negative & ~split.missing).sum())
    notes = list(split.notes)
    result = _pair_into_triplets("class-sampling", table, target_format, split.positive, split.negative, dropped, notes, options)
    result.stats["positive_class"] = split.positive_name
    task.finish()
    return result


def _binary_label(table: pa.Table, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """positive, negative and invalid masks of a 0/1 label (bools, ints or floats that are exactly 0 or 1)."""
    label = flat(table.column(label_position(table)))
    if pa.types.is_boolean(label.type):
        label = pc.cast(label, pa.int8())
    if not (pa.types.is_integer(label.type) or pa.types.is_floating(label.type)):
        raise FitError(f"{what} expects a 0/1 label, found {label.type}", "Map the labels to 0 and 1 first.")
    positive = to_numpy_bool(pc.equal(label, 1))
    negative = to_numpy_bool(pc.equal(label, 0))
    missing = ~to_numpy_bool(pc.is_valid(label))
    return positive, negative, missing


def pair_positives_with_negatives(
    table: pa.Table, target_format: str, options: ConvertOptions, *, progress: Any = None
) -> StepResult:
    """labeled-pair → triplet: each positive of an anchor with a negative of the same anchor."""
    need_columns(table, 3, "pair-positives-with-negatives")
    need_text(table, [0, 1], "pair-positives-with-negatives")
    task = as_reporter(progress).task("pairing positives with negatives", 1)
    positive, negative, missing = _binary_label(table, "pair-positives-with-negatives")
    dropped: dict[str, int] = {}
    add_count(dropped, MISSING_LABEL, missing.sum())
    add_count(dropped, "label not 0 or 1", (~positive & ~negative & ~missing).sum())
    result = _pair_into_triplets("pair-positives-with-negatives", table, target_format, positive, negative, dropped, [], options)
    task.finish()
    return result


def class_to_binary(table: pa.Table, target_format: str, options: ConvertOptions, *, progress: Any = None) -> StepResult:
    """pair-class → labeled-pair: 1 for the positive class, 0 for every other class."""
    need_columns(table, 3, "class-to-binary")
    need_text(table, [0, 1], "class-to-binary")
    split = split_classes(
        table.column(label_position(table)), options.positive_class, options.class_names, options.negative_class, target_format
    )
    a, b = flat(table.column(0)), flat(table.column(1))
    ok = present_text(a) & present_text(b)
    dropped: dict[str, int] = {}
    add_count(dropped, EMPTY_TEXT, (~ok).sum())
    add_count(dropped, MISSING_LABEL, (ok & split.missing).sum())
    unused = ok & ~split.missing & ~split.positive & ~split.negative
    add_count(dropped, "class not used as positive or negative", unused.sum())
    keep = ok & (split.positive | split.negative)
    mask = pa.array(keep)
    label = pa.array(split.positive[keep].astype(np.int64))
    names = table.column_names[:2]
    out = pa.table([a.filter(mask), b.filter(mask), label], names=[*names, unique_name(LABEL, names)])
    stats = {
        "positive_class": split.positive_name,
        "positives": int(split.positive[keep].sum()),
        "negatives": int(split.negative[keep].sum()),
    }
    return _step("class-to-binary", target_format, out, table.num_rows, int(keep.sum()), dropped, list(split.notes), stats)


def group(table: pa.Table, target_format: str, options: ConvertOptions, *, progress: Any = None) -> StepResult:
    """labeled-pair → labeled-list: one row per anchor (first appearance order), docs and labels in input order."""
    need_columns(table, 3, "group")
    need_text(table, [0, 1], "group")
    anchor, text = flat(table.column(0)), flat(table.column(1))
    label = flat(table.column(label_position(table)))
    ok = present_text(anchor) & present_text(text)
    has_label = to_numpy_bool(pc.is_valid(label))
    dropped: dict[str, int] = {}
    add_count(dropped, EMPTY_TEXT, (~ok).sum())
    add_count(dropped, MISSING_LABEL, (ok & ~has_label).sum())
    keep = ok & has_label
    if not keep.all():
        mask = pa.array(keep)
        anchor, text, label = anchor.filter(mask), text.filter(mask), label.filter(mask)
    ids, uniques = dense_ids(anchor)
    order = pa.array(np.argsort(ids, kind="stable"))
    counts = np.bincount(ids, minlength=len(uniques))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    names = table.column_names
    anchor_name = names[0]
    out = pa.table(
        [uniques, list_array(offsets, text.take(order)), list_array(offsets, label.take(order))],
        names=[anchor_name, unique_name("docs", [anchor_name]), unique_name(LABEL, [anchor_name, "docs"])],
    )
    values = label.to_numpy(zero_copy_only=False).astype(np.float64) if len(label) else np.zeros(0)
    best, worst = np.full(len(uniques), -np.inf), np.full(len(uniques), np.inf)
    if len(values):
        np.maximum.at(best, ids, values), np.minimum.at(worst, ids, values)
    stats = {
        "lists": len(uniques), "docs_per_list_min": int(counts.min()) if len(counts) else 0,
        "docs_per_list_mean": _mean(counts), "docs_per_list_max": int(counts.max()) if len(counts) else 0,
        "lists_without_positive": int((best <= 0).sum()), "single_doc_lists": int((counts == 1).sum()),
    }
    notes, used, constant = [], int(keep.sum()), best == worst  # every label of a list equal: nothing to rank
    if target_format == "labeled-list" and not options.keep_constant_lists and constant.any():
        out, rows = drop_constant_lists(out, constant, counts, constant & (best <= 0), dropped, notes, stats)
        used -= rows
    elif stats["lists_without_positive"]:
        notes.append(f"{stats['lists_without_positive']} lists have no positive label: ranking losses learn nothing from them")
    return _step("group", target_format, out, table.num_rows, used, dropped, notes, stats)


def explode(table: pa.Table, target_format: str, options: ConvertOptions, *, progress: Any = None) -> StepResult:
    """labeled-list → labeled-pair: one (query, doc, label) row per document."""
    need_columns(table, 3, "explode")
    query, docs = flat(table.column(0)), flat(table.column(1))
    label = flat(table.column(label_position(table)))
    if not is_text_list(docs.type):
        raise FitError(f"explode expects a list of texts in column '{table.column_names[1]}', found {docs.type}")
    if not (pa.types.is_list(label.type) or pa.types.is_large_list(label.type)):
        raise FitError(f"explode expects a list of labels in column '{table.column_names[-1]}', found {label.type}")
    n_docs = pc.fill_null(pc.list_value_length(docs), -1).to_numpy(zero_copy_only=False)
    n_labels = pc.fill_null(pc.list_value_length(label), -2).to_numpy(zero_copy_only=False)
    ok_query = present_text(query)
    dropped: dict[str, int] = {}
    add_count(dropped, EMPTY_TEXT, (~ok_query).sum())
    add_count(dropped, "empty or missing list", (ok_query & (n_docs <= 0)).sum())
    mismatch = ok_query & (n_docs > 0) & (n_docs != n_labels)
    add_count(dropped, "docs and labels differ in length", mismatch.sum())
    keep = ok_query & (n_docs > 0) & ~mismatch
    mask = pa.array(keep)
    query, docs, label = query.filter(mask), docs.filter(mask), label.filter(mask)
    parents = pc.list_parent_indices(docs)
    doc_values, label_values = pc.list_flatten(docs), pc.list_flatten(label)
    doc_ok = present_text(doc_values) & to_numpy_bool(pc.is_valid(label_values))
    pair_query = query.take(parents)
    if not doc_ok.all():
        inner = pa.array(doc_ok)
        pair_query, doc_values, label_values = pair_query.filter(inner), doc_values.filter(inner), label_values.filter(inner)
    # A list whose every document was blank leaves nothing: count the row as dropped, not as used.
    per_row = np.bincount(parents.to_numpy(zero_copy_only=False)[doc_ok], minlength=int(keep.sum()))
    emptied = int((per_row == 0).sum())
    add_count(dropped, "every document blank", emptied)
    names = table.column_names
    out = pa.table(
        [pair_query, doc_values, label_values],
        names=[names[0], unique_name("text", names[:1]), unique_name(LABEL, [names[0], "text"])],
    )
    stats = {"pairs": out.num_rows, "blank_docs_dropped": int((~doc_ok).sum())}
    notes = []
    if stats["blank_docs_dropped"]:
        notes.append(f"{stats['blank_docs_dropped']} blank documents (or documents without a label) were left out")
    values = label_values
    if target_format == "labeled-pair" and len(values) and (pa.types.is_integer(values.type) or pa.types.is_floating(values.type)):
        low, high = pc.min(values).as_py(), pc.max(values).as_py()
        if low is not None and (low < 0 or high > 1):
            # The grades are kept (explode and group stay inverses), but they are not the 0/1 labels a labeled-pair
            # means; say so rather than let BinaryCrossEntropyLoss meet a label of 4.
            notes.append(
                f"labels are graded ({low}..{high}), not 0/1: the pairs keep the grades, which BinaryCrossEntropyLoss "
                "cannot take; binarise them (e.g. label > 0 → 1) or rescale them to [0, 1] first"
            )
    return _step("explode", target_format, out, table.num_rows, int(keep.sum()) - emptied, dropped, notes, stats)


def group_negatives(table: pa.Table, target_format: str, options: ConvertOptions, *, progress: Any = None) -> StepResult:
    """triplet → n-tuple: the negatives of each (anchor, positive) pair, num_negatives per row.

    Without num_negatives the smallest group sets the width (at least 2), so that as few pairs as possible are
    lost. A group larger than the width fills several rows; its last row is completed with the group's first
    negatives again (counted in stats).
    """
    need_columns(table, 3, "group-negatives")
    need_text(table, [0, 1, 2], "group-negatives")
    anchor, positive, negative = (flat(table.column(i)) for i in range(3))
    ok = present_text(anchor) & present_text(positive) & present_text(negative)
    dropped: dict[str, int] = {}
    add_count(dropped, EMPTY_TEXT, (~ok).sum())
    if not ok.all():
        mask = pa.array(ok)
        anchor, positive, negative = anchor.filter(mask), positive.filter(mask), negative.filter(mask)
    a_ids, _ = dense_ids(anchor)
    p_ids, _ = dense_ids(positive)
    key = a_ids * (int(p_ids.max(initial=0)) + 1) + p_ids
    # Number the (anchor, positive) pairs by first appearance.
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    rank_of = np.empty(len(first), dtype=np.int64)
    rank_of[np.argsort(first, kind="stable")] = np.arange(len(first))
    pair = rank_of[inverse.ravel()]
    n_pairs = len(first)
    counts = np.bincount(pair, minlength=n_pairs)
    # An n-tuple has at least two negatives (with one it is a triplet).
    width = options.num_negatives or max(2, int(counts.min()) if n_pairs else 2)
    if width < 2:
        raise FitError("an n-tuple needs at least 2 negatives per row", "Pass --num-negatives 2 or more.")
    short = counts < width
    if n_pairs and short.all():
        most = int(counts.max())
        raise FitError(
            f"no (anchor, positive) pair has {width} or more negatives (the most is {most}): nothing to gather into an n-tuple",
            "Triplets already suit MultipleNegativesRankingLoss; for more negatives, read them as (anchor, positive) pairs "
            f"and mine: add --inputs {','.join(table.column_names[:2])} --label none" + (f", or pass --num-negatives {most}." if most >= 2 else "."),
        )
    add_count(dropped, f"fewer than {width} negatives for the pair", counts[short].sum())
    rows_used = int(counts[~short].sum())
    order = np.argsort(pair, kind="stable")
    starts = group_starts(counts)
    kept = np.flatnonzero(~short)
    tuples = -(-counts[kept] // width)  # ceil
    g = np.repeat(kept, tuples)
    t = ranks_in_groups(tuples)
    slot = (t[:, None] * width + np.arange(width)[None, :]) % counts[g][:, None]
    cell_rows = order[starts[g][:, None] + slot]
    first_rows = pa.array(order[starts[g]])
    names = table.column_names
    columns = [anchor.take(first_rows), positive.take(first_rows)]
    neg_values = negative.take(pa.array(cell_rows.ravel()))
    out_names = [names[0], names[1]]
    for j in range(width):
        columns.append(neg_values.take(pa.array(np.arange(len(g), dtype=np.int64) * width + j)))
        out_names.append(unique_name(f"negative_{j + 1}", out_names))
    out = pa.table(columns, names=out_names)
    reused = int(len(g) * width - counts[kept].sum())
    stats = {
        "num_negatives": width,
        "pairs": n_pairs,
        "negatives_per_pair_min": int(counts.min()) if n_pairs else 0,
        "negatives_per_pair_mean": _mean(counts),
        "negatives_per_pair_max": int(counts.max()) if n_pairs else 0,
        "pairs_short_of_negatives": int(short.sum()),
        "negatives_reused_to_fill": reused,
    }
    notes = []
    if reused:
        notes.append(f"{reused} negative cells repeat a negative of the same pair to fill the last row of a group")
    if short.any():
        notes.append(f"{int(short.sum())} pairs have fewer than {width} negatives and are dropped")
    return _step("group-negatives", target_format, out, table.num_rows, rows_used, dropped, notes, stats)


def split_negatives(table: pa.Table, target_format: str, options: ConvertOptions, *, progress: Any = None) -> StepResult:
    """n-tuple → triplet: one (anchor, positive, negative_i) row per negative, in row-major order."""
    need_columns(table, 3, "split-negatives")
    names = table.column_names
    negative_positions = [i for i in range(2, table.num_columns) if names[i] != LABEL]
    need_text(table, [0, 1, *negative_positions], "split-negatives")
    anchor, positive = flat(table.column(0)), flat(table.column(1))
    ok = present_text(anchor) & present_text(positive)
    width = len(negative_positions)
    negatives = interleave([table.column(i) for i in negative_positions])
    cell_ok = present_text(negatives).reshape(-1, width) & ok[:, None]
    dropped: dict[str, int] = {}
    add_count(dropped, EMPTY_TEXT, (~ok).sum())
    row_has_any = cell_ok.any(axis=1)
    add_count(dropped, "every negative blank", (ok & ~row_has_any).sum())
    rows = np.repeat(np.arange(table.num_rows, dtype=np.int64), width)
    keep_cells = cell_ok.ravel()
    take = pa.array(rows[keep_cells])
    out = pa.table(
        [anchor.take(take), positive.take(take), negatives.filter(pa.array(keep_cells))],
        names=[names[0], names[1], unique_name("negative", names[:2])],
    )
    stats = {"num_negatives": width, "blank_negatives_dropped": int((~cell_ok[ok]).sum())}
    return _step("split-negatives", target_format, out, table.num_rows, int(row_has_any.sum()), dropped, [], stats)
