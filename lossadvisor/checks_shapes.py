"""Warnings about shapes data is published in (issue 11): negatives held in lists, and the choices only the
user can make, as data (`Question`s) for `advise` to ask.

A shape no loss takes as it is (a table format without rows, e.g. list-negatives) gets one warning that says
so and names the expansions `convert` performs; ragged lists name the --negatives-policy choice.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lossadvisor.commands import CommandLine, convert_command
from lossadvisor.findings import INFO, warning
from lossadvisor.findings import WarningCode as C
from lossadvisor.fit import fitting_losses
from lossadvisor.profile import LABEL_LIKE, Profile, Why

if TYPE_CHECKING:
    from lossadvisor.findings import Reading, Warning
    from lossadvisor.table import LossTable

# --gain presets: an inverted or coded relevance scale mapped to gains (higher = more relevant, 0 = not relevant).
# --gain presets: an inverted or coded relevance scale mapped to gains (higher = more relevant, 0 = not relevant);
# convert/gain.py applies them. Cranfield: 1 = complete answer ... 4 = minimal interest, 5 and -1 = no interest.
from lossadvisor.findings import GAIN_PRESETS as GAIN_PRESETS  # noqa: E402  (re-exported)


@dataclass(frozen=True)
class Choice:
    answer: str  # what the user picks, in words
    flag: str  # the command-line flag the answer maps to, as printed ("" when the answer is the default)
    option: tuple[str, ...] = ()  # the same as data: (flag, value), or () for the default


def choice(answer: str, *option: str) -> Choice:
    """A choice whose flag is rendered from its option, so the two never disagree."""
    return Choice(answer, shlex.join(option), tuple(option))


@dataclass(frozen=True)
class Question:
    """A choice the data cannot make: what `advise` asks, the choices, and the flag each answer maps to."""

    topic: str  # label | score-reading | gain | expansion | negatives-policy
    ask: str
    choices: tuple[Choice, ...]
    default: int = 0  # index of the choice inspect assumed


# Rank numbers (1 = best) given where the listwise losses want relevance (higher = better): this share of the lists
# of three or more documents must look like ranks, and at least this many such lists must be there.
RANK_SHARE = 0.9
RANK_MIN_LISTS = 2
RANKS_TO_GAINS = "dataset = dataset.map(lambda row: {{{name!r}: [max(row[{name!r}]) - r for r in row[{name!r}]]}})"


def rank_numbers(labels) -> str | None:
    """Why the label lists look like rank positions (1 = best) rather than relevance, or None.

    Ranks show as a permutation of 1..n in every list, or as numbers that start at 1 and rise along the list (the
    documents stored best first, each with its rank). Relevance grades rarely do either: they start at 0, repeat,
    and fall along a list stored best first. Only lists of three or more integers count.
    """
    lists = [list(row) for row in labels if row is not None and len(row) >= 3]
    if len(lists) < RANK_MIN_LISTS:
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer() for row in lists for v in row):
        return None
    permutations = sum(1 for row in lists if sorted(row) == list(range(1, len(row) + 1)))
    rising = sum(1 for row in lists if row[0] == 1 and all(a <= b for a, b in zip(row, row[1:])) and row[-1] > row[0])
    if permutations >= RANK_SHARE * len(lists):
        return f"{permutations} of {len(lists)} lists hold the numbers 1..n, each once: rank positions, where 1 is the best"
    if rising >= RANK_SHARE * len(lists):
        return (f"{rising} of {len(lists)} lists start at 1 and rise along the list: rank positions of documents stored"
                " best first")
    return None


def ranks_fix(name: str) -> str:
    return RANKS_TO_GAINS.format(name=name) + "  # rank 1 (best) gets the highest gain, the last 0"


def list_lengths(profile: Profile, name: str) -> list[int]:
    return [len(v) for v in profile.sample.table.column(name).to_pylist() if v]


def expansions(profile: Profile, source: str, table: LossTable) -> list[str]:
    """The formats with losses that declared conversions reach from `source` without a model or a teacher."""
    out = []
    for fmt in table.formats:
        path = table.conversion_path(source, fmt.name) if fmt.name != source else None
        if path and table.rows_for_format(fmt.name) and not any(step.needs for step in path):
            out.append(fmt.name)
    direct = [c.to_format for c in table.conversions_from(source)]
    return sorted(out, key=lambda name: (name not in direct, direct.index(name) if name in direct else 0))


def ragged(profile: Profile) -> tuple[int, int] | None:
    """(shortest, longest) of the last list-of-texts input, when they differ."""
    negatives = [n for n in profile.inputs if profile.column(n).kind == "text-list"][-1:]
    lengths = list_lengths(profile, negatives[0]) if negatives else []
    return (min(lengths), max(lengths)) if lengths and min(lengths) != max(lengths) else None


def shape_warnings(profile: Profile, reading: Reading, table: LossTable, out: list[Warning]) -> None:
    """A format no loss takes as it is: say so, and what each expansion unlocks."""
    if table.rows_for_format(reading.format):
        return
    targets = expansions(profile, reading.format, table)
    negatives = [n for n in profile.inputs if profile.column(n).kind == "text-list"]
    if not negatives:
        out.append(_other_family(profile, reading, table, targets))
        return
    span = ragged(profile)
    lengths = f"; the negative lists run from {span[0]} to {span[1]} long (--negatives-policy truncate|pad|drop)" if span else ""
    out.append(warning(
        C.LIST_NEGATIVES,
        f"{reading.format}: the texts to rank against are held in lists, which no loss takes as they are{lengths}."
        f" convert expands them: {', '.join(targets)}",
        convert_command(profile.sample.spec, targets[0], None, *((("--negatives-policy", "truncate"),) if span else ())).render(),
        INFO, columns=negatives))


def _other_family(profile: Profile, reading: Reading, table: LossTable, targets: list[str]) -> Warning:
    """A format this family has no loss for (single texts for a CrossEncoder): the families that train on it."""
    owners = [name for name in table.family_names if table.for_family(name).rows_for_format(reading.format)]
    trained = "; ".join(f"{table.for_family(name).family.title}: {', '.join(fitting_losses(reading.format, table.for_family(name)))}"
                        for name in owners)
    message = f"{reading.format}: no {table.family.title} loss trains on {reading.format} data" + (
        f"; {trained}" if trained else "")
    if targets:
        message += f". convert reaches {', '.join(targets)}"
        fix = convert_command(profile.sample.spec, targets[0], None).render()
    elif owners:
        fix = CommandLine("inspect", profile.sample.spec, (("--family", owners[0]),)).render()
    else:
        fix = "See `lossadvisor table` for the formats each family trains on."
    return warning(C.OTHER_FAMILY, message, fix, INFO if owners or targets else "warning")


def questions(profile: Profile, readings: list[Reading], warnings: list[Warning], table: LossTable) -> tuple[Question, ...]:
    """The ambiguities of this data, as questions with the flag each answer maps to."""
    out: list[Question] = []
    codes = {w.code for w in warnings}
    others = [c.name for c in profile.columns if c.role != "input" and c.name != profile.label and LABEL_LIKE.search(c.name)
              and c.why in (Why.SECOND_LABEL, Why.SHORT_CODES, Why.SECOND_LIST)]
    if profile.label and (others or codes & {C.COMPETING_LABELS, C.TWO_LABELS}):
        out.append(Question("label", "Which column is the label (the others are metadata)?",
                            tuple(choice(name, "--label", name) for name in [profile.label, *others])))
    kind = readings[0].label_kind if readings else None
    if kind in ("logit", "score", "scaled-score") and profile.label:
        stats = profile.column(profile.label).stats
        similarity = choice("a similarity on a bounded scale (BinaryCrossEntropyLoss)",
                            *(("--score-range", f"{stats['min']}:{stats['max']}") if kind != "score" else ()))
        teacher = choice("a teacher model's scores or logits (MSELoss, distillation)", "--loss", "MSELoss")
        out.append(Question("score-reading", f"Are the scores in '{profile.label}' ({stats['min']}..{stats['max']}) a gold"
                            " similarity or a teacher's logits?", (teacher, similarity) if kind == "logit" else (similarity, teacher)))
    if kind == "graded" and profile.label and (profile.column(profile.label).stats["min"] or 0) < 0:
        out.append(Question("gain", f"Is 1 the best grade in '{profile.label}' (an inverted scale such as Cranfield's)?",
                            (choice("yes: map the codes to gains", "--gain", GAIN_PRESETS["cranfield"]),
                             choice("no: higher is more relevant (negative values become 0)", "--gain", "clip"))))
    if readings and not table.rows_for_format(readings[0].format):
        targets = expansions(profile, readings[0].format, table)
        out.append(Question("expansion", f"Which expansion of the {readings[0].format} data?",
                            tuple(choice(t, "--to", t) for t in targets)))
        if ragged(profile):
            out.append(Question("negatives-policy", "Negative lists differ in length: for an n-tuple, cut them to the shortest,"
                                " pad the short ones with their own negatives, or drop them?",
                                tuple(choice(p, "--negatives-policy", p) for p in ("truncate", "pad", "drop"))))
    return tuple(out)
