"""convert: tests for survivors of the sampled mutation run that a user would notice (issue 17).

Each test runs in-process on a small table and asserts one exact outcome: the rows, a stat, an error message,
the plan of a ConversionResult, or the bytes and folders that the writer leaves.
"""

from __future__ import annotations

import builtins
import os

import pyarrow as pa
import pytest

from lossadvisor.convert import plan, reshape, writer
from lossadvisor.convert.options import ConvertOptions
from lossadvisor.errors import FitError
from lossadvisor.table import load_table


def error_of(call) -> tuple[str, str | None]:
    with pytest.raises(FitError) as info:
        call()
    return info.value.message, info.value.hint


# --- reshape ---------------------------------------------------------------------------------------------------------


def _more_anchors_than_texts() -> pa.Table:
    # 3 anchors but 2 distinct texts: (anchor, text) keys must not collide, or a negative is wrongly dropped
    return pa.table({
        "query": ["a", "a", "b", "b", "c", "c"],
        "doc": ["x", "y", "y", "x", "y", "x"],
        "label": [0, 1, 1, 0, 1, 0],
    })


def test_pairing_keeps_every_negative_when_anchors_outnumber_texts():
    result = reshape.pair_positives_with_negatives(_more_anchors_than_texts(), "triplet", ConvertOptions())
    assert list(zip(*result.table.to_pydict().values())) == [("a", "y", "x"), ("b", "y", "x"), ("c", "y", "x")]


def test_triplets_per_anchor_mean_divides_by_the_anchors_used():
    table = pa.table({"query": ["a", "a", "a", "b", "b"], "doc": ["p1", "p2", "n1", "p3", "n2"],
                      "label": [1, 1, 0, 1, 0]})
    result = reshape.pair_positives_with_negatives(table, "triplet", ConvertOptions())
    assert result.stats["triplets_per_anchor_mean"] == 1.5


def _first_column_numbers(names: list[str], columns: list) -> pa.Table:
    return pa.table(dict(zip(names, columns)))


def test_class_sampling_names_itself_when_the_first_column_is_not_text():
    table = _first_column_numbers(["premise", "hypothesis", "label"],
                                  [[1, 2], ["h1", "h2"], ["entailment", "contradiction"]])
    assert error_of(lambda: reshape.class_sampling(table, "triplet", ConvertOptions())) == (
        "class-sampling expects text in column 'premise', found int64",
        "Put the text columns first, in order, and the label last.")


def test_class_sampling_without_a_positive_class_names_its_target_format():
    table = pa.table({"s1": ["a", "a"], "s2": ["x", "y"], "label": ["good", "bad"]})
    assert error_of(lambda: reshape.class_sampling(table, "triplet", ConvertOptions()))[0] == (
        "converting pair-class to triplet needs to know which class is the positive one (classes: good, bad)")


def test_class_to_binary_checks_the_first_column_is_text():
    table = _first_column_numbers(["s1", "s2", "label"], [[1, 2], ["x", "y"], ["yes", "no"]])
    options = ConvertOptions(positive_class="yes", negative_class="no")
    assert error_of(lambda: reshape.class_to_binary(table, "labeled-pair", options))[0] == (
        "class-to-binary expects text in column 's1', found int64")


def test_split_negatives_checks_the_first_column_is_text():
    table = _first_column_numbers(["anchor", "pos", "n1", "n2"], [[1, 2], ["p", "q"], ["n", "m"], ["o", "r"]])
    assert error_of(lambda: reshape.split_negatives(table, "triplet", ConvertOptions()))[0] == (
        "split-negatives expects text in column 'anchor', found int64")


def test_explode_names_the_text_column_text_even_when_the_docs_column_was_text():
    table = pa.table({"query": ["q1"], "text": [["d1", "d2"]], "label": [[1, 0]]})
    result = reshape.explode(table, "labeled-pair", ConvertOptions())
    assert result.table.column_names == ["query", "text", "label"]


# --- plan ------------------------------------------------------------------------------------------------------------


def test_run_conversion_returns_the_plan_it_ran():
    loss_table = load_table()
    table = pa.table({"s1": ["a", "a", "b"], "s2": ["x", "y", "z"], "label": ["entailment", "contradiction", "neutral"]})
    result = plan.run_conversion(table, "pair-class", "labeled-list", loss_table)
    assert [(c.from_format, c.to_format, c.method) for c in result.plan] == [
        ("pair-class", "labeled-pair", "class-to-binary"), ("labeled-pair", "labeled-list", "group")]


# --- writer ----------------------------------------------------------------------------------------------------------


def test_dataset_folder_description_has_sorted_keys(tmp_path):
    from datasets import load_from_disk

    writer.write_output(pa.table({"q": ["a"]}), tmp_path / "ds", metadata={"b": 1, "a": 2})
    assert load_from_disk(str(tmp_path / "ds")).info.description == '{"a": 2, "b": 1}'


def test_jsonl_writes_the_batches_after_an_empty_one(tmp_path):
    table = pa.concat_tables([pa.table({"q": pa.array([], pa.string())}), pa.table({"q": ["a", "b"]})])
    assert [b.num_rows for b in table.to_batches()][0] == 0
    writer.write_output(table, tmp_path / "o.jsonl")
    assert (tmp_path / "o.jsonl").read_bytes() == b'{"q":"a"}\n{"q":"b"}\n'


def test_jsonl_is_utf8_whatever_the_locale(tmp_path, monkeypatch):
    def latin1_locale_open(file, mode="r", *args, encoding=None, **kwargs):  # what open() does in a latin-1 locale
        return builtins.open(file, mode, *args, encoding=encoding or "latin-1", **kwargs)

    monkeypatch.setattr(writer, "open", latin1_locale_open, raising=False)
    writer.write_output(pa.table({"q": ["é"]}), tmp_path / "o.jsonl")
    assert (tmp_path / "o.jsonl").read_bytes() == '{"q":"é"}\n'.encode()


def test_a_failed_swap_puts_the_old_dataset_folder_back(tmp_path, monkeypatch):
    from datasets import load_from_disk

    writer.write_output(pa.table({"q": ["a", "b", "c"]}), tmp_path / "ds")
    real_rename, calls = os.rename, []

    def rename(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # OUT was parked; moving the new copy in fails
            raise OSError("disk gone")
        return real_rename(src, dst)

    monkeypatch.setattr(writer.os, "rename", rename)
    with pytest.raises((OSError, FitError)):
        writer.write_output(pa.table({"q": ["new"]}), tmp_path / "ds", overwrite=True)
    monkeypatch.undo()
    assert load_from_disk(str(tmp_path / "ds"))["q"] == ["a", "b", "c"]
