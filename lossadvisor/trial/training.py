"""The trainer around a trial: the model it starts from, its arguments, and what it records at every step."""

from __future__ import annotations

import math
import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lossadvisor.errors import FitError
from lossadvisor.recipe import IN_BATCH_LOSSES
from lossadvisor.trial.options import TrialOptions
from lossadvisor.trial.sampling import Split, sample_split, texts_of

if TYPE_CHECKING:
    from sentence_transformers.cross_encoder import CrossEncoder


def make_recorder(on_step: Callable[[int, float], None] | None):
    from transformers import TrainerCallback

    class LossRecorder(TrainerCallback):
        """Loss and gradient norm at every step; stops at the first non-finite loss."""

        def __init__(self) -> None:
            self.losses: list[float] = []
            self.grad_norms: list[float | None] = []
            self.step_times: list[float] = []
            self.first_bad_step: int | None = None

        def on_step_end(self, args, state, control, **kwargs):
            self.step_times.append(time.perf_counter())

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not logs or "loss" not in logs:
                return
            loss = float(logs["loss"])
            norm = logs.get("grad_norm")
            self.losses.append(loss)
            self.grad_norms.append(float(norm) if norm is not None else None)
            if on_step is not None:
                on_step(state.global_step, loss)
            if not math.isfinite(loss) and self.first_bad_step is None:
                self.first_bad_step = state.global_step
                control.should_training_stop = True

    return LossRecorder()


def reset_peak_rss() -> bool:
    """Linux lets a process reset its own peak RSS (VmHWM); elsewhere the peak covers the whole process."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def peak_rss_mib() -> float:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is KiB on Linux, bytes on macOS.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def window_means(losses: Sequence[float]) -> tuple[float | None, float | None, bool | None]:
    if len(losses) < 4:
        return None, None, None
    width = max(2, len(losses) // 4)
    first = sum(losses[:width]) / width
    last = sum(losses[-width:]) / width
    return first, last, last < first


@dataclass
class Prepared:
    """What run_trial and compare share: the sample, the evaluator rows and the model folders."""

    split: Split
    workdir: Path
    model_folders: dict[int, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what the model is built from, where a family says so


def prepare(table: pa.Table, options: TrialOptions, workdir: Path) -> Prepared:
    return Prepared(split=sample_split(table, options), workdir=workdir)


def load_model(prepared: Prepared, options: TrialOptions, num_labels: int, identity: bool) -> CrossEncoder:
    from lossadvisor.tiny_model import load_local_cross_encoder, save_tiny_model

    if options.model != "tiny":
        return _within_positions(_load_named_model(options, num_labels, identity), options)
    folder = prepared.model_folders.get(num_labels)
    if folder is None:
        split = prepared.split
        texts = texts_of(split.train) + (texts_of(split.eval) if split.eval is not None else [])
        folder = save_tiny_model(texts, num_labels, prepared.workdir / f"tiny-{num_labels}", options.max_length, options.seed)
        prepared.model_folders[num_labels] = folder
    # Every loss of a comparison starts from the same saved weights.
    return load_local_cross_encoder(folder, num_labels, identity, options.max_length)


def _within_positions(model: CrossEncoder, options: TrialOptions) -> CrossEncoder:
    """--max-length no longer than the positions the model was trained with (the tiny model is built to fit it)."""
    from lossadvisor.errors import LossAdvisorError

    config = getattr(model, "config", None) or getattr(getattr(model, "model", None), "config", None)
    limit = getattr(config, "max_position_embeddings", None)
    if isinstance(limit, int) and options.max_length > limit:
        raise LossAdvisorError(f"--max-length {options.max_length:,} is beyond what {options.model} reads ({limit:,} positions)",
                               f"Pass --max-length {limit} or less.")
    return model


def _load_named_model(options: TrialOptions, num_labels: int, identity: bool) -> CrossEncoder:
    """A local folder, or a hub id from the local cache first; the network only when the Hub answers within seconds
    (the hub client would otherwise retry for about a minute before giving up)."""
    import os
    import socket

    from lossadvisor.errors import LossAdvisorError
    from lossadvisor.tiny_model import load_cross_encoder, looks_like_path

    def load(local_files_only: bool) -> CrossEncoder:
        return load_cross_encoder(options.model, [], num_labels, identity, options.max_length, options.seed,
                                  local_files_only=local_files_only, trust_remote_code=options.trust_remote_code)

    if looks_like_path(options.model):
        return load(False)
    try:
        return load(True)
    except LossAdvisorError:
        if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
            raise LossAdvisorError(f"model '{options.model}' is not in the local Hugging Face cache and the Hub is "
                                   "offline (HF_HUB_OFFLINE is set)", "Pass a local model folder, --model tiny, or unset "
                                   "HF_HUB_OFFLINE.") from None
        try:
            socket.create_connection(("huggingface.co", 443), timeout=3).close()
        except OSError:
            raise LossAdvisorError(f"model '{options.model}' is not in the local Hugging Face cache and the Hub cannot "
                                   "be reached (offline?)", "Pass a local model folder or --model tiny, or check "
                                   "your network.") from None
    return load(False)


def _checkpointing_argument(enabled: bool) -> dict[str, bool]:
    """transformers 5 renamed gradient_checkpointing to activation_checkpointing (the old name warns)."""
    if not enabled:
        return {}
    from transformers import TrainingArguments

    fields = getattr(TrainingArguments, "__dataclass_fields__", {})
    return {"activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing": True}


def training_args(options: TrialOptions, output_dir: Path, batch_size: int, loss_name: str, args_class=None,
                  sampler: str | None = None):
    """The family's TrainingArguments (CrossEncoder's by default) with the trial's settings; `sampler` by value."""
    import torch

    if args_class is None:
        from sentence_transformers.cross_encoder import CrossEncoderTrainingArguments as args_class
    if sampler is None:
        sampler = "no_duplicates" if loss_name in IN_BATCH_LOSSES else "batch_sampler"

    settings: dict[str, Any] = dict(
        output_dir=str(output_dir),
        max_steps=options.steps,
        per_device_train_batch_size=batch_size,
        learning_rate=options.learning_rate,
        warmup_steps=0,
        logging_strategy="steps",
        logging_steps=1,
        # Without this the trainer hides a NaN step behind the mean of the previous ones.
        logging_nan_inf_filter=False,
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=options.seed,
        data_seed=options.seed,
        bf16=options.bf16,
        fp16=options.fp16,
        dataloader_pin_memory=False,
        # The sampler by value: its enum moved between sentence-transformers 5 and 6.
        batch_sampler=sampler,
        **_checkpointing_argument(options.gradient_checkpointing),
    )
    if options.bf16 and not torch.cuda.is_available():
        # bf16 without CUDA runs as CPU autocast, which transformers accepts only when told so.
        settings["use_cpu"] = True
    try:
        return args_class(**settings)
    except ValueError as exc:
        raise FitError(f"the trainer refused these settings: {str(exc).strip().splitlines()[0]}", None) from None



# --------------------------------------------------------------------------------------------- rows for the loss

# DenoisingAutoEncoderDataset's noise: each word is deleted with probability 0.6 (at least one word is kept).
DELETE_RATIO = 0.6
# ContrastiveTensionDataLoader's default: one positive (a text with itself) in every 8 pairs.
CT_POS_NEG_RATIO = 8


def damage(text: str, rng) -> str:
    """The text with words deleted at random, as DenoisingAutoEncoderDataset.delete does (without its nltk tokeniser)."""
    words = text.split()
    if len(words) <= 1:
        return text
    kept = [word for word in words if rng.random() > DELETE_RATIO]
    return " ".join(kept or [words[int(rng.integers(len(words)))]])


def prepared_rows(table: pa.Table, format_name: str, loss_name: str, seed: int) -> tuple[pa.Table, str | None]:
    """The training rows as the loss reads them, and a note when they were changed: DenoisingAutoEncoderLoss on single
    texts trains on (damaged, original) pairs, the damage made in memory."""
    import numpy as np

    from lossadvisor.trial.data_checks import input_columns

    inputs = input_columns(table)
    if len(inputs) != 1:
        return table, None
    if loss_name == "ContrastiveTensionLoss":
        texts = table.column(inputs[0]).to_pylist()
        second = [text if i % CT_POS_NEG_RATIO == 0 else texts[(i + 1) % len(texts)] for i, text in enumerate(texts)]
        note = (f"{loss_name} trains on (sentence, sentence) pairs: one in {CT_POS_NEG_RATIO} pairs a text with itself "
                "(a positive), the others with another text, made in memory as ContrastiveTensionDataLoader does")
        return table.append_column("other", pa.array(second, pa.string())), note
    if loss_name != "DenoisingAutoEncoderLoss":
        return table, None
    rng = np.random.default_rng(seed)
    damaged = [damage(text, rng) for text in table.column(inputs[0]).to_pylist()]
    note = (f"{loss_name} trains on (damaged, original) pairs: each text was damaged in memory by deleting "
            f"{DELETE_RATIO:.0%} of its words, as DenoisingAutoEncoderDataset does")
    return table.add_column(0, "damaged", pa.array(damaged, pa.string())), note


# The hub id of the guide model the table names for GISTEmbedLoss, and the installed copy that stands for it.
GUIDE_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"


def guide_location(name: str) -> str:
    """Where a model named in a loss parameter loads from: the installed offline all-MiniLM-L6-v2 for its hub id."""
    from lossadvisor.tiny_model import installed_base

    if name == GUIDE_HUB_ID:
        return installed_base() or name
    return name


def weights_of(model) -> list:
    """A copy of the model's parameters, to measure how far training moved them."""
    return [parameter.detach().clone() for parameter in model.parameters()]


def weight_distance(before: list, model) -> float | None:
    """L2 norm of (weights now - `before`) over every parameter; None when the parameters no longer line up."""
    after = list(model.parameters())
    if len(after) != len(before):
        return None
    total = 0.0
    for old, new in zip(before, after):
        if old.shape != new.shape:
            return None
        total += float(((new.detach().float() - old.float().to(new.device)) ** 2).sum())
    return total ** 0.5
