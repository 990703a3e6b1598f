"""data_formats.yaml: load, validate (in this one place), and look things up in it."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lossadvisor.errors import FitError, TableError

LabelKind = Literal["none", "binary", "class", "score", "scaled-score", "margin", "graded", "number-list"]
LabelLength = Literal["docs", "negatives", "texts-1"]
Activation = Literal["default", "identity"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, coerce_numbers_to_str=True)


class TextCount(_Strict):
    min: int = Field(ge=1)
    max: int | None = Field(default=None, ge=1)

    def admits(self, count: int) -> bool:
        return count >= self.min and (self.max is None or count <= self.max)


class Format(_Strict):
    name: str
    description: str
    texts: TextCount
    text_list: bool = False
    labels: list[LabelKind] = Field(min_length=1)
    label_length: LabelLength | None = None
    long_form: list[LabelKind] = []
    distillation: bool = False
    example: dict[str, object]

    @model_validator(mode="after")
    def _list_labels_need_a_length(self) -> Format:
        if ("number-list" in self.labels) != (self.label_length is not None):
            raise ValueError("label_length is required exactly when labels include number-list")
        return self


class Row(_Strict):
    inputs: str
    labels: str
    num_labels: str
    format: str
    losses: list[str] = Field(min_length=1)
    distillation: bool = False


class CommonAdvice(_Strict):
    formats: list[str] = Field(min_length=1)
    advice: str
    loss: str | None = None
    via: list[str] = []


class LossParam(_Strict):
    name: str
    value: str
    why: str


class DocstringRow(_Strict):
    inputs: str
    labels: str
    num_labels: str


class Loss(_Strict):
    import_path: str = Field(alias="import")
    num_labels: str
    activation: Activation
    loss_activation: bool = False
    summary: str
    params: list[LossParam]
    docstring_rows: list[DocstringRow] = Field(min_length=1)

    @property
    def class_name(self) -> str:
        return self.import_path.rsplit(".", 1)[1]


class Conversion(_Strict):
    from_format: str = Field(alias="from")
    to_format: str = Field(alias="to")
    method: str
    needs: list[Literal["positive-class", "miner", "teacher"]]
    summary: str


class TableModel(_Strict):
    version: Literal[1]
    formats: list[Format] = Field(min_length=1)
    rows: list[Row] = Field(min_length=1)
    common: list[CommonAdvice]
    losses: dict[str, Loss] = Field(min_length=1)
    conversions: list[Conversion]


def _location(parts: tuple) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


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
        for field, names in (("formats", advice.formats), ("via", advice.via)):
            for position, name in enumerate(names):
                if name not in known_formats:
                    problems.append(f"common[{index}].{field}[{position}]: unknown format '{name}'")
        if advice.loss is not None and advice.loss not in model.losses:
            problems.append(f"common[{index}].loss: unknown loss '{advice.loss}'")
    for index, conversion in enumerate(model.conversions):
        for field, name in (("from", conversion.from_format), ("to", conversion.to_format)):
            if name not in known_formats:
                problems.append(f"conversions[{index}].{field}: unknown format '{name}'")
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
        text = table_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TableError(f"cannot read loss table {table_path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise TableError(f"{table_path}: not UTF-8 text") from None
    try:
        raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml: ~20x faster
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise TableError(f"{table_path}:{where}: invalid YAML: {problem}") from None
    if not isinstance(raw, dict):
        raise TableError(f"{table_path}: expected a mapping at the top level, found {type(raw).__name__}")
    try:
        model = TableModel.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise TableError(f"{table_path}: {_location(first['loc'])}: {first['msg']}{more}") from None
    problems = _cross_reference_problems(model)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise TableError(f"{table_path}: {problems[0]}{more}")
    return LossTable(model=model, path=table_path)
