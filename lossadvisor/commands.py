"""The `lossadvisor …` command lines the tool prints as hints and offers: held as data, rendered in one place.

Everything lossadvisor prints must run as pasted, so no module writes a command line as an f-string: it builds a
`CommandLine` (the command, the dataset, the options as data) and prints `CommandLine.render()`. Other modules
read the arguments from the data (`CommandLine.option("--to")`), never by parsing the rendered text back.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, replace

DEFAULT_OUT = {"fix": "fixed-dataset"}  # the -o a printed command proposes, by what it produces


@dataclass(frozen=True)
class CommandLine:
    """`lossadvisor [GLOBAL OPTIONS] COMMAND DATASET OPTIONS…`; `options` keep the order they are printed in.

    `global_options` (--table, --debug) go before the command.
    """

    command: str
    dataset: str | None = None
    options: tuple[tuple[str, str | None], ...] = ()
    global_options: tuple[tuple[str, str | None], ...] = ()

    def with_option(self, flag: str, value: str | None = None) -> CommandLine:
        return replace(self, options=(*self.options, (flag, value)))

    def with_options(self, options: Iterable[tuple[str, str | None]]) -> CommandLine:
        return replace(self, options=(*self.options, *options))

    def with_globals(self, options: Iterable[tuple[str, str | None]]) -> CommandLine:
        return replace(self, global_options=(*options, *self.global_options))

    def option(self, flag: str) -> str | None:
        """The value given to `flag` (None when absent or a bare switch)."""
        for name, value in self.options:
            if name == flag:
                return value
        return None

    def has(self, flag: str) -> bool:
        return any(name == flag for name, _ in self.options)

    def argv(self) -> list[str]:
        """The arguments after `lossadvisor`, as a shell would pass them (what CliRunner and subprocess take)."""
        args = [*_flatten(self.global_options), self.command]
        if self.dataset is not None:
            args.append(dataset_argument(self.dataset))
        args.extend(_flatten(self.options))
        return args

    def render(self) -> str:
        return "lossadvisor " + shlex.join(self.argv())

    def __str__(self) -> str:
        return self.render()


def _flatten(options: Iterable[tuple[str, str | None]]) -> list[str]:
    args: list[str] = []
    for flag, value in options:
        args.append(flag)
        if value is not None:
            args.append(value)
    return args


def dataset_argument(spec: str) -> str:
    """A dataset as a positional argument: a name that starts with '-' would be read as an option."""
    if spec.startswith("-"):
        return "." + os.sep + spec
    return spec


def convert_command(dataset: str, to: str | None = None, out: str | None = None, *extra: tuple[str, str | None]) -> CommandLine:
    """`lossadvisor convert DATASET (--to FORMAT | --fix) -o OUT …`: -o is required, so it is always there."""
    options: list[tuple[str, str | None]] = [("--to", to)] if to else [("--fix", None)]
    options.append(("-o", out or (f"{to}-dataset" if to else DEFAULT_OUT["fix"])))
    options.extend(extra)
    return CommandLine("convert", dataset, tuple(options))
