"""Tests that bite for the mine group's BM25 miner (convert/mine.py): exact outputs, in-process.

BM25 runs in milliseconds on a handful of texts, so these call `mine` itself; the rescorer is a stand-in
CrossEncoder with `predict`, and dense mining is replaced by recorders in the module's namespace.
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pyarrow as pa
import pytest

from lossadvisor.convert import ConvertOptions
from lossadvisor.convert.mine import _apply_thresholds, _default_range_max, _select, mine
from lossadvisor.errors import FitError

mine_module = sys.modules["lossadvisor.convert.mine"]

FRUIT = pa.table(
    {
        "q": ["apple pie", "banana split", "cherry tart"],
        "d": ["apple pie recipe", "banana apple", "cherry apple"],
    }
)


def _mine(table=FRUIT, target="triplet", method="auto", progress=None, **options):
    return mine(table, target, ConvertOptions(**options), method=method, progress=progress)


# ------------------------------------------------------------------------------------------ range and rules


def test_default_range_max_without_thresholds_or_rescore_leaves_room_only_for_the_positives():
    assert _default_range_max(ConvertOptions(range_min=1), 2, 3) == 6


def test_default_range_max_with_a_threshold_takes_ten_candidates_per_negative():
    assert _default_range_max(ConvertOptions(range_min=1, max_score=1.0), 2, 3) == 24


def _rules(options, absolute_margin=None):
    stats: dict = {}
    scores = np.array([[0.5, 1.0, 1.5, 2.0]])
    valid = _apply_thresholds(scores, np.ones((1, 4), dtype=bool), np.array([2.0]), options, absolute_margin, stats)
    return valid.tolist(), stats


def test_absolute_margin_drops_candidates_within_the_margin_of_the_positive():
    assert _rules(ConvertOptions(), absolute_margin=0.75) == ([[True, True, False, False]], {"skipped_by_absolute_margin": 2})


def test_relative_margin_drops_candidates_above_the_lowered_positive_score():
    assert _rules(ConvertOptions(relative_margin=0.5)) == ([[True, True, False, False]], {"skipped_by_relative_margin": 2})


def test_min_score_keeps_a_candidate_exactly_at_the_minimum():
    assert _rules(ConvertOptions(min_score=1.0)) == ([[False, True, True, True]], {"skipped_by_min_score": 1})


def test_random_sampling_draws_from_the_whole_window():
    ids = np.arange(10, dtype=np.int64)[None, :] + 100
    scores = -np.arange(10, dtype=np.float64)[None, :]
    out_ids, out_scores = _select(ids, scores, np.ones((1, 10), dtype=bool), ConvertOptions(sampling="random", seed=1), 2, 10)
    assert (out_ids.tolist(), out_scores.tolist()) == ([[102, 109]], [[-2.0, -9.0]])


def test_too_narrow_a_rank_window_is_refused_with_the_fix():
    with pytest.raises(FitError) as caught:
        _mine(num_negatives=2, range_min=1, range_max=2)
    assert (caught.value.message, caught.value.hint) == (
        "cannot mine 2 negatives between ranks 1 and 2",
        "Lower --num-negatives or --range-min, or raise --range-max.",
    )


# ------------------------------------------------------------------------------------------------ BM25 methods


def test_legacy_method_indexes_with_bm25s_and_scores_in_float32():
    result = _mine(target="labeled-pair", method="legacy", num_negatives=1, scores=True)
    stats = {k: v for k, v in result.stats.items() if k in ("bm25_indexer", "bm25_backend")}
    assert (stats, result.table.column("label").to_pylist()[0]) == (
        {"bm25_indexer": "bm25s", "bm25_backend": "scipy"},
        float(np.float32(0.39496326446533203)),
    )


def test_legacy_method_scores_in_float32_without_numba_too(monkeypatch):
    from lossadvisor.convert import bm25

    monkeypatch.setattr(bm25, "numba_available", lambda: False)
    result = _mine(target="labeled-pair", method="legacy", num_negatives=1, scores=True)
    assert result.table.column("label").to_pylist()[0] == float(np.float32(0.39496326446533203))


def test_auto_method_indexes_with_numpy():
    assert _mine(num_negatives=1).stats["bm25_indexer"] == "numpy"


def test_scipy_method_scores_with_scipy_in_float64():
    result = _mine(target="labeled-pair", method="scipy", num_negatives=1, scores=True)
    assert (result.stats["bm25_backend"], result.table.column("label").to_pylist()[0]) == ("scipy", 0.39496326819062233)


def test_an_anchor_of_stopwords_only_gets_a_note():
    table = pa.table({"q": ["the", "banana split"], "d": ["apple pie", "banana split recipe"]})
    result = _mine(table, num_negatives=1, corpus=("apple banana",))
    assert result.notes[0] == "1 anchors have no indexable word (only stopwords or symbols): no BM25 candidates"


BIG = pa.table({"q": ["apple"], "d": ["apple one"]})
BIG_CORPUS = tuple(f"apple w{i}" for i in range(12)) + ("apple",)


def test_candidates_leave_room_for_the_positives_and_the_anchor_itself():
    result = _mine(BIG, num_negatives=2, corpus=BIG_CORPUS)
    stats = {k: result.stats[k] for k in ("candidates_per_anchor", "candidates_that_were_positives")}
    assert stats == {"candidates_per_anchor": 5, "candidates_that_were_positives": 1}


# ---------------------------------------------------------------------------------------------------- rescore


class _Cross:
    """A CrossEncoder stand-in: a pair scores by the fixed value of its document (0.0 when not listed)."""

    def __init__(self, values: dict[str, float], with_to: bool = True) -> None:
        self.values = values
        self.devices: list = []
        if with_to:
            self.to = self.devices.append

    def predict(self, pairs, batch_size=32, show_progress_bar=True):
        return [self.values.get(d, 0.0) for _, d in pairs]


RESCORED = pa.table({"q": ["apple"], "d": ["apple pie"]})
RESCORED_CORPUS = ("apple a", "apple b", "apple c")


def test_rescore_reorders_the_candidates_by_the_cross_encoders_score_and_says_so():
    model = _Cross({"apple pie": 5.0, "apple a": 1.0, "apple b": 2.0, "apple c": 3.0})
    result = _mine(RESCORED, num_negatives=1, corpus=RESCORED_CORPUS, rescore=model)
    assert (result.table.column("negative").to_pylist(), result.notes) == (
        ["apple c"],
        ["rescored with a CrossEncoder: candidates it scores above their anchor's positive are dropped"],
    )


def test_rescore_passes_the_axis_that_numpy_1_requires(monkeypatch):
    take_along_axis = np.take_along_axis

    def numpy_1_take_along_axis(arr, indices, axis):  # numpy < 2.3: axis has no default
        return take_along_axis(arr, indices, axis)

    monkeypatch.setattr(np, "take_along_axis", numpy_1_take_along_axis)
    model = _Cross({"apple pie": 5.0, "apple a": 1.0, "apple b": 2.0, "apple c": 3.0})
    result = _mine(RESCORED, num_negatives=1, corpus=RESCORED_CORPUS, rescore=model)
    assert result.table.column("negative").to_pylist() == ["apple c"]


def test_rescore_moves_the_model_to_the_asked_device():
    model = _Cross({"apple pie": 5.0})
    _mine(RESCORED, num_negatives=1, corpus=RESCORED_CORPUS, rescore=model, device="cpu")
    assert model.devices == ["cpu"]


def test_rescore_leaves_the_device_alone_when_none_is_asked():
    model = _Cross({"apple pie": 5.0})
    _mine(RESCORED, num_negatives=1, corpus=RESCORED_CORPUS, rescore=model)
    assert model.devices == []


def test_rescore_with_a_device_and_a_model_without_to_still_mines():
    model = _Cross({"apple pie": 5.0}, with_to=False)
    result = _mine(RESCORED, num_negatives=1, corpus=RESCORED_CORPUS, rescore=model, device="cpu")
    assert result.table.num_rows == 1


def test_rescore_reports_its_progress_by_the_models_name():
    calls: list = []
    model = _Cross({"apple pie": 5.0})
    _mine(RESCORED, num_negatives=1, corpus=RESCORED_CORPUS, rescore=model, progress=lambda *a: calls.append(a))
    assert [c for c in calls if c[0] == "rescoring with _Cross"] == [
        ("rescoring with _Cross", 0, 4),
        ("rescoring with _Cross", 4, 4),
        ("rescoring with _Cross", 4, 4),
    ]


def test_rescore_names_itself_when_its_model_folder_is_missing(monkeypatch, tmp_path):
    package = types.ModuleType("sentence_transformers")
    cross = types.ModuleType("sentence_transformers.cross_encoder")
    cross.CrossEncoder = object
    monkeypatch.setitem(sys.modules, "sentence_transformers", package)
    monkeypatch.setitem(sys.modules, "sentence_transformers.cross_encoder", cross)
    missing = str(tmp_path / "nope")
    with pytest.raises(FitError) as caught:
        _mine(RESCORED, num_negatives=1, corpus=RESCORED_CORPUS, rescore=missing)
    assert caught.value.message == f"rescore model folder {missing} does not exist"


def test_rescore_keeps_bm25_order_among_equal_scores():
    corpus = tuple("apple " + " ".join(["x"] * i) for i in range(1, 25))
    values = {text: float((7 * i) % 3) for i, text in enumerate(corpus)}  # many ties, in a scattered pattern
    model = _Cross({"apple pie": 5.0, **values})
    result = _mine(RESCORED, num_negatives=20, corpus=corpus, rescore=model, range_max=30)
    bm25_order = _mine(RESCORED, num_negatives=24, corpus=corpus, range_max=30).table.column("negative").to_pylist()
    expected = sorted(bm25_order, key=lambda text: -values[text])[:20]  # stable: BM25 order within a score
    assert result.table.column("negative").to_pylist() == expected


# ----------------------------------------------------------------------------------------------- output rows


ONE_EACH = pa.table({"q": ["apple", "banana", "cherry"], "d": ["apple pie", "banana split", "cherry tart"]})
ONE_EACH_CORPUS = ("apple banana",)


def test_triplet_keeps_anchors_with_a_single_negative():
    result = _mine(ONE_EACH, num_negatives=2, corpus=ONE_EACH_CORPUS)
    assert (result.rows_used, result.dropped) == (2, {"no negative found": 1})


def test_labeled_list_keeps_anchors_with_a_single_negative():
    result = _mine(ONE_EACH, target="labeled-list", num_negatives=2, corpus=ONE_EACH_CORPUS)
    assert (result.table.column("docs").to_pylist(), result.dropped) == (
        [["apple pie", "apple banana"], ["banana split", "apple banana"]],
        {"no negative found": 1},
    )


def test_mining_keeps_plain_string_columns_plain():
    assert _mine(num_negatives=1).table.schema.types == [pa.string(), pa.string(), pa.string()]


# ----------------------------------------------------------------------------------------------------- errors


def _refusal(table, target="triplet", **options):
    with pytest.raises(FitError) as caught:
        _mine(table, target, **options)
    return caught.value.message, caught.value.hint


def test_an_unknown_target_is_refused_with_the_list_of_targets():
    assert _refusal(FRUIT, "pair") == ("mining makes triplet, n-tuple, labeled-pair, labeled-list, not pair", None)


def test_a_single_column_is_refused_by_name():
    assert _refusal(FRUIT.select(["q"]))[0] == "mine needs at least 2 columns, found 1 (q)"


def test_a_numeric_anchor_column_is_refused_by_name():
    table = pa.table({"q": [1, 2], "d": ["apple", "banana"]})
    assert _refusal(table)[0] == "mine expects text in column 'q', found int64"


def test_pairs_without_text_are_refused():
    table = pa.table({"q": ["", None], "d": ["apple", "banana"]})
    assert _refusal(table) == ("no (anchor, positive) pair with both texts present: nothing to mine from", None)


def test_a_single_document_corpus_is_refused_with_the_fix():
    table = pa.table({"q": ["apple", "banana"], "d": ["fruit", "fruit"]})
    assert _refusal(table) == (
        "the corpus has a single document: there is nothing to mine negatives from",
        "Pass more pairs, or extra documents with --corpus.",
    )


def test_more_negatives_than_documents_is_refused_with_the_fix():
    assert _refusal(FRUIT, num_negatives=5) == (
        "cannot mine 5 negatives per anchor: the corpus holds 3 documents",
        "Lower --num-negatives (below 3), or add documents with --corpus.",
    )


# ------------------------------------------------------------------------------------------- stats and notes


def test_mine_reports_its_step_and_the_anchor_count():
    result = _mine(num_negatives=1)
    assert (result.method, result.stats["anchors"]) == ("mine", 3)


def test_negatives_per_anchor_mean_has_three_decimals():
    assert _mine(num_negatives=1).stats["negatives_per_anchor_mean"] == 0.333


def test_positives_per_anchor_mean_keeps_its_fraction():
    table = pa.table({"q": ["apple pie", "apple pie", "cherry tart"], "d": ["apple pie recipe", "apple crumble", "cherry apple"]})
    assert _mine(table, num_negatives=1).stats["positives_per_anchor_mean"] == 1.5


def test_scores_on_a_triplet_say_they_are_not_written():
    assert _mine(num_negatives=1, scores=True).notes == [
        "scores are raw BM25 scores (unbounded): normalise them before BinaryCrossEntropyLoss",
        "triplet has no label column: scores are not written (use a teacher for distillation formats)",
        "2 of 3 anchors got fewer than 1 negatives (raise --range-max, relax the thresholds, or add documents with --corpus)",
    ]


# ------------------------------------------------------------------------------------------------ dense miner


@pytest.fixture
def dense(monkeypatch):
    """Dense mining replaced in mine's namespace: anchors 0, 1, 2 get negatives [1, 2], [0], none."""
    calls: list = []

    def fake_mine_dense(pairs, target, options, num_negatives, reporter, stats, notes):
        calls.append(num_negatives)
        return "mined"

    def fake_to_arrays(pairs, mined, target, num_negatives, stats):
        assert mined == "mined"
        return np.array([[1, 2], [0, -1], [-1, -1]]), np.array([[0.5, 0.25], [0.75, -np.inf], [-np.inf, -np.inf]])

    def fake_positive_scores(pairs, mined, target):
        assert mined == "mined"
        return np.array([0.9, 0.8, 0.7])

    monkeypatch.setattr(mine_module, "mine_dense", fake_mine_dense)
    monkeypatch.setattr(mine_module, "dense_to_arrays", fake_to_arrays)
    monkeypatch.setattr(mine_module, "positive_scores_dense", fake_positive_scores)
    return calls


def test_dense_mining_asks_for_the_number_of_negatives(dense):
    _mine(num_negatives=2, miner="a-model")
    assert dense == [2]


def test_dense_labeled_pair_with_scores_labels_with_the_models_scores(dense):
    result = _mine(target="labeled-pair", num_negatives=2, miner="a-model", scores=True)
    assert result.table.column("label").to_pylist() == [0.9, 0.5, 0.25, 0.8, 0.75, 0.7]


def test_dense_stats_count_a_negative_with_document_id_zero(dense):
    stats = _mine(num_negatives=2, miner="a-model").stats
    assert {k: stats[k] for k in ("negatives_per_anchor_min", "negatives_per_anchor_mean", "anchors_without_negatives")} == {
        "negatives_per_anchor_min": 0,
        "negatives_per_anchor_mean": 1.0,
        "anchors_without_negatives": 1,
    }
