"""Real rows in every format the model families train on, for the family trial and scaffold tests.

Every text comes from the real public slices in ../shared/data/real (MANIFEST.yaml). Where a format has no file of
its own, it is made from one, and the docstring of each builder says how: the texts stay real, only the shape is
made (e.g. single texts with their SNLI class, (damaged, original) pairs by deleting words).
"""

from __future__ import annotations

import csv
import json

import pyarrow as pa
import pyarrow.parquet as pq
from real_data import REAL

ROWS = 64


def _head(table: pa.Table, rows: int = ROWS) -> pa.Table:
    return table.slice(0, rows)


def pair() -> pa.Table:
    """SQuAD (question, context) pairs."""
    with open(REAL / "squad" / "squad_qa_pairs.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[:ROWS]
    return pa.table({"question": [r["question"] for r in rows], "context": [r["context"][:400] for r in rows]})


def triplet() -> pa.Table:
    """SNLI (anchor, entailed, contradicted) triplets."""
    with open(REAL / "snli" / "snli_triplets.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[:ROWS]
    return pa.table({name: [r[name] for r in rows] for name in ("anchor", "positive", "negative")})


def n_tuple() -> pa.Table:
    """SNLI triplets with a second negative: the next row's contradiction (real text, another anchor's negative)."""
    data = triplet()
    negatives = data.column("negative").to_pylist()
    return data.append_column("negative_2", pa.array(negatives[1:] + negatives[:1]))


def labeled_pair() -> pa.Table:
    """MRPC (sentence1, sentence2, 0/1 paraphrase)."""
    import pyarrow.ipc  # noqa: F401  (datasets' arrow files are IPC streams)

    folder = REAL / "mrpc" / "mrpc_train_hf"
    with pa.memory_map(str(folder / "data-00000-of-00001.arrow")) as source:
        table = pa.ipc.open_stream(source).read_all()
    return _head(table.select(["sentence1", "sentence2", "label"]))


def pair_score() -> pa.Table:
    """STS-B test pairs with the gold score / 5."""
    with open(REAL / "stsb" / "stsb_test_normalized.jsonl", encoding="utf-8") as handle:
        rows = [json.loads(line) for _, line in zip(range(ROWS), handle)]
    return pa.table({name: [r[name] for r in rows] for name in ("sentence1", "sentence2", "label")})


def pair_class() -> pa.Table:
    """SNLI (premise, hypothesis, class 0/1/2)."""
    return _head(pq.read_table(REAL / "snli" / "snli_pair_class.parquet"))


def single_class() -> pa.Table:
    """SNLI hypotheses with their NLI class: single texts with a class, as the batch-triplet losses read them."""
    data = pq.read_table(REAL / "snli" / "snli_pair_class.parquet").slice(0, ROWS)
    return pa.table({"text": data.column("hypothesis"), "label": data.column("label")})


def single() -> pa.Table:
    """STS-B sentences alone."""
    return pa.table({"text": pair_score().column("sentence1")})


def anchor_anchor() -> pa.Table:
    """STS-B sentences paired with themselves (ContrastiveTensionLossInBatchNegatives' input)."""
    texts = pair_score().column("sentence1")
    return pa.table({"anchor": texts, "anchor_copy": texts})


def damaged_original() -> pa.Table:
    """STS-B sentences with words deleted, beside the original (DenoisingAutoEncoderDataset's noise)."""
    import numpy as np

    from lossadvisor.trial.training import damage

    texts = pair_score().column("sentence1").to_pylist()
    rng = np.random.default_rng(0)
    return pa.table({"damaged": [damage(text, rng) for text in texts], "original": texts})


def triplet_margin() -> pa.Table:
    """WikiQA triplets with a teacher's margin (distill/wikiqa_triplet_margin.jsonl)."""
    with open(REAL / "distill" / "wikiqa_triplet_margin.jsonl", encoding="utf-8") as handle:
        rows = [json.loads(line) for _, line in zip(range(ROWS), handle)]
    return pa.table({name: [r[name] for r in rows] for name in ("query", "positive", "negative", "label")})


def triplet_scores() -> pa.Table:
    """WikiQA triplets with a teacher's [positive, negative] scores (distill/wikiqa_triplet_scores.parquet)."""
    return _head(pq.read_table(REAL / "distill" / "wikiqa_triplet_scores.parquet"))


def n_tuple_scores() -> pa.Table:
    """triplet_scores with a second negative, the next row's, and its teacher score (for another query)."""
    data = triplet_scores()
    negatives = data.column("negative").to_pylist()
    scores = data.column("label").to_pylist()
    labels = [row + [scores[(i + 1) % len(scores)][1]] for i, row in enumerate(scores)]
    return pa.table({"query": data.column("query"), "positive": data.column("positive"), "negative": negatives,
                     "negative_2": negatives[1:] + negatives[:1], "label": labels})


def n_tuple_margin() -> pa.Table:
    """n_tuple_scores as margins: positive score minus each negative's."""
    data = n_tuple_scores()
    margins = [[row[0] - value for value in row[1:]] for row in data.column("label").to_pylist()]
    return data.set_column(data.schema.get_field_index("label"), "label", pa.array(margins, pa.list_(pa.float64())))


def input_embeddings(dimension: int) -> pa.Table:
    """STS-B sentences with all-MiniLM-L6-v2's embeddings as the teacher's (cut to `dimension`, the student's size)."""
    from sentence_transformers import SentenceTransformer

    from lossadvisor.tiny_model import installed_base

    texts = single().column("text").to_pylist()
    teacher = SentenceTransformer(installed_base(), device="cpu")
    embeddings = teacher.encode(texts, show_progress_bar=False)[:, :dimension]
    return pa.table({"text": texts, "label": pa.array(embeddings.tolist(), pa.list_(pa.float32()))})


BUILDERS = {
    "pair": pair, "triplet": triplet, "n-tuple": n_tuple, "labeled-pair": labeled_pair, "pair-score": pair_score,
    "pair-class": pair_class, "single-class": single_class, "single": single, "anchor-anchor": anchor_anchor,
    "damaged-original": damaged_original, "triplet-margin": triplet_margin, "triplet-scores": triplet_scores,
    "n-tuple-scores": n_tuple_scores, "n-tuple-margin": n_tuple_margin,
}


def table_for(format_name: str, dimension: int = 64) -> pa.Table:
    if format_name == "input-embeddings":
        return input_embeddings(dimension)
    return BUILDERS[format_name]()
