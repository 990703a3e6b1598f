"""The trial's loss: the recipe (lossadvisor.recipe) for this data, and the real object built from it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pyarrow as pa

from lossadvisor.recipe import Recipe, build_recipe, data_facts, instantiate_loss
from lossadvisor.table import LossTable
from lossadvisor.trial.options import TrialOptions

if TYPE_CHECKING:
    import torch
    from sentence_transformers.cross_encoder import CrossEncoder


def advise_loss(loss_name: str, table: pa.Table, loss_table: LossTable, batch_size: int = 8,
                class_names: tuple[str, ...] = ()) -> Recipe:
    """The recipe for `loss_name` on this data (the same one explain, inspect and scaffold use). Pure: no torch."""
    return build_recipe(loss_name, loss_table, data_facts(table, classes=class_names, batch_size=batch_size))


def build_loss(
    model: CrossEncoder, loss_name: str, table: pa.Table, loss_table: LossTable, batch_size: int = 8
) -> tuple[torch.nn.Module, str]:
    """The real loss class from sentence_transformers.cross_encoder.losses, with the advised parameters."""
    recipe = advise_loss(loss_name, table, loss_table, batch_size)
    return instantiate_loss(recipe, model), recipe.loss_source()


def model_code(options: TrialOptions, recipe: Recipe) -> str:
    """How the trial built its model: the tiny one from the data's texts, or the recipe's CrossEncoder."""
    if options.model == "tiny":
        return (
            f"build_tiny_cross_encoder(texts, num_labels={recipe.num_labels}, identity_activation={recipe.identity_activation}, "
            f"max_length={options.max_length}, seed={options.seed})"
        )
    return recipe.model_source(json.dumps(options.model), options.max_length)
