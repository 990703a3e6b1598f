"""trial/data_checks.py: each refusal, whole, on a small Arrow table (what mutation testing found unpinned).

check_known_bad and check_data run before anything is loaded; their messages are what the user reads, so each
is compared in full, and each accepted edge case is accepted.
"""

from __future__ import annotations

import math
import sys
from types import SimpleNamespace

import pyarrow as pa
import pytest
from packaging.version import Version

from lossadvisor.errors import FitError
from lossadvisor.recipe import MAX_CLASSES
from lossadvisor.table import load_table
from lossadvisor.trial.data_checks import check_data, check_known_bad, infer_num_labels, is_listwise
from lossadvisor.trial.options import TrialOptions


@pytest.fixture(scope="module")
def table():
    return load_table()


def refusal(call, *args) -> FitError:
    with pytest.raises(FitError) as caught:
        call(*args)
    return caught.value


def pairs(label, n: int = 4) -> pa.Table:
    columns = {"a": [f"question {i}" for i in range(n)], "b": [f"answer {i}" for i in range(n)]}
    if label is not None:
        columns["label"] = label
    return pa.table(columns)


# --- check_known_bad ---------------------------------------------------------------------------------------------


def test_listwise_losses_are_the_labeled_list_ones(table):
    assert is_listwise("LambdaLoss", table) and is_listwise("ListNetLoss", table)
    assert not is_listwise("BinaryCrossEntropyLoss", table) and not is_listwise("NoSuchLoss", table)


def test_bf16_and_fp16_together(table):
    error = refusal(check_known_bad, "BinaryCrossEntropyLoss", TrialOptions(bf16=True, fp16=True), table)
    assert error.message == "--bf16 and --fp16 are mutually exclusive"
    assert error.hint == "Pick one (bf16 where the GPU supports it)."


def test_cached_loss_with_gradient_checkpointing_names_the_loss(table):
    error = refusal(check_known_bad, "CachedMultipleNegativesRankingLoss", TrialOptions(gradient_checkpointing=True), table)
    assert error.message.startswith("CachedMultipleNegativesRankingLoss cannot be combined with gradient checkpointing")
    assert error.hint.startswith("Drop --gradient-checkpointing")


@pytest.mark.parametrize("flag, options", [("--bf16", TrialOptions(bf16=True)), ("--fp16", TrialOptions(fp16=True))])
def test_listwise_half_precision_before_5_6(table, flag, options):
    error = refusal(check_known_bad, "ListNetLoss", options, table, "5.5.9")
    assert error.message.startswith(f"ListNetLoss with {flag} on sentence-transformers 5.5.9: before 5.6 ")
    assert error.hint == f"Upgrade: pip install 'sentence-transformers>=5.6', or drop {flag}."


def test_an_unreadable_version_is_not_trusted(table):
    error = refusal(check_known_bad, "LambdaLoss", TrialOptions(bf16=True), table, "not-a-version")
    assert "on sentence-transformers not-a-version" in error.message


def test_bf16_on_a_listwise_loss_from_5_6_is_fine(table):
    check_known_bad("LambdaLoss", TrialOptions(bf16=True), table, "5.6.0")


# --- check_data: shape ---------------------------------------------------------------------------------------------


def test_too_few_inputs(table):
    data = pa.table({"a": ["q"], "label": [1]})
    error = refusal(check_data, data, "labeled-pair", "BinaryCrossEntropyLoss", table)
    assert error.message == "labeled-pair data needs 2 text input columns, but the table has 1 input columns (a)"
    assert error.hint == "Select the input columns in order, then the label column named 'label'."


def test_too_few_inputs_for_an_open_ended_format(table):
    data = pa.table({"a": ["q"], "b": ["p"]})
    error = refusal(check_data, data, "n-tuple", "MultipleNegativesRankingLoss", table)
    assert error.message == "n-tuple data needs 4 or more text input columns, but the table has 2 input columns (a, b)"


def test_a_labeled_list_names_the_documents(table):
    data = pa.table({"q": ["x"], "r": ["y"], "docs": [["d"]], "label": [[1]]})
    error = refusal(check_data, data, "labeled-list", "LambdaLoss", table)
    assert error.message == ("labeled-list data needs 1 text input column and a list of documents, but the table has "
                             "3 input columns (q, r, docs)")


def test_missing_label(table):
    error = refusal(check_data, pairs(None), "labeled-pair", "BinaryCrossEntropyLoss", table)
    assert error.message == "labeled-pair data needs a label column named 'label', but the table has only a, b"


def test_no_rows(table):
    error = refusal(check_data, pairs([1, 0], 2).slice(0, 0), "labeled-pair", "BinaryCrossEntropyLoss", table)
    assert error.message == "the table has no rows" and error.hint is None


def test_null_input(table):
    data = pa.table({"a": ["q", None, None], "b": ["p", "p", "p"], "label": [1, 0, 1]})
    error = refusal(check_data, data, "labeled-pair", "BinaryCrossEntropyLoss", table)
    assert error.message == "input column 'a' is empty (null) in 2 rows"
    assert error.hint == "Drop them first: dataset = dataset.filter(lambda row: row['a'] is not None)."


def test_a_number_is_not_text(table):
    data = pa.table({"a": ["q"], "b": [3], "label": [1]})
    error = refusal(check_data, data, "labeled-pair", "BinaryCrossEntropyLoss", table)
    assert error.message == "input column 'b' holds int64, not text"


def test_large_strings_and_lists_of_large_strings_are_text(table):
    data = pa.table({"q": pa.array(["x"], pa.large_string()),
                     "docs": pa.array([["d", "e"]], pa.list_(pa.large_string())), "label": [[1, 0]]})
    check_data(data, "labeled-list", "LambdaLoss", table)


def test_the_documents_must_be_a_list(table):
    data = pa.table({"q": ["x"], "docs": ["d"], "label": [[1]]})
    error = refusal(check_data, data, "labeled-list", "LambdaLoss", table)
    assert error.message == "labeled-list data needs its last input ('docs') to be a list of documents, but it holds string"


def test_pairs_without_a_label_pass(table):
    check_data(pairs(None), "pair", "MultipleNegativesRankingLoss", table)


# --- check_data: labels ---------------------------------------------------------------------------------------------


def test_null_label(table):
    error = refusal(check_data, pairs([1, None, 0, None]), "labeled-pair", "BinaryCrossEntropyLoss", table)
    assert error.message == "the label column is empty (null) in 2 rows"


def test_a_list_where_one_number_belongs(table):
    error = refusal(check_data, pairs([[1]] * 4), "labeled-pair", "BinaryCrossEntropyLoss", table)
    assert error.message == "labeled-pair data needs one number per row in 'label', but it holds lists (list<item: int64>)"


def test_text_labels_hint_class_encoding_only_for_pair_class(table):
    error = refusal(check_data, pairs(["a", "b", "a", "b"]), "pair-class", "CrossEntropyLoss", table)
    assert error.message == "the label column holds string, not numbers"
    assert error.hint == "Encode the classes as integers: dataset = dataset.class_encode_column('label')."
    other = refusal(check_data, pairs(["a", "b", "a", "b"]), "labeled-pair", "BinaryCrossEntropyLoss", table)
    assert other.hint == "Convert the labels to numbers first."


def test_boolean_labels_pass(table):
    check_data(pairs([True, False, True, False]), "labeled-pair", "BinaryCrossEntropyLoss", table)


def test_non_finite_labels_are_counted(table):
    error = refusal(check_data, pairs([0.5, math.nan, math.inf, 0.1]), "pair-score", "MSELoss", table)
    assert error.message == "2 labels are NaN or infinite: the loss would be NaN from the first batch that holds one"


@pytest.mark.parametrize("label", [[0, 1, 2, -1], [0.0, 1.5, 2.0, 1.0]])
def test_class_ids_must_be_whole_and_from_zero(table, label):
    error = refusal(check_data, pairs(label), "pair-class", "CrossEntropyLoss", table)
    assert error.message == f"CrossEntropyLoss needs class ids 0..N-1 in 'label', but found values from {min(label)} to {max(label)}"


def test_float_class_ids_that_are_whole_pass(table):
    check_data(pairs([0.0, 1.0, 2.0, 1.0]), "pair-class", "CrossEntropyLoss", table)


def test_bce_labels_beyond_one_with_the_rescale_hint(table):
    error = refusal(check_data, pairs([0.0, 2.0, 4.0, 1.0]), "labeled-pair", "BinaryCrossEntropyLoss", table)
    assert error.message == "BinaryCrossEntropyLoss needs labels between 0 and 1, but found 0.0 to 4.0"
    assert error.hint == "Rescale them: dataset = dataset.map(lambda row: {'label': (row['label'] - 0.0) / 4.0})."


def test_bce_labels_at_zero_and_one_pass(table):
    check_data(pairs([0.0, 1.0, 0.5, 1.0]), "labeled-pair", "BinaryCrossEntropyLoss", table)


# --- check_data: list labels ----------------------------------------------------------------------------------------


def listwise(docs: list, labels: list) -> pa.Table:
    return pa.table({"q": [f"query {i}" for i in range(len(docs))], "docs": docs, "label": labels})


def test_documents_and_labels_differ(table):
    data = listwise([["a", "b"], ["c"], ["d", "e"]], [[1, 0], [1, 0], [1]])
    error = refusal(check_data, data, "labeled-list", "LambdaLoss", table)
    assert error.message == ("2 rows (e.g. row 1, 2) have a different number of documents and labels (row 1: 1 documents, "
                             "2 labels): a listwise loss needs one label per document")


def test_one_row_is_one_row(table):
    data = listwise([["a", "b"], ["c"]], [[1, 0], [1, 0]])
    error = refusal(check_data, data, "labeled-list", "LambdaLoss", table)
    assert error.message.startswith("1 row (e.g. row 1) have a different number")


def test_empty_document_list(table):
    data = listwise([["a"], []], [[1], []])
    error = refusal(check_data, data, "labeled-list", "LambdaLoss", table)
    assert error.message == "1 row (e.g. row 1) have an empty document list"


def test_a_scalar_where_a_list_of_labels_belongs(table):
    data = listwise([["a"], ["b"]], [1, 0])
    error = refusal(check_data, data, "labeled-list", "LambdaLoss", table)
    assert error.message == "labeled-list data needs a list of numbers per row in 'label', but it holds int64"


def test_list_labels_must_be_numbers_and_finite(table):
    words = refusal(check_data, listwise([["a"]], [["x"]]), "labeled-list", "LambdaLoss", table)
    assert words.message == "the labels are string, not numbers"
    nan = refusal(check_data, listwise([["a", "b"]], [[1.0, math.nan]]), "labeled-list", "LambdaLoss", table)
    assert nan.message.startswith("1 label list entries are NaN or infinite")


def margins(labels: list, negatives: int = 2) -> pa.Table:
    columns = {"q": ["x"] * len(labels), "pos": ["p"] * len(labels)}
    columns.update({f"neg{i}": ["n"] * len(labels) for i in range(negatives)})
    columns["label"] = labels
    return pa.table(columns)


def test_margin_lists_have_one_entry_per_negative(table):
    check_data(margins([[0.5, 0.2]]), "n-tuple-margin", "MarginMSELoss", table)
    error = refusal(check_data, margins([[0.5, 0.2, 0.1], [0.5, 0.2]]), "n-tuple-margin", "MarginMSELoss", table)
    assert error.message == ("1 row (e.g. row 0) have 3 labels, but n-tuple-margin with 4 input columns needs 2 per row")


def test_score_lists_have_one_entry_per_passage(table):
    check_data(margins([[0.9, 0.5, 0.2]]), "n-tuple-scores", "MarginMSELoss", table)
    error = refusal(check_data, margins([[0.9, 0.5]]), "n-tuple-scores", "MarginMSELoss", table)
    assert "needs 3 per row" in error.message


# --- infer_num_labels -----------------------------------------------------------------------------------------------


def test_num_labels_from_class_ids_and_names(table):
    assert infer_num_labels("CrossEntropyLoss", pairs([0, 4, 1, 2]), table) == 5
    assert infer_num_labels("BinaryCrossEntropyLoss", pairs([0, 1, 1, 0]), table) == 1
    assert infer_num_labels("NoSuchLoss", pairs([0, 1, 1, 0]), table) == 1


def test_num_labels_refuses_a_huge_id_and_a_missing_label(table):
    error = refusal(infer_num_labels, "CrossEntropyLoss", pairs([0, 1, 2, 10**7]), table)
    assert error.message.startswith("CrossEntropyLoss needs class ids 0..N-1 in 'label', but the largest label is 10000000")
    missing = refusal(infer_num_labels, "CrossEntropyLoss", pairs(None), table)
    assert missing.message == "CrossEntropyLoss needs a class label column named 'label'"


# --- the hints, and the edges the first measurement left open -------------------------------------------------------


def test_streaming_is_refused_with_the_way_out(table):
    error = refusal(check_known_bad, "LambdaLoss", TrialOptions(streaming=True), table)
    assert error.message == (
        "a streaming (IterableDataset) source cannot be trained: CrossEncoderTrainer rejects IterableDataset, "
        "because its collator returns raw texts that accelerate cannot concatenate across batches")
    assert error.hint == ("Drop --streaming (the trial only reads a sample), or materialise rows first: "
                          "Dataset.from_list(list(dataset.take(N))).")


def test_cached_loss_with_checkpointing_whole_message(table):
    error = refusal(check_known_bad, "CachedMultipleNegativesRankingLoss", TrialOptions(gradient_checkpointing=True), table)
    assert error.message.endswith(
        "re-running the forward pass per mini-batch with replayed random states, and checkpointing inside that re-run "
        "saves nothing more while putting its cached gradients at risk")


def test_listwise_half_precision_whole_message(table):
    error = refusal(check_known_bad, "LambdaLoss", TrialOptions(fp16=True), table, "5.0")
    assert error.message.endswith(
        "score matrix, which fails ('Index put requires the source and destination dtypes match'), and run "
        "exp/softmax in half precision, which overflows under fp16")


def test_the_installed_sentence_transformers_is_read(table, monkeypatch):
    from importlib.metadata import version

    installed = version("sentence-transformers")
    if Version(installed) < Version("5.6"):
        pytest.skip(f"sentence-transformers {installed} predates the listwise fix")
    monkeypatch.setitem(sys.modules, "torch", SimpleNamespace(cuda=SimpleNamespace(is_available=lambda: True)))
    check_known_bad("LambdaLoss", TrialOptions(bf16=True), table)  # read from the installed package: new enough


def test_fp16_needs_cuda(table, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", SimpleNamespace(cuda=SimpleNamespace(is_available=lambda: False)))
    error = refusal(check_known_bad, "BinaryCrossEntropyLoss", TrialOptions(fp16=True), table)
    assert error.message == "--fp16 needs a CUDA GPU, and none is available"
    assert error.hint == "Drop --fp16 (or use --bf16 on CPU)."
    monkeypatch.setitem(sys.modules, "torch", SimpleNamespace(cuda=SimpleNamespace(is_available=lambda: True)))
    check_known_bad("BinaryCrossEntropyLoss", TrialOptions(fp16=True), table)


def test_hints_of_the_shape_refusals(table):
    assert refusal(check_data, pairs(None), "labeled-pair", "BinaryCrossEntropyLoss", table).hint == (
        "Rename the label column: dataset = dataset.rename_column('score', 'label').")
    number = pa.table({"a": ["q"], "b": [3], "label": [1]})
    assert refusal(check_data, number, "labeled-pair", "BinaryCrossEntropyLoss", table).hint == (
        "Inputs must be strings (or a list of strings for the documents of a labeled-list).")
    flat = pa.table({"q": ["x"], "docs": ["d"], "label": [[1]]})
    assert refusal(check_data, flat, "labeled-list", "LambdaLoss", table).hint == (
        "Group the pairs by query: `lossadvisor convert DATASET --to labeled-list`.")
    assert refusal(check_data, pairs([1, None, 0, 1]), "labeled-pair", "BinaryCrossEntropyLoss", table).hint == (
        "Drop or fill those rows.")
    assert refusal(check_data, pairs([[1]] * 4), "labeled-pair", "BinaryCrossEntropyLoss", table).hint == (
        "A list per row is a labeled-list or a *-scores distillation format.")


def test_hints_of_the_label_refusals(table):
    mismatch = listwise([["a", "b"], ["c"]], [[1, 0], [1, 0]])
    assert refusal(check_data, mismatch, "labeled-list", "LambdaLoss", table).hint == (
        "Fix or drop those rows: dataset.filter(lambda row: len(row['docs']) == len(row['label'])).")
    empty = listwise([["a"], []], [[1], []])
    assert refusal(check_data, empty, "labeled-list", "LambdaLoss", table).hint == (
        "Drop them: dataset.filter(lambda row: len(row['docs']) > 0).")
    assert refusal(check_data, margins([[0.5]]), "n-tuple-margin", "MarginMSELoss", table).hint == (
        "MarginMSELoss takes either [pos - neg_i for each negative] or [pos, neg_1, ..., neg_n].")
    assert refusal(check_data, pairs([0.5, math.nan, 0.1, 0.2]), "pair-score", "MSELoss", table).hint == (
        "Drop or fix them: dataset.filter(lambda row: math.isfinite(row['label'])).")
    assert refusal(check_data, pairs([0, 1, 2, -1]), "pair-class", "CrossEntropyLoss", table).hint == (
        "Map each class to an integer id: dataset = dataset.class_encode_column('label').")


def test_at_most_three_rows_are_shown(table):
    data = listwise([["a"], ["b"], ["c"], ["d"], ["e", "f"]], [[1, 0]] * 4 + [[1, 0]])
    error = refusal(check_data, data, "labeled-list", "LambdaLoss", table)
    assert error.message.startswith("4 rows (e.g. row 0, 1, 2) have a different number of documents and labels")


def test_no_loss_or_an_unknown_loss_skips_the_loss_rules(table):
    check_data(pairs([0.0, 4.0, 2.0, 1.0]), "labeled-pair", None, table)
    check_data(pairs([0.0, 4.0, 2.0, 1.0]), "labeled-pair", "NoSuchLoss", table)


def test_class_ids_reach_up_to_max_classes_only(table):
    error = refusal(check_data, pairs([0, 1, 2, MAX_CLASSES]), "pair-class", "CrossEntropyLoss", table)
    assert error.message.endswith(f"but found values from 0 to {MAX_CLASSES}")
    check_data(pairs([0, 1, 2, MAX_CLASSES - 1]), "pair-class", "CrossEntropyLoss", table)
    too_many = refusal(infer_num_labels, "CrossEntropyLoss", pairs([0, 1, 2, MAX_CLASSES]), table)
    assert f"the largest label is {MAX_CLASSES}" in too_many.message
    assert too_many.hint == "Map each class to an integer id: dataset = dataset.class_encode_column('label')."


def test_bce_between_one_and_two_is_refused_and_the_hint_divides_by_the_span(table):
    error = refusal(check_data, pairs([1.0, 1.5, 3.0, 2.0]), "labeled-pair", "BinaryCrossEntropyLoss", table)
    assert error.message == "BinaryCrossEntropyLoss needs labels between 0 and 1, but found 1.0 to 3.0"
    assert error.hint == "Rescale them: dataset = dataset.map(lambda row: {'label': (row['label'] - 1.0) / 2.0})."
    assert refusal(check_data, pairs([0.0, 1.5, 1.0, 0.5]), "labeled-pair", "BinaryCrossEntropyLoss", table)


def test_num_labels_refuses_a_label_with_no_value(table):
    empty = pairs(pa.array([None] * 4, pa.float64()))
    error = refusal(infer_num_labels, "CrossEntropyLoss", empty, table)
    assert error.message == ("CrossEntropyLoss needs class ids 0..N-1 in 'label', but the largest label is None: "
                             "that would be a model with None outputs")
