"""One exception family; the CLI turns it into `Error: …` / `Hint: …` and an exit code."""

from __future__ import annotations

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class LossAdvisorError(Exception):
    """A problem with the user's input or arguments: shown as one line, exit code 2."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class TableError(LossAdvisorError):
    """data_formats.yaml (or the user's --table) is malformed."""


class SourceError(LossAdvisorError):
    """The dataset cannot be opened or read."""


class FitError(LossAdvisorError):
    """The data does not fit what was asked (a loss, a format, a conversion)."""
