"""convert/plan.py: planning a chain of conversions and running it, pinned whole (mutation testing).

The real data_formats.yaml is loaded once; every error's message and hint, and the merged result of a chain (dropped
reasons per method, stats per method, notes), are compared exactly. Only reshapes run: no model.
"""

from __future__ import annotations

from types import SimpleNamespace

import pyarrow as pa
import pytest

from lossadvisor.convert import plan
from lossadvisor.convert.options import ConvertOptions
from lossadvisor.errors import FitError
from lossadvisor.table import load_table

ASSUMED = "assumed 'entailment' is the positive class (NLI labels); pass --positive-class to choose another"


@pytest.fixture(scope="module")
def loss_table():
    return load_table()


def error_of(call) -> tuple[str, str | None]:
    with pytest.raises(FitError) as info:
        call()
    return info.value.message, info.value.hint


def methods(path) -> list[tuple[str, str, str]]:
    return [(c.from_format, c.to_format, c.method) for c in path]


def test_plans_the_shortest_chain(loss_table):
    assert plan.plan_conversion(loss_table, "triplet", "triplet") == []
    assert methods(plan.plan_conversion(loss_table, "labeled-pair", "labeled-list")) == [
        ("labeled-pair", "labeled-list", "group")]
    options = ConvertOptions(class_names=("contradiction", " Entailment ", "neutral"))
    assert methods(plan.plan_conversion(loss_table, "pair-class", "labeled-list", options)) == [
        ("pair-class", "labeled-pair", "class-to-binary"), ("labeled-pair", "labeled-list", "group")]
    assert methods(plan.plan_conversion(loss_table, "triplet", "n-tuple")) == [("triplet", "n-tuple", "group-negatives")]
    assert methods(plan.plan_conversion(loss_table, "triplet", "n-tuple-margin", ConvertOptions(teacher="t"))) == [
        ("triplet", "n-tuple", "group-negatives"), ("n-tuple", "n-tuple-margin", "teacher")]


def test_no_path_says_what_can_be_made_and_what_makes_the_target(loss_table):
    assert error_of(lambda: plan.plan_conversion(loss_table, "triplet", "pair-class")) == (
        "no conversion from triplet to pair-class",
        "From triplet lossadvisor can make n-tuple, triplet-margin, triplet-scores, n-tuple-margin, n-tuple-scores. "
        "No conversion makes pair-class.",
    )
    assert error_of(lambda: plan.plan_conversion(loss_table, "damaged-original", "labeled-list")) == (
        "no conversion from damaged-original to labeled-list",
        "Nothing is converted from damaged-original. labeled-list is made from pair (mine), labeled-pair (group), "
        "list-negatives (lists-to-labeled-list), pos-neg-lists (lists-to-labeled-list), "
        "pos-neg-lists-scores (lists-to-labeled-list).",
    )


def test_triplets_made_on_the_way_cannot_become_n_tuples(loss_table):
    assert error_of(lambda: plan.plan_conversion(loss_table, "labeled-pair", "n-tuple")) == (
        "no conversion from labeled-pair to n-tuple: the way there makes triplets with one negative per (anchor, positive) "
        "pair, and an n-tuple needs two or more",
        "Convert to triplet instead (--to triplet): MultipleNegativesRankingLoss trains on triplets too.",
    )


def test_a_method_this_version_cannot_run(loss_table, monkeypatch):
    monkeypatch.delitem(plan.METHODS, "group")
    message, hint = error_of(lambda: plan.plan_conversion(loss_table, "labeled-pair", "labeled-list"))
    assert message == "data_formats.yaml names the conversion method 'group', which this lossadvisor cannot run"
    assert hint == f"Known methods: {', '.join(plan.METHODS)}."
    assert hint.startswith("Known methods: class-sampling, class-to-binary, mine, explode, ")


def test_the_positive_class_is_asked_for_up_front(loss_table):
    assert error_of(lambda: plan.plan_conversion(loss_table, "pair-class", "triplet")) == (
        "converting pair-class to triplet needs to know which class is the positive one",
        "Pass --positive-class with a class name or id, e.g. --positive-class 0.",
    )
    options = ConvertOptions(class_names=("bad", "good"))
    assert error_of(lambda: plan.plan_conversion(loss_table, "pair-class", "labeled-list", options)) == (
        "converting pair-class to labeled-list (via pair-class → labeled-pair) needs to know which class is the positive "
        "one (classes: bad, good)",
        "Pass --positive-class with a class name or id, e.g. --positive-class bad.",
    )
    assert methods(plan.plan_conversion(loss_table, "pair-class", "triplet", ConvertOptions(positive_class=0))) == [
        ("pair-class", "triplet", "class-sampling")]


def test_the_teacher_is_asked_for_up_front(loss_table):
    assert error_of(lambda: plan.plan_conversion(loss_table, "triplet", "triplet-margin")) == (
        "converting triplet to triplet-margin needs a teacher CrossEncoder (or SentenceTransformer / SparseEncoder) to "
        "score the pairs",
        "Pass --teacher with a local CrossEncoder folder or a model id already in your Hugging Face cache.",
    )
    assert error_of(lambda: plan.plan_conversion(loss_table, "single", "input-embeddings")) == (
        "converting single to input-embeddings needs a teacher SentenceTransformer to embed the texts",
        "Pass --teacher with a local SentenceTransformer folder or a model id already in your Hugging Face cache.",
    )
    assert error_of(lambda: plan.plan_conversion(loss_table, "triplet", "n-tuple-scores"))[0] == (
        "converting triplet to n-tuple-scores (via n-tuple → n-tuple-scores) needs a teacher CrossEncoder (or "
        "SentenceTransformer / SparseEncoder) to score the pairs")


@pytest.mark.parametrize(("fmt", "names", "message"), [
    ("labeled-list", ["q", "docs"], "a labeled-list table has 3 columns ((query, [doc1, ..., docN]) with [score1, ..., "
                                    "scoreN]); found 2 columns (q, docs)"),
    ("triplet", ["a", "p", "n", "x"], "a triplet table has 3 text columns and no label column; found 4 columns (a, p, n, x)"),
    ("n-tuple", ["a", "p", "n"], "a n-tuple table has 4 or more text columns and no label column; found 3 columns (a, p, n)"),
    ("pair-class", ["a", "b"], "a pair-class table has 2 text columns then a label column; found 2 columns (a, b)"),
])
def test_the_table_must_have_the_shape_of_its_format(loss_table, fmt, names, message):
    table = pa.table({name: ["x"] for name in names})
    assert error_of(lambda: plan.run_conversion(table, fmt, "triplet", loss_table)) == (
        message, "Select the columns in canonical order first: the texts in order, then the label.")


@pytest.mark.parametrize(("fmt", "names"), [
    ("labeled-list", ["q", "docs", "label"]), ("n-tuple", ["a", "p", "n1", "n2", "n3"]), ("triplet", ["a", "p", "n"]),
    ("pair-class", ["a", "b", "label"]), ("pos-neg-lists", ["q", "pos", "neg"]),
])
def test_a_table_of_the_right_shape_is_already_its_format(loss_table, fmt, names):
    table = pa.table({name: ["x"] for name in names})
    result = plan.run_conversion(table, fmt, fmt, loss_table)
    assert (result.table, result.plan, result.steps, result.rows_in, result.rows_out, result.dropped, result.stats) == (
        table, [], [], 1, 1, {}, {})
    assert result.notes == [f"the table is already {fmt}: nothing to convert"]


def _nli() -> pa.Table:
    return pa.table({"s1": ["a", "a", "b", "b", "c"], "s2": ["x", "y", "z", "w", "v"],
                     "label": ["entailment", "contradiction", "neutral", "neutral", None]})


def test_a_chain_keys_dropped_reasons_and_stats_by_method(loss_table):
    calls = []
    result = plan.run_conversion(_nli(), "pair-class", "labeled-list", loss_table, progress=lambda *a: calls.append(a))
    assert result.table.to_pydict() == {"s1": ["a"], "docs": [["x", "y"]], "label": [[1, 0]]}
    assert [s.method for s in result.steps] == ["class-to-binary", "group"]
    assert (result.source_format, result.target_format, result.rows_in, result.rows_out) == (
        "pair-class", "labeled-list", 5, 1)
    assert result.dropped == {"class-to-binary: missing label": 1,
                              "group: list with nothing to rank (every label equal)": 2}
    assert result.notes == [ASSUMED, "dropped 1 lists with nothing to rank (1 without a positive, 2 rows): every label of "
                            "each is equal, so a listwise loss learns nothing from them (--keep-constant-lists keeps them)"]
    assert result.stats == {
        "class-to-binary": {"positive_class": "entailment", "positives": 1, "negatives": 3},
        "group": {"lists": 2, "docs_per_list_min": 2, "docs_per_list_mean": 2.0, "docs_per_list_max": 2,
                  "lists_without_positive": 1, "single_doc_lists": 0, "constant_lists_dropped": 1},
    }
    assert calls == []  # neither step reports progress of its own


def test_one_step_keeps_its_own_dropped_and_stats(loss_table):
    calls = []
    result = plan.run_conversion(_nli(), "pair-class", "triplet", loss_table, progress=lambda *a: calls.append(a))
    assert result.table.to_pydict() == {"s1": ["a"], "s2": ["x"], "negative": ["y"]}
    assert result.dropped == {"missing label": 1, "anchor has no positive": 2}
    # c is an anchor without a positive too: its only row has no label
    assert result.notes == [ASSUMED, "0 anchors have no negative and 2 no positive; their rows are dropped"]
    assert result.stats["positive_class"] == "entailment"
    assert calls == [("pairing positives with negatives", 0, 1), ("pairing positives with negatives", 1, 1)]


def test_class_names_come_from_the_data_only_when_they_say_nli(loss_table):
    yes_no = pa.table({"s1": ["a", "a"], "s2": ["x", "y"], "label": ["yes", "no"]})
    assert error_of(lambda: plan.run_conversion(yes_no, "pair-class", "triplet", loss_table))[0] == (
        "converting pair-class to triplet needs to know which class is the positive one")
    chosen = plan.run_conversion(yes_no, "pair-class", "triplet", loss_table, ConvertOptions(positive_class="no"))
    assert chosen.table.to_pydict() == {"s1": ["a"], "s2": ["y"], "negative": ["x"]}
    named = plan.run_conversion(_nli(), "pair-class", "triplet", loss_table,
                                ConvertOptions(class_names=("entailment", "contradiction", "neutral")))
    assert named.stats["positive_class"] == "entailment"
    ids = pa.table({"s1": ["a", "a"], "s2": ["x", "y"], "label": [0, 1]})
    assert error_of(lambda: plan.run_conversion(ids, "pair-class", "triplet", loss_table))[0] == (
        "converting pair-class to triplet needs to know which class is the positive one")
    # an explicit positive class wins over the names in the data
    neutral = plan.run_conversion(_nli(), "pair-class", "triplet", loss_table, ConvertOptions(positive_class="neutral"))
    assert (neutral.rows_out, neutral.stats["positive_class"]) == (0, "neutral")
    assert neutral.dropped == {"missing label": 1, "anchor has no negative": 2, "anchor has no positive": 2}
    assert neutral.notes == ["1 anchors have no negative and 2 no positive; their rows are dropped"]


def test_class_names_given_are_not_replaced_by_the_data(loss_table):
    options = ConvertOptions(class_names=("yes", "no"))
    assert error_of(lambda: plan.run_conversion(_nli(), "pair-class", "triplet", loss_table, options))[0] == (
        "converting pair-class to triplet needs to know which class is the positive one (classes: yes, no)")


def test_a_format_with_a_range_of_text_columns():
    # no format of the shipped table has one, but a user's --table may: 2 to 3 texts, then the label
    texts = SimpleNamespace(min=2, max=3, admits=lambda n: 2 <= n <= 3)
    fmt = SimpleNamespace(name="ranged", labels=["score"], text_list=False, texts=texts)
    with pytest.raises(FitError) as info:
        plan._check_shape(pa.table({"a": ["x"], "label": [1.0]}), fmt)
    assert info.value.message == "a ranged table has 2 to 3 text columns then a label column; found 2 columns (a, label)"
    plan._check_shape(pa.table({"a": ["x"], "b": ["y"], "label": [1.0]}), fmt)


def test_run_conversion_loads_the_shipped_table_itself():
    result = plan.run_conversion(pa.table({"a": ["x"], "p": ["y"], "n": ["z"]}), "triplet", "triplet")
    assert (result.source_format, result.notes) == ("triplet", ["the table is already triplet: nothing to convert"])
