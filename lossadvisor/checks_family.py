"""The traps of one model family (issue 13), as findings with a fix that runs as printed.

Which losses a trap is about is read from the family's own table (the losses that fit the reading's format); the
facts are counted in the sample. Each fix is code for the family's real classes: its training arguments class
(`SentenceTransformerTrainingArguments`, `SparseEncoderTrainingArguments`, ...), its `losses` module.

- in-batch negatives: a repeated anchor or positive in a batch is a false negative: `BatchSamplers.NO_DUPLICATES`;
- the batch triplet losses need several examples of a class in a batch: `BatchSamplers.GROUP_BY_LABEL`;
- GISTEmbedLoss needs a guide model; SoftmaxLoss the number of classes and the embedding dimension;
- CosineSimilarityLoss regresses onto the score: a 0-5 scale must be rescaled (CoSENT / AnglE rank, scale-free);
- Sparse* losses train only inside SpladeLoss / CachedSpladeLoss / CSRLoss;
- short queries against long passages: an embedder wants prompts (or a Router) to tell them apart;
- the Matryoshka modifiers: dims must not exceed the model's embedding dimension;
- a teacher's embeddings (MSELoss) must have the student's dimension.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from lossadvisor.families import ranked_losses
from lossadvisor.findings import INFO, clean_name, warning
from lossadvisor.findings import WarningCode as C
from lossadvisor.profile import Profile

if TYPE_CHECKING:
    from lossadvisor.findings import Reading, Warning
    from lossadvisor.table import LossTable

# Losses that score each anchor against every other text of its batch (a duplicate there is a false negative).
IN_BATCH = re.compile(r"MultipleNegatives|GISTEmbed|InBatchNegatives|MegaBatch")
# Losses that build their triplets from the class labels inside each batch.
BATCH_TRIPLET = re.compile(r"^Batch\w*TripletLoss$")
# Losses that regress a similarity onto the label, so its scale matters (CoSENT / AnglE only use the order).
REGRESS_SCORE = re.compile(r"CosineSimilarityLoss$")
RANK_SCORE = re.compile(r"(CoSENT|AnglE)Loss$")
# Matryoshka sizes in the order upstream's examples use; the printed code keeps those the model has.
MATRYOSHKA_DIMS = (768, 512, 256, 128, 64)
# A query this much shorter than its passages (mean words) makes the data asymmetric.
ASYMMETRY = 3.0
SHORT_QUERY_WORDS = 20
# Rows per distinct anchor or positive from which repeats are a warning (fewer: a note).
REPEAT_WARNING = 1.5
# The default per_device_train_batch_size of the trainers (transformers' TrainingArguments).
BATCH_SIZE = 8
# The embedding dimension of the family's base model, where lossadvisor knows it (printed, never loaded).
KNOWN_DIMENSIONS = {"sentence-transformers/all-MiniLM-L6-v2": 384}
BATCH_SAMPLERS = "from sentence_transformers.base import BatchSamplers"


def training_args_code(table: LossTable, **arguments: str) -> str:
    """One line that builds the family's training arguments with `arguments` (Python source): runs as printed."""
    module, name = table.family.training_args.rsplit(".", 1)
    args = ", ".join(['output_dir="output"'] + [f"{key}={value}" for key, value in arguments.items()])
    imports = [f"from {module} import {name}"]
    if any("BatchSamplers." in value for value in arguments.values()):
        imports.insert(0, BATCH_SAMPLERS)
    return "; ".join(imports + [f"args = {name}({args})"])


def family_warnings(profile: Profile, reading: Reading, table: LossTable, out: list[Warning]) -> None:
    """The traps of `table`'s family for this data, appended to `out`; family-specific rewording of shared ones."""
    teacher_first = reading.label_kind == "logit"
    losses = [name for name, _ in ranked_losses(table, reading.format, teacher_first)]
    _in_batch_duplicates(profile, reading, table, losses, out)
    _batch_triplet_classes(profile, table, losses, out)
    _guide_model(table, losses, out)
    _softmax_head(profile, table, losses, out)
    _score_scale(profile, reading, table, losses, out)
    _sparse_wrapper(table, losses, out)
    _asymmetric(profile, table, losses, out)
    _matryoshka(table, losses, out)
    _teacher_embedding(profile, reading, table, losses, out)
    _reword_for_family(table, out)
    headed = table.family.num_labels or any("num_labels" in {p.name for p in table.losses[loss].params} for loss in losses)
    if not headed:  # class ids decide no num_labels here: the note about reading them would mislead
        out[:] = [found for found in out if found.code != C.CLASS_IDS]


def _names(losses: list[str], most: int = 3) -> str:
    """'A, B and C', or 'A, B, C and 4 more'."""
    if len(losses) <= most:
        return ", ".join(losses[:-1]) + (" and " if len(losses) > 1 else "") + losses[-1]
    return f"{', '.join(losses[:most])} and {len(losses) - most} more"


def _text_inputs(profile: Profile) -> list[str]:
    return [n for n in profile.inputs if profile.column(n).kind == "text"]


def _repeats(profile: Profile, name: str) -> tuple[int, int]:
    """(rows, distinct) of a text column in the sample, nulls left out."""
    stats = profile.column(name).stats
    return stats["rows"] - stats["nulls"], stats["distinct"]


def _in_batch_duplicates(profile: Profile, reading: Reading, table: LossTable, losses: list[str], out: list[Warning]) -> None:
    in_batch = [loss for loss in losses if IN_BATCH.search(loss)]
    texts = _text_inputs(profile)
    if not in_batch or reading.label_kind not in ("none",) or len(texts) < 2:
        return
    counted = []
    for role, name in (("anchor", texts[0]), ("positive", texts[1])):
        rows, distinct = _repeats(profile, name)
        if distinct and rows > distinct:
            counted.append((role, name, rows, distinct))
    if not counted:
        return
    said = "; ".join(f"{rows - distinct} repeated {role}s ('{name}': {distinct} distinct in {rows} rows)"
                     for role, name, rows, distinct in counted)
    positives = any(role == "positive" for role, *_ in counted)
    code = C.REPEATED_POSITIVES if positives else C.IN_BATCH_DUPLICATES
    # A text seen 1.5 times or more on average collides in most batches: a warning; a few repeats are a note.
    severity = "warning" if any(rows >= REPEAT_WARNING * distinct for *_, rows, distinct in counted) else INFO
    out.append(warning(
        code,
        f"{said}: {_names(in_batch)} score each anchor against every text of its batch, so a text repeated in the"
        " same batch is a false negative",
        training_args_code(table, batch_sampler="BatchSamplers.NO_DUPLICATES"), severity,
        columns=[name for _, name, *_ in counted]))


def _batch_triplet_classes(profile: Profile, table: LossTable, losses: list[str], out: list[Warning]) -> None:
    batch_losses = [loss for loss in losses if BATCH_TRIPLET.match(loss)]
    if not batch_losses or profile.label is None:
        return
    values = profile.sample.table.column(profile.label).to_pylist()
    counts: dict = {}
    for value in values:
        if value is not None:
            counts[value] = counts.get(value, 0) + 1
    if not counts:
        return
    singletons = [value for value, count in counts.items() if count < 2]
    per_batch = BATCH_SIZE / len(counts)
    message = (f"{_names(batch_losses)} build triplets from the classes inside each batch: {len(counts)} classes in the"
               f" sample ({min(counts.values())} to {max(counts.values())} examples each)")
    if singletons:
        message += f"; {len(singletons)} class(es) have a single example, which never forms a positive pair"
    message += (f"; a random batch of {BATCH_SIZE} holds ~{per_batch:.1f} examples per class"
                if per_batch < 2 else "") + ": group the batches by label (GroupByLabelBatchSampler)"
    fix = training_args_code(table, batch_sampler="BatchSamplers.GROUP_BY_LABEL")
    if singletons:
        name = clean_name(profile.label)
        keep = sorted(value for value, count in counts.items() if count >= 2)
        fix = f"dataset = dataset.filter(lambda row: row[{name!r}] in {keep!r}); {fix}" if len(keep) <= 20 else fix
    severity = "warning" if singletons or per_batch < 2 else INFO
    out.append(warning(C.BATCH_CLASSES, message, fix, severity, columns=[profile.label]))


def _guide_model(table: LossTable, losses: list[str], out: list[Warning]) -> None:
    guided = [loss for loss in losses if "guide" in {p.name for p in table.losses[loss].params}]
    if not guided:
        return
    guide = next(p.value for p in table.losses[guided[0]].params if p.name == "guide")
    out.append(warning(C.GUIDE_MODEL, f"{', '.join(guided)} need a guide model beside the one you train (it spots in-batch false"
                       " negatives; it is loaded too, so training takes its memory and time as well)",
                       f"from {table.family.module} import {table.family.model_class}, losses; "
                       f"loss = losses.{guided[0]}(model, guide={guide})", INFO))


def _softmax_head(profile: Profile, table: LossTable, losses: list[str], out: list[Warning]) -> None:
    """A loss with its own classifier (SoftmaxLoss): num_labels and the embedding dimension are its arguments."""
    headed = [loss for loss in losses if {"num_labels", "embedding_dimension"} <= {p.name for p in table.losses[loss].params}]
    if not headed:
        return
    from lossadvisor.recipe import build_recipe, data_facts

    label = None if profile.label_parts else profile.label
    recipe = build_recipe(headed[0], table, data_facts(profile.sample.table, label, profile.classes))
    out.append(warning(C.CLASSIFIER_HEAD, f"{', '.join(headed)} trains a classifier on the embeddings: it needs num_labels (the"
                       " number of classes) and the model's embedding dimension, set in its construction above",
                       f"loss = {recipe.loss_source()}", INFO))


def _score_scale(profile: Profile, reading: Reading, table: LossTable, losses: list[str], out: list[Warning]) -> None:
    """CosineSimilarityLoss regresses cos(a, b) onto the score; CoSENT / AnglE rank pairs by it, so scale is theirs."""
    regress = [loss for loss in losses if REGRESS_SCORE.search(loss)]
    rank = [loss for loss in losses if RANK_SCORE.search(loss)]
    if not regress or profile.label is None or reading.label_kind not in ("scaled-score", "logit"):
        return
    stats = profile.column(profile.label).stats
    lo, hi = stats["min"], stats["max"]
    verb = "regresses" if len(regress) == 1 else "regress"
    message = (f"scores run from {lo} to {hi}: {', '.join(regress)} {verb} the cosine similarity (at most 1) onto them, so"
               " they must be rescaled to [0, 1]")
    if rank:
        message += f"; {', '.join(rank)} use only the order of the scores, which rescaling keeps"
    for index, found in enumerate(out):
        if found.code == C.SCORE_RANGE:
            out[index] = replace(found, message=message)
            return
    name = clean_name(profile.label)
    out.append(warning(C.SCORE_RANGE, message, f"dataset = dataset.map(lambda row: {{{name!r}: (row[{name!r}] - {lo}) / {hi - lo}}})",
                       columns=[profile.label]))


def _sparse_wrapper(table: LossTable, losses: list[str], out: list[Warning]) -> None:
    family = table.family
    wrapped = [loss for loss in losses if family.wrappers and not table.losses[loss].standalone]
    if not wrapped:
        return
    from lossadvisor.recipe import build_recipe

    recipe = build_recipe(wrapped[0], table)
    others = ", ".join(family.wrappers[1:])
    alone = "its own: it trains" if len(wrapped) == 1 else "their own: each trains"
    out.append(warning(C.WRAPPER, f"{_names(wrapped)} cannot train on {alone} inside {family.wrappers[0]}"
                       f" (the constructions above wrap it){f'; or {others}' if others else ''}"
                       + ("" if "CSRLoss" not in family.wrappers else
                          " (CSRLoss for a model with a SparseAutoEncoder module; CachedSpladeLoss for larger batches)"),
                       f"loss = {recipe.loss_source()}", INFO))


def _asymmetric(profile: Profile, table: LossTable, losses: list[str], out: list[Warning]) -> None:
    """Short queries against long passages: an embedder encodes both with one model unless told which is which."""
    if table.family.num_labels or not losses:
        return  # a CrossEncoder reads the pair jointly
    texts = _text_inputs(profile)
    if len(texts) < 2:
        return
    query = profile.column(texts[0]).stats["mean_words"]
    passages = [profile.column(n).stats["mean_words"] for n in texts[1:]]
    passage = sum(passages) / len(passages)
    if not query or query > SHORT_QUERY_WORDS or passage < ASYMMETRY * query:
        return
    names = [clean_name(n) for n in texts]
    prompts = {names[0]: "query: ", **{n: "passage: " for n in names[1:]}}
    routes = {names[0]: "query", **{n: "document" for n in names[1:]}}
    out.append(warning(
        C.ASYMMETRIC, f"asymmetric data: '{texts[0]}' averages {query:.0f} words, the other texts {passage:.0f}: one"
        f" {table.family.title} encodes both alike unless told which is which; train (and encode) with prompts, or build a"
        f" Router of query and document modules and pass router_mapping={routes!r}",
        training_args_code(table, prompts=repr(prompts)), INFO, columns=texts))


def _matryoshka(table: LossTable, losses: list[str], out: list[Warning]) -> None:
    modifiers = [name for name in table.family.modifiers if "matryoshka_dims" in {p.name for p in table.losses[name].params}]
    if not modifiers or not losses:
        return
    base = table.family.base_model
    known = KNOWN_DIMENSIONS.get(base)
    dims = f" ({base} has {known})" if known else ""
    out.append(warning(C.MATRYOSHKA_DIMS, f"{', '.join(modifiers)} can wrap {losses[0]} to train embeddings that may be cut"
                       f" shorter; matryoshka_dims must not exceed the model's embedding dimension{dims}",
                       f"loss = losses.{modifiers[0]}(model, loss, matryoshka_dims={matryoshka_dims_code()})", INFO))


def matryoshka_dims_code(dims=MATRYOSHKA_DIMS) -> str:
    """Python source for the Matryoshka sizes that never exceed the model's dimension (the model's own first)."""
    return f"[model.get_embedding_dimension()] + [d for d in {list(dims)!r} if d < model.get_embedding_dimension()]"


def matryoshka_dims_problem(dims, dimension: int) -> str | None:
    """Why `dims` cannot train a model of `dimension` (None: they can)."""
    too_large = [d for d in dims if d > dimension]
    if too_large:
        return f"matryoshka_dims {too_large} exceed the model's embedding dimension {dimension}"
    return None


def _teacher_embedding(profile: Profile, reading: Reading, table: LossTable, losses: list[str], out: list[Warning]) -> None:
    if reading.label_kind != "embedding" or profile.label is None or not losses:
        return
    lengths = set(profile.column(profile.label).stats.get("lengths", []))
    dimension = min(lengths)
    known = KNOWN_DIMENSIONS.get(table.family.base_model)
    same = f" ({table.family.base_model} has {known})" if known else ""
    mse = [loss for loss in losses if loss.endswith("MSELoss")]
    message = (f"teacher embeddings of dimension {dimension}: {', '.join(mse) or losses[0]} regress the student's embeddings"
               f" onto them, so the student must have dimension {dimension}{same}")
    severity = "warning" if known is not None and known != dimension and mse else INFO
    out.append(warning(C.EMBEDDING_DIM, message,
                       "assert model.get_embedding_dimension() == len(dataset[0][\"label\"]), \"teacher and student dimensions"
                       " differ: add a Dense layer or pick a student of the teacher's size\"", severity,
                       columns=[profile.label]))


# Shared findings whose wording names the CrossEncoder: said again for another family, by code.
def _reword_for_family(table: LossTable, out: list[Warning]) -> None:
    if table.family.num_labels:
        return
    title = table.family.title
    for index, found in enumerate(out):
        if found.code == C.IMBALANCED and "BinaryCrossEntropyLoss" in found.fix:
            out[index] = replace(found, fix="Nothing to fix for a contrastive loss; report per-class metrics.")
        elif found.code == C.RESERVED_COLUMN:
            out[index] = replace(found, message=found.message.replace("CrossEncoderTrainer", f"{title}Trainer"))
        elif found.code == C.SCORE_RANGE and "BinaryCrossEntropyLoss" in found.message:
            out[index] = replace(found, message=found.message.replace("(BinaryCrossEntropyLoss needs [0, 1])",
                                                                      f"({title} similarity losses expect [0, 1])"))
