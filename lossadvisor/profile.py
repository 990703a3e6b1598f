"""Columns → roles: which columns are text inputs, which is the label and of what kind, which are ignorable.

Works on a bounded sample (`sources.Sample`), using both names and content. The sentence-transformers rules
drive everything: columns named label/labels/score/scores are labels; every other column is an input, taken
by order. The profile records what the data *is*; advice.py decides what that means for the user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lossadvisor.columns import REASONS, ColumnProfile, Why, _describe, _is_float
from lossadvisor.errors import SourceError
from lossadvisor.sources import Sample
from lossadvisor.sources.base import INDEX_COLUMNS

ST_LABEL_NAMES = ("label", "labels", "score", "scores")
RESERVED_NAMES = ("dataset_name", "return_loss")

LABEL_LIKE = re.compile(
    r"(^|[^a-z])(label|labels|score|scores|gold|target|class|category|relevance|relevant|is_relevant|is_selected|selected|rel|grade|gain|rating|judg(e)?ment|"
    r"similarity|sim|quality|is_duplicate|duplicate|paraphrase|entailment|y|margin|teacher)([^a-z]|$)",
    re.I,
)
GRADED_NAMES = re.compile(r"relevance|grade|gain|rating|judg", re.I)
ID_LIKE = re.compile(r"(^|[^a-z])(id|ids|qid|pid|did|idx|index|key|uuid|hash|guid|pair_?id|caption_?id)([^a-z]|$)|id$", re.I)
METADATA_NAMES = re.compile(
    r"title|parse|_original|source|dataset|genre|file|year|url|lang|split|set$|date|time|author|annotator|domain",
    re.I,
)
ANCHOR_NAMES = re.compile(r"^(query|question|anchor|premise|sentence_?1|sentence_?a|text_?1|q|search|prompt|input_?a|questions?)$", re.I)
POSITIVE_NAMES = re.compile(
    r"^(positive|pos|answer|passage|document|doc|docs|documents|context|sentence|hypothesis|sentence_?2|sentence_?b|"
    r"response|text_?2|doc_?text|input_?b|passages|candidates|positive_?passage)$",
    re.I,
)
NEGATIVE_NAMES = re.compile(r"^(hard_?)?neg(ative)?s?(_?\d+)?$|^hard_negative", re.I)
# The tops of the bounded rating scales a score is rescaled from (0-5 and 1-5 STS, 0-10, 0-100 percent).
BOUNDED_SCALES = (5, 10, 100)
SPLIT_VALUES = {"train", "test", "dev", "trial", "validation", "valid", "val"}
NLI_NAMES = {"entailment", "neutral", "contradiction"}


@dataclass(frozen=True)
class Profile:
    sample: Sample
    columns: tuple[ColumnProfile, ...]
    inputs: tuple[str, ...]  # in the order sentence-transformers should see them
    label: str | None
    label_kind: str | None
    label_parts: tuple[str, ...] = ()  # several numeric columns that together form a list label
    classes: tuple[str, ...] = ()  # class names (for string labels or ClassLabel), in id order
    class_counts: dict[str, int] = field(default_factory=dict)
    drop_label_values: tuple[str, ...] = ()
    anchor_repeats: float = 1.0  # mean rows per distinct first input
    text_list: bool = False
    text_lists: int = 0  # how many inputs are lists of texts: 2 for FlagEmbedding's (query, [pos], [neg])

    def column(self, name: str) -> ColumnProfile:
        return next(c for c in self.columns if c.name == name)


# --- roles ----------------------------------------------------------------------------------------------


def _looks_like_text(c: ColumnProfile) -> bool:
    if c.kind != "text":
        return False
    s = c.stats
    mostly_null = s["nulls"] + s["empty"] > 0.5 * s["rows"]
    return s["mean_words"] >= 2.5 and s["numeric"] < 0.5 and s["id_like"] < 0.5 and not mostly_null


def _class_like_text(c: ColumnProfile) -> bool:
    if c.kind != "text":
        return False
    s = c.stats
    non_null = s["rows"] - s["nulls"] - s["empty"]
    return 0 < s["distinct"] <= 20 and s["mean_words"] < 2.5 and s["distinct"] < max(3, non_null / 4)


def _is_id_number(c: ColumnProfile) -> bool:
    s = c.stats
    if ID_LIKE.search(c.name) and not LABEL_LIKE.search(c.name.replace("ID", "").replace("id", "")):
        return True
    return bool(s["integral"] and s["unique_per_row"])


def _label_kind_of_number(c: ColumnProfile, texts: int) -> str:
    s = c.stats
    lo, hi = s["min"], s["max"]
    if lo is None:
        return "none"
    values = s["values"]
    if values is not None and set(values) <= {0, 1} and len(values) >= 1:
        return "binary"
    if s["integral"] and values is not None and (GRADED_NAMES.search(c.name) or lo < 0):
        return "graded"
    if s["integral"] and values is not None and len(values) <= 20 and lo >= 0:
        return "class"
    if lo >= 0 and hi <= 1:
        return "score"
    if lo < 0 and texts >= 3:
        return "margin"
    if lo < 0 or not any(hi <= top for top in BOUNDED_SCALES):
        return "logit"  # negative or unbounded floats: a teacher's logits, not a similarity on a known scale
    return "scaled-score"


@dataclass(frozen=True)
class ColumnChoice:
    """What the user said about the columns (--inputs, --label); None leaves it to inference."""

    inputs: tuple[str, ...] | None = None
    label: str | None = None  # a column name, or "none" for no label

    def check(self, names: list[str]) -> None:
        asked = list(self.inputs or ()) + ([self.label] if self.label not in (None, "none") else [])
        unknown = [n for n in asked if n not in names]
        if unknown:
            raise SourceError(f"no column named {', '.join(repr(n) for n in unknown)} (columns: {', '.join(names)})")
        if self.inputs is not None and self.label in self.inputs:
            raise SourceError(f"column '{self.label}' cannot be both an input and the label")


def build_profile(sample: Sample, choice: ColumnChoice | None = None) -> Profile:
    table = sample.table
    choice = choice or ColumnChoice()
    choice.check(table.column_names)
    described = [_describe(name, table.column(name), sample.column_stats.get(name)) for name in table.column_names]
    by_name = {c.name: c for c in described}
    roles: dict[str, Why] = {c.name: Why.RESERVED for c in described if c.name in RESERVED_NAMES}
    texts = _text_inputs(described, roles)
    label, label_parts, exact = _choose_label(described, texts)
    if choice.label is not None:
        label_parts = ()
        label = None if choice.label == "none" else by_name[choice.label]
    if choice.inputs is not None:
        texts = [by_name[n] for n in choice.inputs if by_name[n].kind == "text"]
        for name in choice.inputs:
            roles.pop(name, None)
    if label is not None and label.kind == "number-list" and choice.inputs is None:
        _set_aside_unaligned_lists(sample, described, label, roles)
    facts = _label_facts(sample, label, label_parts, len(texts), any(c.kind == "text-list" for c in described))
    if label_parts:
        roles.update({part: Why.LABEL_PART for part in label_parts})
    elif label is not None:
        roles[label.name] = Why.LABEL_CHOSEN if choice.label is not None else _label_why(label, exact)
    for c in described:
        if c.name not in roles:
            roles[c.name] = _other_role(c, texts, choice)
    if choice.inputs is not None:
        inputs = list(choice.inputs)  # the user's order is the order
    else:
        inputs = _order_inputs([c for c in described if roles[c.name].role == "input"])
    anchor_repeats = 1.0
    if inputs and by_name[inputs[0]].kind == "text":
        s = by_name[inputs[0]].stats
        anchor_repeats = (s["rows"] - s["nulls"]) / s["distinct"] if s["distinct"] else 1.0
    label_kind = facts.kind if (label is not None or label_parts) else "none"
    columns = tuple(
        ColumnProfile(c.name, c.dtype, c.kind, roles[c.name].role, _reason(roles[c.name], c),
                      label_kind if roles[c.name].role == "label" else None, c.stats, roles[c.name])
        for c in described
    )
    return Profile(
        sample=sample,
        columns=columns,
        inputs=tuple(inputs),
        label=label.name if label is not None else None,
        label_kind=label_kind,
        label_parts=label_parts,
        classes=facts.classes,
        class_counts=facts.class_counts,
        drop_label_values=facts.drop_values,
        anchor_repeats=anchor_repeats,
        text_list=any(by_name[n].kind == "text-list" for n in inputs),
        text_lists=sum(1 for n in inputs if by_name[n].kind == "text-list"),
    )


def _set_aside_unaligned_lists(sample: Sample, described: list[ColumnProfile], label: ColumnProfile, roles: dict[str, Why]) -> None:
    """With a list label, the documents are the list of texts aligned with it row by row (MS MARCO's
    passages.passage_text with passages.is_selected); other lists (answers, urls) are metadata."""
    lists = [c for c in described if c.kind in ("text-list", "text-list-short") and c.name not in roles]
    if len(lists) < 2:
        return
    labels = sample.table.column(label.name).to_pylist()

    def aligned(c: ColumnProfile) -> bool:
        pairs = [(len(d or []), len(v or [])) for d, v in zip(sample.table.column(c.name).to_pylist(), labels)]
        return sum(1 for d, v in pairs if d == v) >= 0.9 * len(pairs)

    keep = [c for c in lists if aligned(c) and c.kind == "text-list"]
    if not keep:
        return  # no list matches the labels one to one (FlagEmbedding's pos + neg share one label list): leave them
    named = [c for c in keep if not METADATA_NAMES.search(c.name.split(".")[-1])]
    keep = named or keep
    for c in lists:
        if c not in keep:
            roles[c.name] = Why.METADATA if aligned(c) else Why.UNALIGNED_LIST


def _text_inputs(described: list[ColumnProfile], roles: dict[str, Why]) -> list[ColumnProfile]:
    """The columns that read as text to score; parse trees and metadata by name are set aside in `roles`."""
    candidates = [c for c in described if _looks_like_text(c) and c.name not in roles]
    for c in candidates:
        if c.stats["parse_tree"] > 0.5 or re.search(r"parse", c.name, re.I):
            roles[c.name] = Why.PARSE_TREE
        elif METADATA_NAMES.search(c.name) and not (ANCHOR_NAMES.match(c.name) or POSITIVE_NAMES.match(c.name)):
            roles[c.name] = Why.METADATA
    return [c for c in candidates if c.name not in roles]


def _choose_label(described: list[ColumnProfile], texts: list[ColumnProfile]) -> tuple[ColumnProfile | None, tuple[str, ...], bool]:
    """The label column (or several numeric columns forming one list label), and whether it is named as ST expects."""
    candidates: list[ColumnProfile] = []
    for c in described:
        if c.name in RESERVED_NAMES or INDEX_COLUMNS.match(c.name):
            continue
        if (c.kind == "number" and not _is_id_number(c)) or c.kind == "number-list":
            candidates.append(c)
        elif _class_like_text(c) and not METADATA_NAMES.search(c.name):
            candidates.append(c)
    exact_any = [c for c in described if c.name in ST_LABEL_NAMES]
    named = [c for c in candidates if LABEL_LIKE.search(c.name)]
    if exact_any:
        return exact_any[0], (), True
    if len(named) >= 2 and len(texts) >= 3 and all(c.kind == "number" for c in named) and len(named) == len(texts) - 1:
        return None, tuple(c.name for c in named), False  # teacher scores spread over columns (pos_score, neg_score)
    lists = [c for c in described if c.kind == "text-list"]
    if len(lists) == 2 and len(named) == 2 and all(c.kind == "number-list" for c in named):
        # FlagEmbedding's pos_scores/neg_scores: one teacher list per list of texts, in the order of the lists
        ordered = sorted(named, key=lambda c: 1 if NEGATIVE_NAMES.match(c.name.split("_")[0]) else 0)
        return None, tuple(c.name for c in ordered), False
    if named:
        return _prefer_label(named), (), False
    if candidates:
        numeric = [c for c in candidates if c.kind in ("number", "number-list")]
        # Unnamed columns: a fractional score or a small value set reads as a label before a wide integer range.
        numeric.sort(key=lambda c: 0 if c.kind == "number-list" or not c.stats["integral"] else (1 if c.stats["values"] else 2))
        return (numeric[0] if numeric else (candidates[0] if len(texts) >= 2 else None)), (), False
    return None, (), False


@dataclass(frozen=True)
class _LabelFacts:
    kind: str | None = None
    classes: tuple[str, ...] = ()
    class_counts: dict[str, int] = field(default_factory=dict)
    drop_values: tuple[str, ...] = ()


# A list of numbers this long, the same length on every row, beside no list of texts, is a teacher's embedding
# (input-embeddings, for MSELoss distillation), not scores.
EMBEDDING_MIN_DIM = 32


def _is_embedding(label: ColumnProfile, text_lists: bool) -> bool:
    lengths = set(label.stats.get("lengths", []))
    return not text_lists and len(lengths) == 1 and min(lengths) >= EMBEDDING_MIN_DIM


def _label_facts(sample: Sample, label: ColumnProfile | None, label_parts: tuple[str, ...], n_texts: int,
                 text_lists: bool = False) -> _LabelFacts:
    if label_parts:
        return _LabelFacts("number-list")
    if label is None:
        return _LabelFacts()
    if label.kind == "number":
        kind = _label_kind_of_number(label, n_texts)
        classes: tuple[str, ...] = ()
        if label.name in sample.class_names:
            classes = tuple(sample.class_names[label.name])
            kind = "class" if len(classes) > 2 or kind != "binary" else kind
        counts = dict(label.stats["counts"])
        if classes:
            counts = {classes[int(k)] if int(k) < len(classes) else k: v for k, v in counts.items()}
        return _LabelFacts(kind, classes, counts)
    if label.kind == "number-list":
        return _LabelFacts("embedding" if _is_embedding(label, text_lists) else "number-list")
    if label.kind == "text":
        top = [value for value, _ in label.stats["top"]]
        drop_values = tuple(v for v in top if v.strip() in {"-", "?", "none", "null", "nan", "n/a"})
        kept = [v for v in top if v not in drop_values]
        counts = {v: n for v, n in label.stats["top"] if v not in drop_values}
        kind = "class"
        if kept and all(_is_float(v) for v in kept):
            kind = "binary" if {float(v) for v in kept} <= {0.0, 1.0} else "class"
        return _LabelFacts(kind, tuple(_order_classes(kept)), counts, drop_values)
    return _LabelFacts("none")


def _other_role(c: ColumnProfile, texts: list[ColumnProfile], choice: ColumnChoice) -> Why:
    """Input or ignored, and why, for a column that is neither the label nor set aside already."""
    if choice.inputs is not None:
        return Why.CHOSEN_INPUT if c.name in choice.inputs else Why.NOT_CHOSEN
    if INDEX_COLUMNS.match(c.name):
        return Why.PANDAS_INDEX
    if c.kind == "number":
        return Why.ID if _is_id_number(c) else Why.SECOND_LABEL
    if c.kind == "text" and c not in texts:
        if c.stats["nulls"] + c.stats["empty"] > 0.9 * c.stats["rows"]:
            return Why.MOSTLY_NULL
        if c.stats["id_like"] >= 0.5 or ID_LIKE.search(c.name):
            return Why.ID
        if c.stats["top"] and {v.lower() for v, _ in c.stats["top"]} <= SPLIT_VALUES:
            return Why.SPLIT_MARKER  # before the metadata names: a split column is often called *_set or split
        if METADATA_NAMES.search(c.name):
            return Why.METADATA
        return Why.SHORT_CODES
    return {"text-list": Why.TEXT_LIST, "text-list-short": Why.CODE_LIST, "struct": Why.NESTED,
            "number-list": Why.SECOND_LIST, "text": Why.TEXT}.get(c.kind, Why.UNSUPPORTED)


def _prefer_label(named: list[ColumnProfile]) -> ColumnProfile:
    """Among label-like names: a numeric relevance judgment over a string category (relevance_label 0/1 over
    bm25_label high/medium/low: the category is metadata); then a gold/class label over a second score."""
    judged = [c for c in named if c.kind in ("number", "number-list") and GRADED_NAMES.search(c.name)]
    if judged and any(c.kind == "text" for c in named):
        return judged[0]
    for pattern in (r"gold|^label|_label$|^class|entailment_label|quality|is_duplicate", r"relevance|score|sim"):
        for c in named:
            if re.search(pattern, c.name, re.I):
                return c
    return named[0]


def _label_why(c: ColumnProfile, exact: bool) -> Why:
    if exact:
        return Why.LABEL_NAMED
    if LABEL_LIKE.search(c.name):
        return Why.LABEL_OTHER_NAME
    return Why.LABEL_ONLY_NUMBER


def _reason(why: Why, c: ColumnProfile) -> str:
    return f"unsupported type {c.dtype}" if why is Why.UNSUPPORTED else REASONS[why]


def default_positive_class(classes) -> str:
    """The positive class to suggest for pair-class → triplet / labeled-pair, wherever one is suggested.

    'entailment' when the classes are named so (NLI), else a name that says "positive" (yes, true, relevant,
    duplicate, …), else the first class name; ids without names: 0, the entailment id of SNLI, MultiNLI and SICK.
    The first name alone would suggest 'no' for yes/no labels: a pasted command that mines the wrong pairs.
    """
    names = [str(name) for name in classes]
    for wanted in POSITIVE_CLASS_NAMES:
        for name in names:
            if name.strip().lower() == wanted:
                return name
    return names[0] if names else "0"


# Class names that mean "these two belong together", most specific first.
POSITIVE_CLASS_NAMES = ("entailment", "positive", "relevant", "duplicate", "paraphrase", "similar", "match", "yes",
                        "true", "pos")


def _order_classes(values: list[str]) -> list[str]:
    lowered = {v.lower(): v for v in values}
    if set(lowered) == NLI_NAMES:
        return [lowered[n] for n in ("entailment", "neutral", "contradiction")]
    return sorted(values)


def _order_inputs(inputs: list[ColumnProfile]) -> list[str]:
    """Anchor first, then positives (texts before lists), then negatives; the order found otherwise."""

    def rank(position: int, c: ColumnProfile) -> tuple[int, int]:
        if ANCHOR_NAMES.match(c.name):
            return (0, position)
        listed = 1 if c.kind == "text-list" else 0
        if NEGATIVE_NAMES.match(c.name):  # negatives after every positive, texts or lists ({query, pos: [..], neg: [..]})
            return (3 + listed, position)
        return (1 + listed, position)

    ordered = [c for _, c in sorted(((rank(i, c), c) for i, c in enumerate(inputs)), key=lambda x: x[0])]
    named_anchor = any(ANCHOR_NAMES.match(c.name) for c in inputs)
    if not named_anchor and len(ordered) == 2 and all(c.kind == "text" for c in ordered):
        first, second = ordered
        # Unnamed pair: a question after a passage is a reversed (anchor, positive) pair.
        if second.stats["questions"] > 0.6 and first.stats["questions"] < 0.2 and first.stats["mean_chars"] > 2 * second.stats["mean_chars"]:
            ordered = [second, first]
    return [c.name for c in ordered]
