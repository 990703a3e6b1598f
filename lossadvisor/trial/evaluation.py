"""The evaluator that fits a format, on held-out rows: for the trial, and (the same source) in the scaffolded script.

The functions above the line are plain Python over lists, with no import of their own: `lossadvisor scaffold`
writes the source of SCRIPT_FUNCTIONS into the script it generates, so the script and the trial evaluate alike.
"""

from __future__ import annotations

import pyarrow as pa

from lossadvisor.recipe import LABEL


def evaluator_kind(format_name):
    """classification | correlation | reranking: which library evaluator fits the format."""
    if format_name in ("pair-class", "labeled-pair"):
        return "classification"
    if format_name == "pair-score":
        return "correlation"
    return "reranking"


def reranking_samples(format_name, columns, labels):
    """{query, positive, negative} samples for CrossEncoderRerankingEvaluator, from the input columns and labels."""
    samples = []
    if format_name == "labeled-list":
        for query, docs, gains in zip(columns[0], columns[1], labels):
            positive = [doc for doc, gain in zip(docs, gains) if gain > 0]
            negative = [doc for doc, gain in zip(docs, gains) if gain <= 0]
            # A list with no positive (or no negative) ranks nothing.
            if positive and negative:
                samples.append({"query": query, "positive": positive, "negative": negative})
    elif format_name == "pair":
        # No negatives in the data: the other rows' positives stand in, as in-batch negatives do in training.
        for index, (query, positive) in enumerate(zip(columns[0], columns[1])):
            others = [doc for doc in columns[1] if doc != positive][:9]
            start = index % max(1, len(others))
            negative = others[start:] + others[:start]
            if negative:
                samples.append({"query": query, "positive": [positive], "negative": negative})
    else:
        for index, row in enumerate(zip(*columns)):
            query, candidates = row[0], list(row[1:])
            relevance = candidate_relevance(format_name, labels[index] if labels else None, len(candidates))
            best = max(range(len(candidates)), key=lambda i: relevance[i])
            negative = [doc for i, doc in enumerate(candidates) if i != best and doc != candidates[best]]
            if negative:
                samples.append({"query": query, "positive": [candidates[best]], "negative": negative})
    return samples


def candidate_relevance(format_name, label, candidates):
    """Which candidate is best: the positive column unless the teacher says otherwise (a margin is relative)."""
    if label is None:
        return [1.0] + [0.0] * (candidates - 1)
    if format_name == "triplet-margin":
        return [float(label), 0.0]
    if format_name == "n-tuple-margin" or (isinstance(label, list) and len(label) == candidates - 1):
        return [0.0] + [-float(margin) for margin in label]
    return [float(score) for score in label]


def held_out_by_anchor(anchors, fraction, seed):
    """(train rows, held-out rows): whole anchors go to the held-out side until it has `fraction` of the rows,
    so no query is on both sides and the metric measures queries the model never trained on."""
    import random

    groups = {}
    for index, anchor in enumerate(anchors):
        groups.setdefault(repr(anchor), []).append(index)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    wanted = max(1, round(len(anchors) * fraction)) if fraction > 0 else 0
    held_out = []
    for key in keys:
        if len(held_out) >= wanted or len(held_out) + len(groups[key]) >= len(anchors):
            break
        held_out.extend(groups[key])
    chosen = set(held_out)
    return [index for index in range(len(anchors)) if index not in chosen], sorted(held_out)


def headline_metric(scores):
    """(name, value) of the metric `lossadvisor trial` reports first: ndcg@10, spearman or accuracy."""
    for key, name in (("ndcg@10", "ndcg@10"), ("spearman", "spearman"), ("accuracy", "accuracy"), ("f1_micro", "accuracy")):
        for found, value in scores.items():
            if found == key or found.endswith("_" + key) or found.startswith(key + "_"):
                return name, value
    return next(iter(scores.items()))


# What the scaffolded script calls (it picks its evaluator class when it is written, so not evaluator_kind).
SCRIPT_FUNCTIONS = (held_out_by_anchor, headline_metric)
RERANKING_FUNCTIONS = (reranking_samples, candidate_relevance)


# --------------------------------------------------------------------------------------------- trial side


def build_evaluator(format_name: str, table: pa.Table, num_labels: int):
    """The library evaluator that fits the format, on the held-out rows (None when none fits)."""
    from sentence_transformers.cross_encoder.evaluation import (
        CrossEncoderClassificationEvaluator,
        CrossEncoderCorrelationEvaluator,
        CrossEncoderRerankingEvaluator,
    )

    columns = [table.column(name).to_pylist() for name in table.column_names if name != LABEL]
    labels = table.column(LABEL).to_pylist() if LABEL in table.column_names else []
    common = {"name": "", "write_csv": False, "show_progress_bar": False}
    kind = evaluator_kind(format_name)
    if kind != "reranking":
        pairs = [list(pair) for pair in zip(columns[0], columns[1])]
        if kind == "correlation":
            return CrossEncoderCorrelationEvaluator(pairs, [float(v) for v in labels], **common)
        if num_labels == 1 and len(set(labels)) < 2:
            return None
        return CrossEncoderClassificationEvaluator(pairs, [int(v) for v in labels], **common)
    samples = reranking_samples(format_name, columns, labels)
    if not samples:
        return None
    return CrossEncoderRerankingEvaluator(samples, at_k=10, **common)
