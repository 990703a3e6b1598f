"""The surface around the commands (issue 16): help that teaches, docs/cli.md generated from it, parser errors as
one line, output that fits the terminal and a closed pipe that exits quietly."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from typer.main import get_command
from typer.testing import CliRunner

from lossadvisor import render
from lossadvisor.cli import app
from lossadvisor.cli.examples import EXAMPLES
from lossadvisor.table import load_table

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "support_faq.csv"
COMMANDS = ("table", "explain", "inspect", "convert", "trial", "scaffold", "advise")
BOX = re.compile("[\u2500-\u257f]")  # box-drawing characters


def run(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "100", "TERMINAL_WIDTH": "100"})


def one_error(result, code: int = 2) -> tuple[str, str]:
    """The result is exit `code` with exactly an `Error:` line and a `Hint:` line on stderr, nothing else."""
    lines = result.stderr.splitlines()
    assert result.exit_code == code, (result.exit_code, result.stderr[-1500:])
    assert len(lines) == 2 and lines[0].startswith("Error: ") and lines[1].startswith("Hint: "), result.stderr[-1500:]
    assert not BOX.search(result.stderr) and "Usage:" not in result.stderr
    return lines[0], lines[1]


def shell(args: str, **env: str) -> subprocess.CompletedProcess:
    """`lossadvisor ARGS` through a real shell (pipes, redirections), with this checkout first on the path."""
    environment = dict(os.environ, PYTHONPATH=str(ROOT), **env)
    program = f"{sys.executable} -c 'from lossadvisor.cli import main; main()'"
    return subprocess.run(["bash", "-c", args.replace("lossadvisor", program, 1)], capture_output=True, text=True,
                          env=environment, timeout=120, cwd=ROOT)


# --- help ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_three_to_five_examples_that_parse(name):
    result = run(name, "--help")
    assert result.exit_code == 0
    examples = result.stdout.split("Examples:", 1)[1]
    shown = [line.strip() for line in examples.splitlines() if line.strip().startswith(f"lossadvisor {name}")]
    assert 3 <= len(shown) <= 5, shown
    command = get_command(app).commands[name]
    for _, line in EXAMPLES[name]:
        assert line.render() in shown
        command.make_context(name, line.argv()[1:])  # raises on an option the command does not have


def flat(text: str) -> str:
    """Help text with the panel borders and line breaks taken out, so a list that wraps reads as one line."""
    return re.sub(r"\s+", " ", BOX.sub(" ", text))


def test_choices_are_listed_from_the_table():
    names = [f.name for f in load_table(None).formats]
    convert = flat(run("convert", "--help").stdout)
    assert "One of: " + ", ".join(names) + "." in convert  # --to and --as, from the data
    assert convert.count("One of: " + ", ".join(names)) == 2
    assert "top|random" in convert
    assert "One of: " + ", ".join(names) in flat(run("table", "--help").stdout)
    assert "fix, convert, trial, scaffold, or all" in flat(run("advise", "--help").stdout)


@pytest.mark.parametrize(("name", "option", "default"), [
    ("convert", "--num-negatives", "3 when mining"), ("convert", "--seed", "42"), ("convert", "--sampling", "top"),
    ("convert", "--model", "bm25"), ("trial", "--lr", "5e-4 for tiny"), ("trial", "--steps", "20"),
    ("trial", "--sample-size", "steps x batch size"), ("scaffold", "--batch-size", "8 for labeled-list"),
])
def test_defaults_are_shown(name, option, default):
    text = flat(run(name, "--help").stdout)
    after = text.split(f" {option} ", 1)[1].split(" --", 1)[0]
    assert "[default: " in after and default in after, after


def test_advise_help_wraps_as_paragraphs():
    text = run("advise", "--help").stdout
    lines = [line.strip() for line in text.splitlines()]
    # typer keeps a docstring's line breaks; a line ending in a short stub ("and the") shows they were not joined
    assert not [line for line in lines if line in ("and the", "as an", "the first", "that of")]


def test_app_help_ends_with_start_here():
    text = run("--help").stdout.rstrip()
    tail = text[-600:]
    assert "Start here" in tail and "lossadvisor inspect examples/support_faq.csv" in tail
    assert EXAMPLE.is_file()


def test_docs_cli_md_matches_the_help():
    from lossadvisor.cli.docs import DOCS, generate

    assert DOCS.read_text(encoding="utf-8") == generate(), "docs/cli.md is stale: run `python -m lossadvisor.cli.docs`"


def test_readme_command_table_points_at_the_reference():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("| command | what it does |", 1)[1].split("\n\n", 1)
    assert all(len(line) < 130 for line in table[0].splitlines())
    assert "(docs/cli.md)" in table[1][:400]


# --- parser errors ---------------------------------------------------------------------------------------------


def test_missing_output_is_one_line():
    error, hint = one_error(run("convert", str(EXAMPLE), "--to", "triplet"))
    assert error == "Error: Missing option '--output' / '-o'."
    assert hint == "Hint: See `lossadvisor convert --help`."


def test_misspelt_command_and_option_get_did_you_mean():
    _, hint = one_error(run("convrt", str(EXAMPLE)))
    assert "Did you mean 'convert'?" in hint
    error, hint = one_error(run("inspect", str(EXAMPLE), "--jsn"))
    assert error == "Error: No such option: --jsn" and "--json" in hint and hint.startswith("Hint: Did you mean")


def test_bad_choice_is_one_line():
    error, _ = one_error(run("convert", str(EXAMPLE), "-o", "out", "--sampling", "foo"))
    assert "'--sampling'" in error and "'top', 'random'" in error


@pytest.mark.parametrize("args", [
    ("trial", str(EXAMPLE), "--loss", "BinaryCrossEntropyLoss", "--seed", "-1"),
    ("trial", str(EXAMPLE), "--loss", "BinaryCrossEntropyLoss", "--seed", str(2**32)),
    ("trial", str(EXAMPLE), "--loss", "BinaryCrossEntropyLoss", "--eval-fraction", "nan"),
    ("trial", str(EXAMPLE), "--loss", "BinaryCrossEntropyLoss", "--lr", "inf"),
    ("convert", str(EXAMPLE), "--fix", "-o", "out", "--seed", "-1"),
    ("convert", str(EXAMPLE), "--to", "triplet", "-o", "out", "--max-score", "nan"),
])
def test_bad_numbers_are_the_users_error(args):
    error, _ = one_error(run(*args))
    assert "internal error" not in error and args[-2] in error


def test_a_folder_that_cannot_be_read_is_the_users_error(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads everything")
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "data.csv").write_text("a,b\nx,y\n")
    locked.chmod(0)
    try:
        error, _ = one_error(run("inspect", str(locked)))
    finally:
        locked.chmod(0o700)
    assert "internal error" not in error


# --- output: width, boxes, streams ------------------------------------------------------------------------------


def loss_names() -> set[str]:
    return {loss for row in load_table(None).rows for loss in row.losses}


@pytest.mark.parametrize("width", [60, 80, 100, 110, 120, 130, 140, 160, 200])
def test_table_never_cuts_a_loss_name(width):
    console = Console(file=io.StringIO(), width=width, color_system=None)
    render.render_table(load_table(None), None, console)
    text = console.file.getvalue()
    assert max(len(line) for line in text.splitlines()) <= width
    words = set(re.findall(r"[A-Za-z]+Loss\b", text))
    assert loss_names() <= words and words <= loss_names(), words ^ loss_names()
    assert "…" not in text


def test_piped_table_fits_columns_and_draws_no_boxes():
    result = shell("lossadvisor table | cat", COLUMNS="80")
    assert result.returncode == 0 and result.stderr == ""
    assert not BOX.search(result.stdout)
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    assert loss_names() <= set(re.findall(r"[A-Za-z]+Loss\b", result.stdout))


def test_piped_output_is_100_columns_without_a_terminal():
    from lossadvisor.render import output_width

    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    code = "from lossadvisor.render import output_width; print(output_width())"
    process = subprocess.run([sys.executable, "-c", code], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             env=dict(env, PYTHONPATH=str(ROOT)), timeout=60)
    assert process.stdout.strip() == "100"
    assert callable(output_width)


def test_plain_draws_no_boxes():
    result = run("--plain", "explain", "ListNetLoss")
    assert result.exit_code == 0 and not BOX.search(result.stdout)


@pytest.mark.parametrize("args", ["table", "table --json", "explain ListNetLoss", "--help", "convert --help",
                                  f"inspect {EXAMPLE} --json"])
def test_a_closed_pipe_exits_quietly(args):
    result = shell(f"lossadvisor {args} | head -c 10 >/dev/null; echo \"rc=${{PIPESTATUS[0]}}\"", COLUMNS="80")
    assert result.stderr == "", result.stderr[-1500:]
    assert result.stdout.strip() in ("rc=141", "rc=0")  # 0 when everything fitted in the pipe before it closed


def test_a_closed_pipe_on_long_output_exits_141():
    result = shell("lossadvisor table --json | true; echo \"rc=${PIPESTATUS[0]}\"")  # the reader is gone before the first write
    assert result.stdout.strip() == "rc=141" and result.stderr == ""


@pytest.mark.parametrize("args", ["table", "table --json", f"inspect {EXAMPLE} --json"])
def test_a_full_output_device_is_one_line(args):
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    result = shell(f"lossadvisor {args} > /dev/full")
    assert result.returncode == 2, result.stderr[-1500:]
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("Error: cannot write the output"), lines


def test_json_results_on_stdout_only():
    result = shell(f"lossadvisor inspect {EXAMPLE} --json | python -m json.tool > /dev/null; echo \"rc=${{PIPESTATUS[*]}}\"")
    assert result.stdout.strip() == "rc=0 0" and result.stderr == ""


def test_an_unreadable_path_is_one_line_not_an_internal_error(monkeypatch):
    """A PermissionError naming a file (as `inspect /` meets under /proc) is the user's path, exit 2."""
    import lossadvisor.advice

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "/proc/1/cwd")

    monkeypatch.setattr(lossadvisor.advice, "inspect_dataset", refuse)
    error, hint = one_error(run("inspect", "/"))
    assert error == "Error: /proc/1/cwd: Permission denied" and "internal error" not in error
