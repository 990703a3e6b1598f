"""Compare data_formats.yaml with the losses of the installed sentence-transformers (`table --check`)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from lossadvisor.table import DocstringRow, LossTable

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
    return [DocstringRow(inputs=cells[0], labels=cells[1], num_labels=cells[2]) for cells in blocks[1:] if len(cells) >= 3]


@dataclass(frozen=True)
class DriftReport:
    library_version: str
    checked: list[str]
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def check_against_library(table: LossTable, on_progress: Callable[[str], None] | None = None) -> DriftReport:
    """Compare the table with the installed library; `on_progress` gets a line before the (slow) import and per loss."""
    say = on_progress or (lambda line: None)
    say("importing sentence-transformers (the slow part: several seconds)")
    import sentence_transformers
    import torch.nn as nn
    from sentence_transformers.cross_encoder import losses as library_losses

    differences: list[str] = []
    library_classes = {
        name: obj
        for name, obj in vars(library_losses).items()
        if inspect.isclass(obj) and issubclass(obj, nn.Module) and name.endswith("Loss")
    }
    for name in sorted(set(library_classes) - set(table.losses)):
        differences.append(f"{name}: in sentence_transformers.cross_encoder.losses but not in the table")
    checked = []
    for name, loss in table.losses.items():
        module_path, _, class_name = loss.import_path.rpartition(".")
        cls = library_classes.get(name)
        if cls is None or module_path != library_losses.__name__:
            differences.append(f"{name}: not found as {loss.import_path}")
            continue
        checked.append(name)
        say(f"checking {name} ({len(checked)}/{len(table.losses)})")
        documented = parse_inputs_table(cls.__init__.__doc__ or cls.__doc__ or "")
        declared = list(loss.docstring_rows)
        for row in documented:
            if row not in declared:
                differences.append(f"{name}: docstring row {row.inputs} | {row.labels} | {row.num_labels} is not in the table")
        for row in declared:
            if row not in documented:
                differences.append(f"{name}: table row {row.inputs} | {row.labels} | {row.num_labels} is not in the docstring")
        documented_num_labels = {row.num_labels.strip("`") for row in documented}
        if documented_num_labels and documented_num_labels != {loss.num_labels}:
            differences.append(
                f"{name}: num_labels is '{loss.num_labels}' in the table, {sorted(documented_num_labels)} in the docstring"
            )
        parameter = inspect.signature(cls.__init__).parameters.get("activation_fn")
        if parameter is None:
            if loss.loss_activation:
                differences.append(f"{name}: the table sets the loss's activation_fn, which the class does not take")
        else:
            # loss_activation marks losses whose own activation_fn defaults to something other than Identity
            default = parameter.default
            default_name = "None" if default is None or default is inspect.Parameter.empty else type(default).__name__
            own_activation = default_name not in ("None", "Identity")
            if loss.loss_activation != own_activation:
                differences.append(
                    f"{name}: loss_activation is {str(loss.loss_activation).lower()} in the table, but the class's"
                    f" activation_fn defaults to {default_name}"
                )
    return DriftReport(library_version=sentence_transformers.__version__, checked=checked, differences=differences)
