"""One exception family; the CLI turns it into `Error: …` / `Hint: …` and an exit code."""

from __future__ import annotations

import re

# Control characters (terminal escapes, line breaks) and bidi overrides: a message quotes names from the data,
# and it must stay one line on the terminal that cannot be rewritten by what it quotes.
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


# A message that quotes data (a column name, a list of class names) stays readable: at most this many characters.
MAX_MESSAGE_CHARS = 600
# A hint carries a command or code to paste, often with the user's paths in it: cut, it no longer runs. It gets
# room for several long paths, and is still bounded against fixes that quote data.
MAX_HINT_CHARS = 2_000


def printable(text: str, limit: int | None = None) -> str:
    """`text` with control characters and bidi overrides shown as escapes (\\x1b, \\n, \\u202e), cut to `limit`."""
    if limit is None:
        return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
    if len(text) > limit * 4:
        text = text[: limit * 2]  # escapes grow the text: cut before them, and exactly after them
    text = _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
    if len(text) > limit:
        hidden = len(text) - limit
        text = text[: limit - 30] + f"… ({hidden:,}+ more characters)"
    return text

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class LossAdvisorError(Exception):
    """A problem with the user's input or arguments: shown as one line, exit code 2."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        message = printable(message, MAX_MESSAGE_CHARS)
        super().__init__(message)
        self.message = message
        self.hint = printable(hint, MAX_HINT_CHARS) if hint else hint


class TableError(LossAdvisorError):
    """data_formats.yaml (or the user's --table) is malformed."""


class SourceError(LossAdvisorError):
    """The dataset cannot be opened or read."""


class FitError(LossAdvisorError):
    """The data does not fit what was asked (a loss, a format, a conversion)."""
