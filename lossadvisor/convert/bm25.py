"""BM25 top-k for every anchor at once: bm25s builds the index, this module retrieves from it.

bm25s' own retrieval scores one query at a time into a dense array over the whole corpus (numpy: np.add.at
per query word; numba: a dense array and a top-k over it), which costs O(corpus) per query, so mining a
corpus against itself grows as N^2 in the corpus size even for queries that touch a few documents. Here each
query's scores are accumulated over its words' posting lists only, and the k best are kept from the
documents it touched (bm25_numba.py, numba threads); without numba, queries are scored a block at a time
as one scipy sparse product.

Scores are float64 sums of bm25s' float32 contributions: those sums are exact whatever the order of
addition, so both backends give bit-identical scores, and ties (equal score: lower document id first) break
alike.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

import numpy as np

from lossadvisor.convert.progress import Reporter

# Dense score cells per query block: bounds memory to a few hundred MB whatever the corpus size.
CHUNK_CELLS = 8_000_000
# Queries per numba call: the progress bar moves, and Ctrl-C is seen, between calls.
NUMBA_BATCH = 16_384
TOKENIZE_CHUNK = 50_000


def tokenize(texts: Any, reporter: Reporter, description: str) -> list[list[str]]:
    """bm25s' tokenisation (lower case, \\w\\w+ words, English stopwords), a chunk at a time for the progress bar."""
    import bm25s

    task = reporter.task(description, len(texts))
    out: list[list[str]] = []
    for start in range(0, len(texts), TOKENIZE_CHUNK):
        chunk = texts[start : start + TOKENIZE_CHUNK]
        chunk = chunk if isinstance(chunk, list) else chunk.to_pylist()
        out.extend(bm25s.tokenize(chunk, stopwords="en", show_progress=False, return_ids=False))
        task.advance(len(chunk))
    task.finish()
    return out


@cache
def numba_available() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def _kth_per_row(indptr: np.ndarray, data: np.ndarray, k: int) -> np.ndarray:
    """Each CSR row's k-th largest value (-inf when the row has fewer), by one partition over a padded block."""
    n = len(indptr) - 1
    lengths = np.diff(indptr)
    rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
    position = np.arange(len(data), dtype=np.int64) - indptr[rows]
    width = max(int(lengths.max(initial=0)), k)
    padded = np.full((n, width), -np.inf, dtype=data.dtype)
    padded[rows, position] = data
    return np.partition(padded, width - k, axis=1)[:, width - k]


def _topk_cells(rows: np.ndarray, docs: np.ndarray, scores: np.ndarray, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the k best (row, doc, score) cells: best score first, lower document id first among equals."""
    order = np.lexsort((docs, -scores, rows))
    rows, docs, scores = rows[order], docs[order], scores[order]
    rank = np.arange(len(rows), dtype=np.int64) - np.searchsorted(rows, rows, side="left")
    keep = rank < k
    ids = np.full((n, k), -1, dtype=np.int64)
    out = np.full((n, k), -np.inf, dtype=np.float64)
    ids[rows[keep], rank[keep]] = docs[keep]
    out[rows[keep], rank[keep]] = scores[keep]
    return ids, out


def _blocks(reach: np.ndarray) -> Iterator[np.ndarray]:
    """Query positions ordered by how many documents they may touch, cut so each padded block stays small.

    Ordering keeps the rows of one block about equally long, so the padding (and the partition over it)
    costs about as much as the scores themselves rather than rows x the longest row.
    """
    order = np.argsort(reach, kind="stable")
    start, n = 0, len(order)
    while start < n:
        stop = start + 1
        while stop < n and stop - start < 4096 and (stop + 1 - start) * max(reach[order[stop]], 1) <= CHUNK_CELLS:
            stop += 1
        yield order[start:stop]
        start = stop


def _run_blocks(blocks: list[np.ndarray], work: Callable[[np.ndarray], Any], task: Any) -> Iterator[tuple[np.ndarray, Any]]:
    # scipy's sparse product and numpy's sorts release the GIL, so blocks overlap on the cores.
    workers = max(1, min(len(blocks), os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool:
        for block, result in zip(blocks, pool.map(work, blocks)):
            yield block, result
            task.advance(len(block))


class BM25Index:
    """bm25s' index of the corpus as a (token x document) matrix of scores, and the queries as word counts."""

    def __init__(
        self, corpus: Any, queries: Any, reporter: Reporter | None = None, *, dtype: Any = None, indexer: str = "numpy"
    ) -> None:
        """corpus and queries: lists of strings or Arrow string arrays (read a chunk at a time, never whole as
        Python strings). dtype of the scores matrix: None keeps float32 for numba (which adds in float64) and takes float64 for
        scipy's product, so that both add exactly; float32 with scipy is the legacy method. indexer "numpy"
        (bm25_index.py) or "bm25s" (bm25s' own, the legacy method): the same scores either way."""
        import scipy.sparse as sp

        reporter = reporter or Reporter()
        if dtype is None:
            dtype = np.float32 if numba_available() else np.float64
        build = _index_bm25s if indexer == "bm25s" else _index_numpy
        data, indices, indptr, rows, cols, self.constant = build(corpus, queries, reporter)
        n_tokens = len(indptr) - 1
        self.n_docs = len(corpus)
        # Row t holds the BM25 contribution of token t to every document that contains it.
        self.matrix = sp.csr_matrix((data.astype(dtype), indices, indptr), shape=(n_tokens, self.n_docs))
        self.matrix.sort_indices()
        # Repeated query words count once per occurrence, as in bm25s' own scoring.
        self.queries = sp.csr_matrix((np.ones(len(cols), dtype=dtype), (rows, cols)), shape=(len(queries), n_tokens))
        self.queries.sum_duplicates()
        self.empty_queries = int((np.diff(self.queries.indptr) == 0).sum())
        self.postings = np.diff(self.matrix.indptr)
        self.stats: dict[str, Any] = {"indexer": indexer}
        self.prune = True  # MaxScore pruning in the numba kernel (exact either way; False for comparisons)

    def _offset(self, query_rows: np.ndarray) -> np.ndarray | float:
        if self.constant is None:
            return 0.0
        return np.asarray(self.queries[query_rows] @ self.constant).ravel()

    def _exhaustive_block(self, queries: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
        result = (queries @ self.matrix).tocsr()
        kth = _kth_per_row(result.indptr, result.data, k)
        rows = np.repeat(np.arange(queries.shape[0], dtype=np.int64), np.diff(result.indptr))
        # Only the few cells at or above each row's k-th best are sorted.
        top = np.flatnonzero(result.data >= kth[rows])
        return _topk_cells(rows[top], result.indices[top].astype(np.int64), result.data[top], queries.shape[0], k)

    def topk(self, k: int, reporter: Reporter, *, backend: str = "auto") -> tuple[np.ndarray, np.ndarray]:
        """Per query, the ids and scores of the k best documents that share a word with it (-1 / -inf pads).

        backend "numba" accumulates each query's scores over its words' posting lists and keeps the k best
        of the touched documents; "scipy" is the blocked sparse product (the method before numba, kept for
        the benchmark and as the reference in tests); "auto" takes numba when it is installed. Both give
        the same ids and scores.
        """
        n = self.queries.shape[0]
        k = max(1, min(k, self.n_docs))
        ids = np.full((n, k), -1, dtype=np.int64)
        scores = np.full((n, k), -np.inf, dtype=np.float64)
        task = reporter.task("BM25 retrieval", n)
        if backend == "auto":
            backend = "numba" if numba_available() else "scipy"
        if backend == "numba" and self.matrix.nnz and self.matrix.data.min() <= 0:
            backend = "scipy"  # the kernel needs positive contributions (Lucene BM25's always are)
        self.stats["backend"] = backend
        if backend == "numba":
            _topk_numba(self, k, ids, scores, task)
        else:
            reach = np.minimum(np.asarray(self.queries @ self.postings.astype(np.float64)).ravel(), self.n_docs)
            blocks = list(_blocks(reach))
            for block, (block_ids, block_scores) in _run_blocks(blocks, lambda b: self._exhaustive_block(self.queries[b], k), task):
                ids[block], scores[block] = block_ids, block_scores
        task.finish()
        if self.constant is not None:
            scores += self._offset(np.arange(n))[:, None]
        return ids, scores

    def pair_scores(self, query_rows: np.ndarray, doc_ids: np.ndarray) -> np.ndarray:
        """BM25 score of given (query, document) pairs."""
        if not hasattr(self, "_by_doc"):
            self._by_doc = self.matrix.T.tocsr()
        scores = np.asarray(self.queries[query_rows].multiply(self._by_doc[doc_ids]).sum(axis=1)).ravel()
        offset = self._offset(query_rows)
        return scores + offset


def _index_numpy(corpus: list[str], queries: list[str], reporter: Reporter) -> tuple[Any, ...]:
    from lossadvisor.convert import bm25_index

    vocab: dict[str, int] = {}
    task = reporter.task("BM25 tokenising the corpus", len(corpus))
    tokens = bm25_index.tokenize(corpus, vocab, grow=True, task=task)
    task.finish()
    task = reporter.task("BM25 indexing", None)
    data, indices, indptr = bm25_index.score_matrix(tokens, len(vocab))
    del tokens
    task.finish()
    task = reporter.task("BM25 tokenising the anchors", len(queries))
    asked = bm25_index.tokenize(queries, vocab, grow=False, task=task)
    task.finish()
    rows = np.repeat(np.arange(len(queries), dtype=np.int64), asked.lengths)
    return data, indices, indptr, rows, asked.ids.astype(np.int64), None

def _index_bm25s(corpus: list[str], queries: list[str], reporter: Reporter) -> tuple[Any, ...]:
    import bm25s

    retriever = bm25s.BM25()
    tokens = tokenize(corpus, reporter, "BM25 tokenising the corpus")
    task = reporter.task("BM25 indexing", None)
    retriever.index(tokens, show_progress=False)
    del tokens
    task.finish()
    scores = retriever.scores
    n_tokens = len(scores["indptr"]) - 1
    constant = None
    if retriever.nonoccurrence_array is not None:  # BM25L / BM25+ variants add a per-token floor
        constant = np.asarray(retriever.nonoccurrence_array, dtype=np.float64)
    vocab = retriever.vocab_dict
    rows, cols = [], []
    for row, words in enumerate(tokenize(queries, reporter, "BM25 tokenising the anchors")):
        ids = [vocab[w] for w in words if w in vocab and vocab[w] < n_tokens]
        rows.extend([row] * len(ids))
        cols.extend(ids)
    return (scores["data"], scores["indices"], scores["indptr"], np.asarray(rows, dtype=np.int64),
            np.asarray(cols, dtype=np.int64), constant)


def _topk_numba(index: BM25Index, k: int, ids: np.ndarray, scores: np.ndarray, task: Any) -> None:
    from lossadvisor.convert.bm25_numba import topk_batch

    q, m = index.queries, index.matrix
    threads = max(1, os.cpu_count() or 1)
    # each word's largest contribution to any document, for pruning
    upper = np.zeros(m.shape[0], dtype=np.float64)
    filled = index.postings > 0
    upper[filled] = np.maximum.reduceat(m.data, m.indptr[:-1][filled])
    skipped = np.zeros(threads * 4, dtype=np.int64)
    for start in range(0, q.shape[0], NUMBA_BATCH):
        stop = min(start + NUMBA_BATCH, q.shape[0])
        indptr = q.indptr[start : stop + 1]
        topk_batch(
            indptr - indptr[0], q.indices[indptr[0] : indptr[-1]], q.data[indptr[0] : indptr[-1]],
            m.indptr, m.indices, m.data, upper, index.n_docs, threads * 4, index.prune, ids[start:stop], scores[start:stop],
            skipped,
        )
        task.advance(stop - start)
    total = float(np.asarray(q @ index.postings.astype(np.float64)).sum())
    index.stats["postings_skipped_share"] = round(float(skipped.sum()) / total, 4) if total else 0.0
