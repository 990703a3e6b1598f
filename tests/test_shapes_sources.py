"""Data as people actually have it (issue 11), the shapes that need a source of their own: BEIR/MTEB folders of
corpus + queries + qrels, a TREC qrels file alone, line-aligned parallel files, a DatasetDict's splits, and graded
relevance on an inverted scale (Cranfield) mapped to gains. Data: tests/data/shapes (see tests/data/PROVENANCE.md).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from real_data import REAL
from test_shapes import SHAPES, TRIAL, codes, convert_json, inspect, run

from lossadvisor.errors import SourceError

BEIR = SHAPES / "beir_wikiqa"
CRANFIELD = SHAPES / "beir_cranfield"


@pytest.fixture(scope="module")
def table():
    from lossadvisor.table import load_table

    return load_table()


def qrels(folder: Path, split: str) -> list[list[str]]:
    return [line.split("\t") for line in (folder / "qrels" / f"{split}.tsv").read_text().splitlines()[1:]]


# --- 3. corpus + queries + qrels ----------------------------------------------------------------------------------


def test_beir_folder_joins_the_chosen_split(table):
    report = inspect(BEIR.name, table)
    assert report.source_kind == "beir" and report.split == "train" and report.splits == ("train", "test")
    assert report.num_rows == len(qrels(BEIR, "train"))
    assert report.format == "pair"  # qrels of positives only: (query, positive) pairs...
    (note,) = [w for w in report.warnings if w.code == "beir-folder"]
    assert "--corpus" in note.fix and "corpus.jsonl" in note.fix and "--to labeled-list" in note.fix  # ...mined from the corpus
    mining = next(c for c in report.conversions if c.to == "labeled-list")
    assert "--corpus" in mining.command
    queries = {json.loads(line)["text"] for line in (BEIR / "queries.jsonl").read_text().splitlines()}
    assert set(report_queries(BEIR)) <= queries
    test_split = inspect(BEIR.name, table, split="test")
    assert test_split.num_rows == len(qrels(BEIR, "test"))


def report_queries(folder: Path) -> list[str]:
    from lossadvisor.sources import open_sample

    return open_sample(str(folder)).table.column("query").to_pylist()


def test_beir_files_named_together(table):
    spec = ",".join(str(BEIR / name) for name in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"))
    from lossadvisor.advice import inspect_dataset

    report = inspect_dataset(spec, table)
    assert report.source_kind == "beir" and report.split == "test" and report.num_rows == len(qrels(BEIR, "test"))


def test_beir_positives_mined_into_lists(tmp_path):
    out = tmp_path / "lists.parquet"
    report = convert_json(BEIR, "labeled-list", out, "--corpus", str(BEIR / "corpus.jsonl"))
    assert report["rows_in"] == len(qrels(BEIR, "train"))
    assert report["verdict"]["format"] == "labeled-list"
    written = pq.read_table(out).to_pylist()
    assert all(row["label"][0] == 1 and set(row["label"][1:]) == {0} for row in written)


def test_graded_qrels_group_into_lists_with_gains(tmp_path, table):
    report = inspect(CRANFIELD.name, table)
    assert report.format == "labeled-list" and report.readings[0].needs_grouping
    assert "graded-negative" in codes(report)
    gain = next(q for q in report.questions if q.topic == "gain")
    assert gain.choices[0].flag == "--gain 1=4,2=3,3=2,4=1,5=0,-1=0"
    out = tmp_path / "lists.parquet"
    converted = convert_json(CRANFIELD, "labeled-list", out, "--gain", "cranfield")
    assert converted["rows_in"] == len(qrels(CRANFIELD, "test"))
    assert converted["verdict"]["format"] == "labeled-list" and converted["verdict"]["warnings"] == []


def test_cranfield_gains_match_the_published_lists(tmp_path):
    """--gain cranfield on the joined judgments gives the gains of the curated labeled-list (MANIFEST: 4 = complete)."""
    out = tmp_path / "lists.parquet"
    convert_json(REAL / "cranfield" / "cranfield_judgments_joined.csv", "labeled-list", out, "--gain", "cranfield")
    ours = {row["query"]: sorted(row["label"]) for row in pq.read_table(out).to_pylist()}
    from datasets import load_from_disk

    curated = load_from_disk(str(REAL / "cranfield" / "cranfield_labeled_list_hf"))
    matched = 0
    for row in curated:
        if row["query"] in ours:
            assert ours[row["query"]] == sorted(row["labels"])
            matched += 1
    assert matched >= 90


@pytest.mark.parametrize("gain, message", [("1=4,2=3", "also hold"), ("1:4", "is not CODE=GAIN")])
def test_gain_refuses_what_it_cannot_map(tmp_path, gain, message):
    result = run("convert", CRANFIELD, "--to", "labeled-list", "-o", tmp_path / "out.parquet", "--gain", gain)
    assert result.exit_code == 2 and message in result.stderr


@pytest.mark.parametrize("suffix", [".qrels", ".txt"])
def test_trec_qrels_alone_are_ids(tmp_path, table, suffix):
    from lossadvisor.advice import inspect_dataset

    path = tmp_path / f"cranfield{suffix}"
    path.write_text((SHAPES / "cranfield.qrels").read_text())
    with pytest.raises(SourceError) as caught:
        inspect_dataset(str(path), table)
    assert "TREC qrels" in caught.value.message and "not text" in caught.value.message
    assert "corpus.jsonl" in caught.value.hint and "queries.jsonl" in caught.value.hint


# --- 9. parallel files ------------------------------------------------------------------------------------------------


def test_parallel_files_are_columns(tmp_path, table):
    folder = SHAPES / "sts_parallel"
    report = inspect(folder.name, table)
    assert [(c.name, c.role) for c in report.columns] == [("a", "input"), ("b", "input"), ("sim", "label")]
    assert report.format == "pair-score" and "parallel-files" in codes(report)
    assert report.recommendations[0].loss == "BinaryCrossEntropyLoss"  # STS 0-5: a bounded scale, rescaled
    out = tmp_path / "pairs.parquet"
    converted = convert_json(folder, "pair-score", out)
    assert converted["rows_in"] == len((folder / "sim.txt").read_text().splitlines())
    with open(REAL / "stsb" / "stsb_train_sample.csv", encoding="utf-8") as handle:
        first = next(csv.DictReader(handle))
    row = pq.read_table(out).slice(0, 1).to_pylist()[0]
    assert (row["a"], row["b"]) == (first["sentence1"], first["sentence2"])
    assert row["label"] == pytest.approx(float(first["score"]) / 5)


# --- 8. splits ------------------------------------------------------------------------------------------------------------


def test_dataset_dict_keeps_every_split(tmp_path):
    from datasets import load_from_disk

    source = load_from_disk(str(SHAPES / "wikiqa_triplets_dict"))
    out = tmp_path / "fixed"
    result = run("convert", SHAPES / "wikiqa_triplets_dict", "--fix", "-o", out, "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    written = load_from_disk(str(out))
    assert set(written) == set(source) == {"train", "validation", "test"}
    assert {name: written[name].num_rows for name in written} == {name: source[name].num_rows for name in source}
    assert report["stats"]["splits"] == {name: {"rows_in": source[name].num_rows, "rows_out": source[name].num_rows}
                                         for name in source}
    assert report["rows_in"] == sum(source[name].num_rows for name in source)


def test_dataset_dict_into_one_file_names_the_splits_left_out(tmp_path):
    result = run("convert", SHAPES / "wikiqa_triplets_dict", "--fix", "-o", tmp_path / "train.parquet", "--json")
    report = json.loads(result.stdout)
    assert report["rows_in"] == 100
    assert any("validation, test" in note for note in report["notes"])


# --- trial on the result ----------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_trial_on_graded_beir_lists(tmp_path):
    out = tmp_path / "lists.parquet"
    convert_json(CRANFIELD, "labeled-list", out, "--gain", "cranfield")
    result = run("trial", out, "--loss", "LambdaLoss", *TRIAL)
    assert result.exit_code == 0, (result.stdout[-2000:], result.stderr[-2000:])
    assert json.loads(result.stdout)["results"][0]["status"] == "ok"


# --- 6. a rescale uses the whole column ---------------------------------------------------------------------------------


def test_rescale_uses_the_whole_column_not_the_sample(tmp_path, table):
    """A text file whose first 2,000 rows top out at 4.0: inspect's sample says [0, 4], the file reaches 5.0."""
    with open(REAL / "stsb" / "stsb_train_sample.csv", encoding="utf-8") as handle:
        rows = [(r["sentence1"], r["sentence2"], float(r["score"])) for r in csv.DictReader(handle)]
    with open(REAL / "stsb" / "sts-dev.csv", encoding="utf-8") as handle:
        rows += [(cells[5], cells[6], float(cells[4])) for cells in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)]
    low, high = [r for r in rows if r[2] <= 4.0], [r for r in rows if r[2] > 4.0]
    assert len(low) > 2000 and high
    path = tmp_path / "sts.jsonl"
    path.write_text("".join(json.dumps({"sentence1": a, "sentence2": b, "score": s}) + "\n" for a, b, s in low + high))
    from lossadvisor.advice import inspect_dataset

    report = inspect_dataset(str(path), table)
    assert report.tidy.score_range[1] <= 4.0  # the sample's range
    out = tmp_path / "fixed.parquet"
    converted = convert_json(path, "pair-score", out)
    labels = pq.read_table(out).column("label").to_pylist()
    assert max(labels) == 1.0 and min(labels) >= 0.0
    assert any(abs(v - 0.8) < 1e-9 for v in labels)  # 4.0 of 5, not clipped to 1 as the sample's [0, 4] would
    assert any("whole column" in fix for fix in converted["fixes"])
