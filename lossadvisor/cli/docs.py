"""docs/cli.md, generated from the real `--help` of every command: `python -m lossadvisor.cli.docs` writes it,
`python -m lossadvisor.cli.docs --check` exits 1 when it is stale (tests/test_cli_help.py runs the same check).

Each help is taken from a fresh process at a fixed width (100 columns) with colours off, so the file does not
depend on the terminal it was made in.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent.parent / "docs" / "cli.md"
WIDTH = 100
COMMANDS = ("table", "explain", "inspect", "convert", "trial", "scaffold", "advise")
HEADER = """# lossadvisor command reference

Generated from the real `--help` of every command by `python -m lossadvisor.cli.docs`; do not edit by hand
(a test fails when this file and the help differ).

Exit codes: 0 ok; 2 unusable input or arguments (one `Error:` line and a `Hint:` on stderr); 1 an internal
failure (the traceback with `--debug`); 130 interrupted; 141 the reader of the output went away (`| head`).
Results go to stdout, progress and messages to stderr.
"""


def help_of(*args: str) -> str:
    """`lossadvisor ARGS --help` as a user with a 100-column terminal and no colours sees it."""
    env = dict(os.environ, TERMINAL_WIDTH=str(WIDTH), COLUMNS=str(WIDTH), NO_COLOR="1", _TYPER_FORCE_DISABLE_TERMINAL="1")
    env.pop("FORCE_COLOR", None)
    program = "import sys; sys.argv[0] = 'lossadvisor'; from lossadvisor.cli import main; main()"
    process = subprocess.run([sys.executable, "-c", program, *args, "--help"], capture_output=True, text=True,
                             env=env, timeout=120, check=True)
    return "\n".join(line.rstrip() for line in process.stdout.splitlines()).strip("\n")


def generate() -> str:
    sections = [HEADER, "## lossadvisor\n\n```\n" + help_of() + "\n```\n"]
    for name in COMMANDS:
        sections.append(f"## lossadvisor {name}\n\n```\n{help_of(name)}\n```\n")
    return "\n".join(sections)


def main(argv: list[str]) -> int:
    text = generate()
    if "--check" in argv:
        current = DOCS.read_text(encoding="utf-8") if DOCS.is_file() else ""
        if current != text:
            sys.stderr.write(f"{DOCS} is stale: run `python -m lossadvisor.cli.docs`\n")
            return 1
        return 0
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(text, encoding="utf-8")
    sys.stderr.write(f"wrote {DOCS}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
