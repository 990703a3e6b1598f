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
    """A .png, .svg or .pdf: one loss-curve panel per result (each on its own scale, integer step ticks) and, when
    any result was measured, a bar chart of the held-out metric change with its noise as error bars. Written by
    lossadvisor.outputs' rules (atomic, no clobber without `overwrite`, never through a link)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lossadvisor.outputs import PLOT, atomic_write, check_output

    path = check_output(path, PLOT, (), overwrite, option="--plot")
    measured = [r for r in results if r.evaluation is not None and r.evaluation.change is not None]
    panels = len(results) + (1 if measured else 0)
    columns = min(3, max(1, panels))
    rows = max(1, math.ceil(panels / columns))  # an empty comparison still draws (an empty) figure
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False)
    flat = list(axes.flat)
    try:
        for axis, result in zip(flat, results):
            _curve_panel(axis, result)
        if measured:
            _change_panel(flat[len(results)], measured)
        for axis in flat[panels:]:
            axis.set_visible(False)
        if results:
            first = results[0]
            figure.suptitle(f"lossadvisor trial: {first.format_name}, batch {first.batch_size}, lr {first.learning_rate:g}")
        figure.tight_layout()
        atomic_write(path, lambda temporary: figure.savefig(temporary, dpi=110, format=path.suffix[1:].lower()), overwrite)
    except OSError as exc:
        raise LossAdvisorError(f"cannot write the plot to {path}: {exc.strerror or exc}", None) from None
    finally:
        plt.close(figure)
    return path


def _curve_panel(axis, result: TrialResult) -> None:
    from matplotlib.ticker import MaxNLocator

    steps = list(range(1, len(result.losses) + 1))
    shown = [v if math.isfinite(v) else float("nan") for v in result.losses]
    (line,) = axis.plot(steps, shown, linewidth=1.5, marker="." if len(steps) <= 30 else None)
    if result.first_bad_step is not None:
        finite = [v for v in shown if math.isfinite(v)]
        axis.plot([result.first_bad_step], [finite[-1] if finite else 0.0], "x", color="red", markersize=10)
    title = result.loss_name if result.ok else f"{result.loss_name} ({result.status})"
    axis.set_title(title, fontsize=9)
    axis.set_xlabel("step")
    axis.set_ylabel("training loss")
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.grid(alpha=0.3)


def _change_panel(axis, measured: Sequence[TrialResult]) -> None:
    names = [r.loss_name for r in measured]
    changes = [r.evaluation.change for r in measured]
    noise = [r.evaluation.noise or 0.0 for r in measured]
    colors = ["tab:green" if r.evaluation.significant and r.evaluation.change > 0 else
              "tab:red" if r.evaluation.significant else "tab:gray" for r in measured]
    axis.bar(range(len(names)), changes, yerr=noise, capsize=4, color=colors)
    axis.axhline(0, color="black", linewidth=0.8)
    axis.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
    axis.set_ylabel(f"{measured[0].evaluation.metric} change (±95% noise)")
    axis.set_title("held-out metric after − before", fontsize=9)
    axis.grid(alpha=0.3, axis="y")
