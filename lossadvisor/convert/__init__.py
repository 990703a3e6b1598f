"""`lossadvisor convert`: reshape a table from one canonical format to another, mine negatives, add teacher labels.

Public API (imported lazily, so that `import lossadvisor.convert` costs nothing until used):

    plan_conversion(loss_table, source_format, target_format, options) -> list[Conversion]
    run_conversion(table, source_format, target_format, loss_table=None, options=None, progress=None) -> ConversionResult
    write_output(table, out, overwrite=False, metadata=None, *, protect=()) -> WriteResult
    check_output(out, overwrite=False, protect=()) -> Path
    METHODS: dict[str, Callable]  (by data_formats.yaml's method names)
    ConvertOptions, StepResult, ConversionResult, WriteResult, rich_progress()
    drop_empty_texts, drop_duplicates, normalize_scores, map_class_names  (tidy helpers for --fix)
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "ConvertOptions": "options",
    "StepResult": "options",
    "ConversionResult": "options",
    "plan_conversion": "plan",
    "run_conversion": "plan",
    "METHODS": "methods",
    "write_output": "writer",
    "check_output": "writer",
    "output_kind": "writer",
    "WriteResult": "writer",
    "rich_progress": "progress",
    "drop_empty_texts": "clean",
    "drop_duplicates": "clean",
    "normalize_scores": "clean",
    "map_class_names": "clean",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"lossadvisor.convert.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'lossadvisor.convert' has no attribute '{name}'")
