"""trial/data_checks.py: the edges the second measurement left open (issue 17).

A missing sentence-transformers, a format with no upper bound on its text columns, and the formats whose list of
documents comes after more than one text column: each refusal compared in full, each accepted table accepted.
"""

from __future__ import annotations

import importlib.metadata

import pyarrow as pa
import pytest

from lossadvisor.errors import FitError
from lossadvisor.table import load_table
from lossadvisor.trial.data_checks import check_data, check_known_bad, infer_num_labels
from lossadvisor.trial.options import TrialOptions


@pytest.fixture(scope="module")
def table():
    return load_table()


def refusal(call, *args) -> FitError:
    with pytest.raises(FitError) as caught:
        call(*args)
    return caught.value


def test_a_missing_sentence_transformers_reads_as_version_0(table, monkeypatch):
    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    error = refusal(check_known_bad, "LambdaLoss", TrialOptions(bf16=True), table)
    assert error.message.startswith("LambdaLoss with --bf16 on sentence-transformers 0: before 5.6 the listwise losses")
    assert error.hint == "Upgrade: pip install 'sentence-transformers>=5.6', or drop --bf16."


def test_input_embeddings_needs_one_or_more_text_columns(table):
    error = refusal(check_data, pa.table({"label": [[0.1, 0.2]]}), "input-embeddings", "MSELoss", table)
    assert error.message == ("input-embeddings data needs 1 or more text input columns, but the table has 0 input "
                             "columns ()")
    assert error.hint == "Select the input columns in order, then the label column named 'label'."


def test_one_text_column_is_singular(table):
    data = pa.table({"a": ["x"], "b": ["y"]})
    error = refusal(check_data, data, "single", "DenoisingAutoEncoderLoss", table)
    assert error.message == "single data needs 1 text input column, but the table has 2 input columns (a, b)"


def test_a_single_text_column_passes(table):
    check_data(pa.table({"text": ["a sentence", "another"]}), "single", "DenoisingAutoEncoderLoss", table)


def test_the_list_is_the_last_of_several_inputs(table):
    data = pa.table({"q": ["x"], "pos": ["p"], "negs": [["n1", "n2"]]})
    check_data(data, "list-negatives", "MultipleNegativesRankingLoss", table)


def test_a_flat_last_input_after_two_texts_is_named(table):
    data = pa.table({"q": ["x"], "pos": ["p"], "negs": ["n1"]})
    error = refusal(check_data, data, "list-negatives", "MultipleNegativesRankingLoss", table)
    assert error.message == ("list-negatives data needs its last input ('negs') to be a list of documents, but it "
                             "holds string")


def test_class_ids_written_as_numbers_in_text_count_as_inspect_counts_them(table):
    data = pa.table({"a": ["q"] * 4, "b": ["p"] * 4, "label": ["0", "2", "1", "1"]})
    assert infer_num_labels("CrossEntropyLoss", data, table) == 3


def test_class_names_in_the_label_column_are_not_ids(table):
    data = pa.table({"a": ["q"] * 4, "b": ["p"] * 4, "label": ["entailment", "neutral", "contradiction", "neutral"]})
    error = refusal(infer_num_labels, "CrossEntropyLoss", data, table)
    assert error.message == ("CrossEntropyLoss needs class ids 0..N-1 in 'label', but the largest label is neutral: "
                             "that would be a model with neutral outputs")
