"""Progress of a trial on stderr, so that stdout keeps only the report (or the JSON): a line per loss as it
starts and a line per step (per N steps for long runs), styled on a terminal and plain when piped."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

# A line per step up to this many steps, then about this many lines per loss.
MAX_LINES_PER_LOSS = 40


def step_printer(losses: list[str], steps: int, stream: TextIO | None = None,
                 styled: bool | None = None) -> Callable[[str, int, float], None]:
    """on_step(loss_name, step, value) for run_trial/compare: prints to `stream` (stderr) and flushes each line."""
    stream = stream or sys.stderr
    styled = stream.isatty() if styled is None else styled
    every = max(1, steps // MAX_LINES_PER_LOSS)
    state = {"loss": None}
    started = time.perf_counter()

    def emit(text: str, dim: bool = False) -> None:
        if styled:
            text = f"\033[2m{text}\033[0m" if dim else f"\033[1m{text}\033[0m"
        stream.write(text + "\n")
        stream.flush()

    def on_step(loss: str, step: int, value: float) -> None:
        if loss != state["loss"]:
            state["loss"] = loss
            position = losses.index(loss) + 1 if loss in losses else 0
            emit(f"[{position}/{len(losses)}] {loss}: training {steps} steps")
        if step % every == 0 or step == steps or value != value:
            elapsed = time.perf_counter() - started
            emit(f"  {loss} step {step}/{steps}: loss {value:.4f} ({elapsed:.0f}s in all)", dim=True)

    return on_step
