"""Retrieval data as BEIR, MTEB and TREC publish it: ids that point into separate files, joined into judged pairs.

A BEIR folder holds `corpus.jsonl` (`_id`, `title`, `text`), `queries.jsonl` (`_id`, `text`) and
`qrels/{train,dev,test}.tsv` (`query-id corpus-id score`, with a header). The same three files can be named
together as one spec, comma-separated (`corpus.jsonl,queries.jsonl,qrels/train.tsv`). The qrels split is chosen
with --split (train first, else the first of dev, validation, test); every row of it becomes one
(query, passage[, label]) row: the label is kept when the scores differ (graded), and left out when every
judgment is the same (qrels of positives only: (query, positive) pairs, whose negatives are mined from the
corpus with `convert --corpus`).

The passage is the document's title and text joined by a space, as BEIR itself feeds its models
(`(title + " " + text).strip()`), unless the text already begins with its title (Cranfield's does); how many were
titled is reported. A judgment whose query or document is not in the other files is dropped and counted. Reading joins the whole qrels file and streams the corpus once,
keeping only the judged documents.

A TREC qrels or run file alone (`qid Q0 docid rel`, `qid Q0 docid rank score tag`) holds ids, not text:
`trec_error` explains what it needs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa

from lossadvisor.errors import SourceError
from lossadvisor.sources.base import json_lines

SPLIT_ORDER = ("train", "dev", "validation", "test")
TREC_QRELS = re.compile(r"^\S+\s+(0|Q0|q0)\s+\S+\s+-?\d+\s*$")
TREC_RUN = re.compile(r"^\S+\s+(Q0|q0|0)\s+\S+\s+\d+\s+-?[\d.]+([eE][-+]?\d+)?\s+\S+\s*$")


def beir_layout(spec: str) -> dict | None:
    """{'corpus': path, 'queries': path, 'qrels': {split: path}} for a BEIR folder or a comma-separated trio."""
    if "," in spec:
        paths = [Path(p.strip()).expanduser() for p in spec.split(",") if p.strip()]
        if not all(p.is_file() for p in paths):
            return None
        corpus = [p for p in paths if p.stem.lower().startswith("corpus")]
        queries = [p for p in paths if p.stem.lower().startswith("queries")]
        qrels = [p for p in paths if p not in corpus + queries]
        if len(corpus) == 1 and len(queries) == 1 and qrels and all(looks_like_qrels(p) for p in qrels):
            return {"corpus": corpus[0], "queries": queries[0], "qrels": {p.stem: p for p in qrels}}
        return None
    folder = Path(spec).expanduser()
    if not folder.is_dir() or not (folder / "corpus.jsonl").is_file() or not (folder / "queries.jsonl").is_file():
        return None
    qrels = {p.stem: p for p in sorted((folder / "qrels").glob("*.tsv"))} if (folder / "qrels").is_dir() else {}
    if not qrels:
        return None
    return {"corpus": folder / "corpus.jsonl", "queries": folder / "queries.jsonl", "qrels": qrels}


def looks_like_qrels(path: Path) -> bool:
    """Judgments (query-id corpus-id score, or TREC's four fields), not rows of ids to resolve (sources/ids.py):
    named so, headed so, or a last field of a few small grades."""
    if "qrel" in path.name.lower() or path.parent.name.lower() == "qrels":
        return True
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = [line.split() for _, line in zip(range(50), handle) if line.strip()]
    except OSError:
        return False
    if not lines or lines[0][:2] == ["query-id", "corpus-id"]:
        return bool(lines)
    if not all(len(cells) in (3, 4) for cells in lines):
        return False
    try:
        grades = {float(cells[-1]) for cells in lines}
    except ValueError:
        return False
    return all(len(cells) == 4 for cells in lines) or (len(grades) <= 5 and all(abs(g) <= 10 for g in grades))


def choose_split(layout: dict, split: str | None) -> tuple[str, tuple[str, ...]]:
    splits = tuple(sorted(layout["qrels"], key=lambda s: (SPLIT_ORDER.index(s) if s in SPLIT_ORDER else len(SPLIT_ORDER), s)))
    chosen = split or splits[0]
    if chosen not in layout["qrels"]:
        raise SourceError(f"no qrels split '{chosen}'", f"Known splits: {', '.join(splits)}. Use --split.")
    return chosen, splits


def _judgments(path: Path) -> list[tuple[str, str, float]]:
    out = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            cells = line.rstrip("\n").split("\t") if "\t" in line else line.split()
            if not cells or not line.strip():
                continue
            if len(cells) == 4:  # TREC order: qid iteration docid rel
                cells = [cells[0], cells[2], cells[3]]
            if len(cells) != 3:
                raise SourceError(f"{path}: line {number} is not 'query-id corpus-id score'")
            try:
                out.append((cells[0], cells[1], float(cells[2])))
            except ValueError:
                if number != 1:  # the header
                    raise SourceError(f"{path}: line {number}: score {cells[2]!r} is not a number") from None
    return out


def with_title(title: object, text: object) -> tuple[str, bool]:
    """The text BEIR feeds a model for a document: 'title text'; and whether the title was prepended."""
    title, text = str(title or "").strip(), str(text or "")
    if not title or text.lstrip().startswith(title):
        return text, False
    return f"{title} {text}".strip(), True


def titled_texts(table: pa.Table) -> list[str] | None:
    """A corpus table's documents as BEIR reads them (title + text), or None when it has no title and text columns."""
    names = {n.lower(): n for n in table.column_names}
    if "title" not in names or "text" not in names:
        return None
    titles, texts = table.column(names["title"]).to_pylist(), table.column(names["text"]).to_pylist()
    return [with_title(title, text)[0] for title, text in zip(titles, texts) if text or title]


def _texts(path: Path, wanted: set[str], titled: list[int] | None = None) -> dict[str, str]:
    """id → text of the wanted records; with `titled` (a one-element counter), titles are prepended and counted."""
    found: dict[str, str] = {}
    with open(path, encoding="utf-8") as handle:
        for record in json_lines(path, handle):
            key = str(record.get("_id", record.get("id", "")))
            if key in wanted:
                if titled is None:
                    found[key] = str(record.get("text") or "")
                else:
                    found[key], prepended = with_title(record.get("title"), record.get("text"))
                    titled[0] += prepended
    return found


def beir_table(layout: dict, split: str) -> tuple[pa.Table, dict[str, int]]:
    """The qrels split joined with the query and document texts; and the counts of what was joined or dropped."""
    judgments = _judgments(layout["qrels"][split])
    queries = _texts(layout["queries"], {q for q, _, _ in judgments})
    titled = [0]
    docs = _texts(layout["corpus"], {d for _, d, _ in judgments}, titled)
    kept = [(queries[q], docs[d], s) for q, d, s in judgments if q in queries and d in docs]
    counts = {"judgments": len(judgments), "joined": len(kept), "queries": len({q for q, _, _ in judgments}),
              "missing_query": sum(1 for q, _, _ in judgments if q not in queries),
              "missing_doc": sum(1 for q, d, _ in judgments if q in queries and d not in docs),
              "documents": len(docs), "titled": titled[0]}
    if not kept:
        raise SourceError(f"{layout['qrels'][split]}: no judgment's query and document are in "
                          f"{layout['queries'].name} and {layout['corpus'].name}")
    columns = {"query": [k[0] for k in kept], "passage": [k[1] for k in kept]}
    scores = [k[2] for k in kept]
    if len(set(scores)) > 1:
        integral = all(s == int(s) for s in scores)
        columns["label"] = [int(s) for s in scores] if integral else scores
    return pa.table(columns), counts


def beir_load_code(layout: dict, split: str, labeled: bool) -> str:
    """The same join with `datasets`."""
    corpus, queries, qrels = str(layout["corpus"]), str(layout["queries"]), str(layout["qrels"][split])
    texts = "{{str(d['_id']): d['text'] for d in load_dataset('json', data_files={!r}, split='train')}}"
    docs = ("{{str(d['_id']): d['text'] if not d.get('title') or d['text'].lstrip().startswith(d['title'].strip()) "
            "else (d['title'].strip() + ' ' + d['text']).strip() for d in load_dataset('json', data_files={!r}, split='train')}}")
    label = ", 'label': r['score']" if labeled else ""
    return ("(lambda c, q: Dataset.from_list([{'query': q[str(r['query-id'])], 'passage': c[str(r['corpus-id'])]" + label
            + "} for r in load_dataset('csv', data_files=" + repr(qrels) + ", sep='\\t', split='train') "
            "if str(r['query-id']) in q and str(r['corpus-id']) in c]))(" + docs.format(corpus) + ", " + texts.format(queries) + ")")


def trec_error(path: str, lines: list[str]) -> SourceError | None:
    """A TREC qrels or run file: ids and judgments, no text to train on; say what it needs."""
    body = [line for line in lines[:50] if line.strip()]
    if not body:
        return None
    if all(TREC_RUN.match(line) for line in body):
        what = "a TREC run file (query id, Q0, document id, rank, score, run tag): a system's ranking, as ids"
    elif all(TREC_QRELS.match(line) for line in body):
        what = "a TREC qrels file (query id, iteration, document id, relevance): judgments, as ids"
    else:
        return None
    return SourceError(
        f"{path}: {what}, not text. A CrossEncoder trains on the query and document texts these ids point to",
        "Put it in a BEIR folder with the texts: corpus.jsonl ({\"_id\", \"title\", \"text\"}), queries.jsonl "
        "({\"_id\", \"text\"}) and qrels/train.tsv (this file's judgments as 'query-id<TAB>corpus-id<TAB>score'), then "
        "point lossadvisor at the folder (or at corpus.jsonl,queries.jsonl,QRELS together).")
