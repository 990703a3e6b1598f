"""convert/reshape.py: exact outcomes that mutation testing (`make mutate`) found unpinned.

Each reshape is called on a small Arrow table and its whole result compared: the rows, the `dropped` reasons with
their counts, the notes, the stats, the step's name and the progress it reports. No file, no CLI, no model.
"""

from __future__ import annotations

import pyarrow as pa
import pytest

from lossadvisor.convert import reshape
from lossadvisor.convert.options import ConvertOptions
from lossadvisor.errors import FitError


def whole(result) -> dict:
    return {
        "method": result.method, "target": result.target_format, "rows": result.table.to_pydict(),
        "rows_in": result.rows_in, "rows_out": result.rows_out, "rows_used": result.rows_used,
        "dropped": result.dropped, "notes": result.notes, "stats": result.stats,
    }


def error_of(call) -> tuple[str, str | None]:
    with pytest.raises(FitError) as info:
        call()
    return info.value.message, info.value.hint


# --- pair-positives-with-negatives --------------------------------------------------------------------------------


def _labeled_pairs(labels: list, label_type: pa.DataType) -> pa.Table:
    return pa.table({
        "query": ["q1", "q1", "q1", "q2", "q3", "", "q1"][: len(labels)],
        "doc": ["p1", "n1", "n2", "p2", "n3", "x", "p1b"][: len(labels)],
        "label": pa.array([None if v is None else int(v) for v in labels]).cast(label_type),
    })


@pytest.mark.parametrize("label_type", [pa.bool_(), pa.int8(), pa.int64(), pa.float64()])
def test_pair_positives_with_negatives_whole_result_for_every_label_type(label_type):
    labels = [True, False, False, True, False, True, None]
    calls = []
    result = reshape.pair_positives_with_negatives(
        _labeled_pairs(labels, label_type), "triplet", ConvertOptions(), progress=lambda *a: calls.append(a))
    got = whole(result)
    rows = got.pop("rows")
    # q1 has one positive and two negatives: two triplets, the positive reused; which negative comes first is the
    # seeded shuffle's, so the rows are compared as a sorted list.
    assert list(rows) == ["query", "doc", "negative"]
    assert sorted(zip(*rows.values())) == [("q1", "p1", "n1"), ("q1", "p1", "n2")]
    assert got == {
        "method": "pair-positives-with-negatives", "target": "triplet",
        "rows_in": 7, "rows_out": 2, "rows_used": 3,
        "dropped": {"null or empty text": 1, "missing label": 1, "anchor has no negative": 1, "anchor has no positive": 1},
        "notes": ["1 anchors have no negative and 1 no positive; their rows are dropped"],
        "stats": {"anchors": 3, "anchors_used": 1, "anchors_without_positive": 1, "anchors_without_negative": 1,
                  "triplets_per_anchor_mean": 2.0, "positives_reused": 1, "negatives_reused": 0},
    }
    assert calls == [("pairing positives with negatives", 0, 1), ("pairing positives with negatives", 1, 1)]


def test_pair_positives_with_negatives_counts_labels_other_than_0_and_1():
    table = pa.table({"query": ["q", "q", "q", "q"], "doc": ["a", "b", "c", "d"], "label": [1, 0, 2, None]})
    result = reshape.pair_positives_with_negatives(table, "triplet", ConvertOptions())
    assert result.table.to_pydict() == {"query": ["q"], "doc": ["a"], "negative": ["b"]}
    assert result.dropped == {"missing label": 1, "label not 0 or 1": 1}
    assert (result.rows_used, result.notes) == (2, [])


def test_pair_positives_with_negatives_errors_name_the_method():
    two = pa.table({"a": ["x"], "b": ["y"]})
    assert error_of(lambda: reshape.pair_positives_with_negatives(two, "triplet", ConvertOptions())) == (
        "pair-positives-with-negatives needs at least 3 columns, found 2 (a, b)",
        "Select and order the columns first: text columns, then the label.",
    )
    number_first = pa.table({"a": [1], "b": ["y"], "label": [1]})
    assert error_of(lambda: reshape.pair_positives_with_negatives(number_first, "triplet", ConvertOptions())) == (
        "pair-positives-with-negatives expects text in column 'a', found int64",
        "Put the text columns first, in order, and the label last.",
    )
    text_label = pa.table({"a": ["x"], "b": ["y"], "label": ["yes"]})
    assert error_of(lambda: reshape.pair_positives_with_negatives(text_label, "triplet", ConvertOptions())) == (
        "pair-positives-with-negatives expects a 0/1 label, found string", "Map the labels to 0 and 1 first.",
    )


# --- group-negatives ------------------------------------------------------------------------------------------------


def _triplets() -> pa.Table:
    return pa.table({
        "anchor": ["q1", "q1", "q1", "q2", "", "q2", "q3", "q1", "q1"],
        "pos": ["p1", "p1", "p1", "p2", "p", "p2", "p3", "p1", "p1b"],
        "neg": ["a", "b", "c", "d", "x", "e", "f", "g", "h"],
    })


def test_group_negatives_whole_result_with_blanks_short_pairs_and_refills():
    calls = []
    result = reshape.group_negatives(_triplets(), "n-tuple", ConvertOptions(num_negatives=3),
                                     progress=lambda *a: calls.append(a))
    assert whole(result) == {
        "method": "group-negatives", "target": "n-tuple",
        # (q1, p1) has 4 negatives: two rows of 3, the second completed with the pair's first two again
        "rows": {"anchor": ["q1", "q1"], "pos": ["p1", "p1"], "negative_1": ["a", "g"], "negative_2": ["b", "a"],
                 "negative_3": ["c", "b"]},
        "rows_in": 9, "rows_out": 2, "rows_used": 4,
        "dropped": {"null or empty text": 1, "fewer than 3 negatives for the pair": 4},
        "notes": ["2 negative cells repeat a negative of the same pair to fill the last row of a group",
                  "3 pairs have fewer than 3 negatives and are dropped"],
        "stats": {"num_negatives": 3, "pairs": 4, "negatives_per_pair_min": 1, "negatives_per_pair_mean": 2.0,
                  "negatives_per_pair_max": 4, "pairs_short_of_negatives": 3, "negatives_reused_to_fill": 2},
    }


def test_group_negatives_width_is_the_smallest_pair_without_num_negatives():
    table = pa.table({"a": ["q"] * 3 + ["r"] * 4, "p": ["p"] * 3 + ["s"] * 4, "n": list("abcdefg")})
    result = reshape.group_negatives(table, "n-tuple", ConvertOptions())
    assert result.table.to_pydict() == {
        "a": ["q", "r", "r"], "p": ["p", "s", "s"], "negative_1": ["a", "d", "g"], "negative_2": ["b", "e", "d"],
        "negative_3": ["c", "f", "e"],
    }
    assert result.stats["num_negatives"] == 3
    assert (result.dropped, result.notes) == ({}, ["2 negative cells repeat a negative of the same pair to fill the last row of a group"])


def test_group_negatives_of_only_blank_rows_is_empty_and_counts_them():
    table = pa.table({"a": ["", None], "p": ["x", "y"], "n": ["u", "v"]})
    got = whole(reshape.group_negatives(table, "n-tuple", ConvertOptions()))
    assert got == {
        "method": "group-negatives", "target": "n-tuple",
        "rows": {"a": [], "p": [], "negative_1": [], "negative_2": []},
        "rows_in": 2, "rows_out": 0, "rows_used": 0, "dropped": {"null or empty text": 2}, "notes": [],
        "stats": {"num_negatives": 2, "pairs": 0, "negatives_per_pair_min": 0, "negatives_per_pair_mean": 0.0,
                  "negatives_per_pair_max": 0, "pairs_short_of_negatives": 0, "negatives_reused_to_fill": 0},
    }


def test_group_negatives_errors():
    table = pa.table({"query": ["q", "q", "r"], "answer": ["p", "p", "s"], "neg": ["a", "b", "c"]})
    assert error_of(lambda: reshape.group_negatives(table, "n-tuple", ConvertOptions(num_negatives=3))) == (
        "no (anchor, positive) pair has 3 or more negatives (the most is 2): nothing to gather into an n-tuple",
        "Triplets already suit MultipleNegativesRankingLoss; for more negatives, read them as (anchor, positive) pairs "
        "and mine: add --inputs query,answer --label none, or pass --num-negatives 2.",
    )
    singles = pa.table({"query": ["q", "r"], "answer": ["p", "s"], "neg": ["a", "c"]})
    assert error_of(lambda: reshape.group_negatives(singles, "n-tuple", ConvertOptions())) == (
        "no (anchor, positive) pair has 2 or more negatives (the most is 1): nothing to gather into an n-tuple",
        "Triplets already suit MultipleNegativesRankingLoss; for more negatives, read them as (anchor, positive) pairs "
        "and mine: add --inputs query,answer --label none.",
    )
    assert error_of(lambda: reshape.group_negatives(table, "n-tuple", ConvertOptions(num_negatives=1))) == (
        "an n-tuple needs at least 2 negatives per row", "Pass --num-negatives 2 or more.",
    )
    assert error_of(lambda: reshape.group_negatives(table.select([0, 1]), "n-tuple", ConvertOptions()))[0] == (
        "group-negatives needs at least 3 columns, found 2 (query, answer)"
    )
    for position in range(3):
        numbers = table.set_column(position, table.column_names[position], pa.array([1, 2, 3]))
        assert error_of(lambda: reshape.group_negatives(numbers, "n-tuple", ConvertOptions()))[0] == (
            f"group-negatives expects text in column '{table.column_names[position]}', found int64"
        )


# --- class-sampling (and the pairing it shares with pair-positives-with-negatives) ----------------------------------


def _nli() -> pa.Table:
    return pa.table({
        "premise": ["a", "a", "a", "a", "b", "c", "a", None],
        "hypothesis": ["h1", "h2", "h3", "h1", "h4", "h5", "h6", "h7"],
        "label": ["entailment", "contradiction", "neutral", "contradiction", "entailment", "neutral", None, "entailment"],
    })


def test_class_sampling_whole_result_drops_a_negative_also_labelled_positive():
    calls = []
    got = whole(reshape.class_sampling(_nli(), "triplet", ConvertOptions(), progress=lambda *a: calls.append(a)))
    rows = got.pop("rows")
    assert list(rows) == ["premise", "hypothesis", "negative"]
    assert sorted(zip(*rows.values())) == [("a", "h1", "h2"), ("a", "h1", "h3")]
    assert got == {
        "method": "class-sampling", "target": "triplet", "rows_in": 8, "rows_out": 2, "rows_used": 3,
        "dropped": {"missing label": 1, "null or empty text": 1, "negative also labelled positive for its anchor": 1,
                    "anchor has no negative": 1, "anchor has no positive": 1},
        "notes": ["assumed 'entailment' is the positive class (NLI labels); pass --positive-class to choose another",
                  "1 anchors have no negative and 1 no positive; their rows are dropped"],
        "stats": {"anchors": 3, "anchors_used": 1, "anchors_without_positive": 1, "anchors_without_negative": 1,
                  "triplets_per_anchor_mean": 2.0, "positives_reused": 1, "negatives_reused": 0,
                  "positive_class": "entailment"},
    }
    assert calls == [("pairing positives with negatives", 0, 1), ("pairing positives with negatives", 1, 1)]


def test_class_sampling_with_a_negative_class_counts_the_unused_classes():
    options = ConvertOptions(positive_class="entailment", negative_class="contradiction")
    result = reshape.class_sampling(_nli(), "triplet", options)
    assert result.table.to_pydict() == {"premise": ["a"], "hypothesis": ["h1"], "negative": ["h2"]}
    assert result.dropped == {
        "missing label": 1, "class not used as positive or negative": 2, "null or empty text": 1,
        "negative also labelled positive for its anchor": 1, "anchor has no negative": 1,
    }
    assert result.notes == ["negatives come from class contradiction only",
                            "1 anchors have no negative and 1 no positive; their rows are dropped"]
    # c's only row is neutral: neither positive nor negative now, so c has no positive
    assert result.stats["anchors_without_positive"] == 1
    assert error_of(lambda: reshape.class_sampling(_nli().select([0, 1]), "triplet", options))[0] == (
        "class-sampling needs at least 3 columns, found 2 (premise, hypothesis)")


def test_pairing_spreads_the_shorter_side_round_robin():
    # two positives, three negatives for one anchor: max(2, 3) = 3 triplets, every text used at least once
    table = pa.table({"q": ["q"] * 5, "d": ["p1", "p2", "n1", "n2", "n3"], "label": [1, 1, 0, 0, 0]})
    result = reshape.pair_positives_with_negatives(table, "triplet", ConvertOptions(seed=7))
    rows = result.table.to_pydict()
    assert rows["d"] == ["p1", "p2", "p1"]
    assert sorted(rows["negative"]) == ["n1", "n2", "n3"]
    assert result.stats == {"anchors": 1, "anchors_used": 1, "anchors_without_positive": 0, "anchors_without_negative": 0,
                            "triplets_per_anchor_mean": 3.0, "positives_reused": 1, "negatives_reused": 0}
    assert (result.notes, result.dropped, result.rows_used) == ([], {}, 5)


# --- class-to-binary -----------------------------------------------------------------------------------------------


def test_class_to_binary_whole_result():
    table = pa.table({
        "s1": ["a", "b", "c", "d", "  ", "f"], "s2": ["x", "y", "z", "w", "v", "u"],
        "label": ["yes", "no", "maybe", None, "yes", "Yes "],
    })
    got = whole(reshape.class_to_binary(table, "labeled-pair", ConvertOptions(positive_class="yes", negative_class="no")))
    assert got == {
        "method": "class-to-binary", "target": "labeled-pair",
        "rows": {"s1": ["a", "b", "f"], "s2": ["x", "y", "u"], "label": [1, 0, 1]},
        "rows_in": 6, "rows_out": 3, "rows_used": 3,
        "dropped": {"null or empty text": 1, "missing label": 1, "class not used as positive or negative": 1},
        "notes": ["negatives come from class no only"],
        "stats": {"positive_class": "yes", "positives": 2, "negatives": 1},
    }
    assert error_of(lambda: reshape.class_to_binary(table.select([0, 1]), "labeled-pair", ConvertOptions()))[0] == (
        "class-to-binary needs at least 3 columns, found 2 (s1, s2)")
    numbers = table.set_column(1, "s2", pa.array([1, 2, 3, 4, 5, 6]))
    assert error_of(lambda: reshape.class_to_binary(numbers, "labeled-pair", ConvertOptions()))[0] == (
        "class-to-binary expects text in column 's2', found int64")


def test_class_to_binary_every_other_class_is_negative():
    table = pa.table({"s1": ["p", "q", "r"], "s2": ["x", "y", "z"], "cls": [0, 1, 2]})
    result = reshape.class_to_binary(table, "labeled-pair", ConvertOptions(positive_class=1))
    assert result.table.to_pydict() == {"s1": ["p", "q", "r"], "s2": ["x", "y", "z"], "label": [0, 1, 0]}
    assert (result.dropped, result.notes, result.stats) == ({}, [], {"positive_class": "1", "positives": 1, "negatives": 2})


# --- group ---------------------------------------------------------------------------------------------------------


def _labeled_pairs_to_group() -> pa.Table:
    return pa.table({
        "query": ["q1", "q2", "q1", "q2", "q3", "", "q4", "q5", "q5"],
        "doc": ["d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9"],
        "label": [1, 0, 0, 0, None, 1, 1, 2, 0],
    })


def test_group_whole_result_drops_lists_with_nothing_to_rank():
    got = whole(reshape.group(_labeled_pairs_to_group(), "labeled-list", ConvertOptions()))
    assert got == {
        "method": "group", "target": "labeled-list",
        "rows": {"query": ["q1", "q5"], "docs": [["d1", "d3"], ["d8", "d9"]], "label": [[1, 0], [2, 0]]},
        "rows_in": 9, "rows_out": 2, "rows_used": 4,
        "dropped": {"null or empty text": 1, "missing label": 1, "list with nothing to rank (every label equal)": 3},
        "notes": ["dropped 2 lists with nothing to rank (1 without a positive, 3 rows): every label of each is equal, so "
                  "a listwise loss learns nothing from them (--keep-constant-lists keeps them)"],
        "stats": {"lists": 4, "docs_per_list_min": 1, "docs_per_list_mean": 1.75, "docs_per_list_max": 2,
                  "lists_without_positive": 1, "single_doc_lists": 1, "constant_lists_dropped": 2},
    }


def test_group_keeping_constant_lists_says_which_have_no_positive():
    got = whole(reshape.group(_labeled_pairs_to_group(), "labeled-list", ConvertOptions(keep_constant_lists=True)))
    assert got == {
        "method": "group", "target": "labeled-list",
        "rows": {"query": ["q1", "q2", "q4", "q5"], "docs": [["d1", "d3"], ["d2", "d4"], ["d7"], ["d8", "d9"]],
                 "label": [[1, 0], [0, 0], [1], [2, 0]]},
        "rows_in": 9, "rows_out": 4, "rows_used": 7,
        "dropped": {"null or empty text": 1, "missing label": 1},
        "notes": ["1 lists have no positive label: ranking losses learn nothing from them"],
        "stats": {"lists": 4, "docs_per_list_min": 1, "docs_per_list_mean": 1.75, "docs_per_list_max": 2,
                  "lists_without_positive": 1, "single_doc_lists": 1},
    }


def test_group_of_nothing_but_blank_rows():
    table = pa.table({"query": ["", None], "doc": ["a", "b"], "label": [1.0, 0.0]})
    got = whole(reshape.group(table, "labeled-list", ConvertOptions()))
    assert got == {
        "method": "group", "target": "labeled-list", "rows": {"query": [], "docs": [], "label": []},
        "rows_in": 2, "rows_out": 0, "rows_used": 0, "dropped": {"null or empty text": 2}, "notes": [],
        "stats": {"lists": 0, "docs_per_list_min": 0, "docs_per_list_mean": 0.0, "docs_per_list_max": 0,
                  "lists_without_positive": 0, "single_doc_lists": 0},
    }
    assert error_of(lambda: reshape.group(table.select([0, 1]), "labeled-list", ConvertOptions()))[0] == (
        "group needs at least 3 columns, found 2 (query, doc)")
    numbers = table.set_column(1, "doc", pa.array([1, 2]))
    assert error_of(lambda: reshape.group(numbers, "labeled-list", ConvertOptions()))[0] == (
        "group expects text in column 'doc', found int64")


# --- explode -------------------------------------------------------------------------------------------------------


def _lists() -> pa.Table:
    return pa.table({
        "query": ["q1", "q2", "q3", None, "q5", "q6", "q7", "q8"],
        "docs": [["d1", "d2"], [], ["d3"], ["d4"], ["", "d5"], [" "], None, ["d8", "d9"]],
        "label": [[1, 0], [], [1, 0], [1], [1, 2], [1], None, [None, 0]],
    })


def test_explode_whole_result():
    got = whole(reshape.explode(_lists(), "labeled-pair", ConvertOptions()))
    assert got == {
        "method": "explode", "target": "labeled-pair",
        "rows": {"query": ["q1", "q1", "q5", "q8"], "text": ["d1", "d2", "d5", "d9"], "label": [1, 0, 2, 0]},
        "rows_in": 8, "rows_out": 4, "rows_used": 3,
        "dropped": {"null or empty text": 1, "empty or missing list": 2, "docs and labels differ in length": 1,
                    "every document blank": 1},
        "notes": ["3 blank documents (or documents without a label) were left out",
                  "labels are graded (0..2), not 0/1: the pairs keep the grades, which BinaryCrossEntropyLoss cannot take; "
                  "binarise them (e.g. label > 0 → 1) or rescale them to [0, 1] first"],
        "stats": {"pairs": 4, "blank_docs_dropped": 3},
    }


@pytest.mark.parametrize(("labels", "target", "note"), [
    ([-1, 1], "labeled-pair", "labels are graded (-1..1), not 0/1"),
    ([0, 1], "labeled-pair", None),
    ([0.0, 1.0], "labeled-pair", None),
    ([0.5, 1.5], "labeled-pair", "labels are graded (0.5..1.5), not 0/1"),
    ([0, 3], "pair-score", None),
])
def test_explode_warns_of_graded_labels_only_for_labeled_pairs(labels, target, note):
    table = pa.table({"q": ["q"], "docs": [["a", "b"]], "label": [labels]})
    result = reshape.explode(table, target, ConvertOptions())
    assert result.table.to_pydict() == {"q": ["q", "q"], "text": ["a", "b"], "label": labels}
    assert [n.split(":")[0] for n in result.notes] == ([note] if note else [])
    assert (result.dropped, result.rows_used) == ({}, 1)


def test_explode_errors():
    table = _lists()
    assert error_of(lambda: reshape.explode(table.select([0, 1]), "labeled-pair", ConvertOptions()))[0] == (
        "explode needs at least 3 columns, found 2 (query, docs)")
    flat_docs = pa.table({"query": ["q"], "docs": ["d"], "label": [[1]]})
    assert error_of(lambda: reshape.explode(flat_docs, "labeled-pair", ConvertOptions()))[0] == (
        "explode expects a list of texts in column 'docs', found string")
    flat_label = pa.table({"query": ["q"], "docs": [["d"]], "label": [1]})
    assert error_of(lambda: reshape.explode(flat_label, "labeled-pair", ConvertOptions()))[0] == (
        "explode expects a list of labels in column 'label', found int64")
    large = pa.table({"query": ["q"], "docs": [["d"]], "score": pa.array([[1]], pa.large_list(pa.int64()))})
    assert reshape.explode(large, "labeled-pair", ConvertOptions()).table.to_pydict() == {
        "query": ["q"], "text": ["d"], "label": [1]}


# --- split-negatives -----------------------------------------------------------------------------------------------


def test_split_negatives_whole_result_skips_the_label_column():
    table = pa.table({
        "anchor": ["a", "b", "c", ""], "pos": ["p", "p2", "p3", "p4"], "n1": ["n1", "", "", "n4"],
        "label": [0.5, 0.1, 0.2, 0.3], "n2": ["n2", "n3", None, "n5"],
    })
    got = whole(reshape.split_negatives(table, "triplet", ConvertOptions()))
    assert got == {
        "method": "split-negatives", "target": "triplet",
        "rows": {"anchor": ["a", "a", "b"], "pos": ["p", "p", "p2"], "negative": ["n1", "n2", "n3"]},
        "rows_in": 4, "rows_out": 3, "rows_used": 2,
        "dropped": {"null or empty text": 1, "every negative blank": 1}, "notes": [],
        "stats": {"num_negatives": 2, "blank_negatives_dropped": 3},
    }
    assert error_of(lambda: reshape.split_negatives(table.select([0, 1]), "triplet", ConvertOptions()))[0] == (
        "split-negatives needs at least 3 columns, found 2 (anchor, pos)")
    numbers = table.set_column(4, "n2", pa.array([1, 2, 3, 4]))
    assert error_of(lambda: reshape.split_negatives(numbers, "triplet", ConvertOptions()))[0] == (
        "split-negatives expects text in column 'n2', found int64")
