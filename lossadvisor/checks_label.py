"""The label and format checks of checks.py, and the tidy plan that `convert --fix` applies for them.

Code fixes here run after the rows were filtered, the columns selected and duplicates dropped, and before the
label is renamed to `label` (see checks.py), so they name the label by its cleaned original name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lossadvisor.findings import INFO, _fix_command, _py, clean_name, warning
from lossadvisor.findings import WarningCode as C
from lossadvisor.profile import Profile

if TYPE_CHECKING:
    from lossadvisor.findings import Reading, TidyPlan, Warning
    from lossadvisor.table import LossTable


def _complete_lists(rows: list) -> list[list]:
    """The label lists with no null or NaN entry (only those can be compared and sorted)."""
    return [row for row in rows if row is not None and all(v is not None and v == v for v in row)]


def single_valued(profile: Profile) -> bool:
    """A binary or class label with one value in the data: a constant, not a class count."""
    if profile.label is None or profile.label_parts or profile.label_kind not in ("binary", "class"):
        return False
    column = profile.column(profile.label)
    if column.kind == "text":
        return len(profile.classes) == 1
    return column.kind == "number" and column.stats["distinct"] == 1


def _label_warnings(profile: Profile, out: list[Warning]) -> None:
    label = profile.column(profile.label)
    if label.kind == "text":
        _text_label_warnings(profile, out)
    if label.kind == "number":
        _number_label_warnings(profile, out)
        _number_label_notes(profile, out)
    if label.kind == "number-list" and profile.label_kind != "embedding":  # a teacher's vector: checks_family
        _list_label_warnings(profile, out)


def _text_label_warnings(profile: Profile, out: list[Warning]) -> None:
    name = clean_name(profile.label)
    stats = profile.column(profile.label).stats
    if profile.drop_label_values:
        counts = dict(stats["top"])
        n = sum(counts.get(v, 0) for v in profile.drop_label_values)
        out.append(warning(C.NO_CONSENSUS_LABELS,
                           f"{n} row(s) have the label {', '.join(repr(v) for v in profile.drop_label_values)} (no gold label, SNLI-style)",
                           f"dataset = dataset.filter(lambda row: row[{name!r}] not in {_py(profile.drop_label_values)})",
                           columns=[profile.label]))
    names = list(profile.classes)
    if len(names) == 1:
        out.append(warning(C.SINGLE_CLASS, f"every label is {names[0]!r}: one value is not a class count (read as no label)",
                           f"Add the other class(es), or mine negatives: {_grouping_command(profile, 'labeled-pair')}",
                           columns=[profile.label]))
        return
    out.append(warning(C.STRING_LABELS, f"labels are strings ({', '.join(names[:6])}): the losses need numbers",
                       f"dataset = dataset.cast_column({name!r}, ClassLabel(names={_py(names)}))"
                       if profile.label_kind == "class" else f"dataset = dataset.cast_column({name!r}, Value(\"float32\"))",
                       columns=[profile.label]))


def _number_label_warnings(profile: Profile, out: list[Warning]) -> None:
    name = clean_name(profile.label)
    stats = profile.column(profile.label).stats
    if stats.get("nan") or stats.get("nulls"):
        out.append(warning(C.NULL_LABELS, f"{stats.get('nan', 0) + stats.get('nulls', 0)} label(s) are null or NaN",
                           f"dataset = dataset.filter(lambda row: row[{name!r}] is not None and row[{name!r}] == row[{name!r}])",
                           columns=[profile.label]))
    if stats.get("inf"):
        out.append(warning(C.INFINITE_LABELS, f"{stats['inf']} label(s) are infinite (inf or -inf): not a score, and no scale"
                           " holds them; only those rows are dropped",
                           f"dataset = dataset.filter(lambda row: row[{name!r}] is not None and math.isfinite(row[{name!r}]))"
                           f"  # or: {_fix_command(profile)}", columns=[profile.label]))
    kind = profile.label_kind
    lo, hi = stats["min"], stats["max"]
    if kind == "scaled-score":
        out.append(warning(C.SCORE_RANGE, f"scores run from {lo} to {hi}, outside [0, 1] (BinaryCrossEntropyLoss needs [0, 1])",
                           f"dataset = dataset.map(lambda row: {{{name!r}: (row[{name!r}] - {lo}) / {hi - lo}}})"
                           f"  # or: {_fix_command(profile, ('--score-range', f'{lo}:{hi}'))}", columns=[profile.label]))
    if kind == "graded" and lo is not None and lo < 0:
        out.append(warning(C.GRADED_NEGATIVE,
                           f"graded labels include negative values ({lo}..{hi}): listwise losses expect gains >= 0 where higher means"
                           " more relevant. Check the scale is not inverted (e.g. Cranfield: 1 = best, -1 = of no interest)",
                           _gain_fix(profile), columns=[profile.label]))
    if kind in ("binary", "class") and stats["distinct"] == 1:
        out.append(warning(C.SINGLE_CLASS, f"every label is {stats['values'][0]}: one value is not a class count (read as no label)",
                           "Add examples of the other class(es), e.g. by mining negatives: lossadvisor convert ... --to labeled-pair",
                           columns=[profile.label]))


def _class_id_warnings(profile: Profile, stats: dict, out: list[Warning]) -> None:
    """Class ids as the one num_labels rule (recipe.num_labels_for) reads them: sparse or out-of-range ids are said."""
    from lossadvisor.recipe import MAX_CLASSES, data_facts, num_labels_for

    facts = data_facts(profile.sample.table, profile.label, profile.classes)
    ids = facts.class_ids
    if ids is None:
        return
    name = clean_name(profile.label)
    remap = f"dataset = dataset.class_encode_column({name!r})  # ids 0..N-1, in the sorted order of the values"
    low, high = (int(v) if float(v).is_integer() else v for v in (ids.low, ids.high))
    num_labels, decided = num_labels_for("num_classes", facts)
    if profile.classes and len(profile.classes) >= MAX_CLASSES:
        out.append(warning(C.CLASS_IDS, f"the class names list {len(profile.classes):,} classes, more than {MAX_CLASSES:,}: "
                           f"not read as num_labels (the ids give {num_labels})",
                           f"Keep the names of the classes the data uses, or {remap}", columns=[profile.label]))
    elif ids.out_of_range:
        outputs = f"{int(ids.high) + 1:,}" if ids.integral and ids.low >= 0 else "no number of"
        out.append(warning(C.CLASS_IDS, f"class ids run from {low} to {high} ({ids.distinct} distinct): not ids 0..N-1; max id + 1"
                           f" would be {outputs} outputs, so classification losses are refused until they are mapped",
                           remap, columns=[profile.label]))
    elif profile.classes and ids.high >= len(profile.classes):
        out.append(warning(C.CLASS_IDS, f"label {high} is beyond the {len(profile.classes)} class names: num_labels = "
                           f"{num_labels} (max id + 1), not {len(profile.classes)}",
                           f"Name every class (ClassLabel(names=[...]) with {num_labels} names), or {remap}",
                           columns=[profile.label]))
    elif ids.sparse:
        out.append(warning(C.CLASS_IDS, f"class ids leave gaps ({ids.distinct} distinct ids up to {high}): num_labels = "
                           f"{num_labels} (max id + 1), {num_labels - ids.distinct} outputs that no example trains",
                           remap, columns=[profile.label]))
    elif not profile.classes:
        out.append(warning(C.CLASS_IDS, f"class ids {stats['values']} without class names: num_labels = {num_labels}"
                           " (max id + 1) is read from the values",
                           f"Name the classes if you know them: dataset.cast_column({name!r}, ClassLabel(names=[...]))", INFO))


def _gain_fix(profile: Profile) -> str:
    """The convert call mapping codes to gains: the inverted Cranfield preset, with how to say otherwise."""
    from lossadvisor.findings import GAIN_PRESETS

    command = _fix_command(profile, ("--gain", GAIN_PRESETS["cranfield"]))
    return f"{command}  # 1 = best (inverted); higher is better already: --gain clip; your own codes: --gain CODE=GAIN,..."


def _number_label_notes(profile: Profile, out: list[Warning]) -> None:
    stats = profile.column(profile.label).stats
    kind = profile.label_kind
    lo, hi = stats["min"], stats["max"]
    if kind == "binary" and stats["counts"]:
        counts = stats["counts"]
        pos, neg = counts.get("1", counts.get("1.0", 0)), counts.get("0", counts.get("0.0", 0))
        if pos and neg and max(pos, neg) / min(pos, neg) >= 1.5:
            out.append(warning(C.IMBALANCED, f"imbalanced labels: {pos} positive / {neg} negative in the sample",
                               f"losses.BinaryCrossEntropyLoss(model, pos_weight=torch.tensor({neg / pos:.2f}))", INFO))
    if kind == "class" and len(profile.class_counts) > 1:
        counts = profile.class_counts
        if max(counts.values()) / max(1, min(counts.values())) >= 2:
            out.append(warning(C.IMBALANCED, "class imbalance: " + ", ".join(f"{k} {v}" for k, v in counts.items()),
                               "Consider class weights or resampling; report per-class metrics.", INFO))
    values = profile.sample.table.column(profile.label).to_pylist()
    if kind == "score" and stats.get("values") is None:
        exact = sum(1 for v in values if v in (0.0, 1.0))
        if exact:
            out.append(warning(C.SCORE_READING, f"{exact} label(s) are exactly 0.0 or 1.0 among continuous scores: read as a score,"
                               " not a 0/1 label", "Nothing to do unless the labels are really binary.", INFO))
    if kind == "class" and stats["distinct"] > 1:
        _class_id_warnings(profile, stats, out)
    if kind == "logit":
        out.append(warning(C.SCORE_READING, f"scores run from {lo} to {hi}: negative or beyond a bounded scale (0-5, 0-10,"
                           " 0-100), so read as a teacher's logits: MSELoss distils them as they are; rescaling them into [0, 1]"
                           " for BinaryCrossEntropyLoss would distort them",
                           "Nothing to do for MSELoss (keep activation_fn=torch.nn.Identity()); if they are a similarity on a "
                           "scale of yours, pass --score-range LOW:HIGH", INFO, columns=[profile.label]))
    if kind == "margin":
        negative = sum(1 for v in values if v is not None and v < 0)
        out.append(warning(C.MARGIN_LABEL, f"labels run from {lo} to {hi} ({negative} negative): teacher margins, not a [0, 1] score",
                           "Nothing to do: MarginMSELoss takes margins as they are.", INFO))


def _list_label_warnings(profile: Profile, out: list[Warning]) -> None:
    table = profile.sample.table
    name = clean_name(profile.label)
    labels = table.column(profile.label).to_pylist()
    complete = _complete_lists(labels)
    if len(complete) < len(labels):
        out.append(warning(C.NULL_LABELS, f"{len(labels) - len(complete)} label list(s) are null or hold null/NaN entries",
                           f"dataset = dataset.filter(lambda row: row[{name!r}] is not None"
                           f" and all(v is not None and v == v for v in row[{name!r}]))", columns=[profile.label]))
    list_inputs = [n for n in profile.inputs if profile.column(n).kind == "text-list"]
    if not list_inputs:
        out.append(warning(C.LIST_LABEL, "the label is a list of numbers but the texts are separate columns, not a list:"
                           " read as teacher scores/margins for distillation, not a labeled-list", "Nothing to do.", INFO))
        return
    docs_name = clean_name(list_inputs[0])
    docs = table.column(list_inputs[0]).to_pylist()
    mismatched = sum(1 for d, row in zip(docs, labels) if d is not None and row is not None and len(d) != len(row))
    if mismatched:
        out.append(warning(C.LIST_LENGTH_MISMATCH, f"{mismatched} row(s) have a different number of docs and labels",
                           f"dataset = dataset.filter(lambda row: len(row[{docs_name!r}]) == len(row[{name!r}]))",
                           columns=[list_inputs[0], profile.label]))
    lengths = [len(d) for d in docs if d is not None]
    if lengths and min(lengths) != max(lengths):
        out.append(warning(C.RAGGED_LISTS, f"list lengths vary from {min(lengths)} to {max(lengths)}: fine for the listwise losses"
                           " (they pad), but set mini_batch_size to bound memory on the long ones",
                           "losses.LambdaLoss(model, mini_batch_size=16)", INFO))
    _list_value_warnings(profile, complete, out)


def _list_value_warnings(profile: Profile, labels: list[list], out: list[Warning]) -> None:
    name = clean_name(profile.label)
    flat = {v for row in labels if row for v in row}
    if flat and min(flat) < 0 and all(float(v).is_integer() for v in flat):  # graded codes; float scores are a teacher's
        # The same trap as a scalar graded label, one level down: a long-format file grouped by
        # `convert --to labeled-list` keeps its codes, so the re-inspection must still flag them.
        out.append(warning(C.GRADED_NEGATIVE,
                           f"graded labels include negative values ({min(flat)}..{max(flat)}): listwise losses expect gains >= 0"
                           " where higher means more relevant. Check the scale is not inverted (e.g. Cranfield: 1 = best,"
                           " -1 = of no interest)",
                           _gain_fix(profile), columns=[profile.label]))
    if flat and not flat <= {0, 1}:
        out.append(warning(C.GRADED_LISTS, f"graded labels ({min(flat)}..{max(flat)}), not binary: LambdaLoss and ListNetLoss use"
                           " the grades", "Nothing to do.", INFO))
    from lossadvisor.checks_shapes import rank_numbers, ranks_fix

    ranks = rank_numbers(labels)
    if ranks:
        out.append(warning(C.RANK_LABELS, f"the labels look inverted: {ranks}. The listwise losses read a higher label as"
                           " more relevant", ranks_fix(name), columns=[profile.label]))
    constant = sum(1 for row in labels if row and len(set(row)) == 1)
    if constant:
        out.append(warning(C.CONSTANT_LISTS, f"{constant} list(s) have all-equal labels: nothing to rank there",
                           f"dataset = dataset.filter(lambda row: len(set(row[{name!r}])) > 1)", columns=[profile.label]))
    unsorted = sum(1 for row in labels if row and list(row) != sorted(row, reverse=True))
    if unsorted:
        out.append(warning(C.UNSORTED_LISTS, f"{unsorted} list(s) are not sorted by relevance: ListMLELoss and PListMLELoss assume"
                           " they are unless respect_input_order=False", "losses.PListMLELoss(model, respect_input_order=False)", INFO))


def _format_warnings(profile: Profile, reading: Reading, table: LossTable, out: list[Warning]) -> None:
    rows = table.rows_for_format(reading.format)
    losses = {loss for row in rows for loss in row.losses}
    identity = sorted(name for name in losses if table.losses[name].activation == "identity")
    if identity:
        loss_side = sorted(name for name in identity if table.losses[name].loss_activation)
        extra = f"; {', '.join(loss_side)} also default their own activation_fn to Sigmoid" if loss_side else ""
        out.append(warning(
            C.SIGMOID_ACTIVATION,
            f"CrossEncoder(num_labels=1) defaults to a Sigmoid activation, which saturates scores under {', '.join(identity)}{extra}",
            "CrossEncoder(MODEL, num_labels=1, activation_fn=torch.nn.Identity())"
            + (f" and {loss_side[0]}(model, activation_fn=torch.nn.Identity())" if loss_side else ""), INFO))
    # repeated anchors and positives under in-batch losses: checks_family (its fix is the family's own code)
    if reading.label_kind != "none" and not reading.needs_grouping and profile.anchor_repeats >= 1.5 and not profile.text_list:
        out.append(warning(C.REPEATED_ANCHORS, f"each '{profile.inputs[0]}' appears ~{profile.anchor_repeats:.1f} times: split"
                           " train/eval by anchor, not by row, to avoid leakage", "Split on the unique anchors before training.", INFO,
                           columns=[profile.inputs[0]]))
    if reading.needs_grouping:
        out.append(warning(C.LONG_FORMAT, reading.assumption or "one row per judgment",
                           _grouping_command(profile, reading.format), columns=[profile.inputs[0]]))
    if len(rows) and reading.assumption and not reading.needs_grouping:
        out.append(warning(C.ASSUMPTION, reading.assumption, "Say otherwise with the interactive advisor (`lossadvisor advise`).",
                           INFO))


def _grouping_command(profile: Profile, fmt: str) -> str:
    from lossadvisor.commands import convert_command

    return convert_command(profile.sample.spec, fmt).render()


def _tidy_plan(profile: Profile, reading: Reading | None) -> TidyPlan | None:
    from lossadvisor.findings import TidyPlan

    if reading is None:
        return None
    label_column = profile.column(profile.label) if profile.label else None
    score_range = None
    if reading.label_kind == "scaled-score" and label_column is not None:
        score_range = (float(label_column.stats["min"]), float(label_column.stats["max"]))
    # A reading without labels (e.g. pairs) drops the label column, rather than dropping rows for its values.
    unlabeled = reading.label_kind == "none"
    text_label = label_column is not None and label_column.kind == "text"
    return TidyPlan(
        inputs=profile.inputs,
        label=None if unlabeled else profile.label,
        label_parts=() if unlabeled else profile.label_parts,
        label_parts_as="scores",
        classes=profile.classes if (text_label and reading.label_kind == "class") else (),
        cast_label_numeric=bool(text_label and reading.label_kind != "class"),
        score_range=score_range,
        drop_label_values=profile.drop_label_values,
        group_by_anchor=reading.needs_grouping,
        drop_constant_lists=reading.format == "labeled-list",
    )
