"""A comparison's ranking: losses ordered by the held-out metric after training, with paired-bootstrap noise.

Every loss is scored on the same held-out units, so two losses are compared unit by unit (a paired
bootstrap): a gap inside the noise means the data cannot tell them apart. Groups are formed greedily from the
top: the best loss and every loss within noise of it are group 1; the next loss outside it leads group 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from lossadvisor.trial.measure import Measurement, paired_noise
from lossadvisor.trial.options import Standing, TrialResult


def rank(runs: Sequence[tuple[TrialResult, Measurement | None]], seed: int = 0) -> list[TrialResult]:
    """The results in the order they ran, each with its Standing; losses without a score rank last, unranked."""
    scored = sorted((i for i, (_, after) in enumerate(runs) if after is not None), key=lambda i: -runs[i][1].value)
    standings: dict[int, Standing] = {}
    leaders: list[int] = []
    best = scored[0] if scored else None
    for position, index in enumerate(scored, start=1):
        after = runs[index][1]
        group = next((g for g, leader in enumerate(leaders, start=1) if _within_noise(runs[leader][1], after, seed)), None)
        if group is None:
            leaders.append(index)
            group = len(leaders)
        gap = noise = None
        if best is not None and index != best:
            gap = runs[best][1].value - after.value
            noise = paired_noise(after, runs[best][1], seed=seed)
        standings[index] = Standing(position, after.metric, after.value, gap, noise, group, group == 1)
    return [replace(result, standing=standings.get(i)) for i, (result, _) in enumerate(runs)]


def _within_noise(leader: Measurement, other: Measurement, seed: int) -> bool:
    noise = paired_noise(other, leader, seed=seed)
    return noise is not None and leader.value - other.value <= noise
