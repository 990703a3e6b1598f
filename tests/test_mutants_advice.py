"""advice.py: the readings, assumptions, reasons and messages that mutation testing (`make mutate`) found unpinned.

Each test runs the rule engine in-process on a small JSON-lines file written for it and compares a whole output
(every reading with its assumption, every recommendation's reason, the exact error message and hint), so a changed
word, a dropped reading or a reordered list fails. The expected strings were checked against the templates in
lossadvisor/advice.py and the losses each family's table lists for the format.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lossadvisor.advice import advise, explain_loss, inspect_dataset
from lossadvisor.errors import FitError, SourceError
from lossadvisor.profile import build_profile
from lossadvisor.sources import open_sample
from lossadvisor.table import load_table

QUERIES = [f"question number {i} about topic" for i in range(40)]
DOCS = [f"an answer document text {i} with words" for i in range(60)]

LISTWISE = ("LambdaLoss", "PListMLELoss", "ListNetLoss", "RankNetLoss", "ListMLELoss", "ADRMSELoss")
EMBEDDER_SCORE = ("CoSENTLoss", "AnglELoss", "CosineSimilarityLoss")
SPARSE_SCORE = ("SparseCoSENTLoss", "SparseAnglELoss", "SparseCosineSimilarityLoss")


@pytest.fixture(scope="module")
def table():
    return load_table()


def write(folder: Path, rows: list[dict], name: str = "data.jsonl") -> str:
    path = folder / name
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return str(path)


def binary_pairs() -> list[dict]:
    return [{"query": QUERIES[i], "document": DOCS[i], "label": i % 2} for i in range(40)]


def readings(report) -> list[tuple]:
    return [(r.format, r.label_kind, r.assumption, r.losses, r.needs_grouping) for r in report.readings]


def reasons(report) -> list[tuple[str, str]]:
    return [(r.loss, r.reason) for r in report.recommendations]


# --- readings and their assumptions, per family ----------------------------------------------------------------


def test_binary_pairs_read_three_ways_for_a_cross_encoder(tmp_path, table):
    report = inspect_dataset(write(tmp_path, binary_pairs()), table)
    assert readings(report) == [
        ("labeled-pair", "binary", "0/1 read as relevance (1 = positive pair) for BinaryCrossEntropyLoss",
         ("BinaryCrossEntropyLoss",), False),
        ("pair-class", "binary", "0/1 read as two classes for CrossEntropyLoss(num_labels=2)", ("CrossEntropyLoss",), False),
        ("pair-score", "binary", "0/1 read as the ends of a similarity score", ("BinaryCrossEntropyLoss", "MSELoss"), False),
    ]


@pytest.mark.parametrize("family, labeled, classes, score", [
    ("sentence-transformer", ("ContrastiveLoss", "OnlineContrastiveLoss"), ("SoftmaxLoss",), EMBEDDER_SCORE),
    ("sparse-encoder", (), (), SPARSE_SCORE),
    ("multi-vector", (), (), ()),
])
def test_binary_pairs_name_each_embedder_familys_own_losses(tmp_path, table, family, labeled, classes, score):
    report = inspect_dataset(write(tmp_path, binary_pairs()), table.for_family(family))

    def named(losses: tuple[str, ...]) -> str:
        return ", ".join(losses[:2]) or "no loss of this family"

    assert readings(report) == [
        ("labeled-pair", "binary", f"0/1 read as similar (1) or dissimilar (0) pairs for {named(labeled)}", labeled, False),
        ("pair-class", "binary", f"0/1 read as two classes for {named(classes)}", classes, False),
        ("pair-score", "binary", f"0/1 read as the ends of a similarity score for {named(score)}", score, False),
    ]


def float_pairs(scores) -> list[dict]:
    return [{"sentence1": QUERIES[i], "sentence2": DOCS[i], "score": scores(i)} for i in range(40)]


SCORE = float_pairs(lambda i: round((i % 10) / 10, 2))  # in [0, 0.9]: a gold similarity
SCALED = float_pairs(lambda i: (i % 6) + 0.5)  # in [0.5, 5.5]: a similarity on another scale
LOGITS = float_pairs(lambda i: (i % 7) * 1.7 - 5.3)  # negative and above 1: a teacher's logits


@pytest.mark.parametrize("rows, kind, family, assumption, losses", [
    (SCORE, "score", "cross-encoder", "float read as a gold similarity (BinaryCrossEntropyLoss); if a teacher model produced it, "
     "MSELoss distils it", ("BinaryCrossEntropyLoss", "MSELoss")),
    (SCORE, "score", "sentence-transformer", "float read as a gold similarity for CoSENTLoss, AnglELoss", EMBEDDER_SCORE),
    (SCALED, "scaled-score", "cross-encoder", "scores in [0.5, 5.5] need rescaling to [0, 1]", ("BinaryCrossEntropyLoss", "MSELoss")),
    (SCALED, "scaled-score", "sentence-transformer", "scores in [0.5, 5.5] need rescaling to [0, 1]", EMBEDDER_SCORE),
    (SCALED, "scaled-score", "multi-vector", "scores in [0.5, 5.5] need rescaling to [0, 1]", ()),
    (LOGITS, "logit", "cross-encoder", "unbounded floats read as a teacher's logits: MSELoss (distillation) first; a similarity "
     "on a bounded scale needs --score-range", ("BinaryCrossEntropyLoss", "MSELoss")),
    (LOGITS, "logit", "sentence-transformer", "unbounded floats read as a teacher's scores; CoSENTLoss, AnglELoss need a "
     "similarity on a bounded scale (--score-range)", EMBEDDER_SCORE),
    (LOGITS, "logit", "multi-vector", "unbounded floats read as a teacher's scores; no loss of this family need a similarity "
     "on a bounded scale (--score-range)", ()),
])
def test_float_pairs_are_one_pair_score_reading(tmp_path, table, rows, kind, family, assumption, losses):
    report = inspect_dataset(write(tmp_path, rows), table.for_family(family))
    assert readings(report) == [("pair-score", kind, assumption, losses, False)]


def test_a_float_with_three_texts_is_a_teacher_margin(tmp_path, table):
    rows = [{"anchor": QUERIES[i], "positive": DOCS[i], "negative": DOCS[i + 1], "score": round((i % 10) / 10 + 0.05, 2)}
            for i in range(40)]
    report = inspect_dataset(write(tmp_path, rows), table)
    assert readings(report) == [
        ("triplet-margin", "score", "a float in [0, 1] with three texts read as a teacher margin", ("MarginMSELoss",), False),
    ]


@pytest.mark.parametrize("family, loss", [("sentence-transformer", "MarginMSELoss"),
                                          ("sparse-encoder", "SparseMarginMSELoss")])
def test_an_embedder_borrows_only_the_rescaling_note_from_the_cross_encoder(tmp_path, table, family, loss):
    rows = [{"anchor": QUERIES[i], "positive": DOCS[i], "negative": DOCS[i + 1], "score": round((i % 10) / 10 + 0.05, 2)}
            for i in range(40)]
    report = inspect_dataset(write(tmp_path, rows), table.for_family(family))
    assert readings(report) == [("triplet-margin", "score", None, (loss,), False)]


def test_one_judgment_per_row_also_reads_as_lists_grouped_by_the_anchor(tmp_path, table):
    rows = [{"query": QUERIES[i // 4], "document": DOCS[i], "label": i % 2} for i in range(40)]  # 4 rows per query
    report = inspect_dataset(write(tmp_path, rows), table)
    assert readings(report)[3:] == [
        ("labeled-list", "binary", "rows list one judgment each (~4 per query): grouped by query they form a labeled-list",
         LISTWISE, True),
    ]
    assert [r.format for r in report.readings[:3]] == ["labeled-pair", "pair-class", "pair-score"]
    assert report.needs_fixing is False  # the first reading needs no grouping


def anchored(anchors: list[int]) -> list[dict]:
    return [{"query": QUERIES[a], "document": DOCS[i], "label": i % 2} for i, a in enumerate(anchors)]


@pytest.mark.parametrize("anchors, long_form", [
    ([i // 2 for i in range(40)], ["labeled-list"]),  # 2.0 rows per query
    ([(i // 3) * 2 + (i % 3 == 2) for i in range(39)], ["labeled-list"]),  # 39 rows, 26 queries: exactly 1.5
    ([(i // 4) * 3 + min(i % 4, 2) for i in range(40)], []),  # 40 rows, 30 queries: 1.33
    (list(range(40)), []),  # one row each
])
def test_long_form_lists_need_one_and_a_half_rows_per_anchor(tmp_path, table, anchors, long_form):
    report = inspect_dataset(write(tmp_path, anchored(anchors)), table)
    assert [r.format for r in report.readings] == ["labeled-pair", "pair-class", "pair-score", *long_form]


def tuples_with_scores(scores: list[float]) -> list[dict]:
    return [{"query": QUERIES[i], "pos": DOCS[i], "neg1": DOCS[i + 1], "neg2": DOCS[i + 2], "scores": scores}
            for i in range(40)]


@pytest.mark.parametrize("scores, fmt", [
    ([0.5, 1.5], "n-tuple-margin"),  # one margin per negative: texts - 2
    ([0.9, 0.5, 0.1], "n-tuple-scores"),  # one score per document: texts - 1
])
def test_a_list_label_reads_by_its_length(tmp_path, table, scores, fmt):
    report = inspect_dataset(write(tmp_path, tuples_with_scores(scores)), table)
    assert readings(report) == [(fmt, "number-list", None, ("MarginMSELoss",), False)]


def test_a_list_label_of_the_wrong_length_fits_no_format(tmp_path, table):
    report = inspect_dataset(write(tmp_path, tuples_with_scores([0.9, 0.5, 0.1, 0.0])), table)
    assert report.readings == () and report.format is None and report.recommendations == ()
    no_format = [w for w in report.warnings if w.code == "no-format"]
    assert [(w.message, w.fix) for w in no_format] == [(
        "no format of the table fits 4 input columns with a number-list label",
        "Select the text columns and the label: dataset.select_columns([...]); see `lossadvisor table`.",
    )]
    assert report.num_labels is None and report.activation is None
    assert report.families == () and report.format_description is None


# --- recommendations ------------------------------------------------------------------------------------------


def test_logits_put_distillation_first_with_the_reason(tmp_path, table):
    report = inspect_dataset(write(tmp_path, LOGITS), table)
    assert reasons(report) == [
        ("MSELoss", "distillation: regresses the teacher's score for each pair (distillation); the scores are negative "
         "or unbounded, a teacher's logits"),
        ("BinaryCrossEntropyLoss", "pointwise binary cross-entropy on each (query, document) pair; only for a bounded "
         "similarity rescaled with --score-range (not logits)"),
    ]
    assert [(r.distillation, r.num_labels, r.activation) for r in report.recommendations] == [
        (True, 1, "Identity"), (False, 1, "Sigmoid (default)")]
    assert (report.num_labels, report.activation) == (1, "Identity")


def test_gold_scores_put_the_common_choice_first(tmp_path, table):
    report = inspect_dataset(write(tmp_path, SCORE), table)
    assert reasons(report) == [
        ("BinaryCrossEntropyLoss", "common choice: a traditional option that remains very hard to beat for pairs with a "
         "float score or 0/1 label"),
        ("MSELoss", "distillation: regresses the teacher's score for each pair (distillation) (if a teacher model "
         "produced the labels)"),
    ]


def test_embedder_logits_only_for_a_rescaled_similarity(tmp_path, table):
    report = inspect_dataset(write(tmp_path, LOGITS), table.for_family("sentence-transformer"))
    tail = "; only for a bounded similarity rescaled with --score-range (not logits)"
    assert reasons(report) == [
        ("CoSENTLoss", "ranks the pairs' cosine similarities in the order of their gold scores" + tail),
        ("AnglELoss", "CoSENTLoss on angle differences in complex space, which avoids cosine saturation" + tail),
        ("CosineSimilarityLoss", "regresses the cosine similarity of each pair onto its gold score (MSE)" + tail),
    ]
    assert [(r.num_labels, r.activation, r.wrapper) for r in report.recommendations] == [(None, None, None)] * 3


def test_sparse_losses_train_inside_their_wrapper(tmp_path, table):
    report = inspect_dataset(write(tmp_path, SCORE), table.for_family("sparse-encoder"))
    assert [(r.loss, r.wrapper) for r in report.recommendations] == [(name, "SpladeLoss") for name in SPARSE_SCORE]
    first = report.recommendations[0]
    assert first.params == (
        {"name": "query_regularizer_weight", "value": "5e-5", "why": "how hard query vectors are pushed to be sparse"},
        {"name": "document_regularizer_weight", "value": "3e-5",
         "why": "how hard document vectors are pushed to be sparse"},
    )
    assert first.construction.splitlines()[-1] == (
        "loss = losses.SpladeLoss(model, loss=losses.SparseCoSENTLoss(model), query_regularizer_weight=5e-5, "
        "document_regularizer_weight=3e-5)")


def lists(labels: list[int]) -> list[dict]:
    return [{"query": QUERIES[i], "docs": [DOCS[i], DOCS[i + 1], DOCS[i + 2]], "labels": labels} for i in range(40)]


UNSORTED = "; your lists are not sorted by relevance: set respect_input_order=False"


@pytest.mark.parametrize("labels, tail", [([0, 1, 2], UNSORTED), ([2, 1, 0], ""), ([2, 2, 0], "")])
def test_listwise_reasons_warn_of_unsorted_lists(tmp_path, table, labels, tail):
    report = inspect_dataset(write(tmp_path, lists(labels)), table)
    assert reasons(report) == [
        ("LambdaLoss", "common choice: anecdotally the strongest of the listwise losses on the same inputs"),
        ("PListMLELoss", "position-aware ListMLE; assumes the documents are sorted by relevance unless "
         "respect_input_order=False" + tail),
        ("ListNetLoss", "listwise cross-entropy between the score and label distributions"),
        ("RankNetLoss", "pairwise RankNet over every document pair of a list"),
        ("ListMLELoss", "ListMLE likelihood of the relevance order; PListMLELoss usually does better" + tail),
        ("ADRMSELoss", "approximate-rank MSE (Rank-DistiLLM); made for distilling graded rankings"),
    ]


def test_one_unsorted_list_among_sorted_ones_is_unsorted(tmp_path, table):
    rows = lists([2, 1, 0])
    rows[39] = {**rows[39], "labels": [0, 0, 1]}
    report = inspect_dataset(write(tmp_path, rows), table)
    assert report.recommendations[1].reason.endswith(UNSORTED)


def test_the_report_of_binary_pairs(tmp_path, table):
    path = write(tmp_path, binary_pairs())
    report = inspect_dataset(path, table)
    assert (report.dataset, report.source_kind, report.split, report.splits, report.num_rows, report.sample_rows) == (
        path, "json", "train", ("train",), 40, 40)
    assert (report.format, report.format_description, report.needs_fixing, report.num_labels, report.activation) == (
        "labeled-pair", "(anchor, positive/negative) pairs with 1 if positive, 0 if negative", False, 1,
        "Sigmoid (default)")
    assert [(c.name, c.dtype, c.role, c.reason, c.label_kind) for c in report.columns] == [
        ("query", "string", "input", "text", None),
        ("document", "string", "input", "text", None),
        ("label", "int64", "label", "named as sentence-transformers expects", "binary"),
    ]
    assert report.load_code == f"load_dataset(\"json\", data_files={path!r}, split=\"train\")"
    assert (report.family, report.family_title) == ("cross-encoder", "CrossEncoder")
    assert [(f.family, f.loss, f.format) for f in report.families] == [
        ("cross-encoder", "BinaryCrossEntropyLoss", "labeled-pair"),
        ("sentence-transformer", "MultipleNegativesRankingLoss", "triplet"),
        ("sparse-encoder", "SparseMultipleNegativesRankingLoss", "triplet"),
        ("multi-vector", "MultiVectorMultipleNegativesRankingLoss", "triplet"),
    ]
    assert report.tidy is not None and report.tidy.inputs == ("query", "document") and report.tidy.label == "label"


def test_the_report_through_an_embedder_family(tmp_path, table):
    report = inspect_dataset(write(tmp_path, binary_pairs()), table.for_family("sparse-encoder"))
    assert (report.family, report.family_title) == ("sparse-encoder", "SparseEncoder")
    assert report.families[0].family == "sparse-encoder"


def test_class_names_reach_the_report(tmp_path, table):
    rows = [{"premise": QUERIES[i], "hypothesis": DOCS[i], "label": ["entailment", "neutral", "contradiction"][i % 3]}
            for i in range(39)]
    report = inspect_dataset(write(tmp_path, rows), table)
    assert report.classes == ("entailment", "neutral", "contradiction")
    assert (report.format, report.num_labels) == ("pair-class", 3)


# --- asked readings (--as) and refusals -----------------------------------------------------------------------


def test_an_asked_reading_comes_first_and_the_others_keep_their_order(tmp_path, table):
    report = inspect_dataset(write(tmp_path, binary_pairs()), table, reading="pair-score")
    assert [r.format for r in report.readings] == ["pair-score", "labeled-pair", "pair-class"]
    assert report.format == "pair-score"


def test_a_reading_the_data_cannot_take_is_refused_with_the_conversion(tmp_path, table):
    path = write(tmp_path, binary_pairs())
    with pytest.raises(FitError) as caught:
        inspect_dataset(path, table, reading="triplet")
    assert caught.value.message == ("the data cannot be read as triplet (possible readings: labeled-pair, pair-class, "
                                    "pair-score)")
    assert caught.value.hint == (f"Convert it (labeled-pair -> triplet): `lossadvisor convert {path} --to triplet "
                                 "-o triplet-dataset`")


def test_a_reading_refused_where_nothing_fits_says_none(tmp_path, table):
    path = write(tmp_path, tuples_with_scores([0.9, 0.5, 0.1, 0.0]))
    with pytest.raises(FitError) as caught:
        inspect_dataset(path, table, reading="pair")
    assert caught.value.message == "the data cannot be read as pair (possible readings: none)"


def test_no_text_columns_is_refused_with_the_columns(tmp_path, table):
    path = write(tmp_path, [{"a\nb": i, "c": i * 2} for i in range(40)])
    with pytest.raises(SourceError) as caught:
        inspect_dataset(path, table)
    assert caught.value.message == f"{path}: no text columns found (columns: 'a\\nb', c)"
    assert caught.value.hint == ("CrossEncoder losses need text inputs: point at the columns holding the texts "
                                 "(--inputs).")


def test_an_empty_dataset_is_refused(tmp_path, table):
    path = tmp_path / "empty.csv"
    path.write_text("query,document\n", encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        inspect_dataset(str(path), table)
    assert caught.value.message == f"{path}: the dataset is empty (no rows)"


def test_advise_reads_a_profile_the_same_as_inspect(tmp_path, table):
    path = write(tmp_path, binary_pairs())
    report = advise(build_profile(open_sample(path)), table)
    assert readings(report) == readings(inspect_dataset(path, table))


# --- explain ----------------------------------------------------------------------------------------------------


def test_explain_a_class_loss(table):
    explained = explain_loss(table, "crossentropy")
    assert (explained.loss, explained.num_labels, explained.num_labels_rule, explained.activation, explained.role) == (
        "CrossEntropyLoss", 2, "the number of classes (class ids 0..N-1)", "the default", "loss")
    assert explained.rows == ({"format": "pair-class", "inputs": "(sentence_A, sentence_B) pairs", "labels": "class",
                               "num_labels": "num_classes"},)
    assert (explained.family, explained.family_title, explained.wrapper, explained.other_wrappers) == (
        "cross-encoder", "CrossEncoder", None, ())


def test_explain_a_distillation_loss(table):
    explained = explain_loss(table, "MSELoss")
    assert (explained.num_labels, explained.num_labels_rule, explained.activation) == (
        1, "1", "Identity (set activation_fn=torch.nn.Identity())")
    assert explained.convertible_from == ({
        "from": "pair", "to": "pair-score", "needs": ["teacher"],
        "summary": "teacher scores per pair (a CrossEncoder distils them with MSELoss, an embedder trains on them with "
                   "CoSENTLoss)"},)
    assert explained.construction.splitlines()[-2:] == [
        "model = CrossEncoder(MODEL, num_labels=1, activation_fn=torch.nn.Identity())", "loss = losses.MSELoss(model)"]


def test_explain_an_embedder_loss_has_no_head(table):
    explained = explain_loss(table.for_family("sentence-transformer"), "CoSENTLoss")
    assert (explained.num_labels, explained.activation, explained.role) == (None, None, "loss")


def test_explain_mining_needs_nothing_to_supply(table):
    explained = explain_loss(table.for_family("sparse-encoder"), "SparseMultipleNegativesRankingLoss")
    mined = [c for c in explained.convertible_from if c["summary"] == "hard-negative mining"]
    assert mined == [{"from": "pair", "to": "triplet", "summary": "hard-negative mining", "needs": []},
                     {"from": "pair", "to": "n-tuple", "summary": "hard-negative mining", "needs": []}]
    assert (explained.wrapper, explained.other_wrappers) == ("SpladeLoss", ("CachedSpladeLoss", "CSRLoss"))


def test_explain_a_modifier_wraps_the_common_loss(table):
    explained = explain_loss(table.for_family("sentence-transformer"), "MatryoshkaLoss")
    assert (explained.role, explained.params, explained.rows, explained.convertible_from) == ("modifier", (), (), ())
    assert explained.options == ({"name": "matryoshka_dims", "value": "[384, 256, 128, 64]",
                                  "why": "must not exceed the model's embedding dimension"},)
    assert explained.import_path == "sentence_transformers.sentence_transformer.losses.MatryoshkaLoss"
    assert explained.construction.splitlines()[-1] == (
        "loss = losses.MatryoshkaLoss(model, losses.MultipleNegativesRankingLoss(model), "
        "matryoshka_dims=[model.get_embedding_dimension()] + [d for d in [768, 512, 256, 128, 64] "
        "if d < model.get_embedding_dimension()])")
    adaptive = explain_loss(table.for_family("sentence-transformer"), "AdaptiveLayerLoss")
    assert adaptive.construction.splitlines()[-1] == (
        "loss = losses.AdaptiveLayerLoss(model, losses.MultipleNegativesRankingLoss(model))")


def test_explain_a_wrapper_wraps_the_common_loss_with_its_weights(table):
    explained = explain_loss(table.for_family("sparse-encoder"), "SpladeLoss")
    assert explained.role == "wrapper"
    assert explained.params == (
        {"name": "query_regularizer_weight", "value": "5e-5", "why": "how hard query vectors are pushed to be sparse"},
        {"name": "document_regularizer_weight", "value": "3e-5",
         "why": "how hard document vectors are pushed to be sparse"},
    )
    assert explained.summary == "wrapper: the main loss plus FLOPS sparsity regularization of queries and documents"
    assert explained.construction.splitlines()[-1] == (
        "loss = losses.SpladeLoss(model, losses.SparseMultipleNegativesRankingLoss(model), "
        "query_regularizer_weight=5e-5, document_regularizer_weight=3e-5)")
    assert explained.construction.splitlines()[:-1] == explain_loss(
        table.for_family("sparse-encoder"), "CSRLoss").construction.splitlines()[:-1]


def test_score_columns_one_per_document_read_as_a_list_label(tmp_path, table):
    rows = [{"query": QUERIES[i], "positive": DOCS[i], "negative_1": DOCS[i + 1], "negative_2": DOCS[i + 2],
             "score_positive": 0.9 - i / 100, "score_negative_1": 0.5, "score_negative_2": 0.1} for i in range(40)]
    report = inspect_dataset(write(tmp_path, rows), table)
    assert readings(report) == [("n-tuple-scores", "number-list", None, ("MarginMSELoss",), False)]
    assert [r.loss for r in report.recommendations] == ["MarginMSELoss"]


def unlabeled_pairs() -> list[dict]:
    return [{"anchor": QUERIES[i], "positive": DOCS[i]} for i in range(40)]


def test_an_explicit_format_is_read_only_when_asked(tmp_path, table):
    path = write(tmp_path, unlabeled_pairs())
    embedder = table.for_family("sentence-transformer")
    assert [r.format for r in inspect_dataset(path, embedder).readings] == ["pair"]
    asked = inspect_dataset(path, embedder, reading="anchor-anchor")
    assert [(r.format, r.losses) for r in asked.readings] == [
        ("anchor-anchor", ("ContrastiveTensionLossInBatchNegatives",)),
        ("pair", ("MultipleNegativesRankingLoss", "CachedMultipleNegativesRankingLoss", "MegaBatchMarginLoss",
                  "GISTEmbedLoss", "CachedGISTEmbedLoss", "MultipleNegativesSymmetricRankingLoss",
                  "CachedMultipleNegativesSymmetricRankingLoss")),
    ]
    assert [r.loss for r in asked.recommendations] == ["ContrastiveTensionLossInBatchNegatives"]


def test_one_label_value_is_no_label(tmp_path, table):
    rows = [{"query": QUERIES[i], "document": DOCS[i], "label": 1} for i in range(40)]
    report = inspect_dataset(write(tmp_path, rows), table)
    assert readings(report) == [
        ("pair", "none", None, ("MultipleNegativesRankingLoss", "CachedMultipleNegativesRankingLoss"), False)]
    assert report.needs_fixing is True  # the single-class warning


def test_the_column_choice_reaches_the_profile(tmp_path, table):
    from lossadvisor.profile import ColumnChoice

    path = write(tmp_path, binary_pairs())
    report = inspect_dataset(path, table, choice=ColumnChoice(inputs=("query", "document"), label="none"))
    assert [r.format for r in report.readings] == ["pair"]


@pytest.mark.parametrize("rows, first_pick, first_answer", [
    (LOGITS, "MSELoss", "a teacher model's scores or logits (MSELoss, distillation)"),
    (SCORE, "BinaryCrossEntropyLoss", "a similarity on a bounded scale (BinaryCrossEntropyLoss)"),
])
def test_logits_make_every_family_pick_distillation_and_ask_first_for_a_teacher(tmp_path, table, rows, first_pick,
                                                                                 first_answer):
    report = inspect_dataset(write(tmp_path, rows), table)
    assert [(f.family, f.loss) for f in report.families] == [
        ("cross-encoder", first_pick), ("sentence-transformer", "CoSENTLoss"), ("sparse-encoder", "SparseCoSENTLoss"),
        ("multi-vector", None)]
    assert [(q.topic, q.choices[0].answer) for q in report.questions] == [("score-reading", first_answer)]


def test_binary_pairs_ask_nothing(tmp_path, table):
    assert inspect_dataset(write(tmp_path, binary_pairs()), table).questions == ()


def test_an_asked_long_form_reading_needs_fixing(tmp_path, table):
    rows = [{"query": QUERIES[i // 4], "document": DOCS[i], "label": i % 2} for i in range(40)]
    report = inspect_dataset(write(tmp_path, rows), table, reading="labeled-list")
    assert (report.format, report.needs_fixing) == ("labeled-list", True)
    assert report.readings[0].needs_grouping is True
    # one 0/1 label per row, not a list: no sort order to warn about before the rows are grouped
    assert [r.reason for r in report.recommendations if r.loss in ("PListMLELoss", "ListMLELoss")] == [
        "position-aware ListMLE; assumes the documents are sorted by relevance unless respect_input_order=False",
        "ListMLE likelihood of the relevance order; PListMLELoss usually does better"]


@pytest.mark.parametrize("row, reading", [
    (lambda i: {"query": QUERIES[i], "pos": [DOCS[i]], "neg": [DOCS[i + 1], DOCS[i + 2]]}, ("pos-neg-lists", "none")),
    (lambda i: {"query": QUERIES[i], "pos": [DOCS[i]], "neg": [DOCS[i + 1], DOCS[i + 2]], "pos_scores": [0.9],
                "neg_scores": [0.2, 0.1]}, ("pos-neg-lists-scores", "number-list")),
    (lambda i: {"query": QUERIES[i], "positive": DOCS[i], "negatives": [DOCS[i + 1], DOCS[i + 2]]},
     ("list-negatives", "none")),
])
def test_lists_of_texts_read_by_how_many_inputs_are_lists(tmp_path, table, row, reading):
    report = inspect_dataset(write(tmp_path, [row(i) for i in range(40)]), table)
    assert [(r.format, r.label_kind, r.assumption) for r in report.readings] == [(*reading, None)]


def test_the_sort_order_is_read_from_the_first_500_lists(tmp_path, table):
    rows = [{"query": f"question {i} about a topic", "docs": [f"document {i} a", f"document {i} b", f"document {i} c"],
             "labels": [2, 1, 0]} for i in range(501)]
    rows[500]["labels"] = [0, 1, 2]  # the 501st list is unsorted: past what the check reads
    report = inspect_dataset(write(tmp_path, rows), table)
    assert report.recommendations[1].reason == ("position-aware ListMLE; assumes the documents are sorted by relevance "
                                                "unless respect_input_order=False")


def test_rows_without_columns_are_refused(tmp_path, table):
    path = tmp_path / "objects.jsonl"
    path.write_text("{}\n{}\n", encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        inspect_dataset(str(path), table)
    assert caught.value.message == f"{path}: the dataset has no columns"


def test_rare_positives_weigh_the_binary_loss_from_the_label_column(tmp_path, table):
    rows = [{"query": QUERIES[i], "document": DOCS[i], "label": int(i % 4 == 0)} for i in range(40)]  # 10 of 40
    first = inspect_dataset(write(tmp_path, rows), table).recommendations[0]
    assert first.params == ({"name": "pos_weight", "value": "torch.tensor(3.00)",
                             "why": "30 negatives / 10 positives in the data; balances rare positives (set from the "
                                    "label ratio)"},)
    assert first.construction.splitlines()[-1] == (
        "loss = losses.BinaryCrossEntropyLoss(model, pos_weight=torch.tensor(3.00))")


def test_unlabeled_pairs_are_offered_mining(tmp_path, table):
    path = write(tmp_path, unlabeled_pairs())
    report = inspect_dataset(path, table)
    assert [(c.to, c.command) for c in report.conversions][:2] == [
        ("triplet", f"lossadvisor convert {path} --to triplet -o triplet-dataset"),
        ("n-tuple", f"lossadvisor convert {path} --to n-tuple -o n-tuple-dataset"),
    ]
    assert inspect_dataset(write(tmp_path, binary_pairs(), "binary.jsonl"), table).conversions == ()


@pytest.mark.parametrize("losses, named", [
    (["MSELoss"], "MSELoss"),  # the loss the table lists for labeled-pair is the one named
    (None, "BinaryCrossEntropyLoss"),  # no labeled-pair row in the family: the assumption still names a loss
])
def test_the_relevance_assumption_names_the_tables_first_labeled_pair_loss(tmp_path, losses, named):
    import yaml

    from lossadvisor.table import default_table_path

    raw = yaml.safe_load(default_table_path().read_text(encoding="utf-8"))
    family = raw["families"]["cross-encoder"]
    if losses is None:
        family["rows"] = [row for row in family["rows"] if row["format"] != "labeled-pair"]
    else:
        next(row for row in family["rows"] if row["format"] == "labeled-pair")["losses"] = losses
    path = tmp_path / "table.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    report = inspect_dataset(write(tmp_path, binary_pairs()), load_table(path))
    assert (report.readings[0].format, report.readings[0].assumption) == (
        "labeled-pair", f"0/1 read as relevance (1 = positive pair) for {named}")


def test_teacher_margins_need_no_assumption(tmp_path, table):
    rows = [{"anchor": QUERIES[i], "positive": DOCS[i], "negative": DOCS[i + 1], "margin": (i % 9) * 0.7 - 2.5}
            for i in range(40)]
    report = inspect_dataset(write(tmp_path, rows), table)
    assert readings(report) == [("triplet-margin", "margin", None, ("MarginMSELoss",), False)]


def test_each_familys_next_command_names_the_dataset(tmp_path, table):
    """The pick's command is pasted as printed: it must name the user's file, not 'None'."""
    path = write(tmp_path, binary_pairs())
    report = inspect_dataset(path, table)
    commands = [f.command for f in report.families]
    assert len(commands) == 4 and all(c.startswith("lossadvisor ") for c in commands)
    assert all(f" {path} " in f"{c} " for c in commands), commands
