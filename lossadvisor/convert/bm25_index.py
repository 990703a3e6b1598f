"""bm25s' tokenisation and Lucene BM25 index, built with numpy a chunk of texts at a time.

bm25s builds its index with a Python loop per document (a Counter, a small array) and keeps every token as
a Python string until the end: at a million documents that is most of the indexing time and more than a
gigabyte of lists. This module does the same arithmetic on flat int32 arrays, a chunk at a time:

- tokens: lower case, the words of `(?u)\\b\\w\\w+\\b`, bm25s' English stopwords removed (bm25s.tokenize);
- idf = log(1 + (N - df + 0.5) / (df + 0.5)) stored as float32, tf component tf / (k1 ((1 - b) + b dl / avgdl) + tf)
  in float64, their product stored as float32: the same operations in the same order as bm25s' `lucene`
  method (k1 = 1.5, b = 0.75), so the scores are bit-identical (tests/test_mine_scale.py checks it).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

K1, B = 1.5, 0.75
CHUNK = 50_000
SCORE_CHUNK = 4_000_000  # matrix cells scored at a time: ~100 MB of float64 temporaries
_WORDS = re.compile(r"(?u)\b\w\w+\b").findall


@dataclass
class Tokens:
    """Token ids of many texts, flat, with each text's length."""

    ids: np.ndarray  # int32
    lengths: np.ndarray  # int64


def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def tokenize(texts: Any, vocab: dict[str, int], *, grow: bool, task: Any = None) -> Tokens:
    """Token ids of `texts`; new words are added to `vocab` when `grow`, else dropped.

    Per text only the regex runs in Python; each chunk's words are dictionary-encoded by pyarrow, and
    stopwords and vocabulary ids are settled once per distinct word, not once per occurrence.
    """
    import pyarrow as pa

    stop = _stopwords()
    parts, lengths = [], []
    for start in range(0, len(texts), CHUNK):
        chunk = texts[start : start + CHUNK]
        if not isinstance(chunk, list):  # an Arrow array: Python strings for this chunk only
            chunk = chunk.to_pylist()
        words: list[str] = []
        raw = np.empty(len(chunk), dtype=np.int64)
        for i, text in enumerate(chunk):
            found = _WORDS(text.lower())
            raw[i] = len(found)
            words.extend(found)
        encoded = pa.array(words, pa.string()).dictionary_encode()
        del words
        distinct = encoded.dictionary.to_pylist()
        if grow:
            mapping = [-1 if w in stop else vocab.setdefault(w, len(vocab)) for w in distinct]
        else:
            mapping = [vocab.get(w, -1) for w in distinct]
        ids = np.asarray(mapping, dtype=np.int64)[encoded.indices.to_numpy(zero_copy_only=False)]
        keep = ids >= 0
        owner = np.repeat(np.arange(len(chunk), dtype=np.int64), raw)
        lengths.append(np.bincount(owner[keep], minlength=len(chunk)))
        parts.append(ids[keep].astype(np.int32))
        if task is not None:
            task.advance(len(chunk))
    if not parts:
        return Tokens(np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64))
    return Tokens(np.concatenate(parts), np.concatenate(lengths).astype(np.int64))


def score_matrix(tokens: Tokens, n_vocab: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(data, indices, indptr) of the token x document matrix of Lucene BM25 contributions, float32.

    Memory is what bounds mining a large corpus: the texts' tokens come in document order, so the document x token
    counts are built as CSR directly (no int64 (document, token) pairs), and the scores are computed SCORE_CHUNK
    cells at a time into the float32 result (not five float64 arrays the size of the matrix at once).
    """
    import scipy.sparse as sp

    n_docs = len(tokens.lengths)
    avg_doc_len = tokens.lengths.mean() if n_docs else 0.0
    # int32 offsets while they fit, so that scipy keeps the int32 token ids as they are
    offset_type = np.int32 if len(tokens.ids) < np.iinfo(np.int32).max else np.int64
    indptr = np.zeros(n_docs + 1, dtype=offset_type)
    np.cumsum(tokens.lengths, out=indptr[1:])
    # term frequencies: one (document, token) cell per distinct pair, counted by a sparse sum of ones
    counts = sp.csr_matrix((np.ones(len(tokens.ids), dtype=np.float32), tokens.ids, indptr), shape=(n_docs, n_vocab))
    counts.sum_duplicates()
    by_token = counts.tocsc()
    del counts, indptr
    df = np.diff(by_token.indptr)
    # math.log, as bm25s: numpy's log may differ in the last bit
    values, where = np.unique(df, return_inverse=True)
    idf = np.array([math.log(1 + (n_docs - d + 0.5) / (d + 0.5)) if d else 0.0 for d in values.tolist()], np.float32)[where]
    data = np.empty(by_token.nnz, dtype=np.float32)
    for start in range(0, by_token.nnz, SCORE_CHUNK):
        stop = min(start + SCORE_CHUNK, by_token.nnz)
        owner = np.searchsorted(by_token.indptr, np.arange(start, stop), side="right") - 1  # each cell's token
        tf = by_token.data[start:stop].astype(np.float64)
        doc_len = tokens.lengths[by_token.indices[start:stop]].astype(np.float64)
        tfc = tf / (K1 * ((1 - B) + B * doc_len / avg_doc_len) + tf)
        data[start:stop] = (idf[owner].astype(np.float64) * tfc).astype(np.float32)
    return data, by_token.indices.astype(np.int32, copy=False), by_token.indptr.astype(np.int64)
