"""Distillation labels from a teacher (a CrossEncoder, or a dense or sparse embedder's similarity): margins or scores, in the list lengths each format expects.

| target          | input            | label                                              |
|-----------------|------------------|----------------------------------------------------|
| pair-score      | (a, b)           | s(a, b)                                            |
| triplet-margin  | (q, p, n)        | s(q, p) - s(q, n)                                  |
| triplet-scores  | (q, p, n)        | [s(q, p), s(q, n)]                                 |
| n-tuple-margin  | (q, p, n_1..n_k) | [s(q, p) - s(q, n_i) for i in 1..k]  (length k)    |
| n-tuple-scores  | (q, p, n_1..n_k) | [s(q, p), s(q, n_1), ..., s(q, n_k)] (length k+1)  |

Scores are the teacher's raw logits (no Sigmoid): MarginMSELoss and MSELoss regress them with an identity
activation, and a saturated Sigmoid would flatten the margins. Each distinct (query, text) pair is scored once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from lossadvisor.convert._arrow import LABEL, add_count, dense_ids, fixed_lists, flat, interleave, need_text, present_text
from lossadvisor.convert.models import describe, load_cross_encoder, load_embedder, predict_pairs, teacher_kind
from lossadvisor.convert.options import ConvertOptions, StepResult
from lossadvisor.convert.progress import as_reporter
from lossadvisor.errors import FitError

TARGETS = ("pair-score", "triplet-margin", "triplet-scores", "n-tuple-margin", "n-tuple-scores")
TEXTS_EXPECTED = {
    "pair-score": (2, 2),
    "triplet-margin": (3, 3),
    "triplet-scores": (3, 3),
    "n-tuple-margin": (4, None),
    "n-tuple-scores": (4, None),
}


def teacher(table: pa.Table, target_format: str, options: ConvertOptions, *, progress: Any = None) -> StepResult:
    """triplet / n-tuple / pair → a distillation format, labelled by a CrossEncoder teacher."""
    if target_format not in TARGETS:
        raise FitError(f"a teacher makes {', '.join(TARGETS)}, not {target_format}")
    if options.teacher is None:
        raise FitError(
            f"converting to {target_format} needs a teacher CrossEncoder",
            "Pass --teacher with a local CrossEncoder folder or a model id already in your Hugging Face cache.",
        )
    low, high = TEXTS_EXPECTED[target_format]
    names = [n for n in table.column_names if n != LABEL]
    if len(names) < low or (high is not None and len(names) > high):
        wanted = f"{low}" if low == high else f"at least {low}"
        raise FitError(f"{target_format} is made from {wanted} text columns, found {len(names)} ({', '.join(names)})")
    positions = [table.column_names.index(n) for n in names]
    need_text(table, positions, "teacher")
    reporter = as_reporter(progress)
    columns = [flat(table.column(p)) for p in positions]
    ok = np.logical_and.reduce([present_text(c) for c in columns])
    dropped: dict[str, int] = {}
    add_count(dropped, "null or empty text", (~ok).sum())
    if not ok.all():
        mask = pa.array(ok)
        columns = [c.filter(mask) for c in columns]
    query, others = columns[0], columns[1:]
    width = len(others)
    rows = len(query)
    # Distinct (query, text) pairs: every text column shares one dictionary so equal texts get one id.
    q_ids, queries = dense_ids(query)
    d_ids, docs = dense_ids(interleave(others) if rows else pa.array([], pa.large_string()))
    q_cells = np.repeat(q_ids, width)
    key = q_cells * max(len(docs), 1) + d_ids
    unique_keys, inverse = np.unique(key, return_inverse=True)
    pair_q, pair_d = unique_keys // max(len(docs), 1), unique_keys % max(len(docs), 1)
    kind = teacher_kind(options.teacher)
    if kind == "cross":
        model = load_cross_encoder(options.teacher, trust_remote_code=options.trust_remote_code)
        batch = list(zip(queries.take(pa.array(pair_q)).to_pylist(), docs.take(pa.array(pair_d)).to_pylist()))
        task = reporter.task(f"scoring with teacher {describe(options.teacher)}", len(batch))
        predicted = predict_pairs(model, batch, options.batch_size, raw=True, progress_task=task)
    else:  # a dense or sparse embedder: the similarity of the two texts' embeddings
        model = load_embedder(options.teacher, trust_remote_code=options.trust_remote_code)
        batch = list(range(len(pair_q)))
        task = reporter.task(f"scoring with teacher {describe(options.teacher)}", len(batch))
        predicted = embedder_scores(model, queries.to_pylist(), docs.to_pylist(), pair_q, pair_d, options.batch_size)
        task.advance(len(batch))
    task.finish()
    cells = predicted[inverse.ravel()].reshape(rows, width)
    if target_format == "pair-score":
        label = pa.array(cells[:, 0], pa.float64())
    elif target_format == "triplet-margin":
        label = pa.array(cells[:, 0] - cells[:, 1], pa.float64())
    elif target_format == "n-tuple-margin":
        label = fixed_lists(pa.array((cells[:, :1] - cells[:, 1:]).ravel(), pa.float64()), width - 1)
    else:  # triplet-scores, n-tuple-scores
        label = fixed_lists(pa.array(cells.ravel(), pa.float64()), width)
    out = pa.table([*columns, label], names=[*names, LABEL])
    finite = np.isfinite(cells)
    stats = {
        "teacher": describe(options.teacher),
        "teacher_kind": {"cross": "CrossEncoder", "dense": "SentenceTransformer", "sparse": "SparseEncoder"}[kind],
        "pairs_scored": len(batch),
        "score_min": round(float(cells[finite].min()), 4) if finite.any() else None,
        "score_max": round(float(cells[finite].max()), 4) if finite.any() else None,
    }
    if width > 1:
        margins = cells[:, :1] - cells[:, 1:]
        stats["negatives_scored_above_positive"] = int((margins < 0).sum())
    notes = ["labels are the teacher's raw scores (logits, no Sigmoid)" if kind == "cross" else
             f"labels are the teacher {stats['teacher_kind']}'s similarity of the texts' embeddings"
             f" ({getattr(model, 'similarity_fn_name', None) or 'its similarity function'})"]
    if target_format == "pair-score" and kind == "cross":
        notes.append("for BinaryCrossEntropyLoss rather than MSELoss, squash them to [0, 1] first")
    if stats.get("negatives_scored_above_positive"):
        notes.append(
            f"the teacher scores {stats['negatives_scored_above_positive']} negatives above their positive "
            "(possible false negatives; their margins are negative)"
        )
    used = int(ok.sum())
    return StepResult("teacher", target_format, out, table.num_rows, out.num_rows, used, dropped, notes, stats)


def embedder_scores(model: Any, queries: list[str], docs: list[str], pair_q: np.ndarray, pair_d: np.ndarray,
                    batch_size: int, chunk: int = 256) -> np.ndarray:
    """model.similarity_pairwise of each (query, doc) pair, each distinct text embedded once (sparse vectors are
    densified a chunk of pairs at a time)."""
    import torch

    def embed(texts: list[str]):
        return model.encode(texts, batch_size=batch_size, show_progress_bar=False, convert_to_tensor=True)

    q, d = embed(queries), embed(docs)
    out = []
    for start in range(0, len(pair_q), chunk):
        qi = torch.as_tensor(pair_q[start:start + chunk], dtype=torch.long, device=q.device)
        di = torch.as_tensor(pair_d[start:start + chunk], dtype=torch.long, device=d.device)
        a, b = q.index_select(0, qi), d.index_select(0, di)
        if a.is_sparse:
            a, b = a.to_dense(), b.to_dense()
        out.append(model.similarity_pairwise(a, b).float().cpu().numpy().reshape(-1))
    return np.concatenate(out).astype(np.float64) if out else np.zeros(0)
