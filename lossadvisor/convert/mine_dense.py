"""Dense hard-negative mining: upstream's `mine_hard_negatives` with a SentenceTransformer, read back into ids.

Upstream's own knobs for scale are passed through: `use_faiss` (a faiss index instead of one dense score
matrix), `use_multi_process` (encode on several CPU processes or devices), `faiss_batch_size` and the
encoding `batch_size`; `device` moves the model before mining.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lossadvisor.convert._arrow import LABEL, flat, interleave
from lossadvisor.convert.models import describe, load_cross_encoder, load_sentence_transformer, tqdm_into
from lossadvisor.convert.options import ConvertOptions
from lossadvisor.convert.progress import Reporter

if TYPE_CHECKING:
    from lossadvisor.convert.mine import Pairs


def faiss_available() -> bool:
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def mine_dense(
    pairs: Pairs,
    target: str,
    options: ConvertOptions,
    num_negatives: int,
    reporter: Reporter,
    stats: dict[str, Any],
    notes: list[str],
) -> pa.Table:
    """Upstream's mine_hard_negatives on the deduplicated pairs; returns its table in canonical columns."""
    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives

    model = load_sentence_transformer(options.miner, trust_remote_code=options.trust_remote_code)
    cross_encoder = (load_cross_encoder(options.rescore, "rescore", "--rescore", trust_remote_code=options.trust_remote_code)
                     if options.rescore is not None else None)
    absolute_margin = options.absolute_margin
    thresholds = (options.absolute_margin, options.relative_margin, options.max_score, options.min_score)
    if cross_encoder is not None and all(t is None for t in thresholds):
        absolute_margin = 0.0  # upstream rescores only when a threshold is set
        notes.append("rescored with a CrossEncoder: candidates it scores above their anchor's positive are dropped")
    anchor_name, positive_name = "anchor", "positive"
    dataset = Dataset.from_dict(
        {
            anchor_name: pairs.anchors.take(pa.array(pairs.pair_q)).to_pylist(),
            positive_name: pairs.corpus.take(pa.array(pairs.pair_d)).to_pylist(),
        }
    )
    in_pairs = set(pairs.pair_d.tolist())
    extra = [t for i, t in enumerate(pairs.corpus.to_pylist()) if i not in in_pairs]
    use_faiss = faiss_available() if options.use_faiss is None else options.use_faiss
    if options.device is not None and hasattr(model, "to"):
        model.to(options.device)
    task = reporter.task(f"dense mining with {describe(options.miner)} (batches encoded and searched)", None)
    with tqdm_into(task):
        mined = mine_hard_negatives(
            dataset,
            model,
            anchor_column_name=anchor_name,
            positive_column_name=positive_name,
            corpus=extra or None,
            cross_encoder=cross_encoder,
            range_min=options.range_min,
            range_max=options.range_max,
            max_score=options.max_score,
            min_score=options.min_score,
            absolute_margin=absolute_margin,
            relative_margin=options.relative_margin,
            num_negatives=num_negatives,
            sampling_strategy=options.sampling,
            output_format=target,
            output_scores=options.scores and target in ("labeled-pair", "labeled-list"),
            batch_size=options.batch_size,
            use_faiss=use_faiss,
            faiss_batch_size=options.faiss_batch_size,
            use_multi_process=list(options.multi_process) if isinstance(options.multi_process, tuple) else options.multi_process,
            verbose=False,
        )
    task.finish()
    stats["faiss"] = use_faiss
    stats["multi_process"] = options.multi_process if isinstance(options.multi_process, bool) else list(options.multi_process)
    out = mined.data.table
    names = out.column_names
    if target == "labeled-pair":
        out = out.rename_columns([anchor_name, "text", LABEL])
    elif target == "labeled-list":
        out = out.rename_columns([anchor_name, "docs", LABEL])
    else:
        out = out.select([n for n in names if n != "scores"])
    return out


def pair_keys(pairs: Pairs, anchors: pa.Array, texts: pa.Array) -> np.ndarray:
    q = pc.fill_null(pc.index_in(pc.cast(anchors, pa.large_string()), value_set=pairs.anchors), -1).to_numpy(zero_copy_only=False)
    d = pc.fill_null(pc.index_in(pc.cast(texts, pa.large_string()), value_set=pairs.corpus), -1).to_numpy(zero_copy_only=False)
    return np.where((q >= 0) & (d >= 0), q.astype(np.int64) * len(pairs.corpus) + d, -1)


def dense_to_arrays(
    pairs: Pairs, table: pa.Table, target: str, num_negatives: int, stats: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray | None]:
    """Back from upstream's rows to per-anchor negative ids, so that both miners share the output code.

    Also re-checks upstream's result against this module's rules (never a known positive, never the anchor).
    Returns the negatives per anchor and, for score outputs, their scores (None otherwise).
    """
    n_anchors, n_corpus = len(pairs.anchors), len(pairs.corpus)
    anchor = flat(table.column(0))
    scores = None
    if target in ("triplet", "n-tuple"):
        negative_columns = [flat(table.column(i)) for i in range(2, table.num_columns)]
        width = len(negative_columns)
        neg_text = interleave(negative_columns)
        q_text = anchor.take(pa.array(np.repeat(np.arange(len(anchor)), width)))
    elif target == "labeled-list":
        docs = flat(table.column(1))
        parents = pc.list_parent_indices(docs).to_numpy(zero_copy_only=False)
        values = pc.list_flatten(docs)
        labels = pc.list_flatten(flat(table.column(2))).to_numpy(zero_copy_only=False)
        first = np.ones(len(values), dtype=bool)
        first[1:] = parents[1:] != parents[:-1]
        neg_text, q_text = values.filter(pa.array(~first)), anchor.take(pa.array(parents[~first]))
        scores = labels[~first].astype(np.float64)
    else:
        texts = flat(table.column(1))
        keys = pair_keys(pairs, anchor, texts)
        is_positive = np.isin(keys, pairs.positive_keys)
        neg_text, q_text = texts.filter(pa.array(~is_positive)), anchor.filter(pa.array(~is_positive))
        scores = flat(table.column(2)).to_numpy(zero_copy_only=False)[~is_positive].astype(np.float64)
    keys = pair_keys(pairs, q_text, neg_text)
    leaked = np.isin(keys, pairs.positive_keys)
    q = np.where(keys >= 0, keys // max(n_corpus, 1), -1)
    d = np.where(keys >= 0, keys % max(n_corpus, 1), -1)
    itself = (q >= 0) & (d == pairs.anchor_in_corpus[np.maximum(q, 0)])
    stats["dropped_known_positives"] = int(leaked.sum())
    stats["dropped_anchor_itself"] = int(itself.sum())
    ok = (keys >= 0) & ~leaked & ~itself
    q, d = q[ok], d[ok]
    score_values = scores[ok] if scores is not None else np.zeros(len(q))
    # Distinct negatives per anchor, in the order upstream ranked them.
    key = q * n_corpus + d
    _, first_seen = np.unique(key, return_index=True)
    first_seen.sort()
    q, d, score_values = q[first_seen], d[first_seen], score_values[first_seen]
    order = np.argsort(q, kind="stable")
    q, d, score_values = q[order], d[order], score_values[order]
    counts = np.bincount(q, minlength=n_anchors)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    slot = np.arange(len(q)) - starts[q]
    keep = slot < num_negatives
    negatives = np.full((n_anchors, num_negatives), -1, dtype=np.int64)
    negative_scores = np.full((n_anchors, num_negatives), -np.inf)
    negatives[q[keep], slot[keep]] = d[keep]
    negative_scores[q[keep], slot[keep]] = score_values[keep]
    return negatives, (negative_scores if scores is not None else None)


def positive_scores_dense(pairs: Pairs, table: pa.Table, target: str) -> np.ndarray:
    """Upstream puts the positive's score first in a labeled-list, and on the positive row of a labeled-pair."""
    out = np.full(len(pairs.pair_q), np.nan)
    key_of_pair = pairs.positive_keys
    if target == "labeled-list":
        docs, labels = flat(table.column(1)), flat(table.column(2))
        firsts = pc.list_element(docs, 0)
        score = pc.list_element(labels, 0).to_numpy(zero_copy_only=False)
        keys = pair_keys(pairs, flat(table.column(0)), firsts)
    else:
        keys = pair_keys(pairs, flat(table.column(0)), flat(table.column(1)))
        score = flat(table.column(2)).to_numpy(zero_copy_only=False)
    where = {k: float(s) for k, s in zip(keys.tolist(), score.tolist())}
    for i, k in enumerate(key_of_pair.tolist()):
        out[i] = where.get(k, np.nan)
    return out
