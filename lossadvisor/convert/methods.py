"""The conversion methods, by the `method` names of data_formats.yaml's `conversions`.

Each is `(table, target_format, options, *, progress=None) -> StepResult`: the table in canonical column
order of the source format in, the table in canonical order of the target format out.
"""

from __future__ import annotations

from collections.abc import Callable

from lossadvisor.convert.lists import expand_negatives, explode_negatives, lists_to_labeled_list
from lossadvisor.convert.mine import mine
from lossadvisor.convert.reshape import (
    class_sampling,
    class_to_binary,
    explode,
    group,
    group_negatives,
    pair_positives_with_negatives,
    split_negatives,
)
from lossadvisor.convert.singles import class_triplets, duplicate, pairs_to_singles, teacher_embeddings
from lossadvisor.convert.teacher import teacher

METHODS: dict[str, Callable] = {
    "class-sampling": class_sampling,
    "class-to-binary": class_to_binary,
    "mine": mine,
    "group": group,
    "explode": explode,
    "pair-positives-with-negatives": pair_positives_with_negatives,
    "group-negatives": group_negatives,
    "split-negatives": split_negatives,
    "teacher": teacher,
    "expand-negatives": expand_negatives,
    "explode-negatives": explode_negatives,
    "lists-to-labeled-list": lists_to_labeled_list,
    "pairs-to-singles": pairs_to_singles,
    "class-triplets": class_triplets,
    "duplicate": duplicate,
    "teacher-embeddings": teacher_embeddings,
}
