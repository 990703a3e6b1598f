"""`open_sample`: the schema and a bounded sample of any source, with pyarrow (no `datasets` import, no full scan)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from lossadvisor.errors import SourceError
from lossadvisor.sources.base import SAMPLE_ROWS, Sample, _class_names, _class_names_from_schema
from lossadvisor.sources.hub import _hub_sample
from lossadvisor.sources.jsonfile import _json_records, _records_to_table, flatten_nested
from lossadvisor.sources.local import _arrow_sample, _parquet_sample, _save_to_disk_files, _save_to_disk_split
from lossadvisor.sources.nested import flatten_fields
from lossadvisor.sources.spec import resolve_files
from lossadvisor.sources.text import _text_sample


def open_sample(spec: str, split: str | None = None, subset: str | None = None, limit: int = SAMPLE_ROWS) -> Sample:
    sample = _open(spec, split, subset, limit)
    if sample.kind in ("parquet", "arrow", "save_to_disk", "json", "csv"):
        from lossadvisor.sources.ids import ids_error

        error = ids_error(spec, sample.table)  # ids whose texts are in other files: say which, and how to join them
        if error is not None:
            raise error
    return sample


def _open(spec: str, split: str | None, subset: str | None, limit: int) -> Sample:
    kind, files = resolve_files(spec)
    if kind == "hub":
        return _finish(_hub_sample(spec, split, subset, limit))
    if kind == "beir":
        return _beir_sample(spec, split, limit)
    if kind == "ids":
        return _ids_sample(spec, split, limit)
    if kind == "parallel":
        from lossadvisor.sources.parallel import names_of, parallel_table

        if split not in (None, "train"):
            raise SourceError(f"{spec}: local files have one split, 'train' (got --split {split})")
        table = parallel_table(files, limit)
        total = sum(1 for _ in open(files[0], "rb"))
        note = ("parallel-files", "line-aligned files read as columns (line i of each is row i): "
                + ", ".join(f"{n} ← {Path(f).name}" for n, f in zip(names_of(files), files)) + f"; {total:,} lines each")
        return Sample(spec, kind, table, total, tuple(files), "train", ("train",), reading_notes=(note,))
    if subset is not None:
        raise SourceError("--subset applies to hub datasets only")
    if kind == "save_to_disk":
        folder, chosen, splits = _save_to_disk_split(Path(files[0]), split)
        data_files = _save_to_disk_files(folder)
        table, total, schema = _arrow_sample(data_files, limit)
        class_names = _class_names_from_schema(schema) or _class_names_from_info(folder)
        return _finish(Sample(spec, kind, table, total, tuple(data_files), chosen, splits, class_names))
    if split not in (None, "train"):
        raise SourceError(f"{spec}: local files have one split, 'train' (got --split {split})")
    if kind == "parquet":
        table, total, stats = _parquet_sample(files, limit)
        return _finish(Sample(spec, kind, table, total, tuple(files), "train", ("train",),
                              _class_names_from_schema(table.schema), column_stats=stats))
    if kind == "arrow":
        table, total, schema = _arrow_sample(files, limit)
        return _finish(Sample(spec, kind, table, total, tuple(files), "train", ("train",), _class_names_from_schema(schema)))
    if kind == "json":
        records, total, json_field, notes = _json_records(files[0], limit)
        table = _records_to_table(records, files[0])
        if len(files) > 1:
            total = None
            _check_json_shards(table.schema, files)
        return _finish(Sample(spec, kind, table, total, tuple(files), "train", ("train",), json_field=json_field,
                              reading_notes=tuple(notes)))
    table, total, dialect, notes = _text_sample(files, limit)
    return _finish(Sample(spec, kind, table, total, tuple(files), "train", ("train",), dialect=dialect,
                          reading_notes=tuple(notes)))


# Other JSON Lines files of a folder or glob: the head of each (this many of them) must agree with the sample's types.
SHARD_HEAD_BYTES = 64 * 1024
SHARDS_CHECKED = 200


def _check_json_shards(schema, files: list[str]) -> None:
    """Drifting shards (an int label in one file, a string in another) are found by inspect, not by convert later."""
    from lossadvisor.sources.local import _concat

    schemas, names = [schema], [files[0]]
    for path in files[1:SHARDS_CHECKED]:
        try:
            with open(path, "rb") as handle:
                head = handle.read(SHARD_HEAD_BYTES)
        except OSError:
            continue
        if not head.lstrip().startswith(b"{"):
            continue  # a whole-JSON document: read with the rest
        records = []
        for line in head.split(b"\n")[:-1] if len(head) == SHARD_HEAD_BYTES else head.split(b"\n"):
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if isinstance(record, dict):
                records.append(record)
        if records:
            try:
                schemas.append(_records_to_table(records, path).schema)
                names.append(path)
            except SourceError:
                continue
    if len(schemas) > 1:
        _concat([s.empty_table() for s in schemas], names)


def _ids_sample(spec: str, split: str | None, limit: int) -> Sample:
    """The ids file's sample, its ids resolved into the texts of the queries and corpus files."""
    from lossadvisor.sources.ids import ids_layout, resolve_note, resolve_table

    layout = ids_layout(spec)
    assert layout is not None
    inner = _open(str(layout["ids"]), split, None, limit)
    table, counts = resolve_table(inner.table, layout)
    total = table.num_rows if inner.exhaustive else inner.num_rows
    files = (str(layout["ids"]), str(layout["queries"]), str(layout["corpus"]))
    from lossadvisor.checks import load_code

    info = {"counts": counts, "ids_load": load_code(inner)}
    return replace(inner, spec=spec, kind="ids", table=table, num_rows=total, files=files, flattened=(), fields_flattened=(),
                   schema_before=None, column_stats={}, class_names={}, source_info=info,
                   reading_notes=inner.reading_notes + (("resolved-ids", resolve_note(layout, counts)),))


def _beir_sample(spec: str, split: str | None, limit: int) -> Sample:
    from lossadvisor.sources.beir import beir_layout, beir_table, choose_split

    layout = beir_layout(spec)
    assert layout is not None
    chosen, splits = choose_split(layout, split)
    table, counts = beir_table(layout, chosen)
    dropped = counts["missing_query"] + counts["missing_doc"]
    message = (f"a BEIR/MTEB retrieval layout: {layout['corpus'].name} + {layout['queries'].name} + qrels"
               f" ({', '.join(splits)}); joined qrels '{chosen}': {counts['joined']} judgments of {counts['queries']} queries"
               + (f", {dropped} dropped (query or document not found)" if dropped else "")
               + (f"; title prepended to the text ('title text', as BEIR does) for {counts['titled']:,} of"
                  f" {counts['documents']:,} documents" if counts["titled"] else "")
               + ("; graded scores kept as the label" if "label" in table.column_names else
                  "; every judgment is a positive: (query, positive) pairs, negatives to mine from the corpus"))
    files = (str(layout["corpus"]), str(layout["queries"]), str(layout["qrels"][chosen]))
    return Sample(spec, "beir", table.slice(0, limit), table.num_rows, files, chosen, splits,
                  reading_notes=(("beir-folder", message),))


def _finish(sample: Sample) -> Sample:
    stored = sample.table.schema
    table, fields = flatten_fields(sample.table)
    if fields:
        names = ", ".join(n for n in table.column_names if n.split(".")[0] in fields)
        note = ("nested-fields", f"nested fields read as columns: {names}")
        sample = replace(sample, table=table, fields_flattened=fields, schema_before=stored,
                         reading_notes=sample.reading_notes + (note,))
    table, path = flatten_nested(sample.table)
    if not path:
        return sample
    note = ("nested-records", f"nested records flattened: {' → '.join(path)} (one row per innermost record)")
    return replace(sample, table=table, num_rows=table.num_rows if sample.exhaustive else None, flattened=path,
                   reading_notes=sample.reading_notes + (note,))


def _class_names_from_info(folder: Path) -> dict[str, list[str]]:
    try:
        info = json.loads((folder / "dataset_info.json").read_text())
    except (OSError, ValueError, RecursionError):
        return {}
    return _class_names(info.get("features", {}) if isinstance(info, dict) else {})
