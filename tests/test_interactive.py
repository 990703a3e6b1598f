"""`lossadvisor advise`: the real program in a pseudo-terminal (pexpect), on the real data of ../shared/data/real.

Each session runs in a temporary working directory, so the files it writes (converted data, scripts) are checked
there. The answers are keystrokes: Enter takes the highlighted default, typed text filters a choice list.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pexpect  # a test dependency: missing, the suite must fail, not skip
import pytest
import questionary  # noqa: F401  (the same)
from interrupts import default_sigint
from real_data import REAL

SNLI = REAL / "snli" / "snli_pair_class.parquet"
SQUAD = REAL / "squad" / "squad_qa_pairs.csv"
STSB = REAL / "stsb" / "stsb_train_sample.csv"
WIKIQA = REAL / "wikiqa" / "WikiQA-test.tsv"
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[=>()][0-9A-B]?")
ENTER, CTRL_C, BACKSPACE = "\r", "\x03", "\x7f"
HEAVY = {"torch", "transformers", "sentence_transformers", "datasets"}


def env() -> dict[str, str]:
    # PROMPT_TOOLKIT_NO_CPR: pexpect does not answer prompt_toolkit's cursor-position request.
    return dict(os.environ, COLUMNS="120", LINES="40", TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1", PYTHONUNBUFFERED="1")


class Terminal:
    """`python -m lossadvisor advise ARGS` in a pseudo-terminal, answered keystroke by keystroke."""

    def __init__(self, args: list[str], cwd: Path, timeout: float = 60) -> None:
        self.child = pexpect.spawn(sys.executable, ["-m", "lossadvisor", "advise", *args], env=env(), cwd=str(cwd),
                                   timeout=timeout, encoding="utf-8", dimensions=(40, 120), preexec_fn=default_sigint)
        self.seen: list[str] = []

    def answer(self, question: str, keys: str, timeout: float | None = None) -> None:
        """Wait for `question` (a literal), then type `keys`."""
        self.child.expect_exact(question, timeout=timeout if timeout is not None else -1)
        self.seen.append(self.child.before + self.child.after)
        time.sleep(0.15)  # let prompt_toolkit finish drawing before the keys arrive
        self.child.send(keys)

    def finish(self, timeout: float = 180) -> tuple[int, str]:
        self.child.expect(pexpect.EOF, timeout=timeout)
        self.seen.append(self.child.before)
        self.child.close()
        code = self.child.exitstatus if self.child.exitstatus is not None else 128 + (self.child.signalstatus or 0)
        return code, plain("".join(self.seen))


def plain(text: str) -> str:
    return ANSI.sub("", text).replace("\r", "")


def commands_at_end(transcript: str) -> list[str]:
    """The 'Equivalent commands' block the session ends with."""
    tail = transcript.rsplit("Equivalent commands", 1)[1]
    return [line.strip() for line in tail.splitlines()[1:] if line.strip()]


def test_pair_class_converted_to_triplets(tmp_path):
    """SNLI (class ids): goal reranker → convert --to triplet with entailment (id 0) as the positive class."""
    term = Terminal([str(SNLI)], tmp_path)
    term.answer("Use these columns?", ENTER)
    term.answer("Which model are you training?", ENTER)  # the reranker (CrossEncoder), the default
    term.answer("What should the model do?", "Reranker" + ENTER)  # the default (from the data) is the classifier
    term.answer("Convert the data to another format?", "triplet" + ENTER)
    term.answer("Which class marks a positive (matching) pair?", "0" + ENTER)  # SNLI: 0 = entailment
    term.answer("Where should the converted data go?", ENTER)
    term.answer("Run it?", ENTER)
    term.answer("Which loss?", ENTER)
    term.answer("Smoke-train", "n")
    term.answer("Write a training script", "n")
    code, seen = term.finish()
    assert code == 0, seen[-3000:]
    assert "CrossEntropyLoss" in seen  # the classifier was offered, with its loss
    assert "inputs premise → hypothesis; label label" in seen
    assert f"$ lossadvisor convert {SNLI} --to triplet -o triplet-dataset --positive-class 0" in seen
    commands = commands_at_end(seen)
    assert commands[0] == f"lossadvisor inspect {SNLI}"
    assert commands[1] == f"lossadvisor convert {SNLI} --to triplet -o triplet-dataset --positive-class 0"
    assert commands[2].startswith("# skipped: lossadvisor trial triplet-dataset --loss MultipleNegativesRankingLoss")
    assert commands[3].startswith("# skipped: lossadvisor scaffold triplet-dataset --loss MultipleNegativesRankingLoss -o train.py")

    import pyarrow.parquet as pq
    from datasets import load_from_disk

    triplets = load_from_disk(str(tmp_path / "triplet-dataset"))
    assert len(triplets.column_names) == 3 and len(triplets) > 100
    source = pq.read_table(SNLI).to_pylist()
    entailed = {(r["premise"], r["hypothesis"]) for r in source if r["label"] == 0}
    anchor, positive, negative = triplets.column_names
    rows = triplets.select(range(50))
    assert all((row[anchor], row[positive]) in entailed for row in rows)
    assert not any((row[anchor], row[negative]) in entailed for row in rows)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["triplet-dataset"]


@pytest.mark.slow
def test_pairs_mined_into_labeled_lists_and_trialled(tmp_path):
    """SQuAD (question, context) pairs: mine into labeled-list, then a short LambdaLoss trial."""
    term = Terminal([str(SQUAD)], tmp_path)
    term.answer("Use these columns?", ENTER)
    term.answer("Which model are you training?", ENTER)  # the reranker (CrossEncoder), the default
    term.answer("What should the model do?", ENTER)  # reranker (the alternative is distillation with a teacher)
    term.answer("Convert the data to another format?", "labeled-list" + ENTER)
    term.answer("How many hard negatives per query?", BACKSPACE + "4" + ENTER)
    term.answer("Where should the converted data go?", ENTER)
    term.answer("Run it?", ENTER)
    term.answer("Which loss?", "Lambda" + ENTER, timeout=240)
    term.answer("Smoke-train", ENTER)
    term.answer("How many training steps?", BACKSPACE * 3 + "3" + ENTER)
    term.answer("Run it?", ENTER)
    term.answer("Write a training script", "n", timeout=300)
    code, seen = term.finish()
    assert code == 0, seen[-3000:]
    assert "MultipleNegativesRankingLoss" in seen  # the recommendation for the pairs as they are
    assert "smoke-train" in seen and "LambdaLoss" in seen
    commands = commands_at_end(seen)
    assert commands[:3] == [
        f"lossadvisor inspect {SQUAD}",
        f"lossadvisor convert {SQUAD} --to labeled-list -o labeled-list-dataset --num-negatives 4",
        "lossadvisor trial labeled-list-dataset --loss LambdaLoss --steps 3",
    ]
    from datasets import load_from_disk

    lists = load_from_disk(str(tmp_path / "labeled-list-dataset"))
    first = lists[0]
    query, docs, labels = (first[name] for name in lists.column_names)
    assert isinstance(query, str) and len(docs) == len(labels) == 5 and sorted(labels, reverse=True)[0] == 1


def test_scores_tidied_and_scaffolded(tmp_path):
    """STS-B scores in [0, 5]: convert --fix --score-range 0:5, then a training script on the fixed data."""
    term = Terminal([str(STSB)], tmp_path)
    term.answer("Use these columns?", ENTER)
    term.answer("From which range should they be rescaled", ENTER)  # 0:5, read from the data
    term.answer("Which model are you training?", ENTER)  # the reranker (CrossEncoder), the default
    term.answer("What should the model do?", ENTER)  # reranker on gold similarities (not distillation)
    term.answer("Write a fixed copy of the data", ENTER)
    term.answer("Where should the fixed data go?", ENTER)
    term.answer("Run it?", ENTER)
    term.answer("Which loss?", ENTER)
    term.answer("Smoke-train", "n")
    term.answer("Write a training script", ENTER)
    term.answer("Where should the script go?", ENTER)
    term.answer("Run it?", ENTER)
    code, seen = term.finish()
    assert code == 0, seen[-3000:]
    assert "scores run from 0.0 to 5.0" in seen
    assert "MSELoss" in seen  # the distillation reading of a float score was offered
    assert "model = CrossEncoder(MODEL, num_labels=1)" in seen  # the construction
    commands = commands_at_end(seen)
    assert commands == [
        f"lossadvisor inspect {STSB}",
        f"lossadvisor convert {STSB} --fix -o fixed-dataset --score-range 0:5",
        "# skipped: lossadvisor trial fixed-dataset --loss BinaryCrossEntropyLoss --steps 20",
        "lossadvisor scaffold fixed-dataset --loss BinaryCrossEntropyLoss -o train.py",
    ]
    from datasets import load_from_disk

    fixed = load_from_disk(str(tmp_path / "fixed-dataset"))
    scores = fixed["score"] if "score" in fixed.column_names else fixed["label"]
    assert 0.0 <= min(scores) and max(scores) <= 1.0 and max(scores) > 0.9
    script = (tmp_path / "train.py").read_text()
    assert "BinaryCrossEntropyLoss" in script and "fixed-dataset" in script
    compile(script, "train.py", "exec")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fixed-dataset", "train.py"]


def test_changed_columns_become_inputs_and_label_flags(tmp_path):
    """WikiQA: keep only Question and Sentence as inputs (ids dropped), Label as the label → --inputs/--label."""
    term = Terminal([str(WIKIQA)], tmp_path)
    term.answer("Use these columns?", "No:" + ENTER)
    term.answer("Which column is the anchor", ENTER)  # highlighted: Question, the inferred anchor
    term.answer("Which column is the label?", "(none" + ENTER)  # first no label ...
    term.answer("Which other columns are inputs?", ENTER)  # the inferred inputs are ticked: Sentence
    term.answer("Use these columns?", "No:" + ENTER)  # ... then correct it
    term.answer("Which column is the anchor", ENTER)
    term.answer("Which column is the label?", "Labe" + ENTER)  # 'Labe' filters to the Label column
    term.answer("Which other columns are inputs?", ENTER)
    term.answer("Use these columns?", ENTER)
    term.answer("Which is it?", ENTER)  # labeled-pair, the first reading: only a reranker, so no goal question
    term.answer("Which model are you training?", ENTER)  # the reranker (CrossEncoder), the default
    term.answer("Write a fixed copy of the data", "n")
    term.answer("Convert the data to another format?", ENTER)
    term.answer("Which loss?", ENTER)
    term.answer("Smoke-train", "n")
    term.answer("Write a training script", "n")
    code, seen = term.finish()
    assert code == 0, seen[-3000:]
    commands = commands_at_end(seen)
    assert commands[0] == f"lossadvisor inspect {WIKIQA} --inputs Question,Sentence --label Label"
    assert commands[1].startswith(f"# skipped: lossadvisor convert {WIKIQA} --fix -o fixed-dataset --inputs Question,Sentence --label Label")
    assert "inputs Question → Sentence; label none" in seen
    assert list(tmp_path.iterdir()) == []


def test_missing_path_is_asked_again(tmp_path):
    """A path that does not exist is refused with a message, and the question comes back."""
    term = Terminal(["no/such-file.csv"], tmp_path)
    term.answer("Which dataset?", BACKSPACE * 40 + str(tmp_path / "missing.csv") + ENTER)
    term.answer("No such file or folder", BACKSPACE * 200 + str(STSB) + ENTER)
    term.answer("Use these columns?", CTRL_C)
    code, seen = term.finish()
    assert code == 130
    assert "No such file or folder: no/such-file.csv" in seen


def test_ctrl_c_at_a_question_exits_130_and_writes_nothing(tmp_path):
    term = Terminal([str(STSB)], tmp_path)
    term.answer("Use these columns?", ENTER)
    term.answer("From which range should they be rescaled", ENTER)
    term.answer("Which model are you training?", ENTER)  # the reranker (CrossEncoder), the default
    term.answer("What should the model do?", ENTER)
    term.answer("Write a fixed copy of the data", ENTER)
    term.answer("Where should the fixed data go?", ENTER)
    term.answer("Run it?", CTRL_C)
    code, seen = term.finish()
    assert code == 130, seen[-2000:]
    assert "Interrupted" in seen
    assert "Equivalent commands" not in seen
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_ctrl_c_during_a_trial_exits_130_and_writes_nothing(tmp_path):
    term = Terminal([str(STSB)], tmp_path)
    term.answer("Use these columns?", ENTER)
    term.answer("From which range should they be rescaled", ENTER)
    term.answer("Which model are you training?", ENTER)  # the reranker (CrossEncoder), the default
    term.answer("What should the model do?", ENTER)
    term.answer("Write a fixed copy of the data", "n")
    term.answer("Which loss?", ENTER)
    term.answer("Smoke-train", ENTER)
    term.answer("How many training steps?", BACKSPACE * 3 + "400" + ENTER)
    term.answer("Run it?", ENTER)
    term.child.expect(r"step (\x1b\[[0-9;]*m)*\d+", timeout=240)  # training has started (rich colours the number)
    term.child.send(CTRL_C)
    code, seen = term.finish()
    assert code == 130, seen[-2000:]
    assert "Write a training script" not in seen
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == []
    assert not any(tmp_path.iterdir())


def advise_without_terminal(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lossadvisor", "advise", *args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, cwd=cwd, env=env(), timeout=300)


def test_without_a_terminal_nothing_is_asked_and_nothing_runs(tmp_path):
    process = advise_without_terminal([str(STSB)], tmp_path)
    assert process.returncode == 0, process.stderr
    out = process.stdout
    assert "(Y/n)" not in out and "Use arrow keys" not in out and "↑/↓" not in out
    assert "assumed: Use these columns? Yes: inputs sentence1 → sentence2; label score" in out
    assert "assumed: The scores run from 0 to 5. From which range should they be rescaled to [0, 1]? 0:5" in out
    assert "not run (add --run fix to run it)" in out
    assert commands_at_end(out) == [
        f"lossadvisor inspect {STSB}",
        f"lossadvisor convert {STSB} --fix -o fixed-dataset --score-range 0:5",
        f"lossadvisor trial {STSB} --loss BinaryCrossEntropyLoss --steps 20 --score-range 0:5",
        f"lossadvisor scaffold {STSB} --loss BinaryCrossEntropyLoss -o train.py",
    ]
    assert list(tmp_path.iterdir()) == []


def test_no_input_runs_what_run_names(tmp_path):
    process = advise_without_terminal([str(STSB), "--no-input", "--run", "fix,scaffold"], tmp_path)
    assert process.returncode == 0, process.stderr
    assert commands_at_end(process.stdout) == [
        f"lossadvisor inspect {STSB}",
        f"lossadvisor convert {STSB} --fix -o fixed-dataset --score-range 0:5",
        "lossadvisor trial fixed-dataset --loss BinaryCrossEntropyLoss --steps 20",
        "lossadvisor scaffold fixed-dataset --loss BinaryCrossEntropyLoss -o train.py",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fixed-dataset", "train.py"]


def test_without_a_terminal_a_dataset_is_required(tmp_path):
    process = advise_without_terminal([], tmp_path)
    assert process.returncode == 2
    assert process.stderr.splitlines()[0] == "Error: no DATASET given, and no terminal to ask for one"


def test_unknown_run_action_is_refused(tmp_path):
    process = advise_without_terminal([str(STSB), "--run", "fix,deploy"], tmp_path)
    assert process.returncode == 2
    assert process.stderr.splitlines()[0] == "Error: --run: unknown action(s) deploy"


def test_no_arguments_in_a_terminal_asks_for_the_dataset(tmp_path):
    child = pexpect.spawn(sys.executable, ["-m", "lossadvisor"], env=env(), cwd=str(tmp_path), timeout=60,
                          encoding="utf-8", dimensions=(40, 120), preexec_fn=default_sigint)
    child.expect_exact("Which dataset?")
    child.send(CTRL_C)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130


def test_ctrl_c_works_when_the_suite_runs_in_the_background(tmp_path):
    """`make test &` and nohup start the suite with SIGINT ignored; the spawned session must still stop on Ctrl-C."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # what a background job's children inherit
    try:
        term = Terminal([], tmp_path, timeout=30)
        term.answer("Which dataset?", CTRL_C)
        code, seen = term.finish(timeout=30)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert code == 130, seen[-2000:]


def test_import_is_light():
    code = "import sys, lossadvisor.interactive; print(sorted(m for m in sys.modules if m.split('.')[0] in %r))" % (HEAVY | {"questionary"},)
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert process.stdout.strip() == "[]", process.stdout + process.stderr


def test_advise_command_has_examples():
    """The examples moved from the docstring (one) to the help's Examples block (three or more, parsed in test_cli_help)."""
    from typer.testing import CliRunner

    from lossadvisor.cli import app

    text = CliRunner().invoke(app, ["advise", "--help"]).stdout
    assert "Examples:" in text and text.count("lossadvisor advise") >= 3


# --- the session core with a scripted prompter (no terminal, no subprocess) -----------------------------


class Scripted:
    """A Prompter that answers by question substring and takes the default elsewhere."""

    interactive = True

    def __init__(self, answers: dict[str, object]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def _pick(self, question: str, default):
        self.asked.append(question)
        return next((value for key, value in self.answers.items() if key in question), default)

    def choose(self, question, options, default, help):
        assert help and any(o.value == default for o in options)
        answer = self._pick(question, default)
        assert any(o.value == answer for o in options), (question, answer, [o.value for o in options])
        return answer

    def pick_many(self, question, options, defaults, help, validate=None):
        return self._pick(question, list(defaults))

    def confirm(self, question, default, help):
        return self._pick(question, default)

    def text(self, question, default, help, validate=None):
        answer = str(self._pick(question, default))
        assert validate is None or validate(answer) is None
        return answer

    path = text


def scripted_session(dataset: Path, answers: dict[str, object], tmp_path: Path, monkeypatch) -> tuple[int, str, Scripted]:
    from rich.console import Console

    from lossadvisor.interactive import run_session

    monkeypatch.chdir(tmp_path)
    console = Console(record=True, width=200)
    prompter = Scripted(answers)
    code = run_session(str(dataset), prompter, console)
    return code, console.export_text(), prompter


def test_scripted_reading_question_maps_to_as(tmp_path, monkeypatch):
    """WikiQA's 0/1 label: read as two classes → --as pair-class on every command; goal from that reading."""
    answers = {"Which is it?": "pair-class", "fixed copy": False, "Convert": "(no conversion)",
               "Smoke-train": False, "training script": False}
    code, text, prompter = scripted_session(WIKIQA, answers, tmp_path, monkeypatch)
    assert code == 0
    commands = commands_at_end(text)
    assert commands[0] == f"lossadvisor inspect {WIKIQA} --as pair-class"
    assert "# skipped: lossadvisor trial" in commands[-2] and "--loss CrossEntropyLoss" in commands[-2]
    assert "--as pair-class" in commands[-1]
    assert any("What should the model do?" in q for q in prompter.asked)


def test_scripted_distillation_goal_picks_mseloss(tmp_path, monkeypatch):
    answers = {"What should the model do?": "distill", "fixed copy": False, "Smoke-train": False, "training script": False}
    code, text, _ = scripted_session(STSB, answers, tmp_path, monkeypatch)
    assert code == 0
    assert "For a distill on pair-score data" in text and "MSELoss" in text
    assert "--loss MSELoss" in commands_at_end(text)[-1]


def test_scripted_unambiguous_data_asks_no_reading(tmp_path, monkeypatch):
    answers = {"Smoke-train": False, "training script": False, "Convert": "(no conversion)"}
    _, _, prompter = scripted_session(SNLI, answers, tmp_path, monkeypatch)
    assert not any("Which is it?" in q for q in prompter.asked)
    assert not any("rescaled" in q for q in prompter.asked)


def test_scripted_distillation_through_a_teacher_maps_to_teacher_flag(tmp_path, monkeypatch):
    """SQuAD pairs hold no scores: distillation needs a teacher, and the conversion becomes --to pair-score --teacher."""
    answers = {"What should the model do?": "distill", "Which teacher": "my-org/teacher-ce", "Run it?": False,
               "Smoke-train": False, "training script": False}
    code, text, prompter = scripted_session(SQUAD, answers, tmp_path, monkeypatch)
    assert code == 0
    assert any("Which teacher" in q for q in prompter.asked)
    assert f"# skipped: lossadvisor convert {SQUAD} --to pair-score -o pair-score-dataset --teacher my-org/teacher-ce" in commands_at_end(text)


def test_scripted_no_teacher_falls_back_to_a_reranker(tmp_path, monkeypatch):
    answers = {"What should the model do?": "distill", "Which teacher": "", "Convert": "(no conversion)",
               "Smoke-train": False, "training script": False}
    code, text, _ = scripted_session(SQUAD, answers, tmp_path, monkeypatch)
    assert code == 0
    assert "No teacher model: advising a reranker instead." in text
    assert "--loss MultipleNegativesRankingLoss" in commands_at_end(text)[-1]


def test_dataset_check_and_fresh_paths(tmp_path, monkeypatch):
    from lossadvisor.interactive import check_dataset, fresh_path

    assert check_dataset(str(STSB)) is None
    assert check_dataset("sentence-transformers/msmarco") is None  # a hub id: checked when it is opened
    assert check_dataset(str(tmp_path / "nope.csv")) == f"No such file or folder: {tmp_path / 'nope.csv'}"
    assert check_dataset("  ") is not None
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.py").write_text("")
    (tmp_path / "train-2.py").write_text("")
    assert fresh_path("train.py") == "train-3.py"
    assert fresh_path("fixed-dataset") == "fixed-dataset"


# --- prompts that behave like a shell's (issue 16) ---------------------------------------------------------------

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "support_faq.csv"
HEADINGS = ("Dataset", "Goal", "Recommendation", "Fixes", "Conversions", "Trial", "Training script")


def test_tab_completes_a_single_match(tmp_path):
    """One file matches what was typed: Tab completes it, and Enter takes the completed path."""
    (tmp_path / "qa_relevance.csv").write_bytes(EXAMPLE.read_bytes())
    (tmp_path / "other.txt").write_text("x\n")
    term = Terminal([], tmp_path)
    term.answer("Which dataset?", "qa_r")
    time.sleep(0.3)
    term.child.send("\t")
    time.sleep(0.5)
    term.child.send(ENTER)
    term.answer("Use these columns?", CTRL_C)
    code, seen = term.finish()
    assert code == 130
    assert "reading qa_relevance.csv" in seen, seen[-2000:]


def test_after_a_bad_path_the_prompt_starts_empty(tmp_path):
    """The refused text does not stay in the prompt: what is typed next is the whole answer (not `qa_relqa_rel…`)."""
    (tmp_path / "qa_relevance.csv").write_bytes(EXAMPLE.read_bytes())
    term = Terminal([], tmp_path)
    term.answer("Which dataset?", "qa_rel" + ENTER)
    term.answer("No such file or folder: qa_rel", "qa_relevance.csv" + ENTER)  # no backspaces
    term.answer("Use these columns?", CTRL_C)
    code, seen = term.finish()
    assert code == 130
    assert "reading qa_relevance.csv" in seen and "qa_relqa_rel" not in seen, seen[-2000:]


def test_no_input_prints_no_empty_heading_and_no_guessed_time(tmp_path):
    process = advise_without_terminal([str(EXAMPLE), "--no-input"], tmp_path)
    assert process.returncode == 0, process.stderr
    lines = [line.strip() for line in process.stdout.splitlines() if line.strip()]
    empty = [a for a, b in zip(lines, lines[1:]) if a in HEADINGS and (b in HEADINGS or b.startswith("Equivalent commands"))]
    assert empty == [], empty
    assert "Dataset" in lines and "Recommendation" in lines
    assert not re.search(r"about \d+ ?s\b", process.stdout)


def test_a_heading_waits_for_its_section():
    """Session.heading prints with the section's first line, and not at all when the section stays empty."""
    from io import StringIO

    from rich.console import Console

    from lossadvisor.interactive import DefaultsPrompter, Session, SessionActions

    console = Console(file=StringIO(), width=100)
    s = Session(DefaultsPrompter(console), console, SessionActions(None, lambda c: 0))
    s.heading("Goal")
    s.heading("Trial")
    s.say("a line")
    assert [line for line in console.file.getvalue().splitlines() if line] == ["Trial", "a line"]
