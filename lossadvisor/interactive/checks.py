"""Validators for the answers, fresh output paths, and which goal a loss or a conversion serves."""

from __future__ import annotations

import glob
import re
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from lossadvisor.interactive.prompts import Validator

if TYPE_CHECKING:
    from lossadvisor.advice import ConversionOffer, Recommendation

GOALS = ("reranker", "classifier", "distill")
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
DATA_SUFFIXES = {".csv", ".tsv", ".txt", ".json", ".jsonl", ".parquet", ".arrow"}


def check_dataset(text: str) -> Optional[str]:
    """Accept an existing path, a glob that matches, or something shaped like a hub id (org/name)."""
    text = text.strip()
    if not text:
        return "Enter a file, a folder, a glob or a hub id (org/name)."
    path = Path(text).expanduser()
    if path.exists():
        return None
    if any(ch in text for ch in "*?[") and glob.glob(str(path)):
        return None
    if HUB_ID.match(text) and path.suffix.lower() not in DATA_SUFFIXES and not text.startswith((".", "/", "~")):
        return None
    return f"No such file or folder: {text}"


def parse_score_range(text: str) -> tuple[float, float] | None:
    try:
        lo, hi = (float(part) for part in text.split(":"))
    except ValueError:
        return None
    return (lo, hi) if hi > lo else None


def check_range(text: str) -> Optional[str]:
    return None if parse_score_range(text) else "Write LOW:HIGH with LOW below HIGH, e.g. 0:5."


def check_int(low: int, high: int) -> Validator:
    def check(text: str) -> Optional[str]:
        if not text.strip().isdigit() or not low <= int(text) <= high:
            return f"Enter a whole number from {low} to {high}."
        return None

    return check


def check_output(text: str) -> Optional[str]:
    if not text.strip():
        return "Enter a path."
    parent = Path(text).expanduser().absolute().parent
    if not parent.is_dir():
        return f"The folder {parent} does not exist."
    return None


def check_teacher(text: str) -> Optional[str]:
    if text.strip() and text.startswith((".", "/", "~")) and not Path(text).expanduser().exists():
        return f"No such folder: {text}"
    return None


def fresh_path(name: str) -> str:
    """`name`, or `name-2`, `name-3`, … (before the suffix): a path that does not exist yet."""
    path = Path(name)
    if not path.exists():
        return name
    for n in range(2, 1000):
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        if not candidate.exists():
            return str(candidate)
    return name


def goal_of(rec: Recommendation) -> str:
    if rec.distillation:
        return "distill"
    if any(param["name"] == "num_labels" for param in rec.params):  # a loss with its own classifier (SoftmaxLoss)
        return "classifier"
    if rec.num_labels == "num_classes" or (isinstance(rec.num_labels, int) and rec.num_labels > 1):
        return "classifier"
    return "reranker"


def offer_goal(offer: ConversionOffer) -> str:
    return "distill" if "teacher" in offer.needs else "reranker"


def fmt_range(lo: float, hi: float) -> str:
    return f"{lo:g}:{hi:g}"
