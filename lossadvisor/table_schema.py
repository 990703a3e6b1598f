"""data_formats.yaml's schema, and its validation in this one place: types (msgspec) and cross-references."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct, field

from lossadvisor.errors import TableError

LabelKind = Literal["none", "binary", "class", "score", "scaled-score", "logit", "margin", "graded", "number-list", "embedding"]
LabelLength = Literal["docs", "negatives", "texts-1"]
Activation = Literal["default", "identity"]
Positive = Annotated[int, Meta(ge=1)]
# msgspec rather than pydantic: validating the table must not cost `inspect` a tenth of a second at start-up
# (pydantic's import and schema building measured ~0.1 s here; msgspec ~5 ms).


class _Strict(Struct, frozen=True, forbid_unknown_fields=True):
    """Frozen, and unknown keys are errors; subclasses repeat kw_only (msgspec does not inherit it)."""

    def _num_labels_as_text(self) -> None:
        """num_labels cells are text ('1', 'num_classes'); a bare YAML 1 means the same."""
        if self.num_labels is not None:
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
    explicit: bool = False  # the shape alone cannot tell it from another format: read so only when asked
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
    num_labels: str | int | None = None  # for a family whose model has a num_labels head
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
    set: bool = False  # the recipe always sets it (upstream's documented setting); otherwise a listed option


class DocstringRow(_Strict, kw_only=True):
    inputs: str
    labels: str
    num_labels: str | int | None = None  # only the CrossEncoder docstrings have this column

    def __post_init__(self) -> None:
        self._num_labels_as_text()


class Loss(_Strict, kw_only=True):
    import_path: str = field(name="import")
    num_labels: str | int | None = None  # the rule for the model's head, in a family that has one
    activation: Activation | None = None  # the activation that head needs, in a family that has one
    loss_activation: bool = False
    standalone: bool = False  # trains without the family's wrapper (SparseMSELoss)
    summary: str
    params: list[LossParam] = []
    docstring_rows: list[DocstringRow] = []

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


class Family(_Strict, kw_only=True):
    """One model family's Loss Overview, and the adapter: the real classes trial and scaffold build from."""

    title: str
    role: str
    aliases: list[str] = []
    model: str
    trainer: str
    training_args: str
    losses_module: str
    base_model: str
    num_labels: bool = False
    wrappers: list[str] = []
    modifiers: list[str] = []
    regularizers: list[str] = []
    components: list[str] = []  # parts a wrapper builds (FlopsLoss), never a loss of their own
    rows: Annotated[list[Row], Meta(min_length=1)]
    common: list[CommonAdvice] = []
    losses: Annotated[dict[str, Loss], Meta(min_length=1)]

    @property
    def model_class(self) -> str:
        return self.model.rsplit(".", 1)[1]

    @property
    def module(self) -> str:
        """The module a user imports the model class and `losses` from."""
        return self.model.rsplit(".", 1)[0]

    @property
    def helpers(self) -> list[str]:
        """Losses that are not a row's answer but wrap or join one."""
        return self.wrappers + self.modifiers + self.regularizers + self.components


class TableModel(_Strict, kw_only=True):
    version: Literal[2]
    formats: Annotated[list[Format], Meta(min_length=1)]
    conversions: list[Conversion]
    families: Annotated[dict[str, Family], Meta(min_length=1)]


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


def validate(raw: dict, table_path: Path) -> TableModel:
    """The table as typed entries; the first problem is reported with the file and its entry path."""
    families = raw.get("families")
    if isinstance(families, dict):
        # msgspec places a dict value at `losses[...]`: validating each loss on its own keeps its name
        for family_name, family in families.items():
            losses = family.get("losses") if isinstance(family, dict) else None
            for name, loss in (losses or {}).items() if isinstance(losses, dict) else ():
                try:
                    msgspec.convert(loss, Loss, strict=True)
                except msgspec.ValidationError as exc:
                    where = f".families.{family_name}.losses.{name}"
                    raise TableError(f"{table_path}: {_validation_message(exc, where)}") from None
    if raw.get("version") == 1:
        raise TableError(f"{table_path}: version 1 table: since lossadvisor 0.3 rows, common and losses live under "
                         "families.cross-encoder (see the packaged data_formats.yaml), and version is 2")
    try:
        return msgspec.convert(raw, TableModel, strict=True)
    except msgspec.ValidationError as exc:
        raise TableError(f"{table_path}: {_validation_message(exc)}") from None


def cross_reference_problems(model: TableModel) -> list[str]:
    """Names that must refer to something declared elsewhere in the table."""
    problems: list[str] = []
    format_names = [f.name for f in model.formats]
    for index, name in enumerate(format_names):
        if format_names.index(name) != index:
            problems.append(f"formats[{index}].name: duplicate format '{name}'")
    known_formats = set(format_names)
    for index, conversion in enumerate(model.conversions):
        for key, name in (("from", conversion.from_format), ("to", conversion.to_format)):
            if name not in known_formats:
                problems.append(f"conversions[{index}].{key}: unknown format '{name}'")
    aliases: dict[str, str] = {}
    for family_name, family in model.families.items():
        for alias in [family_name, *family.aliases]:
            if aliases.setdefault(alias, family_name) != family_name:
                problems.append(f"families.{family_name}.aliases: '{alias}' also names {aliases[alias]}")
        problems += [f"families.{family_name}.{problem}" for problem in _family_problems(family, known_formats)]
    return problems


def _family_problems(family: Family, known_formats: set[str]) -> list[str]:
    problems: list[str] = []
    for name, loss in family.losses.items():
        if loss.class_name != name:
            problems.append(f"losses.{name}.import: names class '{loss.class_name}', not '{name}'")
        if family.num_labels and (loss.num_labels is None or loss.activation is None):
            problems.append(f"losses.{name}: a {family.title} loss needs num_labels and activation")
    for index, row in enumerate(family.rows):
        if row.format not in known_formats:
            problems.append(f"rows[{index}].format: unknown format '{row.format}'")
        if family.num_labels and row.num_labels is None:
            problems.append(f"rows[{index}].num_labels: required for a {family.title} row")
        for position, loss in enumerate(row.losses):
            if loss not in family.losses:
                problems.append(f"rows[{index}].losses[{position}]: unknown loss '{loss}'")
    for index, advice in enumerate(family.common):
        for key, names in (("formats", advice.formats), ("via", advice.via)):
            for position, name in enumerate(names):
                if name not in known_formats:
                    problems.append(f"common[{index}].{key}[{position}]: unknown format '{name}'")
        if advice.loss is not None and advice.loss not in family.losses:
            problems.append(f"common[{index}].loss: unknown loss '{advice.loss}'")
    for key in ("wrappers", "modifiers", "regularizers", "components"):
        for position, name in enumerate(getattr(family, key)):
            if name not in family.losses:
                problems.append(f"{key}[{position}]: unknown loss '{name}'")
    used = {loss for row in family.rows for loss in row.losses} | set(family.helpers)
    for name in family.losses:
        if name not in used:
            problems.append(f"losses.{name}: appears in no row")
    return problems
