"""Every `lossadvisor …` command the tool prints runs as printed.

For every dataset of ../shared/data/real (MANIFEST.yaml) and the bundled example, the commands that `inspect --json`
prints (conversion offers, and warning fixes that are lossadvisor commands), that `trial` prints in its errors
(no --loss; a loss that does not fit) and that `advise --no-input` ends with are split with shlex, exactly as a
shell would, and run in this process through the typer app, in a fresh working directory (so every relative -o
lands in tmp_path). Each must exit 0.

Two changes are made to what is printed, both named here: `--teacher CROSS_ENCODER` is the one documented
placeholder (no teacher can be guessed), so a tiny local CrossEncoder stands in for it; and trials run 2 steps
on the tiny local model instead of the printed 20 on the default pretrained base, to keep the CPU time down (the
parsing, the checks and the trainer are the same; test_trial_evidence trains the real base).
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml
from real_data import MANIFEST, REAL, needs_real
from typer.testing import CliRunner

from lossadvisor.cli import app
from lossadvisor.fit import check_fit
from lossadvisor.table import load_table

pytestmark = needs_real

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "support_faq.csv"
ENTRIES = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))["entries"] if MANIFEST.is_file() else []
DATASETS = [REAL / entry["path"] for entry in ENTRIES] + [EXAMPLE]
IDS = [p.relative_to(REAL).as_posix() if p.is_relative_to(REAL) else p.name for p in DATASETS]
TEACHER_PLACEHOLDER = "CROSS_ENCODER"
# A command inside a fix's text: at the start, after "# or: " or after a colon; it ends at ", then" or the end.
COMMAND_IN_TEXT = re.compile(r"(?:^|# or: |: |`)(lossadvisor (?:convert|inspect|trial|scaffold) [^`]*?)(?=`|, then |$)")

runner = CliRunner()


def invoke(args: list[str]):
    return runner.invoke(app, args, catch_exceptions=False)


def lossadvisor_commands(text: str) -> list[str]:
    """The `lossadvisor SUBCOMMAND …` command lines inside a printed text (hint, fix)."""
    return [m.group(1).strip() for m in COMMAND_IN_TEXT.finditer(text)]


def inspect_json(dataset: Path) -> dict:
    result = invoke(["inspect", str(dataset), "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def printed_by_inspect(dataset: Path) -> list[str]:
    report = inspect_json(dataset)
    commands = [offer["command"] for offer in report["conversions"]]
    for warning in report["warnings"]:
        commands += lossadvisor_commands(warning["fix"])
    return commands


def run_printed(command: str, cwd: Path, monkeypatch, teacher: Path | None = None) -> None:
    """Split `command` as a shell would and run it in `cwd`; it must exit 0."""
    words = shlex.split(command, comments=True)  # as a shell reads it: a trailing `# …` is a comment
    assert words[0] == "lossadvisor", command
    args = words[1:]
    if TEACHER_PLACEHOLDER in args:
        assert teacher is not None, f"{command}: a teacher placeholder, and no stand-in given"
        args[args.index(TEACHER_PLACEHOLDER)] = str(teacher)
    if args[0] == "trial":
        if "--steps" in args:
            args[args.index("--steps") + 1] = "2"
        else:
            args += ["--steps", "2"]
        if "--model" not in args:
            args += ["--model", "tiny"]
    cwd.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(cwd)
    result = runner.invoke(app, args)
    assert result.exit_code == 0, f"`{command}` exited {result.exit_code}:\n{result.stderr[-2000:]}\n{result.exception!r}"


def needs_teacher(command: str) -> bool:
    return TEACHER_PLACEHOLDER in shlex.split(command)


@pytest.fixture(scope="module")
def tiny_teacher(tmp_path_factory) -> Path:
    from lossadvisor.tiny_model import save_tiny_model

    return save_tiny_model(["what is a question", "an answer with several words in it"], 1,
                           tmp_path_factory.mktemp("teacher") / "tiny-cross-encoder")


# --------------------------------------------------------------------------------------------- inspect --json


@pytest.mark.parametrize("dataset", DATASETS, ids=IDS)
def test_commands_printed_by_inspect_run(dataset, tmp_path, monkeypatch):
    commands = [c for c in printed_by_inspect(dataset) if not needs_teacher(c)]
    for index, command in enumerate(commands):
        run_printed(command, tmp_path / str(index), monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("dataset", [d for d in DATASETS if any(needs_teacher(c) for c in printed_by_inspect(d))]
                         if ENTRIES else [], ids=lambda p: p.name)
def test_teacher_conversions_printed_by_inspect_run(dataset, tmp_path, monkeypatch, tiny_teacher):
    for index, command in enumerate(c for c in printed_by_inspect(dataset) if needs_teacher(c)):
        run_printed(command, tmp_path / str(index), monkeypatch, teacher=tiny_teacher)


def test_the_text_scanner_finds_commands_and_leaves_prose():
    """The scanner the tests above rely on: it must find the commands in fixes, and only those."""
    fix = "dataset = dataset.map(f)  # or: lossadvisor convert 'a b.csv' --fix -o fixed-dataset --score-range 0:5"
    assert lossadvisor_commands(fix) == ["lossadvisor convert 'a b.csv' --fix -o fixed-dataset --score-range 0:5"]
    assert lossadvisor_commands("Flatten the records (lossadvisor convert does it): lossadvisor convert x.json --fix -o f") == [
        "lossadvisor convert x.json --fix -o f"]
    assert lossadvisor_commands("lossadvisor convert x --fix -o f, then decide the labels") == ["lossadvisor convert x --fix -o f"]
    assert lossadvisor_commands("Say otherwise with the interactive advisor (`lossadvisor advise`).") == []


# --------------------------------------------------------------------------------------------- trial's errors


def trial_hint_commands(dataset: Path, *args: str) -> tuple[int, list[str]]:
    result = runner.invoke(app, ["trial", str(dataset), *args])
    hints = [line for line in result.stderr.splitlines() if line.startswith("Hint: ")]
    return result.exit_code, [c for hint in hints for c in lossadvisor_commands(hint)]


@pytest.mark.parametrize("dataset", DATASETS, ids=IDS)
def test_trial_misfit_hint_runs(dataset, tmp_path, monkeypatch):
    """trial --loss BinaryCrossEntropyLoss on data it does not fit: the hint's convert command runs (with -o). On data
    it fits (labeled-pair, pair-score) there is no misfit: the fit check trial runs first lets it through."""
    report = inspect_json(dataset)
    if report["format"] in ("labeled-pair", "pair-score"):  # was a skip (test_inspect_manifest checks the format)
        check_fit(report["format"], "BinaryCrossEntropyLoss", load_table())  # a misfit raises FitError
        return
    code, commands = trial_hint_commands(dataset, "--loss", "BinaryCrossEntropyLoss")
    assert code == 2
    for index, command in enumerate(commands):
        run_printed(command, tmp_path / str(index), monkeypatch)


def test_trial_misfit_hint_on_pairs_is_a_complete_command(tmp_path, monkeypatch):
    """The issue's case: SQuAD pairs and BinaryCrossEntropyLoss. The hint must name -o (convert requires it)."""
    code, commands = trial_hint_commands(REAL / "squad" / "squad_qa_pairs.csv", "--loss", "BinaryCrossEntropyLoss")
    assert code == 2 and len(commands) == 1
    assert "-o" in shlex.split(commands[0])
    run_printed(commands[0], tmp_path, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("dataset", DATASETS, ids=IDS)
def test_trial_without_a_loss_hints_a_trial_that_runs(dataset, tmp_path, monkeypatch):
    code, commands = trial_hint_commands(dataset)
    assert code == 2 and len(commands) == 1, commands
    run_printed(commands[0], tmp_path, monkeypatch)


def test_trial_without_a_loss_suggests_a_loss_that_fits():
    """No --loss on pair data: the suggested loss must be one trial accepts for pairs (not BinaryCrossEntropyLoss)."""
    from lossadvisor.table import load_table

    code, commands = trial_hint_commands(REAL / "squad" / "squad_qa_pairs.csv")
    assert code == 2 and len(commands) == 1
    words = shlex.split(commands[0])
    assert "pair" in load_table(None).formats_for_loss(words[words.index("--loss") + 1])


# --------------------------------------------------------------------------------------------- advise --no-input


def advise_commands(dataset: Path, cwd: Path, monkeypatch) -> list[str]:
    monkeypatch.chdir(cwd)
    result = runner.invoke(app, ["advise", "--no-input", "--", str(dataset)])
    assert result.exit_code == 0, result.stdout[-2000:] + result.stderr[-2000:]
    tail = result.stdout.rsplit("Equivalent commands", 1)[1]
    lines = [line.strip() for line in tail.splitlines()[1:] if line.strip()]
    return [line.removeprefix("# skipped: ") for line in lines]


@pytest.mark.parametrize("dataset", DATASETS, ids=IDS)
def test_commands_printed_by_advise_run_in_order(dataset, tmp_path, monkeypatch):
    """The session's closing commands, run one after the other in one folder (a step reads the one before)."""
    commands = advise_commands(dataset, tmp_path, monkeypatch)
    assert commands and commands[0].startswith("lossadvisor inspect ")
    for command in commands:
        if shlex.split(command)[1] == "trial":
            continue  # trained in test_trials_printed_by_advise_run (slow)
        run_printed(command, tmp_path, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("dataset", DATASETS, ids=IDS)
def test_trials_printed_by_advise_run(dataset, tmp_path, monkeypatch):
    commands = advise_commands(dataset, tmp_path, monkeypatch)
    for command in commands:
        if shlex.split(command)[1] in ("convert", "trial"):
            run_printed(command, tmp_path, monkeypatch)


def test_advise_prints_commands_that_survive_a_dash_name(tmp_path, monkeypatch):
    """A dataset named `-x.csv`: every printed command must still read it as the dataset, not as an option."""
    (tmp_path / "-x.csv").write_bytes(EXAMPLE.read_bytes())
    commands = advise_commands(Path("-x.csv"), tmp_path, monkeypatch)
    for command in commands:
        words = shlex.split(command, comments=True)  # as a shell reads it: a trailing `# …` is a comment
        assert "-x.csv" not in words, command
        if words[1] != "trial":
            run_printed(command, tmp_path, monkeypatch)


# --------------------------------------------------------------------------------------------- inspect --as / convert --to


@pytest.mark.parametrize("dataset", ["snli/snli_triplets.csv", "squad/squad_qa_pairs.csv"])
def test_inspect_as_a_format_to_convert_to_prints_a_command_that_runs(dataset, tmp_path, monkeypatch):
    """`inspect --as n-tuple` on data that is not n-tuples: the hint is the exact convert command, and it works."""
    result = runner.invoke(app, ["inspect", str(REAL / dataset), "--as", "n-tuple"])
    assert result.exit_code == 2
    hint = result.stderr.splitlines()[1]
    commands = lossadvisor_commands(hint)
    assert len(commands) == 1, hint
    run_printed(commands[0], tmp_path, monkeypatch)
    assert inspect_json(tmp_path / shlex.split(commands[0])[shlex.split(commands[0]).index("-o") + 1])["format"] == "n-tuple"


@pytest.mark.parametrize("dataset, to", [("snli/snli_triplets.csv", "n-tuple"), ("mrpc/mrpc_train_hf", "triplet"),
                                         ("cranfield/cranfield_labeled_list_hf", "n-tuple")])
def test_convert_that_cannot_reach_a_format_says_what_to_do_without_sending_to_inspect(dataset, to, tmp_path):
    result = runner.invoke(app, ["convert", str(REAL / dataset), "--to", to, "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    error, hint = result.stderr.splitlines()[:2]
    assert error.startswith("Error: ") and hint.startswith("Hint: ")
    assert "inspect" not in hint, hint
    inspected = runner.invoke(app, ["inspect", str(REAL / dataset), "--as", to])
    assert inspected.exit_code == 2 and "Convert it instead" not in inspected.stderr, "the two may not send the user in a circle"


def test_inspect_offers_no_conversion_that_cannot_run():
    """Triplets with one negative each are not offered a gather into n-tuples (it would leave nothing), but mining."""
    offers = {o["to"]: o for o in inspect_json(REAL / "snli" / "snli_triplets.csv")["conversions"]}
    assert offers["n-tuple"]["mines"] is True
    assert ["--inputs", "anchor,positive"] in offers["n-tuple"]["args"]["options"]
    mrpc = {o["to"] for o in inspect_json(REAL / "mrpc" / "mrpc_train_hf")["conversions"]}
    assert "triplet" not in mrpc, "no MRPC anchor has both a positive and a negative to pair"


def test_mining_is_never_listed_as_a_need():
    """BM25 mines by default: an offer that mines needs nothing from the user, and a misfit hint says nothing about a miner."""
    offers = inspect_json(REAL / "squad" / "squad_qa_pairs.csv")["conversions"]
    assert all("miner" not in o["needs"] for o in offers)
    assert any(o["mines"] for o in offers)
    result = runner.invoke(app, ["trial", str(REAL / "squad" / "squad_qa_pairs.csv"), "--loss", "LambdaLoss"])
    assert result.exit_code == 2 and "miner" not in result.stderr
