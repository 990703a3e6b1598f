"""Progress reporting that costs nothing unless the caller asks for it.

`run_conversion(progress=...)` accepts None (silent), a `rich.progress.Progress` (the CLI passes one when
stdout is a terminal and --json is off), or a plain callback `(description, completed, total)`; total is
None while the amount of work is unknown.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

ProgressCallback = Callable[[str, int, "int | None"], None]


class Task:
    """One bar: advance it as work gets done; `finish` marks it complete."""

    def __init__(self, reporter: Reporter, description: str, total: int | None) -> None:
        self._reporter = reporter
        self.description = description
        self.total = total
        self.completed = 0
        self.started = time.perf_counter()
        self._rich_id: Any = None
        if reporter.rich is not None:
            self._rich_id = reporter.rich.add_task(description, total=total)
        self._emit()

    def advance(self, amount: int = 1) -> None:
        self.completed += amount
        self._emit()

    def finish(self) -> None:
        if self.total is None:
            self.total = self.completed
        self.completed = self.total
        self._emit()

    @property
    def rate(self) -> float | None:
        """Units done per second so far (None before any)."""
        elapsed = time.perf_counter() - self.started
        return self.completed / elapsed if self.completed and elapsed > 0 else None

    @property
    def eta(self) -> float | None:
        """Seconds left at the rate so far (None while the total or the rate is unknown)."""
        rate = self.rate
        if self.total is None or not rate:
            return None
        return max(self.total - self.completed, 0) / rate

    def _emit(self) -> None:
        if self._reporter.rich is not None:
            self._reporter.rich.update(self._rich_id, completed=self.completed, total=self.total)
        elif self._reporter.callback is not None:
            self._reporter.callback(self.description, self.completed, self.total)


class Reporter:
    def __init__(self, target: Any = None) -> None:
        self.rich = None
        self.callback: ProgressCallback | None = None
        if target is None or isinstance(target, Reporter):
            if isinstance(target, Reporter):
                self.rich, self.callback = target.rich, target.callback
        elif hasattr(target, "add_task") and hasattr(target, "update"):
            self.rich = target
        elif callable(target):
            self.callback = target
        else:
            raise TypeError(f"progress must be None, a rich Progress or a callable, not {type(target).__name__}")

    @property
    def active(self) -> bool:
        return self.rich is not None or self.callback is not None

    def task(self, description: str, total: int | None = None) -> Task:
        return Task(self, description, total)


def as_reporter(progress: Any) -> Reporter:
    return progress if isinstance(progress, Reporter) else Reporter(progress)


def plain_progress(stream: Any = None, first_after: float = 2.0, every: float = 5.0) -> ProgressCallback:
    """Progress as plain lines (for a pipe or a log): a step that runs past `first_after` seconds gets a line, then
    one every `every` seconds and one when it completes, with its rate and ETA; quick steps print nothing."""
    import sys

    out = stream or sys.stderr
    started: dict[str, float] = {}
    last: dict[str, float] = {}

    def report(description: str, completed: int, total: int | None) -> None:
        now = time.perf_counter()
        began = started.setdefault(description, now)
        done = total is not None and completed >= total
        if now - began < first_after or (not done and description in last and now - last[description] < every):
            return
        if done and description not in last:
            return  # finished before its first line was due: nothing to add
        last[description] = now
        elapsed = now - began
        rate = completed / elapsed if elapsed > 0 else 0.0
        count = f"{completed:,}/{total:,}" if total is not None else f"{completed:,}"
        eta = f", about {max(total - completed, 0) / rate:.0f}s left" if total is not None and rate and not done else ""
        print(f"  {description}: {count} ({rate:,.0f}/s{eta}){' done' if done else ''}", file=out, flush=True)

    return report


def rich_progress(**kwargs: Any):
    """The bars the CLI shows: on stderr, so that stdout keeps only the result."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """Rows (or pairs, documents) per second, as rich measures them."""

        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.0f}/s" if speed else "", style="progress.data.speed")

    kwargs.setdefault("console", Console(stderr=True))
    kwargs.setdefault("transient", True)
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        **kwargs,
    )
