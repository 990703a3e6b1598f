"""Every entry of ../shared/data/real/MANIFEST.yaml: inferred format, losses, label column and traps.

The ground truth is the manifest; this file only says how each trap shows up in a report. A trap is one of:
- Warns(codes): every code must be among the report's warnings (optionally with a further check);
- Handled(reason, check): a reading hazard that inspect resolves by itself; a warning would be noise, so the
  test asserts the resolution instead (rows counted right, the right column picked...);
- NotDetectable(reason): cannot be seen in the data at all. Keep this list short and honest.
Each trap is keyed by its index and a phrase of its text: a new, removed or reworded trap fails
`test_every_trap_has_a_decision` until someone decides how it must show up.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Callable

import pytest
import yaml
from real_data import MANIFEST, REAL

from lossadvisor.advice import Report, inspect_dataset
from lossadvisor.table import load_table

pytestmark = pytest.mark.skipif(not MANIFEST.is_file(), reason=f"{MANIFEST} is not there")
ENTRIES = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))["entries"] if MANIFEST.is_file() else []
IDS = [entry["path"] for entry in ENTRIES]


@dataclass(frozen=True)
class Warns:
    codes: tuple[str, ...]
    check: Callable[[Report], bool] | None = None


@dataclass(frozen=True)
class Handled:
    reason: str
    check: Callable[[Report], bool]


@dataclass(frozen=True)
class NotDetectable:
    reason: str


def warns(*codes: str, check: Callable[[Report], bool] | None = None) -> Warns:
    return Warns(codes, check)


def codes(report: Report) -> set[str]:
    return {w.code for w in report.warnings}


def message(report: Report, code: str) -> str:
    return " ".join(w.message for w in report.warnings if w.code == code)


def role(report: Report, name: str) -> tuple[str, str]:
    column = next(c for c in report.columns if c.name == name)
    return column.role, column.reason


def inputs(report: Report) -> list[str]:
    return [c.name for c in report.columns if c.role == "input"]


def extra_includes(*names: str) -> Callable[[Report], bool]:
    """The extra-columns warning lists these columns (so the fix drops them)."""
    return lambda report: all(name in message(report, "extra-columns") for name in names)


def rows_read_right(report: Report) -> bool:
    """Quoting was handled: every row counted, no merged rows, and no literal-quote note."""
    return "literal-quotes" not in codes(report) and "ragged-rows" not in codes(report)


# index → (a phrase of the trap's text, how it must show up)
TRAPS: dict[str, list[tuple[str, Warns | Handled | NotDetectable]]] = {
    "stsb/sts-dev.csv": [
        ("TAB-separated and headerless", warns("misleading-extension", "no-header")),
        ("9 fields instead of 7", warns("ragged-rows")),
        ("literal double-quote", warns("literal-quotes")),
        ("label is the 5th column", warns("label-name", "extra-columns", check=extra_includes("column_1", "column_2", "column_3", "column_4"))),
        ("scores in [0, 5]", warns("score-range")),
        ("id column has leading zeros", warns("extra-columns", check=lambda r: role(r, "column_4") == ("ignored", "id column")
                                              and next(c for c in r.columns if c.name == "column_4").dtype == "string")),
        ("null on 1478 rows", warns("extra-columns", check=lambda r: role(r, "column_8")[1] == "mostly null" and extra_includes("column_8", "column_9")(r))),
    ],
    "stsb/stsb_train_sample.csv": [
        ("score is a float in [0, 5]", warns("score-range")),
        ("named 'score' (an accepted name) but needs rescaling", warns("score-range", check=lambda r: "label-name" not in codes(r))),
        ("5 duplicated", warns("duplicates", check=lambda r: message(r, "duplicates").startswith("5 duplicated"))),
        ("CSV-quoted", Handled("RFC-4180 quoting is read as quoting", rows_read_right)),
    ],
    "stsb/stsb_test_normalized.jsonl": [
        ("not a teacher's", warns("assumption", check=lambda r: "MSELoss" in message(r, "assumption")
                                  and [x.loss for x in r.recommendations if not x.distillation] == ["BinaryCrossEntropyLoss"])),
        ("exactly 0.0 or 1.0", warns("score-reading", check=lambda r: r.readings[0].label_kind == "score")),
        ("1 duplicated", warns("duplicates")),
    ],
    "sick/SICK.txt": [
        ("TAB-separated, CRLF", warns("misleading-extension", "crlf")),
        ("string labels in upper case", warns("string-labels", check=lambda r: set(r.classes) == {"NEUTRAL", "ENTAILMENT", "CONTRADICTION"})),
        ("second label-like numeric column", warns("competing-labels", check=lambda r: "relatedness_score" in message(r, "competing-labels"))),
        ("pair_ID is an int id", warns("extra-columns", check=lambda r: role(r, "pair_ID") == ("ignored", "id column"))),
        ("decoys", warns("extra-columns", check=extra_includes("sentence_A_original", "sentence_B_original", "entailment_AB", "entailment_BA"))),
        ("split encoded in a column", warns("split-column", check=lambda r: "SemEval_set" in message(r, "split-column"))),
    ],
    "sick/sick_nli_hf": [
        ("DatasetDict", warns("dataset-dict", check=lambda r: r.split == "train" and set(r.splits) == {"train", "test"})),
        ("ClassLabel", Handled("the names are read from the features", lambda r: r.classes == ("entailment", "neutral", "contradiction")
                               and "class-ids" not in codes(r))),
        ("class imbalance", warns("imbalanced")),
    ],
    "sick/sick_relatedness.parquet": [
        ("same sentence pairs as", NotDetectable("overlap with other files: inspect sees one dataset at a time")),
    ],
    "snli/snli_1.0_dev.jsonl": [
        ("gold_label '-'", warns("no-consensus-labels", check=lambda r: r.num_labels == 3 and "-" not in r.classes)),
        ("string labels; label column named gold_label", warns("string-labels", "label-name")),
        ("annotator_labels", warns("extra-columns", check=lambda r: role(r, "annotator_labels")[0] == "ignored" and extra_includes("annotator_labels")(r))),
        ("parse-tree columns", warns("extra-columns", check=lambda r: inputs(r) == ["sentence1", "sentence2"]
                                     and extra_includes("sentence1_binary_parse", "sentence1_parse", "sentence2_binary_parse", "sentence2_parse")(r))),
        ("premise (sentence1) repeats", warns("repeated-anchors")),
    ],
    "snli/snli_pair_class.parquet": [
        ("plain int64", warns("class-ids", check=lambda r: r.num_labels == 3)),
        ("premises repeat", warns("repeated-anchors")),
    ],
    "snli/snli_triplets.csv": [
        ("no label column", Handled("a triplet has no label", lambda r: r.format == "triplet" and not any(c.role == "label" for c in r.columns))),
        ("commas and quotes", Handled("RFC-4180 quoting is read as quoting", rows_read_right)),
    ],
    "mrpc/msr_paraphrase_test.txt": [
        (".txt extension, TAB-separated", warns("misleading-extension")),
        ("BOM encoded twice", warns("bom-in-header", check=lambda r: "'Quality'" in next(w.fix for w in r.warnings if w.code == "bom-in-header"))),
        ("label column first", warns("label-name")),
        ("two large int id columns", warns("extra-columns", check=lambda r: role(r, "#1 ID") == ("ignored", "id column")
                                          and role(r, "#2 ID") == ("ignored", "id column"))),
        ("'#' and spaces", Handled("columns are found by content, not by name", lambda r: inputs(r) == ["#1 String", "#2 String"])),
        ("imbalanced: 1147 positive / 578 negative", warns("imbalanced", check=lambda r: "1147 positive / 578 negative" in message(r, "imbalanced"))),
    ],
    "mrpc/mrpc_train_hf": [
        ("int64 0/1", warns("assumption", check=lambda r: r.readings[0].label_kind == "binary"
                            and {x.format for x in r.readings} >= {"labeled-pair", "pair-class"})),
        ("imbalanced", warns("imbalanced")),
    ],
    "wikiqa/WikiQA-test.tsv": [
        ("without quoting=QUOTE_NONE silently merges rows", warns("literal-quotes", check=lambda r: "6116" in message(r, "literal-quotes"))),
        ("id columns interleaved", warns("extra-columns", check=lambda r: inputs(r) == ["Question", "Sentence"]
                                         and extra_includes("QuestionID", "DocumentID", "SentenceID")(r))),
        ("DocumentTitle", warns("extra-columns", check=extra_includes("DocumentTitle"))),
        ("'Label' (capitalised)", warns("label-name")),
        ("heavily imbalanced", warns("imbalanced")),
        ("questions repeat", warns("repeated-anchors")),
    ],
    "wikiqa/wikiqa_test_labeled_list.jsonl": [
        ("holds a list of ints", Handled("a list label next to a list of docs is a labeled-list", lambda r: r.format == "labeled-list")),
        ("binary 0/1 relevance, not graded", Handled("no graded-lists note for 0/1 lists", lambda r: "graded-lists" not in codes(r))),
        ("list length varies from 1 to 30", warns("ragged-lists", "constant-lists", check=lambda r: "1 to 30" in message(r, "ragged-lists"))),
    ],
    "wikiqa/wikiqa_train_triplets.tsv": [
        ("hard negatives from the same Wikipedia page", NotDetectable("where a negative came from is not in the data")),
        ("doubled quotes", Handled("RFC-4180 quoting is read as quoting", rows_read_right)),
    ],
    "squad/squad_v1.1_slice.json": [
        ("without field='data'", warns("json-field")),
        ("nested lists of structs", warns("nested-records", check=lambda r: r.num_rows == 639)),
        ("answers are nested structs", warns("extra-columns", check=lambda r: role(r, "answers")[0] == "ignored" and extra_includes("answers")(r))),
    ],
    "squad/squad_flat.jsonl": [
        ("first two string columns are id and title", warns("extra-columns", check=extra_includes("id", "title"))),
        ("context comes BEFORE question", warns("input-order", check=lambda r: r.tidy.inputs == ("question", "context"))),
        ("answers is a struct", warns("extra-columns", check=lambda r: role(r, "answers")[0] == "ignored" and extra_includes("answers")(r))),
        ("duplicate positives", warns("repeated-positives")),
    ],
    "squad/squad_qa_pairs.csv": [
        ("no label column", Handled("a pair has no label", lambda r: r.format == "pair" and not any(c.role == "label" for c in r.columns))),
        ("repeated positives", warns("repeated-positives")),
        ("commas and quotes", Handled("RFC-4180 quoting is read as quoting", rows_read_right)),
    ],
    "cranfield/cranfield_judgments_joined.csv": [
        ("relevance scale is inverted", warns("graded-negative", check=lambda r: "inverted" in message(r, "graded-negative"))),
        ("neither binary nor in [0, 1]", warns("graded-negative")),
        ("long format", warns("long-format", check=lambda r: r.readings[0].needs_grouping)),
        ("int id columns query_id and doc_id", warns("extra-columns", check=lambda r: role(r, "query_id") == ("ignored", "id column")
                                                     and role(r, "doc_id") == ("ignored", "id column"))),
        ("doc_title repeats the start of doc_text", warns("extra-columns", check=lambda r: inputs(r) == ["query", "doc_text"]
                                                          and extra_includes("doc_title")(r))),
        ("query_id is the position of the query", NotDetectable("what an id refers to in another file is not in the data")),
    ],
    "cranfield/cranfield_labeled_list_hf": [
        ("graded gains 0-4", warns("graded-lists")),
        ("named 'labels'", Handled("'labels' is a sentence-transformers label name", lambda r: role(r, "labels")[0] == "label"
                                   and "label-name" not in codes(r))),
        ("list length varies from 2 to 33", warns("ragged-lists", check=lambda r: "2 to 33" in message(r, "ragged-lists"))),
    ],
    "distill/wikiqa_triplet_margin.jsonl": [
        ("161 of 856 are negative", warns("margin-label")),
        ("three text columns plus a float label", warns("margin-label", check=lambda r: "pair-score" not in {x.format for x in r.readings})),
    ],
    "distill/wikiqa_triplet_scores.parquet": [
        ("texts are NOT a list", warns("list-label", check=lambda r: "labeled-list" not in {x.format for x in r.readings})),
    ],
    "distill/wikiqa_teacher_scores_wide.csv": [
        ("no single label column", warns("split-label", check=lambda r: "pos_score" in message(r, "split-label") and "neg_score" in message(r, "split-label"))),
        ("string id column qid", warns("extra-columns", check=lambda r: role(r, "qid") == ("ignored", "id column"))),
        ("mistaken for a pair-score", warns("split-label", check=lambda r: "pair-score" not in {x.format for x in r.readings})),
    ],
}


@functools.lru_cache(maxsize=None)
def report_for(path: str) -> Report:
    return inspect_dataset(str(REAL / path), _table())


@functools.lru_cache(maxsize=None)
def _table():
    return load_table()


def entry_id(entry) -> str:
    return entry["path"]


# --- what the manifest says ----------------------------------------------------------------------------


def expected_format(entry) -> tuple[str, list[str]]:
    """(the format to expect, formats that must be among the other readings)."""
    text = entry["target_format"] if entry["format"] == "needs-fixing" else entry["format"]
    first = text.split("|")[0].strip()
    also = re.findall(r"\(or ([a-z-]+) after grouping", first)
    return re.sub(r"\s*\(.*\)\s*$", "", first).strip(), also


def expected_losses(entry) -> tuple[list[str], int]:
    names, num_labels = [], 1
    for text in entry["expected_losses"]:
        match = re.fullmatch(r"(\w+)(?:\(num_labels=(\d+)\))?", text.strip())
        assert match, f"cannot read expected loss {text!r}"
        names.append(match.group(1))
        if match.group(2):
            num_labels = int(match.group(2))
    return names, num_labels


def expected_label_column(entry, report: Report) -> str | None:
    name = entry.get("label_column")
    if name is None or "no-header" not in codes(report):
        return name
    # a headerless file: the manifest names the columns, inspect numbers them
    position = [c["name"] for c in entry["columns"]].index(name)
    return f"column_{position + 1}"


# --- the tests -------------------------------------------------------------------------------------------


def test_manifest_is_not_empty():
    assert len(ENTRIES) >= 22


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_format(entry):
    report = report_for(entry["path"])
    fmt, also = expected_format(entry)
    assert report.format == fmt, [(r.format, r.label_kind) for r in report.readings]
    readings = [r.format for r in report.readings]
    for other in also:
        assert other in readings
    if entry["format"] == "needs-fixing":
        assert report.needs_fixing, "the manifest says the data needs fixing; the report must say so too"


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_recommended_losses(entry):
    report = report_for(entry["path"])
    names, num_labels = expected_losses(entry)
    recommended = [r.loss for r in report.recommendations]
    assert recommended, "no recommendation"
    assert recommended[0] in names, "the best recommendation is one of the expected losses"
    direct = [r.loss for r in report.recommendations if not r.distillation]
    if direct:
        assert set(direct) == set(names)
        # distillation losses may join (MSELoss on a pair-score), after the direct ones
        assert recommended[: len(direct)] == direct
    else:
        assert set(recommended) == set(names)
    assert report.num_labels == num_labels
    assert all(r.num_labels == num_labels for r in report.recommendations)


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.get("expected_losses_alternative")],
                         ids=[e["path"] for e in ENTRIES if e.get("expected_losses_alternative")])
def test_alternative_losses_are_reachable(entry):
    report = report_for(entry["path"])
    reachable = {loss for reading in report.readings for loss in reading.losses}
    reachable |= {loss for offer in report.conversions for loss in offer.unlocks}
    missing = set(entry["expected_losses_alternative"]) - reachable
    assert not missing, f"{missing} neither in a reading nor unlocked by a conversion"


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_label_column(entry):
    report = report_for(entry["path"])
    labels = [c.name for c in report.columns if c.role == "label"]
    expected = expected_label_column(entry, report)
    if expected is not None:
        assert labels == [expected]
    alternative = entry.get("alternative_label_column")
    if alternative:
        assert role(report, alternative)[0] == "ignored"
        assert alternative in message(report, "competing-labels")


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_row_count(entry):
    report = report_for(entry["path"])
    rows = entry["rows"]
    expected = rows[report.split] if isinstance(rows, dict) else rows
    if "nested-records" in codes(report):
        return  # counted after flattening (one row per record), not as the manifest's loader sees it
    assert report.num_rows == expected


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_every_trap_has_a_decision(entry):
    decisions = TRAPS.get(entry["path"])
    assert decisions is not None, f"no trap mapping for {entry['path']}: decide how each of its traps shows up"
    traps = entry.get("traps", [])
    assert len(decisions) == len(traps), f"{entry['path']}: {len(traps)} traps in the manifest, {len(decisions)} decisions here"
    for index, (phrase, _) in enumerate(decisions):
        assert phrase in traps[index], f"{entry['path']} trap {index} changed: {traps[index]!r} (mapped by {phrase!r})"


def test_no_stale_trap_mappings():
    assert set(TRAPS) <= set(IDS)


def test_not_detectable_list_stays_short():
    undetectable = [(path, phrase) for path, decisions in TRAPS.items() for phrase, d in decisions if isinstance(d, NotDetectable)]
    assert len(undetectable) <= 4, undetectable


TRAP_CASES = [
    pytest.param(path, index, phrase, decision, id=f"{path}#{index}")
    for path, decisions in TRAPS.items()
    for index, (phrase, decision) in enumerate(decisions)
    if not isinstance(decision, NotDetectable)
]


@pytest.mark.parametrize("path, index, phrase, decision", TRAP_CASES)
def test_trap(path, index, phrase, decision):
    report = report_for(path)
    if isinstance(decision, Warns):
        missing = set(decision.codes) - codes(report)
        assert not missing, f"trap {phrase!r}: no {sorted(missing)} warning (got {sorted(codes(report))})"
        for code in decision.codes:
            warning = next(w for w in report.warnings if w.code == code)
            assert warning.message and warning.fix, f"{code} needs a message and a fix"
    if decision.check is not None:
        assert decision.check(report), f"trap {phrase!r}: the check failed"



@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_the_command_gives_the_same_report_without_numpy(entry):
    """`lossadvisor inspect` in its own process starts pyarrow without numpy: same report as in-process."""
    import json
    import subprocess
    import sys

    from lossadvisor.render import to_plain

    process = subprocess.run([sys.executable, "-m", "lossadvisor", "--debug", "inspect", str(REAL / entry["path"]), "--json"],
                             capture_output=True, text=True, timeout=120)
    assert process.returncode == 0, process.stderr[-2000:]
    assert "needs numpy" not in process.stderr, "the numpy-free start fell back to a rerun"
    assert json.loads(process.stdout) == json.loads(json.dumps(to_plain(report_for(entry["path"])), default=str))
