"""Profile → format → losses, conversions and warnings: the rule engine over data_formats.yaml."""

from __future__ import annotations

import shlex
from collections import Counter
from dataclasses import dataclass, field

from lossadvisor.commands import CommandLine, convert_command
from lossadvisor.errors import FitError, SourceError
from lossadvisor.profile import RESERVED_NAMES, ST_LABEL_NAMES, ColumnChoice, Profile, build_profile
from lossadvisor.sources import Sample, open_sample
from lossadvisor.table import Format, LossTable


@dataclass(frozen=True)
class ColumnReport:
    name: str
    dtype: str
    role: str
    reason: str
    label_kind: str | None = None


@dataclass(frozen=True)
class Reading:
    """One way to read the data: a format, and what must be assumed for it."""

    format: str
    label_kind: str
    assumption: str | None
    losses: tuple[str, ...]
    needs_grouping: bool = False


@dataclass(frozen=True)
class Recommendation:
    loss: str
    reason: str
    num_labels: int | str
    activation: str
    params: tuple[dict[str, str], ...]
    construction: str
    distillation: bool = False


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


@dataclass(frozen=True)
class Warning:
    code: str
    message: str
    fix: str
    severity: str = "warning"  # warning | info
    fixable: bool = False  # `convert --fix` repairs it
    columns: tuple[str, ...] = ()  # the columns it is about


@dataclass(frozen=True)
class TidyPlan:
    """What `convert --fix` (and trial, in memory) applies to reach the format cleanly."""

    inputs: tuple[str, ...]
    label: str | None
    label_parts: tuple[str, ...] = ()
    label_parts_as: str = "scores"  # scores | margins (for label_parts)
    classes: tuple[str, ...] = ()  # map these label strings to ids, in this order
    cast_label_numeric: bool = False
    score_range: tuple[float, float] | None = None
    drop_label_values: tuple[str, ...] = ()
    group_by_anchor: bool = False
    drop_null_texts: bool = True
    drop_duplicates: bool = True


@dataclass(frozen=True)
class Report:
    dataset: str
    source_kind: str
    split: str | None
    splits: tuple[str, ...]
    num_rows: int | None
    sample_rows: int
    format: str | None
    format_description: str | None
    needs_fixing: bool
    num_labels: int | str | None
    activation: str | None
    columns: tuple[ColumnReport, ...]
    readings: tuple[Reading, ...]
    recommendations: tuple[Recommendation, ...]
    conversions: tuple[ConversionOffer, ...]
    warnings: tuple[Warning, ...]
    tidy: TidyPlan | None
    classes: tuple[str, ...] = ()
    load_code: str = ""
    extra: dict[str, object] = field(default_factory=dict)


# --- reading the format --------------------------------------------------------------------------------


def _label_length_fits(fmt: Format, profile: Profile, n_texts: int) -> bool:
    if fmt.label_length is None:
        return True
    if profile.label_parts:
        length = len(profile.label_parts)
        lengths = {length}
    else:
        assert profile.label is not None
        lengths = set(profile.column(profile.label).stats.get("lengths", []))
    if fmt.label_length == "docs":
        return fmt.text_list
    expected = n_texts - 2 if fmt.label_length == "negatives" else n_texts - 1
    return lengths == {expected}


def readings_for(profile: Profile, table: LossTable) -> list[Reading]:
    text_inputs = [n for n in profile.inputs if profile.column(n).kind == "text"]
    n_texts = len(text_inputs)
    kind = profile.label_kind or "none"
    exact: list[tuple[int, int, Reading]] = []
    long_form: list[tuple[int, int, Reading]] = []
    for order, fmt in enumerate(table.formats):
        losses = tuple(loss for row in table.rows_for_format(fmt.name) for loss in row.losses)
        if fmt.text_list == profile.text_list and fmt.texts.admits(n_texts) and kind in fmt.labels:
            if _label_length_fits(fmt, profile, n_texts):
                preference = fmt.labels.index(kind)
                exact.append((preference, order, Reading(fmt.name, kind, _assumption(fmt.name, kind, profile), losses)))
        elif not profile.text_list and n_texts == 2 and kind in fmt.long_form and profile.anchor_repeats >= 1.5:
            note = (f"rows list one judgment each (~{profile.anchor_repeats:.0f} per {text_inputs[0]}): "
                    f"grouped by {text_inputs[0]} they form a {fmt.name}")
            long_form.append((fmt.long_form.index(kind), order, Reading(fmt.name, kind, note, losses, needs_grouping=True)))
    return [r for _, _, r in sorted(exact)] + [r for _, _, r in sorted(long_form)]


def _assumption(format_name: str, kind: str, profile: Profile) -> str | None:
    if kind == "binary" and format_name == "labeled-pair":
        return "0/1 read as relevance (1 = positive pair) for BinaryCrossEntropyLoss"
    if kind == "binary" and format_name == "pair-class":
        return "0/1 read as two classes for CrossEntropyLoss(num_labels=2)"
    if kind == "binary" and format_name == "pair-score":
        return "0/1 read as the ends of a similarity score"
    if kind == "score" and format_name == "pair-score":
        return "float read as a gold similarity (BinaryCrossEntropyLoss); if a teacher model produced it, MSELoss distils it"
    if kind == "scaled-score":
        column = profile.column(profile.label) if profile.label else None
        lo, hi = (column.stats["min"], column.stats["max"]) if column else (None, None)
        return f"scores in [{lo}, {hi}] need rescaling to [0, 1]"
    if kind == "score" and format_name == "triplet-margin":
        return "a float in [0, 1] with three texts read as a teacher margin"
    return None


# --- the report -----------------------------------------------------------------------------------------


def inspect_dataset(spec: str, table: LossTable, split: str | None = None, subset: str | None = None,
                    choice: ColumnChoice | None = None, reading: str | None = None) -> Report:
    sample = open_sample(spec, split=split, subset=subset)
    if sample.table.num_rows == 0:
        raise SourceError(f"{spec}: the dataset is empty (no rows)")
    if sample.table.num_columns == 0:
        raise SourceError(f"{spec}: the dataset has no columns")
    profile = build_profile(sample, choice)
    return advise(profile, table, reading)


def advise(profile: Profile, table: LossTable, reading: str | None = None) -> Report:
    """`reading` picks one of the possible formats (--as), where the data alone cannot decide."""
    sample = profile.sample
    if not any(profile.column(n).kind == "text" for n in profile.inputs):
        names = ", ".join(repr(c.name) if "\n" in c.name else c.name for c in profile.columns)
        raise SourceError(
            f"{sample.spec}: no text columns found (columns: {names})",
            "CrossEncoder losses need text inputs: point at the columns holding the texts (--inputs).",
        )
    readings = readings_for(profile, table)
    if reading is not None:
        wanted = table.resolve_format(reading)
        chosen = [r for r in readings if r.format == wanted]
        if not chosen:
            raise FitError(f"the data cannot be read as {wanted} (possible readings: "
                           f"{', '.join(r.format for r in readings) or 'none'})", _read_as_hint(profile, readings, wanted, table))
        readings = chosen + [r for r in readings if r.format != wanted]
    primary = readings[0] if readings else None
    warnings = _mark_fixable(_warnings(profile, primary, table))  # bridge: see _mark_fixable
    tidy = _tidy_plan(profile, primary)
    needs_fixing = any(w.severity == "warning" for w in warnings) or (primary is not None and primary.needs_grouping)
    recommendations = _recommendations(profile, primary, table) if primary else ()
    conversions = _conversions(profile, primary, table, recommendations) if primary else ()
    num_labels = recommendations[0].num_labels if recommendations else None
    activation = recommendations[0].activation if recommendations else None
    fmt = table.format(primary.format) if primary else None
    if primary is None:
        warnings.append(Warning(
            "no-format",
            f"no format of the table fits {len([n for n in profile.inputs])} input columns with a {profile.label_kind} label",
            "Select the text columns and the label: dataset.select_columns([...]); see `lossadvisor table`.",
        ))
    return Report(
        dataset=sample.spec,
        source_kind=sample.kind,
        split=sample.split,
        splits=sample.splits,
        num_rows=sample.num_rows,
        sample_rows=sample.table.num_rows,
        format=primary.format if primary else None,
        format_description=fmt.description if fmt else None,
        needs_fixing=needs_fixing,
        num_labels=num_labels,
        activation=activation,
        columns=tuple(ColumnReport(c.name, c.dtype, c.role, c.reason, c.label_kind) for c in profile.columns),
        readings=tuple(readings),
        recommendations=recommendations,
        conversions=conversions,
        warnings=tuple(warnings),
        tidy=tidy,
        classes=profile.classes,
        load_code=load_code(sample),
    )


def _num_labels(rule: str, profile: Profile) -> int:
    if rule == "num_classes":
        if profile.classes:
            return len(profile.classes)
        return max(2, len(profile.class_counts))
    return int(rule)


def _recommendations(profile: Profile, reading: Reading, table: LossTable) -> tuple[Recommendation, ...]:
    rows = table.rows_for_format(reading.format)
    common = table.common_for_format(reading.format)
    common_losses = [c.loss for c in common if c.loss]
    ordered: list[tuple[str, bool]] = []
    for row in rows:
        for loss in row.losses:
            if loss not in [o for o, _ in ordered]:
                ordered.append((loss, row.distillation))
    ordered.sort(key=lambda item: (item[1], item[0] not in common_losses))
    results = []
    for loss_name, distillation in ordered:
        loss = table.losses[loss_name]
        num_labels = _num_labels(loss.num_labels, profile)
        reason = loss.summary
        for advice in common:
            if advice.loss == loss_name:
                reason = f"common choice: {advice.advice}"
        if distillation:
            reason = f"distillation: {loss.summary} (if a teacher model produced the labels)"
        if loss_name in ("PListMLELoss", "ListMLELoss") and _lists_unsorted(profile):
            reason += "; your lists are not sorted by relevance: set respect_input_order=False"
        params = tuple(_advised_params(loss_name, loss.params, profile))
        activation = "Identity" if loss.activation == "identity" else ("Sigmoid (default)" if num_labels == 1 else "default")
        results.append(Recommendation(
            loss=loss_name, reason=reason, num_labels=num_labels, activation=activation, params=params,
            construction=_construction(loss_name, num_labels, loss.activation, params), distillation=distillation,
        ))
    return tuple(results)


def _lists_unsorted(profile: Profile) -> bool:
    if profile.label is None or profile.column(profile.label).kind != "number-list":
        return False
    values = _complete_lists(profile.sample.table.column(profile.label).to_pylist()[:500])
    return any(v and list(v) != sorted(v, reverse=True) for v in values)


def _complete_lists(rows: list) -> list[list]:
    """The label lists with no null or NaN entry (only those can be compared and sorted)."""
    return [row for row in rows if row is not None and all(v is not None and v == v for v in row)]


def _advised_params(loss_name: str, params, profile: Profile):
    for param in params:
        value = param.value
        why = param.why
        if param.name == "pos_weight":
            counts = profile.class_counts
            positives = counts.get("1", counts.get("1.0", 0))
            negatives = counts.get("0", counts.get("0.0", 0))
            if not positives or not negatives:
                continue
            value = f"torch.tensor({negatives / positives:.2f})"
            why = f"{negatives} negatives / {positives} positives in the sample; balances the rarer class"
        if param.name == "respect_input_order" and _lists_unsorted(profile):
            value, why = "False", "your lists are not sorted by relevance"
        yield {"name": param.name, "value": value, "why": why}


def _construction(loss_name: str, num_labels: int, activation: str, params) -> str:
    model_args = [f"num_labels={num_labels}"]
    if activation == "identity":
        model_args.append("activation_fn=torch.nn.Identity()")
    loss_args = ["model"] + [f"{p['name']}={p['value']}" for p in params if p["name"] not in ("k",)]
    return f"model = CrossEncoder(MODEL, {', '.join(model_args)})\nloss = losses.{loss_name}({', '.join(loss_args)})"


def _read_as_hint(profile: Profile, readings: list[Reading], wanted: str, table: LossTable) -> str:
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
    sources = [c.from_format for c in table.model.conversions if c.to_format == wanted]
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
    return convert_command(profile.sample.spec, to, _out_name(profile, to), *extra)


def _conversions(profile: Profile, reading: Reading, table: LossTable, recs) -> tuple[ConversionOffer, ...]:
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
        if conversion.method == PAIR_UP and not _anchor_with_both_labels(profile):
            continue  # no anchor has a positive and a negative: the conversion would leave no rows
        if conversion.method == GATHER and _too_few_negatives(profile):
            offers.append(_offer(conversion.to_format, _mine_instead(profile, conversion.to_format), unlocks, ("miner",),
                                 "hard-negative mining for each (anchor, positive) pair (the triplets hold one negative each)"))
            continue
        offers.append(_offer(conversion.to_format, _convert_line(profile, conversion.to_format, conversion.needs), unlocks,
                             conversion.needs, conversion.summary))
    return tuple(offers)


# BRIDGE until the warnings module marks `Warning.fixable` itself (branch h-data): drop this and its call in advise().
_FIXED_BY_CONVERT = {
    "extra-columns", "input-order", "label-name", "two-labels", "competing-labels", "split-label", "string-labels",
    "score-range", "no-consensus-labels", "null-texts", "null-labels", "duplicates", "literal-quotes",
    "misleading-extension", "ragged-rows", "no-header", "nested-records", "bom-in-header", "reserved-column",
}


def _mark_fixable(warnings: list[Warning]) -> list[Warning]:
    from dataclasses import replace

    return [replace(w, fixable=True) if w.code in _FIXED_BY_CONVERT and not w.fixable else w for w in warnings]


def _default_positive_class(profile: Profile) -> str:
    return default_positive_class(profile.classes)


def default_positive_class(classes) -> str:
    """The class a printed command proposes as the positive one: entailment where named, else the first (id 0)."""
    for name in classes:
        if name.lower() == "entailment":
            return name
    return classes[0] if classes else "0"


def _out_name(profile: Profile, fmt: str) -> str:
    return f"{fmt}-dataset"


# --- warnings -------------------------------------------------------------------------------------------


def _py(names) -> str:
    return "[" + ", ".join(repr(n) for n in names) + "]"


def _warnings(profile: Profile, reading: Reading | None, table: LossTable) -> list[Warning]:
    sample = profile.sample
    out: list[Warning] = []
    spec = shlex.quote(sample.spec)
    fix_command = f"lossadvisor convert {spec} --fix -o fixed-dataset"

    for code, message in sample.reading_notes:
        fixes = {
            "misleading-extension": f"Read it with the right delimiter, e.g. {load_code(sample)}",
            "literal-quotes": "Read with quoting=csv.QUOTE_NONE (3): " + load_code(sample),
            "ragged-rows": "Give every column a name (column_names=[...]) so the extra fields are kept apart: " + load_code(sample),
            "no-header": "Name the columns: " + load_code(sample),
            "crlf": "Nothing to do: CSV readers handle CRLF; other tools may keep a trailing \\r.",
            "json-field": "Load with field=...: " + load_code(sample),
            "nested-records": "Flatten the records to one row per example (lossadvisor convert does it): " + fix_command,
        }
        severity = "info" if code in ("crlf", "misleading-extension", "json-field") else "warning"
        out.append(Warning(code, message, fixes.get(code, fix_command), severity))

    for column in profile.columns:
        if column.name.startswith("ï»¿") or column.name.startswith("\ufeff"):
            clean = column.name.replace("ï»¿", "").replace("\ufeff", "")
            out.append(Warning("bom-in-header", f"column '{column.name}' starts with a byte-order mark decoded as text",
                               f'dataset = dataset.rename_column({column.name!r}, {clean!r})'))
        if column.name in RESERVED_NAMES:
            out.append(Warning("reserved-column", f"column '{column.name}' is reserved by CrossEncoderTrainer",
                               f'dataset = dataset.rename_column({column.name!r}, "{column.name}_")'))

    if len(sample.splits) > 1:
        out.append(Warning("dataset-dict", f"a DatasetDict with splits {', '.join(sample.splits)}: inspecting '{sample.split}'",
                           "Pick another with --split; train on train, evaluate on the others.", "info"))
    for column in profile.columns:
        if column.reason.startswith("split marker"):
            values = ", ".join(f"{v} {n}" for v, n in column.stats["top"])
            out.append(Warning("split-column", f"the split is stored in column '{column.name}' ({values}), not in files",
                               f"train = dataset.filter(lambda row: row[{column.name!r}] == {column.stats['top'][0][0]!r})"))
    selected = list(profile.inputs) + ([profile.label] if profile.label else []) + list(profile.label_parts)
    original_inputs = [c.name for c in profile.columns if c.name not in ST_LABEL_NAMES]
    extra = [n for n in original_inputs if n not in profile.inputs and n not in profile.label_parts and n != profile.label]
    if extra:
        mnrl = " MultipleNegativesRankingLoss does not check the column count: extra columns become negatives." \
            if reading and reading.label_kind == "none" else ""
        out.append(Warning(
            "extra-columns",
            f"{len(extra)} column(s) would be fed to the model as inputs: {', '.join(extra)}.{mnrl}",
            f"dataset = dataset.select_columns({_py(selected)})",
        ))
    present_order = [c.name for c in profile.columns if c.name in profile.inputs]
    if present_order != list(profile.inputs):
        out.append(Warning(
            "input-order",
            f"inputs are taken by order, and {profile.inputs[0]} should come first: the order is {', '.join(present_order)}",
            f"dataset = dataset.select_columns({_py(selected)})",
        ))
    label_names_present = [c.name for c in profile.columns if c.name in ST_LABEL_NAMES]
    if profile.label and profile.label not in ST_LABEL_NAMES:
        out.append(Warning(
            "label-name",
            f"the label is in '{profile.label}', which sentence-transformers treats as an input (labels must be named label/labels/score/scores)",
            f"dataset = dataset.rename_column({profile.label!r}, \"label\")",
        ))
    if len(label_names_present) > 1:
        out.append(Warning("two-labels", f"several label-named columns ({', '.join(label_names_present)}): only the first, '{label_names_present[0]}', is used",
                           f"dataset = dataset.remove_columns({_py(label_names_present[1:])})"))
    competing = [c for c in profile.columns if c.role == "ignored" and c.reason == "second label-like column"]
    if competing:
        names = ", ".join(c.name for c in competing)
        out.append(Warning("competing-labels",
                           f"'{names}' could also be a label; '{profile.label}' was taken (pick with --label, or drop the other)",
                           f"dataset = dataset.select_columns({_py(selected)})"))
    if profile.label_parts:
        out.append(Warning(
            "split-label",
            f"teacher scores are spread over {', '.join(profile.label_parts)}: the loss needs them in one list column 'label'",
            f"dataset = dataset.map(lambda row: {{\"label\": [{', '.join(f'row[{p!r}]' for p in profile.label_parts)}]}})"
            f".remove_columns({_py(profile.label_parts)})",
        ))
    if profile.label:
        _label_warnings(profile, reading, out, fix_command)
    for name in profile.inputs:
        column = profile.column(name)
        if column.kind != "text":
            continue
        bad = column.stats["nulls"] + column.stats["empty"]
        if bad:
            out.append(Warning("null-texts", f"{bad} row(s) of the sample have a null or empty '{name}'",
                               f"dataset = dataset.filter(lambda row: bool(row[{name!r}] and row[{name!r}].strip()))"))
    _duplicate_warning(profile, out, fix_command)
    if reading is not None:
        _format_warnings(profile, reading, table, out)
    return out


def _label_warnings(profile: Profile, reading: Reading | None, out: list[Warning], fix_command: str) -> None:
    label = profile.column(profile.label)
    stats = label.stats
    if label.kind == "text":
        if profile.drop_label_values:
            counts = dict(stats["top"])
            n = sum(counts.get(v, 0) for v in profile.drop_label_values)
            out.append(Warning("no-consensus-labels",
                               f"{n} row(s) have the label {', '.join(repr(v) for v in profile.drop_label_values)} (no gold label, SNLI-style)",
                               f"dataset = dataset.filter(lambda row: row[{profile.label!r}] not in {_py(profile.drop_label_values)})"))
        names = list(profile.classes)
        out.append(Warning("string-labels", f"labels are strings ({', '.join(names[:6])}): the losses need numbers",
                           f"dataset = dataset.cast_column({profile.label!r}, ClassLabel(names={_py(names)}))"
                           if profile.label_kind == "class" else
                           f"dataset = dataset.cast_column({profile.label!r}, Value(\"float32\"))"))
    if label.kind == "number":
        if stats.get("nan") or stats.get("nulls"):
            out.append(Warning("null-labels", f"{stats.get('nan', 0) + stats.get('nulls', 0)} label(s) are null or NaN",
                               f"dataset = dataset.filter(lambda row: row[{profile.label!r}] == row[{profile.label!r}])"))
        kind = profile.label_kind
        lo, hi = stats["min"], stats["max"]
        if kind == "scaled-score":
            out.append(Warning("score-range", f"scores run from {lo} to {hi}, outside [0, 1] (BinaryCrossEntropyLoss needs [0, 1])",
                               f"dataset = dataset.map(lambda row: {{{profile.label!r}: (row[{profile.label!r}] - {lo}) / {hi - lo}}})"
                               f"  # or: {fix_command} --score-range {lo}:{hi}"))
        if kind == "graded" and lo is not None and lo < 0:
            out.append(Warning("graded-negative",
                               f"graded labels include negative values ({lo}..{hi}): listwise losses expect gains >= 0 where higher means"
                               " more relevant. Check the scale is not inverted (e.g. Cranfield: 1 = best, -1 = of no interest)",
                               f"dataset = dataset.map(lambda row: {{{profile.label!r}: GAIN[row[{profile.label!r}]]}})  # your code → gain table"))
        if kind in ("binary", "class") and stats["distinct"] == 1:
            out.append(Warning("single-class", f"every label is {stats['values'][0]}: there is nothing to learn from",
                               "Add examples of the other class(es), e.g. by mining negatives: lossadvisor convert ... --to labeled-pair"))
        if kind == "binary" and stats["counts"]:
            counts = stats["counts"]
            pos, neg = counts.get("1", counts.get("1.0", 0)), counts.get("0", counts.get("0.0", 0))
            if pos and neg and max(pos, neg) / min(pos, neg) >= 1.5:
                out.append(Warning("imbalanced", f"imbalanced labels: {pos} positive / {neg} negative in the sample",
                                   f"losses.BinaryCrossEntropyLoss(model, pos_weight=torch.tensor({neg / pos:.2f}))", "info"))
        if kind == "class" and len(profile.class_counts) > 1:
            counts = profile.class_counts
            if max(counts.values()) / max(1, min(counts.values())) >= 2:
                out.append(Warning("imbalanced", "class imbalance: " + ", ".join(f"{k} {v}" for k, v in counts.items()),
                                   "Consider class weights or resampling; report per-class metrics.", "info"))
        if kind == "score" and stats.get("values") is None:
            exact = sum(1 for v in profile.sample.table.column(profile.label).to_pylist() if v in (0.0, 1.0))
            if exact:
                out.append(Warning("score-reading", f"{exact} label(s) are exactly 0.0 or 1.0 among continuous scores: read as a score, not a 0/1 label",
                                   "Nothing to do unless the labels are really binary.", "info"))
        if kind == "class" and not profile.classes:
            out.append(Warning("class-ids", f"class ids {stats['values']} without class names: num_labels = {len(stats['values'])} is read from the values",
                               f"dataset = dataset.cast_column({profile.label!r}, ClassLabel(names=[...]))", "info"))
        if kind == "margin":
            negative = sum(1 for v in profile.sample.table.column(profile.label).to_pylist() if v is not None and v < 0)
            out.append(Warning("margin-label", f"labels run from {lo} to {hi} ({negative} negative): teacher margins, not a [0, 1] score",
                               "Nothing to do: MarginMSELoss takes margins as they are.", "info"))
    if label.kind == "number-list":
        _list_label_warnings(profile, out)


def _list_label_warnings(profile: Profile, out: list[Warning]) -> None:
    table = profile.sample.table
    labels = table.column(profile.label).to_pylist()
    complete = _complete_lists(labels)
    if len(complete) < len(labels):
        out.append(Warning("null-labels", f"{len(labels) - len(complete)} label list(s) are null or hold null/NaN entries",
                           f"dataset = dataset.filter(lambda row: row[{profile.label!r}] is not None"
                           f" and all(v is not None and v == v for v in row[{profile.label!r}]))"))
    list_inputs = [n for n in profile.inputs if profile.column(n).kind == "text-list"]
    if list_inputs:
        docs = table.column(list_inputs[0]).to_pylist()
        mismatched = sum(1 for d, row in zip(docs, labels) if d is not None and row is not None and len(d) != len(row))
        if mismatched:
            out.append(Warning("list-length-mismatch", f"{mismatched} row(s) have a different number of docs and labels",
                               f"dataset = dataset.filter(lambda row: len(row[{list_inputs[0]!r}]) == len(row[{profile.label!r}]))"))
        lengths = [len(d) for d in docs if d is not None]
        if lengths and min(lengths) != max(lengths):
            out.append(Warning("ragged-lists", f"list lengths vary from {min(lengths)} to {max(lengths)}: fine for the listwise losses"
                               " (they pad), but set mini_batch_size to bound memory on the long ones",
                               "losses.LambdaLoss(model, mini_batch_size=16)", "info"))
        labels = complete
        flat = {v for row in labels if row for v in row}
        if flat and min(flat) < 0:
            # The same trap as a scalar graded label, one level down: a long-format file grouped by
            # `convert --to labeled-list` keeps its codes, so the re-inspection must still flag them.
            out.append(Warning("graded-negative",
                               f"graded labels include negative values ({min(flat)}..{max(flat)}): listwise losses expect gains >= 0"
                               " where higher means more relevant. Check the scale is not inverted (e.g. Cranfield: 1 = best,"
                               " -1 = of no interest)",
                               f"dataset = dataset.map(lambda row: {{{profile.label!r}: [GAIN[v] for v in row[{profile.label!r}]]}})"
                               "  # your code → gain table"))
        if flat and not flat <= {0, 1}:
            out.append(Warning("graded-lists", f"graded labels ({min(flat)}..{max(flat)}), not binary: LambdaLoss and ListNetLoss use the grades",
                               "Nothing to do.", "info"))
        constant = sum(1 for row in labels if row and len(set(row)) == 1)
        if constant:
            out.append(Warning("constant-lists", f"{constant} list(s) have all-equal labels: nothing to rank there",
                               f"dataset = dataset.filter(lambda row: len(set(row[{profile.label!r}])) > 1)"))
        unsorted = sum(1 for row in labels if row and list(row) != sorted(row, reverse=True))
        if unsorted:
            out.append(Warning("unsorted-lists", f"{unsorted} list(s) are not sorted by relevance: ListMLELoss and PListMLELoss assume"
                               " they are unless respect_input_order=False",
                               "losses.PListMLELoss(model, respect_input_order=False)", "info"))
    else:
        out.append(Warning("list-label", "the label is a list of numbers but the texts are separate columns, not a list:"
                           " read as teacher scores/margins for distillation, not a labeled-list", "Nothing to do.", "info"))


def _duplicate_warning(profile: Profile, out: list[Warning], fix_command: str) -> None:
    texts = [n for n in profile.inputs if profile.column(n).kind == "text"]
    if not texts:
        return
    table = profile.sample.table
    columns = [table.column(n).to_pylist() for n in texts]
    rows = list(zip(*columns))
    duplicates = len(rows) - len(set(rows))
    if not duplicates:
        return
    # `convert --fix` drops exact duplicates only (same texts and same label): a pair that comes back with
    # another label is a conflict for the user to settle, and pointing at --fix again would be a loop.
    conflicting = 0
    if profile.label and profile.label in table.column_names:
        labels = [tuple(v) if isinstance(v, list) else v for v in table.column(profile.label).to_pylist()]
        conflicting = duplicates - (len(rows) - len(set(zip(rows, labels))))
    message = f"{duplicates} duplicated ({', '.join(texts)}) row(s) in the sample"
    fix = fix_command
    if conflicting:
        message += f"; {conflicting} of them with a different label, which `convert --fix` keeps"
        keep_first = (f"dataset = Dataset.from_pandas(dataset.to_pandas().drop_duplicates(subset={_py(texts)}), preserve_index=False)"
                      "  # keeps the first label of each")
        fix = keep_first if conflicting == duplicates else f"{fix_command}, then decide the conflicting labels, e.g. {keep_first}"
    out.append(Warning("duplicates", message, fix))


def _format_warnings(profile: Profile, reading: Reading, table: LossTable, warnings: list[Warning]) -> None:
    out = warnings
    rows = table.rows_for_format(reading.format)
    losses = {loss for row in rows for loss in row.losses}
    identity = sorted(name for name in losses if table.losses[name].activation == "identity")
    if identity:
        loss_side = sorted(name for name in identity if table.losses[name].loss_activation)
        extra = f"; {', '.join(loss_side)} also default their own activation_fn to Sigmoid" if loss_side else ""
        out.append(Warning(
            "sigmoid-activation",
            f"CrossEncoder(num_labels=1) defaults to a Sigmoid activation, which saturates scores under {', '.join(identity)}{extra}",
            "CrossEncoder(MODEL, num_labels=1, activation_fn=torch.nn.Identity())"
            + (f" and {loss_side[0]}(model, activation_fn=torch.nn.Identity())" if loss_side else ""),
            "info",
        ))
    first = profile.inputs[1] if len(profile.inputs) > 1 else None
    if reading.label_kind == "none" and first and profile.column(first).kind == "text":
        stats = profile.column(first).stats
        present = stats["rows"] - stats["nulls"]
        if stats["distinct"] and present / stats["distinct"] >= 1.5:
            out.append(Warning(
                "repeated-positives",
                f"only {stats['distinct']} distinct '{first}' for {present} rows: repeated positives become in-batch false negatives",
                "CrossEncoderTrainingArguments(..., batch_sampler=BatchSamplers.NO_DUPLICATES)",
            ))
    if reading.label_kind != "none" and not reading.needs_grouping and profile.anchor_repeats >= 1.5 and not profile.text_list:
        warnings.append(Warning("repeated-anchors", f"each '{profile.inputs[0]}' appears ~{profile.anchor_repeats:.1f} times: split train/eval by"
                           " anchor, not by row, to avoid leakage", "Split on the unique anchors before training.", "info"))
    if reading.needs_grouping:
        out.append(Warning("long-format", reading.assumption or "one row per judgment",
                           f"lossadvisor convert {shlex.quote(profile.sample.spec)} --to {reading.format} -o {reading.format}-dataset"))
    if len(rows) and reading.assumption and not reading.needs_grouping:
        out.append(Warning("assumption", reading.assumption, "Say otherwise with the interactive advisor (`lossadvisor advise`).", "info"))


def _tidy_plan(profile: Profile, reading: Reading | None) -> TidyPlan | None:
    if reading is None:
        return None
    label_column = profile.column(profile.label) if profile.label else None
    score_range = None
    if reading.label_kind == "scaled-score" and label_column is not None:
        score_range = (float(label_column.stats["min"]), float(label_column.stats["max"]))
    # A reading without labels (e.g. pairs) drops the label column, rather than dropping rows for its values.
    unlabeled = reading.label_kind == "none"
    return TidyPlan(
        inputs=profile.inputs,
        label=None if unlabeled else profile.label,
        label_parts=() if unlabeled else profile.label_parts,
        label_parts_as="scores",
        classes=profile.classes if (label_column is not None and label_column.kind == "text" and reading.label_kind == "class") else (),
        cast_label_numeric=bool(label_column is not None and label_column.kind == "text" and reading.label_kind != "class"),
        score_range=score_range,
        drop_label_values=profile.drop_label_values,
        group_by_anchor=reading.needs_grouping,
    )


def load_code(sample: Sample) -> str:
    """The `datasets` call that reads this source the way lossadvisor did."""
    files = sample.files
    target = repr(files[0]) if len(files) == 1 else repr(list(files))
    if sample.kind == "save_to_disk":
        code = f"load_from_disk({sample.spec!r})"
        return code + (f"[{sample.split!r}]" if sample.splits else "")
    if sample.kind == "hub":
        return f"load_dataset({sample.spec!r}, split={(sample.split or 'train')!r})"
    if sample.kind == "parquet":
        return f"load_dataset(\"parquet\", data_files={target}, split=\"train\")"
    if sample.kind == "arrow":
        return f"load_dataset(\"arrow\", data_files={target}, split=\"train\")"
    if sample.kind == "json":
        field_arg = f", field={sample.json_field!r}" if sample.json_field else ""
        return f"load_dataset(\"json\", data_files={target}{field_arg}, split=\"train\")"
    dialect = sample.dialect
    assert dialect is not None
    args = [f"data_files={target}"]
    if dialect.delimiter != ",":
        args.append(f"sep={dialect.delimiter!r}")
    if not dialect.quoting:
        args.append("quoting=3")
    if not dialect.header:
        args.append("header=None")
        args.append(f"column_names={list(dialect.column_names)!r}")
    return f"load_dataset(\"csv\", {', '.join(args)}, split=\"train\")"


@dataclass(frozen=True)
class LossExplanation:
    loss: str
    import_path: str
    summary: str
    num_labels: str
    activation: str
    rows: tuple[dict[str, str], ...]
    params: tuple[dict[str, str], ...]
    convertible_from: tuple[dict[str, object], ...]
    construction: str


def explain_loss(table: LossTable, name: str) -> LossExplanation:
    loss_name = table.resolve_loss(name)
    loss = table.losses[loss_name]
    formats = table.formats_for_loss(loss_name)
    rows = tuple(
        {"format": row.format, "inputs": row.inputs, "labels": row.labels, "num_labels": row.num_labels}
        for row in table.rows_for_loss(loss_name)
    )
    into = tuple(
        {"from": c.from_format, "to": c.to_format, "summary": c.summary, "needs": list(c.needs)}
        for c in table.model.conversions if c.to_format in formats
    )
    activation = "Identity (set activation_fn=torch.nn.Identity())" if loss.activation == "identity" else "the default"
    params = tuple({"name": p.name, "value": p.value, "why": p.why} for p in loss.params)
    num_labels = "number of classes" if loss.num_labels == "num_classes" else loss.num_labels
    construction = _construction(loss_name, "NUM_CLASSES" if loss.num_labels == "num_classes" else int(loss.num_labels),  # type: ignore[arg-type]
                                 loss.activation, params)
    return LossExplanation(loss_name, loss.import_path, loss.summary, num_labels, activation, rows, params, into, construction)
