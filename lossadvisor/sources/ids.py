"""Rows of ids whose texts live in other files: sentence-transformers' `resolve_ids` pattern.

Retrieval training data is often published as ids: `{query_id, document_ids: [...], scores: [...]}` beside a
queries and a documents dataset (lightonai/ms-marco-en-bge), `qid pid+ pid-` triples beside MS MARCO's
`queries.train.tsv` and `collection.tsv`, FlagEmbedding-style `{query_id, pos_ids: [...], neg_ids: [...]}`. A
CrossEncoder trains on the texts, so such a file alone is explained (`ids_error`: which columns are ids, what is
missing, the command and the `resolve_ids` code that resolve them) rather than misread.

Named together with its text files, comma-separated (`train.jsonl,queries.jsonl,corpus.jsonl`), or as a folder
holding a queries file, a corpus file and one file of ids, the ids are resolved (`resolve_table`), as
`resolve_ids(..., output_format="lists")` does: each id column becomes its text column (`query_id` → `query`,
`document_ids` → `documents`, `pos_ids` → `pos`), the label columns (label, scores, ...) are kept, every other column
is dropped, and the result is inspected like any other table. A lookup file is named by its stem: queries (also
query, topics, questions) and corpus (also collection, documents, docs, passages); it holds an id and a text
column (JSON Lines `{_id, text}` / `{id, text}`, a two-column TSV `id<TAB>text` with or without a header, or
parquet). A corpus record's title is put before its text, as BEIR does (sources/beir.py).

Which lookup an id column reads: a query-named column (query_id, qid, q...) the queries, the others the corpus; with
no query-named column, the first id column is the query. A column whose ids are found in the other lookup instead
switches. A row with an id found in neither file is dropped and counted. The lookups are streamed once, keeping
only the ids the table names.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pyarrow as pa

from lossadvisor.errors import SourceError
from lossadvisor.sources.base import DATA_SUFFIXES, json_lines

QUERY_STEMS = ("queries", "query", "topics", "questions")
CORPUS_STEMS = ("corpus", "collection", "documents", "docs", "passages")
QUERY_NAME = re.compile(r"^(q|qid|qids|query|queries|question|topic)([_\-. ]?(id|ids|idx|no))?[+-]?$", re.I)
ID_NAME = re.compile(r"([_\-. ]|^)(ids?|idx|no)[+-]?$|^(q|p|d|doc|pos|neg|corpus|passage|document)?ids?[+-]?$|"
                     r"^(qid|pid|docid|did|cid)s?[+-]?$", re.I)
KEEP = re.compile(r"label|score|relevan|^rel$|is_selected|rating|grade|gain|margin", re.I)
ID_TOKEN = re.compile(r"^[\w.:#/-]{1,64}$")
FOUND_SHARE = 0.5  # a column reads the lookup that holds at least this share of its sampled ids


def _stem_kind(path: Path) -> str | None:
    stem = path.name.lower().split(".")[0]
    if any(stem.startswith(s) for s in QUERY_STEMS):
        return "queries"
    if any(stem.startswith(s) for s in CORPUS_STEMS):
        return "corpus"
    return None


def ids_layout(spec: str) -> dict | None:
    """{'ids': path, 'queries': path, 'corpus': path}: a comma-separated trio or a folder of the three, else None."""
    if "," in spec:
        paths = [Path(p.strip()).expanduser() for p in spec.split(",") if p.strip()]
        if len(paths) != 3 or not all(p.is_file() for p in paths):
            return None
    else:
        folder = Path(spec).expanduser()
        if not folder.is_dir() or (folder / "qrels").is_dir():
            return None
        paths = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                       and p.suffix.lower() in DATA_SUFFIXES)
        if len(paths) != 3:
            return None
    kinds = [_stem_kind(p) for p in paths]
    if kinds.count("queries") != 1 or kinds.count("corpus") != 1 or kinds.count(None) != 1:
        return None
    return {"ids": paths[kinds.index(None)], "queries": paths[kinds.index("queries")], "corpus": paths[kinds.index("corpus")]}


# --- which columns are ids ---------------------------------------------------------------------------------------


def _values(column: pa.ChunkedArray) -> tuple[list, bool] | None:
    """The column's non-null ids (flattened when it holds lists) and whether it holds lists; None when not ids."""
    kind = column.type
    listed = pa.types.is_list(kind) or pa.types.is_large_list(kind)
    inner = kind.value_type if listed else kind
    values = column.to_pylist()
    flat = [v for row in values if row for v in row] if listed else [v for v in values if v is not None]
    if not flat:
        return None
    if pa.types.is_integer(inner):
        return flat, listed
    if pa.types.is_string(inner) or pa.types.is_large_string(inner):
        if all(isinstance(v, str) and ID_TOKEN.match(v) for v in flat):
            return flat, listed
    return None


def _is_text(column: pa.ChunkedArray) -> bool:
    kind = column.type
    inner = kind.value_type if pa.types.is_list(kind) or pa.types.is_large_list(kind) else kind
    if not (pa.types.is_string(inner) or pa.types.is_large_string(inner)):
        return False
    found = _values(column)
    return found is None  # strings that are not all id tokens: text


def id_columns(table: pa.Table, named_only: bool = True) -> dict[str, bool]:
    """{column: holds lists} for the columns that hold ids (by name and by value; labels never)."""
    out = {}
    for name in table.column_names:
        if KEEP.search(name):
            continue
        found = _values(table.column(name))
        if found is not None and (not named_only or ID_NAME.search(name) or QUERY_NAME.match(name)):
            out[name] = found[1]
    return out


def ids_error(path: str, table: pa.Table) -> SourceError | None:
    """A table of ids and no text (the texts are in other files): what it holds and how to resolve it."""
    if table.num_rows == 0 or any(_is_text(table.column(n)) for n in table.column_names):
        return None
    ids = id_columns(table)
    if not ids and table.num_columns >= 2 and all(n.startswith("column_") for n in table.column_names):
        ids = id_columns(table, named_only=False)  # a headerless file of ids only (MS MARCO's qidpidtriples)
        ids = ids if len(ids) == table.num_columns else {}
    if not ids:
        return None
    described = ", ".join(f"{n} ({'lists of ids' if listed else 'ids'})" for n, listed in ids.items())
    kept = [n for n in table.column_names if KEEP.search(n)]
    folder = Path(path).parent
    queries = _sibling(folder, "queries") or folder / "queries.jsonl"
    corpus = _sibling(folder, "corpus") or folder / "corpus.jsonl"
    spec = ",".join(str(p) for p in (Path(path), queries, corpus))
    query = _query_column(list(ids))
    lookups = ", ".join(f"{n!r}: {'queries' if n == query else 'corpus'}" for n in ids)
    return SourceError(
        f"{path}: ids, not text: {described} point into a queries file and a corpus file that hold the texts"
        + (f" ({', '.join(kept)} kept as the label)" if kept else ""),
        f"Name the text files with it, comma-separated (each with an id and a text column): lossadvisor inspect {spec}"
        f" (convert and trial take the same). Or resolve them in your training script: from sentence_transformers.util "
        f"import resolve_ids; dataset = dataset.map(resolve_ids({{{lookups}}}, output_format=\"lists\"), batched=True, "
        f"remove_columns={list(ids)!r}) with queries and corpus loaded as datasets of (id, text).")


def _sibling(folder: Path, kind: str) -> Path | None:
    try:
        found = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in DATA_SUFFIXES | {".tsv"}
                       and _stem_kind(p) == kind)
    except OSError:
        return None
    return found[0] if found else None


def _query_column(names: list[str]) -> str | None:
    named = [n for n in names if QUERY_NAME.match(n)]
    return named[0] if named else (names[0] if names else None)


# --- the lookups ---------------------------------------------------------------------------------------------------


def _pick(names: list[str], kind: str) -> tuple[str, str]:
    """The id and the text field of a lookup's records."""
    lower = {n.lower(): n for n in names}
    ids = [lower[n] for n in ("_id", "id", "docid", "pid", "qid", "doc_id", "query_id", "document_id", "corpus_id")
           if n in lower] or [n for n in names if n.lower().endswith("id")]
    texts = [lower[n] for n in ("text", "contents", "content", "passage", "document", "query", "question", "body")
             if n in lower] or [n for n in names if n not in ids[:1] and n.lower() != "title"]
    if not ids or not texts:
        raise SourceError(f"cannot tell the id and the text field of the {kind} records (fields: {', '.join(names)})",
                          "Give each record an id field (_id or id) and a text field (text).")
    return ids[0], texts[0]


def read_lookup(path: Path, kind: str, wanted: set[str], fields: dict | None = None) -> tuple[dict[str, str], int]:
    """id → text for the wanted ids (a corpus record's title before its text); and how many titles were put there.
    `fields` (when given) gets the id and text fields the records were read by."""
    fields = {} if fields is None else fields
    from lossadvisor.sources.beir import with_title

    suffix = path.suffix.lower()
    found: dict[str, str] = {}
    titled = 0
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        handle = pq.ParquetFile(path)
        names = handle.schema_arrow.names
        key, text = _pick(names, kind)
        title = next((n for n in names if n.lower() == "title"), None) if kind == "corpus" else None
        fields.update(id=key, text=text, title=title)
        for batch in handle.iter_batches(columns=[key, text] + ([title] if title else [])):
            rows = batch.to_pydict()
            for i, value in enumerate(rows[key]):
                if str(value) in wanted:
                    found[str(value)], added = with_title(rows[title][i] if title else None, rows[text][i])
                    titled += added
        return found, titled
    with open(path, encoding="utf-8") as handle:
        first = handle.readline()
        handle.seek(0)
        if first.lstrip().startswith("{"):
            key = text = None
            for record in json_lines(path, handle):
                if key is None:
                    key, text = _pick(list(record), kind)
                    fields.update(id=key, text=text, title="title" if kind == "corpus" and "title" in record else None)
                value = str(record.get(key, ""))
                if value in wanted:
                    found[value], added = with_title(record.get("title") if kind == "corpus" else None, record.get(text))
                    titled += added
            return found, titled
        delimiter = "\t" if "\t" in first else ","
        reader = csv.reader(handle, delimiter=delimiter, quoting=csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL)
        header = _header(first.rstrip("\r\n").split(delimiter))
        if header is not None:
            next(reader, None)
            key_at, text_at = header
        else:
            key_at, text_at = 0, 1
        fields.update(id=key_at, text=text_at, header=header is not None, delimiter=delimiter)
        for cells in reader:
            if len(cells) > max(key_at, text_at) and cells[key_at] in wanted:
                found[cells[key_at]] = cells[text_at]
    return found, titled


def _header(cells: list[str]) -> tuple[int, int] | None:
    """The id and text positions named by a header row, or None when the first row is data."""
    lower = [c.strip().lower() for c in cells]
    if len(lower) < 2 or not any(c in ("_id", "id", "pid", "qid", "docid", "query_id", "doc_id") for c in lower):
        return None
    key = next(i for i, c in enumerate(lower) if c in ("_id", "id", "pid", "qid", "docid", "query_id", "doc_id"))
    text = next((i for i, c in enumerate(lower) if c in ("text", "passage", "query", "contents", "document")), 1 - min(key, 1))
    return key, text


# --- resolving ---------------------------------------------------------------------------------------------------------


def output_name(name: str, listed: bool, taken: set[str], kind: str = "corpus", position: int = 0) -> str:
    """resolve_ids' naming: `query_id` → `query`, `document_ids` → `documents`; `pid+` / `pid-` → positive / negative;
    a name that says nothing (`column_2`, `pid`) by its place: query, then positive, negative (documents for a list)."""
    if name.endswith("+") or name.endswith("-"):
        base = "positive" if name.endswith("+") else "negative"
    else:
        base = re.sub(r"([_\-. ]?(ids?|idx|no))$", "", name, flags=re.I)
        if listed and base and not base.endswith("s") and base.lower() not in ("pos", "neg"):
            base += "s"
    if not base or base.lower() in ("q", "p", "d", "c", "doc", "docs", "pid", "qid") or base.lower().startswith("column"):
        base = "query" if kind == "queries" else "documents" if listed else "positive" if position == 0 else "negative"
    out, n = base, 1
    while out in taken:
        n += 1
        out = f"{base}_{n}"
    return out


def _plan(table: pa.Table, layout: dict) -> list[tuple[str, str, bool]]:
    """(column, 'queries' | 'corpus', holds lists) per id column, in the order the output takes them."""
    ids = id_columns(table, named_only=False)
    if not ids:
        raise SourceError(f"{layout['ids']}: no column holds ids to resolve in {layout['queries'].name} and "
                          f"{layout['corpus'].name}", "The ids file needs integer or token id columns (query_id, doc_ids, ...).")
    query = _query_column(list(ids))
    return [(name, "queries" if name == query else "corpus", ids[name]) for name in [query, *(n for n in ids if n != query)]]


def resolve_table(table: pa.Table, layout: dict) -> tuple[pa.Table, dict]:
    """The id columns replaced by their texts, label columns kept, rows with an unknown id dropped; and the counts."""
    plan = _plan(table, layout)
    wanted = {str(v) for name, _, _ in plan for v in _values(table.column(name))[0]}
    fields: dict[str, dict] = {"queries": {}, "corpus": {}}
    queries, _ = read_lookup(layout["queries"], "queries", wanted, fields["queries"])
    corpus, titled = read_lookup(layout["corpus"], "corpus", wanted, fields["corpus"])
    lookups = {"queries": queries, "corpus": corpus}
    checked = []
    for name, kind, listed in plan:
        values = [str(v) for v in _values(table.column(name))[0]]
        share = {k: sum(v in found for v in values) / len(values) for k, found in lookups.items()}
        other = "corpus" if kind == "queries" else "queries"
        if share[kind] < FOUND_SHARE and share[other] > share[kind]:
            kind = other  # e.g. a headerless file whose first column is not the query
        if share[kind] == 0:
            raise SourceError(f"{layout['ids']}: the ids in '{name}' (e.g. {values[0]!r}) are in neither "
                              f"{layout['queries'].name} nor {layout['corpus'].name}",
                              "Check that the three files belong together (the same id scheme).")
        checked.append((name, kind, listed))
    columns = {name: table.column(name).to_pylist() for name, _, _ in checked}
    keep = [n for n in table.column_names if KEEP.search(n) and n not in columns]
    rows_ok = [True] * table.num_rows
    missing = {name: 0 for name, _, _ in checked}
    for name, kind, listed in checked:
        found = lookups[kind]
        for i, value in enumerate(columns[name]):
            ok = value is not None and (all(str(v) in found for v in value) if listed else str(value) in found)
            if not ok and rows_ok[i]:
                missing[name] += 1
                rows_ok[i] = False
    taken: set[str] = set(keep)
    out: dict[str, pa.Array] = {}
    singles = 0
    for name, kind, listed in checked:
        found = lookups[kind]
        new = output_name(name, listed, taken, kind, singles)
        singles += kind == "corpus" and not listed
        taken.add(new)
        values = [v for v, ok in zip(columns[name], rows_ok) if ok]
        out[new] = (pa.array([[found[str(x)] for x in v] for v in values], pa.list_(pa.string())) if listed
                    else pa.array([found[str(v)] for v in values], pa.string()))
    mask = pa.array(rows_ok)
    resolved = pa.table({**out, **{k: table.column(k).filter(mask) for k in keep}})
    if resolved.num_rows == 0:
        raise SourceError(f"{layout['ids']}: no row's ids are all in {layout['queries'].name} and {layout['corpus'].name}")
    counts = {"rows": table.num_rows, "resolved": resolved.num_rows, "missing": missing, "titled": titled,
              "columns": {name: (kind, new) for (name, kind, _), new in zip(checked, out)},
              "fields": fields, "listed": [name for name, _, listed in checked if listed], "order": resolved.column_names,
              "dropped_columns": [n for n in table.column_names if n not in columns and n not in keep]}
    return resolved, counts


def resolve_note(layout: dict, counts: dict) -> str:
    parts = [f"{name} → {new} (from {layout[kind].name})" for name, (kind, new) in counts["columns"].items()]
    dropped = sum(counts["missing"].values())
    return ("ids resolved into texts, as sentence-transformers' resolve_ids does: " + "; ".join(parts)
            + (f"; {dropped:,} of {counts['rows']:,} rows dropped (an id not found: "
               + ", ".join(f"{n} {c:,}" for n, c in counts["missing"].items() if c) + ")" if dropped else "")
            + (f"; columns left out: {', '.join(counts['dropped_columns'])}" if counts["dropped_columns"] else "")
            + (f"; title put before the text for {counts['titled']:,} documents (as BEIR does)" if counts["titled"] else ""))


def ids_load_code(layout: dict, counts: dict, ids_load: str) -> str:
    """The same join with `datasets`: dicts of the two lookups, rows with an unknown id left out."""
    def lookup(kind: str) -> str:
        path, field = layout[kind], counts["fields"][kind]
        if "delimiter" in field:  # a delimited id/text file: the csv module, as it was read
            return (f"{{r[{field['id']}]: r[{field['text']}] for i, r in enumerate(__import__('csv').reader(open({str(path)!r}, "
                    f"encoding='utf-8'), delimiter={field['delimiter']!r}, quoting={3 if field['delimiter'] == chr(9) else 0}))"
                    f" if len(r) > max({field['id']}, {field['text']}){' and i > 0' if field['header'] else ''}}}")
        kind_of = "parquet" if path.suffix.lower() == ".parquet" else "json"
        source = f"load_dataset({kind_of!r}, data_files={str(path)!r}, split='train')"
        key, text = field["id"], field["text"]
        value = f"d[{text!r}]"
        if field.get("title"):
            value = (f"(d['title'].strip() + ' ' + d[{text!r}]).strip() if d.get('title') and not "
                     f"d[{text!r}].lstrip().startswith(d['title'].strip()) else d[{text!r}]")
        return f"{{str(d[{key!r}]): {value} for d in {source}}}"

    letters = {"queries": "q", "corpus": "c"}
    checks, values = [], []
    for name, (kind, new) in counts["columns"].items():
        lk = letters[kind]
        listed = name in _listed(counts)
        checks.append(f"all(str(i) in {lk} for i in r[{name!r}])" if listed else f"str(r[{name!r}]) in {lk}")
        values.append(f"{new!r}: [{lk}[str(i)] for i in r[{name!r}]]" if listed else f"{new!r}: {lk}[str(r[{name!r}])]")
    return (f"(lambda q, c: {ids_load}.filter(lambda r: {' and '.join(checks)}).map(lambda r: {{{', '.join(values)}}}, "
            f"remove_columns={[n for n in counts['columns']] + counts['dropped_columns']!r}).select_columns({counts['order']!r}))"
            f"({lookup('queries')}, {lookup('corpus')})")


def sample_load_code(sample) -> str:
    return ids_load_code(ids_layout(sample.spec), sample.source_info["counts"], sample.source_info["ids_load"])


def _listed(counts: dict) -> set[str]:
    return set(counts.get("listed", ()))
