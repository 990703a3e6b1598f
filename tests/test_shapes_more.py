"""Data as people actually have it (issue 11), the leftovers: ids that point into a separate corpus (resolved by
joining the files that hold the texts), parallel files named by --inputs/--label, BEIR titles, lists with nothing to
rank dropped by `convert --to labeled-list`, and rank numbers given where the listwise losses want relevance.

Data: tests/data/shapes (written by tests/data/make_shapes.py from ../shared/data/real; see tests/data/PROVENANCE.md).
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict

import pyarrow.parquet as pq
import pytest
from real_data import REAL
from test_shapes import SHAPES, TRIAL, convert_json, lines, one_torch_thread, run  # noqa: F401 - the fixture

WIKIQA = REAL / "wikiqa" / "WikiQA-test.tsv"


@pytest.fixture(scope="module")
def table():
    from lossadvisor.table import load_table

    return load_table()


def wikiqa_lists() -> dict[str, list[int]]:
    """WikiQA-test.tsv's labels per question (exact duplicate rows once), read with the csv module."""
    seen, labels = set(), defaultdict(list)
    with open(WIKIQA, encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            key = (row["Question"], row["Sentence"], row["Label"])  # the columns the conversion keeps
            if key not in seen:
                seen.add(key)
                labels[row["Question"]].append(int(row["Label"]))
    return labels


# --- lists with nothing to rank: dropped by --to labeled-list, counted, kept on request -------------------------------


def test_grouping_drops_lists_with_nothing_to_rank(tmp_path):
    lists = wikiqa_lists()
    constant = {q for q, labels in lists.items() if len(set(labels)) == 1}
    assert len(constant) > 300  # WikiQA: most questions have no correct sentence
    out = tmp_path / "lists.parquet"
    report = convert_json(WIKIQA, "labeled-list", out)
    assert report["rows_out"] == len(lists) - len(constant)
    assert report["stats"]["constant_lists_dropped"] == len(constant)
    dropped_rows = sum(len(lists[q]) for q in constant)
    assert report["dropped"]["list with nothing to rank (every label equal)"] == dropped_rows
    assert any(f"dropped {len(constant)} lists with nothing to rank" in note and "--keep-constant-lists" in note
               for note in report["notes"])
    assert report["verdict"]["format"] == "labeled-list"
    assert "constant-lists" not in report["verdict"]["warnings"]  # the output does not trip its own verdict
    written = pq.read_table(out).to_pylist()
    assert all(len(set(row["label"])) > 1 for row in written)
    assert {row["Question"] for row in written} == set(lists) - constant


def test_keep_constant_lists_keeps_them(tmp_path):
    report = convert_json(WIKIQA, "labeled-list", tmp_path / "lists.parquet", "--keep-constant-lists")
    assert report["rows_out"] == len(wikiqa_lists())
    assert report["verdict"]["warnings"] == ["constant-lists"]


def test_graded_pairs_keep_every_list_for_pointwise_targets(tmp_path):
    """Grouping inside --fix (graded qrels) leaves the dropping to the plan: --to labeled-pair keeps every judgment."""
    folder = SHAPES / "beir_cranfield"
    judgments = len((folder / "qrels" / "test.tsv").read_text().splitlines()) - 1
    report = convert_json(folder, "labeled-pair", tmp_path / "pairs.parquet", "--gain", "cranfield")
    assert report["rows_out"] + sum(report["dropped"].values()) == judgments
    assert not any("nothing to rank" in reason for reason in report["dropped"])


def test_positives_only_lists_dropped_from_list_negatives():
    """The expansion itself (convert's fix step already drops rows whose negative list is empty)."""
    import pyarrow as pa

    from lossadvisor.convert.lists import lists_to_labeled_list
    from lossadvisor.convert.options import ConvertOptions

    rows = lines("flag_query_pos_neg.jsonl")
    emptied = {r["query"] for r in rows[::4]}
    data = pa.Table.from_pylist([{**r, "neg": [] if r["query"] in emptied else r["neg"]} for r in rows])
    step = lists_to_labeled_list(data, "labeled-list", ConvertOptions())
    assert step.table.num_rows == len(rows) - len(emptied)
    assert step.dropped == {"list with nothing to rank (every label equal)": len(emptied)}
    assert step.rows_used + sum(step.dropped.values()) == len(rows)
    assert all(len(set(labels)) == 2 for labels in step.table.column("label").to_pylist())
    kept = lists_to_labeled_list(data, "labeled-list", ConvertOptions(keep_constant_lists=True))
    assert kept.table.num_rows == len(rows) and not kept.dropped


# --- BEIR: the title before the text, as BEIR feeds its models -------------------------------------------------------


def beir_documents(folder) -> dict[str, dict]:
    return {d["_id"]: d for d in map(json.loads, (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines())}


def test_beir_passages_carry_their_title(table):
    from lossadvisor.advice import inspect_dataset
    from lossadvisor.sources import open_sample

    folder = SHAPES / "beir_wikiqa"
    docs = beir_documents(folder)
    judged = [line.split("\t")[1] for line in (folder / "qrels" / "train.tsv").read_text().splitlines()[1:]]
    passages = open_sample(str(folder)).table.column("passage").to_pylist()
    assert len(passages) == len(judged)
    titled = 0
    for doc_id, passage in zip(judged, passages):
        title, text = docs[doc_id]["title"], docs[doc_id]["text"]
        assert passage.endswith(text)
        if text.startswith(title):  # WikiQA's first sentences often begin with the title: not repeated
            assert passage == text
        else:
            assert passage == f"{title} {text}"
            titled += 1
    assert 0 < titled < len(judged)
    (note,) = [w for w in inspect_dataset(str(folder), table).warnings if w.code == "beir-folder"]
    assert "title prepended" in note.message


def test_beir_load_code_reads_the_same_passages(table):
    from datasets import Dataset, load_dataset

    from lossadvisor.advice import inspect_dataset
    from lossadvisor.sources import open_sample

    folder = SHAPES / "beir_wikiqa"
    code = inspect_dataset(str(folder), table).load_code
    dataset = eval(code, {"Dataset": Dataset, "load_dataset": load_dataset})  # noqa: S307 - the code the tool prints
    assert dataset["passage"] == open_sample(str(folder)).table.column("passage").to_pylist()


def test_beir_mined_negatives_carry_titles_too(tmp_path):
    """Negatives mined from corpus.jsonl read like the positives ('title text'): no title-shaped shortcut."""
    folder = SHAPES / "beir_wikiqa"
    out = tmp_path / "lists.parquet"
    convert_json(folder, "labeled-list", out, "--corpus", str(folder / "corpus.jsonl"))
    from lossadvisor.sources.beir import with_title

    readable = {with_title(d["title"], d["text"])[0] for d in beir_documents(folder).values()}
    texts_only = {d["text"] for d in beir_documents(folder).values()} - readable
    written = pq.read_table(out).to_pylist()
    docs = [doc for row in written for doc in row["docs"]]
    assert set(docs) <= readable and not set(docs) & texts_only


# --- rank numbers (1 = best) where the listwise losses want relevance (higher = better) -------------------------------


def cranfield_lists() -> list[dict]:
    from datasets import load_from_disk

    return load_from_disk(str(REAL / "cranfield" / "cranfield_labeled_list_hf")).to_list()


def test_rank_labels_detected():
    from lossadvisor.checks_shapes import rank_numbers

    ranks = [row["label"] for row in lines("cranfield_rank_labels.jsonl")]
    assert "1..n" in rank_numbers(ranks)
    # the same documents stored best first, tied gains sharing a rank (1, 1, 3, ...): rising along the list
    tied = []
    for row in cranfield_lists():
        gains = sorted(row["labels"], reverse=True)
        tied.append([gains.index(g) + 1 for g in gains])
    assert "rise along the list" in rank_numbers(tied)
    assert rank_numbers([row["labels"] for row in cranfield_lists()]) is None  # gains 0-4: relevance, as wanted
    assert rank_numbers([labels for labels in wikiqa_lists().values()]) is None  # 0/1 judgments


def test_inspect_warns_of_rank_labels(table):
    from lossadvisor.advice import inspect_dataset

    report = inspect_dataset(str(SHAPES / "cranfield_rank_labels.jsonl"), table)
    (found,) = [w for w in report.warnings if w.code == "rank-labels"]
    assert found.severity == "warning" and "max(row['label']) - r" in found.fix
    plain = inspect_dataset(str(REAL / "cranfield" / "cranfield_labeled_list_hf"), table)
    assert "rank-labels" not in {w.code for w in plain.warnings}


def test_trial_notes_rank_labels(table):
    """The note the trial adds, on the table it trains (no training needed to check the data)."""
    import pyarrow as pa

    from lossadvisor.trial.data_checks import data_notes

    ranks = pa.Table.from_pylist(lines("cranfield_rank_labels.jsonl"))
    (note,) = data_notes(ranks, "labeled-list", "LambdaLoss")
    assert note.startswith("the labels look inverted") and "LambdaLoss" in note and "max(row['label']) - r" in note
    gains = pa.Table.from_pylist([{"query": r["query"], "docs": r["docs"], "label": r["labels"]} for r in cranfield_lists()])
    assert data_notes(gains, "labeled-list", "LambdaLoss") == []


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_trial_warns_of_rank_labels():
    result = run("trial", SHAPES / "cranfield_rank_labels.jsonl", "--loss", "ListNetLoss", *TRIAL)
    assert result.exit_code == 0, (result.stdout[-2000:], result.stderr[-2000:])
    (trial,) = json.loads(result.stdout)["results"]
    assert any(note.startswith("the labels look inverted") for note in trial["notes"])
