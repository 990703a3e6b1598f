"""tidy_code (the plan as `datasets` code, for scaffolded scripts) must do what tidy() does, on the same data.

Mutation testing (`make mutate`) found tidy_code reached by no in-process test: its code was only run in
subprocesses. Here each case profiles a small table, runs tidy() on it, execs tidy_code's lines on a `datasets`
Dataset of the same table, and compares the two results row by row.
"""

from __future__ import annotations

import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lossadvisor.advice import inspect_dataset
from lossadvisor.table import load_table
from lossadvisor.tidy import tidy, tidy_code

N = 40
WORDS = "the a man woman dog cat runs eats plays ball park city river house red blue green big small".split()


def sentence(i: int, words: int = 7) -> str:
    rng = random.Random(i * 7919 + words)
    return " ".join(rng.choice(WORDS) for _ in range(words)) + f" number {i}"


@pytest.fixture(scope="module")
def table():
    return load_table()


def both(tmp_path, table, columns: dict) -> tuple[dict, dict, list[str]]:
    """(tidy's rows, the rows tidy_code's lines give, the lines)."""
    datasets = pytest.importorskip("datasets")
    path = tmp_path / "data.parquet"
    data = pa.table(columns)
    pq.write_table(data, path)
    report = inspect_dataset(str(path), table)
    expected = tidy(data, report).table.to_pydict()
    lines, imports = tidy_code(report)
    namespace = {"dataset": datasets.Dataset(data)}
    exec("\n".join([*imports, *lines]), namespace)  # noqa: S102 - the code under test is the code we generate
    return expected, namespace["dataset"].to_dict(), lines


def pairs(label: list, name: str = "label") -> dict:
    return {"sentence1": [sentence(i) for i in range(len(label))],
            "sentence2": [sentence(i + 500) for i in range(len(label))], name: label}


def test_class_names_and_a_no_consensus_label(tmp_path, table):
    names = ["entailment", "neutral", "contradiction", "-"]
    expected, got, lines = both(tmp_path, table, pairs([names[i % 4] for i in range(N)]))
    assert got == expected
    assert set(expected["label"]) == {0, 1, 2}
    assert any("not in ['-']" in line for line in lines)


def test_scores_on_a_bounded_scale_are_scaled(tmp_path, table):
    expected, got, _ = both(tmp_path, table, pairs([round(5.0 * i / (N - 1), 3) for i in range(N)], "similarity"))
    assert list(got) == list(expected) == ["sentence1", "sentence2", "label"]
    assert got["label"] == pytest.approx(expected["label"])
    assert min(expected["label"]) == 0.0 and max(expected["label"]) == 1.0


def test_a_label_under_another_name_is_renamed(tmp_path, table):
    expected, got, lines = both(tmp_path, table, pairs([i % 2 for i in range(N)], "gold"))
    assert got == expected
    assert 'dataset = dataset.rename_column(\'gold\', "label")' in lines


def test_empty_texts_and_duplicates_go(tmp_path, table):
    columns = pairs([i % 2 for i in range(N)])
    columns["sentence1"][3] = "  "
    columns["sentence2"][5] = None
    columns["sentence1"][7], columns["sentence2"][7], columns["label"][7] = columns["sentence1"][8], columns["sentence2"][8], 0
    columns["label"][8] = 0
    expected, got, _ = both(tmp_path, table, columns)
    assert got == expected
    assert len(expected["label"]) == N - 3


def test_extra_columns_are_left_out_in_order(tmp_path, table):
    columns = {"id": list(range(N)), **pairs([i % 2 for i in range(N)])}
    expected, got, lines = both(tmp_path, table, columns)
    assert got == expected and list(got) == ["sentence1", "sentence2", "label"]
    assert any("select_columns" in line for line in lines)


def test_teacher_scores_over_two_columns_become_one_list(tmp_path, table):
    columns = {"query": [sentence(i) for i in range(N)], "positive": [sentence(i + 100) for i in range(N)],
               "negative": [sentence(i + 200) for i in range(N)],
               "pos_score": [5.0 + i / N for i in range(N)], "neg_score": [-1.0 - i / N for i in range(N)]}
    expected, got, _ = both(tmp_path, table, columns)
    assert got == expected
    assert expected["label"][0] == [5.0, -1.0]
