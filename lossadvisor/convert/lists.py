"""List-valued negatives into the table's formats.

Two published shapes hold their negatives in one list cell:
- `list-negatives`: (anchor, positive, [negative_1, ..., negative_n]), sentence-transformers' training examples
  before their preprocessing, MS MARCO hard-negative dumps;
- `pos-neg-lists`: (query, [positives], [negatives]), FlagEmbedding's fine-tuning data; `pos-neg-lists-scores`
  adds its `pos_scores`/`neg_scores` teacher lists, which the tidy step combines into one `label` list
  (the positives' scores, then the negatives').

The expansions, by the `method` names of data_formats.yaml:
- `expand-negatives`: one row per positive, the negatives in `negative_1..n` columns (n-tuple; with scores
  n-tuple-scores [pos, neg_1..n] or n-tuple-margin [pos - neg_i]);
- `explode-negatives`: one triplet per negative (the positives taken in turn);
- `lists-to-labeled-list`: (query, [positives..., negatives...], [1..., 0...]).

Ragged lists and an n-tuple's fixed width: `ConvertOptions.negatives_policy` says what happens to a row with
fewer negatives than the width: `truncate` (the default: the width is the shortest list but at least 2, longer
lists are cut, rows with one negative dropped),
`pad` (the width is the longest list; short rows repeat their own negatives), `drop` (the width is
--num-negatives or the most common length; short rows are dropped). Every cut, repeat and drop is counted.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pyarrow as pa

from lossadvisor.convert._arrow import LABEL, unique_name
from lossadvisor.convert.options import ConvertOptions, StepResult
from lossadvisor.convert.steps import CONSTANT_LIST, _step, constant_lists_note
from lossadvisor.errors import FitError

POLICIES = ("truncate", "pad", "drop")
NO_POSITIVE = "no positive"
NO_NEGATIVE = "no negative"


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _records(table: pa.Table) -> list[tuple[str, list[str], list[str], list[float] | None]]:
    """(anchor, positives, negatives, scores or None) per row, whichever of the two shapes the table has."""
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    names = table.column_names
    scores = columns[names.index(LABEL)] if LABEL in names else [None] * table.num_rows
    listed = pa.types.is_list(table.schema.field(1).type) or pa.types.is_large_list(table.schema.field(1).type)
    out = []
    for anchor, first, negatives, score in zip(columns[0], columns[1], columns[2], scores):
        positives = list(first or []) if listed else [first]
        out.append((anchor, [p for p in positives if _text(p)], [n for n in (negatives or []) if _text(n)],
                    list(score) if score is not None else None))
    return out


def _usable(records, dropped: dict[str, int], need_negatives: bool = True):
    kept = []
    for record in records:
        anchor, positives, negatives, _ = record
        if not _text(anchor) or not positives:
            dropped[NO_POSITIVE] = dropped.get(NO_POSITIVE, 0) + 1
        elif need_negatives and not negatives:
            dropped[NO_NEGATIVE] = dropped.get(NO_NEGATIVE, 0) + 1
        else:
            kept.append(record)
    return kept


def negatives_width(lengths: list[int], policy: str, asked: int | None) -> int:
    """The n-tuple width a policy gives for these list lengths (non-empty lists only)."""
    if policy not in POLICIES:
        raise FitError(f"unknown negatives policy '{policy}'", f"Use one of: {', '.join(POLICIES)}.")
    if asked is not None:
        return asked
    if not lengths:
        return 0
    if policy == "pad":
        return max(lengths)
    if policy == "drop":
        return max(2, Counter(lengths).most_common(1)[0][0])
    return max(2, min(lengths))  # an n-tuple has two negatives or more (with one it is a triplet)


def expand_negatives(table: pa.Table, target_format: str, options: ConvertOptions, *, progress: Any = None) -> StepResult:
    """→ n-tuple / n-tuple-scores / n-tuple-margin: one row per positive, negative_1..n columns."""
    dropped: dict[str, int] = {}
    records = _usable(_records(table), dropped)
    policy = options.negatives_policy
    width = negatives_width([len(r[2]) for r in records], policy, options.num_negatives)
    scored = target_format in ("n-tuple-scores", "n-tuple-margin")
    if scored and any(r[3] is None for r in records):
        raise FitError(f"{target_format} needs teacher scores for every text (pos_scores/neg_scores)",
                       "Without scores, convert to n-tuple and score it with --teacher.")
    rows: list[list[Any]] = []
    cut = repeated = 0
    used = 0
    for anchor, positives, negatives, scores in records:
        count = len(negatives)
        if count < width and policy != "pad":
            dropped[f"fewer than {width} negatives"] = dropped.get(f"fewer than {width} negatives", 0) + 1
            continue
        used += 1
        take = [i % count for i in range(width)]
        cut += max(0, count - width)
        repeated += max(0, width - count)
        for p, positive in enumerate(positives):
            row: list[Any] = [anchor, positive] + [negatives[i] for i in take]
            if scored and scores is not None:
                pos_score, neg_scores = scores[p], scores[len(positives):]
                row.append([pos_score] + [neg_scores[i] for i in take] if target_format == "n-tuple-scores"
                           else [pos_score - neg_scores[i] for i in take])
            rows.append(row)
    if width < 1 or not rows:
        raise FitError("no row has a positive and enough negatives to form an n-tuple",
                       "Pass --negatives-policy pad, or a smaller --num-negatives.")
    names = table.column_names[:2]
    names = [names[0], names[1] if table.schema.field(1).type == pa.string() else "positive"]
    for j in range(width):
        names.append(unique_name(f"negative_{j + 1}", names))
    if scored:
        names.append(LABEL)
    out = pa.table({name: [row[i] for row in rows] for i, name in enumerate(names)})
    notes = [f"{width} negatives per row (--negatives-policy {policy})"]
    if cut:
        notes.append(f"{cut} negatives beyond the first {width} of their list were cut")
    if repeated:
        notes.append(f"{repeated} negative cells repeat a negative of the same row to pad short lists")
    stats = {"num_negatives": width, "policy": policy, "negatives_cut": cut, "negatives_repeated": repeated,
             "rows_per_input_row": round(len(rows) / used, 3) if used else 0.0}
    return _step("expand-negatives", target_format, out, table.num_rows, used, dropped, notes, stats)


def explode_negatives(table: pa.Table, target_format: str, options: ConvertOptions, *, progress: Any = None) -> StepResult:
    """→ triplet: one (anchor, positive, negative) row per negative; several positives are taken in turn."""
    dropped: dict[str, int] = {}
    records = _usable(_records(table), dropped)
    anchors, positives_out, negatives_out = [], [], []
    for anchor, positives, negatives, _ in records:
        for j, negative in enumerate(negatives):
            anchors.append(anchor)
            positives_out.append(positives[j % len(positives)])
            negatives_out.append(negative)
    out = pa.table({table.column_names[0]: anchors, "positive": positives_out, "negative": negatives_out})
    stats = {"triplets": out.num_rows, "negatives_per_row_mean": round(out.num_rows / len(records), 3) if records else 0.0}
    return _step("explode-negatives", target_format, out, table.num_rows, len(records), dropped, [], stats)


def lists_to_labeled_list(table: pa.Table, target_format: str, options: ConvertOptions, *, progress: Any = None) -> StepResult:
    """→ labeled-list: (query, [positives..., negatives...], [1..., 0...])."""
    dropped: dict[str, int] = {}
    records = _usable(_records(table), dropped, need_negatives=False)
    notes = []
    only_positives = [r for r in records if not r[2]]
    if only_positives and not options.keep_constant_lists:
        records = [r for r in records if r[2]]
        dropped[CONSTANT_LIST] = len(only_positives)
        notes.append(constant_lists_note(len(only_positives), 0))
    elif only_positives:
        notes.append(f"{len(only_positives)} lists hold positives only (nothing to rank against)")
    out = pa.table({
        table.column_names[0]: [r[0] for r in records],
        "docs": [r[1] + r[2] for r in records],
        LABEL: pa.array([[1] * len(r[1]) + [0] * len(r[2]) for r in records], pa.list_(pa.int64())),
    })
    stats = {"docs_per_list_mean": round(sum(len(r[1]) + len(r[2]) for r in records) / len(records), 3) if records else 0.0}
    return _step("lists-to-labeled-list", target_format, out, table.num_rows, len(records), dropped, notes, stats)
