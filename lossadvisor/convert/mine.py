"""Hard-negative mining: (anchor, positive) pairs → triplet, n-tuple, labeled-pair or labeled-list.

Two miners, one set of knobs (those of `sentence_transformers.util.mine_hard_negatives`):

- BM25 (the default): bm25s tokenises and indexes the corpus; queries are scored a block at a time as one
  sparse product against bm25s' score matrix, and each block's top candidates come from one partition.
  bm25s' numpy backend scores one query at a time (np.add.at per query word), which is what makes it grow
  ~N^1.8; blocks keep memory bounded and give the same scores as `BM25.retrieve` 8x faster at 50k pairs.
  Candidates are the documents that share at least one (non-stopword) word with the anchor.
- Dense: a SentenceTransformer, through upstream's `mine_hard_negatives` itself.

Either way a negative is never a known positive of its anchor (anchors may repeat with several positives),
never the anchor itself, and never an exact duplicate of a positive (the corpus is deduplicated, so equal
texts are one candidate). An optional CrossEncoder (`rescore`) rescores the candidates to drop likely false
negatives, as upstream does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lossadvisor.convert._arrow import (
    LABEL,
    add_count,
    dense_ids,
    flat,
    list_array,
    need_columns,
    need_text,
    present_text,
    unique_name,
)
from lossadvisor.convert.bm25 import BM25Index
from lossadvisor.convert.mine_dense import dense_to_arrays, mine_dense, positive_scores_dense
from lossadvisor.convert.models import describe, load_cross_encoder, predict_pairs
from lossadvisor.convert.options import DEFAULT_NUM_NEGATIVES, ConvertOptions, StepResult
from lossadvisor.convert.progress import Reporter, as_reporter
from lossadvisor.errors import FitError

TARGETS = ("triplet", "n-tuple", "labeled-pair", "labeled-list")
EMPTY_TEXT = "null or empty text"
DUPLICATE_PAIR = "duplicate (anchor, positive) pair"
NO_NEGATIVE = "no negative found"
# auto: numba's posting-list accumulation when numba is installed, else the sparse product in float64;
# legacy: bm25s' own indexing and the blocked float32 sparse product, the method before (kept for
# benchmarks/bench_scale.py and as the reference in tests).
METHODS = ("auto", "numba", "scipy", "legacy")

__all__ = ["BM25Index", "Pairs", "mine", "prepare_pairs"]


@dataclass(frozen=True)
class Pairs:
    """Unique (anchor, positive) pairs in input order, as ids into `anchors` and `corpus`."""

    anchors: pa.Array
    corpus: pa.Array
    pair_q: np.ndarray
    pair_d: np.ndarray
    anchor_in_corpus: np.ndarray  # corpus id of each anchor's own text, -1 when absent
    anchor_name: str
    positive_name: str

    @property
    def positive_keys(self) -> np.ndarray:
        return self.pair_q * len(self.corpus) + self.pair_d


def prepare_pairs(table: pa.Table, extra_corpus: tuple[str, ...] | None, dropped: dict[str, int]) -> Pairs:
    anchor, positive = flat(table.column(0)), flat(table.column(1))
    ok = present_text(anchor) & present_text(positive)
    add_count(dropped, EMPTY_TEXT, (~ok).sum())
    mask = pa.array(ok)
    anchor = pc.cast(anchor.filter(mask), pa.large_string())
    positive = pc.cast(positive.filter(mask), pa.large_string())
    docs = positive
    if extra_corpus:
        extra = pa.array(list(extra_corpus), pa.large_string())
        docs = pa.concat_arrays([positive, extra.filter(pa.array(present_text(extra)))])
    corpus_ids, corpus = dense_ids(docs)
    positive_ids = corpus_ids[: len(positive)]
    anchor_ids, anchors = dense_ids(anchor)
    key = anchor_ids * len(corpus) + positive_ids
    _, first = np.unique(key, return_index=True)
    first.sort()
    add_count(dropped, DUPLICATE_PAIR, len(key) - len(first))
    in_corpus = pc.fill_null(pc.index_in(anchors, value_set=corpus), -1).to_numpy(zero_copy_only=False).astype(np.int64)
    names = table.column_names
    return Pairs(anchors, corpus, anchor_ids[first], positive_ids[first], in_corpus, names[0], names[1])


def _default_range_max(options: ConvertOptions, num_negatives: int, max_positives: int) -> int:
    # Same rule as mine_hard_negatives: leave room for the positives, and 10x the candidates when a
    # threshold may discard many of them.
    thresholds = (options.absolute_margin, options.relative_margin, options.max_score, options.min_score)
    if any(t is not None for t in thresholds) or options.rescore is not None:
        return options.range_min + num_negatives * 10 + max_positives
    return options.range_min + num_negatives + max_positives


def _apply_thresholds(
    scores: np.ndarray,
    valid: np.ndarray,
    min_positive: np.ndarray,
    options: ConvertOptions,
    absolute_margin: float | None,
    stats: dict[str, Any],
) -> np.ndarray:
    rules = []
    if absolute_margin is not None:
        rules.append(("absolute_margin", scores + absolute_margin > min_positive[:, None]))
    if options.relative_margin is not None:
        threshold = min_positive - np.abs(min_positive) * options.relative_margin
        rules.append(("relative_margin", scores > threshold[:, None]))
    if options.max_score is not None:
        rules.append(("max_score", scores > options.max_score))
    if options.min_score is not None:
        rules.append(("min_score", scores < options.min_score))
    for name, removed in rules:
        removed &= valid
        stats[f"skipped_by_{name}"] = int(removed.sum())
        valid = valid & ~removed
    return valid


def _select(
    ids: np.ndarray, scores: np.ndarray, valid: np.ndarray, options: ConvertOptions, num_negatives: int, range_max: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per query, the chosen negatives (best score first), padded with -1."""
    n, width = ids.shape
    # Candidates are ordered by score; rank among the ones still valid, as upstream ranks after filtering.
    rank = np.cumsum(valid, axis=1) - 1
    window = valid & (rank >= options.range_min) & (rank < range_max)
    if options.sampling == "random":
        rng = np.random.default_rng(options.seed)
        keys = np.where(window, rng.random((n, width)), np.inf)
        picked = np.argsort(keys, axis=1, kind="stable")[:, :num_negatives]
        chosen = np.zeros_like(window)
        np.put_along_axis(chosen, picked, True, axis=1)
        chosen &= window
    else:
        chosen = window & (np.cumsum(window, axis=1) <= num_negatives)
    # Compact the chosen cells to the left, keeping score order.
    position = np.cumsum(chosen, axis=1) - 1
    out_ids = np.full((n, num_negatives), -1, dtype=np.int64)
    out_scores = np.full((n, num_negatives), -np.inf)
    r, c = np.nonzero(chosen)
    out_ids[r, position[r, c]] = ids[r, c]
    out_scores[r, position[r, c]] = scores[r, c]
    return out_ids, out_scores


def _mine_bm25(
    pairs: Pairs,
    options: ConvertOptions,
    num_negatives: int,
    reporter: Reporter,
    stats: dict[str, Any],
    notes: list[str],
    method: str = "auto",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_anchors = len(pairs.anchors)
    positives_per_anchor = np.bincount(pairs.pair_q, minlength=n_anchors)
    max_positives = int(positives_per_anchor.max(initial=1))
    range_max = options.range_max or _default_range_max(options, num_negatives, max_positives)
    range_max = min(range_max, len(pairs.corpus))  # no rank beyond the corpus: never a larger candidate matrix
    if num_negatives > range_max - options.range_min:
        raise FitError(
            f"cannot mine {num_negatives} negatives between ranks {options.range_min} and {range_max}",
            "Lower --num-negatives or --range-min, or raise --range-max.",
        )
    dtype = np.float32 if method == "legacy" else (np.float64 if method == "scipy" else None)
    indexer = "bm25s" if method == "legacy" else "numpy"
    index = BM25Index(pairs.corpus, pairs.anchors, reporter, dtype=dtype, indexer=indexer)
    if index.empty_queries:
        notes.append(f"{index.empty_queries} anchors have no indexable word (only stopwords or symbols): no BM25 candidates")
    # +1: the anchor's own text may be in the corpus and is never a negative.
    ids, scores = index.topk(range_max + max_positives + 1, reporter, backend="scipy" if method == "legacy" else method)
    stats.update({f"bm25_{key}": value for key, value in index.stats.items()})
    stats["candidates_per_anchor"] = int(ids.shape[1])
    valid = ids >= 0
    known = np.isin(np.arange(n_anchors, dtype=np.int64)[:, None] * len(pairs.corpus) + ids, pairs.positive_keys) & valid
    stats["candidates_that_were_positives"] = int(known.sum())
    itself = (ids == pairs.anchor_in_corpus[:, None]) & valid
    valid &= ~known & ~itself
    positive_scores = index.pair_scores(pairs.pair_q, pairs.pair_d)
    absolute_margin = options.absolute_margin
    if options.rescore is not None:
        scores, positive_scores = _rescore(pairs, ids, valid, options, reporter)
        order = np.argsort(np.where(valid, -scores, np.inf), axis=1, kind="stable")
        ids, scores, valid = (np.take_along_axis(a, order, axis=1) for a in (ids, scores, valid))
        if all(t is None for t in (options.absolute_margin, options.relative_margin, options.max_score, options.min_score)):
            absolute_margin = 0.0
            notes.append("rescored with a CrossEncoder: candidates it scores above their anchor's positive are dropped")
    min_positive = np.full(n_anchors, np.inf)
    np.minimum.at(min_positive, pairs.pair_q, positive_scores)
    valid = _apply_thresholds(scores, valid, min_positive, options, absolute_margin, stats)
    negatives, negative_scores = _select(ids, scores, valid, options, num_negatives, range_max)
    return negatives, negative_scores, positive_scores


def _rescore(
    pairs: Pairs, ids: np.ndarray, valid: np.ndarray, options: ConvertOptions, reporter: Reporter
) -> tuple[np.ndarray, np.ndarray]:
    model = load_cross_encoder(options.rescore, "rescore", "--rescore", trust_remote_code=options.trust_remote_code)
    if options.device is not None and hasattr(model, "to"):
        model.to(options.device)
    anchors, corpus = pairs.anchors.to_pylist(), pairs.corpus
    r, c = np.nonzero(valid)
    candidate_texts = corpus.take(pa.array(ids[r, c])).to_pylist()
    positive_texts = corpus.take(pa.array(pairs.pair_d)).to_pylist()
    batch = [(anchors[q], d) for q, d in zip(r.tolist(), candidate_texts)]
    batch += [(anchors[q], d) for q, d in zip(pairs.pair_q.tolist(), positive_texts)]
    task = reporter.task(f"rescoring with {describe(options.rescore)}", len(batch))
    predicted = predict_pairs(model, batch, options.batch_size, raw=False, progress_task=task)
    task.finish()
    scores = np.full(ids.shape, -np.inf)
    scores[r, c] = predicted[: len(r)]
    return scores, predicted[len(r) :]


def _build(
    pairs: Pairs,
    target: str,
    negatives: np.ndarray,
    negative_scores: np.ndarray | None,
    positive_scores: np.ndarray | None,
    options: ConvertOptions,
    num_negatives: int,
    dropped: dict[str, int],
) -> tuple[pa.Table, int]:
    """The output table in canonical columns, and how many unique pairs it uses."""
    corpus, anchors = pairs.corpus, pairs.anchors
    found = (negatives >= 0).sum(axis=1)
    per_pair = found[pairs.pair_q]
    a_name, p_name = pairs.anchor_name, pairs.positive_name
    use_scores = options.scores and negative_scores is not None and positive_scores is not None
    if target == "triplet":
        used = per_pair > 0
        cells = negatives[pairs.pair_q]
        r, c = np.nonzero(cells >= 0)
        table = pa.table(
            [anchors.take(pa.array(pairs.pair_q[r])), corpus.take(pa.array(pairs.pair_d[r])), corpus.take(pa.array(cells[r, c]))],
            names=[a_name, p_name, unique_name("negative", [a_name, p_name])],
        )
        add_count(dropped, NO_NEGATIVE, (~used).sum())
    elif target == "n-tuple":
        used = per_pair >= num_negatives
        rows = np.flatnonzero(used)
        columns = [anchors.take(pa.array(pairs.pair_q[rows])), corpus.take(pa.array(pairs.pair_d[rows]))]
        names = [a_name, p_name]
        cells = negatives[pairs.pair_q[rows]]
        for j in range(num_negatives):
            columns.append(corpus.take(pa.array(cells[:, j])))
            names.append(unique_name(f"negative_{j + 1}", names))
        table = pa.table(columns, names=names)
        add_count(dropped, f"fewer than {num_negatives} negatives found", (~used).sum())
    elif target == "labeled-list":
        used = per_pair > 0
        rows = np.flatnonzero(used)
        lengths = 1 + per_pair[rows]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        cells = np.concatenate([pairs.pair_d[rows][:, None], negatives[pairs.pair_q[rows]]], axis=1)
        filled = cells >= 0
        doc_ids = cells[filled]
        if use_scores:
            label_cells = np.concatenate([positive_scores[rows][:, None], negative_scores[pairs.pair_q[rows]]], axis=1)
            label_values = pa.array(label_cells[filled], pa.float64())
        else:
            label_cells = np.zeros(cells.shape, dtype=np.int64)
            label_cells[:, 0] = 1
            label_values = pa.array(label_cells[filled], pa.int64())
        table = pa.table(
            [
                anchors.take(pa.array(pairs.pair_q[rows])),
                list_array(offsets, corpus.take(pa.array(doc_ids))),
                list_array(offsets, label_values),
            ],
            names=[a_name, "docs", LABEL],
        )
        add_count(dropped, NO_NEGATIVE, (~used).sum())
    else:  # labeled-pair: per anchor, its positives (1) then its negatives (0)
        used = np.ones(len(pairs.pair_q), dtype=bool)
        r, c = np.nonzero(negatives >= 0)
        q = np.concatenate([pairs.pair_q, r])
        d = np.concatenate([pairs.pair_d, negatives[r, c]])
        kind = np.concatenate([np.zeros(len(pairs.pair_q), dtype=np.int64), np.ones(len(r), dtype=np.int64)])
        within = np.concatenate([np.arange(len(pairs.pair_q)), c])
        order = np.lexsort((within, kind, q))
        if use_scores:
            label = pa.array(np.concatenate([positive_scores, negative_scores[r, c]])[order], pa.float64())
        else:
            label = pa.array((1 - kind)[order], pa.int64())
        table = pa.table(
            [anchors.take(pa.array(q[order])), corpus.take(pa.array(d[order])), label],
            names=[a_name, "text", LABEL],
        )
    return table, int(used.sum())


def _narrow_text(table: pa.Table, input_type: pa.DataType) -> pa.Table:
    """Mining works on 64-bit-offset text; give the output the input's plain string type when it fits."""
    if not pa.types.is_string(input_type):
        return table
    columns = []
    for column in table.columns:
        target = column.type
        if pa.types.is_large_string(column.type):
            target = pa.string()
        elif pa.types.is_list(column.type) and pa.types.is_large_string(column.type.value_type):
            target = pa.list_(pa.string())
        try:
            columns.append(column.cast(target))
        except (pa.ArrowInvalid, pa.ArrowCapacityError):
            return table  # over 2 GiB of text in one column: 64-bit offsets are needed after all
    return pa.table(columns, names=table.column_names)


def mine(
    table: pa.Table, target_format: str, options: ConvertOptions, *, progress: Any = None, method: str = "auto"
) -> StepResult:
    """pair → triplet / n-tuple / labeled-pair / labeled-list by hard-negative mining.

    `method` picks the BM25 retrieval backend (see METHODS); all give the same negatives.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if target_format not in TARGETS:
        raise FitError(f"mining makes {', '.join(TARGETS)}, not {target_format}")
    need_columns(table, 2, "mine")
    need_text(table, [0, 1], "mine")
    reporter = as_reporter(progress)
    num_negatives = options.num_negatives or DEFAULT_NUM_NEGATIVES
    dropped: dict[str, int] = {}
    notes: list[str] = []
    stats: dict[str, Any] = {}
    pairs = prepare_pairs(table, options.corpus, dropped)
    if len(pairs.pair_q) == 0:
        raise FitError("no (anchor, positive) pair with both texts present: nothing to mine from")
    if len(pairs.corpus) < 2:
        raise FitError(
            "the corpus has a single document: there is nothing to mine negatives from",
            "Pass more pairs, or extra documents with --corpus.",
        )
    if num_negatives > len(pairs.corpus):  # more than the corpus holds: arrays sized by the flag, not the data
        raise FitError(
            f"cannot mine {num_negatives:,} negatives per anchor: the corpus holds {len(pairs.corpus):,} documents",
            f"Lower --num-negatives (below {len(pairs.corpus):,}), or add documents with --corpus.",
        )
    stats["miner"] = "bm25" if options.uses_bm25 else describe(options.miner)
    stats["corpus_size"] = len(pairs.corpus)
    stats["anchors"] = len(pairs.anchors)
    if options.uses_bm25:
        negatives, negative_scores, positive_scores = _mine_bm25(pairs, options, num_negatives, reporter, stats, notes, method)
        if options.scores:
            notes.append("scores are raw BM25 scores (unbounded): normalise them before BinaryCrossEntropyLoss")
    else:
        mined = mine_dense(pairs, target_format, options, num_negatives, reporter, stats, notes)
        negatives, negative_scores = dense_to_arrays(pairs, mined, target_format, num_negatives, stats)
        positive_scores = (
            positive_scores_dense(pairs, mined, target_format) if negative_scores is not None and options.scores else None
        )
    out, pairs_used = _build(pairs, target_format, negatives, negative_scores, positive_scores, options, num_negatives, dropped)
    if options.scores and target_format in ("triplet", "n-tuple"):
        notes.append(f"{target_format} has no label column: scores are not written (use a teacher for distillation formats)")
    found = (negatives >= 0).sum(axis=1)
    stats.update(
        {
            "num_negatives": num_negatives,
            "negatives_per_anchor_min": int(found.min()) if len(found) else 0,
            "negatives_per_anchor_mean": round(float(found.mean()), 3) if len(found) else 0.0,
            "anchors_short_of_negatives": int((found < num_negatives).sum()),
            "anchors_without_negatives": int((found == 0).sum()),
            "positives_per_anchor_mean": round(len(pairs.pair_q) / max(len(pairs.anchors), 1), 3),
        }
    )
    if stats["anchors_short_of_negatives"]:
        notes.append(
            f"{stats['anchors_short_of_negatives']} of {len(pairs.anchors)} anchors got fewer than {num_negatives} negatives"
            " (raise --range-max, relax the thresholds, or add documents with --corpus)"
        )
    out = _narrow_text(out, table.schema.field(0).type)
    rows_in = table.num_rows
    assert rows_in == pairs_used + sum(dropped.values()), (rows_in, pairs_used, dropped)
    return StepResult("mine", target_format, out, rows_in, out.num_rows, pairs_used, dropped, notes, stats)
