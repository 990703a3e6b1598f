"""The shape the CLI and the guided session keep: the core never imports the CLI, the session is given what it
runs, modules and functions stay readable, and the session reads warnings and commands as data."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import pytest
from real_data import REAL, needs_real
from rich.console import Console

from lossadvisor.advice import Warning
from lossadvisor.commands import CommandLine

PACKAGE = Path(__file__).resolve().parent.parent / "lossadvisor"
STSB = REAL / "stsb" / "stsb_train_sample.csv"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (PACKAGE / folder).rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_nothing_outside_the_cli_imports_it():
    """The core and the session never import the CLI (not even inside a function); `python -m lossadvisor` starts it."""
    outside = [p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] not in ("cli", "__main__.py")]
    offenders = {str(p.relative_to(PACKAGE)): sorted(n for n in imported_modules(p) if n.startswith("lossadvisor.cli"))
                 for p in outside}
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.parametrize("folder", ["cli", "interactive"])
def test_modules_and_functions_stay_small(folder):
    files = sources(folder)
    assert files, f"lossadvisor/{folder}/ is a package"
    long_modules = {p.name: n for p in files if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert long_modules == {}
    long_functions = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions[f"{path.name}:{node.name}"] = length
    assert long_functions == {}


def test_the_app_module_only_builds_and_registers():
    from lossadvisor.cli import app

    names = {c.name for c in app.registered_commands}
    assert names == {"table", "explain", "inspect", "convert", "trial", "scaffold", "advise"}
    for command in app.registered_commands:
        module = command.callback.__module__
        assert module == f"lossadvisor.cli.{command.name}", (command.name, module)


def test_the_session_parses_no_command_text():
    files = sources("interactive") if (PACKAGE / "interactive").is_dir() else [PACKAGE / "interactive.py"]
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert "shlex.split" not in text and "_flag_value" not in text, path.name


# --- the session, given its actions ------------------------------------------------------------------------


class Yes:
    """A prompter that takes every default and agrees to every action (the session's own defaults)."""

    interactive = True

    def choose(self, question, options, default, help):
        return default

    def pick_many(self, question, options, defaults, help, validate=None):
        return list(defaults)

    def confirm(self, question, default, help):
        return True if question.startswith(("Write a fixed copy", "Run it?")) else default

    def text(self, question, default, help, validate=None):
        return default

    path = text


def session_with(warnings, tmp_path, monkeypatch):
    """Run the session on STSB, its report's warnings replaced, with a runner that records what it is given."""
    from lossadvisor.advice import inspect_dataset
    from lossadvisor.interactive import SessionActions, run_session
    from lossadvisor.table import load_table

    def inspect(spec, table, split, choice, reading):
        report = inspect_dataset(spec, table, split=split, choice=choice, reading=reading)
        return replace(report, warnings=tuple(warnings))

    ran: list[CommandLine] = []

    def run(command: CommandLine) -> int:
        ran.append(command)
        return 1  # nothing is written; the session goes on with the original data

    monkeypatch.chdir(tmp_path)
    console = Console(record=True, width=200)
    actions = SessionActions(load_table(None), run, inspect=inspect, global_options=(("--debug", None),))
    code = run_session(str(STSB), Yes(), console, actions=actions)
    return code, console.export_text(), ran


@needs_real
def test_which_warnings_are_fixable_comes_from_the_warning(tmp_path, monkeypatch):
    """A warning marked fixable is offered for convert --fix whatever its code; one not marked is not, even a known code."""
    marked = Warning("made-up-trap", "a trap no list knows", "convert --fix handles it", fixable=True)
    unmarked = Warning("duplicates", "duplicates that this report says --fix cannot repair", "by hand", fixable=False)
    _, text, ran = session_with([marked, unmarked], tmp_path, monkeypatch)
    fixes = text.split("Fixes", 1)[1].split("Conversions", 1)[0] if "Fixes" in text else ""
    assert "[made-up-trap]" in fixes and "[duplicates]" not in fixes
    assert ran and ran[0].has("--fix")
    _, text, ran = session_with([unmarked], tmp_path, monkeypatch)
    assert "Fixes" not in text and not any(c.has("--fix") for c in ran)


@needs_real
def test_the_session_runs_exactly_what_it_prints(tmp_path, monkeypatch):
    marked = Warning("made-up-trap", "a trap", "fix it", fixable=True)
    code, text, ran = session_with([marked], tmp_path, monkeypatch)
    assert code == 1, "the first failed command's exit code"
    assert ran, "the session ran nothing"
    for command in ran:
        assert command.global_options == (("--debug", None),)
        assert command.render() in text
