"""advise and the model family (issue 13): it asks which model is trained where the families' answers differ, and
every command it builds carries --family. Real data: ../shared/data/real (MANIFEST.yaml)."""

from __future__ import annotations

import subprocess
import sys

from test_interactive import CTRL_C, ENTER, SQUAD, STSB, Terminal, commands_at_end, env, scripted_session

QUIET = {"fixed copy": False, "Smoke-train": False, "training script": False}
QUESTION = "Which model are you training?"


def test_choosing_a_dense_embedder_advises_its_losses_and_flags_every_command(tmp_path, monkeypatch):
    answers = {**QUIET, QUESTION: "sentence-transformer", "Convert": "(no conversion)"}
    code, text, prompter = scripted_session(SQUAD, answers, tmp_path, monkeypatch)
    assert code == 0
    assert any(QUESTION in q for q in prompter.asked)
    assert "For an embedder on pair data" in text
    assert "model = SentenceTransformer(MODEL)" in text
    assert "CrossEncoder(num_labels" not in text.split("Recommendation", 1)[1]
    commands = commands_at_end(text)
    assert commands[0] == f"lossadvisor inspect {SQUAD} --family sentence-transformer"
    assert all(line.endswith("--family sentence-transformer") for line in commands), commands
    assert "--loss MultipleNegativesRankingLoss" in commands[-1]


def test_choosing_a_sparse_embedder_reaches_the_convert_command(tmp_path, monkeypatch):
    """STS-B's 0-5 scores under a SparseEncoder: the fix is written with --family sparse-encoder."""
    answers = {**QUIET, QUESTION: "sparse-encoder", "fixed copy": True, "Run it?": False}
    code, text, _ = scripted_session(STSB, answers, tmp_path, monkeypatch)
    assert code == 0
    assert "SparseCoSENTLoss" in text and "SpladeLoss" in text
    commands = commands_at_end(text)
    assert f"# skipped: lossadvisor convert {STSB} --fix -o fixed-dataset --score-range 0:5 --family sparse-encoder" in commands


def test_the_default_answer_keeps_the_reranker_commands(tmp_path, monkeypatch):
    code, text, prompter = scripted_session(STSB, {**QUIET}, tmp_path, monkeypatch)
    assert code == 0 and any(QUESTION in q for q in prompter.asked)
    assert not any("--family" in line for line in commands_at_end(text))


def test_a_family_given_is_not_asked(tmp_path, monkeypatch):
    from rich.console import Console
    from test_interactive import Scripted

    from lossadvisor.interactive import run_session

    monkeypatch.chdir(tmp_path)
    console = Console(record=True, width=200)
    prompter = Scripted({**QUIET, "Convert": "(no conversion)"})
    assert run_session(str(SQUAD), prompter, console, family="multi-vector") == 0
    assert not any(QUESTION in q for q in prompter.asked)
    text = console.export_text()
    assert "MultiVectorMultipleNegativesRankingLoss" in text
    assert commands_at_end(text)[0] == f"lossadvisor inspect {SQUAD} --family multi-vector"


def test_family_on_the_command_line_without_a_terminal(tmp_path):
    process = subprocess.run([sys.executable, "-m", "lossadvisor", "advise", str(SQUAD), "--family", "embedder"],
                             stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=tmp_path, env=env(), timeout=300)
    assert process.returncode == 0, process.stderr
    assert QUESTION not in process.stdout
    assert commands_at_end(process.stdout)[0] == f"lossadvisor inspect {SQUAD} --family sentence-transformer"


def test_in_a_terminal_the_family_is_a_choice(tmp_path):
    term = Terminal([str(SQUAD)], tmp_path)
    term.answer("Use these columns?", ENTER)
    term.answer(QUESTION, "sparse" + ENTER)  # typed text filters the choices
    term.answer("What should the model do?", CTRL_C)
    code, seen = term.finish()
    assert code == 130
    assert "advising a SparseEncoder" in seen, seen[-2000:]
