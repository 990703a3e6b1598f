"""The command line: parse flags, call one core function, render its result.

`app.py` builds the typer app and registers the commands; each command lives in a module of its own
(table, explain, inspect, convert, trial, scaffold, advise), with the shared options in `options.py` and the
global options (--table, --debug) in a `CliContext` on `typer.Context.obj`. Heavy libraries are imported
inside the commands that need them, so `--help` and `inspect` start fast. The core never imports this package.
"""

from lossadvisor.cli.advise import advise_command
from lossadvisor.cli.app import app, main

__all__ = ["advise_command", "app", "main"]
