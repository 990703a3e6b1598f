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


def training_args(options: TrialOptions, output_dir: Path, batch_size: int, loss_name: str):
    import torch
    from sentence_transformers.cross_encoder import CrossEncoderTrainingArguments

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
        batch_sampler="no_duplicates" if loss_name in IN_BATCH_LOSSES else "batch_sampler",
        **_checkpointing_argument(options.gradient_checkpointing),
    )
    if options.bf16 and not torch.cuda.is_available():
        # bf16 without CUDA runs as CPU autocast, which transformers accepts only when told so.
        settings["use_cpu"] = True
    try:
        return CrossEncoderTrainingArguments(**settings)
    except ValueError as exc:
        raise FitError(f"the trainer refused these settings: {str(exc).strip().splitlines()[0]}", None) from None

