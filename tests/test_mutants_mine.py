"""Tests that bite for the mine group (convert/mine_dense.py, convert/teacher.py): exact outputs, in-process.

Dense mining and the teacher need a model; these tests use stand-ins with the same interface (upstream's
`mine_hard_negatives` replaced by a recorder that returns a fixed table, a CrossEncoder with `predict`, an
embedder with `encode` and `similarity_pairwise`) so that every argument passed and every value read back is
checked in milliseconds.
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pyarrow as pa
import pytest

from lossadvisor.convert import ConvertOptions
from lossadvisor.convert import mine_dense as md
from lossadvisor.convert import teacher as teacher_module
from lossadvisor.convert.mine import prepare_pairs
from lossadvisor.convert.progress import Reporter
from lossadvisor.errors import FitError

# ---------------------------------------------------------------------------------------------- shared pairs


def _pairs(extra: tuple[str, ...] | None = ("e1", "q2")):
    """Anchors q1, q2, q1 with positives d1, d2, d3; the corpus is d1, d2, d3 then the extra texts.

    q2 is in the corpus (an extra text), so a negative equal to q2 for anchor q2 is the anchor itself."""
    table = pa.table({"query": ["q1", "q2", "q1"], "answer": ["d1", "d2", "d3"]})
    dropped: dict[str, int] = {}
    pairs = prepare_pairs(table, extra, dropped)
    assert pairs.anchors.to_pylist() == ["q1", "q2"]
    assert dropped == {}
    return pairs


# ------------------------------------------------------------------------------------------ faiss_available


def test_faiss_available_follows_the_import(monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)  # import faiss raises ImportError
    assert md.faiss_available() is False
    monkeypatch.setitem(sys.modules, "faiss", types.ModuleType("faiss"))
    assert md.faiss_available() is True


# ------------------------------------------------------------------------------------------------ mine_dense


class _Model:
    def __init__(self) -> None:
        self.device = None

    def to(self, device):
        self.device = device
        return self


class _Upstream:
    """Stands in for sentence_transformers.util.mine_hard_negatives: records its call, returns `result`."""

    def __init__(self, monkeypatch, result: dict) -> None:
        import datasets

        self.calls: list[tuple] = []
        self.result = result

        def fake(dataset, model, **kwargs):
            from tqdm import tqdm

            for _ in tqdm(range(3)):  # an upstream bar: counted into our task
                pass
            self.calls.append((dataset.to_dict(), model, kwargs))
            return datasets.Dataset.from_dict(self.result)

        package = types.ModuleType("sentence_transformers")
        util = types.ModuleType("sentence_transformers.util")
        util.mine_hard_negatives = fake
        package.util = util
        monkeypatch.setitem(sys.modules, "sentence_transformers", package)
        monkeypatch.setitem(sys.modules, "sentence_transformers.util", util)


@pytest.fixture
def loads(monkeypatch):
    """Record how the miner and the rescorer are loaded; hand back the specs themselves."""
    calls: list[tuple] = []

    def load_st(spec, trust_remote_code=False):
        calls.append(("bi", spec, trust_remote_code))
        return spec

    def load_ce(spec, role="teacher", flag="--teacher", trust_remote_code=False):
        calls.append(("cross", spec, role, flag, trust_remote_code))
        return spec

    monkeypatch.setattr(md, "load_sentence_transformer", load_st)
    monkeypatch.setattr(md, "load_cross_encoder", load_ce)
    return calls


def _run(options, target, num_negatives=2, extra=("e1", "q2")):
    events: list[tuple] = []
    stats: dict = {}
    notes: list[str] = []
    out = md.mine_dense(_pairs(extra), target, options, num_negatives, Reporter(lambda *e: events.append(e)), stats, notes)
    return out, stats, notes, events


def _expected_kwargs(**changes):
    kwargs = dict(
        anchor_column_name="anchor", positive_column_name="positive", corpus=["e1", "q2"], cross_encoder=None,
        range_min=0, range_max=None, max_score=None, min_score=None, absolute_margin=None, relative_margin=None,
        num_negatives=2, sampling_strategy="top", output_format="triplet", output_scores=False, batch_size=32,
        use_faiss=False, faiss_batch_size=16384, use_multi_process=False, verbose=False,
    )
    kwargs.update(changes)
    return kwargs


DATASET = {"anchor": ["q1", "q2", "q1"], "positive": ["d1", "d2", "d3"]}


def test_mine_dense_triplet_passes_every_knob_and_keeps_upstream_columns(monkeypatch, loads):
    upstream = _Upstream(monkeypatch, {"anchor": ["q1"], "positive": ["d1"], "negative": ["d2"]})
    model = _Model()
    options = ConvertOptions(miner=model, trust_remote_code=True, use_faiss=False, device="cpu")
    out, stats, notes, events = _run(options, "triplet")
    assert loads == [("bi", model, True)]
    assert model.device == "cpu"
    assert len(upstream.calls) == 1
    dataset, passed_model, kwargs = upstream.calls[0]
    assert dataset == DATASET and passed_model is model
    assert kwargs == _expected_kwargs()
    assert out.column_names == ["anchor", "positive", "negative"]
    assert out.to_pydict() == {"anchor": ["q1"], "positive": ["d1"], "negative": ["d2"]}
    assert stats == {"faiss": False, "multi_process": False}
    assert notes == []
    description = "dense mining with _Model (batches encoded and searched)"
    assert events[0] == (description, 0, None)
    assert events[-1] == (description, 3, 3)  # upstream's bar of 3 counted, then finished


def test_mine_dense_without_extra_corpus_passes_none_and_leaves_a_model_without_to(monkeypatch, loads):
    upstream = _Upstream(monkeypatch, {"anchor": ["q1"], "positive": ["d1"], "negative": ["d2"]})
    model = object()  # no .to: device is not applied
    options = ConvertOptions(miner=model, use_faiss=True, device="cpu", multi_process=("cpu", "cpu"))
    _, stats, _, _ = _run(options, "triplet", extra=None)
    assert upstream.calls[0][2] == _expected_kwargs(corpus=None, use_faiss=True, use_multi_process=["cpu", "cpu"])
    assert stats == {"faiss": True, "multi_process": ["cpu", "cpu"]}


def test_mine_dense_use_faiss_none_asks_whether_faiss_is_installed(monkeypatch, loads):
    upstream = _Upstream(monkeypatch, {"anchor": ["q1"], "positive": ["d1"], "negative": ["d2"]})
    monkeypatch.setattr(md, "faiss_available", lambda: True)
    _, stats, _, _ = _run(ConvertOptions(miner=_Model(), multi_process=True), "triplet")
    assert upstream.calls[0][2] == _expected_kwargs(use_faiss=True, use_multi_process=True)
    assert stats == {"faiss": True, "multi_process": True}


def test_mine_dense_rescore_without_threshold_sets_a_zero_margin_and_says_so(monkeypatch, loads):
    upstream = _Upstream(monkeypatch, {"anchor": ["q1"], "positive": ["d1"], "negative": ["d2"]})
    miner, rescorer = _Model(), object()
    options = ConvertOptions(miner=miner, rescore=rescorer, use_faiss=False, trust_remote_code=True)
    _, _, notes, _ = _run(options, "triplet")
    assert loads == [("bi", miner, True), ("cross", rescorer, "rescore", "--rescore", True)]
    assert upstream.calls[0][2] == _expected_kwargs(cross_encoder=rescorer, absolute_margin=0.0)
    assert notes == ["rescored with a CrossEncoder: candidates it scores above their anchor's positive are dropped"]


def test_mine_dense_rescore_with_a_threshold_passes_the_thresholds_as_given(monkeypatch, loads):
    upstream = _Upstream(monkeypatch, {"anchor": ["q1"], "positive": ["d1"], "negative": ["d2"]})
    rescorer = object()
    options = ConvertOptions(
        miner=_Model(), rescore=rescorer, use_faiss=False, relative_margin=0.1, max_score=0.9, min_score=0.2,
        absolute_margin=0.3, range_min=1, range_max=7, sampling="random", batch_size=4, faiss_batch_size=64,
    )
    _, _, notes, _ = _run(options, "triplet")
    assert upstream.calls[0][2] == _expected_kwargs(
        cross_encoder=rescorer, relative_margin=0.1, max_score=0.9, min_score=0.2, absolute_margin=0.3, range_min=1,
        range_max=7, sampling_strategy="random", batch_size=4, faiss_batch_size=64,
    )
    assert notes == []


def test_mine_dense_threshold_without_rescore_sets_no_margin(monkeypatch, loads):
    upstream = _Upstream(monkeypatch, {"anchor": ["q1"], "positive": ["d1"], "negative": ["d2"]})
    _, _, notes, _ = _run(ConvertOptions(miner=_Model(), use_faiss=False), "triplet")
    assert upstream.calls[0][2]["absolute_margin"] is None and upstream.calls[0][2]["cross_encoder"] is None
    assert notes == []


def test_mine_dense_labeled_pair_renames_to_anchor_text_label(monkeypatch, loads):
    upstream = _Upstream(monkeypatch, {"anchor": ["q1", "q1"], "positive": ["d1", "d2"], "labels": [0.9, 0.4]})
    out, _, _, _ = _run(ConvertOptions(miner=_Model(), use_faiss=False, scores=True), "labeled-pair")
    assert upstream.calls[0][2] == _expected_kwargs(output_format="labeled-pair", output_scores=True)
    assert out.to_pydict() == {"anchor": ["q1", "q1"], "text": ["d1", "d2"], "label": [0.9, 0.4]}


def test_mine_dense_labeled_list_renames_to_anchor_docs_label(monkeypatch, loads):
    upstream = _Upstream(monkeypatch, {"anchor": ["q1"], "positive": [["d1", "d2"]], "labels": [[1, 0]]})
    out, _, _, _ = _run(ConvertOptions(miner=_Model(), use_faiss=False, scores=True), "labeled-list")
    assert upstream.calls[0][2] == _expected_kwargs(output_format="labeled-list", output_scores=True)
    assert out.to_pydict() == {"anchor": ["q1"], "docs": [["d1", "d2"]], "label": [[1, 0]]}


def test_mine_dense_n_tuple_drops_upstream_scores_and_asks_for_none(monkeypatch, loads):
    upstream = _Upstream(
        monkeypatch,
        {"anchor": ["q1"], "positive": ["d1"], "negative_1": ["d2"], "negative_2": ["e1"], "scores": [[0.1, 0.2, 0.3]]},
    )
    out, _, _, _ = _run(ConvertOptions(miner=_Model(), use_faiss=False, scores=True), "n-tuple")
    assert upstream.calls[0][2] == _expected_kwargs(output_format="n-tuple", output_scores=False)
    assert out.to_pydict() == {"anchor": ["q1"], "positive": ["d1"], "negative_1": ["d2"], "negative_2": ["e1"]}


# -------------------------------------------------------------------------------- pair_keys, dense_to_arrays


def test_pair_keys_are_anchor_times_corpus_plus_text_and_minus_one_when_unknown():
    pairs = _pairs()  # corpus d1 d2 d3 e1 q2 (5 texts)
    anchors = pa.array(["q1", "q2", "q1", "zz", None, "q2"], pa.string())
    texts = pa.array(["d3", "e1", "nope", "d1", "d1", None], pa.string())
    assert md.pair_keys(pairs, anchors, texts).tolist() == [2, 8, -1, -1, -1, -1]


def test_dense_to_arrays_triplet_keeps_distinct_valid_negatives_in_upstream_order():
    pairs = _pairs()  # corpus ids: d1 0, d2 1, d3 2, e1 3, q2 4; anchor q1 0 (positives d1, d3), q2 1 (d2)
    table = pa.table({
        "anchor": ["q1", "q2", "q1", "q2", "q1"],
        "positive": ["d1", "d2", "d3", "d2", "d1"],
        "negative": ["e1", "q2", "d2", "e1", "d3"],  # q2→q2: the anchor itself; q1→d3: a known positive
    })
    stats: dict = {}
    negatives, scores = md.dense_to_arrays(pairs, table, "triplet", 3, stats)
    assert negatives.tolist() == [[3, 1, -1], [3, -1, -1]]
    assert scores is None
    assert stats == {"dropped_known_positives": 1, "dropped_anchor_itself": 1}


def test_dense_to_arrays_n_tuple_reads_every_negative_column_row_major_and_caps_at_num_negatives():
    pairs = _pairs()
    table = pa.table({
        "anchor": ["q1", "q2"],
        "positive": ["d1", "d2"],
        "negative_1": ["e1", "d3"],
        "negative_2": ["d2", "unknown text"],
        "negative_3": ["q2", "d1"],
    })
    stats: dict = {}
    negatives, scores = md.dense_to_arrays(pairs, table, "n-tuple", 2, stats)
    assert negatives.tolist() == [[3, 1], [2, 0]]  # q1 keeps e1, d2 (q2 cut by num_negatives); q2: d3, d1
    assert scores is None
    assert stats == {"dropped_known_positives": 0, "dropped_anchor_itself": 0}


def test_dense_to_arrays_labeled_pair_skips_positive_rows_and_keeps_scores():
    pairs = _pairs()
    table = pa.table({
        "anchor": ["q1", "q1", "q1", "q2", "q2", "q2", "q1"],
        "text": ["d1", "e1", "d2", "d2", "q2", "d1", "e1"],
        "label": [0.9, 0.5, 0.25, 0.8, 0.7, 0.125, 0.3],
    })
    stats: dict = {}
    negatives, scores = md.dense_to_arrays(pairs, table, "labeled-pair", 2, stats)
    assert negatives.tolist() == [[3, 1], [0, -1]]  # the repeated (q1, e1) counts once, with its first score
    assert scores.tolist() == [[0.5, 0.25], [0.125, -np.inf]]
    assert scores.dtype == np.float64
    assert stats == {"dropped_known_positives": 0, "dropped_anchor_itself": 1}


def test_dense_to_arrays_labeled_list_drops_each_lists_first_document():
    pairs = _pairs()
    table = pa.table({
        "anchor": ["q1", "q2"],
        "docs": [["d1", "e1", "d3", "d2"], ["d2", "d1"]],
        "label": [[0.9, 0.5, 0.75, 0.25], [0.8, 0.125]],
    })
    stats: dict = {}
    negatives, scores = md.dense_to_arrays(pairs, table, "labeled-list", 3, stats)
    assert negatives.tolist() == [[3, 1, -1], [0, -1, -1]]  # d3 is q1's known positive
    assert scores.tolist() == [[0.5, 0.25, -np.inf], [0.125, -np.inf, -np.inf]]
    assert stats == {"dropped_known_positives": 1, "dropped_anchor_itself": 0}


def test_dense_to_arrays_with_no_rows_gives_empty_slots():
    pairs = _pairs()
    table = pa.table({"anchor": pa.array([], pa.string()), "positive": pa.array([], pa.string()),
                      "negative": pa.array([], pa.string())})
    stats: dict = {}
    negatives, scores = md.dense_to_arrays(pairs, table, "triplet", 1, stats)
    assert negatives.tolist() == [[-1], [-1]] and scores is None
    assert stats == {"dropped_known_positives": 0, "dropped_anchor_itself": 0}


# ------------------------------------------------------------------------------------ positive_scores_dense


def test_positive_scores_dense_labeled_list_reads_each_lists_first_score():
    pairs = _pairs()  # pairs in order: (q1, d1), (q2, d2), (q1, d3)
    table = pa.table({
        "anchor": ["q1", "q2"],
        "docs": [["d1", "e1"], ["d2", "d1"]],
        "label": [[0.75, 0.5], [0.25, 0.125]],
    })
    got = md.positive_scores_dense(pairs, table, "labeled-list")
    assert got[:2].tolist() == [0.75, 0.25] and np.isnan(got[2])
    assert got.dtype == np.float64


def test_positive_scores_dense_labeled_pair_reads_the_positive_rows():
    pairs = _pairs()
    table = pa.table({
        "anchor": ["q1", "q1", "q2", "q1"],
        "text": ["d3", "e1", "d2", "d1"],
        "label": [0.5, 0.375, 0.25, 0.125],
    })
    got = md.positive_scores_dense(pairs, table, "labeled-pair")
    assert got.tolist() == [0.125, 0.25, 0.5] and got.dtype == np.float64


# --------------------------------------------------------------------------------------------------- teacher

SCORES = {("q1", "p1"): 3.0, ("q1", "n1"): 1.0, ("q1", "n2"): 4.0, ("q2", "p2"): 2.0, ("q2", "n1"): 0.5,
          ("q2", "n2"): -1.0, ("q1", "p2"): 0.25}


class _Cross:
    """A stand-in CrossEncoder: a fixed score per (query, text); records every pair it is asked for."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def predict(self, pairs, batch_size=32, show_progress_bar=None):
        self.asked.extend(pairs)
        return np.array([SCORES[p] for p in pairs], dtype=np.float32)


class _Dense:
    """A stand-in SentenceTransformer: one-hot-ish vectors, similarity = dot product."""

    similarity_fn_name = "dot"
    VECTORS = {"q1": [1.0, 2.0], "q2": [0.0, 1.0], "p1": [1.0, 1.0], "p2": [2.0, 0.5], "n1": [0.5, 0.0],
               "n2": [3.0, 0.5]}

    def __init__(self, sparse: bool = False) -> None:
        self.sparse = sparse
        self.encoded: list[tuple[list[str], dict]] = []

    def encode(self, texts, **kwargs):
        import torch

        self.encoded.append((list(texts), kwargs))
        out = torch.tensor([self.VECTORS[t] for t in texts])
        return out.to_sparse() if self.sparse else out

    def similarity_pairwise(self, a, b):
        assert not a.is_sparse and not b.is_sparse  # sparse vectors are densified first
        return (a * b).sum(-1)


class SparseStandIn(_Dense):  # "Sparse" in the class name: teacher_kind says sparse
    def __init__(self) -> None:
        super().__init__(sparse=True)


@pytest.fixture
def teacher_loads(monkeypatch):
    calls: list[tuple] = []
    real_cross, real_embedder = teacher_module.load_cross_encoder, teacher_module.load_embedder

    def load_ce(spec, trust_remote_code=False):
        calls.append(("cross", trust_remote_code))
        return real_cross(spec, trust_remote_code=trust_remote_code)

    def load_emb(spec, trust_remote_code=False):
        calls.append(("embedder", trust_remote_code))
        return real_embedder(spec, trust_remote_code=trust_remote_code)

    monkeypatch.setattr(teacher_module, "load_cross_encoder", load_ce)
    monkeypatch.setattr(teacher_module, "load_embedder", load_emb)
    return calls


TRIPLETS = pa.table({
    "q": ["q1", "q2", None, "q1", "q2"],
    "p": ["p1", "p2", "p1", "p1", "p2"],
    "n": ["n1", "n2", "n1", "n2", ""],
})


def _teach(table, target, model, **options):
    events: list[tuple] = []
    step = teacher_module.teacher(table, target, ConvertOptions(teacher=model, **options), progress=lambda *e: events.append(e))
    return step, events


def test_teacher_triplet_margin_with_a_cross_encoder_scores_each_distinct_pair_once(teacher_loads):
    model = _Cross()
    step, events = _teach(TRIPLETS, "triplet-margin", model, trust_remote_code=True)
    assert teacher_loads == [("cross", True)]
    assert sorted(model.asked) == [("q1", "n1"), ("q1", "n2"), ("q1", "p1"), ("q2", "n2"), ("q2", "p2")]
    assert step.table.to_pydict() == {"q": ["q1", "q2", "q1"], "p": ["p1", "p2", "p1"], "n": ["n1", "n2", "n2"],
                                      "label": [2.0, 3.0, -1.0]}
    assert step.table.schema.field("label").type == pa.float64()
    assert (step.method, step.target_format, step.rows_in, step.rows_out, step.rows_used) == (
        "teacher", "triplet-margin", 5, 3, 3)
    assert step.dropped == {"null or empty text": 2}
    assert step.stats == {"teacher": "_Cross", "teacher_kind": "CrossEncoder", "pairs_scored": 5, "score_min": -1.0,
                          "score_max": 4.0, "negatives_scored_above_positive": 1}
    assert step.notes == [
        "labels are the teacher's raw scores (logits, no Sigmoid)",
        "the teacher scores 1 negatives above their positive (possible false negatives; their margins are negative)",
    ]
    assert events[0] == ("scoring with teacher _Cross", 0, 5) and events[-1] == ("scoring with teacher _Cross", 5, 5)


NTUPLES = pa.table({"q": ["q1", "q2"], "p": ["p1", "p2"], "n1": ["n1", "n1"], "n2": ["n2", "n2"], "label": [1, 1]})


def test_teacher_n_tuple_margin_and_scores_give_lists_of_k_and_k_plus_one(teacher_loads):
    margin, _ = _teach(NTUPLES, "n-tuple-margin", _Cross())
    assert margin.table.to_pydict() == {"q": ["q1", "q2"], "p": ["p1", "p2"], "n1": ["n1", "n1"], "n2": ["n2", "n2"],
                                        "label": [[2.0, -1.0], [1.5, 3.0]]}
    scores, _ = _teach(NTUPLES, "n-tuple-scores", _Cross())
    assert scores.table.column("label").to_pylist() == [[3.0, 1.0, 4.0], [2.0, 0.5, -1.0]]
    assert scores.table.column_names == ["q", "p", "n1", "n2", "label"]
    assert scores.stats == {"teacher": "_Cross", "teacher_kind": "CrossEncoder", "pairs_scored": 6, "score_min": -1.0,
                            "score_max": 4.0, "negatives_scored_above_positive": 1}
    assert scores.dropped == {} and (scores.rows_in, scores.rows_out, scores.rows_used) == (2, 2, 2)


def test_teacher_triplet_scores_and_pair_score(teacher_loads):
    triplets = pa.table({"q": ["q1", "q2"], "p": ["p1", "p2"], "n": ["n1", "n1"]})
    scores, _ = _teach(triplets, "triplet-scores", _Cross())
    assert scores.table.column("label").to_pylist() == [[3.0, 1.0], [2.0, 0.5]]
    assert scores.notes == ["labels are the teacher's raw scores (logits, no Sigmoid)"]  # no negative above
    assert scores.stats["negatives_scored_above_positive"] == 0
    pairs = pa.table({"q": ["q1", "q2", "q1"], "p": ["p1", "p2", "p2"]})
    step, _ = _teach(pairs, "pair-score", _Cross())
    assert step.table.to_pydict() == {"q": ["q1", "q2", "q1"], "p": ["p1", "p2", "p2"], "label": [3.0, 2.0, 0.25]}
    assert step.stats == {"teacher": "_Cross", "teacher_kind": "CrossEncoder", "pairs_scored": 3, "score_min": 0.25,
                          "score_max": 3.0}
    assert step.notes == ["labels are the teacher's raw scores (logits, no Sigmoid)",
                          "for BinaryCrossEntropyLoss rather than MSELoss, squash them to [0, 1] first"]


def test_teacher_with_only_empty_rows_gives_an_empty_table_and_no_score_range(teacher_loads):
    table = pa.table({"q": ["", None], "p": ["p1", "p2"]})
    step, _ = _teach(table, "pair-score", _Cross())
    assert step.table.num_rows == 0 and step.table.column_names == ["q", "p", "label"]
    assert step.dropped == {"null or empty text": 2}
    assert step.stats == {"teacher": "_Cross", "teacher_kind": "CrossEncoder", "pairs_scored": 0, "score_min": None,
                          "score_max": None}


@pytest.mark.parametrize("make, kind", [(_Dense, "SentenceTransformer"), (SparseStandIn, "SparseEncoder")])
def test_teacher_with_an_embedder_labels_with_its_similarity(teacher_loads, make, kind):
    model = make()
    triplets = pa.table({"q": ["q1", "q2", "q1"], "p": ["p1", "p2", "p1"], "n": ["n1", "n2", "n2"]})
    step, events = _teach(triplets, "triplet-scores", model, batch_size=7, trust_remote_code=True)
    assert teacher_loads == [("embedder", True)]
    # q1·p1 = 3, q1·n1 = 0.5, q2·p2 = 0.5, q2·n2 = 0.5, q1·n2 = 4
    assert step.table.column("label").to_pylist() == [[3.0, 0.5], [0.5, 0.5], [3.0, 4.0]]
    assert model.encoded == [(["q1", "q2"], {"batch_size": 7, "show_progress_bar": False, "convert_to_tensor": True}),
                             (["p1", "n1", "p2", "n2"], {"batch_size": 7, "show_progress_bar": False,
                                                         "convert_to_tensor": True})]
    assert step.stats == {"teacher": type(model).__name__, "teacher_kind": kind, "pairs_scored": 5, "score_min": 0.5,
                          "score_max": 4.0, "negatives_scored_above_positive": 1}
    assert step.notes == [
        f"labels are the teacher {kind}'s similarity of the texts' embeddings (dot)",
        "the teacher scores 1 negatives above their positive (possible false negatives; their margins are negative)",
    ]
    description = f"scoring with teacher {type(model).__name__}"
    assert events[0] == (description, 0, 5) and events[-1] == (description, 5, 5)


def test_embedder_scores_in_chunks_match_the_pairwise_similarity():
    model = _Dense()
    model.similarity_fn_name = None
    got = teacher_module.embedder_scores(model, ["q1", "q2"], ["p1", "p2", "n2"], np.array([0, 1, 0, 1, 0]),
                                         np.array([0, 1, 2, 2, 1]), 3, chunk=2)
    assert got.tolist() == [3.0, 0.5, 4.0, 0.5, 3.0]
    assert got.dtype == np.float64
    assert teacher_module.embedder_scores(model, [], [], np.zeros(0, int), np.zeros(0, int), 3).tolist() == []


def test_teacher_notes_name_the_similarity_function_or_say_it_has_none(teacher_loads):
    model = _Dense()
    model.similarity_fn_name = None
    step, _ = _teach(pa.table({"q": ["q1"], "p": ["p1"]}), "pair-score", model)
    assert step.notes == ["labels are the teacher SentenceTransformer's similarity of the texts' embeddings"
                          " (its similarity function)"]


def test_teacher_errors_name_the_target_the_columns_and_the_fix():
    table = pa.table({"q": ["q1"], "p": ["p1"]})
    with pytest.raises(FitError) as error:
        teacher_module.teacher(table, "triplet", ConvertOptions(teacher=_Cross()))
    assert error.value.message == (
        "a teacher makes pair-score, triplet-margin, triplet-scores, n-tuple-margin, n-tuple-scores, not triplet")
    with pytest.raises(FitError) as error:
        teacher_module.teacher(table, "pair-score", ConvertOptions())
    assert (error.value.message, error.value.hint) == (
        "converting to pair-score needs a teacher CrossEncoder",
        "Pass --teacher with a local CrossEncoder folder or a model id already in your Hugging Face cache.",
    )
    with pytest.raises(FitError) as error:
        teacher_module.teacher(table, "triplet-margin", ConvertOptions(teacher=_Cross()))
    assert error.value.message == "triplet-margin is made from 3 text columns, found 2 (q, p)"
    three = pa.table({"q": ["q1"], "p": ["p1"], "n": ["n1"], "label": [1]})
    with pytest.raises(FitError) as error:
        teacher_module.teacher(three, "pair-score", ConvertOptions(teacher=_Cross()))
    assert error.value.message == "pair-score is made from 2 text columns, found 3 (q, p, n)"
    with pytest.raises(FitError) as error:
        teacher_module.teacher(three, "n-tuple-scores", ConvertOptions(teacher=_Cross()))
    assert error.value.message == "n-tuple-scores is made from at least 4 text columns, found 3 (q, p, n)"
    numbers = pa.table({"q": ["q1"], "p": [3]})
    with pytest.raises(FitError) as error:
        teacher_module.teacher(numbers, "pair-score", ConvertOptions(teacher=_Cross()))
    assert error.value.message == "teacher expects text in column 'p', found int64"


def test_dense_to_arrays_counts_only_real_anchor_hits_and_drops_the_first_anchor_itself():
    """Anchor q1 (id 0) is also a corpus text; anchor q2 (id 1) is not, so an unknown text is never 'itself'."""
    table = pa.table({"query": ["q1", "q2"], "answer": ["d1", "d2"]})
    pairs = prepare_pairs(table, ("q1",), {})  # corpus d1 d2 q1
    assert pairs.anchor_in_corpus.tolist() == [2, -1]
    mined = pa.table({"anchor": ["q1", "q1", "q2", "q2"], "positive": ["d1", "d1", "d2", "d2"],
                      "negative": ["q1", "d2", "unknown", "q1"]})
    stats: dict = {}
    negatives, _ = md.dense_to_arrays(pairs, mined, "triplet", 2, stats)
    assert negatives.tolist() == [[1, -1], [2, -1]]
    assert stats == {"dropped_known_positives": 0, "dropped_anchor_itself": 1}


def test_dense_to_arrays_keeps_negatives_of_different_anchors_apart_when_anchors_outnumber_texts():
    table = pa.table({"query": ["a0", "a1", "a2", "a3"], "answer": ["p0", "p0", "p1", "p1"]})
    pairs = prepare_pairs(table, None, {})  # 4 anchors, 2 corpus texts
    mined = pa.table({"anchor": ["a0", "a2"], "positive": ["p0", "p1"], "negative": ["p1", "p0"]})
    stats: dict = {}
    negatives, _ = md.dense_to_arrays(pairs, mined, "triplet", 1, stats)
    assert negatives.tolist() == [[1], [-1], [0], [-1]]


def test_dense_to_arrays_keeps_upstreams_rank_order_within_each_anchor():
    """Rows of many anchors interleaved: each anchor's negatives stay in the order upstream gave them."""
    n = 30
    table = pa.table({"query": [f"q{i}" for i in range(3)], "answer": [f"p{i}" for i in range(3)]})
    extra = tuple(f"t{j}" for j in range(n))
    pairs = prepare_pairs(table, extra, {})  # corpus p0 p1 p2 t0 .. t29
    rng = np.random.default_rng(0)
    ranked = {i: rng.permutation(n).tolist() for i in range(3)}
    anchors, negatives_text = [], []
    for j in range(n):
        for i in (2, 0, 1):
            anchors.append(f"q{i}")
            negatives_text.append(f"t{ranked[i][j]}")
    mined = pa.table({"anchor": anchors, "positive": ["p0"] * len(anchors), "negative": negatives_text})
    negatives, _ = md.dense_to_arrays(pairs, mined, "triplet", n, {})
    assert negatives.tolist() == [[3 + t for t in ranked[i]] for i in range(3)]


class _RecordingCross:
    """A CrossEncoder stand-in whose predict takes activation_fn, as the real one does."""

    def __init__(self) -> None:
        self.kwargs: list[dict] = []

    def predict(self, pairs, batch_size=32, show_progress_bar=None, activation_fn=None):
        self.kwargs.append({"batch_size": batch_size, "activation": type(activation_fn).__name__})
        return np.array([0.123456 if q == "q1" else 2.718281 for q, _ in pairs])


def test_teacher_asks_for_raw_logits_in_batches_and_rounds_the_score_range():
    model = _RecordingCross()
    pairs = pa.table({"q": ["q1", "q2"], "p": ["p1", "p1"]})  # one distinct text: the ids still keep queries apart
    step, events = _teach(pairs, "pair-score", model, batch_size=5)
    assert model.kwargs == [{"batch_size": 5, "activation": "Identity"}]
    assert step.table.column("label").to_pylist() == [0.123456, 2.718281]
    assert (step.stats["score_min"], step.stats["score_max"]) == (0.1235, 2.7183)
    description = "scoring with teacher _RecordingCross"
    assert events == [(description, 0, 2), (description, 2, 2), (description, 2, 2)]  # advanced, then finished


def test_teacher_note_for_an_embedder_without_a_similarity_name():
    class Plain(_Dense):
        pass

    del _Dense.similarity_fn_name  # restored below: an embedder that has no such attribute
    try:
        step, _ = _teach(pa.table({"q": ["q1"], "p": ["p1"]}), "pair-score", Plain())
    finally:
        _Dense.similarity_fn_name = "dot"
    assert step.notes == ["labels are the teacher SentenceTransformer's similarity of the texts' embeddings"
                          " (its similarity function)"]
