"""trial/data_checks.py: teacher embeddings (input-embeddings), their size against the student, and the trial's
note on rank numbers given as listwise labels; each message whole (issue 17: these were not reached in-process).
"""

from __future__ import annotations

import math

import pyarrow as pa
import pytest

from lossadvisor.errors import FitError
from lossadvisor.table import load_table
from lossadvisor.trial.data_checks import check_data, check_embedding_size, data_notes

TEACHER_HINT = ("Compute them with the teacher: dataset.map(lambda b: {'label': teacher.encode(b['text']).tolist()}, "
                "batched=True).")
SIZE_HINT = ("Use a teacher of the student's size (the same vocabulary, for a sparse model), or a student of the "
             "teacher's size (--model).")


@pytest.fixture(scope="module")
def table():
    return load_table().for_family("sentence-transformer")


def refusal(call, *args) -> FitError:
    with pytest.raises(FitError) as caught:
        call(*args)
    return caught.value


def embeddings(label, n: int | None = None) -> pa.Table:
    rows = len(label) if n is None else n
    return pa.table({"text": [f"sentence {i}" for i in range(rows)], "label": label})


class Student:
    """A model as check_embedding_size sees it: only its embedding size."""

    def __init__(self, dimension):
        self.dimension = dimension

    def get_embedding_dimension(self):
        return self.dimension


# --- check_data on input-embeddings ---------------------------------------------------------------------------------


@pytest.mark.parametrize("label", [[[0.1, 0.2], [0.3, 0.4]], [[1, 2], [3, 4]]])
def test_embeddings_of_one_length_pass(table, label):
    check_data(embeddings(label), "input-embeddings", "MSELoss", table)


def test_a_number_where_an_embedding_belongs(table):
    error = refusal(check_data, embeddings([0.5, 0.2]), "input-embeddings", "MSELoss", table)
    assert error.message == ("input-embeddings data needs a teacher embedding (a list of numbers) per row in 'label', "
                             "but it holds double")
    assert error.hint == TEACHER_HINT


def test_embeddings_of_different_lengths_are_listed_in_order(table):
    error = refusal(check_data, embeddings([[1.0, 2.0, 3.0], [1.0], [1.0, 2.0]]), "input-embeddings", "MSELoss", table)
    assert error.message == "the teacher embeddings in 'label' have different lengths (1, 2, 3)"
    assert error.hint == "Every embedding must come from the same teacher."


def test_empty_embeddings_are_refused(table):
    empty = embeddings(pa.array([[], []], pa.list_(pa.float32())))
    error = refusal(check_data, empty, "input-embeddings", "MSELoss", table)
    assert error.message == "the teacher embeddings in 'label' have different lengths (0)"


def test_embeddings_of_words_are_not_numbers(table):
    error = refusal(check_data, embeddings([["a", "b"], ["c", "d"]]), "input-embeddings", "MSELoss", table)
    assert error.message == "the teacher embeddings are string, not numbers"
    assert error.hint is None


def test_non_finite_embedding_entries_are_counted(table):
    data = embeddings([[0.1, math.nan], [math.inf, 0.3], [0.2, 0.3]])
    error = refusal(check_data, data, "input-embeddings", "MSELoss", table)
    assert error.message == ("2 embedding entries are NaN or infinite: the loss would be NaN from the first batch that "
                             "holds one")
    assert error.hint == "Drop or fix them: dataset.filter(lambda row: math.isfinite(row['label']))."


# --- check_embedding_size --------------------------------------------------------------------------------------------


def test_a_teacher_of_another_size_is_refused():
    error = refusal(check_embedding_size, embeddings([[0.1, 0.2], [0.3, 0.4]]), "input-embeddings", Student(3), "MSELoss")
    assert error.message == ("MSELoss regresses the model's embeddings onto the teacher's, but the model's have 3 "
                             "dimensions and the teacher's 2")
    assert error.hint == SIZE_HINT


def test_every_teacher_size_is_named_in_order():
    data = embeddings([[0.1, 0.2, 0.3], [0.1], [0.3, 0.4, 0.5]])
    error = refusal(check_embedding_size, data, "input-embeddings", Student(2), "MSELoss")
    assert error.message.endswith("but the model's have 2 dimensions and the teacher's 1, 3")


def test_the_student_size_passes():
    check_embedding_size(embeddings([[0.1, 0.2], [0.3, 0.4]]), "input-embeddings", Student(2), "MSELoss")


@pytest.mark.parametrize("data, fmt", [
    (embeddings([[0.1, 0.2], [0.3, 0.4]]), "pair-score"),  # another format: the label is not an embedding
    (pa.table({"text": ["a", "b"]}), "input-embeddings"),  # no label
    (embeddings([0.5, 0.2]), "input-embeddings"),  # not lists: check_data refuses them
    (embeddings(pa.array([], pa.list_(pa.float32())), 0), "input-embeddings"),  # no rows: no size to compare
])
def test_nothing_to_compare_passes(data, fmt):
    check_embedding_size(data, fmt, Student(3), "MSELoss")


def test_a_model_of_unknown_size_passes():
    check_embedding_size(embeddings([[0.1, 0.2], [0.3, 0.4]]), "input-embeddings", Student(None), "MSELoss")
    check_embedding_size(embeddings([[0.1, 0.2], [0.3, 0.4]]), "input-embeddings", object(), "MSELoss")


# --- data_notes ------------------------------------------------------------------------------------------------------


def ranked(labels) -> pa.Table:
    return pa.table({"q": [f"query {i}" for i in range(len(labels))],
                     "docs": [[f"doc {j}" for j in range(len(row))] for row in labels], "label": labels})


def test_rank_numbers_as_listwise_labels_are_noted():
    notes = data_notes(ranked([[1, 2, 3], [3, 1, 2]]), "labeled-list", "LambdaLoss")
    assert notes == [
        "the labels look inverted: 2 of 2 lists hold the numbers 1..n, each once: rank positions, where 1 is the best. "
        "LambdaLoss reads a higher label as more relevant, so it would learn the ranking backwards. If 1 is the best, "
        "turn the ranks into gains first: dataset = dataset.map(lambda row: {'label': [max(row['label']) - r for r in "
        "row['label']]})  # rank 1 (best) gets the highest gain, the last 0"]


@pytest.mark.parametrize("data, fmt", [
    (ranked([[3, 2, 0], [2, 2, 1]]), "labeled-list"),  # relevance grades
    (ranked([[1, 2, 3], [3, 1, 2]]), "pos-neg-lists-scores"),  # another format
    (pa.table({"q": ["x", "y"], "docs": [["a"], ["b"]]}), "labeled-list"),  # no label
    (pa.table({"q": ["x", "y"], "docs": [["a"], ["b"]], "label": [1, 2]}), "labeled-list"),  # not lists
])
def test_no_note_without_rank_lists(data, fmt):
    assert data_notes(data, fmt, "LambdaLoss") == []
