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
from test_shapes import SHAPES, TRIAL, convert_json, lines, run

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


# --- ids that point into a separate corpus (sentence-transformers' resolve_ids pattern) --------------------------------

LIGHTON, FLAG_IDS, TRIPLES = SHAPES / "ids_lightonai", SHAPES / "ids_flag", SHAPES / "ids_msmarco_triples"


def tsv_lookup(path) -> dict[str, str]:
    return dict(line.split("\t", 1) for line in path.read_text(encoding="utf-8").splitlines())


@pytest.mark.parametrize("path, columns, lookups", [
    (LIGHTON / "train.jsonl", ["query_id", "document_ids"], ["queries.parquet", "documents.parquet"]),
    (FLAG_IDS / "train.jsonl", ["query_id", "pos_ids", "neg_ids"], ["queries.jsonl", "corpus.jsonl"]),
    (TRIPLES / "qidpidtriples.tsv", ["column_1", "column_2", "column_3"], ["queries.tsv", "collection.tsv"]),
])
def test_ids_alone_are_explained(table, path, columns, lookups):
    from lossadvisor.advice import inspect_dataset
    from lossadvisor.errors import SourceError

    with pytest.raises(SourceError) as caught:
        inspect_dataset(str(path), table)
    assert "ids, not text" in caught.value.message and all(c in caught.value.message for c in columns)
    spec = ",".join(str(p) for p in (path, *(path.parent / name for name in lookups)))
    assert f"lossadvisor inspect {spec} " in caught.value.hint  # the command, with the files found beside it
    assert "resolve_ids({" in caught.value.hint and all(repr(c) in caught.value.hint for c in columns)
    result = run("inspect", path)
    assert result.exit_code == 2 and result.stderr.startswith(f"Error: {path}: ids, not text")


def test_resolve_ids_hint_matches_upstream():
    """The hint's resolve_ids call, run with sentence-transformers, reads the texts lossadvisor reads."""
    from datasets import load_dataset
    from sentence_transformers.util import resolve_ids

    from lossadvisor.sources import open_sample

    train = load_dataset("json", data_files=str(LIGHTON / "train.jsonl"), split="train")
    queries = load_dataset("parquet", data_files=str(LIGHTON / "queries.parquet"), split="train")
    corpus = load_dataset("parquet", data_files=str(LIGHTON / "documents.parquet"), split="train")
    known = set(corpus["document_id"])
    train = train.filter(lambda r: all(i in known for i in r["document_ids"]))  # upstream raises on an unknown id
    ours = open_sample(str(LIGHTON)).table
    theirs = train.map(resolve_ids({"query_id": queries, "document_ids": corpus}, output_format="lists"), batched=True,
                       remove_columns=["query_id", "document_ids"])
    assert sorted(theirs.column_names) == sorted(ours.column_names) == ["documents", "query", "scores"]
    assert theirs.to_dict() == {name: ours.column(name).to_pylist() for name in theirs.column_names}


def test_ids_resolved_from_tsv_lookups(table):
    """MS MARCO as published: headerless qidpidtriples, queries.tsv and collection.tsv (qids and pids overlap)."""
    from lossadvisor.advice import inspect_dataset
    from lossadvisor.sources import open_sample

    queries, collection = tsv_lookup(TRIPLES / "queries.tsv"), tsv_lookup(TRIPLES / "collection.tsv")
    triples = [line.split("\t") for line in (TRIPLES / "qidpidtriples.tsv").read_text().splitlines()]
    assert set(queries) & set(collection)  # the same numbers are queries and passages: names and places decide
    resolved = open_sample(str(TRIPLES)).table
    assert resolved.column_names == ["query", "positive", "negative"]
    assert resolved.to_pylist() == [{"query": queries[q], "positive": collection[p], "negative": collection[n]}
                                    for q, p, n in triples]
    report = inspect_dataset(str(TRIPLES), table)
    assert report.source_kind == "ids" and report.format == "triplet"
    assert report.recommendations[0].loss == "MultipleNegativesRankingLoss"


def test_ids_resolved_with_a_row_dropped(table, tmp_path):
    from lossadvisor.advice import inspect_dataset

    rows = lines("ids_lightonai/train.jsonl")
    documents = {r["document_id"]: r["text"] for r in pq.read_table(LIGHTON / "documents.parquet").to_pylist()}
    unknown = [r for r in rows if not all(i in documents for i in r["document_ids"])]
    assert len(unknown) == 1
    report = inspect_dataset(str(LIGHTON), table)
    assert report.format == "labeled-list" and report.num_rows == len(rows) - 1
    (note,) = [w for w in report.warnings if w.code == "resolved-ids"]
    assert f"1 of {len(rows)} rows dropped" in note.message and "document_ids → documents" in note.message
    assert "graded-negative" not in {w.code for w in report.warnings}  # a teacher's float scores are not graded codes
    out = tmp_path / "lists.parquet"
    converted = convert_json(LIGHTON, "labeled-list", out)
    assert converted["rows_out"] == len(rows) - 1 and any("1 of 60 rows dropped" in n for n in converted["notes"])
    assert converted["verdict"]["format"] == "labeled-list" and not converted["verdict"]["warnings"]
    written = pq.read_table(out).to_pylist()
    known = [r for r in rows if r not in unknown]
    assert [w["documents"] for w in written] == [[documents[i] for i in r["document_ids"]] for r in known]
    assert [w["label"] for w in written] == [r["scores"] for r in known]


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 0, 1), (1, 2, 0)])
def test_ids_files_named_together(table, order):
    """The three files comma-separated, in any order; a BEIR corpus/queries pair with an ids file is not a qrels join."""
    from lossadvisor.advice import inspect_dataset

    files = [FLAG_IDS / "train.jsonl", FLAG_IDS / "queries.jsonl", FLAG_IDS / "corpus.jsonl"]
    report = inspect_dataset(",".join(str(files[i]) for i in order), table)
    assert report.source_kind == "ids" and report.format == "pos-neg-lists"
    corpus = {d["_id"]: d for d in map(json.loads, (FLAG_IDS / "corpus.jsonl").read_text().splitlines())}
    first = lines("ids_flag/train.jsonl")[0]
    from lossadvisor.sources import open_sample

    row = open_sample(str(FLAG_IDS)).table.slice(0, 1).to_pylist()[0]
    doc = corpus[first["pos_ids"][0]]
    assert row["pos"][0].endswith(doc["text"]) and doc["title"] in row["pos"][0]  # BEIR-style: title before text


def test_ids_read_whole_beyond_the_sample():
    from lossadvisor.sources import open_sample, read_table

    sample = open_sample(str(TRIPLES), limit=25)
    assert sample.table.num_rows == 25 and not sample.exhaustive
    whole = read_table(sample)
    assert whole.num_rows == len((TRIPLES / "qidpidtriples.tsv").read_text().splitlines())
    assert whole.slice(0, 25).equals(sample.table)


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("source, target, loss", [
    (LIGHTON, "labeled-list", "ListNetLoss"),
    (FLAG_IDS, "n-tuple", "MultipleNegativesRankingLoss"),
])
def test_trial_on_resolved_ids(tmp_path, source, target, loss):
    out = tmp_path / "out.parquet"
    convert_json(source, target, out)
    result = run("trial", out, "--loss", loss, *TRIAL)
    assert result.exit_code == 0, (result.stdout[-2000:], result.stderr[-2000:])
    assert [(r["loss_name"], r["status"]) for r in json.loads(result.stdout)["results"]] == [(loss, "ok")]


@pytest.mark.parametrize("folder", [LIGHTON, FLAG_IDS, TRIPLES], ids=lambda p: p.name)
def test_ids_load_code_reads_the_same_rows(table, folder):
    from datasets import Dataset, load_dataset

    from lossadvisor.advice import inspect_dataset
    from lossadvisor.sources import open_sample

    code = inspect_dataset(str(folder), table).load_code
    dataset = eval(code, {"Dataset": Dataset, "load_dataset": load_dataset})  # noqa: S307 - the code the tool prints
    assert dataset.to_list() == open_sample(str(folder)).table.to_pylist()


# --- parallel files named as columns: --inputs a.txt,b.txt --label sim.txt -------------------------------------------


@pytest.fixture
def sick_layout(tmp_path):
    """The Tree-LSTM SICK/STS folder as published: a.txt, b.txt, sim.txt, id.txt (all .txt) and a README."""
    folder = tmp_path / "sts"
    folder.mkdir()
    source = SHAPES / "sts_parallel"
    for name, target in (("a.toks", "a.txt"), ("b.toks", "b.txt"), ("sim.txt", "sim.txt")):
        (folder / target).write_bytes((source / name).read_bytes())
    lines_in = len((source / "sim.txt").read_text().splitlines())
    (folder / "id.txt").write_text("".join(f"{i}\n" for i in range(1, lines_in + 1)))
    (folder / "README.md").write_text("SICK, Tree-LSTM layout\n")
    return folder


def stsb_rows() -> list[dict]:
    with open(REAL / "stsb" / "stsb_train_sample.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))[:300]


def test_aligned_txt_folder_is_explained(sick_layout):
    result = run("inspect", sick_layout)
    assert result.exit_code == 2
    assert "line-aligned columns" in result.stderr and "a.txt, b.txt, id.txt, sim.txt hold 300 lines each" in result.stderr
    assert f"lossadvisor inspect {sick_layout} --inputs a.txt,b.txt --label sim.txt" in result.stderr


def test_inputs_and_label_name_files(sick_layout, table):
    from lossadvisor.advice import inspect_dataset
    from lossadvisor.profile import ColumnChoice

    report = inspect_dataset(str(sick_layout), table, choice=ColumnChoice(inputs=("a.txt", "b.txt"), label="sim.txt"))
    assert report.source_kind == "parallel" and report.format == "pair-score"
    assert [(c.name, c.role) for c in report.columns] == [("a", "input"), ("b", "input"), ("sim", "label")]
    assert report.recommendations[0].loss == "BinaryCrossEntropyLoss"


@pytest.mark.parametrize("how", ["flags", "comma"])
def test_named_parallel_files_convert(sick_layout, tmp_path, how):
    out = tmp_path / "pairs.parquet"
    if how == "flags":
        report = convert_json(sick_layout, "pair-score", out, "--inputs", "a.txt,b.txt", "--label", "sim.txt")
    else:
        report = convert_json(",".join(str(sick_layout / n) for n in ("a.txt", "b.txt", "sim.txt")), "pair-score", out)
    rows = stsb_rows()
    assert report["rows_in"] == len(rows) and report["verdict"]["format"] == "pair-score"
    written = pq.read_table(out).to_pylist()
    assert report["rows_out"] == len(written)
    first = written[0]
    assert (first["a"], first["b"]) == (rows[0]["sentence1"], rows[0]["sentence2"])
    assert first["label"] == pytest.approx(float(rows[0]["score"]) / 5)


def test_files_as_columns_leaves_column_names_alone(table):
    from lossadvisor.profile import ColumnChoice
    from lossadvisor.sources.parallel import files_as_columns

    choice = ColumnChoice(inputs=("a", "b"), label="sim")
    assert files_as_columns(str(SHAPES / "sts_parallel"), choice) == (str(SHAPES / "sts_parallel"), choice)
    spec, renamed = files_as_columns(str(SHAPES / "sts_parallel"), ColumnChoice(inputs=("b.toks", "a.toks"), label="sim.txt"))
    assert spec.split(",") == [str(SHAPES / "sts_parallel" / n) for n in ("b.toks", "a.toks", "sim.txt")]
    assert renamed == ColumnChoice(inputs=("b", "a"), label="sim")


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_trial_on_named_parallel_files(sick_layout):
    result = run("trial", sick_layout, "--inputs", "a.txt,b.txt", "--label", "sim.txt", "--loss", "BinaryCrossEntropyLoss", *TRIAL)
    assert result.exit_code == 0, (result.stdout[-2000:], result.stderr[-2000:])
    assert json.loads(result.stdout)["results"][0]["status"] == "ok"


def test_no_grouping_offered_where_no_list_would_rank_anything(table):
    """MRPC's sentence1 never repeats: grouped lists would hold one pair each and all be dropped, so none is offered."""
    from lossadvisor.advice import inspect_dataset

    mrpc = inspect_dataset(str(REAL / "mrpc" / "mrpc_train_hf"), table)
    assert mrpc.format == "labeled-pair" and "labeled-list" not in {c.to for c in mrpc.conversions}
    wikiqa = inspect_dataset(str(WIKIQA), table)
    assert "labeled-list" in {c.to for c in wikiqa.conversions}
