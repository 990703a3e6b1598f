"""convert for the formats of the other families (issue 13): pair-class → single-class, single-class → triplet,
single → anchor-anchor, teacher embeddings → input-embeddings, and scores from a dense teacher; convert --family.

Real data: ../shared/data/real (MANIFEST.yaml). The teacher is the installed offline all-MiniLM-L6-v2 copy.
"""

from __future__ import annotations

import json
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from lossadvisor.cli.app import app
from lossadvisor.convert import ConvertOptions, run_conversion
from lossadvisor.errors import FitError
from lossadvisor.table import load_table
from lossadvisor.tiny_model import installed_base
from tests.real_data import REAL, needs_minilm, needs_real

runner = CliRunner()
MINILM = installed_base()




@pytest.fixture(scope="module")
def table():
    return load_table()


def convert(*args: str) -> dict:
    result = runner.invoke(app, ["convert", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@needs_real
def test_pair_class_to_single_class_on_snli(tmp_path):
    source = pq.read_table(REAL / "snli/snli_pair_class.parquet")
    report = convert(str(REAL / "snli/snli_pair_class.parquet"), "--to", "single-class", "-o", str(tmp_path / "s.parquet"),
                     "--family", "sentence-transformer")
    out = pq.read_table(tmp_path / "s.parquet")
    assert out.column_names == ["text", "label"]
    texts = out.column("text").to_pylist()
    assert len(texts) == len(set(texts))  # one row per text
    a, b, labels = (source.column(i).to_pylist() for i in (0, 1, 2))
    votes: dict = {}
    for x, y, label in zip(a, b, labels):
        for text in (x, y):
            if text and label is not None:
                votes.setdefault(text, Counter())[label] += 1
    assert set(texts) == set(votes)
    for text, label in zip(texts, out.column("label").to_pylist()):  # the most frequent class of the text's pairs
        assert votes[text][label] == max(votes[text].values())
    several = sum(1 for counter in votes.values() if len(counter) > 1)
    assert report["stats"]["texts_with_several_classes"] == several
    assert any("several classes" in note for note in report["notes"])
    assert report["verdict"]["format"] == "single-class"
    assert report["verdict"]["losses"][0] == "BatchAllTripletLoss"  # the family's losses, not the CrossEncoder's


@needs_real
def test_single_class_to_triplet(tmp_path, table):
    st = table.for_family("sentence-transformer")
    pairs = pq.read_table(REAL / "snli/snli_pair_class.parquet")
    singles = run_conversion(pairs.select([0, 1, 2]).rename_columns(["premise", "hypothesis", "label"]),
                             "pair-class", "single-class", st).table
    klass = dict(zip(singles.column("text").to_pylist(), singles.column("label").to_pylist()))
    result = run_conversion(singles, "single-class", "triplet", st, ConvertOptions(seed=3))
    out = result.table
    assert out.column_names == ["anchor", "positive", "negative"] and out.num_rows > 0
    for anchor, positive, negative in zip(*(out.column(i).to_pylist() for i in range(3))):
        assert klass[anchor] == klass[positive] and anchor != positive
        assert klass[negative] != klass[anchor]
    again = run_conversion(singles, "single-class", "triplet", st, ConvertOptions(seed=3)).table
    assert again.equals(out)  # seeded
    assert result.rows_in == out.num_rows + sum(result.dropped.values())


def test_single_class_with_one_class_is_refused(table):
    singles = pa.table({"text": ["a b c", "d e f"], "label": [0, 0]})
    with pytest.raises(FitError, match="two or more classes"):
        run_conversion(singles, "single-class", "triplet", table.for_family("sentence-transformer"))


@needs_real
def test_single_to_anchor_anchor(tmp_path):
    premises = list(dict.fromkeys(pq.read_table(REAL / "snli/snli_pair_class.parquet").column(0).to_pylist()))[:40]
    path = tmp_path / "snli_premises.parquet"  # provenance: snli/snli_pair_class.parquet, its first 40 premises
    pq.write_table(pa.table({"text": premises}), path)
    report = convert(str(path), "--to", "anchor-anchor", "-o", str(tmp_path / "aa.parquet"), "--family", "sentence-transformer")
    out = pq.read_table(tmp_path / "aa.parquet")
    assert out.column(0).to_pylist() == out.column(1).to_pylist() == premises
    assert report["verdict"]["format"] == "anchor-anchor"  # read as what was made, not as (anchor, positive) pairs
    assert report["verdict"]["losses"] == ["ContrastiveTensionLossInBatchNegatives"]


def test_input_embeddings_need_a_teacher(tmp_path):
    path = tmp_path / "texts.parquet"
    pq.write_table(pa.table({"text": [f"sentence number {i} of a few words" for i in range(10)]}), path)
    result = runner.invoke(app, ["convert", str(path), "--to", "input-embeddings", "-o", str(tmp_path / "o.parquet"),
                                 "--family", "sentence-transformer"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == ("Error: converting single to input-embeddings needs a teacher SentenceTransformer"
                                            " to embed the texts")


@pytest.mark.slow
@needs_real
@needs_minilm
def test_teacher_embeddings_from_minilm(tmp_path):
    import numpy as np
    from sentence_transformers import SentenceTransformer

    premises = list(dict.fromkeys(pq.read_table(REAL / "snli/snli_pair_class.parquet").column(0).to_pylist()))[:24]
    path = tmp_path / "snli_premises.parquet"  # provenance: snli/snli_pair_class.parquet, its first 24 premises
    pq.write_table(pa.table({"text": premises}), path)
    report = convert(str(path), "--to", "input-embeddings", "-o", str(tmp_path / "emb.parquet"), "--teacher", MINILM,
                     "--family", "sentence-transformer")
    assert report["stats"]["dimension"] == 384
    assert report["verdict"]["format"] == "input-embeddings"
    assert set(report["verdict"]["losses"]) == {"MSELoss", "EmbedDistillLoss"}
    out = pq.read_table(tmp_path / "emb.parquet")
    got = np.asarray(out.column("label").to_pylist(), dtype=np.float32)
    want = SentenceTransformer(MINILM, device="cpu").encode(premises, convert_to_numpy=True)
    assert np.allclose(got, want, atol=1e-4)


@pytest.mark.slow
@needs_real
@needs_minilm
def test_scores_from_a_dense_teacher(tmp_path):
    import numpy as np
    import pyarrow.csv as pacsv
    from sentence_transformers import SentenceTransformer

    pairs = pacsv.read_csv(REAL / "squad/squad_qa_pairs.csv").slice(0, 20)
    path = tmp_path / "squad_20.parquet"  # provenance: squad/squad_qa_pairs.csv, its first 20 rows
    pq.write_table(pairs, path)
    report = convert(str(path), "--to", "pair-score", "-o", str(tmp_path / "ps.parquet"), "--teacher", MINILM,
                     "--family", "sentence-transformer")
    assert report["stats"]["teacher_kind"] == "SentenceTransformer"
    assert report["verdict"]["format"] == "pair-score"
    assert report["verdict"]["losses"][0] == "CoSENTLoss"
    out = pq.read_table(tmp_path / "ps.parquet")
    model = SentenceTransformer(MINILM, device="cpu")
    a = model.encode(out.column(0).to_pylist(), convert_to_tensor=True)
    b = model.encode(out.column(1).to_pylist(), convert_to_tensor=True)
    want = model.similarity_pairwise(a, b).numpy()
    assert np.allclose(np.asarray(out.column("label").to_pylist()), want, atol=1e-4)


def test_teacher_kind_from_the_folder(tmp_path):
    from lossadvisor.convert.models import teacher_kind

    dense = tmp_path / "dense"
    dense.mkdir()
    (dense / "modules.json").write_text(json.dumps([{"type": "sentence_transformers.models.Transformer"}]))
    sparse = tmp_path / "sparse"
    sparse.mkdir()
    (sparse / "modules.json").write_text(json.dumps([{"type": "sentence_transformers.sparse_encoder.models.SpladePooling"}]))
    cross = tmp_path / "cross"
    cross.mkdir()
    (cross / "config.json").write_text("{}")
    typed = tmp_path / "typed"
    typed.mkdir()
    (typed / "config_sentence_transformers.json").write_text(json.dumps({"model_type": "SparseEncoder"}))
    assert [teacher_kind(p) for p in (dense, sparse, cross, typed)] == ["dense", "sparse", "cross", "sparse"]
    if MINILM:
        assert teacher_kind(MINILM) == "dense"


def test_convert_family_picks_the_verdicts_losses(tmp_path):
    path = tmp_path / "pairs.parquet"
    texts = [f"what is the meaning of thing {i} today" for i in range(30)]
    pq.write_table(pa.table({"query": texts, "answer": [t.upper() + " answer text" for t in texts]}), path)
    report = convert(str(path), "--fix", "-o", str(tmp_path / "st.parquet"), "--family", "sentence-transformer")
    assert report["verdict"]["losses"][0] == "MultipleNegativesRankingLoss"
    assert "MegaBatchMarginLoss" in report["verdict"]["losses"]  # a SentenceTransformer loss
    report = convert(str(path), "--fix", "-o", str(tmp_path / "ce.parquet"))
    assert "MegaBatchMarginLoss" not in report["verdict"]["losses"]
