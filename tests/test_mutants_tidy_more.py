"""tidy.py (tidy, apply_plan, _label_steps, load_canonical, tidy_code): whole outcomes that mutation testing
(`make mutate`, issue 17) found unpinned.

Each test runs the function in-process on a small Arrow table (or a tiny file) and compares the whole result: the
rows, the `dropped` reasons with their counts, the `applied` notes in order, the error's exact message. No model,
no subprocess: milliseconds each.
"""

from __future__ import annotations

import csv
import math
import random
from types import SimpleNamespace

import pyarrow as pa
import pytest

from lossadvisor.advice import TidyPlan
from lossadvisor.errors import FitError
from lossadvisor.tidy import apply_plan, tidy


def report(plan: TidyPlan | None, columns: list[str], fmt: str | None = "pair-class", dataset: str = "data.csv"):
    """The part of a Report that tidy() reads: the plan, the format, the dataset's name and its columns in order."""
    return SimpleNamespace(tidy=plan, format=fmt, dataset=dataset,
                           columns=tuple(SimpleNamespace(name=n, dtype="string") for n in columns))


def outcome(result) -> dict:
    return {"rows": result.table.to_pydict(), "dropped": list(result.dropped.items()), "applied": list(result.applied),
            "rows_in": result.rows_in, "rows_out": result.rows_out, "format": result.format,
            "mapping": result.class_mapping}


# --- tidy(): refusals ----------------------------------------------------------------------------------------------


def test_tidy_refuses_without_a_plan_or_without_a_format():
    table = pa.table({"a": ["x"], "b": ["y"]})
    message = "data.csv: no format fits this data, so there is nothing to tidy it into"
    with pytest.raises(FitError) as no_plan:
        tidy(table, report(None, ["a", "b"]))
    with pytest.raises(FitError) as no_format:
        tidy(table, report(TidyPlan(inputs=("a", "b"), label=None), ["a", "b"], fmt=None))
    assert (no_plan.value.message, no_format.value.message) == (message, message)


def test_tidy_names_every_column_missing_from_the_full_data():
    table = pa.table({"a": ["x"], "n": [1.0]})
    with pytest.raises(FitError) as caught:
        tidy(table, report(TidyPlan(inputs=("a", "b"), label="gold"), ["a", "b", "gold"]))
    assert caught.value.message == "data.csv: column(s) b, gold seen in the sample are missing from the data"


def test_tidy_names_a_missing_label_alone_and_missing_label_parts():
    table = pa.table({"a": ["x"], "b": ["y"], "pos": [1.0]})
    with pytest.raises(FitError) as label:
        tidy(table, report(TidyPlan(inputs=("a", "b"), label="gold"), ["a", "b", "gold"]))
    with pytest.raises(FitError) as parts:
        tidy(table, report(TidyPlan(inputs=("a", "b"), label=None, label_parts=("pos", "neg")), ["a", "b", "pos", "neg"]))
    assert label.value.message == "data.csv: column(s) gold seen in the sample are missing from the data"
    assert parts.value.message == "data.csv: column(s) neg seen in the sample are missing from the data"


# --- tidy(): the "selected and ordered columns" note ------------------------------------------------------------------


PAIRS = {"a": ["x one", "x two", "x three"], "b": ["y one", "y two", "y three"]}


def test_no_column_note_when_the_columns_are_already_canonical():
    table = pa.table({**PAIRS, "label": [1, 0, 1]})
    result = tidy(table, report(TidyPlan(inputs=("a", "b"), label="label"), ["a", "b", "label"], "labeled-pair"))
    assert outcome(result) == {"rows": {**PAIRS, "label": [1, 0, 1]}, "dropped": [], "applied": [], "rows_in": 3,
                               "rows_out": 3, "format": "labeled-pair", "mapping": {}}


def test_no_column_note_for_an_unlabeled_pair():
    table = pa.table(PAIRS)
    result = tidy(table, report(TidyPlan(inputs=("a", "b"), label=None), ["a", "b"], "pair"))
    assert outcome(result) == {"rows": PAIRS, "dropped": [], "applied": [], "rows_in": 3, "rows_out": 3,
                               "format": "pair", "mapping": {}}


def test_an_extra_column_left_out_is_noted_last():
    table = pa.table({"id": [7, 8, 9], **PAIRS, "gold": [1, 0, 1]})
    result = tidy(table, report(TidyPlan(inputs=("a", "b"), label="gold"), ["id", "a", "b", "gold"], "labeled-pair"))
    assert outcome(result)["applied"] == ["renamed 'gold' to 'label'", "selected and ordered columns: a, b, label"]
    assert result.table.column_names == ["a", "b", "label"]


def test_inputs_taken_in_another_order_are_noted():
    table = pa.table({"b": PAIRS["b"], "a": PAIRS["a"], "label": [1, 0, 1]})
    result = tidy(table, report(TidyPlan(inputs=("a", "b"), label="label"), ["b", "a", "label"], "labeled-pair"))
    assert outcome(result)["applied"] == ["selected and ordered columns: a, b, label"]
    assert result.table.to_pydict() == {**PAIRS, "label": [1, 0, 1]}


def test_the_column_note_comes_before_the_grouping_note():
    table = pa.table({"q": ["a?", "a?", "b?"], "doc": ["d1", "d2", "d3"], "rel": [1, 0, 1], "src": ["s", "s", "s"]})
    plan = TidyPlan(inputs=("q", "doc"), label="rel", group_by_anchor=True)
    result = tidy(table, report(plan, ["q", "doc", "rel", "src"], "labeled-list"))
    assert outcome(result)["applied"] == ["renamed 'rel' to 'label'", "selected and ordered columns: q, doc, label",
                                          "grouped rows by 'q' into lists"]


# --- tidy(): the options reach apply_plan -----------------------------------------------------------------------------


def test_tidy_passes_its_options_on():
    table = pa.table({"a": ["x", "x", "z"], "b": ["y", "y", "w"], "label": [1, 1, 2]})
    plan = TidyPlan(inputs=("a", "b"), label="label")
    rep = report(plan, ["a", "b", "label"], "labeled-pair")
    assert tidy(table, rep).table.to_pydict() == {"a": ["x", "z"], "b": ["y", "w"], "label": [1, 2]}
    assert tidy(table, rep, drop_duplicates=False).table.to_pydict() == {"a": ["x", "x", "z"], "b": ["y", "y", "w"],
                                                                         "label": [1, 1, 2]}
    scaled = tidy(table, rep, score_range=(0.0, 4.0))
    assert scaled.table.column("label").to_pylist() == [0.25, 0.5]
    gained = tidy(table, rep, gain={1.0: 0.0, 2.0: 3.0})
    assert gained.table.column("label").to_pylist() == [0, 3]
    assert gained.applied == ("mapped grades to gains: 1→0, 2→3",)


def test_constant_lists_go_unless_kept():
    table = pa.table({"q": ["a?", "a?", "b?", "b?"], "doc": ["d1", "d2", "d3", "d4"], "rel": [1, 0, 0, 0]})
    plan = TidyPlan(inputs=("q", "doc"), label="rel", group_by_anchor=True, drop_constant_lists=True)
    rep = report(plan, ["q", "doc", "rel"], "labeled-list")
    dropped = tidy(table, rep)
    assert dropped.table.to_pylist() == [{"q": "a?", "docs": ["d1", "d2"], "label": [1, 0]}]
    assert dropped.dropped == {"nothing to rank (every label in the list equal)": 1}
    kept = tidy(table, rep, keep_constant_lists=True)
    assert kept.table.column("label").to_pylist() == [[1, 0], [0, 0]] and kept.dropped == {}


# --- apply_plan: every step, in order -----------------------------------------------------------------------------------


def test_a_class_label_with_every_fix():
    table = pa.table({
        "a": ["x1", "x2", "", "x4", "x1", "x6", "x7"],
        "b": ["y1", "y2", "y3", None, "y1", "y6", "y7"],
        "gold": ["entailment", "-", "neutral", "neutral", "Entailment", "CONTRADICTION ", "maybe"],
    })
    plan = TidyPlan(inputs=("a", "b"), label="gold", classes=("entailment", "neutral", "contradiction"),
                    drop_label_values=("-",))
    mapping = {"entailment": 0, "neutral": 1, "contradiction": 2}
    assert outcome(apply_plan(table, plan, "pair-class")) == {
        "rows": {"a": ["x1", "x6"], "b": ["y1", "y6"], "label": [0, 2]},
        "dropped": [("label in ['-']", 1), ("null or empty text in 'a'", 1), ("null or empty text in 'b'", 1),
                    ("label not a known class", 1), ("exact duplicate", 1)],
        "applied": [f"mapped class names to ids: {mapping}", "renamed 'gold' to 'label'"],
        "rows_in": 7, "rows_out": 2, "format": "pair-class", "mapping": mapping,
    }


def test_empty_texts_are_looked_for_in_the_inputs_only():
    table = pa.table({"a": ["x", "y"], "b": ["p", "q"], "note": ["", "n"], "label": [1, 0]})
    result = apply_plan(table, TidyPlan(inputs=("a", "b"), label="label"), "labeled-pair")
    assert result.table.to_pydict() == {"a": ["x", "y"], "b": ["p", "q"], "label": [1, 0]} and result.dropped == {}


def test_teacher_scores_spread_over_columns_are_combined():
    table = pa.table({"query": ["q1", "q2"], "pos": ["p1", "p2"], "neg": ["n1", "n2"],
                      "pos_score": [5.0, 4.0], "neg_score": [-1.0, 1.5]})
    plan = TidyPlan(inputs=("query", "pos", "neg"), label=None, label_parts=("pos_score", "neg_score"))
    assert outcome(apply_plan(table, plan, "triplet-margin")) == {
        "rows": {"query": ["q1", "q2"], "pos": ["p1", "p2"], "neg": ["n1", "n2"], "label": [[5.0, -1.0], [4.0, 1.5]]},
        "dropped": [], "applied": ["combined pos_score, neg_score into label"], "rows_in": 2, "rows_out": 2,
        "format": "triplet-margin", "mapping": {},
    }


def test_gains_are_applied_to_the_label():
    table = pa.table({"q": ["a", "b", "c"], "d": ["x", "y", "z"], "grade": [1, 2, -1]})
    result = apply_plan(table, TidyPlan(inputs=("q", "d"), label="grade"), "labeled-pair", gain={1.0: 4.0, 2.0: 3.0, -1.0: 0.0})
    assert result.table.column("label").to_pylist() == [4, 3, 0]
    assert result.applied == ("renamed 'grade' to 'label'", "mapped grades to gains: 1→4, 2→3, -1→0")


def test_docs_and_labels_of_another_length_are_dropped():
    table = pa.table({"q": ["a", "b", "c"], "docs": [["x", "y"], ["z"], ["w"]], "label": [[1, 0], [1, 0], [1]]})
    result = apply_plan(table, TidyPlan(inputs=("q", "docs"), label="label"), "labeled-list")
    assert result.table.to_pydict() == {"q": ["a", "c"], "docs": [["x", "y"], ["w"]], "label": [[1, 0], [1]]}
    assert result.dropped == {"docs and labels differ in length": 1}


def test_the_docs_are_the_last_input():
    table = pa.table({"q": ["a", "b"], "ctx": ["c1", "c2"], "docs": [["x", "y"], ["z"]], "label": [[1, 0], [1, 0]]})
    result = apply_plan(table, TidyPlan(inputs=("q", "ctx", "docs"), label="label"), "labeled-list")
    assert result.table.column("q").to_pylist() == ["a"]
    assert result.dropped == {"docs and labels differ in length": 1}


def test_lengths_are_not_compared_with_two_list_inputs_or_a_scalar_label():
    two = pa.table({"q": ["a", "b"], "pos": [["p"], ["p", "r"]], "docs": [["x", "y"], ["z"]], "label": [[1, 0], [1, 0]]})
    result = apply_plan(two, TidyPlan(inputs=("q", "pos", "docs"), label="label"), "labeled-list")
    assert result.table.num_rows == 2 and result.dropped == {}
    scalar = pa.table({"q": ["a", "b"], "docs": [["x", "y"], ["z"]], "score": [0.5, 0.25]})
    result = apply_plan(scalar, TidyPlan(inputs=("q", "docs"), label="score"), "labeled-list")
    assert result.table.to_pydict() == {"q": ["a", "b"], "docs": [["x", "y"], ["z"]], "label": [0.5, 0.25]}


def test_the_drop_duplicates_argument_overrides_the_plan():
    table = pa.table({"a": ["x", "x"], "b": ["y", "y"], "label": [1, 1]})
    assert apply_plan(table, TidyPlan(inputs=("a", "b"), label="label"), "labeled-pair", drop_duplicates=False).table.num_rows == 2
    plan = TidyPlan(inputs=("a", "b"), label="label", drop_duplicates=False)
    assert apply_plan(table, plan, "labeled-pair").table.num_rows == 2
    assert apply_plan(table, plan, "labeled-pair", drop_duplicates=True).dropped == {"exact duplicate": 1}


def test_grouping_keeps_constant_lists_for_the_plan_to_decide():
    table = pa.table({"query": ["a?", "a?", "b?", "b?"], "doc": ["d1", "d2", "d3", "d4"], "label": [1, 0, 0, 0]})
    plan = TidyPlan(inputs=("query", "doc"), label="label", group_by_anchor=True)
    assert outcome(apply_plan(table, plan, "labeled-list")) == {
        "rows": {"query": ["a?", "b?"], "docs": [["d1", "d2"], ["d3", "d4"]], "label": [[1, 0], [0, 0]]},
        "dropped": [], "applied": ["grouped rows by 'query' into lists"], "rows_in": 4, "rows_out": 2,
        "format": "labeled-list", "mapping": {},
    }


def test_constant_lists_need_a_label_to_be_dropped():
    table = pa.table({"q": ["a"], "docs": [["x", "y"]]})
    result = apply_plan(table, TidyPlan(inputs=("q", "docs"), label=None, drop_constant_lists=True), "pair")
    assert result.table.to_pydict() == {"q": ["a"], "docs": [["x", "y"]]} and result.dropped == {}


# --- _label_steps: the label's notes -------------------------------------------------------------------------------------


def test_numbers_written_as_text_are_cast():
    table = pa.table({"a": ["x", "y", "z"], "b": ["p", "q", "r"], "label": ["0.5", "1", "0"]})
    result = apply_plan(table, TidyPlan(inputs=("a", "b"), label="label", cast_label_numeric=True), "pair-score")
    assert result.table.column("label").to_pylist() == [0.5, 1.0, 0.0]
    assert result.applied == ("cast string labels to numbers",)


def test_the_whole_columns_range_note_names_the_samples():
    table = pa.table({"a": ["x", "y", "z"], "b": ["p", "q", "r"], "score": [1.0, 2.5, 6.0]})
    result = apply_plan(table, TidyPlan(inputs=("a", "b"), label="score", score_range=(1.0, 5.0)), "pair-score")
    assert result.table.column("label").to_pylist() == [0.0, 0.3, 1.0]
    assert result.applied == ("scaled scores from [1.0, 6.0] to [0, 1] (the whole column's range; the sample's was [1.0, 5.0])",
                              "renamed 'score' to 'label'")


def test_a_given_range_scales_and_clips():
    table = pa.table({"a": ["x", "y", "z"], "b": ["p", "q", "r"], "label": [1.0, 3.0, 7.0]})
    result = apply_plan(table, TidyPlan(inputs=("a", "b"), label="label"), "pair-score", score_range=(1.0, 5.0))
    assert result.table.column("label").to_pylist() == [0.0, 0.5, 1.0]
    assert result.applied == ("scaled scores from [1.0, 5.0] to [0, 1]", "clipped 1 score(s) outside [1.0, 5.0] to [0, 1]")


def test_an_empty_score_range_is_refused():
    table = pa.table({"a": ["x"], "b": ["p"], "label": [1.0]})
    with pytest.raises(FitError) as caught:
        apply_plan(table, TidyPlan(inputs=("a", "b"), label="label"), "pair-score", score_range=(2.0, 2.0))
    assert caught.value.message == "invalid score range 2.0:2.0"


def test_infinite_scores_do_not_set_the_range():
    table = pa.table({"a": ["x", "y", "z"], "b": ["p", "q", "r"], "label": [0.0, 2.0, -math.inf]})
    result = apply_plan(table, TidyPlan(inputs=("a", "b"), label="label", score_range=(0.0, 4.0)), "pair-score")
    assert result.applied[0] == "scaled scores from [0.0, 2.0] to [0, 1] (the whole column's range; the sample's was [0.0, 4.0])"


# --- tidy_code: the exact lines a scaffolded script gets --------------------------------------------------------------


def code_report(plan: TidyPlan, columns: dict[str, str]):
    """A report whose columns carry the dtypes inspect writes ('string', 'list<int64>', 'large_list<double>')."""
    return SimpleNamespace(tidy=plan, columns=tuple(SimpleNamespace(name=n, dtype=t) for n, t in columns.items()))


DATASET = "from datasets import Dataset"
KEEP_TEXTS = "dataset = dataset.filter(lambda row: all(row[c] and row[c].strip() for c in {!r}))"
SELECT = "dataset = dataset.select_columns({!r})  # inputs are taken by order"
DEDUP = "dataset = Dataset.from_pandas(dataset.to_pandas().drop_duplicates(subset={!r}), preserve_index=False)"


def test_tidy_code_for_class_names_with_every_fix():
    from lossadvisor.tidy import tidy_code

    plan = TidyPlan(inputs=("s1", "s2"), label="gold", classes=("entailment", "neutral"), drop_label_values=("-",))
    lines, imports = tidy_code(code_report(plan, {"id": "int64", "s1": "string", "s2": "string", "gold": "string"}))
    assert lines == [
        "dataset = dataset.filter(lambda row: row['gold'] not in ['-'])  # no gold label",
        KEEP_TEXTS.format(["s1", "s2"]),
        "CLASSES = ['entailment', 'neutral']",
        "CLASS_IDS = {name.strip().lower(): i for i, name in enumerate(CLASSES)}",
        "dataset = dataset.filter(lambda row: (row['gold'] or '').strip().lower() in CLASS_IDS)",
        "dataset = dataset.map(lambda row: {\"label\": CLASS_IDS[row['gold'].strip().lower()]})",
        SELECT.format(["s1", "s2", "label"]),
        DEDUP.format(["s1", "s2", "label"]),
    ]
    assert imports == [DATASET]


def test_tidy_code_casts_and_scales_a_score_written_as_text():
    from lossadvisor.tidy import tidy_code

    plan = TidyPlan(inputs=("s1", "s2"), label="score", cast_label_numeric=True, score_range=(1.0, 5.0), drop_duplicates=False)
    lines, imports = tidy_code(code_report(plan, {"s1": "string", "s2": "string", "score": "string"}))
    assert lines == [
        KEEP_TEXTS.format(["s1", "s2"]),
        "dataset = dataset.map(lambda row: {\"label\": min(1.0, max(0.0, (float(row['score']) - 1.0) / 4.0))})",
        SELECT.format(["s1", "s2", "label"]),
    ]
    assert imports == []


def test_tidy_code_writes_nothing_for_a_canonical_table():
    from lossadvisor.tidy import tidy_code

    plan = TidyPlan(inputs=("s1", "s2"), label="label", drop_null_texts=False, drop_duplicates=False)
    assert tidy_code(code_report(plan, {"s1": "string", "s2": "string", "label": "int64"})) == ([], [])


def test_tidy_code_dedups_without_a_label_or_without_texts():
    from lossadvisor.tidy import tidy_code

    unlabeled = TidyPlan(inputs=("s1", "s2"), label=None, drop_null_texts=False)
    assert tidy_code(code_report(unlabeled, {"s1": "string", "s2": "string"})) == ([DEDUP.format(["s1", "s2"])], [DATASET])
    no_texts = TidyPlan(inputs=("s1", "s2"), label="label")
    assert tidy_code(code_report(no_texts, {"s1": "large_string", "s2": "large_string", "label": "int64"})) == ([], [])


@pytest.mark.parametrize("dtype", ["list<int64>", "large_list<double>"])
def test_tidy_code_leaves_a_list_label_out_of_the_duplicate_key(dtype):
    from lossadvisor.tidy import tidy_code

    plan = TidyPlan(inputs=("q", "docs"), label="label", drop_null_texts=False)
    lines, _ = tidy_code(code_report(plan, {"q": "string", "docs": "list<string>", "label": dtype}))
    assert lines == [DEDUP.format(["q"])]


def test_tidy_code_combines_teacher_scores():
    from lossadvisor.tidy import tidy_code

    plan = TidyPlan(inputs=("query", "pos"), label=None, label_parts=("pos_score", "neg_score"))
    lines, imports = tidy_code(code_report(plan, {"query": "string", "pos": "string", "pos_score": "double", "neg_score": "double"}))
    assert lines == [
        KEEP_TEXTS.format(["query", "pos"]),
        "dataset = dataset.map(lambda row: {\"label\": [row['pos_score'], row['neg_score']]})  # one list of teacher scores",
        SELECT.format(["query", "pos", "label"]),
        DEDUP.format(["query", "pos"]),
    ]
    assert imports == [DATASET]


def test_tidy_code_groups_long_rows_by_the_anchor():
    from lossadvisor.tidy import tidy_code

    plan = TidyPlan(inputs=("q", "doc", "extra"), label="rel", group_by_anchor=True, drop_null_texts=False, drop_duplicates=False)
    lines, imports = tidy_code(code_report(plan, {"q": "string", "doc": "string", "extra": "string", "rel": "int64"}))
    assert lines == [
        "dataset = dataset.rename_column('rel', \"label\")",
        SELECT.format(["q", "doc", "extra", "label"]),
        "grouped = dataset.to_pandas().groupby('q', sort=False).agg({'doc': list, \"label\": list}).reset_index()",
        "dataset = Dataset.from_pandas(grouped.rename(columns={'doc': \"docs\"}), preserve_index=False)",
    ]
    assert imports == [DATASET]


# --- load_canonical: read, inspect and tidy a file in-process ------------------------------------------------------------

WORDS = "the a man woman dog cat runs eats plays ball park city river house red blue green big small".split()
N = 40


def sentence(i: int) -> str:
    rng = random.Random(i * 7919 + 7)
    return " ".join(rng.choice(WORDS) for _ in range(7)) + f" number {i}"


@pytest.fixture(scope="module")
def loss_table():
    from lossadvisor.table import load_table

    return load_table()


def write_csv(path, header: list[str], rows: list[list]) -> str:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def scores_csv(tmp_path) -> str:
    return write_csv(tmp_path / "scores.csv", ["s1", "s2", "score"],
                     [[sentence(i), sentence(i + 500), round(5 * i / (N - 1), 3)] for i in range(N)])


def lists_parquet(tmp_path, labels: list, queries: list[str] | None = None) -> str:
    import pyarrow.parquet as pq

    path = tmp_path / "lists.parquet"
    queries = queries or [sentence(i) for i in range(len(labels))]
    pq.write_table(pa.table({"query": queries, "docs": [[sentence(i + 100), sentence(i + 200)] for i in range(len(labels))],
                             "label": labels}), path)
    return str(path)


def test_load_canonical_reads_inspects_and_tidies(tmp_path, loss_table):
    from lossadvisor.tidy import load_canonical

    spec = scores_csv(tmp_path)
    prepared = load_canonical(spec, loss_table)
    assert (prepared.format, prepared.report.format) == ("pair-score", "pair-score")
    assert prepared.table is prepared.result.table
    assert prepared.result.applied == ("scaled scores from [0.0, 5.0] to [0, 1]", "renamed 'score' to 'label'")
    assert prepared.table.column_names == ["s1", "s2", "label"] and prepared.result.rows_out == N
    ranged = load_canonical(spec, loss_table, score_range=(0.0, 10.0))
    assert ranged.table.column("label").to_pylist()[-1] == 0.5


def test_load_canonical_takes_the_column_choice_and_the_reading(tmp_path, loss_table):
    from lossadvisor.profile import ColumnChoice
    from lossadvisor.tidy import load_canonical

    spec = scores_csv(tmp_path)
    unlabeled = load_canonical(spec, loss_table, choice=ColumnChoice(label="none"))
    assert (unlabeled.format, unlabeled.table.column_names) == ("pair", ["s1", "s2"])
    with pytest.raises(FitError) as caught:
        load_canonical(spec, loss_table, reading="pair-class")
    assert caught.value.message == "the data cannot be read as pair-class (possible readings: pair-score)"


def test_load_canonical_passes_split_and_subset_on(tmp_path, loss_table):
    from lossadvisor.errors import SourceError
    from lossadvisor.tidy import load_canonical

    spec = scores_csv(tmp_path)
    with pytest.raises(SourceError) as split:
        load_canonical(spec, loss_table, split="test")
    assert split.value.message == f"{spec}: local files have one split, 'train' (got --split test)"
    with pytest.raises(SourceError) as subset:
        load_canonical(spec, loss_table, subset="default")
    assert subset.value.message == "--subset applies to hub datasets only"


def test_load_canonical_refuses_an_empty_file(tmp_path, loss_table):
    from lossadvisor.tidy import load_canonical

    spec = write_csv(tmp_path / "empty.csv", ["s1", "s2", "label"], [])
    with pytest.raises(FitError) as caught:
        load_canonical(spec, loss_table)
    assert caught.value.message == f"{spec}: the dataset is empty (no rows)"


def test_load_canonical_refuses_data_no_format_fits(tmp_path, loss_table):
    from lossadvisor.tidy import load_canonical

    spec = write_csv(tmp_path / "one.csv", ["s1", "n"], [[sentence(i), i * 0.37] for i in range(N)])
    with pytest.raises(FitError) as caught:
        load_canonical(spec, loss_table)
    assert (caught.value.message, caught.value.hint) == (
        f"{spec}: no format of the loss table fits this data",
        f"Run `lossadvisor inspect {spec}` to see the columns and what is missing.")


def test_load_canonical_refuses_when_the_fixes_leave_no_row(tmp_path, loss_table):
    from lossadvisor.tidy import load_canonical

    spec = lists_parquet(tmp_path, [[0, 0]] * N, [""] + [sentence(i) for i in range(1, N)])
    with pytest.raises(FitError) as caught:
        load_canonical(spec, loss_table)
    assert caught.value.message == (f"{spec}: no rows left after the fixes "
                                    f"(1 null or empty text in 'query', {N - 1} nothing to rank (every label in the list equal))")
    kept = load_canonical(spec, loss_table, keep_constant_lists=True)
    assert (kept.format, kept.result.rows_out, kept.result.dropped) == ("labeled-list", N - 1, {"null or empty text in 'query'": 1})


def test_load_canonical_keeps_a_single_row_and_applies_gains(tmp_path, loss_table):
    from lossadvisor.tidy import load_canonical

    spec = lists_parquet(tmp_path, [[1, 0]] + [[0, 0]] * (N - 1))
    prepared = load_canonical(spec, loss_table, gain={0.0: 0.0, 1.0: 2.0})
    assert prepared.table.column("label").to_pylist() == [[2, 0]]
    assert prepared.result.applied == ("mapped grades to gains: 0→0, 1→2",)
    assert prepared.result.dropped == {"nothing to rank (every label in the list equal)": N - 1}


# --- convert/clean.py: the whole StepResult, its account of rows included -------------------------------------------------


def account(step) -> tuple:
    """What a StepResult says about itself: its method, target, rows in / out / used, drops, notes and stats.
    StepResult's rule: rows_in == rows_used + sum(dropped.values())."""
    assert step.rows_in == step.rows_used + sum(step.dropped.values())
    return step.method, step.target_format, step.rows_in, step.rows_out, step.rows_used, step.dropped, step.notes, step.stats


def test_every_step_gives_a_full_account():
    from lossadvisor.convert import clean

    texts = pa.table({"q": ["a", " ", "c"]})
    assert account(clean.drop_empty_texts(texts)) == (
        "drop-empty-texts", "same", 3, 2, 2, {"null or empty text in 'q'": 1}, [], {})
    dups = pa.table({"q": ["a", "a", "b"], "d": ["x", "x", "y"], "n": [1, 2, 3]})
    assert account(clean.drop_duplicates(dups)) == ("drop-duplicates", "same", 3, 2, 2, {"duplicate of (q, d)": 1}, [], {})
    scores = pa.table({"label": [0.0, 5.0]})
    assert account(clean.normalize_scores(scores)) == (
        "normalize-scores", "same", 2, 2, 2, {}, ["scaled 'label' from [0, 5] to [0, 1]"], {"range": [0.0, 5.0], "outside_range": 0})
    names = pa.table({"label": ["b", "a", "z!"]})
    assert account(clean.map_class_names(names, names=["a", "b"])) == (
        "map-class-names", "same", 3, 2, 2, {"label not a known class": 1}, ["class ids: {'a': 0, 'b': 1}"], {"mapping": {"a": 0, "b": 1}})
    ids = pa.table({"label": [0, 1]})
    assert account(clean.map_class_names(ids)) == (
        "map-class-names", "same", 2, 2, 2, {}, ["'label' already holds int64"], {"mapping": {}})
    values = pa.table({"label": ["a", "-"]})
    assert account(clean.drop_label_values(values, "label", ("-",))) == (
        "drop-label-values", "same", 2, 1, 1, {"label in ['-']": 1}, [], {})
    lists = pa.table({"label": [[1, 0], [0, 0]]})
    assert account(clean.drop_constant_lists(lists)) == (
        "drop-constant-lists", "same", 2, 1, 1, {"nothing to rank (every label in the list equal)": 1}, [], {})
    scalar = pa.table({"label": [1, 1]})
    assert account(clean.drop_constant_lists(scalar)) == ("drop-constant-lists", "same", 2, 2, 2, {}, [], {})
    numbers = pa.table({"label": ["1"]})
    assert account(clean.cast_numbers(numbers)) == ("cast-numbers", "same", 1, 1, 1, {}, ["cast 'label' to numbers"], {})
    nulls = pa.table({"label": [1.0, None]})
    assert account(clean.drop_null_labels(nulls)) == ("drop-null-labels", "same", 2, 1, 1, {"null or NaN label": 1}, [], {})
    mismatch = pa.table({"docs": [["a"], ["b"]], "label": [[1], [1, 0]]})
    assert account(clean.drop_list_mismatch(mismatch, "docs")) == (
        "drop-list-mismatch", "same", 2, 1, 1, {"docs and labels differ in length": 1}, [], {})


def test_drop_duplicates_accounts_for_tables_of_no_key_no_row_and_one_row():
    from lossadvisor.convert import clean

    numbers = pa.table({"n": [1, 1]})
    assert account(clean.drop_duplicates(numbers)) == ("drop-duplicates", "same", 2, 2, 2, {}, [], {})
    empty = pa.table({"q": pa.array([], pa.string())})
    assert account(clean.drop_duplicates(empty)) == ("drop-duplicates", "same", 0, 0, 0, {}, [], {})
    one = pa.table({"q": ["a"]})
    assert account(clean.drop_duplicates(one)) == ("drop-duplicates", "same", 1, 1, 1, {}, [], {})


def test_steps_that_drop_nothing_return_the_table_itself():
    from lossadvisor.convert import clean

    table = pa.table({"q": ["a", "b"], "label": ["x", "y"]})
    assert clean.drop_duplicates(table).table is table
    assert clean.drop_label_values(table, "label", ("-",)).table is table
    assert clean.drop_null_labels(table).table is table
    lists = pa.table({"docs": [["a", "b"]], "label": [[1, 0]]})
    assert clean.drop_list_mismatch(lists, "docs").table is lists
    assert clean.drop_constant_lists(lists).table is lists


def test_refusals_name_every_column():
    from lossadvisor.convert import clean

    table = pa.table({"a": ["x"], "b": ["y"]})
    with pytest.raises(FitError) as scores:
        clean.normalize_scores(table)
    with pytest.raises(FitError) as classes:
        clean.map_class_names(table)
    assert scores.value.message == "no column 'label' to normalise (columns: a, b)"
    assert classes.value.message == "no column 'label' to map (columns: a, b)"


def test_entailment_among_other_names_is_not_nli():
    from lossadvisor.convert import clean

    result = clean.map_class_names(pa.table({"label": ["entailment", "other", "other"]}))
    assert result.table.column("label").to_pylist() == [0, 1, 1]
    assert result.stats["mapping"] == {"entailment": 0, "other": 1}


def test_labels_with_no_letter_are_no_class_at_all():
    from lossadvisor.convert import clean

    result = clean.map_class_names(pa.table({"label": ["-", "?"], "n": [1, 2]}))
    assert result.table.to_pydict() == {"label": [], "n": []}
    assert result.dropped == {"label not a known class": 2} and result.stats["mapping"] == {}


def test_combined_scores_are_doubles_even_when_missing():
    from lossadvisor.convert import clean

    empty = pa.table({"pos": pa.array([[], None], pa.list_(pa.float64())), "neg": pa.array([None, []], pa.list_(pa.float64()))})
    combined = clean.combine_columns(empty, ["pos", "neg"])
    assert (combined.type, combined.to_pylist()) == (pa.list_(pa.float64()), [[], []])
    gap = clean.combine_columns(pa.table({"pos": [1.0, None], "neg": [2, 3]}), ["pos", "neg"]).to_pylist()
    assert gap[0] == [1.0, 2.0] and math.isnan(gap[1][0]) and gap[1][1] == 3.0


def test_label_values_are_compared_as_text():
    from lossadvisor.convert import clean

    result = clean.drop_label_values(pa.table({"label": [-1, 0, None, 1]}), "label", ("-1",))
    assert result.table.column("label").to_pylist() == [0, None, 1] and result.dropped == {"label in ['-1']": 1}
    none = clean.drop_label_values(pa.table({"label": ["a", None]}), "label", ())
    assert none.table.column("label").to_pylist() == ["a", None] and none.dropped == {}


def test_no_list_at_all_has_nothing_to_drop():
    from lossadvisor.convert import clean

    empty = pa.table({"label": pa.array([], pa.list_(pa.int64()))})
    assert account(clean.drop_constant_lists(empty)) == ("drop-constant-lists", "same", 0, 0, 0, {}, [], {})
