"""Loss modifiers (MatryoshkaLoss, AdaptiveLayerLoss, Matryoshka2dLoss) around a family's loss, for trial and scaffold.

A modifier is one of the family's `modifiers` in the table (a family without any refuses one). Matryoshka dims must
not exceed the model's embedding dimension: asked-for dims beyond it are refused (exit 2); the table's default dims
are cut to it (and the full dimension is always the first).
"""

from __future__ import annotations

import ast

from lossadvisor.errors import FitError
from lossadvisor.table import LossTable

DIMS_PARAM = "matryoshka_dims"


def resolve_modifier(name: str | None, loss_table: LossTable) -> str | None:
    """The modifier's class name as the family's table spells it; FitError when the family has no such modifier."""
    if name is None:
        return None
    family = loss_table.family
    known = {modifier.lower(): modifier for modifier in family.modifiers}
    key = name.strip().rsplit(".", 1)[-1].lower()
    for candidate in (key, key + "loss"):
        if candidate in known:
            return known[candidate]
    if not family.modifiers:
        raise FitError(f"--modifier {name}: a {family.title} loss takes no modifier",
                       "Modifiers (MatryoshkaLoss, AdaptiveLayerLoss, Matryoshka2dLoss) are for --family sentence-transformer.")
    raise FitError(f"unknown modifier '{name}' for a {family.title} loss", f"Known: {', '.join(family.modifiers)}.")


def takes_dims(modifier: str, loss_table: LossTable) -> bool:
    entry = loss_table.losses.get(modifier)
    return entry is not None and any(param.name == DIMS_PARAM for param in entry.params)


def default_dims(modifier: str, loss_table: LossTable) -> list[int]:
    entry = loss_table.losses[modifier]
    value = next(param.value for param in entry.params if param.name == DIMS_PARAM)
    return [int(dim) for dim in ast.literal_eval(value)]


def fit_dims(dims, dimension, asked):
    """Matryoshka dims for a model whose embeddings have `dimension` values: asked dims (`asked` True) must each be at
    most `dimension` (ValueError otherwise); default dims are cut to it, the full dimension first, at least two."""
    if asked:
        bad = [dim for dim in dims if dim < 1 or (dimension is not None and dim > dimension)]
        if bad:
            raise ValueError(f"Matryoshka dims {', '.join(map(str, bad))}: the model's embeddings have {dimension} "
                             "dimensions, and a Matryoshka dim can be neither larger nor below 1")
        return sorted(set(dims), reverse=True)
    if dimension is None:
        return list(dims)
    fitted = [dimension] + [dim for dim in dims if dim < dimension]
    while len(fitted) < 2 and fitted[-1] // 2 >= 1:
        fitted.append(fitted[-1] // 2)
    return fitted


def matryoshka_dims(modifier: str, loss_table: LossTable, dimension: int | None, asked: tuple[int, ...] = ()) -> list[int]:
    """The dims to train at: the asked ones (each at most `dimension`), else the table's default cut to `dimension`."""
    try:
        return fit_dims(list(asked) if asked else default_dims(modifier, loss_table), dimension, bool(asked))
    except ValueError as exc:
        raise FitError(f"--matryoshka-dims: {exc}",
                       f"Pass dims of at most {dimension}, e.g. --matryoshka-dims {dimension},{max(1, (dimension or 2) // 2)}.") from None


def modifier_source(modifier: str, loss_code: str, dims: list[int] | None, model: str = "model") -> str:
    args = [model, loss_code] + ([f"{DIMS_PARAM}={dims}"] if dims is not None else [])
    return f"losses.{modifier}({', '.join(args)})"


def wrap(modifier: str, loss_module, loss_code: str, loss_table: LossTable, model, dimension: int | None,
         asked: tuple[int, ...] = ()):
    """(the modified loss, its source): the real modifier class from the family's losses module."""
    import importlib

    dims = matryoshka_dims(modifier, loss_table, dimension, asked) if takes_dims(modifier, loss_table) else None
    if dims is None and asked:
        raise FitError(f"--matryoshka-dims is for MatryoshkaLoss and Matryoshka2dLoss, not {modifier}", None)
    entry = loss_table.losses[modifier]
    module_path, class_name = entry.import_path.rsplit(".", 1)
    cls = getattr(importlib.import_module(module_path), class_name)
    try:
        module = cls(model, loss_module, **({DIMS_PARAM: dims} if dims is not None else {}))
    except (ValueError, TypeError) as exc:
        raise FitError(f"{modifier} cannot wrap {type(loss_module).__name__}: {str(exc).strip().splitlines()[0]}",
                       "Train it without --modifier.") from None
    return module, modifier_source(modifier, loss_code, dims)
