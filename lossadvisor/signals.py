"""SIGTERM (a CI timeout, `kill`, a container stop) as an orderly exit: the `finally` blocks that remove
temporary folders run, and the process ends with exit code 143 (128 + SIGTERM) after one line on stderr.

Python's default for SIGTERM is death on the spot, which leaves a trial's temporary folder (a saved model,
the trainer's output) behind in /tmp.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable

EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(SystemExit):
    """Raised by the SIGTERM handler; a SystemExit, so no `except Exception` swallows it."""


def _on_sigterm(signum, frame) -> None:
    sys.stderr.write("Error: terminated (SIGTERM); temporary files removed\n")
    raise Terminated(EXIT_TERMINATED)


def exit_on_sigterm() -> Callable[[], None]:
    """Install the handler; returns the function that puts the previous one back (a no-op off the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGTERM, _on_sigterm)

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)

    return restore
