"""The numba kernel behind BM25Index.topk: per query, scores over its words' posting lists, then the k best.

Imported only when numba is installed and BM25 mining runs (numba's import and the first compilation cost
about a second).
"""

from __future__ import annotations

import numba
import numpy as np


def _jit(**options):
    """numba.njit with an on-disk cache (saves ~3 s of compilation per process) when a cache folder is writable."""

    def wrap(function):
        try:
            return numba.njit(cache=True, **options)(function)
        except RuntimeError:  # no writable cache location: compile in memory
            return numba.njit(**options)(function)

    return wrap


@_jit(nogil=True)
def _insert(top_scores: np.ndarray, top_ids: np.ndarray, filled: int, score: float, doc: int) -> int:
    """Insert (score, doc) into the sorted top list (best score first, lower id first among equals)."""
    k = len(top_ids)
    if filled == k:
        last = k - 1
        if score < top_scores[last] or (score == top_scores[last] and doc > top_ids[last]):
            return filled
        position = last
    else:
        position = filled
        filled += 1
    while position > 0 and (
        score > top_scores[position - 1] or (score == top_scores[position - 1] and doc < top_ids[position - 1])
    ):
        top_scores[position] = top_scores[position - 1]
        top_ids[position] = top_ids[position - 1]
        position -= 1
    top_scores[position] = score
    top_ids[position] = doc
    return filled


@_jit(parallel=True, nogil=True)
def topk_batch(q_indptr, q_indices, q_data, m_indptr, m_indices, m_data, n_docs, parts, out_ids, out_scores):
    """out_ids / out_scores (prefilled with -1 / -inf) get each query's k best documents with a non-zero score.

    Scores are float64 sums of the float32 contributions times the query word counts, as scipy's product gives.
    Every contribution must be positive (Lucene BM25's are): a zero sum marks a document not touched yet.
    """
    n = len(q_indptr) - 1
    k = out_ids.shape[1]
    per = (n + parts - 1) // parts
    for part in numba.prange(parts):
        acc = np.zeros(n_docs, np.float64)
        touched = np.empty(n_docs, np.int32)
        top_scores = np.empty(k, np.float64)
        top_ids = np.empty(k, np.int64)
        for query in range(part * per, min(n, (part + 1) * per)):
            count = 0
            for j in range(q_indptr[query], q_indptr[query + 1]):
                token, weight = q_indices[j], q_data[j]
                for p in range(m_indptr[token], m_indptr[token + 1]):
                    doc = m_indices[p]
                    if acc[doc] == 0.0:
                        touched[count] = doc
                        count += 1
                    acc[doc] += weight * np.float64(m_data[p])
            filled = 0
            for i in range(count):
                doc = touched[i]
                score = acc[doc]
                acc[doc] = 0.0
                filled = _insert(top_scores, top_ids, filled, score, doc)
            for i in range(filled):
                out_ids[query, i] = top_ids[i]
                out_scores[query, i] = top_scores[i]
