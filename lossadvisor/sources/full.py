"""`read_table`: the whole dataset, read the way its sample was and typed by the sample's schema.

One reader: the full read of a text file keeps every cell a string and then applies the sample's column types
(`schema.conform`), the same parse the sample used; JSON, parquet and Arrow are conformed to the sample's schema too.
So `inspect` (the sample) and `convert`/`trial` (the full read) see the same types, however large the file.
"""

from __future__ import annotations

import json

import pyarrow as pa

from lossadvisor.errors import SourceError
from lossadvisor.sources.base import SAMPLE_ROWS, Sample, TextDialect, _short
from lossadvisor.sources.jsonfile import _checked, _records_to_table, _too_deep, flatten_nested
from lossadvisor.sources.local import _arrow_reader, _concat, parquet_batches
from lossadvisor.sources.nested import flatten_fields
from lossadvisor.sources.schema import conform, rows_to_strings, string_array
from lossadvisor.sources.text import _parse_rows


def read_table(sample: Sample) -> pa.Table:
    """The whole dataset, read the way the sample was (same dialect, field, flattening) and with its schema."""
    kind, files = sample.kind, list(sample.files)
    if sample.exhaustive and not sample.flattened and not sample.fields_flattened:
        return sample.table
    if kind == "parallel":
        from lossadvisor.sources.parallel import parallel_table

        return conform(parallel_table(files), sample.table.schema, sample.spec)
    if kind == "beir":
        from lossadvisor.sources.beir import beir_layout, beir_table

        return beir_table(beir_layout(sample.spec), sample.split)[0]
    if kind == "ids":
        from lossadvisor.sources.ids import ids_layout, resolve_table
        from lossadvisor.sources.sample import _open

        layout = ids_layout(sample.spec)
        inner = _open(str(layout["ids"]), sample.split if sample.split != "train" else None, None, SAMPLE_ROWS)
        return conform(resolve_table(read_table(inner), layout)[0], sample.table.schema, sample.spec)
    if kind == "hub":
        raise SourceError("hub datasets are read through a local copy: use datasets.load_dataset(...).save_to_disk(PATH)")
    try:
        if kind == "parquet":
            table = _concat([_read_parquet_all(f) for f in files], files)
        elif kind in ("arrow", "save_to_disk"):
            table = _concat([_arrow_reader(f).read_all() for f in files], files)
        elif kind == "json":
            table = _concat([_read_json_all(f, sample.json_field) for f in files], files)
        else:
            assert sample.dialect is not None
            table = _concat([_read_text_all(f, sample.dialect) for f in files], files)
    except (pa.ArrowException, OSError) as exc:
        raise SourceError(f"{sample.spec}: cannot read the whole dataset ({_short(exc)})") from None
    if sample.fields_flattened:
        table, _ = flatten_fields(table)
    if sample.flattened:
        table, _ = flatten_nested(table)
    return conform(table, sample.table.schema, sample.spec, empty_is_null=kind == "csv")


def _read_parquet_all(path: str) -> pa.Table:
    """Batch by batch (never a table sized by the footer's claim), within a decoded-bytes budget."""
    schema, batches = parquet_batches(path)
    return pa.Table.from_batches(list(batches), schema=schema)


def _read_json_all(path: str, json_field: str | None) -> pa.Table:
    _check_utf8(path)
    try:
        return _read_json_whole(path, json_field)
    except RecursionError:
        raise _too_deep(path) from None
    except (ValueError, KeyError, TypeError) as exc:  # the sample parsed; the rest of the file does not
        raise SourceError(f"{path}: cannot read the whole file as JSON ({_short(exc)})") from None


def _read_json_whole(path: str, json_field: str | None) -> pa.Table:
    if json_field is not None:
        with open(path, encoding="utf-8") as handle:
            return _records_to_table(json.load(handle)[json_field], path)
    import pyarrow.json as pj

    try:
        return _checked(pj.read_json(path))
    except pa.ArrowException:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        stripped = text.lstrip()
        if stripped.startswith("["):
            return _records_to_table(json.loads(text), path)
        return _records_to_table([json.loads(line) for line in text.splitlines() if line.strip()], path)


def _check_utf8(path: str) -> None:
    """Every byte of the file decodes as UTF-8 (read in blocks: never a binary column written as text)."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = lines = 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 24):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                line = lines + block.count(b"\n", 0, max(0, exc.start)) + 1
                raise SourceError(f"{path}: not UTF-8 text at line {line:,} (byte {offset + max(0, exc.start):,})",
                                  f"Re-encode it, e.g. `iconv -f latin1 -t utf-8 {path} > fixed.csv`.") from None
            offset += len(block)
            lines += block.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise SourceError(f"{path}: not UTF-8 text at its end (a cut multi-byte character)") from None


def _decoded(path: str) -> str:
    """The whole file as UTF-8 text; a bad byte anywhere (not only in the sampled head) is named by its line."""
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SourceError(f"{path}: not UTF-8 text at line {line:,} (byte {exc.start:,})",
                          f"Re-encode it, e.g. `iconv -f latin1 -t utf-8 {path} > fixed.csv`.") from None


def _read_text_all(path: str, dialect: TextDialect) -> pa.Table:
    """Every cell as a string (`conform` then types the columns as the sample did); decimal commas made points."""
    table = _read_text_strings(path, dialect)
    if dialect.decimal_comma:
        import pyarrow.compute as pc

        for name in dialect.decimal_comma:
            index = table.column_names.index(name)
            table = table.set_column(index, name, pc.replace_substring(table.column(name), ",", "."))
    return table


def _read_text_strings(path: str, dialect: TextDialect) -> pa.Table:
    import pyarrow.csv as pcsv

    names = list(dialect.column_names)
    _check_utf8(path)
    try:
        return pcsv.read_csv(
            path,
            read_options=pcsv.ReadOptions(column_names=names, skip_rows=1 if dialect.header else 0, block_size=1 << 24),
            parse_options=pcsv.ParseOptions(delimiter=dialect.delimiter, quote_char='"' if dialect.quoting else False,
                                            newlines_in_values=dialect.quoting),
            convert_options=pcsv.ConvertOptions(column_types={name: pa.string() for name in names}, strings_can_be_null=False),
        )
    except pa.ArrowInvalid:
        # Ragged rows: pyarrow refuses them; the csv module pads them.
        text = _decoded(path)
        rows = _parse_rows(text, dialect.delimiter, dialect.quoting)
        columns = rows_to_strings(rows[1:] if dialect.header else rows, dialect.column_names)
        return pa.table(dict(zip(names, (string_array(values) for values in columns))))
