"""How a loss is built, in one place: explain, inspect, trial and scaffold all render from a `Recipe`.

Given a loss name, the table and facts about the data (`DataFacts`, computed by `data_facts` from a pyarrow
table: the profile's sample and the trial's table alike), `build_recipe` decides num_labels (an int, always),
the model's activation and each constructor argument with its Python source, its value and the reason.
`Recipe.render()` is a complete, runnable block; `instantiate_loss` builds the real loss object from the same
recipe. Pure: pyarrow and torch are imported inside the functions that need them.

The facts and the data rules behind them live in `data_facts.py` (re-exported here).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lossadvisor.data_facts import (  # noqa: F401  (re-exported)
    LABEL,
    MAX_CLASSES,
    ClassIds,
    DataFacts,
    data_facts,
    lists_sorted,
    num_labels_from_ids,
    pos_weight,
)
from lossadvisor.table import LossTable

if TYPE_CHECKING:
    import torch

# A random tiny model at 2e-5 (or even 5e-5) learns nothing in 20 steps (pitfalls.md); a real backbone does.
TINY_LR = 5e-4
MODEL_LR = 2e-5
# The base model a printed construction starts from: a plain encoder, so any num_labels loads.
BASE_MODEL = "microsoft/MiniLM-L12-H384-uncased"
# Losses that score every anchor against the other rows of its batch: a duplicate text there is a false negative.
IN_BATCH_LOSSES = frozenset({"MultipleNegativesRankingLoss", "CachedMultipleNegativesRankingLoss"})
# The library's own default number of in-batch negatives per anchor (the table may say otherwise).
IN_BATCH_NEGATIVES = 4
# Which of the table's parameters a recipe sets: see `_param` (every other knob is listed as an option).
UNSORTED_WHY = "your lists are not sorted by relevance"
# The parameters the data decides (the recipe sets them only when the data calls for them).
DATA_PARAMS = ("pos_weight", "respect_input_order")


# --------------------------------------------------------------------------------------------- the recipe


@dataclass(frozen=True)
class RecipeParam:
    """One constructor argument: its Python source, the value behind it, and why.

    `kind` says how `instantiate_loss` builds the value: literal | identity | tensor | scheme | classes (the number
    of classes) | model-dim (the model's embedding size) | model (another model, by name: GISTEmbedLoss's guide).
    """

    name: str
    code: str  # the Python source
    value: bool | int | float | str | list | None
    why: str
    kind: str = "literal"
    decided: bool = True  # False: a stand-in the user must replace (the number of classes, without data)

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "value": self.code, "why": self.why}


@dataclass(frozen=True)
class Recipe:
    """The model and the loss, as data; `render()` writes them as a runnable block.

    The family decides the model class and the module both are imported from; a CrossEncoder also has num_labels
    and an activation. `wrapper` is the family's wrapper around this loss (SpladeLoss), built from the same table.
    """

    loss: str
    import_path: str
    num_labels: int | None
    num_labels_rule: str | None  # "1" or "num_classes"; None in a family without a num_labels head
    identity_activation: bool
    activation: str | None  # Identity | Sigmoid (default) | default; None in a family without a head
    params: tuple[RecipeParam, ...]
    options: tuple[RecipeParam, ...] = ()  # knobs worth knowing, left at the library default
    num_labels_from_data: bool = True  # False: num_labels=2 stands in for the number of classes
    family: str = "cross-encoder"
    model_class: str = "CrossEncoder"
    module: str = "sentence_transformers.cross_encoder"
    base_model: str = BASE_MODEL
    wrapper: Recipe | None = None

    @property
    def loss_name(self) -> str:  # the trial's name for it
        return self.loss

    @property
    def code(self) -> str:  # the trial's name for loss_source()
        return self.loss_source()

    @property
    def has_head(self) -> bool:
        return self.num_labels is not None

    @property
    def imports(self) -> tuple[str, ...]:
        lines = []
        if "torch." in self.model_source() + self.loss_source():
            lines.append("import torch")
        lines.append(f"from {self.module} import {self.model_class}, losses")
        return tuple(lines)

    def model_source(self, model: str = "MODEL", max_length: int | str | None = None, num_labels: str | None = None) -> str:
        """`CrossEncoder(...)` as source; `num_labels` (source) replaces the recipe's number, e.g. with a variable."""
        if not self.has_head:
            return f"{self.model_class}({model})"
        args = [model, f"num_labels={num_labels or self.num_labels}"]
        if max_length is not None:
            args.append(f"max_length={max_length}")
        if self.identity_activation:
            args.append("activation_fn=torch.nn.Identity()")
        return f"{self.model_class}({', '.join(args)})"

    def loss_source(self, model: str = "model", codes: dict[str, str] | None = None) -> str:
        """`losses.X(model, ...)` (inside the wrapper, if any); `codes` replaces a parameter's source by its name."""
        codes = codes or {}
        args = [model] + [f"{p.name}={codes.get(p.name, p.code)}" for p in self.params]
        inner = f"losses.{self.loss}({', '.join(args)})"
        if self.wrapper is None:
            return inner
        outer = [model, f"loss={inner}"] + [f"{p.name}={p.code}" for p in self.wrapper.params]
        return f"losses.{self.wrapper.loss}({', '.join(outer)})"

    def render(self, base_model: str | None = None) -> str:
        """Imports, MODEL, `model = ...(...)` and `loss = losses.X(model, ...)`: runs as printed."""
        model_line = f"model = {self.model_source()}"
        if self.num_labels_rule == "num_classes" and not self.num_labels_from_data:
            model_line += "  # num_labels: the number of classes in your data"
        loss_line = f"loss = {self.loss_source()}"
        if any(not param.decided for param in self.params):
            loss_line += "  # num_labels: the number of classes in your data"
        return "\n".join([
            *self.imports,
            "",
            f"MODEL = {json.dumps(base_model or self.base_model)}  # the base model to fine-tune",
            model_line,
            loss_line,
        ])


def build_recipe(loss_name: str, loss_table: LossTable, facts: DataFacts | None = None, wrap: bool = True) -> Recipe:
    """The construction the table advises for `loss_name` in the table's family, with the values `facts` decide
    (None: no data). `wrap`: inside the family's default wrapper where the family requires one."""
    family = loss_table.family
    entry = loss_table.losses[loss_name]
    adapter = {"family": loss_table.family_name, "model_class": family.model_class, "module": family.module,
               "base_model": family.base_model}
    wrapper = None
    if wrap and family.wrappers and not entry.standalone and loss_name not in family.helpers:
        wrapper = build_recipe(family.wrappers[0], loss_table, facts, wrap=False)
    if not family.num_labels or entry.num_labels is None:
        params, options = recipe_params(loss_name, entry.params, facts, False)
        decided = not any(param.kind == "classes" and not param.decided for param in params)
        return Recipe(loss_name, entry.import_path, None, None, False, None, params, options, decided, wrapper=wrapper,
                      **adapter)
    num_labels, decided = num_labels_for(entry.num_labels, facts)
    identity = entry.activation == "identity"
    params, options = recipe_params(loss_name, entry.params, facts, entry.loss_activation and identity)
    activation = "Identity" if identity else ("Sigmoid (default)" if num_labels == 1 else "default")
    return Recipe(loss_name, entry.import_path, num_labels, entry.num_labels, identity, activation,
                  params, options, decided, wrapper=wrapper, **adapter)


def recipe_params(loss_name: str, table_params, facts: DataFacts | None, loss_identity: bool):
    """(set, options): the arguments the recipe sets, and the table's other knobs left at the library default."""
    params: list[RecipeParam] = []
    options: list[RecipeParam] = []
    for table_param in table_params:
        param = _param(loss_name, loss_identity, table_param, facts)
        if param is not None:
            params.append(param)
        else:
            options.append(RecipeParam(table_param.name, table_param.value, None, table_param.why, "option"))
    return tuple(params), tuple(options)


def num_labels_for(rule: str, facts: DataFacts | None) -> tuple[int, bool]:
    """The one num_labels rule: class names count; class ids 0..N-1 need N outputs (max id + 1, at least 2)."""
    if rule != "num_classes":
        return int(rule), True
    ids = facts.class_ids if facts is not None else None
    in_range = ids is not None and not ids.out_of_range
    if facts is not None and facts.class_names and len(facts.class_names) < MAX_CLASSES:
        # a label beyond the names still needs its output (what training would otherwise fail on)
        return max(2, len(facts.class_names), num_labels_from_ids([ids.high]) if in_range else 0), True
    if in_range:
        return num_labels_from_ids([ids.low, ids.high]), True
    return 2, False


def _param(loss_name: str, loss_identity: bool, table_param, facts: DataFacts | None) -> RecipeParam | None:
    """The argument the recipe sets for one of the table's parameters, or None to leave the library default."""
    name, why = table_param.name, table_param.why
    if name == "activation_fn":
        return RecipeParam(name, "torch.nn.Identity()", "identity", why, "identity") if loss_identity else None
    if name == "weighting_scheme":
        scheme = table_param.value.removeprefix("losses.").removesuffix("()")
        return RecipeParam(name, f"losses.{scheme}()", scheme, why, "scheme")
    if name == "mini_batch_size":
        size = int(table_param.value)
        batch = facts.batch_size if facts is not None else None
        if loss_name.startswith("Cached") and batch is not None and batch <= size:
            # A mini-batch as large as the batch caches nothing; half the batch exercises the caching path.
            size = max(1, batch // 2)
            why = f"{why} (half the batch of {batch}, so that gradient caching is used)"
        return RecipeParam(name, str(size), size, why)
    if name == "pos_weight" and facts is not None and facts.pos_weight is not None:
        why = f"{facts.negatives} negatives / {facts.positives} positives in the data; {why}"
        return RecipeParam(name, f"torch.tensor({facts.pos_weight:.2f})", facts.pos_weight, why, "tensor")
    if name == "respect_input_order" and facts is not None and facts.lists_sorted is False:
        return RecipeParam(name, "False", False, UNSORTED_WHY)
    if name == "embedding_dimension":
        return RecipeParam(name, "model.get_embedding_dimension()", None, why, "model-dim")
    if name == "num_labels":  # a loss's own classifier (SoftmaxLoss): the same rule as a CrossEncoder head
        count, decided = num_labels_for("num_classes", facts)
        return RecipeParam(name, str(count), count, why if decided else f"{why} (2 stands in)", "classes", decided)
    if name == "guide":
        match = re.fullmatch(r"""\w+\((["'])(.+)\1\)""", table_param.value)
        return RecipeParam(name, table_param.value, match.group(2) if match else table_param.value, why, "model")
    if table_param.set:
        return RecipeParam(name, table_param.value, ast.literal_eval(table_param.value), why)
    # Every other knob (num_negatives, scale, k, ...) keeps the library default: listed as an option.
    return None


def in_batch_negatives(loss_table: LossTable, loss_name: str) -> int:
    """The negatives per anchor an in-batch loss samples: the table's num_negatives, else the library default."""
    entry = loss_table.losses.get(loss_name)
    for param in entry.params if entry is not None else ():
        if param.name == "num_negatives" and param.value.isdigit():
            return int(param.value)
    return IN_BATCH_NEGATIVES


# --------------------------------------------------------------------------------------------- the real objects


def instantiate_loss(recipe: Recipe, model, resolve_model: Callable[[str], str] | None = None) -> torch.nn.Module:
    """The real loss class, built with the recipe's arguments (the same ones `render()` prints), inside the
    family's wrapper when the recipe has one. `resolve_model` maps a model named in a parameter (a guide) to
    where it is loaded from (trial: the installed offline copy)."""
    loss = _construct(recipe, model, resolve_model)
    if recipe.wrapper is None:
        return loss
    return _construct(recipe.wrapper, model, resolve_model, loss=loss)


def _construct(recipe: Recipe, model, resolve_model, **extra) -> torch.nn.Module:
    import importlib

    module_path, class_name = recipe.import_path.rsplit(".", 1)
    cls = getattr(importlib.import_module(module_path), class_name)
    arguments = {param.name: _runtime_value(param, model, resolve_model) for param in recipe.params}
    return cls(model, **extra, **arguments)


def _runtime_value(param: RecipeParam, model, resolve_model=None):
    import torch

    if param.kind == "identity":
        return torch.nn.Identity()
    if param.kind == "tensor":
        return torch.tensor(float(param.value), device=model.device)  # type: ignore[arg-type]
    if param.kind == "scheme":
        from sentence_transformers.cross_encoder import losses

        return getattr(losses, str(param.value))()
    if param.kind == "model-dim":
        return model.get_embedding_dimension()
    if param.kind == "model":
        from sentence_transformers import SentenceTransformer

        name = str(param.value)
        return SentenceTransformer(resolve_model(name) if resolve_model else name, device=str(model.device))
    return param.value
