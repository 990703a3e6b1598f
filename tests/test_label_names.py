"""Which column is the label, by the sentence-transformers rules, and header bytes that are not part of a name.

sentence-transformers matches the label columns `label`, `labels`, `score`, `scores` exactly: a capitalised
`Label` is an input to it. A UTF-8 BOM before the first header cell is encoding, not part of the column name.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pyarrow.csv as pcsv
import pytest

WORDS = "the a cat dog runs sits on mat park ball red blue big small".split()


def _lossadvisor(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lossadvisor", *map(str, args)], capture_output=True, text=True, timeout=120)


def _pairs(count: int = 60) -> list[tuple[str, str, float]]:
    import random

    rng = random.Random(0)
    return [(" ".join(rng.choices(WORDS, k=7)), " ".join(rng.choices(WORDS, k=7)), round(rng.random(), 3)) for _ in range(count)]


@pytest.fixture
def label_and_score(tmp_path):
    path = tmp_path / "sts.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sentence1", "sentence2", "Label", "score"])
        writer.writerows([a, b, int(score > 0.5), score] for a, b, score in _pairs())
    return path


def test_capitalised_label_is_not_the_label_when_score_exists(label_and_score):
    done = _lossadvisor("inspect", label_and_score, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    roles = {column["name"]: column["role"] for column in report["columns"]}
    assert roles["score"] == "label" and roles["Label"] != "label"
    assert report["format"] == "pair-score"
    assert "competing-labels" in {warning["code"] for warning in report["warnings"]}


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_a_bom_never_reaches_a_column_name(tmp_path, suffix):
    path = tmp_path / f"qa{suffix}"
    delimiter = "," if suffix == ".csv" else "\t"
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(["question", "answer"])
        writer.writerows((a, b) for a, b, _ in _pairs())
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")

    report = json.loads(_lossadvisor("inspect", path, "--json").stdout)
    assert [column["name"] for column in report["columns"]] == ["question", "answer"]

    out = tmp_path / "fixed.parquet"
    done = _lossadvisor("convert", path, "--fix", "-o", out)
    assert done.returncode == 0, done.stderr
    import pyarrow.parquet as pq

    assert pq.read_schema(out).names == ["question", "answer"]
    out_csv = tmp_path / "fixed.csv"
    assert _lossadvisor("convert", path, "--fix", "-o", out_csv).returncode == 0
    assert pcsv.read_csv(out_csv).column_names == ["question", "answer"]
