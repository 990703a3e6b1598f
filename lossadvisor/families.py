"""The top pick of every model family for one data format: `inspect`'s "embedder: MNRL; reranker: BCE after mining".

Pure rules over the table: a family whose own table lists the format picks its common choice there; otherwise the
shortest declared conversion into a format the family trains on, and the pick there.
"""

from __future__ import annotations

from dataclasses import dataclass

from lossadvisor.commands import CommandLine, convert_command
from lossadvisor.fit import fitting_losses
from lossadvisor.table import DEFAULT_FAMILY, LossTable

# Conversions that change what the label means (a relation between two texts becomes a class of each text): offered
# by inspect, never taken on the way to a family's pick.
REINTERPRETING = frozenset({"pairs-to-singles"})


@dataclass(frozen=True)
class FamilyPick:
    family: str  # the name --family takes
    title: str  # the model class
    role: str
    loss: str | None  # None: no declared conversion reaches a format this family trains on
    format: str | None  # the format the loss trains on
    via: tuple[str, ...] = ()  # the conversions on the way there, by target format
    needs: tuple[str, ...] = ()  # what those conversions need (a teacher, a positive class)
    command: str = ""  # the command that goes on: inspect with --family, or the convert that gets there
    mines: bool = False  # the conversion mines hard negatives

    @property
    def summary(self) -> str:
        if self.loss is None:
            return "no loss of this family reaches this data"
        after = f" after convert --to {self.via[-1]}" if self.via else ""
        return f"{self.loss} ({self.format}{after})"

    @property
    def short(self) -> str:
        """'embedder: MultipleNegativesRankingLoss', 'reranker: BinaryCrossEntropyLoss after mining'."""
        role = self.role.split(" (")[0]
        if self.loss is None:
            return f"{role}: none"
        after = (" after mining" if self.mines else f" after convert --to {self.via[-1]}") if self.via else ""
        needs = f" (needs {', '.join(self.needs)})" if self.needs else ""
        return f"{role}: {self.loss}{after}{needs}"


def picks_line(picks) -> str:
    """The per-family summary in one line: 'reranker: BinaryCrossEntropyLoss; embedder: ...'."""
    return "; ".join(pick.short for pick in picks)


def ranked_losses(view: LossTable, format_name: str, teacher_first: bool = False) -> list[tuple[str, bool]]:
    """(loss, distillation) for a format, best first: inspect's order. The rows' order, the family's common choice
    first; the distillation rows last, or first when the labels are a teacher's (`teacher_first`)."""
    common = _common_losses(view, format_name)
    ordered: list[tuple[str, bool]] = []
    for row in view.rows_for_format(format_name):
        for loss in row.losses:
            if loss not in [name for name, _ in ordered]:
                ordered.append((loss, row.distillation))
    ordered.sort(key=lambda item: (item[1] != teacher_first, item[0] not in common))
    return ordered


def family_picks(format_name: str, table: LossTable, dataset: str, teacher_first: bool = False) -> tuple[FamilyPick, ...]:
    """One pick per family of the table, the family `table` is seen through first."""
    names = [table.family_name] + [name for name in table.family_names if name != table.family_name]
    return tuple(_pick(format_name, table.for_family(name), dataset, teacher_first) for name in names)


def _pick(format_name: str, view: LossTable, dataset: str, teacher_first: bool = False) -> FamilyPick:
    """The family's common choice on this data if it has one; else a common choice that conversions needing nothing
    (no teacher, no positive class) reach; else any fitting loss here; else one reached with what is needed."""
    family = view.family
    common = dict(family_name=view.family_name, title=family.title, role=family.role)
    inspect = CommandLine("inspect", dataset, (() if view.family_name == DEFAULT_FAMILY
                                              else (("--family", view.family_name),)))
    candidates = []  # (rank, path length, target, path, needs)
    for fmt in view.formats:
        if not view.rows_for_format(fmt.name):
            continue
        path = view.conversion_path(format_name, fmt.name)
        if path is None or any(step.method in REINTERPRETING for step in path):
            continue
        needs = tuple(sorted({need for step in path for need in step.needs} - {"miner"}))
        is_common = fitting_losses(fmt.name, view)[0] in _common_losses(view, fmt.name)
        rank = (0 if not path else 1) if is_common and not needs else (2 if not path else 3)
        candidates.append((rank, len(path), fmt.name, path, needs))
    if not candidates:
        return _made(common, None, None, command=inspect.render())
    _, _, target, path, needs = min(candidates, key=lambda candidate: candidate[:2])
    loss = ranked_losses(view, target, teacher_first and not path)[0][0]
    if not path:
        return _made(common, loss, target, command=inspect.render())
    command = convert_command(dataset, target, None).render()
    mines = any("miner" in step.needs for step in path)
    return _made(common, loss, target, tuple(step.to_format for step in path), needs, command, mines)


def _common_losses(view: LossTable, format_name: str) -> set[str]:
    return {advice.loss for advice in view.common_for_format(format_name) if advice.loss}


def _made(common: dict, loss, fmt, via=(), needs=(), command="", mines=False) -> FamilyPick:
    return FamilyPick(common["family_name"], common["title"], common["role"], loss, fmt, via, needs, command, mines)


def saved_model_class(folder) -> str | None:
    """The sentence-transformers class a saved model folder holds ('CrossEncoder', 'SentenceTransformer',
    'SparseEncoder', 'MultiVectorEncoder'), from its config_sentence_transformers.json, else from the modules it
    lists, else from a plain checkpoint's head; None when the folder says none of these."""
    import json
    from pathlib import Path

    folder = Path(str(folder)).expanduser()
    try:
        config = json.loads((folder / "config_sentence_transformers.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = {}
    model_type = config.get("model_type") if isinstance(config, dict) else None
    if isinstance(model_type, str) and model_type:
        return model_type
    try:
        modules = (folder / "modules.json").read_text(encoding="utf-8")
    except OSError:
        return _plain_checkpoint_class(folder)
    if "Splade" in modules or "sparse_encoder" in modules or "SparseAutoEncoder" in modules:
        return "SparseEncoder"
    return "MultiVectorEncoder" if "multi_vector_encoder" in modules else "SentenceTransformer"


def _plain_checkpoint_class(folder) -> str | None:
    """A transformers checkpoint with a sequence-classification head loads as a CrossEncoder."""
    import json

    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    architectures = config.get("architectures") if isinstance(config, dict) else None
    classifier = any(str(name).endswith("ForSequenceClassification") for name in architectures or ())
    return "CrossEncoder" if classifier else None


def family_of_model(model: str | None, table: LossTable) -> str | None:
    """The family whose model class a local model folder holds (`--model PATH`); None for a hub id or 'auto'."""
    if not model or model in ("auto", "tiny"):
        return None
    from pathlib import Path

    if not Path(model).expanduser().is_dir():
        return None
    held = saved_model_class(model)
    return next((name for name in table.family_names if table.for_family(name).family.model_class == held), None)
