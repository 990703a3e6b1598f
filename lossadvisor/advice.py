"""Profile → format → losses, conversions and warnings: the rule engine over data_formats.yaml."""

from __future__ import annotations

from dataclasses import dataclass, field

from lossadvisor.checks import _tidy_plan, _warnings, load_code
from lossadvisor.checks_label import _complete_lists, single_valued
from lossadvisor.checks_shapes import Question, questions
from lossadvisor.errors import FitError, SourceError
from lossadvisor.families import FamilyPick, family_picks, ranked_losses
from lossadvisor.findings import Reading, TidyPlan, Warning
from lossadvisor.offers import ConversionOffer, conversion_offers, read_as_hint
from lossadvisor.profile import ColumnChoice, Profile, build_profile
from lossadvisor.recipe import DataFacts, build_recipe, data_facts
from lossadvisor.sources import open_sample
from lossadvisor.table import DEFAULT_FAMILY, Format, LossTable


@dataclass(frozen=True)
class ColumnReport:
    name: str
    dtype: str
    role: str
    reason: str
    label_kind: str | None = None


@dataclass(frozen=True)
class Recommendation:
    loss: str
    reason: str
    num_labels: int | str | None  # None: the family's model has no num_labels head
    activation: str | None
    params: tuple[dict[str, str], ...]
    construction: str
    distillation: bool = False
    wrapper: str | None = None  # the family's wrapper the loss trains inside (SpladeLoss)


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
    family: str = DEFAULT_FAMILY  # the model family the recommendations are for (--family)
    family_title: str = "CrossEncoder"
    families: tuple[FamilyPick, ...] = ()  # the top pick of every family, this one first
    questions: tuple[Question, ...] = ()  # what `advise` asks where the data is ambiguous, each answer a flag


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


def readings_for(profile: Profile, table: LossTable, asked: str | None = None) -> list[Reading]:
    """The formats the data reads as, best first; an `explicit` format only when `asked` names it."""
    text_inputs = [n for n in profile.inputs if profile.column(n).kind == "text"]
    n_texts = len(text_inputs)
    kind = profile.label_kind or "none"
    if single_valued(profile):
        kind = "none"  # one label value is no class count (never CrossEntropyLoss with num_labels=1): pairs, and a warning
    exact: list[tuple[int, int, Reading]] = []
    long_form: list[tuple[int, int, Reading]] = []
    for order, fmt in enumerate(table.formats):
        if fmt.explicit and fmt.name != asked:
            continue
        losses = tuple(loss for row in table.rows_for_format(fmt.name) for loss in row.losses)
        lists_fit = fmt.text_list == profile.text_list and (not fmt.text_list or fmt.list_inputs == profile.text_lists)
        if lists_fit and fmt.texts.admits(n_texts) and kind in fmt.labels:
            if _label_length_fits(fmt, profile, n_texts):
                preference = fmt.labels.index(kind)
                exact.append((preference, order, Reading(fmt.name, kind, _assumption(fmt.name, kind, profile, table), losses)))
        elif not profile.text_list and n_texts == 2 and kind in fmt.long_form and profile.anchor_repeats >= 1.5:
            note = (f"rows list one judgment each (~{profile.anchor_repeats:.0f} per {text_inputs[0]}): "
                    f"grouped by {text_inputs[0]} they form a {fmt.name}")
            long_form.append((fmt.long_form.index(kind), order, Reading(fmt.name, kind, note, losses, needs_grouping=True)))
    return [r for _, _, r in sorted(exact)] + [r for _, _, r in sorted(long_form)]


def _assumption(format_name: str, kind: str, profile: Profile, table: LossTable | None = None) -> str | None:
    """What reading the data as `format_name` assumes, naming the losses of the table's family that would train."""
    ranked = [name for name, _ in ranked_losses(table, format_name)] if table is not None else []
    first = ranked[0] if ranked else None
    if table is not None and not table.family.num_labels:
        return _assumption_without_head(format_name, kind, ranked) or (
            None if kind != "scaled-score" else _assumption(format_name, kind, profile))
    if kind == "binary" and format_name == "labeled-pair":
        return f"0/1 read as relevance (1 = positive pair) for {first or 'BinaryCrossEntropyLoss'}"
    if kind == "binary" and format_name == "pair-class":
        return "0/1 read as two classes for CrossEntropyLoss(num_labels=2)"
    if kind == "binary" and format_name == "pair-score":
        return "0/1 read as the ends of a similarity score"
    if kind == "score" and format_name == "pair-score":
        return "float read as a gold similarity (BinaryCrossEntropyLoss); if a teacher model produced it, MSELoss distils it"
    if kind == "logit":
        return "unbounded floats read as a teacher's logits: MSELoss (distillation) first; a similarity on a bounded scale needs --score-range"
    if kind == "scaled-score":
        column = profile.column(profile.label) if profile.label else None
        lo, hi = (column.stats["min"], column.stats["max"]) if column else (None, None)
        return f"scores in [{lo}, {hi}] need rescaling to [0, 1]"
    if kind == "score" and format_name == "triplet-margin":
        return "a float in [0, 1] with three texts read as a teacher margin"
    return None


def _assumption_without_head(format_name: str, kind: str, ranked: list[str]) -> str | None:
    """The same assumptions for an embedder family (no num_labels head): its own losses named."""
    losses = ", ".join(ranked[:2]) or "no loss of this family"
    if kind == "binary" and format_name == "labeled-pair":
        return f"0/1 read as similar (1) or dissimilar (0) pairs for {losses}"
    if kind == "binary" and format_name == "pair-class":
        return f"0/1 read as two classes for {losses}"
    if kind == "binary" and format_name == "pair-score":
        return f"0/1 read as the ends of a similarity score for {losses}"
    if kind == "score" and format_name == "pair-score":
        return f"float read as a gold similarity for {losses}"
    if kind == "logit":
        return f"unbounded floats read as a teacher's scores; {losses} need a similarity on a bounded scale (--score-range)"
    return None


# --- the report -----------------------------------------------------------------------------------------


def inspect_dataset(spec: str, table: LossTable, split: str | None = None, subset: str | None = None,
                    choice: ColumnChoice | None = None, reading: str | None = None) -> Report:
    from lossadvisor.sources.parallel import files_as_columns

    spec, choice = files_as_columns(spec, choice)  # --inputs a.toks,b.toks --label sim.txt: files as columns
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
    wanted = table.resolve_format(reading) if reading is not None else None
    readings = readings_for(profile, table, wanted)
    if wanted is not None:
        chosen = [r for r in readings if r.format == wanted]
        if not chosen:
            raise FitError(f"the data cannot be read as {wanted} (possible readings: "
                           f"{', '.join(r.format for r in readings) or 'none'})", read_as_hint(profile, readings, wanted, table))
        readings = chosen + [r for r in readings if r.format != wanted]
    primary = readings[0] if readings else None
    warnings = _warnings(profile, primary, table)
    tidy = _tidy_plan(profile, primary)
    needs_fixing = any(w.severity == "warning" for w in warnings) or (primary is not None and primary.needs_grouping)
    recommendations = _recommendations(profile, primary, table) if primary else ()
    conversions = conversion_offers(profile, primary, table, recommendations) if primary else ()
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
        questions=questions(profile, readings, warnings, table),
        family=table.family_name,
        family_title=table.family.title,
        families=family_picks(primary.format, table, sample.spec, primary.label_kind == "logit") if primary else (),
    )


def _facts(profile: Profile) -> DataFacts:
    """The recipe's facts, from the same sample table the profile read."""
    label = None if profile.label_parts else profile.label
    return data_facts(profile.sample.table, label, profile.classes)


def _recommendations(profile: Profile, reading: Reading, table: LossTable) -> tuple[Recommendation, ...]:
    common = table.common_for_format(reading.format)
    # A teacher's logits are distilled: the distillation rows come first, with the reason.
    teacher_first = reading.label_kind == "logit"
    ordered = ranked_losses(table, reading.format, teacher_first)
    results = []
    facts = _facts(profile)  # read once: every loss's num_labels and parameters come from the same facts
    for loss_name, distillation in ordered:
        loss = table.losses[loss_name]
        recipe = build_recipe(loss_name, table, facts)
        reason = loss.summary
        for advice in common:
            if advice.loss == loss_name:
                reason = f"common choice: {advice.advice}"
        if distillation:
            reason = f"distillation: {loss.summary} (if a teacher model produced the labels)"
            if teacher_first:
                reason = f"distillation: {loss.summary}; the scores are negative or unbounded, a teacher's logits"
        elif teacher_first:
            reason = f"{loss.summary}; only for a bounded similarity rescaled with --score-range (not logits)"
        if loss_name in ("PListMLELoss", "ListMLELoss") and _lists_unsorted(profile):
            reason += "; your lists are not sorted by relevance: set respect_input_order=False"
        params = tuple(param.as_dict() for param in recipe.params + (recipe.wrapper.params if recipe.wrapper else ()))
        results.append(Recommendation(
            loss=loss_name, reason=reason, num_labels=recipe.num_labels, activation=recipe.activation, params=params,
            construction=recipe.render(), distillation=distillation, wrapper=recipe.wrapper.loss if recipe.wrapper else None,
        ))
    return tuple(results)


def _lists_unsorted(profile: Profile) -> bool:
    if profile.label is None or profile.column(profile.label).kind != "number-list":
        return False
    values = _complete_lists(profile.sample.table.column(profile.label).to_pylist()[:500])
    return any(v and list(v) != sorted(v, reverse=True) for v in values)


@dataclass(frozen=True)
class LossExplanation:
    loss: str
    import_path: str
    summary: str
    num_labels: int | None  # None: the family's model has no num_labels head
    num_labels_rule: str | None
    activation: str | None
    rows: tuple[dict[str, str], ...]
    params: tuple[dict[str, str], ...]
    options: tuple[dict[str, str], ...]
    convertible_from: tuple[dict[str, object], ...]
    construction: str
    family: str = DEFAULT_FAMILY
    family_title: str = "CrossEncoder"
    role: str = "loss"  # loss | wrapper | modifier | regularizer | component
    wrapper: str | None = None  # the family's wrapper it trains inside (SpladeLoss)
    other_wrappers: tuple[str, ...] = ()  # the family's other wrappers it may train inside (CachedSpladeLoss, CSRLoss)


def explain_loss(table: LossTable, name: str) -> LossExplanation:
    loss_name = table.resolve_loss(name)
    loss = table.losses[loss_name]
    formats = table.formats_for_loss(loss_name)
    rows = tuple(
        {"format": row.format, "inputs": row.inputs, "labels": row.labels, "num_labels": row.num_labels}
        for row in table.rows_for_loss(loss_name)
    )
    into = tuple(
        {"from": c.from_format, "to": c.to_format, "summary": c.summary, "needs": [n for n in c.needs if n != "miner"]}  # BM25 mines by default: nothing to supply
        for c in table.conversions if c.to_format in formats
    )
    recipe = build_recipe(loss_name, table)
    activation = None
    if recipe.has_head:
        activation = "Identity (set activation_fn=torch.nn.Identity())" if recipe.identity_activation else "the default"
    rule = "the number of classes (class ids 0..N-1)" if loss.num_labels == "num_classes" else loss.num_labels
    family = table.family
    role = next((key.removesuffix("s") for key in ("wrappers", "modifiers", "regularizers", "components")
                 if loss_name in getattr(family, key)), "loss")
    construction = recipe.render()
    if role in ("modifier", "wrapper"):
        construction = _wrapping_construction(table, loss_name, construction)
    return LossExplanation(loss_name, loss.import_path, loss.summary, recipe.num_labels, rule, activation, rows,
                           tuple(p.as_dict() for p in recipe.params), tuple(p.as_dict() for p in recipe.options),
                           into, construction, table.family_name, family.title, role,
                           recipe.wrapper.loss if recipe.wrapper else None,
                           tuple(name for name in family.wrappers if name != (recipe.wrapper.loss if recipe.wrapper else None)))


def _wrapping_construction(table: LossTable, name: str, construction: str) -> str:
    """A modifier or wrapper around the family's common loss: `losses.MatryoshkaLoss(model, losses.X(model), ...)`,
    the Matryoshka sizes computed from the model so that they never exceed its dimension."""
    from lossadvisor.checks_family import matryoshka_dims_code

    inner_name = next((advice.loss for advice in table.common if advice.loss), None)
    if inner_name is None:
        return construction
    inner = build_recipe(inner_name, table, wrap=False).loss_source()
    own = build_recipe(name, table, wrap=False)
    args = ["model", inner]
    for param in table.losses[name].params:
        if param.name == "matryoshka_dims":
            args.append(f"matryoshka_dims={matryoshka_dims_code()}")
    args += [f"{p.name}={p.code}" for p in own.params if p.name != "matryoshka_dims"]
    lines = construction.splitlines()
    lines[-1] = f"loss = losses.{name}({', '.join(args)})"
    return "\n".join(lines)
