"""Which rows of a class label are the positives (and which the negatives) of a pair-class table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lossadvisor.convert._arrow import flat, to_numpy_bool
from lossadvisor.errors import FitError

# NLI datasets (SNLI, MultiNLI, SICK) name their classes this way; entailment is the natural positive.
NLI_POSITIVE = "entailment"


@dataclass(frozen=True)
class ClassSplit:
    positive: np.ndarray  # bool per row
    negative: np.ndarray  # bool per row (never overlapping positive)
    missing: np.ndarray  # bool per row: the label is null
    positive_name: str
    notes: tuple[str, ...]


def _is_id(spec: str | int) -> bool:
    return isinstance(spec, (int, np.integer)) or (isinstance(spec, str) and spec.strip().lstrip("-").isdigit())


def _known_names(label: pa.Array, class_names: tuple[str, ...] | None) -> list[str]:
    if class_names:
        return list(class_names)
    if pa.types.is_string(label.type) or pa.types.is_large_string(label.type):
        return [str(v) for v in pc.unique(pc.drop_null(label)).to_pylist()]
    return []


def _matcher(label: pa.Array, spec: str | int, class_names: tuple[str, ...] | None, role: str) -> tuple[np.ndarray, str]:
    textual = pa.types.is_string(label.type) or pa.types.is_large_string(label.type)
    names = list(class_names) if class_names else []
    if _is_id(spec):
        class_id = int(spec)
        if textual:
            if names and 0 <= class_id < len(names):
                return _matcher(label, names[class_id], None, role)
            return to_numpy_bool(pc.equal(pc.utf8_trim_whitespace(label), str(class_id))), str(class_id)
        if pa.types.is_integer(label.type) or pa.types.is_boolean(label.type) or pa.types.is_floating(label.type):
            values = pc.cast(label, pa.int64()) if pa.types.is_boolean(label.type) else label
            shown = f"{class_id} ({names[class_id]})" if 0 <= class_id < len(names) else str(class_id)
            return to_numpy_bool(pc.equal(values, class_id)), shown
        raise FitError(f"cannot compare a {label.type} label with the {role} class {class_id}")
    wanted = str(spec).strip().lower()
    if textual:
        present = {str(v).strip().lower() for v in pc.unique(pc.drop_null(label)).to_pylist()}
        if wanted not in present:
            raise FitError(
                f"the {role} class '{spec}' does not occur in the labels ({', '.join(sorted(present)[:10])})",
                f"Pass --{role}-class with one of those names.",
            )
        return to_numpy_bool(pc.equal(pc.utf8_lower(pc.utf8_trim_whitespace(label)), wanted)), str(spec)
    lowered = [n.strip().lower() for n in names]
    if wanted in lowered:
        return _matcher(label, lowered.index(wanted), class_names, role)
    if names:
        raise FitError(
            f"the {role} class '{spec}' is not one of the classes ({', '.join(names)})",
            f"Pass --{role}-class with a class name or id.",
        )
    raise FitError(
        f"the labels are numbers without class names, so the {role} class '{spec}' cannot be found",
        f"Pass --{role}-class with the class id, e.g. --{role}-class 0.",
    )


def split_classes(
    label: pa.Array | pa.ChunkedArray,
    positive_class: str | int | None,
    class_names: tuple[str, ...] | None,
    negative_class: str | int | None = None,
    target: str = "triplet",
) -> ClassSplit:
    """Positive rows, negative rows and rows without a label; defaults to 'entailment' when the classes say NLI."""
    label = flat(label)
    notes: list[str] = []
    if positive_class is None:
        names = _known_names(label, class_names)
        lowered = [n.strip().lower() for n in names]
        if NLI_POSITIVE not in lowered:
            from lossadvisor.profile import default_positive_class

            shown = f" (classes: {', '.join(names)})" if names else ""
            raise FitError(
                f"converting pair-class to {target} needs to know which class is the positive one{shown}",
                f"Pass --positive-class with a class name or id, e.g. --positive-class {default_positive_class(names)}.",
            )
        positive_class = names[lowered.index(NLI_POSITIVE)] if class_names is None else lowered.index(NLI_POSITIVE)
        notes.append(f"assumed '{NLI_POSITIVE}' is the positive class (NLI labels); pass --positive-class to choose another")
    positive, positive_name = _matcher(label, positive_class, class_names, "positive")
    missing = ~to_numpy_bool(pc.is_valid(label))
    if negative_class is not None:
        negative, negative_name = _matcher(label, negative_class, class_names, "negative")
        negative &= ~positive
        notes.append(f"negatives come from class {negative_name} only")
    else:
        negative = ~positive & ~missing
    if not positive.any():
        raise FitError(f"no row has the positive class {positive_name}", "Check --positive-class against the labels.")
    return ClassSplit(positive, negative, missing, positive_name, tuple(notes))
