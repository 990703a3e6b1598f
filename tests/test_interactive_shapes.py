"""advise asks what a shape leaves open (inspect's `questions`) and every answer becomes the flag it stands for."""

from __future__ import annotations

from pathlib import Path

from real_data import REAL
from test_interactive import commands_at_end, scripted_session

SHAPES = Path(__file__).resolve().parent / "data" / "shapes"
CRANFIELD = REAL / "cranfield" / "cranfield_judgments_joined.csv"
QUIET = {"fixed copy": False, "Smoke-train": False, "training script": False, "Run it?": False}


def test_the_label_question_takes_the_other_column(tmp_path, monkeypatch):
    answers = {**QUIET, "Which column is the label": 1, "Convert": "(no conversion)"}
    code, text, prompter = scripted_session(SHAPES / "bm25_vs_relevance_label.jsonl", answers, tmp_path, monkeypatch)
    assert code == 0
    assert any("Which column is the label" in q for q in prompter.asked)
    assert "--label bm25_label" in commands_at_end(text)[0]


def test_logits_read_as_a_bounded_similarity_carry_the_score_range(tmp_path, monkeypatch):
    answers = {**QUIET, "a gold similarity or a teacher's logits": 1, "Convert": "(no conversion)"}
    code, text, prompter = scripted_session(SHAPES / "teacher_logits.jsonl", answers, tmp_path, monkeypatch)
    assert code == 0
    trial = next(line for line in commands_at_end(text) if " trial " in line)
    assert "--score-range" in trial and "MSELoss" not in trial


def test_logits_read_as_a_teacher_pick_mse(tmp_path, monkeypatch):
    answers = {**QUIET, "Convert": "(no conversion)"}  # the default answer: a teacher's logits
    code, text, _ = scripted_session(SHAPES / "teacher_logits.jsonl", answers, tmp_path, monkeypatch)
    assert code == 0
    trial = next(line for line in commands_at_end(text) if " trial " in line)
    assert "--loss MSELoss" in trial and "--score-range" not in trial


def test_the_expansion_and_the_ragged_policy_reach_the_convert_command(tmp_path, monkeypatch):
    answers = {**QUIET, "Which expansion": 2, "Negative lists differ": 1}
    code, text, prompter = scripted_session(SHAPES / "flag_query_pos_neg.jsonl", answers, tmp_path, monkeypatch)
    assert code == 0
    convert = next(line for line in commands_at_end(text) if " convert " in line)
    expansion = next(q for q in prompter.asked if "Which expansion" in q)
    assert "--negatives-policy pad" in convert
    assert "convert will expand the data to" in text and "--to " in convert
    assert expansion


def test_an_inverted_grade_scale_maps_to_a_gain(tmp_path, monkeypatch):
    answers = {**QUIET, "Is 1 the best grade": 0, "Convert": "labeled-list", "Where should the converted data go": "lists"}
    code, text, prompter = scripted_session(CRANFIELD, answers, tmp_path, monkeypatch)
    assert any("Is 1 the best grade" in q for q in prompter.asked), prompter.asked
    convert = next(line for line in commands_at_end(text) if " convert " in line)
    assert "--gain 1=4,2=3,3=2,4=1" in convert
