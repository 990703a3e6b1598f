"""The task's metric from the library evaluator, per held-out query, and its noise by a bootstrap over queries.

The documented sentence-transformers evaluator scores the model (its numbers are the ones reported); the
predictions it asked the model for are kept, so that the same metric can be recomputed on resampled queries
(or rows, for pair formats) to say how much of a change is noise. No extra training: a bootstrap only
re-averages what was measured once.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from sentence_transformers.cross_encoder import CrossEncoder

BOOTSTRAP_SAMPLES = 300
# The reported noise: half-width of the central 95% of the bootstrapped differences.
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Measurement:
    """One model scored on the held-out rows: the reported metrics and what the bootstrap resamples."""

    kind: str  # reranking | correlation | classification
    metric: str
    value: float
    others: dict[str, float]
    units: int
    unit: str
    # metric name -> function(indices) -> value over those units; the same predictions, recomputed.
    on_units: dict[str, Callable[[Any], float]]


def measure(evaluator, kind: str, model: CrossEncoder, notes: list[str]) -> Measurement | None:
    """Run the evaluator; None (and a note) when it fails, so the trial keeps its result without a score."""
    import numpy as np

    captured: list[np.ndarray] = []
    original = model.predict

    def recording(*args, **kwargs):
        output = original(*args, **kwargs)
        captured.append(np.asarray(output, dtype=float))
        return output

    model.predict = recording
    try:
        scores = evaluator(model)
    except Exception as exc:
        notes.append(f"evaluation failed: {type(exc).__name__}: {str(exc).strip()[:200]}")
        return None
    finally:
        del model.predict
    predictions = np.concatenate(captured) if captured else np.zeros(0)
    if kind == "reranking":
        return _reranking(evaluator, scores, predictions)
    if kind == "correlation":
        return _correlation(evaluator, scores, predictions)
    return _classification(evaluator, scores, predictions, model.num_labels)


def _reranking(evaluator, scores: dict, predictions: np.ndarray) -> Measurement:
    import numpy as np

    at_k = evaluator.at_k
    per_query: dict[str, list[float]] = {f"ndcg@{at_k}": [], f"mrr@{at_k}": []}
    offset = 0
    for sample in evaluator.samples:
        positive = sample["positive"] if isinstance(sample["positive"], list) else [sample["positive"]]
        relevant = [1] * len(positive) + [0] * len(sample["negative"])
        mrr, ndcg, _ = evaluator.compute_metrics(relevant, predictions[offset : offset + len(relevant)])
        offset += len(relevant)
        per_query[f"ndcg@{at_k}"].append(float(ndcg))
        per_query[f"mrr@{at_k}"].append(float(mrr))
    arrays = {name: np.array(values) for name, values in per_query.items()}
    on_units = {name: (lambda idx, _a=array: float(_a[idx].mean())) for name, array in arrays.items()}
    metric = f"ndcg@{at_k}"
    return Measurement("reranking", metric, float(scores[metric]), {f"mrr@{at_k}": float(scores[f"mrr@{at_k}"])},
                       len(evaluator.samples), "queries", on_units)


def _correlation(evaluator, scores: dict, predictions: np.ndarray) -> Measurement:
    import numpy as np
    from scipy.stats import spearmanr

    gold = np.asarray(evaluator.scores, dtype=float)

    def spearman(idx) -> float:
        with warnings.catch_warnings():  # a resample of tied scores has no correlation: count it as 0
            warnings.simplefilter("ignore")
            value = spearmanr(gold[idx], predictions[idx]).statistic
        return float(value) if np.isfinite(value) else 0.0

    return Measurement("correlation", "spearman", float(scores["spearman"]), {"pearson": float(scores["pearson"])},
                       len(gold), "rows", {"spearman": spearman})


def _classification(evaluator, scores: dict, predictions: np.ndarray, num_labels: int) -> Measurement:
    import numpy as np
    from sentence_transformers.evaluation import BinaryClassificationEvaluator
    from sklearn.metrics import f1_score

    gold = np.asarray(evaluator.labels)
    if num_labels == 1:
        def accuracy(idx) -> float:
            return float(BinaryClassificationEvaluator.find_best_acc_and_threshold(predictions[idx], gold[idx], True)[0])

        def f1(idx) -> float:
            return float(BinaryClassificationEvaluator.find_best_f1_and_threshold(predictions[idx], gold[idx], True)[0])

        value, other, other_name = float(scores["accuracy"]), float(scores["f1"]), "f1"
    else:
        predicted = predictions.reshape(len(gold), -1).argmax(axis=1)

        def accuracy(idx) -> float:
            return float((predicted[idx] == gold[idx]).mean())

        def f1(idx) -> float:
            return float(f1_score(gold[idx], predicted[idx], average="macro"))

        value, other, other_name = float(accuracy(np.arange(len(gold)))), float(scores["f1_macro"]), "f1_macro"
    return Measurement("classification", "accuracy", value, {other_name: other}, len(gold), "rows",
                       {"accuracy": accuracy, other_name: f1})


def paired_noise(first: Measurement, second: Measurement, metric: str | None = None, seed: int = 0) -> float | None:
    """Half-width of the 95% bootstrap interval of (second - first) on the same held-out units, resampled together."""
    import numpy as np

    metric = metric or first.metric
    if first.units < 2 or first.units != second.units or metric not in first.on_units:
        return None
    rng = np.random.default_rng(seed)
    differences = []
    for _ in range(BOOTSTRAP_SAMPLES):
        idx = rng.integers(0, first.units, first.units)
        differences.append(second.on_units[metric](idx) - first.on_units[metric](idx))
    low, high = np.quantile(differences, [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2])
    return float((high - low) / 2)
