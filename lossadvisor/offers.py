"""The conversions `inspect` offers: each carries its `lossadvisor convert …` command as data (a CommandLine).

An offer is made only when it can run on this data (an anchor to pair up, negatives to gather), and what it needs
from the user (a positive class, a teacher) is filled in or named; mining is never a need, BM25 is the default.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lossadvisor.commands import CommandLine, convert_command
from lossadvisor.profile import Profile, default_positive_class
from lossadvisor.table import LossTable

if TYPE_CHECKING:
    from lossadvisor.advice import Reading


@dataclass(frozen=True)
class ConversionOffer:
    """A conversion inspect offers. `args` holds the command as data; `command` is `args.render()` (what is printed).

    `needs` lists what the user must supply (positive-class, teacher); `mines` says whether hard negatives are
    mined, which BM25 does by default, so mining is never a need.
    """

    to: str
    command: str
    unlocks: tuple[str, ...]
    needs: tuple[str, ...]
    summary: str
    args: CommandLine
    mines: bool = False


def _offer(to: str, args: CommandLine, unlocks, needs, summary: str) -> ConversionOffer:
    return ConversionOffer(to, args.render(), tuple(dict.fromkeys(unlocks)), tuple(n for n in needs if n != "miner"), summary,
                           args, mines="miner" in needs)


def read_as_hint(profile: Profile, readings: list[Reading], wanted: str, table: LossTable) -> str:
    """`inspect --as F` where F is not a reading: the exact convert command when a reading converts to F, else why not."""
    for reading in readings:
        path = table.conversion_path(reading.format, wanted)
        if path and any(step.method == GATHER for step in path[1:]):
            return (f"No conversion leads from {reading.format} to {wanted}: the way there makes triplets with one negative "
                    "per (anchor, positive) pair. Convert to triplet instead (--to triplet).")
        if path:
            if path[0].method == GATHER and _too_few_negatives(profile):
                line, why = _mine_instead(profile, wanted), "each (anchor, positive) pair has one negative: mine more"
            else:
                line, why = _convert_line(profile, wanted, {n for step in path for n in step.needs}), None
            route = " -> ".join([reading.format] + [s.to_format for s in path])
            return f"Convert it ({why or route}): `{line.render()}`"
    sources = [c.from_format for c in table.conversions if c.to_format == wanted]
    made = f"{wanted} is made only from {', '.join(sources)}" if sources else f"no conversion makes {wanted}"
    return (f"No conversion leads from this data to {wanted}: {made}. "
            "Name the columns with --inputs and --label, or read it as one of the possible readings with --as.")


GATHER = "group-negatives"  # triplet -> n-tuple: needs (anchor, positive) pairs with 2 or more negatives


def _too_few_negatives(profile: Profile) -> bool:
    """In the sample, no (anchor, positive) pair has two negatives: gathering them into n-tuples makes nothing."""
    if len(profile.inputs) < 3 or any(profile.column(n).kind != "text" for n in profile.inputs[:2]):
        return False
    pairs = Counter(zip(_values(profile, profile.inputs[0]), _values(profile, profile.inputs[1])))
    return max(pairs.values(), default=0) < 2


def _values(profile: Profile, name: str) -> list:
    """A sample column as Python values (by position: pyarrow's group_by would import pandas, and split dotted names)."""
    table = profile.sample.table
    return table.column(table.column_names.index(name)).to_pylist()


PAIR_UP = "pair-positives-with-negatives"  # labeled-pair -> triplet: needs anchors with a positive and a negative


def _anchor_with_both_labels(profile: Profile) -> bool:
    """In the sample, some anchor has rows with two different labels (a positive and a negative to pair up)."""
    if profile.label is None or not profile.inputs or profile.column(profile.inputs[0]).kind != "text":
        return True  # nothing to judge by: leave it to convert
    labels: dict = {}
    for anchor, label in zip(_values(profile, profile.inputs[0]), _values(profile, profile.label)):
        labels.setdefault(anchor, set()).add(label)
    return any(len(seen) >= 2 for seen in labels.values())


def _mine_instead(profile: Profile, to: str) -> CommandLine:
    """Triplets with one negative each, to n-tuples: read them as (anchor, positive) pairs and mine the negatives."""
    pair = ",".join(profile.inputs[:2])
    return convert_command(profile.sample.spec, to, _out_name(profile, to), ("--inputs", pair), ("--label", "none"))


def _convert_line(profile: Profile, to: str, needs) -> CommandLine:
    """`lossadvisor convert SPEC --to FORMAT -o OUT`, with the values its needs take (a teacher is a placeholder)."""
    extra: list[tuple[str, str | None]] = []
    if "positive-class" in needs:
        extra.append(("--positive-class", _default_positive_class(profile)))
    if "teacher" in needs:
        extra.append(("--teacher", "CROSS_ENCODER"))
    if "miner" in needs and profile.sample.kind == "beir":
        extra.append(("--corpus", profile.sample.files[0]))  # mine the negatives from the corpus, not the positives
    return convert_command(profile.sample.spec, to, _out_name(profile, to), *extra)


def conversion_offers(profile: Profile, reading: Reading, table: LossTable, recs) -> tuple[ConversionOffer, ...]:
    recommended = {r.loss for r in recs}
    offers = []
    seen = set()
    targets = [c for c in table.conversions_from(reading.format)]
    if reading.needs_grouping:
        targets = []  # the data is one grouping away from this format: offer that first
        offers.append(_offer(reading.format, _convert_line(profile, reading.format, ()),
                             (loss for loss in reading.losses if loss not in recommended), (), "group rows by the first input"))
        seen.add(reading.format)
    for conversion in targets:
        if conversion.to_format in seen or conversion.to_format == reading.format:
            continue
        seen.add(conversion.to_format)
        unlocks = (loss for row in table.rows_for_format(conversion.to_format) for loss in row.losses if loss not in recommended)
        if conversion.method in (PAIR_UP, "group") and not _anchor_with_both_labels(profile):
            continue  # no anchor has two different labels: no triplet to pair up, no list with something to rank
        if conversion.method == GATHER and _too_few_negatives(profile):
            offers.append(_offer(conversion.to_format, _mine_instead(profile, conversion.to_format), unlocks, ("miner",),
                                 "hard-negative mining for each (anchor, positive) pair (the triplets hold one negative each)"))
            continue
        offers.append(_offer(conversion.to_format, _convert_line(profile, conversion.to_format, conversion.needs), unlocks,
                             conversion.needs, conversion.summary))
    return tuple(offers)


def _default_positive_class(profile: Profile) -> str:
    return default_positive_class(profile.classes)


def _out_name(profile: Profile, fmt: str) -> str:
    return f"{fmt}-dataset"
