"""Inference on small hand-made datasets: every format of data_formats.yaml, the traps, and every input kind."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lossadvisor.advice import Report, inspect_dataset
from lossadvisor.errors import LossAdvisorError, SourceError
from lossadvisor.profile import build_profile
from lossadvisor.sources import open_sample, read_table
from lossadvisor.table import load_table

N = 40
WORDS = ("the a man woman dog cat runs eats plays ball park city river house quickly slowly red blue green big small "
         "reads writes book music train station window garden").split()


@pytest.fixture(scope="module")
def table():
    return load_table()


def sentence(i: int, words: int = 7) -> str:
    rng = random.Random(i * 7919 + words)
    return " ".join(rng.choice(WORDS) for _ in range(words)) + f" number {i}"


def question(i: int) -> str:
    return f"what does the {sentence(i + 5000, 3)} do?"


def passage(i: int) -> str:
    return " ".join(sentence(i * 10 + k, 9) + "." for k in range(4))


def scores(seed: int, n: int = N, lo: float = 0.0, hi: float = 1.0) -> list[float]:
    rng = random.Random(seed)
    return [round(rng.uniform(lo, hi), 4) for _ in range(n)]


def inspect_columns(tmp_path: Path, table, columns: dict, name: str = "data.parquet") -> Report:
    path = tmp_path / name
    pq.write_table(pa.table(columns), path)
    return inspect_dataset(str(path), table)


def codes(report: Report) -> set[str]:
    return {w.code for w in report.warnings}


def roles(report: Report) -> dict[str, str]:
    return {c.name: c.role for c in report.columns}


def losses(report: Report) -> list[str]:
    return [r.loss for r in report.recommendations]


def texts(offset: int = 0) -> list[str]:
    return [sentence(i + offset) for i in range(N)]


def queries() -> list[str]:
    return [question(i) for i in range(N)]


# --- every format of the table ---------------------------------------------------------------------------

FORMAT_CASES = {
    "pair-class (int classes)": (
        {"premise": texts(), "hypothesis": texts(100), "label": [i % 3 for i in range(N)]},
        "pair-class", ["CrossEntropyLoss"], 3,
    ),
    "pair-class (string classes)": (
        {"premise": texts(), "hypothesis": texts(100), "label": [("entailment", "neutral", "contradiction")[i % 3] for i in range(N)]},
        "pair-class", ["CrossEntropyLoss"], 3,
    ),
    "pair": (
        {"query": queries(), "answer": texts()},
        "pair", ["MultipleNegativesRankingLoss", "CachedMultipleNegativesRankingLoss"], 1,
    ),
    "labeled-pair": (
        {"query": queries(), "passage": texts(), "label": [i % 2 for i in range(N)]},
        "labeled-pair", ["BinaryCrossEntropyLoss"], 1,
    ),
    "pair-score": (
        {"sentence1": texts(), "sentence2": texts(1), "score": scores(1)},
        "pair-score", ["BinaryCrossEntropyLoss", "MSELoss"], 1,
    ),
    "triplet": (
        {"anchor": queries(), "positive": texts(), "negative": texts(50)},
        "triplet", ["MultipleNegativesRankingLoss", "CachedMultipleNegativesRankingLoss"], 1,
    ),
    "n-tuple (5 columns)": (
        {"anchor": queries(), "positive": texts(), "negative_1": texts(50), "negative_2": texts(60), "negative_3": texts(70)},
        "n-tuple", ["MultipleNegativesRankingLoss", "CachedMultipleNegativesRankingLoss"], 1,
    ),
    "labeled-list": (
        {"query": queries(), "docs": [[sentence(i * 4 + j) for j in range(4)] for i in range(N)], "labels": [[3, 2, 1, 0]] * N},
        "labeled-list", ["LambdaLoss", "PListMLELoss", "ListNetLoss", "RankNetLoss", "ListMLELoss", "ADRMSELoss"], 1,
    ),
    "triplet-margin (negative margins)": (
        {"query": queries(), "positive": texts(), "negative": texts(50), "label": scores(2, lo=-0.7, hi=0.9)},
        "triplet-margin", ["MarginMSELoss"], 1,
    ),
    "n-tuple-margin": (
        {"query": queries(), "positive": texts(), "negative_1": texts(50), "negative_2": texts(60),
         "label": [list(pair) for pair in zip(scores(3), scores(4))]},
        "n-tuple-margin", ["MarginMSELoss"], 1,
    ),
    "triplet-scores": (
        {"query": queries(), "positive": texts(), "negative": texts(50), "label": [list(pair) for pair in zip(scores(5), scores(6))]},
        "triplet-scores", ["MarginMSELoss"], 1,
    ),
    "n-tuple-scores": (
        {"query": queries(), "positive": texts(), "negative_1": texts(50), "negative_2": texts(60),
         "label": [list(t) for t in zip(scores(7), scores(8), scores(9))]},
        "n-tuple-scores", ["MarginMSELoss"], 1,
    ),
    # the SentenceTransformer table's formats: no CrossEncoder loss trains on them
    "single-class": ({"text": texts(), "label": [i % 4 for i in range(N)]}, "single-class", [], None),
    "single": ({"text": texts()}, "single", [], None),
    # shapes as published, which no loss takes as they are (convert expands them)
    "list-negatives": (
        {"query": queries(), "positive": texts(), "negatives": [[sentence(200 + i * 3 + j) for j in range(1 + i % 3)] for i in range(N)]},
        "list-negatives", [], None,
    ),
    "pos-neg-lists (FlagEmbedding)": (
        {"query": queries(), "pos": [[sentence(300 + i)] for i in range(N)], "neg": [[sentence(400 + i * 2 + j) for j in range(2)] for i in range(N)]},
        "pos-neg-lists", [], None,
    ),
}


@pytest.mark.parametrize("case", list(FORMAT_CASES))
def test_format_inference(tmp_path, table, case):
    columns, fmt, expected_losses, num_labels = FORMAT_CASES[case]
    report = inspect_columns(tmp_path, table, columns)
    assert report.format == fmt, [(r.format, r.label_kind) for r in report.readings]
    assert losses(report) == expected_losses
    assert report.num_labels == num_labels
    label_columns = [name for name in columns if name in ("label", "labels", "score", "scores")]
    assert [c.name for c in report.columns if c.role == "label"] == label_columns
    assert [c.name for c in report.columns if c.role == "input"] == [n for n in columns if n not in label_columns]
    assert "extra-columns" not in codes(report) and "input-order" not in codes(report)


def test_every_format_of_the_table_is_covered(table):
    covered = {case[1] for case in FORMAT_CASES.values()} | {"pos-neg-lists-scores"}  # tests/test_shapes.py
    covered |= {"input-embeddings"}  # tests/test_families.py
    explicit = {f.name for f in table.formats if f.explicit}  # never inferred from the shape: see test_explicit_formats
    assert covered | explicit == {f.name for f in table.formats} and not covered & explicit


def test_explicit_formats_are_read_only_when_asked(tmp_path, table):
    columns = {"anchor": texts(), "anchor_copy": texts()}
    report = inspect_columns(tmp_path, table, columns)
    assert report.format == "pair" and "anchor-anchor" not in {r.format for r in report.readings}
    path = tmp_path / "asked.parquet"
    pq.write_table(pa.table(columns), path)
    asked = inspect_dataset(str(path), table.for_family("sentence-transformer"), reading="anchor-anchor")
    assert asked.format == "anchor-anchor"
    assert [r.loss for r in asked.recommendations] == ["ContrastiveTensionLossInBatchNegatives"]


def test_string_classes(tmp_path, table):
    columns, *_ = FORMAT_CASES["pair-class (string classes)"]
    report = inspect_columns(tmp_path, table, columns)
    assert report.classes == ("entailment", "neutral", "contradiction")
    assert "string-labels" in codes(report)
    assert report.tidy.classes == report.classes


def test_int_classes_without_names(tmp_path, table):
    columns, *_ = FORMAT_CASES["pair-class (int classes)"]
    report = inspect_columns(tmp_path, table, columns)
    assert "class-ids" in codes(report)
    assert "\nmodel = CrossEncoder(MODEL, num_labels=3)\n" in report.recommendations[0].construction  # after its imports


def test_binary_label_has_three_readings(tmp_path, table):
    columns, *_ = FORMAT_CASES["labeled-pair"]
    report = inspect_columns(tmp_path, table, columns)
    assert [r.format for r in report.readings] == ["labeled-pair", "pair-class", "pair-score"]
    assert "assumption" in codes(report)


def test_identity_activation_for_ranking_losses(tmp_path, table):
    columns, *_ = FORMAT_CASES["labeled-list"]
    report = inspect_columns(tmp_path, table, columns)
    assert report.activation == "Identity"
    assert "activation_fn=torch.nn.Identity()" in report.recommendations[0].construction
    assert "sigmoid-activation" in codes(report)


def test_margin_label(tmp_path, table):
    columns, *_ = FORMAT_CASES["triplet-margin (negative margins)"]
    report = inspect_columns(tmp_path, table, columns)
    assert "margin-label" in codes(report)
    assert report.readings[0].label_kind == "margin"


# --- traps -----------------------------------------------------------------------------------------------


def test_reversed_question_passage_by_name(tmp_path, table):
    report = inspect_columns(tmp_path, table, {"passage": [passage(i) for i in range(N)], "question": queries()})
    assert report.format == "pair"
    assert report.tidy.inputs == ("question", "passage")
    assert "input-order" in codes(report)


def test_reversed_question_passage_by_content(tmp_path, table):
    report = inspect_columns(tmp_path, table, {"text_a": [passage(i) for i in range(N)], "text_b": queries()})
    assert report.tidy.inputs == ("text_b", "text_a")
    assert "input-order" in codes(report)


def test_id_columns_are_ignored(tmp_path, table):
    report = inspect_columns(tmp_path, table, {
        "id": list(range(1000, 1000 + N)), "doc_id": [f"D{i:05d}" for i in range(N)],
        "query": queries(), "passage": texts(), "label": [i % 2 for i in range(N)],
    })
    assert report.format == "labeled-pair"
    assert roles(report) == {"id": "ignored", "doc_id": "ignored", "query": "input", "passage": "input", "label": "label"}
    extra = next(w for w in report.warnings if w.code == "extra-columns")
    assert "id, doc_id" in extra.message
    assert extra.fix == "dataset = dataset.select_columns(['query', 'passage', 'label'])"


def test_two_label_named_columns(tmp_path, table):
    report = inspect_columns(tmp_path, table, {"query": queries(), "passage": texts(), "label": [i % 2 for i in range(N)], "score": scores(1)})
    assert {"two-labels", "competing-labels"} <= codes(report)
    assert [c.name for c in report.columns if c.role == "label"] == ["label"]


def test_scores_outside_zero_one(tmp_path, table):
    report = inspect_columns(tmp_path, table, {"sentence1": texts(), "sentence2": texts(1), "score": scores(1, lo=0, hi=5)})
    assert report.format == "pair-score"
    assert report.readings[0].label_kind == "scaled-score"
    assert "score-range" in codes(report)
    lo, hi = report.tidy.score_range
    assert 0 <= lo < hi <= 5


def test_label_under_another_name(tmp_path, table):
    report = inspect_columns(tmp_path, table, {"question": queries(), "answer": texts(), "relevance": [i % 2 for i in range(N)]})
    assert report.format == "labeled-pair"
    assert "label-name" in codes(report)


def test_null_and_empty_texts(tmp_path, table):
    query = queries()
    query[3], query[5] = None, "  "
    report = inspect_columns(tmp_path, table, {"query": query, "passage": texts(), "label": [i % 2 for i in range(N)]})
    warning = next(w for w in report.warnings if w.code == "null-texts")
    assert warning.message.startswith("2 row(s)")
    assert report.format == "labeled-pair"


def test_dash_labels(tmp_path, table):
    labels = ["-" if i % 10 == 0 else ("entailment", "neutral", "contradiction")[i % 3] for i in range(N)]
    report = inspect_columns(tmp_path, table, {"premise": texts(), "hypothesis": texts(100), "label": labels})
    assert report.format == "pair-class"
    assert report.num_labels == 3
    assert "-" not in report.classes
    assert "no-consensus-labels" in codes(report)
    assert report.tidy.drop_label_values == ("-",)


@pytest.mark.parametrize("reserved", ["dataset_name", "return_loss"])
def test_reserved_column_names(tmp_path, table, reserved):
    values = ["squad"] * N if reserved == "dataset_name" else [True] * N
    report = inspect_columns(tmp_path, table, {"query": queries(), "passage": texts(), "label": [i % 2 for i in range(N)], reserved: values})
    assert "reserved-column" in codes(report)
    assert roles(report)[reserved] == "ignored"
    assert "competing-labels" not in codes(report)
    assert report.format == "labeled-pair"


def test_label_lists_all_equal(tmp_path, table):
    report = inspect_columns(tmp_path, table, {
        "query": queries(), "docs": [[sentence(i * 3 + j) for j in range(3)] for i in range(N)],
        "labels": [[1, 1, 1] if i % 2 else [1, 0, 0] for i in range(N)],
    })
    assert report.format == "labeled-list"
    assert next(w for w in report.warnings if w.code == "constant-lists").message.startswith(f"{N // 2} list(s)")


def test_single_class(tmp_path, table):
    report = inspect_columns(tmp_path, table, {"query": queries(), "passage": texts(), "label": [1] * N})
    assert "single-class" in codes(report)


def test_mismatched_list_lengths(tmp_path, table):
    report = inspect_columns(tmp_path, table, {
        "query": queries(), "docs": [[sentence(i * 3 + j) for j in range(3)] for i in range(N)],
        "labels": [[1, 0] if i % 2 else [1, 0, 0] for i in range(N)],
    })
    assert "list-length-mismatch" in codes(report)


def test_unsorted_and_graded_lists(tmp_path, table):
    report = inspect_columns(tmp_path, table, {
        "query": queries(), "docs": [[sentence(i * 3 + j) for j in range(3)] for i in range(N)],
        "labels": [[0, 2, 1]] * N,
    })
    assert {"unsorted-lists", "graded-lists"} <= codes(report)
    plist = next(r for r in report.recommendations if r.loss == "PListMLELoss")
    assert {"name": "respect_input_order", "value": "False", "why": "your lists are not sorted by relevance"} in plist.params


def test_ragged_lists(tmp_path, table):
    report = inspect_columns(tmp_path, table, {
        "query": queries(), "docs": [[sentence(i * 5 + j) for j in range(1 + i % 5)] for i in range(N)],
        "labels": [[1] + [0] * (i % 5) for i in range(N)],
    })
    assert "ragged-lists" in codes(report)


def test_imbalanced_binary_sets_pos_weight(tmp_path, table):
    report = inspect_columns(tmp_path, table, {"query": queries(), "passage": texts(), "label": [1 if i % 8 == 0 else 0 for i in range(N)]})
    assert "imbalanced" in codes(report)
    bce = report.recommendations[0]
    assert {"name": "pos_weight", "value": "torch.tensor(7.00)"}.items() <= bce.params[0].items()


def test_duplicates(tmp_path, table):
    query, answer = queries(), texts()
    query[1], answer[1] = query[0], answer[0]
    report = inspect_columns(tmp_path, table, {"query": query, "answer": answer, "label": [i % 2 for i in range(N)]})
    assert "duplicates" in codes(report)


def test_long_format_reads_as_labeled_list(tmp_path, table):
    report = inspect_columns(tmp_path, table, {
        "query": [question(i // 5) for i in range(N)], "doc": texts(), "relevance": [(i % 5) % 3 for i in range(N)],
    })
    assert "labeled-list" in [r.format for r in report.readings]
    assert report.format == "labeled-list"
    assert "long-format" in codes(report)


def test_repeated_positives(tmp_path, table):
    report = inspect_columns(tmp_path, table, {"query": queries(), "answer": [sentence(i // 4) for i in range(N)]})
    assert "repeated-positives" in codes(report)


def test_split_column(tmp_path, table):
    report = inspect_columns(tmp_path, table, {
        "premise": texts(), "hypothesis": texts(100), "label": [i % 3 for i in range(N)],
        "split": ["train" if i % 4 else "test" for i in range(N)],
    })
    assert "split-column" in codes(report)


def test_teacher_scores_over_two_columns(tmp_path, table):
    report = inspect_columns(tmp_path, table, {
        "query": queries(), "positive": texts(), "negative": texts(50), "pos_score": scores(1), "neg_score": scores(2),
    })
    assert report.format == "triplet-scores"
    assert "split-label" in codes(report)


def test_no_format_fits(tmp_path, table):
    report = inspect_columns(tmp_path, table, {
        "a": texts(), "b": texts(1), "c": texts(2), "d": texts(3), "label": scores(1),
    })
    assert report.format is None
    assert report.recommendations == ()
    assert "no-format" in codes(report)


def test_profile_records_stats(tmp_path):
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"query": queries(), "passage": texts(), "label": [i % 2 for i in range(N)]}), path)
    profile = build_profile(open_sample(str(path)))
    assert profile.inputs == ("query", "passage")
    assert profile.label == "label" and profile.label_kind == "binary"
    assert profile.column("label").stats["counts"] == {"0": N // 2, "1": N // 2}
    assert profile.column("query").stats["distinct"] == N


def test_parquet_footer_stats_cover_rows_beyond_the_sample(tmp_path):
    n = 5000
    data = pa.table({
        "sentence1": [sentence(i) for i in range(n)], "sentence2": [sentence(i + 1) for i in range(n)],
        "score": [0.5] * (n - 1) + [4.0],  # the only value out of [0, 1] is past the 2,000-row sample
    })
    pq.write_table(data, tmp_path / "big.parquet", row_group_size=1000)
    report = inspect_dataset(str(tmp_path / "big.parquet"), load_table())
    assert report.sample_rows == 2000 and report.num_rows == n
    assert "score-range" in codes(report)


# --- every input kind ------------------------------------------------------------------------------------

PAIRS = {"question": queries(), "answer": texts(), "label": [i % 2 for i in range(N)]}


def check_labeled_pair(report: Report, rows: int = N) -> None:
    assert report.format == "labeled-pair"
    assert report.num_rows == rows
    assert roles(report) == {"question": "input", "answer": "input", "label": "label"}


def write_delimited(path: Path, delimiter: str) -> None:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(PAIRS)
        writer.writerows(zip(*PAIRS.values()))


def records() -> list[dict]:
    return [dict(zip(PAIRS, values)) for values in zip(*PAIRS.values())]


def test_csv(tmp_path, table):
    write_delimited(tmp_path / "d.csv", ",")
    report = inspect_dataset(str(tmp_path / "d.csv"), table)
    check_labeled_pair(report)
    assert report.source_kind == "csv"
    assert report.load_code == f"load_dataset(\"csv\", data_files={str(tmp_path / 'd.csv')!r}, split=\"train\")"


def test_tsv(tmp_path, table):
    write_delimited(tmp_path / "d.tsv", "\t")
    report = inspect_dataset(str(tmp_path / "d.tsv"), table)
    check_labeled_pair(report)
    assert "sep='\\t'" in report.load_code
    assert "misleading-extension" not in codes(report)


def test_tab_separated_csv(tmp_path, table):
    write_delimited(tmp_path / "d.csv", "\t")
    report = inspect_dataset(str(tmp_path / "d.csv"), table)
    check_labeled_pair(report)
    assert "misleading-extension" in codes(report)


def test_headerless_csv(tmp_path, table):
    path = tmp_path / "d.csv"
    path.write_text("".join(f"{question(i)},{sentence(i)},{i % 2}\n" for i in range(N)), encoding="utf-8")
    report = inspect_dataset(str(path), table)
    assert report.format == "labeled-pair"
    assert "no-header" in codes(report)
    assert [c.name for c in report.columns] == ["column_1", "column_2", "column_3"]


def test_json_array(tmp_path, table):
    path = tmp_path / "d.json"
    path.write_text(json.dumps(records()), encoding="utf-8")
    report = inspect_dataset(str(path), table)
    check_labeled_pair(report)
    assert report.source_kind == "json"


def test_json_field(tmp_path, table):
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"version": "1", "data": records()}), encoding="utf-8")
    report = inspect_dataset(str(path), table)
    check_labeled_pair(report)
    assert "json-field" in codes(report)
    assert "field='data'" in report.load_code


def test_jsonl(tmp_path, table):
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records()), encoding="utf-8")
    check_labeled_pair(inspect_dataset(str(path), table))


def test_jsonl_keys_missing_from_the_first_record(tmp_path, table):
    rows = records()
    rows[0].pop("label")
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = inspect_dataset(str(path), table)
    assert "label" in roles(report)


def test_parquet(tmp_path, table):
    pq.write_table(pa.table(PAIRS), tmp_path / "d.parquet")
    report = inspect_dataset(str(tmp_path / "d.parquet"), table)
    check_labeled_pair(report)
    assert report.source_kind == "parquet"


@pytest.mark.parametrize("writer", ["file", "stream"])
def test_arrow(tmp_path, table, writer):
    data = pa.table(PAIRS)
    path = tmp_path / "d.arrow"
    open_writer = pa.ipc.new_file if writer == "file" else pa.ipc.new_stream
    with pa.OSFile(str(path), "wb") as sink, open_writer(sink, data.schema) as out:
        for batch in data.to_batches(max_chunksize=15):
            out.write_batch(batch)
    report = inspect_dataset(str(path), table)
    check_labeled_pair(report)
    assert report.source_kind == "arrow"


def test_glob(tmp_path, table):
    data = pa.table(PAIRS)
    for index in range(3):
        pq.write_table(data.slice(index * 10, 10), tmp_path / f"part-{index}.parquet")
    (tmp_path / "notes.txt").write_text("not data\n")
    report = inspect_dataset(str(tmp_path / "part-*.parquet"), table)
    assert report.num_rows == 30
    assert report.format == "labeled-pair"
    assert "data_files=[" in report.load_code


def test_folder_of_files(tmp_path, table):
    folder = tmp_path / "shards"
    folder.mkdir()
    for index in range(2):
        with open(folder / f"{index}.jsonl", "w", encoding="utf-8") as handle:
            for record in records()[index * 20 : (index + 1) * 20]:
                handle.write(json.dumps(record) + "\n")
    (folder / ".hidden.jsonl").write_text("{broken\n")
    report = inspect_dataset(str(folder), table)
    assert report.format == "labeled-pair"
    assert report.source_kind == "json"


def test_folder_mixing_types_is_an_error(tmp_path, table):
    pq.write_table(pa.table(PAIRS), tmp_path / "a.parquet")
    write_delimited(tmp_path / "b.csv", ",")
    with pytest.raises(SourceError, match="mixes file types"):
        inspect_dataset(str(tmp_path), table)


def test_glob_matching_nothing(tmp_path, table):
    with pytest.raises(SourceError, match="no files match"):
        inspect_dataset(str(tmp_path / "*.parquet"), table)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A save_to_disk Dataset and DatasetDict (the only tests here that import datasets)."""
    import datasets  # a dependency of lossadvisor: missing is a broken install, not a skip

    root = tmp_path_factory.mktemp("saved")
    features = datasets.Features({
        "premise": datasets.Value("string"), "hypothesis": datasets.Value("string"),
        "label": datasets.ClassLabel(names=["entailment", "neutral", "contradiction"]),
    })
    data = {"premise": texts(), "hypothesis": texts(100), "label": [i % 3 for i in range(N)]}
    single = datasets.Dataset.from_dict(data, features=features)
    single.save_to_disk(str(root / "single"))
    datasets.DatasetDict({"train": single, "test": single.select(range(10))}).save_to_disk(str(root / "dict"))
    return root


def test_save_to_disk_dataset(saved, table):
    report = inspect_dataset(str(saved / "single"), table)
    assert report.source_kind == "save_to_disk"
    assert report.format == "pair-class"
    assert report.classes == ("entailment", "neutral", "contradiction")
    assert report.num_rows == N
    assert report.load_code == f"load_from_disk({str(saved / 'single')!r})"


def test_save_to_disk_dataset_dict(saved, table):
    report = inspect_dataset(str(saved / "dict"), table)
    assert report.split == "train" and report.splits == ("train", "test")
    assert report.num_rows == N
    assert "dataset-dict" in codes(report)
    test_split = inspect_dataset(str(saved / "dict"), table, split="test")
    assert test_split.split == "test" and test_split.num_rows == 10
    assert test_split.load_code.endswith("['test']")


def test_save_to_disk_unknown_split(saved, table):
    with pytest.raises(SourceError) as caught:
        inspect_dataset(str(saved / "dict"), table, split="validation")
    assert caught.value.message == f"{saved / 'dict'} has no split 'validation'"
    assert "train, test" in caught.value.hint
    with pytest.raises(SourceError, match="single Dataset"):
        inspect_dataset(str(saved / "single"), table, split="test")


def test_local_file_has_only_a_train_split(tmp_path, table):
    pq.write_table(pa.table(PAIRS), tmp_path / "d.parquet")
    with pytest.raises(SourceError, match="one split, 'train'"):
        inspect_dataset(str(tmp_path / "d.parquet"), table, split="test")


def test_read_table_reads_everything_the_same_way(tmp_path):
    path = tmp_path / "d.tsv"
    lines = ["question\tanswer\tlabel"] + [f"{question(i)}\tsays \"hi\" {sentence(i)}\t{i % 2}" for i in range(3000)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sample = open_sample(str(path))
    assert sample.table.num_rows == 2000 and sample.num_rows == 3000
    whole = read_table(sample)
    assert whole.num_rows == 3000
    assert whole.column_names == ["question", "answer", "label"]


# --- errors ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, content, message", [
    ("empty.csv", b"", "empty file"),
    ("header.csv", b"question,answer,label\n", "the dataset is empty"),
    ("random.parquet", bytes(range(256)) * 8, "not a readable parquet file"),
    ("random.arrow", bytes(range(256)) * 8, "not a readable Arrow file"),
    ("binary.csv", b"\x00\x01\x02" * 100, "binary data"),
    ("latin1.csv", "question,answer\ncaf\xe9 au lait is good,yes it is\n".encode("latin-1"), "not UTF-8"),
    ("bad.jsonl", b'{"a": 1}\n{"a": \n', "line 2 is not valid JSON"),
    ("numbers.jsonl", b"1\n2\n3\n", "not objects"),
    ("data.xlsx", b"PK\x03\x04", "unknown file type '.xlsx'"),
    ("numbers.csv", b"x,y\n1,2\n3,4\n", "no text columns"),
])
def test_unusable_files(tmp_path, table, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LossAdvisorError) as caught:
        inspect_dataset(str(path), table)
    assert message in caught.value.message
    assert "\n" not in caught.value.message


def test_missing_path(tmp_path, table):
    with pytest.raises(SourceError, match="no such file or folder"):
        inspect_dataset(str(tmp_path / "nope.csv"), table)


def test_empty_folder(tmp_path, table):
    with pytest.raises(SourceError, match="folder holds no data files"):
        inspect_dataset(str(tmp_path), table)
