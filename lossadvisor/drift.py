"""Compare data_formats.yaml with the losses of the installed sentence-transformers (`table --check`)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from lossadvisor.table import DEFAULT_FAMILY, DocstringRow, Family, Loss, LossTable

_ROW_LINE = re.compile(r"^\s*\|(.+)\|\s*$")


def parse_inputs_table(docstring: str) -> list[DocstringRow]:
    """The rows of a loss docstring's RST grid table under "Inputs:".

    A grid row may wrap over several lines between two `+---+` separators; its cells are joined.
    """
    lines = docstring.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "Inputs:")
    except StopIteration:
        return []
    blocks: list[list[str]] = []  # one per grid row, header first
    current: list[list[str]] | None = None

    def close() -> None:
        nonlocal current
        if current is not None:
            blocks.append([" ".join(" ".join(parts).split()) for parts in current])
            current = None

    for line in lines[start + 1 :]:
        stripped = line.strip()
        if not stripped:
            if blocks or current is not None:
                break
            continue
        if stripped.startswith("+"):
            close()
            continue
        match = _ROW_LINE.match(line)
        if not match:
            break
        cells = match.group(1).split("|")
        if current is None:
            current = [[cell] for cell in cells]
        else:
            for index, cell in enumerate(cells[: len(current)]):
                current[index].append(cell)
    close()
    # CrossEncoder docstrings have a third column, num_labels; the other families' have two
    return [DocstringRow(inputs=cells[0], labels=cells[1], num_labels=cells[2] if len(cells) >= 3 else None)
            for cells in blocks[1:] if len(cells) >= 2]


@dataclass(frozen=True)
class DriftReport:
    library_version: str
    checked: list[str]
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def check_against_library(table: LossTable, on_progress: Callable[[str], None] | None = None) -> DriftReport:
    """Compare every family's table with the installed library; `on_progress` gets a line before the (slow) import
    and per loss."""
    say = on_progress or (lambda line: None)
    say("importing sentence-transformers (the slow part: several seconds)")
    import sentence_transformers

    checked: list[str] = []
    differences: list[str] = []
    total = sum(len(table.model.families[name].losses) for name in table.family_names)
    for family_name in table.family_names:
        family = table.model.families[family_name]
        prefix = "" if family_name == DEFAULT_FAMILY else f"{family_name}: "
        for name, difference in _family_drift(family, lambda name: (checked.append(name), say(
                f"checking {family.title} {name} ({len(checked)}/{total})"))):
            differences.append(f"{prefix}{name}: {difference}")
    return DriftReport(library_version=sentence_transformers.__version__, checked=checked, differences=differences)


def _library_losses(module_path: str) -> dict[str, type]:
    """The loss classes of a `losses` module: torch modules whose constructor takes the model first."""
    import importlib

    import torch.nn as nn

    module = importlib.import_module(module_path)
    found = {}
    for name, obj in vars(module).items():
        if inspect.isclass(obj) and issubclass(obj, nn.Module):
            parameters = list(inspect.signature(obj.__init__).parameters)
            if parameters[1:2] == ["model"]:
                found[name] = obj
    return found


def _family_drift(family: Family, on_checked: Callable[[str], object]):
    """(loss, difference) pairs between one family's table and its losses module."""
    library_classes = _library_losses(family.losses_module)
    for name in sorted(set(library_classes) - set(family.losses)):
        yield name, f"in {family.losses_module} but not in the table"
    for name, loss in family.losses.items():
        module_path, _, class_name = loss.import_path.rpartition(".")
        cls = library_classes.get(name)
        if cls is None or module_path != family.losses_module:
            yield name, f"not found as {loss.import_path}"
            continue
        on_checked(name)
        documented = parse_inputs_table(cls.__init__.__doc__ or cls.__doc__ or "")
        declared = list(loss.docstring_rows)
        for row in documented:
            if row not in declared:
                yield name, f"docstring row {_row_text(row)} is not in the table"
        for row in declared:
            if row not in documented:
                yield name, f"table row {_row_text(row)} is not in the docstring"
        documented_num_labels = {row.num_labels.strip("`") for row in documented if row.num_labels is not None}
        if family.num_labels and documented_num_labels and documented_num_labels != {loss.num_labels}:
            yield name, f"num_labels is '{loss.num_labels}' in the table, {sorted(documented_num_labels)} in the docstring"
        yield from ((name, text) for text in _activation_drift(cls, loss))


def _row_text(row: DocstringRow) -> str:
    return " | ".join(cell for cell in (row.inputs, row.labels, row.num_labels) if cell is not None)


def _activation_drift(cls: type, loss: Loss):
    parameter = inspect.signature(cls.__init__).parameters.get("activation_fn")
    if parameter is None:
        if loss.loss_activation:
            yield "the table sets the loss's activation_fn, which the class does not take"
        return
    # loss_activation marks losses whose own activation_fn defaults to something other than Identity
    default = parameter.default
    default_name = "None" if default is None or default is inspect.Parameter.empty else type(default).__name__
    own_activation = default_name not in ("None", "Identity")
    if loss.loss_activation != own_activation:
        yield (f"loss_activation is {str(loss.loss_activation).lower()} in the table, but the class's"
               f" activation_fn defaults to {default_name}")
