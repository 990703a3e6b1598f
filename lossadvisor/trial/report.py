"""A trial's loss curve: as characters for the terminal, or as a plot."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from lossadvisor.errors import LossAdvisorError
from lossadvisor.trial.options import TrialResult

_BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int | None = None) -> str:
    """One character per value (or per bucket when `width` is smaller); a non-finite value shows as '×'."""
    values = list(values)
    if width is not None and 0 < width < len(values):
        buckets = []
        for index in range(width):
            chunk = values[index * len(values) // width : (index + 1) * len(values) // width]
            bad = any(not math.isfinite(v) for v in chunk)
            buckets.append(float("nan") if bad else sum(chunk) / len(chunk))
        values = buckets
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return "×" * len(values)
    low, high = min(finite), max(finite)
    span = high - low
    chars = []
    for value in values:
        if not math.isfinite(value):
            chars.append("×")
        elif span == 0:
            chars.append(_BLOCKS[len(_BLOCKS) // 2])
        else:
            chars.append(_BLOCKS[round((value - low) / span * (len(_BLOCKS) - 1))])
    return "".join(chars)


def write_plot(results: Sequence[TrialResult], path: str | Path, overwrite: bool = False) -> Path:
    """A .png, .svg or .pdf with one loss curve per result, written by lossadvisor.outputs' rules (atomic, no
    clobber without `overwrite`, never through a link)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lossadvisor.outputs import PLOT, atomic_write, check_output

    path = check_output(path, PLOT, (), overwrite, option="--plot")
    figure, axes = plt.subplots(figsize=(8, 4.5))
    try:
        for result in results:
            steps = list(range(1, len(result.losses) + 1))
            shown = [v if math.isfinite(v) else float("nan") for v in result.losses]
            label = result.loss_name if result.ok else f"{result.loss_name} ({result.status})"
            (line,) = axes.plot(steps, shown, label=label, linewidth=1.5)
            if result.first_bad_step is not None:
                finite = [v for v in shown if math.isfinite(v)]
                axes.plot([result.first_bad_step], [finite[-1] if finite else 0.0], "x", color=line.get_color(), markersize=10)
        axes.set_xlabel("step")
        axes.set_ylabel("training loss")
        if results:
            first = results[0]
            axes.set_title(f"lossadvisor trial: {first.format_name}, batch {first.batch_size}, lr {first.learning_rate:g}")
        axes.grid(alpha=0.3)
        axes.legend()
        figure.tight_layout()
        atomic_write(path, lambda temporary: figure.savefig(temporary, dpi=120, format=path.suffix[1:].lower()), overwrite)
    except OSError as exc:
        raise LossAdvisorError(f"cannot write the plot to {path}: {exc.strerror or exc}", None) from None
    finally:
        plt.close(figure)
    return path
