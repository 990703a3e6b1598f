"""A user's own loss class: imported only when asked, and checked against what the trainer needs."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lossadvisor.errors import FitError
from lossadvisor.recipe import LABEL
from lossadvisor.signals import Terminated
from lossadvisor.table import LossTable
from lossadvisor.trial.data_checks import infer_num_labels
from lossadvisor.trial.options import RequirementCheck
from lossadvisor.trial.sampling import texts_of, to_dataset

if TYPE_CHECKING:
    from sentence_transformers.cross_encoder import CrossEncoder

_NO_EXIT = "A loss module should raise an exception, not call sys.exit()."


def load_custom_loss(spec: str) -> type:
    """`path/to/file.py:ClassName` or `package.module:ClassName`; the code is imported only now."""
    if ":" not in spec:
        raise FitError(f"custom loss '{spec}' needs the form path/to/file.py:ClassName or package.module:ClassName", None)
    where, _, class_name = spec.rpartition(":")
    if not class_name.isidentifier():
        raise FitError(f"'{class_name}' is not a class name (in custom loss '{spec}')", None)
    if where.endswith(".py") or "/" in where or "\\" in where:
        path = Path(where).expanduser()
        if not path.is_file():
            raise FitError(f"custom loss file {where} does not exist", None)
        digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
        module_name = f"lossadvisor_custom_{path.stem}_{digest}"
        module_spec = importlib.util.spec_from_file_location(module_name, path)
        if module_spec is None or module_spec.loader is None:
            raise FitError(f"cannot import {where} as Python code", None)
        module = importlib.util.module_from_spec(module_spec)
        # Registered before execution: dataclasses and pickling look the module up by name.
        sys.modules[module_name] = module
        try:
            module_spec.loader.exec_module(module)
        except Terminated:
            raise
        except SystemExit as exc:  # user code: sys.exit() is its failure, not the end of lossadvisor
            sys.modules.pop(module_name, None)
            raise FitError(f"importing {where} failed: it called sys.exit({exc.code!r})", _NO_EXIT) from None
        except Exception as exc:
            sys.modules.pop(module_name, None)
            raise FitError(f"importing {where} failed: {type(exc).__name__}: {exc}", None) from None
    else:
        try:
            module = importlib.import_module(where)
        except Terminated:
            raise
        except SystemExit as exc:
            raise FitError(f"importing module '{where}' failed: it called sys.exit({exc.code!r})", _NO_EXIT) from None
        except ImportError as exc:
            raise FitError(f"cannot import module '{where}': {exc}", "Is it installed, or on PYTHONPATH?") from None
    cls = getattr(module, class_name, None)
    if cls is None:
        found = sorted(name for name, value in vars(module).items() if inspect.isclass(value))
        raise FitError(f"{where} has no class '{class_name}'", f"Classes there: {', '.join(found) or 'none'}.")
    if not inspect.isclass(cls):
        raise FitError(f"'{class_name}' in {where} is not a class", None)
    return cls


def build_custom_loss(cls: type, model: CrossEncoder) -> Any:
    """cls(model), with sys.exit() in the user's constructor reported as the loss's failure (exit 2)."""
    try:
        return cls(model)
    except Terminated:
        raise
    except SystemExit as exc:
        raise FitError(f"custom loss {cls.__name__}(model) called sys.exit({exc.code!r})", _NO_EXIT) from None


def _example_table(format_name: str, loss_table: LossTable) -> pa.Table:
    """Two rows built from the format's example in the table: enough for one forward pass."""
    example = dict(loss_table.format(format_name).example)
    label_key = next((key for key in ("label", "labels", "score") if key in example), None)
    columns = {key: [value, value] for key, value in example.items() if key != label_key}
    if label_key is not None:
        columns[LABEL] = [example[label_key], example[label_key]]
    return pa.table(columns)


def _one_batch(model: CrossEncoder, table: pa.Table, rows: int = 2) -> tuple[list[Any], Any]:
    """The (inputs, labels) the trainer would hand the loss, from the first rows, built the trainer's way."""
    from sentence_transformers.cross_encoder.data_collator import CrossEncoderDataCollator

    dataset = to_dataset(table.slice(0, rows))
    batch = CrossEncoderDataCollator(preprocess_fn=model.preprocess)([dataset[i] for i in range(len(dataset))])
    labels = batch.pop("label", None)
    return list(batch.values()), labels


def check_custom_loss(
    cls: type,
    table: pa.Table | None = None,
    format_name: str = "labeled-pair",
    loss_table: LossTable | None = None,
    model: CrossEncoder | None = None,
) -> list[RequirementCheck]:
    """What the trainer needs from a loss class, each checked; forward is really called on one tiny batch."""
    import torch

    from lossadvisor.table import load_table

    loss_table = loss_table or load_table()
    checks: list[RequirementCheck] = []
    name = getattr(cls, "__name__", repr(cls))
    is_module = inspect.isclass(cls) and issubclass(cls, torch.nn.Module)
    checks.append(
        RequirementCheck(
            "subclass of torch.nn.Module",
            is_module,
            f"{name} derives from torch.nn.Module" if is_module else f"{name} does not derive from torch.nn.Module",
        )
    )
    try:
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    except (TypeError, ValueError):
        parameters = []
    first = parameters[0].name if parameters else None
    model_first = first == "model"
    checks.append(
        RequirementCheck(
            "`model` is the first constructor argument",
            model_first,
            "the trainer rebuilds the loss around a wrapped model through this argument"
            if model_first
            else f"the first argument is {first!r}"
            if first
            else "the constructor takes no arguments",
        )
    )
    required_extra = [
        p.name
        for p in parameters[1:]
        if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    forward = getattr(cls, "forward", None)
    forward_params = list(inspect.signature(forward).parameters.values())[1:] if callable(forward) else []
    positional = [p for p in forward_params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    takes_two = len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in forward_params)
    checks.append(
        RequirementCheck(
            "forward(inputs, labels)",
            takes_two,
            "forward takes the list of input columns and the labels"
            if takes_two
            else f"forward takes ({', '.join(p.name for p in forward_params)}); the trainer calls loss(inputs, labels)",
        )
    )
    checks.append(
        _call_check(cls, is_module and model_first and takes_two, required_extra, table, format_name, loss_table, model)
    )
    return checks + _optional_checks(cls)


def _optional_checks(cls: type) -> list[RequirementCheck]:
    """What the model card uses when present; never a reason to refuse the loss."""
    import torch

    config = getattr(cls, "get_config_dict", None)
    own_config = callable(config) and config is not getattr(torch.nn.Module, "get_config_dict", None)
    has_citation = "citation" in dir(cls)
    return [
        RequirementCheck(
            "get_config_dict()",
            True,
            "present: the model card lists the loss parameters"
            if own_config
            else "absent (optional): the model card will list no loss parameters",
            required=False,
        ),
        RequirementCheck(
            "citation",
            True,
            "present: the model card cites it" if has_citation else "absent (optional): the model card cites nothing",
            required=False,
        ),
    ]


def _call_check(
    cls: type,
    callable_shape: bool,
    required_extra: list[str],
    table: pa.Table | None,
    format_name: str,
    loss_table: LossTable,
    model: CrossEncoder | None,
) -> RequirementCheck:
    import torch

    title = "forward returns a tensor or a dict of tensors"
    if not callable_shape:
        return RequirementCheck(title, False, "not called: the checks above must pass first")
    if required_extra:
        return RequirementCheck(
            title, False, f"not called: the constructor also requires {', '.join(required_extra)} without defaults"
        )
    fmt = loss_table.resolve_format(format_name)
    sample = table if table is not None else _example_table(fmt, loss_table)
    if model is None:
        from lossadvisor.tiny_model import build_tiny_cross_encoder

        num_labels = infer_num_labels("CrossEntropyLoss", sample, loss_table) if fmt == "pair-class" else 1
        model = build_tiny_cross_encoder(texts_of(sample), num_labels, identity_activation=False)
    try:
        loss = cls(model)
        inputs, labels = _one_batch(model, sample)
        output = loss(inputs, labels)
    except Terminated:
        raise
    except SystemExit as exc:
        return RequirementCheck(title, False, f"calling it on one {fmt} batch called sys.exit({exc.code!r})")
    except Exception as exc:
        return RequirementCheck(title, False, f"calling it on one {fmt} batch raised {type(exc).__name__}: {exc}")
    values = list(output.values()) if isinstance(output, dict) else [output]
    if not values or not all(isinstance(value, torch.Tensor) for value in values):
        return RequirementCheck(title, False, f"it returned {type(output).__name__}, not a tensor or dict of tensors")
    if not all(value.numel() == 1 for value in values):
        shapes = ", ".join(str(tuple(value.shape)) for value in values)
        return RequirementCheck(title, False, f"it returned shape {shapes}; the trainer needs one number per loss")
    if not all(value.requires_grad for value in values):
        return RequirementCheck(title, False, "the result does not depend on the model (no gradient): nothing trains")
    kind = "a dict of " + str(len(values)) + " tensors" if isinstance(output, dict) else "a scalar tensor"
    return RequirementCheck(title, True, f"one {fmt} batch gave {kind} ({float(sum(v.item() for v in values)):.4g})")
