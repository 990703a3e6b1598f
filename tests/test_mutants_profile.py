"""profile.py: the boundaries and messages that mutation testing (`make mutate`) found unpinned.

Each test builds a small table, profiles it with build_profile (the public entry) and asserts one outcome: the
label kind at each edge of its rule, the class order, the exact --inputs/--label errors, the columns set aside.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lossadvisor.columns import Why
from lossadvisor.errors import SourceError
from lossadvisor.profile import ColumnChoice, build_profile, default_positive_class
from lossadvisor.sources import open_sample

N = 40
WORDS = "the a man woman dog cat runs eats plays ball park city river house red blue green big small".split()


def sentence(i: int, words: int = 7) -> str:
    rng = random.Random(i * 7919 + words)
    return " ".join(rng.choice(WORDS) for _ in range(words)) + f" number {i}"


def profile_of(tmp_path: Path, columns: dict, choice: ColumnChoice | None = None):
    path = tmp_path / "data.parquet"
    pq.write_table(pa.table(columns), path)
    return build_profile(open_sample(str(path)), choice)


def pairs(label: list, name: str = "label", texts: int = 2) -> dict:
    columns = {f"sentence{k + 1}": [sentence(i + 1000 * k) for i in range(len(label))] for k in range(texts)}
    columns[name] = label
    return columns


def kind(tmp_path: Path, label: list, name: str = "label", texts: int = 2) -> str:
    found = profile_of(tmp_path, pairs(label, name, texts))
    assert found.label == name
    return found.label_kind


# --- numeric label kinds, at the edges --------------------------------------------------------------------


def test_a_single_value_label_of_ones_is_binary(tmp_path):
    assert kind(tmp_path, [1] * N) == "binary"


def test_twenty_integer_classes_are_classes_and_twenty_one_are_not(tmp_path):
    assert kind(tmp_path, [i % 20 for i in range(N)]) == "class"
    assert kind(tmp_path, [i % 21 for i in range(N)]) != "class"


@pytest.mark.parametrize("low, high, expected", [
    (0.0, 1.0, "score"),          # both ends of [0, 1] included
    (0.0, 0.99, "score"),
    (0.01, 1.0, "score"),
    (0.0, 1.5, "scaled-score"),   # above 1, on a bounded scale (0-5)
    (0.0, 5.0, "scaled-score"),   # the top of a scale included
    (0.0, 10.0, "scaled-score"),
    (0.0, 100.0, "scaled-score"),
    (0.0, 100.5, "logit"),        # beyond every bounded scale
    (-0.5, 0.5, "logit"),         # negative with two texts: a teacher's logits
])
def test_float_label_kinds(tmp_path, low, high, expected):
    values = [round(low + (high - low) * i / (N - 1), 4) for i in range(N)]
    assert kind(tmp_path, values) == expected


def test_negative_floats_with_three_texts_are_margins(tmp_path):
    values = [round(-1.0 + 2.0 * i / (N - 1), 4) for i in range(N)]
    assert kind(tmp_path, values, texts=3) == "margin"


def test_floats_from_zero_with_three_texts_are_not_margins(tmp_path):
    values = [round(0.0 + 0.9 * i / (N - 1), 4) for i in range(N)]
    assert kind(tmp_path, values, texts=3) == "score"


# --- text labels ------------------------------------------------------------------------------------------------


def test_nli_classes_in_entailment_neutral_contradiction_order(tmp_path):
    names = ["contradiction", "neutral", "entailment"]
    found = profile_of(tmp_path, pairs([names[i % 3] for i in range(N)]))
    assert found.label_kind == "class"
    assert found.classes == ("entailment", "neutral", "contradiction")


def test_other_classes_sorted(tmp_path):
    names = ["sports", "arts", "news"]
    found = profile_of(tmp_path, pairs([names[i % 3] for i in range(N)]))
    assert found.classes == ("arts", "news", "sports")
    assert found.class_counts == {"sports": 14, "arts": 13, "news": 13}


@pytest.mark.parametrize("missing", ["-", "?", "none", "null", "nan", "n/a"])
def test_placeholder_label_values_are_dropped(tmp_path, missing):
    values = (["yes", "no", missing] * N)[:N]
    found = profile_of(tmp_path, pairs(values))
    assert found.drop_label_values == (missing,)
    assert found.classes == ("no", "yes")
    assert missing not in found.class_counts


def test_text_zero_one_labels_are_binary(tmp_path):
    found = profile_of(tmp_path, pairs([str(i % 2) for i in range(N)]))
    assert found.label_kind == "binary"


def test_text_numbers_beyond_one_are_classes(tmp_path):
    found = profile_of(tmp_path, pairs([str(i % 3) for i in range(N)]))
    assert found.label_kind == "class"


def test_a_label_column_reports_its_kind_and_the_inputs_do_not(tmp_path):
    found = profile_of(tmp_path, pairs([i % 2 for i in range(N)]))
    assert found.column("label").label_kind == "binary"
    assert found.column("sentence1").label_kind is None
    assert found.column("label").why is Why.LABEL_NAMED


# --- what the user chose -----------------------------------------------------------------------------------------


def test_unknown_column_message_names_it_and_lists_the_columns(tmp_path):
    with pytest.raises(SourceError) as caught:
        profile_of(tmp_path, pairs([1, 0] * (N // 2)), ColumnChoice(inputs=("sentence1", "nope"), label="gold"))
    assert caught.value.message == "no column named 'nope', 'gold' (columns: sentence1, sentence2, label)"


def test_label_none_is_not_a_column_name(tmp_path):
    found = profile_of(tmp_path, pairs([1, 0] * (N // 2)), ColumnChoice(label="none"))
    assert found.label is None and found.label_kind == "none"


def test_a_column_cannot_be_input_and_label(tmp_path):
    with pytest.raises(SourceError) as caught:
        profile_of(tmp_path, pairs([1, 0] * (N // 2)), ColumnChoice(inputs=("sentence1", "label"), label="label"))
    assert caught.value.message == "column 'label' cannot be both an input and the label"


def test_chosen_inputs_keep_their_order_and_the_rest_is_not_chosen(tmp_path):
    columns = pairs([1, 0] * (N // 2), texts=3)
    found = profile_of(tmp_path, columns, ColumnChoice(inputs=("sentence3", "sentence1")))
    assert found.inputs == ("sentence3", "sentence1")
    assert found.column("sentence1").why is Why.CHOSEN_INPUT
    assert found.column("sentence2").why is Why.NOT_CHOSEN
    assert found.column("sentence2").role == "ignored"


def test_a_chosen_label_is_marked_chosen(tmp_path):
    columns = pairs([1, 0] * (N // 2))
    columns["gold"] = [i % 3 for i in range(N)]
    found = profile_of(tmp_path, columns, ColumnChoice(label="gold"))
    assert found.label == "gold" and found.label_kind == "class"
    assert found.column("gold").why is Why.LABEL_CHOSEN


# --- default_positive_class ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("classes, positive", [
    (["contradiction", " Entailment ", "neutral"], " Entailment "),
    (["b", "a"], "b"),
    (["no", "yes"], "yes"),  # not the first name: 'no' would mine the wrong pairs
    (["False", "True"], "True"),
    (["not_duplicate", "duplicate"], "duplicate"),
    (["yes", "entailment"], "entailment"),  # the most specific name first
    ([3, 1], "3"),
    ([], "0"),
])
def test_default_positive_class(classes, positive):
    assert default_positive_class(classes) == positive


# --- ids, and which of several label-like columns is the label ---------------------------------------------------------


def test_an_id_column_is_not_the_label(tmp_path):
    columns = pairs([i % 2 for i in range(N)], "qid")
    found = profile_of(tmp_path, columns)
    assert found.label is None
    assert found.column("qid").why is Why.ID


def test_unique_whole_numbers_under_any_name_are_ids(tmp_path):
    columns = pairs(list(range(N)), "n")
    found = profile_of(tmp_path, columns)
    assert found.label is None
    assert found.column("n").why is Why.ID


@pytest.mark.parametrize("name", ["labelID", "labelid"])
def test_a_label_name_with_id_glued_on_is_still_a_label(tmp_path, name):
    found = profile_of(tmp_path, pairs([i % 2 for i in range(N)], name))
    assert found.label == name and found.label_kind == "binary"


def test_an_empty_numeric_label_has_no_kind(tmp_path):
    found = profile_of(tmp_path, pairs(pa.array([None] * N, pa.float64())))
    assert found.label == "label" and found.label_kind == "none"


def test_scores_from_zero_above_one_with_three_texts_are_not_margins(tmp_path):
    values = [round(4.5 * i / (N - 1), 4) for i in range(N)]
    assert kind(tmp_path, values, texts=3) == "scaled-score"
    assert kind(tmp_path, [round(0.5 + 4.0 * i / (N - 1), 4) for i in range(N)], texts=3) == "scaled-score"


def two_labels(first: str, second: str) -> dict:
    columns = pairs([i % 3 for i in range(N)], first)
    columns[second] = [(i + 1) % 3 for i in range(N)]
    return columns


@pytest.mark.parametrize("first, second, label", [
    ("relevance", "gold", "gold"),        # a gold label before a second score
    ("relevance", "Gold", "Gold"),        # names match whatever their case
    ("rating", "relevance", "relevance"),  # then relevance / score / sim before the first found
])
def test_which_label_like_column_is_the_label(tmp_path, first, second, label):
    assert profile_of(tmp_path, two_labels(first, second)).label == label


def test_a_graded_list_label_wins_over_a_text_category(tmp_path):
    columns = {
        "query": [sentence(i) for i in range(N)],
        "passages": [[sentence(i * 3 + k + 100) for k in range(3)] for i in range(N)],
        "relevance": [[1, 0, 0] if i % 2 else [0, 1, 0] for i in range(N)],
        "category_label": [("high", "low")[i % 2] for i in range(N)],
    }
    assert profile_of(tmp_path, columns).label == "relevance"


# --- input order, the roles of the other columns, anchor repeats -----------------------------------------------------


def passage(i: int) -> str:
    return " ".join(sentence(i * 10 + k, 9) + "." for k in range(4))


def question(i: int) -> str:
    return f"what does the {sentence(i + 5000, 3)} do?"


def test_the_anchor_comes_first_and_negatives_after_positives(tmp_path):
    columns = {"negative": [sentence(i + 300) for i in range(N)], "positive": [sentence(i + 100) for i in range(N)],
               "query": [sentence(i) for i in range(N)]}
    assert profile_of(tmp_path, columns).inputs == ("query", "positive", "negative")


def test_an_unnamed_pair_with_the_question_second_is_reversed(tmp_path):
    columns = {"c1": [passage(i) for i in range(N)], "c2": [question(i) for i in range(N)]}
    assert profile_of(tmp_path, columns).inputs == ("c2", "c1")
    columns = {"c1": [question(i) for i in range(N)], "c2": [passage(i) for i in range(N)]}
    assert profile_of(tmp_path, columns).inputs == ("c1", "c2")


def test_an_unnamed_pair_of_like_texts_keeps_its_order(tmp_path):
    columns = {"c1": [sentence(i) for i in range(N)], "c2": [question(i) for i in range(N)]}
    assert profile_of(tmp_path, columns).inputs == ("c1", "c2")  # the first is not twice as long


def test_anchor_repeats_counts_rows_per_distinct_anchor(tmp_path):
    columns = {"query": [sentence(i % 10) for i in range(N)], "answer": [sentence(i + 100) for i in range(N)],
               "label": [i % 2 for i in range(N)]}
    assert profile_of(tmp_path, columns).anchor_repeats == pytest.approx(4.0)


@pytest.mark.parametrize("name, values, why", [
    ("notes", [None] * (N - 2) + ["a note here", "another"], Why.MOSTLY_NULL),
    ("split", [("train", "test")[i % 2] for i in range(N)], Why.SPLIT_MARKER),
    ("source", [("wiki", "news", "web", "books", "forum")[i % 5] for i in range(N)], Why.METADATA),
])
def test_roles_of_short_text_columns(tmp_path, name, values, why):
    columns = pairs([i % 2 for i in range(N)])
    columns[name] = values
    found = profile_of(tmp_path, columns)
    assert found.column(name).why is why and found.column(name).role == "ignored"
    assert found.label == "label"


# --- what reads as text: the edges of _looks_like_text -------------------------------------------------------------


def test_half_null_texts_are_still_an_input(tmp_path):
    columns = pairs([i % 2 for i in range(N)])
    columns["sentence2"] = [sentence(i + 500) if i % 2 else None for i in range(N)]  # exactly half: not "mostly"
    assert profile_of(tmp_path, columns).column("sentence2").role == "input"


def test_mostly_empty_texts_are_not_an_input(tmp_path):
    columns = pairs([i % 2 for i in range(N)])
    columns["sentence2"] = [sentence(i + 500) if i < N // 2 - 1 else "" for i in range(N)]  # 21 of 40 empty
    assert profile_of(tmp_path, columns).column("sentence2").role != "input"


def test_two_and_a_half_words_on_average_is_text(tmp_path):
    columns = pairs([i % 2 for i in range(N)])
    columns["sentence2"] = [f"red house {i}" if i % 2 else f"cat{i} runs" for i in range(N)]  # 3 and 2 words
    assert profile_of(tmp_path, columns).column("sentence2").role == "input"


def tree(i: int) -> str:
    return f"(ROOT (S (NP (DT the) (NN dog{i})) (VP (VBZ runs)) (. .)))"


def test_parse_trees_are_set_aside_by_content_or_by_name(tmp_path):
    columns = pairs([i % 2 for i in range(N)])
    columns["tree"] = [tree(i) for i in range(N)]
    columns["premise_PARSE"] = [sentence(i + 900) for i in range(N)]  # plain text, but named a parse
    found = profile_of(tmp_path, columns)
    assert found.column("tree").why is Why.PARSE_TREE
    assert found.column("premise_PARSE").why is Why.PARSE_TREE
    assert found.inputs == ("sentence1", "sentence2")


def test_half_parse_trees_is_not_a_parse_column(tmp_path):
    columns = pairs([i % 2 for i in range(N)])
    columns["sentence2"] = [tree(i) if i % 2 else sentence(i + 500) for i in range(N)]
    assert profile_of(tmp_path, columns).column("sentence2").role == "input"


def test_anchor_repeats_leave_out_null_anchors(tmp_path):
    columns = {"query": [sentence(i % 9) if i < 36 else None for i in range(N)],
               "answer": [sentence(i + 100) for i in range(N)], "label": [i % 2 for i in range(N)]}
    assert profile_of(tmp_path, columns).anchor_repeats == pytest.approx(4.0)


# --- a short text column as the label: the edges of _class_like_text ------------------------------------------------

ANIMALS = ("ant bee cat dog eel fox gnu hen ibis jay kiwi lynx mole newt owl pig quail rat seal toad urchin "
           "vole wolf yak zebu").split()


def with_verdict(values: list) -> dict:
    """Two sentence columns and a short text column 'verdict' (not a label-like name): it is the label only when it
    reads as a small set of classes."""
    columns = {f"sentence{k + 1}": [sentence(i + 1000 * k) for i in range(len(values))] for k in range(2)}
    columns["verdict"] = pa.array(values, pa.string())
    return columns


def cycle(distinct: int, rows: int) -> list[str]:
    return [ANIMALS[i % distinct] for i in range(rows)]


@pytest.mark.parametrize("values, label", [
    (cycle(20, 100), "verdict"),               # 20 classes, the most (rows / 4 = 25 leaves room)
    (cycle(21, 100), None),                    # 21 are too many
    (["yes"] * N, "verdict"),                  # a single class still reads as one
    ([""] * N, None),                          # no value at all: no classes
    (cycle(9, N), "verdict"),                  # under a quarter of the rows
    (cycle(10, N), None),                      # a quarter of the rows: too many for 40 rows
    (cycle(3, 8), None),                       # three values in eight rows: at least three are allowed, but not three
    (cycle(2, 8), "verdict"),
    (cycle(8, 32) + [None] * 8, None),         # 8 classes in 32 non-null rows: a quarter, too many
    (cycle(8, 32) + [""] * 8, None),           # empty strings count like nulls
    (cycle(7, 32) + [None] * 8, "verdict"),
])
def test_when_a_short_text_column_is_the_label(tmp_path, values, label):
    found = profile_of(tmp_path, with_verdict(values))
    assert found.label == label
    assert found.inputs == ("sentence1", "sentence2")


def test_two_and_a_half_words_on_average_are_text_not_classes(tmp_path):
    values = [("red ball", "blue ball", "red big ball", "blue big ball")[i % 4] for i in range(N)]  # 2.5 words
    found = profile_of(tmp_path, with_verdict(values))
    assert found.label is None
    assert found.inputs == ("sentence1", "sentence2", "verdict")


# --- a list label: which lists are the documents, which are set aside (_set_aside_unaligned_lists) ------------------


def docs(i: int, n: int) -> list[str]:
    return [sentence(i * 10 + k + 7000) for k in range(n)]


def list_label_columns(**extra) -> dict:
    """A query, its passages (three a row) and a 0/1 list label aligned with them, plus the columns in `extra`."""
    columns = {"query": [question(i) for i in range(N)], "passages": [docs(i, 3) for i in range(N)],
               "label": [[1, 0, 0] if i % 2 else [0, 1, 0] for i in range(N)]}
    columns.update(extra)
    return columns


def whys(found) -> dict:
    return {c.name: c.why.value for c in found.columns}


def test_lists_beside_a_list_label_are_documents_metadata_or_unaligned(tmp_path):
    columns = list_label_columns(**{
        "answers": [docs(i + 500, 1) for i in range(N)],                                   # one a row: not aligned
        "sources.passage_text": [docs(i + 900, 3) for i in range(N)],                      # aligned, a text name
        "sources.url": [[f"http://example.org/{i}/{k}" for k in range(3)] for i in range(N)],  # aligned, a url
        "tags": [[("news", "web", "wiki")[i % 3]] for i in range(N)],                      # short codes, one a row
    })
    found = profile_of(tmp_path, columns)
    assert whys(found) == {"query": "text", "passages": "text-list", "label": "label-named",
                           "answers": "unaligned-list", "sources.passage_text": "text-list",
                           "sources.url": "metadata", "tags": "unaligned-list"}
    assert found.inputs == ("query", "passages", "sources.passage_text")
    assert found.label_kind == "number-list"


def test_two_lists_beside_a_list_label_are_sorted_out_too(tmp_path):
    found = profile_of(tmp_path, list_label_columns(answers=[docs(i + 500, 1) for i in range(N)]))
    assert whys(found) == {"query": "text", "passages": "text-list", "label": "label-named", "answers": "unaligned-list"}


@pytest.mark.parametrize("aligned_rows, why", [
    (36, "text-list"),        # aligned on 90% of the rows: aligned
    (35, "unaligned-list"),   # 87.5%: not
    (20, "unaligned-list"),   # half: not
    (1, "unaligned-list"),
])
def test_a_list_is_aligned_from_ninety_percent_of_the_rows(tmp_path, aligned_rows, why):
    columns = list_label_columns(snippets=[docs(i + 500, 3 if i < aligned_rows else 2) for i in range(N)],
                                 answers=[docs(i + 800, 1) for i in range(N)])
    found = profile_of(tmp_path, columns)
    assert found.column("snippets").why.value == why
    assert found.column("answers").why.value == "unaligned-list"
    assert found.column("passages").why.value == "text-list"


# --- input order: texts before lists, negatives last; the reversed unnamed pair at its edges (_order_inputs) --------


def test_positive_texts_then_lists_then_negative_texts_then_lists(tmp_path):
    columns = {"negatives": [docs(i + 300, 2) for i in range(N)], "negative": [sentence(i + 400) for i in range(N)],
               "more": [docs(i + 600, 2) for i in range(N)], "answer": [sentence(i + 100) for i in range(N)],
               "query": [sentence(i) for i in range(N)]}
    assert profile_of(tmp_path, columns).inputs == ("query", "answer", "more", "negative", "negatives")


def text_of(length: int, ask: bool, i: int) -> str:
    """A text of exactly `length` characters: a question (ends with '?') or a statement."""
    head = ("what is item " if ask else "the item ") + f"{i:03d} "
    return (head + "ab " * length)[: length - 1] + ("?" if ask else ".")


@pytest.mark.parametrize("asks_first, asks_second, first_len, second_len, reversed_", [
    (0, N, 100, 40, True),       # a passage then a question two and a half times shorter: reversed
    (0, N, 80, 40, False),       # exactly twice as long: not more than twice
    (0, N, 60, 40, False),
    (0, 0, 100, 40, False),      # no questions second
    (N, N, 100, 40, False),      # questions first as well
    (0, 24, 100, 40, False),     # 60% questions second: not more than 60%
    (0, 25, 100, 40, True),
    (8, N, 100, 40, False),      # 20% questions first: not under 20%
    (7, N, 100, 40, True),
])
def test_when_an_unnamed_pair_is_reversed(tmp_path, asks_first, asks_second, first_len, second_len, reversed_):
    columns = {"c1": [text_of(first_len, i < asks_first, i) for i in range(N)],
               "c2": [text_of(second_len, i < asks_second, i + 500) for i in range(N)]}
    assert profile_of(tmp_path, columns).inputs == (("c2", "c1") if reversed_ else ("c1", "c2"))


def test_a_named_anchor_is_never_swapped(tmp_path):
    columns = {"query": [text_of(100, False, i) for i in range(N)], "c2": [text_of(40, True, i) for i in range(N)]}
    assert profile_of(tmp_path, columns).inputs == ("query", "c2")


# --- build_profile with what the user chose ----------------------------------------------------------------------------


def test_a_chosen_label_has_no_label_parts(tmp_path):
    columns = {f"text{k}": [sentence(i + 100 * k) for i in range(N)] for k in range(3)}
    columns.update(pos_score=[i / N for i in range(N)], neg_score=[1 - i / N for i in range(N)])
    assert profile_of(tmp_path, columns).label_parts == ("pos_score", "neg_score")  # without a choice: two parts
    found = profile_of(tmp_path, columns, ColumnChoice(label="pos_score"))
    assert found.label == "pos_score" and found.label_parts == () and found.label_kind == "score"


def test_chosen_text_inputs_count_for_margins(tmp_path):
    columns = pairs([round(-1.0 + 2.0 * i / (N - 1), 4) for i in range(N)], "gold", texts=3)
    choice = ColumnChoice(inputs=("sentence1", "sentence2", "sentence3"))
    assert profile_of(tmp_path, columns, choice).label_kind == "margin"
    two = ColumnChoice(inputs=("sentence1", "sentence2"))
    assert profile_of(tmp_path, columns, two).label_kind == "logit"


def test_a_chosen_input_set_aside_by_name_is_an_input(tmp_path):
    columns = pairs([i % 2 for i in range(N)])
    columns["title"] = [sentence(i + 700) for i in range(N)]
    assert profile_of(tmp_path, columns).column("title").why is Why.METADATA
    found = profile_of(tmp_path, columns, ColumnChoice(inputs=("title", "sentence1")))
    assert found.column("title").why is Why.CHOSEN_INPUT and found.inputs == ("title", "sentence1")


@pytest.mark.parametrize("first", ["passages", "blank"])
def test_anchor_repeats_are_one_when_the_first_input_has_no_distinct_texts(tmp_path, first):
    columns = {"query": [sentence(i % 10) for i in range(N)], "passages": [docs(i, 2) for i in range(N)],
               "blank": [""] * N}
    found = profile_of(tmp_path, columns, ColumnChoice(inputs=(first, "query")))
    assert found.anchor_repeats == 1.0
    assert profile_of(tmp_path, columns, ColumnChoice(inputs=("query", first))).anchor_repeats == pytest.approx(4.0)


# --- which column is the label when none is named so (_choose_label) ------------------------------------------------


def two_sentences(**extra) -> dict:
    columns = {"sentence1": [sentence(i) for i in range(N)], "sentence2": [sentence(i + 1000) for i in range(N)]}
    columns.update(extra)
    return columns


def tags(i: int) -> str:
    return ("news", "web", "wiki")[i % 3]


@pytest.mark.parametrize("columns, label, why", [
    # reserved names and pandas' index are never the label, and the columns after them are still looked at
    ({"dataset_name": ["snli"] * N, **two_sentences(), "return_loss": [i / N for i in range(N)],
      "gold": [i % 2 for i in range(N)]}, "gold", "label-other-name"),
    (two_sentences(return_loss=[i / N for i in range(N)]), None, None),
    # an unnamed number before a short text column; a list of numbers before it too
    (two_sentences(tag=[tags(i) for i in range(N)], n=[i % 2 for i in range(N)]), "n", "label-only-number"),
    (two_sentences(tag=[tags(i) for i in range(N)], vals=[[i % 2, 1] for i in range(N)]), "vals", "label-only-number"),
    # unnamed numbers: a fraction before a small set of whole numbers before a wide range of them
    (two_sentences(small=[i % 3 for i in range(N)], frac=[i / N for i in range(N)]), "frac", "label-only-number"),
    (two_sentences(wide=[i % 30 for i in range(N)], small=[i % 3 for i in range(N)]), "small", "label-only-number"),
    (two_sentences(wide=[i % 30 for i in range(N)], frac=[i / N for i in range(N)]), "frac", "label-only-number"),
])
def test_which_column_is_the_label_without_a_label_name(tmp_path, columns, label, why):
    found = profile_of(tmp_path, columns)
    assert found.label == label
    assert (found.column(label).why.value if label else None) == why


def test_a_short_text_column_alone_is_the_label_with_two_texts_not_one(tmp_path):
    # (its reason reads "the only numeric column", which a text label is not: left to the lead, not pinned here)
    assert profile_of(tmp_path, two_sentences(tag=[tags(i) for i in range(N)])).label == "tag"
    columns = {"sentence1": [sentence(i) for i in range(N)], "tag": [tags(i) for i in range(N)]}
    assert profile_of(tmp_path, columns).label is None


def test_a_teacher_score_beside_two_lists_of_texts_is_one_label(tmp_path):
    columns = {"query": [sentence(i) for i in range(N)], "pos": [docs(i, 2) for i in range(N)],
               "neg": [docs(i + 400, 2) for i in range(N)], "teacher": [i / N for i in range(N)]}
    found = profile_of(tmp_path, columns)
    assert (found.label, found.label_parts, found.label_kind) == ("teacher", (), "score")


def test_flagembedding_score_lists_follow_the_lists_of_texts(tmp_path):
    columns = {"query": [sentence(i) for i in range(N)], "pos": [docs(i, 2) for i in range(N)],
               "neg": [docs(i + 400, 2) for i in range(N)],
               "neg_scores": [[0.1, 0.2] for _ in range(N)], "pos_scores": [[0.9, 0.8] for _ in range(N)]}
    found = profile_of(tmp_path, columns)
    assert (found.label, found.label_parts) == (None, ("pos_scores", "neg_scores"))
    assert found.column("neg_scores").why is Why.LABEL_PART


# --- what reads as text to score (_text_inputs) ------------------------------------------------------------------------


def test_a_text_column_named_candidates_is_an_input_not_metadata(tmp_path):
    columns = {"query": [sentence(i) for i in range(N)], "candidates": [sentence(i + 100) for i in range(N)]}
    found = profile_of(tmp_path, columns)  # 'candidates' holds 'date': a positive's name wins over metadata
    assert found.inputs == ("query", "candidates") and found.column("candidates").why is Why.TEXT


# --- a label with class names (a datasets ClassLabel), and a label of no usable kind (_label_facts) -----------------


def with_class_names(tmp_path: Path, columns: dict, names: dict):
    path = tmp_path / "data.parquet"
    pq.write_table(pa.table(columns), path)
    sample = dataclasses.replace(open_sample(str(path)), class_names=names)
    return build_profile(sample)


@pytest.mark.parametrize("values, names, kind, counts", [
    ([i % 2 for i in range(N)], ["neg", "pos"], "binary", {"neg": 20, "pos": 20}),        # two names over 0/1
    ([i % 2 for i in range(N)], ["a", "b", "c"], "class", {"a": 20, "b": 20}),           # three names: classes
    ([i % 3 for i in range(N)], ["neg", "pos"], "class", {"neg": 14, "pos": 13, "2": 13}),  # an id without a name
])
def test_a_label_with_class_names(tmp_path, values, names, kind, counts):
    found = with_class_names(tmp_path, pairs(values), {"label": names})
    assert (found.label_kind, found.classes, found.class_counts) == (kind, tuple(names), counts)


def test_a_chosen_label_of_texts_lists_has_no_kind(tmp_path):
    columns = pairs([i % 2 for i in range(N)])
    columns["answers"] = [docs(i, 2) for i in range(N)]
    found = profile_of(tmp_path, columns, ColumnChoice(label="answers"))
    assert (found.label, found.label_kind, found.column("answers").label_kind) == ("answers", "none", "none")


# --- the roles of the other columns (_other_role) -----------------------------------------------------------------------


@pytest.mark.parametrize("name, values, why", [
    ("notes", [""] * (N - 2) + ["a note here", "another"], "mostly-null"),         # empty strings count as nulls
    ("notes", [None] * 36 + ["a b", "c d", "e f", "g h"], "short-codes"),           # 90%: not more than 90%
    ("source", [None] + [("wiki", "news", "web")[i % 3] for i in range(N - 1)], "metadata"),  # one null is nothing
    ("code", [f"A-{i}" for i in range(N)], "id"),                                   # id-like values, any name
    ("doc_id", [("alpha", "beta")[i % 2] for i in range(N)], "id"),                 # an id name, any values
    ("code", [f"A-{i}" if i % 2 else ("alpha", "beta")[i % 4 // 2] for i in range(N)], "id"),  # half id-like
    ("part", ["train", "test", "dev", "trial", "validation", "valid", "val"] * 5 + ["train"] * 5, "split-marker"),
    ("codes", [[("x", "y")[i % 2]] for i in range(N)], "code-list"),
    ("scores", [[i / N, 1.0] for i in range(N)], "second-list"),
    ("rank", [i % 5 for i in range(N)], "second-label"),
    ("qid", list(range(N)), "id"),
])
def test_roles_of_the_other_columns(tmp_path, name, values, why):
    columns = pairs([i % 2 for i in range(N)])
    columns[name] = values
    found = profile_of(tmp_path, columns)
    assert found.label == "label"
    assert found.column(name).why.value == why


def test_a_column_of_records_is_nested(tmp_path):
    columns = pairs([i % 2 for i in range(N)])
    columns["meta"] = [{"a": i, "b": "x"} for i in range(N)]
    columns["more"] = [[{"a": i}] for i in range(N)]
    columns["other"] = [[{"b": "y"}] for i in range(N)]
    found = profile_of(tmp_path, columns)
    assert {name: found.column(name).why.value for name in ("meta", "more", "other")} == \
        {"meta": "nested", "more": "nested", "other": "nested"}


def mixed(one_word: str, share: int, words: int) -> list[str]:
    """`share` of every 10 values a one-word value (a number such as 3e2, which is no id, or an id), the others
    sentences of `words` words."""
    return [one_word.format(i) if i % 10 < share else sentence(i + 500, words - 2) for i in range(N)]


@pytest.mark.parametrize("values, is_input", [
    (mixed("{}e2", 5, 4), False),     # half numbers (2.5 words on average): not text
    (mixed("{}e2", 4, 4), True),
    (mixed("{}e2", 6, 5), False),     # mostly numbers, though long sentences make 2.6 words on average
    (mixed("A-{}", 5, 4), False),     # half ids: not text
    (mixed("A-{}", 4, 4), True),
    (mixed("A-{}", 6, 5), False),
])
def test_numbers_or_ids_in_half_the_rows_are_not_text(tmp_path, values, is_input):
    columns = pairs([i % 2 for i in range(N)], texts=3)
    columns["sentence3"] = values
    assert (profile_of(tmp_path, columns).column("sentence3").role == "input") is is_input


# --- a list of floats as the label: a teacher's embedding, or scores for a list ---------------------------------


def vectors(length: int, rows: int = N, vary: bool = False) -> list[list[float]]:
    return [[round((i * 31 + j) % 17 / 17, 3) for j in range(length + (i % 2 if vary else 0))] for i in range(rows)]


@pytest.mark.parametrize("length, expected", [(32, "embedding"), (384, "embedding"), (31, "number-list")])
def test_a_fixed_length_float_list_beside_a_text_is_an_embedding_from_32_values(tmp_path, length, expected):
    found = profile_of(tmp_path, {"sentence": [sentence(i) for i in range(N)], "label": vectors(length)})
    assert (found.label, found.label_kind) == ("label", expected)


def test_float_lists_of_varying_length_are_not_embeddings(tmp_path):
    found = profile_of(tmp_path, {"sentence": [sentence(i) for i in range(N)], "label": vectors(40, vary=True)})
    assert (found.label, found.label_kind) == ("label", "number-list")


def test_scores_beside_a_list_of_documents_are_not_an_embedding(tmp_path):
    """40 documents a query with 40 scores: the same fixed length, but scores for the documents, not a vector."""
    docs = [[sentence(i * 100 + j, 5) for j in range(40)] for i in range(N)]
    found = profile_of(tmp_path, {"query": [sentence(i) for i in range(N)], "docs": docs, "label": vectors(40)})
    assert (found.label, found.label_kind) == ("label", "number-list")
