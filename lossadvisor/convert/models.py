"""Load the models a conversion may use, from local files only: nothing is ever downloaded here."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lossadvisor.errors import FitError


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """transformers warns about freshly initialised heads and draws its own bars; the CLI draws ours."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    st_logger = logging.getLogger("sentence_transformers")
    level = st_logger.level
    st_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
        st_logger.setLevel(level)


@contextlib.contextmanager
def no_tqdm() -> Iterator[None]:
    """Upstream mining draws tqdm bars it offers no switch for; they would tear through ours (and --json).

    Every tqdm class ends in tqdm.std.tqdm.__init__, so forcing disable=True there silences them all, for
    the duration of the block only.
    """
    try:
        import tqdm.std as tqdm_std
    except ImportError:
        yield
        return
    original = tqdm_std.tqdm.__init__

    def silent(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["disable"] = True
        original(self, *args, **kwargs)

    tqdm_std.tqdm.__init__ = silent
    try:
        yield
    finally:
        tqdm_std.tqdm.__init__ = original


@contextlib.contextmanager
def tqdm_into(task: Any) -> Iterator[None]:
    """Upstream's tqdm bars drawn to nowhere but counted into our own progress task, so that a long upstream step
    (dense mining's encoding and search) shows it is moving. Counts arrive as tqdm refreshes (every half second)
    and the rest when a bar closes."""
    try:
        import tqdm.std as tqdm_std
    except ImportError:
        yield
        return
    import os

    cls = tqdm_std.tqdm
    original = cls.__init__, cls.update, cls.close
    sink = open(os.devnull, "w")  # noqa: SIM115  (closed below)

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.update(disable=False, file=sink, mininterval=0.5)
        original[0](self, *args, **kwargs)
        self._lossadvisor_counted = 0

    def forward(self: Any) -> None:
        done = int(getattr(self, "n", 0) or 0) - getattr(self, "_lossadvisor_counted", 0)
        if done > 0:
            task.advance(done)
            self._lossadvisor_counted += done

    def update(self: Any, n: float = 1) -> Any:
        result = original[1](self, n)
        forward(self)
        return result

    def close(self: Any) -> Any:
        forward(self)
        return original[2](self)

    cls.__init__, cls.update, cls.close = init, update, close
    try:
        yield
    finally:
        cls.__init__, cls.update, cls.close = original
        sink.close()


def describe(model: Any) -> str:
    if isinstance(model, (str, Path)):
        return str(model)
    card = getattr(getattr(model, "model_card_data", None), "base_model", None)
    return str(card or type(model).__name__)


def _load(kind: str, spec: Any, role: str, flag: str, trust_remote_code: bool = False) -> Any:
    if not isinstance(spec, (str, Path)):
        return spec  # an already loaded model (tests, library users)
    if kind == "bi":
        from sentence_transformers import SentenceTransformer as cls
    elif kind == "sparse":
        from sentence_transformers.sparse_encoder import SparseEncoder as cls
    else:
        from sentence_transformers.cross_encoder import CrossEncoder as cls
    name = str(spec)
    path = Path(name).expanduser()
    looks_local = path.exists() or name.startswith((".", "/", "~"))
    if looks_local and not path.is_dir():
        raise FitError(f"{role} model folder {name} does not exist", f"Pass {flag} a folder written by save_pretrained.")
    from lossadvisor.tiny_model import check_weights, model_kwargs

    if looks_local:
        check_weights(path, trust_remote_code)
    try:
        with _quiet():
            # local_files_only: a hub id is read from the local Hugging Face cache, never fetched.
            return cls(str(path) if looks_local else name, local_files_only=True, **model_kwargs(trust_remote_code))
    except (OSError, ValueError, RuntimeError) as exc:
        hint = (
            "The folder needs the model's config, weights (safetensors unless --trust-remote-code) and tokenizer files."
            if looks_local
            else f"Nothing is downloaded during convert: fetch it once (`hf download {name}`) or pass a local folder;"
            " a model without safetensors weights loads only with --trust-remote-code."
        )
        raise FitError(f"cannot load {role} model '{name}' from local files: {_first_line(exc)}", hint) from None


def load_sentence_transformer(spec: Any, trust_remote_code: bool = False) -> Any:
    return _load("bi", spec, "miner", "--model", trust_remote_code)


def teacher_kind(spec: Any) -> str:
    """'cross' (a CrossEncoder: scores pairs), 'dense' (a SentenceTransformer) or 'sparse' (a SparseEncoder): read
    from a loaded model's methods, or from a local folder's sentence-transformers files (a hub id: its cached copy)."""
    if not isinstance(spec, (str, Path)):
        if "Sparse" in type(spec).__name__:
            return "sparse"
        return "dense" if hasattr(spec, "similarity_pairwise") and not hasattr(spec, "predict") else "cross"
    folder = Path(str(spec)).expanduser()
    if not folder.is_dir():
        folder = _cached_snapshot(str(spec)) or folder
    from lossadvisor.families import saved_model_class

    held = saved_model_class(folder)
    return {"CrossEncoder": "cross", "SparseEncoder": "sparse", None: "cross"}.get(held, "dense")


def _cached_snapshot(hub_id: str) -> Path | None:
    import os

    root = Path(os.environ.get("HF_HUB_CACHE") or Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub")
    snapshots = root / ("models--" + hub_id.replace("/", "--")) / "snapshots"
    found = sorted(snapshots.iterdir()) if snapshots.is_dir() else []
    return found[-1] if found else None


def load_embedder(spec: Any, role: str = "teacher", flag: str = "--teacher", trust_remote_code: bool = False) -> Any:
    """A SentenceTransformer or a SparseEncoder, whichever the folder holds."""
    return _load("sparse" if teacher_kind(spec) == "sparse" else "bi", spec, role, flag, trust_remote_code)


def load_teacher(spec: Any, trust_remote_code: bool = False) -> Any:
    """The teacher, as whichever model class its folder holds (CrossEncoder, SentenceTransformer, SparseEncoder)."""
    if teacher_kind(spec) == "cross":
        return load_cross_encoder(spec, trust_remote_code=trust_remote_code)
    return load_embedder(spec, trust_remote_code=trust_remote_code)


def load_cross_encoder(spec: Any, role: str = "teacher", flag: str = "--teacher", trust_remote_code: bool = False) -> Any:
    return _load("cross", spec, role, flag, trust_remote_code)


def predict_pairs(
    model: Any, pairs: list[tuple[str, str]], batch_size: int, raw: bool, progress_task: Any = None, chunk: int = 2048
) -> Any:
    """CrossEncoder scores for (query, document) pairs, in chunks so that a progress bar can move.

    raw=True asks for logits: a one-label CrossEncoder applies Sigmoid by default, which squashes the
    differences that margins and listwise distillation need.
    """
    import inspect

    import numpy as np

    kwargs: dict[str, Any] = {}
    try:
        parameters = inspect.signature(model.predict).parameters
    except (TypeError, ValueError):
        parameters = {}
    if "batch_size" in parameters:
        kwargs["batch_size"] = batch_size
    if "show_progress_bar" in parameters:
        kwargs["show_progress_bar"] = False
    if raw and "activation_fn" in parameters:
        import torch

        kwargs["activation_fn"] = torch.nn.Identity()
    out = []
    for start in range(0, len(pairs), chunk):
        scores = np.asarray(model.predict(pairs[start : start + chunk], **kwargs), dtype=np.float64)
        if scores.ndim > 1 and scores.shape[-1] != 1:
            raise FitError(
                f"the model {describe(model)} gives {scores.shape[-1]} scores per pair; a teacher or rescorer needs 1",
                "Use a CrossEncoder with num_labels=1 (a reranker), e.g. a cross-encoder/ms-marco-* model.",
            )
        out.append(scores.reshape(-1))
        if progress_task is not None:
            progress_task.advance(len(pairs[start : start + chunk]))
    return np.concatenate(out) if out else np.zeros(0)
