"""One small adapter per model family: what a trial (and a scaffolded script) builds and trains with.

The classes come from the table's adapter (`families.<name>`: model, trainer, training_args): nothing here repeats
them. What the table does not say lives here: the base model (lossadvisor.trial.models), the evaluator of each format
(lossadvisor.trial.embed_eval), and the batch sampler a loss needs.

- CrossEncoder: the trial as it always was (training.load_model, evaluation.build_evaluator, measure.measure).
- SentenceTransformer, SparseEncoder, MultiVectorEncoder: one adapter, parametrised by the family.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lossadvisor.table import DEFAULT_FAMILY, LossTable
from lossadvisor.table_schema import Family

if TYPE_CHECKING:
    from lossadvisor.recipe import Recipe
    from lossadvisor.trial.measure import Measurement
    from lossadvisor.trial.options import TrialOptions
    from lossadvisor.trial.training import Prepared

# Losses that score each anchor against the other rows of its batch: a repeated text there is a false negative, so
# the trainer draws batches without duplicates (BatchSamplers.NO_DUPLICATES).
IN_BATCH_MARKERS = ("MultipleNegatives", "GISTEmbed", "InBatchNegatives", "MegaBatchMargin")
# Losses that mine triplets inside a batch by class: every batch needs several texts of a class (GroupByLabel).
GROUP_BY_LABEL_PREFIX = "Batch"
# The evaluator class prefix of each model class ("" for SentenceTransformer's own evaluators).
EVALUATOR_PREFIX = {"SentenceTransformer": "", "SparseEncoder": "Sparse", "MultiVectorEncoder": "MultiVector"}


def batch_sampler(loss_name: str) -> str:
    """The trainer's batch_sampler, by value (the enum moved between sentence-transformers 5 and 6)."""
    if any(marker in loss_name for marker in IN_BATCH_MARKERS):
        return "no_duplicates"
    if loss_name.startswith(GROUP_BY_LABEL_PREFIX) and loss_name.endswith("TripletLoss"):
        return "group_by_label"
    return "batch_sampler"


def sampler_why(sampler: str) -> str | None:
    return {
        "no_duplicates": "in-batch negatives: a repeated text in a batch would be a false negative",
        "group_by_label": "the batch-triplet losses mine triplets within a batch: each needs several texts of a class",
    }.get(sampler)


@dataclass(frozen=True)
class FamilyAdapter:
    """The family's classes from the table, and how a trial builds, trains and scores its model."""

    name: str
    family: Family

    @property
    def is_cross_encoder(self) -> bool:
        return self.name == DEFAULT_FAMILY

    @property
    def model_class(self) -> str:
        return self.family.model_class

    @property
    def evaluator_prefix(self) -> str:
        return EVALUATOR_PREFIX.get(self.model_class, "")

    def trainer_class(self):
        from lossadvisor.trial.models import import_object

        return import_object(self.family.trainer)

    def args_class(self):
        from lossadvisor.trial.models import import_object

        return import_object(self.family.training_args)

    def sampler(self, loss_name: str) -> str:
        if self.is_cross_encoder:
            from lossadvisor.recipe import IN_BATCH_LOSSES

            return "no_duplicates" if loss_name in IN_BATCH_LOSSES else "batch_sampler"
        return batch_sampler(loss_name)

    # ----------------------------------------------------------------------------------------- the model

    def load_model(self, prepared: Prepared, options: TrialOptions, recipe: Recipe):
        from lossadvisor.trial.training import load_model

        if self.is_cross_encoder:
            return load_model(prepared, options, recipe.num_labels or 1, recipe.identity_activation)
        from lossadvisor.trial.models import build_family_model
        from lossadvisor.trial.sampling import texts_of

        split = prepared.split
        texts = texts_of(split.train) + (texts_of(split.eval) if split.eval is not None else [])
        model, notes = build_family_model(self.name, self.family.model, options.model, texts, prepared.workdir,
                                          options.max_length, options.seed, options.trust_remote_code)
        prepared.notes.extend(note for note in notes if note not in prepared.notes)
        return model

    def model_code(self, options: TrialOptions, recipe: Recipe) -> str:
        import json

        if self.is_cross_encoder:
            from lossadvisor.trial.loss import model_code

            return model_code(options, recipe)
        if options.model == "tiny":
            return f"build_tiny_model({self.name!r}, texts, max_length={options.max_length}, seed={options.seed})"
        return recipe.model_source(json.dumps(options.model))

    # ----------------------------------------------------------------------------------------- the metric

    def build_evaluator(self, format_name: str, table: pa.Table, recipe: Recipe) -> tuple[Any, str | None]:
        """(evaluator, None), or (None, why there is none)."""
        if self.is_cross_encoder:
            from lossadvisor.trial.evaluation import build_evaluator

            evaluator = build_evaluator(format_name, table, recipe.num_labels or 1)
            why = f"no evaluation: the {table.num_rows} held-out rows give the evaluator nothing to rank"
            return evaluator, None if evaluator is not None else why
        from lossadvisor.trial.embed_eval import build_embedder_evaluator

        return build_embedder_evaluator(self.family.module, self.evaluator_prefix, format_name, table)

    def measure(self, evaluator, format_name: str, model, notes: list[str]) -> Measurement | None:
        if self.is_cross_encoder:
            from lossadvisor.trial.evaluation import evaluator_kind
            from lossadvisor.trial.measure import measure

            return measure(evaluator, evaluator_kind(format_name), model, notes)
        from lossadvisor.trial.embed_eval import measure_embedder

        return measure_embedder(evaluator, model, notes)


def adapter_for(loss_table: LossTable) -> FamilyAdapter:
    return FamilyAdapter(loss_table.family_name, loss_table.family)
