"""`lossadvisor convert` end to end through the CLI (typer's CliRunner) on the real slices in ../shared/data/real.

Each kind of conversion runs on real data, the output is opened again by its suffix (.parquet, .jsonl, .csv,
.tsv or a save_to_disk folder) and checked against the source file: row counts, columns, and that no mined or
sampled negative is a known positive. The core (lossadvisor.convert) has its own tests in test_convert.py;
these check the command: flags, the --json report, error lines and exit codes, and that inputs stay untouched.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq
import pytest
from real_data import REAL, needs_real
from typer.testing import CliRunner

from lossadvisor.cli import app

pytestmark = needs_real

STS_DEV = REAL / "stsb" / "sts-dev.csv"
STSB_TRAIN = REAL / "stsb" / "stsb_train_sample.csv"
SICK = REAL / "sick" / "SICK.txt"
SNLI = REAL / "snli" / "snli_1.0_dev.jsonl"
SNLI_TRIPLETS = REAL / "snli" / "snli_triplets.csv"
SQUAD = REAL / "squad" / "squad_qa_pairs.csv"
WIKIQA = REAL / "wikiqa" / "WikiQA-test.tsv"
WIKIQA_LISTS = REAL / "wikiqa" / "wikiqa_test_labeled_list.jsonl"
CRANFIELD = REAL / "cranfield" / "cranfield_judgments_joined.csv"
CRANFIELD_LISTS = REAL / "cranfield" / "cranfield_labeled_list_hf"
INPUTS = [STS_DEV, STSB_TRAIN, SICK, SNLI, SNLI_TRIPLETS, SQUAD, WIKIQA, WIKIQA_LISTS, CRANFIELD, CRANFIELD_LISTS]
REPORT_KEYS = {
    "dataset", "output", "output_kind", "source_format", "target_format", "steps", "rows_in", "rows_out", "dropped",
    "fixes", "notes", "stats", "class_mapping", "seconds", "unlocks", "verdict",
}


# --------------------------------------------------------------------------------------------- helpers


def run(*args: str | Path):
    return CliRunner().invoke(app, [str(a) for a in args])


def convert(*args: str | Path) -> dict:
    """`lossadvisor convert ARGS --json`: exit 0, one JSON object on stdout, nothing on stderr."""
    result = run("convert", *args, "--json")
    assert result.exit_code == 0, (result.stdout[-2000:], result.stderr[-2000:])
    assert result.stderr == ""
    report = json.loads(result.stdout)
    assert REPORT_KEYS <= set(report), REPORT_KEYS - set(report)
    assert report["steps"][0] == "fix"
    assert report["verdict"] is not None and set(report["verdict"]) == {"format", "losses", "warnings"}
    return report


def error_lines(result) -> list[str]:
    """Exit 2; stderr is one `Error:` line and at most one `Hint:` line; no traceback; nothing on stdout."""
    assert result.exit_code == 2, (result.exit_code, result.stdout[-1000:], result.stderr[-1000:])
    lines = result.stderr.splitlines()
    assert lines and lines[0].startswith("Error: "), lines
    assert len(lines) <= 2 and all(line.startswith(("Error: ", "Hint: ")) for line in lines), lines
    assert "Traceback" not in result.output
    assert result.stdout == ""
    return lines


def read_back(path: Path) -> pa.Table:
    """Open a written output the way its suffix says, without lossadvisor's readers."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pq.read_table(path)
    if suffix == ".jsonl":
        return pajson.read_json(path)
    if suffix in (".csv", ".tsv"):
        delimiter = "\t" if suffix == ".tsv" else ","
        return pacsv.read_csv(path, parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True))
    assert path.is_dir() and (path / "dataset_info.json").is_file(), f"{path} is not a save_to_disk folder"
    from datasets import load_from_disk

    return load_from_disk(str(path)).data.table


def sha256(path: Path) -> str:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module", autouse=True)
def inputs_stay_byte_identical():
    """Every input file of this module has the same bytes after all its conversions (convert never writes there)."""
    before = {path: sha256(path) for path in INPUTS}
    yield
    changed = [str(path) for path in INPUTS if sha256(path) != before[path]]
    assert not changed, f"convert modified its input(s): {changed}"


def squad_positives() -> dict[str, set[str]]:
    table = pacsv.read_csv(SQUAD, parse_options=pacsv.ParseOptions(newlines_in_values=True))
    positives: dict[str, set[str]] = defaultdict(set)
    for question, context in zip(table["question"].to_pylist(), table["context"].to_pylist()):
        positives[question].add(context)
    return positives


def snli_labels() -> dict[tuple[str, str], set[str]]:
    labels: dict[tuple[str, str], set[str]] = defaultdict(set)
    with SNLI.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            labels[(row["sentence1"], row["sentence2"])].add(row["gold_label"])
    return labels


# --------------------------------------------------------------------------------------------- --fix


def test_fix_sts_dev_scales_scores_and_reinspects_clean(tmp_path):
    out = tmp_path / "sts-dev.parquet"
    before = sha256(STS_DEV)
    report = convert(STS_DEV, "--fix", "-o", out)
    assert report["source_format"] == report["target_format"] == "pair-score"
    assert report["steps"] == ["fix"]
    assert report["rows_in"] == 1500  # all 1,500 rows, including the 22 with 9 fields and the 110 with quotes
    assert report["rows_out"] == report["rows_in"] - sum(report["dropped"].values())
    assert report["dropped"] == {"fix: exact duplicate": 2}
    assert "scaled scores from [0.0, 5.0] to [0, 1]" in report["fixes"]
    assert report["verdict"] == {"format": "pair-score", "losses": ["BinaryCrossEntropyLoss", "MSELoss"], "warnings": []}
    assert report["output_kind"] == "parquet" and report["output"] == str(out)

    written = read_back(out)
    assert written.num_rows == report["rows_out"] == 1498
    assert len(written.column_names) == 3 and written.column_names[-1] == "label"
    # The same (sentence1, sentence2, score / 5) rows as the file, read the way the manifest says it must be.
    with STS_DEV.open(encoding="utf-8", newline="") as handle:
        source = {(r[5], r[6], float(r[4]) / 5) for r in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)}
    assert set(map(tuple, (r.values() for r in written.to_pylist()))) == source
    assert min(written["label"].to_pylist()) == 0.0 and max(written["label"].to_pylist()) == 1.0

    again = run("inspect", out, "--json")
    assert again.exit_code == 0, again.stderr
    inspected = json.loads(again.stdout)
    assert inspected["format"] == "pair-score"
    assert [w["code"] for w in inspected["warnings"] if w["severity"] == "warning"] == []
    assert sha256(STS_DEV) == before


def test_fix_sick_maps_string_labels_to_ids(tmp_path):
    out = tmp_path / "sick.jsonl"
    report = convert(SICK, "--fix", "-o", out)
    assert report["source_format"] == "pair-class" and report["rows_in"] == report["rows_out"] == 4000
    mapping = report["class_mapping"]
    assert sorted(mapping) == ["CONTRADICTION", "ENTAILMENT", "NEUTRAL"] and sorted(mapping.values()) == [0, 1, 2]
    assert report["verdict"]["format"] == "pair-class" and report["verdict"]["losses"] == ["CrossEntropyLoss"]
    assert report["verdict"]["warnings"] == []

    written = read_back(out)
    assert written.column_names == ["sentence_A", "sentence_B", "label"]
    assert pa.types.is_integer(written.schema.field("label").type)
    names = {index: name for name, index in mapping.items()}
    assert Counter(names[i] for i in written["label"].to_pylist()) == {"NEUTRAL": 2161, "ENTAILMENT": 1205, "CONTRADICTION": 634}


def test_fix_with_a_chosen_label_and_score_range(tmp_path):
    """SICK's other label: relatedness_score in [1, 5], rescaled by --score-range 1:5 into a pair-score."""
    out = tmp_path / "relatedness.tsv"
    report = convert(SICK, "--fix", "--label", "relatedness_score", "--score-range", "1:5", "-o", out)
    assert report["source_format"] == "pair-score" and report["output_kind"] == "tsv"
    assert "scaled scores from [1.0, 5.0] to [0, 1]" in report["fixes"]
    written = read_back(out)
    assert written.num_rows == report["rows_out"] == 4000
    assert written.column_names == ["sentence_A", "sentence_B", "label"]
    labels = written["label"].to_pylist()
    assert min(labels) == 0.0 and max(labels) == 1.0
    assert report["verdict"]["format"] == "pair-score"


# --------------------------------------------------------------------------------------------- pair-class → triplet


def test_pair_class_to_triplet_with_the_default_positive_class(tmp_path):
    out = tmp_path / "snli-triplets.csv"
    report = convert(SNLI, "--to", "triplet", "-o", out)
    assert report["source_format"] == "pair-class" and report["target_format"] == "triplet"
    assert report["steps"] == ["fix", "class-sampling"]
    assert report["rows_in"] == 1289 and report["dropped"]["fix: label in ['-']"] == 16
    assert any("assumed 'entailment' is the positive class" in note for note in report["notes"])
    assert report["stats"]["positive_class"] == "0 (entailment)"
    assert report["verdict"]["format"] == "triplet"
    assert set(report["unlocks"]) == {"MultipleNegativesRankingLoss", "CachedMultipleNegativesRankingLoss"}

    written = read_back(out)
    assert written.num_rows == report["rows_out"] > 700
    assert written.column_names == ["sentence1", "sentence2", "negative"]
    labels = snli_labels()
    for anchor, positive, negative in (tuple(r.values()) for r in written.to_pylist()):
        assert labels[(anchor, positive)] == {"entailment"}
        assert labels[(anchor, negative)] & {"neutral", "contradiction"}
        assert "entailment" not in labels[(anchor, negative)] and "-" not in labels[(anchor, negative)]


def test_pair_class_to_triplet_with_explicit_classes(tmp_path):
    out = tmp_path / "snli-neutral"  # a save_to_disk folder
    report = convert(SNLI, "--to", "triplets", "--positive-class", "neutral", "--negative-class", "contradiction", "-o", out)
    assert report["output_kind"] == "datasets" and report["target_format"] == "triplet"
    assert report["stats"]["positive_class"] == "1 (neutral)"
    assert "negatives come from class 2 (contradiction) only" in report["notes"]
    assert report["dropped"]["class not used as positive or negative"] > 0

    written = read_back(out)
    assert written.num_rows == report["rows_out"] > 300
    labels = snli_labels()
    for anchor, positive, negative in (tuple(r.values()) for r in written.to_pylist()):
        assert labels[(anchor, positive)] == {"neutral"}
        assert labels[(anchor, negative)] == {"contradiction"}


# --------------------------------------------------------------------------------------------- pair → mined


@pytest.mark.parametrize(
    "target, name",
    [
        ("labeled-list", "mined.parquet"),
        ("triplet", "mined.jsonl"),
        ("n-tuple", "mined"),
        ("labeled-pair", "mined.csv"),
    ],
)
def test_pair_mined_by_bm25_into_each_format(tmp_path, target, name):
    out = tmp_path / name
    report = convert(SQUAD, "--to", target, "--num-negatives", "3", "-o", out)
    assert report["source_format"] == "pair" and report["target_format"] == target
    assert report["steps"] == ["fix", "mine"]
    assert report["rows_in"] == 639
    stats = report["stats"]
    assert stats["miner"] == "bm25" and stats["num_negatives"] == 3 and stats["corpus_size"] == 132
    assert report["verdict"]["format"] == target

    written = read_back(out)
    assert written.num_rows == report["rows_out"]
    columns = written.column_names
    positives = squad_positives()
    rows = [tuple(r.values()) for r in written.to_pylist()]
    if target == "labeled-list":
        assert columns == ["question", "docs", "label"] and len(rows) == 639
        for question, docs, labels in rows:
            assert len(docs) == len(labels) and 2 <= len(docs) <= 4
            assert {d for d, y in zip(docs, labels) if y == 1} <= positives[question]
            assert labels.count(1) >= 1
            assert not {d for d, y in zip(docs, labels) if y == 0} & positives[question]
    elif target == "triplet":
        assert len(columns) == 3 and len(rows) == 639 * 3 - 1  # one anchor found only 2 negatives
        for question, positive, negative in rows:
            assert positive in positives[question] and negative not in positives[question]
    elif target == "n-tuple":
        assert len(columns) == 5 and len(rows) == 638  # the anchor short of a negative is dropped
        assert report["dropped"] == {"fewer than 3 negatives found": 1}
        for question, positive, *negatives in rows:
            assert positive in positives[question]
            assert len(set(negatives)) == 3 and not set(negatives) & positives[question]
    else:
        assert columns[-1] == "label" and len(rows) == 639 * 4 - 1
        assert Counter(r[2] for r in rows) == {1: 639, 0: 639 * 3 - 1}
        for question, text, label in rows:
            assert (text in positives[question]) == (label == 1)


def test_mining_with_scores_and_an_extra_corpus(tmp_path):
    extra = pacsv.read_csv(SNLI_TRIPLETS, parse_options=pacsv.ParseOptions(newlines_in_values=True))["negative"].to_pylist()[:200]
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(extra) + "\n", encoding="utf-8")
    out = tmp_path / "scored.jsonl"
    report = convert(SQUAD, "--to", "labeled-list", "--num-negatives", "5", "--scores", "--corpus", corpus, "-o", out)
    stats = report["stats"]
    assert stats["corpus_size"] == 132 + len(set(extra))
    assert any("raw BM25 scores" in note for note in report["notes"])
    assert report["verdict"]["format"] == "labeled-list"

    written = read_back(out)
    assert written.num_rows == 639
    assert pa.types.is_floating(written.schema.field("label").type.value_type)
    positives = squad_positives()
    for question, docs, scores in (tuple(r.values()) for r in written.to_pylist()):
        assert len(docs) == len(scores) <= 6 and docs[0] in positives[question]
        assert not set(docs[1:]) & positives[question]
        assert all(isinstance(score, float) for score in scores)


# --------------------------------------------------------------------------------------------- reshapes without a model


def test_labeled_pair_grouped_into_labeled_lists(tmp_path):
    out = tmp_path / "wikiqa-lists.parquet"
    report = convert(WIKIQA, "--to", "labeled-list", "-o", out, "--keep-constant-lists")
    assert report["source_format"] == "labeled-pair" and report["steps"] == ["fix", "group"]
    # All 6,165 rows are read (QUOTE_NONE), 5 exact duplicates are dropped, 633 questions remain.
    assert report["rows_in"] == 6165 and report["dropped"] == {"fix: exact duplicate": 5}
    assert report["rows_out"] == 633 and report["stats"]["lists_without_positive"] == 390
    assert report["verdict"]["format"] == "labeled-list"
    assert report["verdict"]["warnings"] == ["constant-lists"]  # kept on request: those 390 lists, said, not hidden

    written = read_back(out)
    assert written.column_names == ["Question", "docs", "label"] and written.num_rows == 633
    assert sum(len(docs) for docs in written["docs"].to_pylist()) == 6160
    assert sum(sum(labels) for labels in written["label"].to_pylist()) == 293


def test_long_format_grouped_into_labeled_lists(tmp_path):
    out = tmp_path / "cranfield-lists"
    report = convert(CRANFIELD, "--to", "labeled-list", "-o", out)
    assert report["source_format"] == "labeled-list" and report["steps"] == ["fix"]
    assert "grouped rows by 'query' into lists" in report["fixes"]
    assert report["rows_in"] == 835 and report["rows_out"] == 100
    # The Cleverdon codes (1 = best, -1 = of no interest) survive grouping; the re-inspection says so.
    assert report["verdict"]["format"] == "labeled-list"
    assert "graded-negative" in report["verdict"]["warnings"]

    written = read_back(out)
    assert written.column_names == ["query", "docs", "label"] and written.num_rows == 100
    docs, labels = written["docs"].to_pylist(), written["label"].to_pylist()
    assert sum(map(len, docs)) == 835 and [len(d) for d in docs] == [len(y) for y in labels]
    assert {v for row in labels for v in row} == {-1, 1, 2, 3, 4}


def test_labeled_list_exploded_into_labeled_pairs(tmp_path):
    out = tmp_path / "wikiqa-pairs.csv"
    report = convert(WIKIQA_LISTS, "--to", "labeled-pair", "-o", out)
    assert report["source_format"] == "labeled-list" and report["steps"] == ["fix", "explode"]
    source = pajson.read_json(WIKIQA_LISTS)
    assert report["rows_in"] == 243
    assert report["rows_out"] == sum(len(d) for d in source["docs"].to_pylist())
    assert report["verdict"]["format"] == "labeled-pair"
    written = read_back(out)
    assert written.column_names == ["query", "text", "label"] and written.num_rows == report["rows_out"]
    assert set(written["label"].to_pylist()) == {0, 1}
    assert sum(written["label"].to_pylist()) == sum(sum(y) for y in source["label"].to_pylist())


def test_graded_lists_exploded_say_they_are_not_labeled_pairs(tmp_path):
    """Cranfield's gains 0-4 are kept by explode: the report and the re-inspection both say it is not 0/1."""
    report = convert(CRANFIELD_LISTS, "--to", "labeled-pair", "-o", tmp_path / "graded.parquet")
    assert report["rows_out"] == 835
    assert any(note.startswith("labels are graded (0..4), not 0/1") for note in report["notes"])
    assert report["verdict"]["format"] != "labeled-pair"


# --------------------------------------------------------------------------------------------- terminal view


def test_rich_view_of_a_conversion(tmp_path):
    out = tmp_path / "snli.parquet"
    result = run("convert", SNLI, "--to", "triplet", "-o", out)
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stdout.split())  # the view wraps at the terminal width
    assert "(pair-class) →" in text and "(triplet, parquet)" in text
    assert "rows: 1,289 in," in text and "dropped 16: fix: label in ['-']" in text
    assert "inspect of the output: triplet" in text
    assert read_back(out).num_rows > 700


# --------------------------------------------------------------------------------------------- errors


def test_existing_output_is_kept_without_overwrite(tmp_path):
    out = tmp_path / "lists.parquet"
    convert(WIKIQA_LISTS, "--to", "labeled-pair", "-o", out)
    first = out.read_bytes()
    result = run("convert", SNLI, "--to", "triplet", "-o", out)
    assert error_lines(result) == [f"Error: {out} already exists", "Hint: Pass --overwrite to replace it, or choose another OUT."]
    assert out.read_bytes() == first
    report = convert(SNLI, "--to", "triplet", "-o", out, "--overwrite")
    assert read_back(out).num_rows == report["rows_out"] and out.read_bytes() != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lists.parquet"]  # no temporary left behind


@pytest.mark.parametrize(
    "args, first",
    [
        ((SNLI_TRIPLETS, "--to", "pair-class"), "Error: no conversion from triplet to pair-class"),
        (
            (SNLI_TRIPLETS, "--to", "triplet-margin"),
            "Error: converting triplet to triplet-margin needs a teacher CrossEncoder (or SentenceTransformer / SparseEncoder)"
            " to score the pairs",
        ),
        ((STSB_TRAIN, "--fix", "--score-range", "0-5"), "Error: --score-range must look like LOW:HIGH (e.g. 0:5), got '0-5'"),
        ((STSB_TRAIN, "--fix", "--score-range", "five"), "Error: --score-range must look like LOW:HIGH (e.g. 0:5), got 'five'"),
        ((STSB_TRAIN, "--fix", "--score-range", "5:0"), "Error: --score-range 5:0: HIGH must be above LOW"),
        ((STSB_TRAIN,), "Error: say what to convert to: --to FORMAT (or --fix to tidy the data in its own format)"),
    ],
    ids=["impossible", "teacher-needed", "range-dash", "range-word", "range-reversed", "no-target"],
)
def test_errors_exit_2_with_one_line(tmp_path, args, first):
    out = tmp_path / "out.parquet"
    lines = error_lines(run("convert", *args, "-o", out))
    assert lines[0] == first
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_error_hints_name_the_way_out(tmp_path):
    impossible = error_lines(run("convert", SNLI_TRIPLETS, "--to", "pair-class", "-o", tmp_path / "o.parquet"))
    assert impossible[1].startswith("Hint: From triplet lossadvisor can make n-tuple, ")
    assert impossible[1].endswith("No conversion makes pair-class.")
    teacher = error_lines(run("convert", SNLI_TRIPLETS, "--to", "triplet-margin", "-o", tmp_path / "o.parquet"))
    assert teacher[1].startswith("Hint: Pass --teacher ")


@pytest.mark.parametrize("typo, meant", [("triplett", "triplet"), ("labled-list", "labeled-list")])
def test_unknown_format_suggests_the_closest(tmp_path, typo, meant):
    out = tmp_path / "o.parquet"
    lines = error_lines(run("convert", SNLI_TRIPLETS, "--to", typo, "-o", out))
    assert lines[0].startswith(f"Error: unknown format '{typo}' (known: pair-class, pair, labeled-pair, ")
    assert lines[1] == f"Hint: Did you mean '{meant}'?"
    assert not out.exists()


def test_plurals_underscores_and_case_are_accepted_spellings(tmp_path):
    report = convert(WIKIQA_LISTS, "--to", "Labeled_Pairs", "-o", tmp_path / "pairs.parquet")
    assert report["target_format"] == "labeled-pair" and report["verdict"]["format"] == "labeled-pair"


def test_an_output_suffix_it_cannot_write_is_refused(tmp_path):
    out = tmp_path / "fixed.xlsx"
    lines = error_lines(run("convert", STSB_TRAIN, "--fix", "-o", out))
    assert lines == [
        f"Error: {out}: cannot write .xlsx files",
        "Hint: Give OUT a .parquet, .jsonl, .csv or .tsv suffix, or no suffix for a save_to_disk folder.",
    ]
    assert not out.exists()


def test_the_input_itself_is_refused_as_output():
    lines = error_lines(run("convert", STSB_TRAIN, "--fix", "-o", STSB_TRAIN, "--overwrite"))
    assert lines == [f"Error: {STSB_TRAIN} would overwrite the input {STSB_TRAIN}", "Hint: Write the converted data to a new path."]
