"""Delimited text files: the head of the file, its dialect (delimiter, quoting, header) and rows of strings."""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

from lossadvisor.errors import SourceError
from lossadvisor.sources.base import PANDAS_INDEX, TEXT_WINDOW_BYTES, TEXT_WINDOW_MAX_BYTES, WINDOW_MIN_LINES, TextDialect, _short
from lossadvisor.sources.schema import rows_to_table


def _read_window(path: str) -> tuple[str, bool]:
    """The head of a text file, in whole lines: TEXT_WINDOW_BYTES, or more when a few long lines fill that."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(TEXT_WINDOW_BYTES + 1)
            # Multi-megabyte cells: keep reading until the window holds a header and some rows.
            while len(raw) > TEXT_WINDOW_BYTES and raw.count(b"\n") < WINDOW_MIN_LINES and len(raw) <= TEXT_WINDOW_MAX_BYTES:
                more = handle.read(TEXT_WINDOW_BYTES)
                if not more:
                    break
                raw += more
    except OSError as exc:
        raise SourceError(f"{path}: cannot read it ({exc.strerror or _short(exc)})") from None
    complete = len(raw) <= TEXT_WINDOW_BYTES or not _more_after(path, len(raw))
    if not complete:
        cut = raw.rfind(b"\n") + 1
        if cut == 0:
            raise SourceError(f"{path}: the first line is longer than {len(raw) // 2**20} MiB, more than lossadvisor reads to sample it",
                              "Write it as JSON Lines or parquet, or load it with datasets and save_to_disk.")
        raw = raw[:cut]  # only whole lines
    if b"\x00" in raw[:8192]:
        raise SourceError(f"{path}: binary data, not a text file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{path}: not UTF-8 text (bad byte at offset {exc.start})",
            f"Re-encode it, e.g. `iconv -f latin1 -t utf-8 {path} > fixed.csv`.",
        ) from None
    return text.removeprefix("\ufeff"), complete


def _more_after(path: str, offset: int) -> bool:
    try:
        return os.path.getsize(path) > offset
    except OSError:
        return True


def _looks_numeric(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def _sniff_delimiter(lines: list[str], suffix: str) -> str:
    if suffix == ".tsv":
        return "\t"
    counts = {d: [line.count(d) for line in lines[:50]] for d in ("\t", ",", ";", "|")}

    def consistency(values: list[int]) -> tuple[int, int]:
        if not values or max(values) == 0:
            return (0, 0)
        mode = max(set(values), key=values.count)
        return (values.count(mode) if mode else 0, mode)

    best = max(counts, key=lambda d: consistency(counts[d]))
    if consistency(counts[best])[1] == 0:
        return "," if suffix == ".csv" else "\t"
    return best


def _parse_rows(text: str, delimiter: str, quoting: bool) -> list[list[str]]:
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=delimiter,
        quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE,
        strict=False,
    )
    csv.field_size_limit(1 << 30)
    try:
        return [row for row in reader if row != []]
    except csv.Error as exc:
        raise SourceError(f"cannot parse delimited text: {exc}") from None


def _pandas_index(rows: list[list[str]]) -> bool:
    """The header of `df.to_csv()`: an empty first cell, named cells after it, integers below it."""
    first = rows[0]
    if len(first) < 2 or first[0].strip() or any(not cell.strip() or _looks_numeric(cell) for cell in first[1:]):
        return False
    body = [row[0] for row in rows[1:200] if row]
    return bool(body) and all(re.fullmatch(r"-?\d+", cell.strip() or "x") for cell in body)


def _has_header(rows: list[list[str]]) -> bool:
    """A header row names columns: short, distinct, non-numeric cells over columns whose values differ."""
    if len(rows) < 2:
        return True
    first = rows[0]
    if _pandas_index(rows):
        return True  # what df.to_csv() writes: an empty first header cell over the index
    if any(_looks_numeric(cell) or not cell.strip() or len(cell) > 64 for cell in first):
        return False
    body = rows[1:200]
    for index, cell in enumerate(first):
        values = [row[index] for row in body if index < len(row)]
        if values and all(_looks_numeric(v) for v in values):
            return True  # a name over a numeric column (even when names repeat: text,text,label)
        if values and cell in values:
            return False  # the "header" is an ordinary value of its column
    if len(set(first)) != len(first):
        return False
    average_first = sum(map(len, first)) / len(first)
    average_body = sum(len(c) for row in body for c in row) / max(1, sum(len(row) for row in body))
    return average_first < average_body


def _choose_dialect(path: str, text: str, complete: bool) -> tuple[TextDialect, list[list[str]], list[tuple[str, str]]]:
    notes: list[tuple[str, str]] = []
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise SourceError(f"{path}: empty file")
    suffix = Path(path).suffix.lower()
    delimiter = _sniff_delimiter(lines, suffix)
    name = {"\t": "TAB", ",": "comma", ";": "semicolon", "|": "pipe"}[delimiter]
    if suffix == ".csv" and delimiter != ",":
        notes.append(("misleading-extension", f"{Path(path).name} is {name}-separated despite its .csv extension"))
    if suffix == ".txt":
        notes.append(("misleading-extension", f"{Path(path).name} is {name}-separated text with a .txt extension"))
    if "\r\n" in text[:65536]:
        notes.append(("crlf", "CRLF (Windows) line endings"))

    quoted = _parse_rows(text, delimiter, quoting=True)
    literal = _parse_rows(text, delimiter, quoting=False)
    quoting = True
    if len(quoted) < len(literal) and '"' in text:
        # Quote characters inside fields swallowed line breaks: the file does not use CSV quoting.
        quoting = False
        notes.append((
            "literal-quotes",
            f"quote characters are literal text: CSV quoting would silently merge {len(literal) - len(quoted)} rows"
            f" ({len(quoted) - int(_has_header(literal))} rows instead of {len(literal) - int(_has_header(literal))}); read with quoting=csv.QUOTE_NONE (3)",
        ))
    else:
        widths_quoted = {len(r) for r in quoted}
        widths_literal = {len(r) for r in literal}
        if len(widths_quoted) > 1 and len(widths_literal) < len(widths_quoted):
            quoting = False
            notes.append(("literal-quotes", "quote characters are literal text; read with quoting=csv.QUOTE_NONE (3)"))
    rows = quoted if quoting else literal
    header = _has_header(rows)
    widths = [len(r) for r in rows]
    width = max(widths)
    body = rows[1:] if header else rows
    common = max(set(widths), key=widths.count)
    odd = sum(1 for r in body if len(r) != common)
    if odd:
        notes.append((
            "ragged-rows",
            f"{odd} of {len(body)} rows have a different number of fields than the usual {common}"
            f" (up to {width}); the extra fields become extra columns",
        ))
    if header:
        names = list(rows[0]) + [f"column_{i + 1}" for i in range(len(rows[0]), width)]
        if _pandas_index(rows):
            names[0] = PANDAS_INDEX  # the name pandas and `datasets` give it when they read the file back
            notes.append(("pandas-index", f"the first column is a pandas index (an empty header cell, as df.to_csv() writes it): "
                                          f"read as '{PANDAS_INDEX}', an id to drop (write with index=False to avoid it)"))
        names = _unique([n if n.strip() else f"column_{i + 1}" for i, n in enumerate(names)])
    else:
        names = [f"column_{i + 1}" for i in range(width)]
        notes.append(("no-header", "no header row: columns are named column_1..column_%d by position" % width))
    commas = _decimal_comma_columns(body, len(names)) if delimiter != "," else []
    if commas:
        body = [[cell.replace(",", ".") if i in commas else cell for i, cell in enumerate(row)] for row in body]
        listed = ", ".join(f"'{names[i]}'" for i in commas)
        notes.append(("decimal-comma", f"decimal commas in {listed} (0,5 means 0.5, as Excel writes it in many locales): "
                                       "read as numbers, not as text classes"))
    dialect = TextDialect(delimiter=delimiter, quoting=quoting, header=header, column_names=tuple(names),
                          decimal_comma=tuple(names[i] for i in commas))
    return dialect, body, notes


DECIMAL_COMMA = re.compile(r"[+-]?[0-9]+(,[0-9]+)?([eE][+-]?[0-9]+)?", re.ASCII)


def _decimal_comma_columns(body: list[list[str]], width: int) -> list[int]:
    """Columns whose every non-empty cell is a number with a decimal comma ('0,5', '-1,25'), at least one with a comma."""
    found = []
    for index in range(width):
        cells = [row[index].strip() for row in body if index < len(row) and row[index].strip()]
        if cells and any("," in c for c in cells) and all(DECIMAL_COMMA.fullmatch(c) for c in cells) \
                and not all(re.fullmatch(r"[0-9]{1,3}(,[0-9]{3})+", c) for c in cells if "," in c):  # 1,000: thousands
            found.append(index)
    return found


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name in seen:
            seen[name] += 1
            out.append(f"{name}_{seen[name]}")
        else:
            seen[name] = 0
            out.append(name)
    return out



def _count_lines(path: str) -> int:
    count = 0
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 24):
                count += chunk.count(b"\n")
    except OSError as exc:
        raise SourceError(f"{path}: cannot read it ({exc.strerror or _short(exc)})") from None
    return count


def _text_sample(files: list[str], limit: int):
    path = files[0]
    text, complete = _read_window(path)
    from lossadvisor.sources.beir import trec_error

    trec = trec_error(path, text[:65536].splitlines())
    if trec is not None:
        raise trec
    dialect, rows, notes = _choose_dialect(path, text, complete)
    table = rows_to_table(rows[:limit], dialect.column_names)
    if complete and len(files) == 1:
        total = len(rows)
    else:
        lines = sum(_count_lines(f) for f in files)
        total = lines - (len(files) if dialect.header else 0)
    return table, total, dialect, notes
