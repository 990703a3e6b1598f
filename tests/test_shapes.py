"""Data as people actually have it (issue 11): each published shape through inspect, convert and trial.

The files in tests/data/shapes/ are real text (WikiQA, STS-B, SQuAD, Cranfield, the WikiQA teacher scores from
../shared/data/real) written into the shapes found in the field; tests/data/make_shapes.py writes them and
tests/data/PROVENANCE.md says where each came from.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from lossadvisor.advice import inspect_dataset
from lossadvisor.cli import app
from lossadvisor.table import load_table

SHAPES = Path(__file__).parent / "data" / "shapes"


@pytest.fixture(scope="module")
def table():
    return load_table()


def inspect(name: str, table, **kwargs):
    return inspect_dataset(str(SHAPES / name), table, **kwargs)


def codes(report) -> set[str]:
    return {w.code for w in report.warnings}


def role(report, name: str) -> str:
    return next(c.role for c in report.columns if c.name == name)


def lines(name: str) -> list[dict]:
    return [json.loads(line) for line in (SHAPES / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def convert_json(source: Path, target: str, out: Path, *extra: str) -> dict:
    result = run("convert", source, "--to", target, "-o", out, "--json", *extra)
    assert result.exit_code == 0, (result.stdout[-2000:], result.stderr[-2000:])
    return json.loads(result.stdout)


def read_out(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


# --- 1. list-valued negatives ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, fmt", [
    ("query_positive_negatives.jsonl", "list-negatives"),
    ("flag_query_pos_neg.jsonl", "pos-neg-lists"),
    ("flag_with_scores.jsonl", "pos-neg-lists-scores"),
])
def test_list_negatives_are_recognised(table, name, fmt):
    report = inspect(name, table)
    assert report.format == fmt
    assert "no-format" not in codes(report)
    assert not report.recommendations  # no loss takes the lists as they are...
    (shape,) = [w for w in report.warnings if w.code == "list-negatives"]
    offered = {c.to for c in report.conversions}
    assert {"n-tuple", "triplet", "labeled-list"} <= offered  # ...and convert offers the expansions
    assert "n-tuple" in shape.message and "labeled-pair" in shape.message
    longest = max(len(r.get("negatives", r.get("neg"))) for r in lines(name))
    assert f"to {longest} long" in shape.message  # ragged: the policy choice is named
    topics = {q.topic: q for q in report.questions}
    assert {"expansion", "negatives-policy"} <= set(topics)
    assert [c.flag for c in topics["negatives-policy"].choices] == [f"--negatives-policy {p}" for p in ("truncate", "pad", "drop")]


def test_flag_teacher_scores_are_the_label(table):
    report = inspect("flag_with_scores.jsonl", table)
    assert [c.name for c in report.columns if c.role == "label"] == ["pos_scores", "neg_scores"]
    assert report.tidy.label_parts == ("pos_scores", "neg_scores")
    assert {"n-tuple-scores", "n-tuple-margin"} <= {c.to for c in report.conversions}
    split = next(w for w in report.warnings if w.code == "split-label")
    assert "row['pos_scores'] + row['neg_scores']" in split.fix  # lists are concatenated, not nested


@pytest.mark.parametrize("name", ["query_positive_negatives.jsonl", "flag_query_pos_neg.jsonl"])
@pytest.mark.parametrize("target", ["n-tuple", "triplet", "labeled-list", "labeled-pair"])
def test_list_negatives_convert(tmp_path, table, name, target):
    rows = lines(name)
    out = tmp_path / "out.parquet"
    report = convert_json(SHAPES / name, target, out)
    assert report["rows_in"] == len(rows)
    assert report["verdict"]["format"] == target
    written = read_out(out)
    assert report["rows_out"] == len(written)
    negatives = [r.get("negatives", r.get("neg")) for r in rows]
    positives = [[r["positive"]] if "positive" in r else r["pos"] for r in rows]
    if target == "triplet":  # one row per negative, nothing lost
        assert len(written) == sum(len(n) for n in negatives)
        assert {w["negative"] for w in written} == {n for ns in negatives for n in ns}
    if target == "labeled-list":
        assert len(written) == len(rows)
        assert [len(w["docs"]) for w in written] == [len(p) + len(n) for p, n in zip(positives, negatives)]
        assert all(sum(w["label"]) == len(p) for w, p in zip(written, positives))
    if target == "labeled-pair":
        assert len(written) == sum(len(p) + len(n) for p, n in zip(positives, negatives))


@pytest.mark.parametrize("policy", ["truncate", "pad", "drop"])
def test_negatives_policy(tmp_path, policy):
    rows = lines("flag_query_pos_neg.jsonl")
    lengths = [len(r["neg"]) for r in rows]
    out = tmp_path / "out.parquet"
    report = convert_json(SHAPES / "flag_query_pos_neg.jsonl", "n-tuple", out, "--negatives-policy", policy)
    written = read_out(out)
    width = sum(1 for k in written[0] if k.startswith("negative_"))
    mode = max(set(lengths), key=lengths.count)
    expected = {"truncate": max(2, min(lengths)), "pad": max(lengths), "drop": max(2, mode)}[policy]
    assert width == expected
    kept = [r for r, n in zip(rows, lengths) if policy == "pad" or n >= width]
    assert len(written) == sum(len(r["pos"]) for r in kept)  # one n-tuple per positive of every kept row
    assert report["rows_in"] - sum(report["dropped"].values()) == len(kept)
    assert report["verdict"]["format"] == "n-tuple"


@pytest.mark.parametrize("target", ["n-tuple-scores", "n-tuple-margin"])
def test_flag_scores_into_distillation(tmp_path, target):
    rows = lines("flag_with_scores.jsonl")
    out = tmp_path / "out.parquet"
    report = convert_json(SHAPES / "flag_with_scores.jsonl", target, out)
    assert report["verdict"]["format"] == target
    written = read_out(out)
    first = next(r for r in rows if len(r["neg"]) >= 2)
    row = next(w for w in written if w["query"] == first["query"])
    width = sum(1 for k in row if k.startswith("negative_"))
    pos, negs = first["pos_scores"][0], first["neg_scores"][:width]
    expected = [pos, *negs] if target == "n-tuple-scores" else [pos - n for n in negs]
    assert row["label"] == pytest.approx(expected)


# --- 2. nested records (MS MARCO v1.1) -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["msmarco_v1.1_struct_of_lists.jsonl", "msmarco_v1.1_list_of_structs.jsonl",
                                  "msmarco_v1.1_struct_of_lists.parquet"])
def test_msmarco_nested_passages(tmp_path, table, name):
    report = inspect(name, table)
    assert report.format == "labeled-list"
    assert report.recommendations[0].loss == "LambdaLoss"
    assert role(report, "passages.passage_text") == "input"
    assert role(report, "passages.is_selected") == "label"
    assert role(report, "answers") == "ignored" and role(report, "passages.url") == "ignored"
    assert "nested-fields" in codes(report)
    out = tmp_path / "out.parquet"
    converted = convert_json(SHAPES / name, "labeled-list", out)
    source = lines("msmarco_v1.1_struct_of_lists.jsonl")
    ranked = [r for r in source if len(set(r["passages"]["is_selected"])) > 1]  # the others have nothing to rank
    assert converted["rows_in"] == 60 and converted["rows_out"] == len(ranked) < 60
    assert converted["dropped"] == {"fix: nothing to rank (every label in the list equal)": 60 - len(ranked)}
    assert converted["verdict"]["format"] == "labeled-list" and not converted["verdict"]["warnings"]
    written = read_out(out)
    assert [len(w["passages.passage_text"]) for w in written] == [len(r["passages"]["passage_text"]) for r in ranked]
    assert [w["label"] for w in written] == [r["passages"]["is_selected"] for r in ranked]
    pairs = convert_json(SHAPES / name, "labeled-pair", tmp_path / "pairs.parquet")  # pointwise: every judgment is kept
    assert pairs["rows_out"] == sum(len(r["passages"]["passage_text"]) for r in source)


# --- 4. what df.to_csv() writes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["to_csv_index.csv", "to_csv_unnamed.csv", "index_level_0.parquet"])
def test_pandas_index(tmp_path, table, name):
    report = inspect(name, table)
    assert report.num_rows == 200  # the header row is not data
    assert report.format == "pair"
    index = next(c for c in report.columns if c.name in ("Unnamed: 0", "__index_level_0__"))
    assert index.role == "ignored" and "pandas index" in index.reason
    assert [c.name for c in report.columns if c.role == "input"] == ["question", "context"]
    out = tmp_path / "fixed.parquet"
    result = run("convert", SHAPES / name, "--fix", "-o", out, "--json")
    assert result.exit_code == 0, result.stderr
    assert pq.read_table(out).column_names == ["question", "context"]


def test_empty_first_header_cell_is_named_like_pandas(table):
    report = inspect("to_csv_index.csv", table)
    assert report.columns[0].name == "Unnamed: 0"
    assert "pandas-index" in codes(report)


# --- 5. which column is the label ------------------------------------------------------------------------------


def test_numeric_judgment_over_a_category(table):
    report = inspect("bm25_vs_relevance_label.jsonl", table)
    assert role(report, "relevance_label") == "label" and role(report, "bm25_label") == "ignored"
    assert report.format == "labeled-pair"
    assert report.recommendations[0].loss == "BinaryCrossEntropyLoss"
    (question,) = [q for q in report.questions if q.topic == "label"]
    assert [c.flag for c in question.choices] == ["--label relevance_label", "--label bm25_label"]


@pytest.mark.parametrize("value", ["relevant", 2, 1])
def test_one_valued_label_is_no_class_count(tmp_path, table, value):
    rows = lines("bm25_vs_relevance_label.jsonl")[:200]
    path = tmp_path / "one.jsonl"
    path.write_text("".join(json.dumps({"query": r["query"], "passage": r["passage"], "label": value}) + "\n" for r in rows))
    report = inspect_dataset(str(path), table)
    assert "single-class" in codes(report)
    assert all(r.loss != "CrossEntropyLoss" for r in report.recommendations)
    assert report.num_labels != 1 or report.recommendations[0].loss != "CrossEntropyLoss"
    assert report.format == "pair"


# --- 6. teacher logits -----------------------------------------------------------------------------------------------


def test_teacher_logits_pick_mse(tmp_path, table):
    scores = [r["score"] for r in lines("teacher_logits.jsonl")]
    assert min(scores) < 0 < max(scores)
    report = inspect("teacher_logits.jsonl", table)
    assert report.format == "pair-score" and report.readings[0].label_kind == "logit"
    assert report.recommendations[0].loss == "MSELoss"
    assert "logits" in report.recommendations[0].reason
    assert "score-reading" in codes(report) and "score-range" not in codes(report)
    assert report.tidy.score_range is None  # logits are not rescaled
    assert report.activation == "Identity"
    out = tmp_path / "fixed.parquet"
    assert run("convert", SHAPES / "teacher_logits.jsonl", "--fix", "-o", out).exit_code == 0
    assert pq.read_table(out).column("label").to_pylist() == pytest.approx(scores)


# --- 10. text in id-named columns --------------------------------------------------------------------------------------


def test_text_in_id_named_columns(table):
    report = inspect("text_in_id_columns.jsonl", table)
    assert role(report, "query_id") == "input" and role(report, "doc_ids") == "input"
    assert report.format == "labeled-pair"


# --- trial on the converted data ---------------------------------------------------------------------------------------




TRIAL = ("--model", "tiny", "--steps", "2", "--batch-size", "4", "--sample-size", "16", "--max-length", "64", "--json")


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("name, target, loss", [
    ("flag_query_pos_neg.jsonl", "n-tuple", "MultipleNegativesRankingLoss"),
    ("flag_with_scores.jsonl", "n-tuple-scores", "MarginMSELoss"),
    ("msmarco_v1.1_struct_of_lists.parquet", "labeled-list", "ListNetLoss"),
])
def test_trial_on_converted_shapes(tmp_path, name, target, loss):
    out = tmp_path / "out.parquet"
    convert_json(SHAPES / name, target, out)
    result = run("trial", out, "--loss", loss, *TRIAL)
    assert result.exit_code == 0, (result.stdout[-2000:], result.stderr[-2000:])
    report = json.loads(result.stdout)
    assert report["format"] == target
    assert [(r["loss_name"], r["status"]) for r in report["results"]] == [(loss, "ok")]


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_trial_on_teacher_logits():
    result = run("trial", SHAPES / "teacher_logits.jsonl", "--loss", "MSELoss", *TRIAL)
    assert result.exit_code == 0, (result.stdout[-2000:], result.stderr[-2000:])
    assert json.loads(result.stdout)["results"][0]["status"] == "ok"
