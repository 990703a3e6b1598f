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


@_jit(nogil=True)
def _kth(acc, touched, count, top_scores, top_ids) -> float:
    """The k-th best score among the touched documents so far (-inf when fewer than k)."""
    filled = 0
    for i in range(count):
        filled = _insert(top_scores, top_ids, filled, acc[touched[i]], touched[i])
    return top_scores[len(top_ids) - 1] if filled == len(top_ids) else -np.inf


@_jit(nogil=True)
def _find(indices, start, stop, doc) -> int:
    """Position of doc in the sorted indices[start:stop], or -1."""
    low, high = start, stop
    while low < high:
        middle = (low + high) >> 1
        if indices[middle] < doc:
            low = middle + 1
        else:
            high = middle
    return low if low < stop and indices[low] == doc else -1


@_jit(nogil=True)
def _score_query(query, q_indptr, q_indices, q_data, m_indptr, m_indices, m_data, upper, prune, acc, touched, top_scores,
                 top_ids) -> tuple[int, int]:
    """Accumulate one query's scores into acc; returns (documents touched, postings skipped by pruning).

    Words are taken rarest first. Before a long posting list, if the k-th best score so far already beats
    what any untouched document could still reach (the sum of the remaining words' largest contributions),
    no untouched document can enter the top k: the remaining words are only looked up, by binary search,
    for the documents already touched (MaxScore, Turtle & Flood 1995). The top k stays exact.
    """
    start, stop = q_indptr[query], q_indptr[query + 1]
    lengths = np.empty(stop - start, np.int64)
    for j in range(start, stop):
        lengths[j - start] = m_indptr[q_indices[j] + 1] - m_indptr[q_indices[j]]
    order = np.argsort(lengths)
    count, skipped, update_only = 0, 0, False
    for o in range(len(order)):
        j = start + order[o]
        token, weight = q_indices[j], q_data[j]
        first, last = m_indptr[token], m_indptr[token + 1]
        if prune and not update_only and count >= len(top_ids) and last - first > 16 * count:
            reachable = 0.0  # float64 sums of float32-valued terms are exact: no rounding can hide a document
            for r in range(o, len(order)):
                reachable += q_data[start + order[r]] * upper[q_indices[start + order[r]]]
            update_only = reachable < _kth(acc, touched, count, top_scores, top_ids)
        if update_only:
            for i in range(count):
                p = _find(m_indices, first, last, touched[i])
                if p >= 0:
                    acc[touched[i]] += weight * np.float64(m_data[p])
            skipped += last - first
            continue
        for p in range(first, last):
            doc = m_indices[p]
            if acc[doc] == 0.0:
                touched[count] = doc
                count += 1
            acc[doc] += weight * np.float64(m_data[p])
    return count, skipped


@_jit(parallel=True, nogil=True)
def topk_batch(q_indptr, q_indices, q_data, m_indptr, m_indices, m_data, upper, n_docs, parts, prune, out_ids, out_scores,
               skipped):
    """out_ids / out_scores (prefilled with -1 / -inf) get each query's k best documents; skipped[part] counts
    the postings pruning skipped.

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
            count, skip = _score_query(query, q_indptr, q_indices, q_data, m_indptr, m_indices, m_data, upper, prune, acc,
                                       touched, top_scores, top_ids)
            skipped[part] += skip
            filled = 0
            for i in range(count):
                doc = touched[i]
                score = acc[doc]
                acc[doc] = 0.0
                filled = _insert(top_scores, top_ids, filled, score, doc)
            for i in range(filled):
                out_ids[query, i] = top_ids[i]
                out_scores[query, i] = top_scores[i]
