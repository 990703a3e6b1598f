"""data_formats.yaml: load, validate (in this one place), and look things up in it."""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct, field

from lossadvisor import __version__
from lossadvisor.errors import FitError, TableError
from lossadvisor.table_cache import CACHE_ENV as CACHE_ENV  # re-exported: where the cache lives is part of the table API
from lossadvisor.table_cache import TABLE_MAX_BYTES, cache_file, read_cache, read_regular_file, write_cache

LabelKind = Literal["none", "binary", "class", "score", "scaled-score", "logit", "margin", "graded", "number-list"]
LabelLength = Literal["docs", "negatives", "texts-1"]
Activation = Literal["default", "identity"]
Positive = Annotated[int, Meta(ge=1)]
# msgspec rather than pydantic: validating the table must not cost `inspect` a tenth of a second at start-up
# (pydantic's import and schema building measured ~0.1 s here; msgspec ~5 ms).


class _Strict(Struct, frozen=True, forbid_unknown_fields=True):
    """Frozen, and unknown keys are errors; subclasses repeat kw_only (msgspec does not inherit it)."""

    def _num_labels_as_text(self) -> None:
        """num_labels cells are text ('1', 'num_classes'); a bare YAML 1 means the same."""
        msgspec.structs.force_setattr(self, "num_labels", str(self.num_labels))


class TextCount(_Strict, kw_only=True):
    min: Positive
    max: Positive | None = None

    def admits(self, count: int) -> bool:
        return count >= self.min and (self.max is None or count <= self.max)


class Format(_Strict, kw_only=True):
    name: str
    description: str
    texts: TextCount
    text_list: bool = False
    text_lists: int | None = None  # how many list-of-texts inputs (default: 1 with text_list, else 0)
    labels: Annotated[list[LabelKind], Meta(min_length=1)]
    label_length: LabelLength | None = None
    long_form: list[LabelKind] = []
    distillation: bool = False
    example: dict[str, Any]

    @property
    def list_inputs(self) -> int:
        return self.text_lists if self.text_lists is not None else int(self.text_list)

    def __post_init__(self) -> None:
        if ("number-list" in self.labels) != (self.label_length is not None):
            raise ValueError("label_length is required exactly when labels include number-list")


class Row(_Strict, kw_only=True):
    inputs: str
    labels: str
    num_labels: str | int
    format: str
    losses: Annotated[list[str], Meta(min_length=1)]
    distillation: bool = False

    def __post_init__(self) -> None:
        self._num_labels_as_text()


class CommonAdvice(_Strict, kw_only=True):
    formats: Annotated[list[str], Meta(min_length=1)]
    advice: str
    loss: str | None = None
    via: list[str] = []


class LossParam(_Strict, kw_only=True):
    name: str
    value: str
    why: str


class DocstringRow(_Strict, kw_only=True):
    inputs: str
    labels: str
    num_labels: str | int

    def __post_init__(self) -> None:
        self._num_labels_as_text()


class Loss(_Strict, kw_only=True):
    import_path: str = field(name="import")
    num_labels: str | int
    activation: Activation
    loss_activation: bool = False
    summary: str
    params: list[LossParam]
    docstring_rows: Annotated[list[DocstringRow], Meta(min_length=1)]

    def __post_init__(self) -> None:
        self._num_labels_as_text()

    @property
    def class_name(self) -> str:
        return self.import_path.rsplit(".", 1)[1]


class Conversion(_Strict, kw_only=True):
    from_format: str = field(name="from")
    to_format: str = field(name="to")
    method: str
    needs: list[Literal["positive-class", "miner", "teacher"]]
    summary: str


class TableModel(_Strict, kw_only=True):
    version: Literal[1]
    formats: Annotated[list[Format], Meta(min_length=1)]
    rows: Annotated[list[Row], Meta(min_length=1)]
    common: list[CommonAdvice]
    losses: Annotated[dict[str, Loss], Meta(min_length=1)]
    conversions: list[Conversion]


def as_plain_data(entry: Struct) -> dict:
    """A table entry as JSON-ready builtins, under the YAML's own key names."""
    return msgspec.to_builtins(entry)


_FIELD_PROBLEMS = (
    ("Object contains unknown field `", "unknown field, not permitted here"),
    ("Object missing required field `", "required field is missing"),
)


def _validation_message(error: msgspec.ValidationError, prefix: str = "") -> str:
    """'Expected `int`, got `str` - at `$.formats[4].texts.min`' as 'formats[4].texts.min: expected `int`, got `str`'."""
    text, _, location = str(error).partition(" - at `$")
    location = prefix + location.rstrip("`")
    for opening, problem in _FIELD_PROBLEMS:
        if text.startswith(opening):
            location, text = f"{location}.{text[len(opening):].rstrip('`')}", problem
    location = location.lstrip(".") or "(top level)"
    return f"{location}: {text[:1].lower()}{text[1:]}"


def _validate(raw: dict, table_path: Path) -> TableModel:
    """The table as typed entries; the first problem is reported with the file and its entry path."""
    losses = raw.get("losses")
    if isinstance(losses, dict):
        # msgspec places a dict value at `losses[...]`: validating each loss on its own keeps its name
        for name, loss in losses.items():
            try:
                msgspec.convert(loss, Loss, strict=True)
            except msgspec.ValidationError as exc:
                raise TableError(f"{table_path}: {_validation_message(exc, f'.losses.{name}')}") from None
    try:
        return msgspec.convert(raw, TableModel, strict=True)
    except msgspec.ValidationError as exc:
        raise TableError(f"{table_path}: {_validation_message(exc)}") from None


def _cross_reference_problems(model: TableModel) -> list[str]:
    """Names that must refer to something declared elsewhere in the table."""
    problems: list[str] = []
    format_names = [f.name for f in model.formats]
    for index, name in enumerate(format_names):
        if format_names.index(name) != index:
            problems.append(f"formats[{index}].name: duplicate format '{name}'")
    known_formats = set(format_names)
    for name, loss in model.losses.items():
        if loss.class_name != name:
            problems.append(f"losses.{name}.import: names class '{loss.class_name}', not '{name}'")
    for index, row in enumerate(model.rows):
        if row.format not in known_formats:
            problems.append(f"rows[{index}].format: unknown format '{row.format}'")
        for position, loss in enumerate(row.losses):
            if loss not in model.losses:
                problems.append(f"rows[{index}].losses[{position}]: unknown loss '{loss}'")
    for index, advice in enumerate(model.common):
        for key, names in (("formats", advice.formats), ("via", advice.via)):
            for position, name in enumerate(names):
                if name not in known_formats:
                    problems.append(f"common[{index}].{key}[{position}]: unknown format '{name}'")
        if advice.loss is not None and advice.loss not in model.losses:
            problems.append(f"common[{index}].loss: unknown loss '{advice.loss}'")
    for index, conversion in enumerate(model.conversions):
        for key, name in (("from", conversion.from_format), ("to", conversion.to_format)):
            if name not in known_formats:
                problems.append(f"conversions[{index}].{key}: unknown format '{name}'")
    used = {loss for row in model.rows for loss in row.losses}
    for name in model.losses:
        if name not in used:
            problems.append(f"losses.{name}: appears in no row")
    return problems


def default_table_path() -> Path:
    """The packaged copy when installed; the repository root in an editable checkout."""
    packaged = Path(__file__).with_name("data_formats.yaml")
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parent.parent / "data_formats.yaml"


@dataclass(frozen=True)
class LossTable:
    """The validated table plus the lookups the rule engine needs."""

    model: TableModel
    path: Path

    @property
    def formats(self) -> list[Format]:
        return list(self.model.formats)

    @property
    def losses(self) -> dict[str, Loss]:
        return dict(self.model.losses)

    @cached_property
    def _formats_by_name(self) -> dict[str, Format]:
        return {f.name: f for f in self.model.formats}

    def format(self, name: str) -> Format:
        return self._formats_by_name[self.resolve_format(name)]

    def resolve_format(self, name: str) -> str:
        """Canonical name for a user-typed format: case, underscores and plurals are forgiven."""
        key = re.sub(r"[\s_]+", "-", name.strip().lower())
        candidates = [key]
        if key.endswith("s"):
            candidates.append(key[:-1])
        candidates += [c.replace("triples", "triplet") for c in candidates]
        for candidate in candidates:
            if candidate in self._formats_by_name:
                return candidate
            # "pairs-class" / "labeled-pairs": a plural in the middle
            singular = "-".join(part.rstrip("s") if part not in {"scores"} else part for part in candidate.split("-"))
            if singular in self._formats_by_name:
                return singular
        close = difflib.get_close_matches(key, list(self._formats_by_name), n=1)
        hint = f"Did you mean '{close[0]}'?" if close else None
        known = ", ".join(self._formats_by_name)
        raise FitError(f"unknown format '{name}' (known: {known})", hint)

    def resolve_loss(self, name: str) -> str:
        """Exact class name for a user-typed loss, with 'did you mean' on a typo."""
        if name in self.model.losses:
            return name
        by_lower = {n.lower(): n for n in self.model.losses}
        stripped = name.strip().rsplit(".", 1)[-1].lower()
        for candidate in (stripped, stripped + "loss"):
            if candidate in by_lower:
                return by_lower[candidate]
        close = difflib.get_close_matches(stripped, list(by_lower), n=1, cutoff=0.5)
        hint = f"Did you mean '{by_lower[close[0]]}'?" if close else "Run `lossadvisor table` for the known losses."
        raise FitError(f"unknown loss '{name}'", hint)

    def rows_for_format(self, name: str) -> list[Row]:
        return [row for row in self.model.rows if row.format == name]

    def rows_for_loss(self, loss: str) -> list[Row]:
        return [row for row in self.model.rows if loss in row.losses]

    def formats_for_loss(self, loss: str) -> list[str]:
        seen: list[str] = []
        for row in self.rows_for_loss(loss):
            if row.format not in seen:
                seen.append(row.format)
        return seen

    def common_for_format(self, name: str) -> list[CommonAdvice]:
        return [advice for advice in self.model.common if name in advice.formats]

    def conversions_from(self, name: str) -> list[Conversion]:
        return [c for c in self.model.conversions if c.from_format == name]

    def conversion(self, source: str, target: str) -> Conversion | None:
        for candidate in self.model.conversions:
            if candidate.from_format == source and candidate.to_format == target:
                return candidate
        return None

    def conversion_path(self, source: str, target: str) -> list[Conversion] | None:
        """Shortest chain of declared conversions from source to target (breadth-first)."""
        if source == target:
            return []
        frontier: list[tuple[str, list[Conversion]]] = [(source, [])]
        seen = {source}
        while frontier:
            next_frontier = []
            for name, path in frontier:
                for step in self.conversions_from(name):
                    if step.to_format in seen:
                        continue
                    chain = path + [step]
                    if step.to_format == target:
                        return chain
                    seen.add(step.to_format)
                    next_frontier.append((step.to_format, chain))
            frontier = next_frontier
        return None


def load_table(path: str | Path | None = None) -> LossTable:
    """Load and validate the table; every problem is reported with the file, entry and field."""
    table_path = Path(path) if path is not None else default_table_path()
    try:
        data = read_regular_file(table_path, TABLE_MAX_BYTES, follow_links=True)
    except OSError as exc:
        raise TableError(f"cannot read loss table {table_path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise TableError(f"cannot read loss table {table_path}: {exc}") from None
    digest = hashlib.blake2b(data + __version__.encode(), digest_size=32).digest()
    cache = cache_file(table_path)
    cached = read_cache(cache, digest, TableModel)
    model = cached or _validate(_parse_yaml(data, table_path), table_path)
    problems = _cross_reference_problems(model)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise TableError(f"{table_path}: {problems[0]}{more}")
    if cached is None:
        write_cache(cache, digest, model)
    return LossTable(model=model, path=table_path)


def _parse_yaml(data: bytes, table_path: Path) -> dict:
    import yaml  # here: a cached table needs no YAML parser, and importing one is a tenth of inspect's start-up

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise TableError(f"{table_path}: not UTF-8 text") from None
    try:
        raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml: ~20x faster
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f": line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise TableError(f"{table_path}{where}: invalid YAML: {problem}") from None
    if not isinstance(raw, dict):
        raise TableError(f"{table_path}: expected a mapping at the top level, found {type(raw).__name__}")
    return raw
