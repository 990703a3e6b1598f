"""The one tidy: `tidy.apply_plan` runs convert/clean.py's steps with the rules decided there, for every caller."""

from __future__ import annotations

import pyarrow as pa
import pytest

from lossadvisor.advice import TidyPlan
from lossadvisor.convert import clean
from lossadvisor.tidy import apply_plan


def test_class_names_match_ignoring_case_and_spaces():
    """The plan's classes come from the sample; the full data may write them in another case (old tidy dropped those rows)."""
    table = pa.table({"a": ["x one", "y two", "z three", "w four"], "b": ["p one", "q two", "r three", "s four"],
                      "gold": ["ENTAILMENT", "entailment ", "Neutral", "-"]})
    plan = TidyPlan(inputs=("a", "b"), label="gold", classes=("ENTAILMENT", "NEUTRAL", "CONTRADICTION"))
    result = apply_plan(table, plan, "pair-class")
    assert result.table.column("label").to_pylist() == [0, 0, 1]
    assert result.dropped == {"label not a known class": 1}


def test_scores_are_clipped_to_the_unit_range_and_counted():
    """A range given (--score-range) is kept; values of the data past it are clipped, not left outside [0, 1]."""
    table = pa.table({"a": ["x one", "y two", "z three"], "b": ["p one", "q two", "r three"], "score": [0.0, 2.5, 6.0]})
    result = apply_plan(table, TidyPlan(inputs=("a", "b"), label="score"), "pair-score", score_range=(0.0, 5.0))
    assert result.table.column("label").to_pylist() == [0.0, 0.5, 1.0]
    assert any("clipped 1 score(s)" in note for note in result.applied)


def test_the_plans_sample_range_gives_way_to_the_whole_column():
    """issue 11: the plan's range is the sample's; the rescale uses the whole column's and says so."""
    table = pa.table({"a": ["x one", "y two", "z three"], "b": ["p one", "q two", "r three"], "score": [0.0, 2.5, 6.0]})
    result = apply_plan(table, TidyPlan(inputs=("a", "b"), label="score", score_range=(0.0, 5.0)), "pair-score")
    assert result.table.column("label").to_pylist() == pytest.approx([0.0, 2.5 / 6, 1.0])
    assert any("whole column" in note for note in result.applied)


def test_duplicates_are_texts_and_label_in_tidy_and_in_the_helper():
    table = pa.table({"a": ["x", "x", "x", "y"], "b": ["p", "p", "p", "q"], "label": [1, 1, 0, 1]})
    plan = TidyPlan(inputs=("a", "b"), label="label")
    tidied = apply_plan(table, plan, "labeled-pair")
    assert tidied.table.column("label").to_pylist() == [1, 0, 1]  # a conflicting label is kept, for the user to settle
    assert tidied.dropped == {"exact duplicate": 1}
    assert clean.duplicate_key(table) == ["a", "b", "label"]
    assert clean.drop_duplicates(table).table.equals(tidied.table)


def test_long_format_is_grouped_by_reshape_group():
    table = pa.table({"q": ["a?", "a?", "b?"], "doc": ["d1", "d2", "d3"], "rel": [1, 0, 1]})
    result = apply_plan(table, TidyPlan(inputs=("q", "doc"), label="rel", group_by_anchor=True), "labeled-list")
    assert result.table.column_names == ["q", "docs", "label"]
    assert result.table.to_pylist() == [{"q": "a?", "docs": ["d1", "d2"], "label": [1, 0]},
                                        {"q": "b?", "docs": ["d3"], "label": [1]}]


def test_one_tidy_module():
    import lossadvisor.tidy as tidy

    assert not hasattr(tidy, "group_by_anchor"), "grouping is convert/reshape.group"


@pytest.mark.parametrize("values, kept", [(["-", "a", None], [False, True, True])])
def test_label_values_without_consensus_are_dropped(values, kept):
    table = pa.table({"t": ["x", "y", "z"], "gold": values})
    out = clean.drop_label_values(table, "gold", ("-",))
    assert out.table.num_rows == sum(kept) and out.dropped == {"label in ['-']": 1}


def test_infinite_scores_are_dropped_not_clipped_by_a_range():
    """inf / -inf are broken values, not scores above or below the range: with --score-range they used to be
    clipped to 1.0 / 0.0 and trained as such; they are dropped under their own reason."""
    table = pa.table({"score": [4.5, float("inf"), 2.0, float("-inf"), 7.5]})
    scaled = clean.normalize_scores(table, "score", value_range=(0.0, 5.0))
    assert scaled.table.column("score").to_pylist() == [0.9, float("inf"), 0.4, float("-inf"), 1.0]
    assert scaled.stats["outside_range"] == 1  # 7.5 only
    plan = TidyPlan(inputs=("q", "d"), label="score", score_range=(0.0, 5.0))
    rows = pa.table({"q": list("abcde"), "d": list("vwxyz"), **table.to_pydict()})
    result = apply_plan(rows, plan, "pair-score", score_range=(0.0, 5.0))  # --score-range 0:5
    assert result.table.column("label").to_pylist() == [0.9, 0.4, 1.0]
    assert result.dropped == {"infinite label": 2}
