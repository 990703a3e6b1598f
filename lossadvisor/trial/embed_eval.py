"""The held-out metric of the embedder families (SentenceTransformer, SparseEncoder, MultiVectorEncoder).

Which library evaluator fits which format (each family has its own class of the same kind, in
`<family module>.evaluation`):

- retrieval: (anchor, positive[, negatives...]) rows, margins and score lists, (damaged, original) pairs: an
  InformationRetrievalEvaluator (Sparse…, MultiVector…): the held-out anchors are the queries, every held-out
  candidate is the corpus, the positive (or the teacher's best) is relevant. NDCG@10, MRR@10.
- retrieval by class (single-class, for the batch-triplet losses): half of the held-out texts query the other half,
  same class = relevant (a kNN by class, NDCG@10).
- correlation (pair-score): EmbeddingSimilarityEvaluator, Spearman of the similarity with the gold score.
- classification (labeled-pair): BinaryClassificationEvaluator, accuracy at the best similarity threshold.
- none: unlabelled single texts and (anchor, anchor) pairs have nothing to measure without labels; SoftmaxLoss's
  classifier lives in the loss, not the model; teacher embeddings (input-embeddings) are a regression target.

The functions above the line are plain Python with no import of their own: `scaffold` copies their source into the
script it writes. The library evaluator gives the reported number; the per-query (or per-row) values the bootstrap
resamples are recomputed from the same hits (retrieval) or the same similarities (pairs).
"""

from __future__ import annotations

import warnings
from typing import Any

import pyarrow as pa

from lossadvisor.recipe import LABEL
from lossadvisor.trial.evaluation import candidate_relevance
from lossadvisor.trial.measure import Measurement

RETRIEVAL_FORMATS = ("pair", "triplet", "n-tuple", "triplet-margin", "n-tuple-margin", "triplet-scores",
                     "n-tuple-scores", "damaged-original")
# The evaluator class of each kind, per family (the model class's prefix: "", Sparse, MultiVector).
EVALUATOR_NAMES = {
    "retrieval": "{prefix}InformationRetrievalEvaluator",
    "class-retrieval": "{prefix}InformationRetrievalEvaluator",
    "correlation": "{prefix}EmbeddingSimilarityEvaluator",
    "classification": "{prefix}BinaryClassificationEvaluator",
}
NO_METRIC = {
    "single": "unlabelled single texts have no held-out metric without labels",
    "anchor-anchor": "(anchor, anchor) pairs have no held-out metric: every text would retrieve itself",
    "pair-class": "no held-out metric for SoftmaxLoss: its classifier lives in the loss, not in the model you keep",
    "input-embeddings": "no held-out retrieval metric for teacher embeddings (a regression target)",
}


def retrieval_samples(format_name, columns, labels):
    """(queries, corpus, relevant) for an InformationRetrievalEvaluator: each distinct anchor a query, every candidate
    text in the corpus once, the positive (or the teacher's best candidate) relevant to its anchor."""
    queries, corpus, relevant = {}, {}, {}
    query_ids, doc_ids = {}, {}
    for index, row in enumerate(zip(*columns)):
        query, candidates = row[0], list(row[1:])
        relevance = candidate_relevance(format_name, labels[index] if labels else None, len(candidates))
        best = max(range(len(candidates)), key=lambda i: relevance[i])
        for position, doc in enumerate(candidates):
            if doc not in doc_ids:
                doc_ids[doc] = f"d{len(doc_ids)}"
                corpus[doc_ids[doc]] = doc
            if position == best:
                if query not in query_ids:
                    query_ids[query] = f"q{len(query_ids)}"
                    queries[query_ids[query]] = query
                relevant.setdefault(query_ids[query], set()).add(doc_ids[doc])
    return queries, corpus, relevant


def class_retrieval_samples(texts, labels):
    """(queries, corpus, relevant) by class: the first half of the texts query the second half, and a text of the same
    class is relevant (queries whose class is absent from the corpus are left out)."""
    half = len(texts) // 2
    corpus = {f"d{i}": text for i, text in enumerate(texts[half:])}
    by_class = {}
    for i, label in enumerate(labels[half:]):
        by_class.setdefault(label, set()).add(f"d{i}")
    queries, relevant = {}, {}
    for i, (text, label) in enumerate(zip(texts[:half], labels[:half])):
        if label in by_class:
            queries[f"q{i}"] = text
            relevant[f"q{i}"] = by_class[label]
    return queries, corpus, relevant


# What the scaffolded script calls.
SCRIPT_FUNCTIONS = (candidate_relevance, retrieval_samples, class_retrieval_samples)


# --------------------------------------------------------------------------------------------- trial side


def evaluation_kind(format_name: str) -> str | None:
    """retrieval | class-retrieval | correlation | classification, or None (see NO_METRIC)."""
    if format_name in RETRIEVAL_FORMATS:
        return "retrieval"
    return {"single-class": "class-retrieval", "pair-score": "correlation", "labeled-pair": "classification"}.get(format_name)


def evaluator_class(module: str, prefix: str, kind: str):
    """The family's evaluator class of this kind; None when the family has none (no MultiVector similarity evaluator)."""
    import importlib

    evaluation = importlib.import_module(f"{module}.evaluation")
    return getattr(evaluation, EVALUATOR_NAMES[kind].format(prefix=prefix), None)


def build_embedder_evaluator(module: str, prefix: str, format_name: str, table: pa.Table) -> tuple[Any, str | None]:
    """(the library evaluator on the held-out rows, None) or (None, why there is none)."""
    kind = evaluation_kind(format_name)
    if kind is None:
        return None, NO_METRIC.get(format_name, f"no held-out metric for {format_name} data")
    cls = evaluator_class(module, prefix, kind)
    if cls is None:
        return None, f"no {kind} evaluator in {module}.evaluation"
    columns = [table.column(name).to_pylist() for name in table.column_names if name != LABEL]
    labels = table.column(LABEL).to_pylist() if LABEL in table.column_names else []
    common = {"name": "", "write_csv": False, "show_progress_bar": False}
    if kind in ("retrieval", "class-retrieval"):
        queries, corpus, relevant = (retrieval_samples(format_name, columns, labels) if kind == "retrieval"
                                     else class_retrieval_samples(columns[0], labels))
        if not queries or len(corpus) < 2:
            return None, f"no evaluation: the {table.num_rows} held-out rows give the evaluator nothing to retrieve"
        return cls(queries, corpus, relevant, **common), None
    if kind == "correlation":
        return cls(columns[0], columns[1], [float(v) for v in labels], **common), None
    if len(set(labels)) < 2:
        return None, f"no evaluation: the {table.num_rows} held-out rows hold one label only"
    return cls(columns[0], columns[1], [int(v) for v in labels], **common), None


def measure_embedder(evaluator, model, notes: list[str]) -> Measurement | None:
    """Run the library evaluator; its primary metric is the value, and the per-unit values come with it."""
    captured: list[list] = []
    original = getattr(evaluator, "compute_metrics", None)
    if original is not None and hasattr(evaluator, "queries_ids"):
        def recording(results, *args, **kwargs):
            captured.append(results)
            return original(results, *args, **kwargs)

        evaluator.compute_metrics = recording
    try:
        scores = evaluator(model)
        if hasattr(evaluator, "queries_ids"):
            return _retrieval(evaluator, scores, captured)
        return _pairs(evaluator, scores, model)
    except Exception as exc:
        notes.append(f"evaluation failed: {type(exc).__name__}: {str(exc).strip()[:200]}")
        return None
    finally:
        if original is not None:
            evaluator.__dict__.pop("compute_metrics", None)


def _retrieval(evaluator, scores: dict, captured: list[list]) -> Measurement:
    import numpy as np

    primary = evaluator.primary_metric
    function = primary.rsplit("_ndcg@", 1)[0]
    names = list(evaluator.score_functions)  # the order compute_metrics is called in
    results = captured[names.index(function)] if function in names and len(captured) == len(names) else captured[-1]
    ndcg, mrr = [], []
    for query_id, hits in zip(evaluator.queries_ids, results):
        top = sorted(hits, key=lambda hit: (-hit["score"], hit["corpus_id"]))[:10]
        wanted = evaluator.relevant_docs[query_id]
        found = [1 if hit["corpus_id"] in wanted else 0 for hit in top]
        ndcg.append(evaluator.compute_dcg_at_k(found, 10) / evaluator.compute_dcg_at_k([1] * len(wanted), 10))
        mrr.append(next((1.0 / (rank + 1) for rank, hit in enumerate(found) if hit), 0.0))
    arrays = {"ndcg@10": np.array(ndcg), "mrr@10": np.array(mrr)}
    on_units = {name: (lambda idx, _a=array: float(_a[idx].mean())) for name, array in arrays.items()}
    return Measurement("retrieval", "ndcg@10", float(scores[primary]), {"mrr@10": float(scores[f"{function}_mrr@10"])},
                       len(ndcg), "queries", on_units)


def _similarities(model, first: list, second: list):
    import numpy as np
    import torch

    with torch.no_grad():
        a = model.encode(first, convert_to_tensor=True, show_progress_bar=False)
        b = model.encode(second, convert_to_tensor=True, show_progress_bar=False)
        values = model.similarity_pairwise(a, b)
    return np.asarray(values.detach().float().cpu().to_dense() if values.is_sparse else values.detach().float().cpu())


def _pairs(evaluator, scores: dict, model) -> Measurement:
    import numpy as np

    primary = evaluator.primary_metric
    if hasattr(evaluator, "scores"):  # EmbeddingSimilarityEvaluator
        from scipy.stats import spearmanr

        gold = np.asarray(evaluator.scores, dtype=float)
        predicted = _similarities(model, list(evaluator.sentences1), list(evaluator.sentences2))

        def spearman(idx) -> float:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = spearmanr(gold[idx], predicted[idx]).statistic
            return float(value) if np.isfinite(value) else 0.0

        return Measurement("correlation", "spearman", float(scores[primary]), {}, len(gold), "rows", {"spearman": spearman})
    from sentence_transformers.sentence_transformer.evaluation import BinaryClassificationEvaluator

    gold = np.asarray(evaluator.labels)
    predicted = _similarities(model, list(evaluator.sentences1), list(evaluator.sentences2))

    def accuracy(idx) -> float:
        return float(BinaryClassificationEvaluator.find_best_acc_and_threshold(predicted[idx], gold[idx], True)[0])

    value = accuracy(np.arange(len(gold)))
    key = next((name for name in scores if name.endswith("_accuracy") and name.startswith(primary.split("_")[0])), None)
    return Measurement("classification", "accuracy", float(scores[key]) if key else value,
                       {"ap": float(scores[primary])} if primary.endswith("_ap") else {}, len(gold), "rows",
                       {"accuracy": accuracy})
