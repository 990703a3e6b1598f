"""convert/clean.py (the steps of tidy): exact outcomes that mutation testing (`make mutate`) found unpinned.

Every step is called on a small Arrow table and its whole result compared: the rows kept, the `dropped` reasons
with their counts, the notes and stats. No file, no CLI: each test runs in milliseconds.
"""

from __future__ import annotations

import math

import pyarrow as pa
import pytest

from lossadvisor.convert import clean
from lossadvisor.errors import FitError


def rows(result) -> dict:
    return result.table.to_pydict()


# --- drop_empty_texts ------------------------------------------------------------------------------------------


def test_drop_empty_texts_names_each_column_and_counts_once_per_row():
    table = pa.table({
        "q": ["a", "", "  ", None, "e", "f"],
        "d": ["x", "y", "", "z", None, "w"],
        "n": [1, 2, 3, 4, 5, 6],
    })
    result = clean.drop_empty_texts(table)
    assert rows(result) == {"q": ["a", "f"], "d": ["x", "w"], "n": [1, 6]}
    # a row empty in both columns is counted under the first only
    assert result.dropped == {"null or empty text in 'q'": 3, "null or empty text in 'd'": 1}
    assert (result.rows_in, result.rows_out) == (6, 2)


def test_drop_empty_texts_empty_lists_and_chosen_columns():
    table = pa.table({"q": ["a", "b", "", "d"], "docs": [["x"], [], ["y"], None]})
    result = clean.drop_empty_texts(table, ["docs"])
    assert rows(result) == {"q": ["a", ""], "docs": [["x"], ["y"]]}
    assert result.dropped == {"empty list in 'docs'": 2}


def test_drop_empty_texts_reads_dictionary_text_columns():
    table = pa.table({"q": pa.array(["a", "", "c"]).dictionary_encode(), "n": [1, 2, 3]})
    result = clean.drop_empty_texts(table)
    assert rows(result)["n"] == [1, 3]


def test_nothing_empty_returns_the_table_itself():
    table = pa.table({"q": ["a", "b"]})
    result = clean.drop_empty_texts(table)
    assert result.table is table and result.dropped == {}


# --- duplicates ---------------------------------------------------------------------------------------------------


def test_duplicate_key_is_the_texts_and_a_scalar_label():
    table = pa.table({"q": ["a"], "docs": [["x"]], "n": [1], "label": [1.0]})
    assert clean.duplicate_key(table) == ["q", "label"]
    listed = pa.table({"q": ["a"], "label": [[1.0, 0.0]]})
    assert clean.duplicate_key(listed) == ["q"]
    coded = pa.table({"q": pa.array(["a"]).dictionary_encode()})
    assert clean.duplicate_key(coded) == ["q"]


def test_drop_duplicates_keeps_the_first_and_names_the_key():
    table = pa.table({"q": ["a", "b", "a", "a", "b"], "d": ["x", "y", "x", "x", "z"], "label": [1, 0, 1, 0, 0]})
    result = clean.drop_duplicates(table)
    assert rows(result) == {"q": ["a", "b", "a", "b"], "d": ["x", "y", "x", "z"], "label": [1, 0, 0, 0]}
    assert result.dropped == {"exact duplicate": 1}


def test_drop_duplicates_on_some_columns_says_which():
    table = pa.table({"q": ["a", "a", "b"], "docs": [["x"], ["y"], ["x"]], "n": [3, 2, 1]})
    result = clean.drop_duplicates(table, ["q"])
    assert rows(result)["n"] == [3, 1]
    assert result.dropped == {"duplicate of (q)": 1}


def test_drop_duplicates_compares_lists_when_asked():
    table = pa.table({"q": ["a", "a", "a"], "docs": [["x", "y"], ["x", "y"], ["x"]]})
    result = clean.drop_duplicates(table, ["q", "docs"])
    assert rows(result)["docs"] == [["x", "y"], ["x"]]


def test_drop_duplicates_without_a_key_or_rows_drops_nothing():
    numbers = pa.table({"n": [1, 1]})
    assert clean.drop_duplicates(numbers).dropped == {} and clean.drop_duplicates(numbers).table.num_rows == 2
    empty = pa.table({"q": pa.array([], pa.string())})
    assert clean.drop_duplicates(empty).table.num_rows == 0


# --- normalize_scores ------------------------------------------------------------------------------------------------


def test_normalize_scores_with_the_observed_range():
    table = pa.table({"label": [2, 4, 6]})
    result = clean.normalize_scores(table)
    assert rows(result)["label"] == [0.0, 0.5, 1.0]
    assert result.notes == ["scaled 'label' from [2, 6] to [0, 1]"]
    assert result.stats == {"range": [2.0, 6.0], "outside_range": 0}


def test_normalize_scores_clips_and_counts_values_outside_the_range():
    table = pa.table({"label": [-1.0, 0.0, 2.5, 5.0, 6.0]})
    result = clean.normalize_scores(table, value_range=(0, 5))
    assert rows(result)["label"] == [0.0, 0.0, 0.5, 1.0, 1.0]
    assert result.notes == ["scaled 'label' from [0, 5] to [0, 1]", "2 values fell outside [0, 5] and were clipped"]
    assert result.stats["outside_range"] == 2


def test_normalize_scores_without_clipping_keeps_the_overshoot():
    result = clean.normalize_scores(pa.table({"label": [0.0, 10.0]}), value_range=(0, 5), clip=False)
    assert rows(result)["label"] == [0.0, 2.0]
    assert result.notes[1] == "1 values fell outside [0, 5]"


def test_normalize_scores_on_lists_keeps_the_lists_and_their_nulls():
    table = pa.table({"label": [[0.0, 10.0], None, [5.0]]})
    result = clean.normalize_scores(table)
    assert rows(result)["label"] == [[0.0, 1.0], None, [0.5]]


def test_normalize_scores_on_a_sliced_list_column():
    table = pa.table({"label": [[100.0], [0.0, 10.0], [5.0]]}).slice(1)
    assert rows(clean.normalize_scores(table))["label"] == [[0.0, 1.0], [0.5]]


@pytest.mark.parametrize("table, message", [
    (pa.table({"score": [1.0]}), "no column 'label' to normalise (columns: score)"),
    (pa.table({"label": ["a"]}), "cannot normalise 'label': it holds string, not numbers"),
    (pa.table({"label": pa.array([None, None], pa.float64())}), "'label' has no values to normalise"),
    (pa.table({"label": [3.0, 3.0]}), "cannot normalise 'label' with the range [3.0, 3.0]"),
])
def test_normalize_scores_refusals(table, message):
    with pytest.raises(FitError) as caught:
        clean.normalize_scores(table)
    assert caught.value.message == message


def test_normalize_scores_refuses_an_inverted_range_with_a_hint():
    with pytest.raises(FitError) as caught:
        clean.normalize_scores(pa.table({"label": [1.0]}), value_range=(5, 1))
    assert caught.value.message == "cannot normalise 'label' with the range [5.0, 1.0]"
    assert caught.value.hint == "Pass a range whose upper end is larger."


# --- map_class_names / drop_label_values ---------------------------------------------------------------------------------


def test_map_class_names_nli_order_ignoring_case_and_spaces():
    table = pa.table({"label": ["Neutral", " entailment", "CONTRADICTION", "-", None]})
    result = clean.map_class_names(table)
    assert rows(result)["label"] == [1, 0, 2]
    assert result.stats["mapping"] == {"entailment": 0, "neutral": 1, "contradiction": 2}
    assert result.dropped == {"label not a known class": 2}
    assert result.notes == ["class ids: {'entailment': 0, 'neutral': 1, 'contradiction': 2}"]


def test_map_class_names_sorted_without_nli_and_with_given_names():
    table = pa.table({"label": ["b", "a", "c", "a"]})
    assert rows(clean.map_class_names(table))["label"] == [1, 0, 2, 0]
    given = clean.map_class_names(table, names=["C", "B"])
    assert rows(given)["label"] == [1, 0]
    assert given.stats["mapping"] == {"C": 0, "B": 1}


def test_map_class_names_leaves_numbers_alone_and_needs_the_column():
    numbers = pa.table({"label": [0, 1]})
    result = clean.map_class_names(numbers)
    assert result.table is numbers and result.notes == ["'label' already holds int64"]
    with pytest.raises(FitError) as caught:
        clean.map_class_names(pa.table({"y": ["a"]}))
    assert caught.value.message == "no column 'label' to map (columns: y)"


def test_drop_label_values_keeps_nulls_for_later():
    table = pa.table({"label": ["a", "-", None, "?", "b"]})
    result = clean.drop_label_values(table, "label", ("-", "?"))
    assert rows(result)["label"] == ["a", None, "b"]
    assert result.dropped == {"label in ['-', '?']": 2}


# --- combine, constant lists, numbers, nulls, mismatches ----------------------------------------------------------------


def test_combine_columns_row_by_row():
    table = pa.table({"pos": [1.0, 2.0], "neg": [3, 4]})
    assert clean.combine_columns(table, ["pos", "neg"]).to_pylist() == [[1.0, 3.0], [2.0, 4.0]]
    lists = pa.table({"pos": [[1.0], [2.0, 2.5]], "neg": [[3.0, 3.5], None]})
    assert clean.combine_columns(lists, ("pos", "neg")).to_pylist() == [[1.0, 3.0, 3.5], [2.0, 2.5]]


def test_drop_constant_lists():
    table = pa.table({"label": [[1, 0], [0, 0], [], [1, 1], [0, 1, 0]]})
    result = clean.drop_constant_lists(table)
    assert rows(result)["label"] == [[1, 0], [0, 1, 0]]
    assert result.dropped == {"nothing to rank (every label in the list equal)": 3}
    scalar = pa.table({"label": [1, 1]})
    assert clean.drop_constant_lists(scalar).table is scalar


def test_cast_numbers():
    result = clean.cast_numbers(pa.table({"label": ["0", "1", "0.5"]}))
    assert rows(result)["label"] == [0.0, 1.0, 0.5]
    assert result.notes == ["cast 'label' to numbers"]


def test_drop_null_labels_counts_nan_and_infinity_apart():
    table = pa.table({"label": [1.0, None, math.nan, math.inf, -math.inf, 0.0]})
    result = clean.drop_null_labels(table)
    assert rows(result)["label"] == [1.0, 0.0]
    assert result.dropped == {"null or NaN label": 2, "infinite label": 2}
    ints = clean.drop_null_labels(pa.table({"label": [1, None]}))
    assert rows(ints)["label"] == [1] and ints.dropped == {"null or NaN label": 1}


def test_drop_list_mismatch():
    table = pa.table({"docs": [["a", "b"], ["c"], ["d"]], "label": [[1, 0], [1, 0], [1]]})
    result = clean.drop_list_mismatch(table, "docs")
    assert rows(result)["docs"] == [["a", "b"], ["d"]]
    assert result.dropped == {"docs and labels differ in length": 1}
