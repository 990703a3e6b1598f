"""convert/classes.py: which rows of a class label are positives and negatives, pinned whole (mutation testing).

split_classes is called on small Arrow label arrays; the masks, the positive class as shown, the notes and every
error's message and hint are compared exactly.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from lossadvisor.convert.classes import _is_id, split_classes
from lossadvisor.errors import FitError


def whole(split) -> dict:
    return {"positive": split.positive.tolist(), "negative": split.negative.tolist(), "missing": split.missing.tolist(),
            "name": split.positive_name, "notes": list(split.notes)}


def error_of(call) -> tuple[str, str | None]:
    with pytest.raises(FitError) as info:
        call()
    return info.value.message, info.value.hint


ASSUMED = "assumed 'entailment' is the positive class (NLI labels); pass --positive-class to choose another"


def test_nli_names_in_the_data_make_entailment_the_positive():
    label = pa.chunked_array([["neutral", " Entailment", None], ["contradiction", "entailment "]])
    assert whole(split_classes(label, None, None)) == {
        "positive": [False, True, False, False, True], "negative": [True, False, False, True, False],
        "missing": [False, False, True, False, False], "name": " Entailment", "notes": [ASSUMED],
    }


def test_nli_class_names_over_ids_show_the_id_and_the_name():
    label = pa.array([0, 1, 2, None, 1], pa.int64())
    assert whole(split_classes(label, None, ("contradiction", "Entailment", "neutral"))) == {
        "positive": [False, True, False, False, True], "negative": [True, False, True, False, False],
        "missing": [False, False, False, True, False], "name": "1 (Entailment)", "notes": [ASSUMED],
    }


def test_without_a_positive_class_the_error_offers_one():
    assert error_of(lambda: split_classes(pa.array(["yes", "no", "yes"]), None, None, None, "labeled-pair")) == (
        "converting pair-class to labeled-pair needs to know which class is the positive one (classes: yes, no)",
        "Pass --positive-class with a class name or id, e.g. --positive-class yes.",
    )
    assert error_of(lambda: split_classes(pa.array([0, 1]), None, None)) == (
        "converting pair-class to triplet needs to know which class is the positive one",
        "Pass --positive-class with a class name or id, e.g. --positive-class 0.",
    )
    assert error_of(lambda: split_classes(pa.array([0, 1]), None, ("bad", "good")))[0] == (
        "converting pair-class to triplet needs to know which class is the positive one (classes: bad, good)")


@pytest.mark.parametrize(("label", "spec", "names", "positive", "name"), [
    (pa.array(["a", "b", "a"]), 1, ("a", "b"), [False, True, False], "b"),  # id into the names of text labels
    (pa.array(["0", " 1", "1", "2"]), "1", None, [False, True, True, False], "1"),  # id as text, no names
    (pa.array(["0", "5"]), 5, ("x", "y"), [False, True], "5"),  # id past the names: compared as text
    (pa.array(["0", "2"]), 2, ("x", "y"), [False, True], "2"),  # the first id past the names
    (pa.array(["a", "b"]), 0, ("a", "b"), [True, False], "a"),  # id 0 is the first name
    (pa.array([0.5, 1.0, 2.0]), 1, None, [False, True, False], "1"),  # float labels compared as they are
    (pa.array([True, False, True]), 1, None, [True, False, True], "1"),
    (pa.array([0.0, 1.0, 2.0]), " 2 ", None, [False, False, True], "2"),
    (pa.array([0, 1, 2], pa.int8()), np.int64(0), ("neg", "pos", "other"), [True, False, False], "0 (neg)"),
    (pa.array([0, 1, 2]), 2, ("neg", "pos"), [False, False, True], "2"),  # id past the names: shown bare
    (pa.array([0, 1]), " POS ", ("neg", "pos"), [False, True], "1 (pos)"),  # a name among the class names
    (pa.array(["Yes ", "no", "yes"]), " YES", None, [True, False, True], " YES"),  # text labels: trimmed, any case
    (pa.array(["y", "n"], pa.large_string()), "y", None, [True, False], "y"),
])
def test_the_positive_class_by_id_or_name(label, spec, names, positive, name):
    split = split_classes(label, spec, names)
    assert (split.positive.tolist(), split.positive_name, split.notes) == (positive, name, ())
    assert split.negative.tolist() == [not p for p in positive]


def test_a_negative_class_narrows_the_negatives():
    label = pa.array(["pos", "neg", "other", None, "neg"])
    assert whole(split_classes(label, "pos", None, "neg")) == {
        "positive": [True, False, False, False, False], "negative": [False, True, False, False, True],
        "missing": [False, False, False, True, False], "name": "pos", "notes": ["negatives come from class neg only"],
    }
    # the same class as both: its rows stay positives only
    same = split_classes(pa.array([0, 1, 1]), 1, ("a", "b"), "b")
    assert (same.positive.tolist(), same.negative.tolist(), same.notes) == (
        [False, True, True], [False, False, False], ("negatives come from class 1 (b) only",))


@pytest.mark.parametrize(("label", "spec", "names", "negative", "error"), [
    (pa.array(["b", "a", "c"] * 5), "maybe", None, None,
     ("the positive class 'maybe' does not occur in the labels (a, b, c)", "Pass --positive-class with one of those names.")),
    (pa.array([str(i) for i in range(12)]), "x", None, None,
     ("the positive class 'x' does not occur in the labels (0, 1, 10, 11, 2, 3, 4, 5, 6, 7)",
      "Pass --positive-class with one of those names.")),
    (pa.array([0, 1]), "x", ("neg", "pos"), None,
     ("the positive class 'x' is not one of the classes (neg, pos)", "Pass --positive-class with a class name or id.")),
    (pa.array([0, 1]), "x", None, None,
     ("the labels are numbers without class names, so the positive class 'x' cannot be found",
      "Pass --positive-class with the class id, e.g. --positive-class 0.")),
    (pa.array([0, 1]), 1, None, "x",
     ("the labels are numbers without class names, so the negative class 'x' cannot be found",
      "Pass --negative-class with the class id, e.g. --negative-class 0.")),
    (pa.array(["a", "b"]), "a", None, "zz",
     ("the negative class 'zz' does not occur in the labels (a, b)", "Pass --negative-class with one of those names.")),
    (pa.array([0, 1]), 1, ("neg", "pos"), "none",
     ("the negative class 'none' is not one of the classes (neg, pos)", "Pass --negative-class with a class name or id.")),
    (pa.array([0, 1]), 5, None, None, ("no row has the positive class 5", "Check --positive-class against the labels.")),
    (pa.array(["a", "b"]), 2, ("a", "b", "c"), None,
     ("the positive class 'c' does not occur in the labels (a, b)", "Pass --positive-class with one of those names.")),
    (pa.array([0, 1]), 5, ("a", "b", "c", "d", "e", "f"), None,
     ("no row has the positive class 5 (f)", "Check --positive-class against the labels.")),
    (pa.array([[1], [0]]), 1, None, None, ("cannot compare a list<item: int64> label with the positive class 1", None)),
    (pa.array([[1], [0]]), "B", ("a", "b"), None, ("cannot compare a list<item: int64> label with the positive class 1", None)),
    (pa.array([0, 1]), 1, None, 0, None),  # a negative class by id: no error
])
def test_class_errors(label, spec, names, negative, error):
    if error is None:
        split = split_classes(label, spec, names, negative)
        assert (split.positive.tolist(), split.negative.tolist()) == ([False, True], [True, False])
        return
    assert error_of(lambda: split_classes(label, spec, names, negative)) == error


@pytest.mark.parametrize(("spec", "is_id"), [
    (3, True), (np.int32(3), True), ("3", True), (" -2 ", True), ("3a", False), ("a", False), ("X3", False), ("-X3", False), ("", False), (3.0, False),
])
def test_is_id(spec, is_id):
    assert _is_id(spec) is is_id
