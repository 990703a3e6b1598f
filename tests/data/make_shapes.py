"""Write the issue-11 shapes (tests/data/shapes/) from the real text in ../shared/data/real.

Run from the repository root: `python tests/data/make_shapes.py [REAL_DIR]`. Deterministic (seed 13).
Every text comes from WikiQA-test.tsv, wikiqa_test_labeled_list.jsonl, the WikiQA teacher scores, STS-B and
Cranfield as stored in ../shared/data/real (see PROVENANCE.md there); only the layout is ours.
"""

from __future__ import annotations

import csv
import json
import math
import random
import sys
from pathlib import Path

REAL = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/real")
OUT = Path(__file__).parent / "shapes"
QUERIES = 60


def wikiqa_groups() -> list[dict]:
    """WikiQA-test.tsv grouped by question: (qid, question, [(sid, title, sentence, label)])."""
    groups: dict[str, dict] = {}
    with open(REAL / "wikiqa/WikiQA-test.tsv", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        for row in reader:
            group = groups.setdefault(row["QuestionID"], {"qid": row["QuestionID"], "query": row["Question"], "docs": []})
            group["docs"].append((row["SentenceID"], row["DocumentTitle"], row["Sentence"], int(row["Label"])))
    return list(groups.values())


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def list_negatives(groups: list[dict]) -> None:
    usable = [g for g in groups if any(d[3] for d in g["docs"]) and not all(d[3] for d in g["docs"])][:QUERIES]
    write_jsonl(OUT / "flag_query_pos_neg.jsonl", [
        {"query": g["query"], "pos": [d[2] for d in g["docs"] if d[3]], "neg": [d[2] for d in g["docs"] if not d[3]]}
        for g in usable])
    write_jsonl(OUT / "query_positive_negatives.jsonl", [
        {"query": g["query"], "positive": next(d[2] for d in g["docs"] if d[3]),
         "negatives": [d[2] for d in g["docs"] if not d[3]]} for g in usable])
    # teacher scores: the real WikiQA teacher's probabilities as logits, where it scored the pair; the rest from
    # the relevance label (positives above negatives), so every list carries scores of its own length
    teacher = {}
    with open(REAL / "distill/wikiqa_teacher_scores_wide.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            teacher[(row["query"], row["positive"])] = float(row["pos_score"])
            teacher[(row["query"], row["negative"])] = float(row["neg_score"])
    rng = random.Random(13)

    def score(query: str, text: str, label: int) -> float:
        p = teacher.get((query, text), (0.85 if label else 0.15) + rng.uniform(-0.1, 0.1))
        return round(math.log(p / (1 - p)), 4)

    write_jsonl(OUT / "flag_with_scores.jsonl", [
        {"query": g["query"], "pos": [d[2] for d in g["docs"] if d[3]], "neg": [d[2] for d in g["docs"] if not d[3]],
         "pos_scores": [score(g["query"], d[2], 1) for d in g["docs"] if d[3]],
         "neg_scores": [score(g["query"], d[2], 0) for d in g["docs"] if not d[3]]} for g in usable])


def nested_msmarco(groups: list[dict]) -> None:
    chosen = groups[:QUERIES]

    def url(title: str) -> str:
        return "https://en.wikipedia.org/wiki/" + title.replace(" ", "_")

    struct_of_lists = [{
        "answers": [d[2] for d in g["docs"] if d[3]][:1], "query": g["query"], "query_id": int(g["qid"][1:]),
        "query_type": "DESCRIPTION",
        "passages": {"is_selected": [d[3] for d in g["docs"]], "passage_text": [d[2] for d in g["docs"]],
                     "url": [url(d[1]) for d in g["docs"]]}} for g in chosen]
    write_jsonl(OUT / "msmarco_v1.1_struct_of_lists.jsonl", struct_of_lists)
    write_jsonl(OUT / "msmarco_v1.1_list_of_structs.jsonl", [{
        **{k: v for k, v in r.items() if k != "passages"},
        "passages": [{"is_selected": s, "passage_text": t, "url": u} for s, t, u in
                     zip(r["passages"]["is_selected"], r["passages"]["passage_text"], r["passages"]["url"])]}
        for r in struct_of_lists])
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(struct_of_lists), OUT / "msmarco_v1.1_struct_of_lists.parquet")


def beir_folder(groups: list[dict]) -> None:
    folder = OUT / "beir_wikiqa"
    chosen = [g for g in groups if any(d[3] for d in g["docs"])][:QUERIES]
    corpus, seen = [], set()
    for g in groups[:QUERIES * 2] + chosen:
        for sid, title, text, _ in g["docs"]:
            if sid not in seen:
                seen.add(sid)
                corpus.append({"_id": sid, "title": title, "text": text})
    write_jsonl(folder / "corpus.jsonl", corpus)
    write_jsonl(folder / "queries.jsonl", [{"_id": g["qid"], "text": g["query"]} for g in chosen])
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    for split, part in (("train", chosen[: QUERIES * 2 // 3]), ("test", chosen[QUERIES * 2 // 3:])):
        lines = ["query-id\tcorpus-id\tscore"] + [f"{g['qid']}\t{d[0]}\t1" for g in part for d in g["docs"] if d[3]]
        (folder / "qrels" / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # Cranfield as BEIR publishes it: graded qrels (-1..4, 1 = best) in qrels/test.tsv
    cran = OUT / "beir_cranfield"
    with open(REAL / "cranfield/cranfield_judgments_joined.csv", encoding="utf-8") as handle:
        judged = list(csv.DictReader(handle))
    docs = {r["doc_id"]: {"_id": r["doc_id"], "title": r["doc_title"], "text": r["doc_text"]} for r in judged}
    queries = {r["query_id"]: {"_id": r["query_id"], "text": r["query"]} for r in judged}
    write_jsonl(cran / "corpus.jsonl", list(docs.values()))
    write_jsonl(cran / "queries.jsonl", list(queries.values()))
    (cran / "qrels").mkdir(parents=True, exist_ok=True)
    (cran / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"{r['query_id']}\t{r['doc_id']}\t{r['relevance']}\n" for r in judged), encoding="utf-8")
    # TREC qrels alone (Cranfield judgments as `qid Q0 docid rel`)
    with open(REAL / "cranfield/cranfield_judgments_joined.csv", encoding="utf-8") as handle:
        lines = [f"{r['query_id']} 0 {r['doc_id']} {r['relevance']}" for r in csv.DictReader(handle)]
    (OUT / "cranfield.qrels").write_text("\n".join(lines) + "\n", encoding="utf-8")


def pandas_index() -> None:
    with open(REAL / "squad/squad_qa_pairs.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[:200]
    for name, first in (("to_csv_index.csv", ""), ("to_csv_unnamed.csv", "Unnamed: 0")):
        with open(OUT / name, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([first, "question", "context"])
            writer.writerows([i, r["question"], r["context"]] for i, r in enumerate(rows))
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"question": [r["question"] for r in rows], "context": [r["context"] for r in rows],
                      "__index_level_0__": list(range(100, 100 + len(rows)))})
    pq.write_table(table, OUT / "index_level_0.parquet")


def two_labels(groups: list[dict]) -> None:
    rows = []
    for g in groups[:QUERIES * 2]:
        words = set(g["query"].lower().split())
        for _, _, text, label in g["docs"]:
            overlap = len(words & set(text.lower().split())) / max(1, len(words))
            rows.append({"query": g["query"], "passage": text,
                         "bm25_label": "high" if overlap > 0.5 else "medium" if overlap > 0.2 else "low",
                         "relevance_label": label})
    write_jsonl(OUT / "bm25_vs_relevance_label.jsonl", rows)


def teacher_logits() -> None:
    rows = []
    with open(REAL / "distill/wikiqa_teacher_scores_wide.csv", encoding="utf-8") as handle:
        for r in list(csv.DictReader(handle))[:300]:
            for text, p in ((r["positive"], float(r["pos_score"])), (r["negative"], float(r["neg_score"]))):
                p = min(max(p, 1e-6), 1 - 1e-6)  # the teacher's probability back to its logit
                rows.append({"query": r["query"], "passage": text, "score": round(math.log(p / (1 - p)), 4)})
    write_jsonl(OUT / "teacher_logits.jsonl", rows)


def dataset_dict() -> None:
    from datasets import Dataset, DatasetDict

    with open(REAL / "wikiqa/wikiqa_train_triplets.tsv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))[:150]
    parts = {"train": rows[:100], "validation": rows[100:125], "test": rows[125:]}
    DatasetDict({k: Dataset.from_list(v) for k, v in parts.items()}).save_to_disk(str(OUT / "wikiqa_triplets_dict"))


def parallel_files() -> None:
    folder = OUT / "sts_parallel"
    folder.mkdir(parents=True, exist_ok=True)
    with open(REAL / "stsb/stsb_train_sample.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[:300]
    (folder / "a.toks").write_text("".join(r["sentence1"].replace("\n", " ") + "\n" for r in rows), encoding="utf-8")
    (folder / "b.toks").write_text("".join(r["sentence2"].replace("\n", " ") + "\n" for r in rows), encoding="utf-8")
    (folder / "sim.txt").write_text("".join(r["score"] + "\n" for r in rows), encoding="utf-8")


def id_named_text(groups: list[dict]) -> None:
    write_jsonl(OUT / "text_in_id_columns.jsonl", [
        {"query_id": g["query"], "doc_ids": text, "label": label}
        for g in groups[:QUERIES] for _, _, text, label in g["docs"]])


def rank_lists() -> None:
    """Cranfield's graded lists as a ranking exported with positions: label = rank (1 = best), not a gain."""
    from datasets import load_from_disk

    rows = []
    for row in load_from_disk(str(REAL / "cranfield/cranfield_labeled_list_hf")):
        order = sorted(range(len(row["labels"])), key=lambda i: -row["labels"][i])  # best gain first, ties in order
        rank = {doc: position + 1 for position, doc in enumerate(order)}
        rows.append({"query": row["query"], "docs": row["docs"], "label": [rank[i] for i in range(len(row["docs"]))]})
    write_jsonl(OUT / "cranfield_rank_labels.jsonl", rows)


def id_files(groups: list[dict]) -> None:
    """Rows of ids with their texts in other files (the resolve_ids pattern), in three published layouts."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    chosen = [g for g in groups if any(d[3] for d in g["docs"]) and not all(d[3] for d in g["docs"])][:QUERIES]
    doc_number = {d[0]: i for i, d in enumerate(d for g in groups for d in g["docs"])}
    rng = random.Random(13)
    # lightonai/ms-marco-en-bge: {query_id, document_ids, scores} + queries (query_id, text) + documents (document_id, text)
    folder = OUT / "ids_lightonai"
    rows = [{"query_id": int(g["qid"][1:]), "document_ids": [doc_number[d[0]] for d in g["docs"]],
             "scores": [round((4.0 if d[3] else -4.0) + rng.gauss(0, 2), 4) for d in g["docs"]]} for g in chosen]
    rows[-1]["document_ids"][0] = 10**9  # one id that the documents do not hold, as published dumps sometimes have
    write_jsonl(folder / "train.jsonl", rows)
    pq.write_table(pa.Table.from_pylist([{"query_id": int(g["qid"][1:]), "text": g["query"]} for g in chosen]),
                   folder / "queries.parquet")
    pq.write_table(pa.Table.from_pylist([{"document_id": doc_number[d[0]], "text": d[2]} for g in chosen for d in g["docs"]]),
                   folder / "documents.parquet")
    # MS MARCO: qidpidtriples (qid, pid+, pid-), queries.tsv (qid, query), collection.tsv (pid, passage); no headers
    folder = OUT / "ids_msmarco_triples"
    folder.mkdir(parents=True, exist_ok=True)
    triples = [(int(g["qid"][1:]), doc_number[p[0]], doc_number[n[0]]) for g in chosen
               for p in g["docs"][:] if p[3] for n in g["docs"] if not n[3]]
    (folder / "qidpidtriples.tsv").write_text("".join(f"{q}\t{p}\t{n}\n" for q, p, n in triples), encoding="utf-8")
    (folder / "queries.tsv").write_text("".join(f"{int(g['qid'][1:])}\t{g['query']}\n" for g in chosen), encoding="utf-8")
    (folder / "collection.tsv").write_text("".join(f"{doc_number[d[0]]}\t{d[2]}\n" for g in chosen for d in g["docs"]),
                                           encoding="utf-8")
    # FlagEmbedding with ids: {query_id, pos_ids, neg_ids} + BEIR-style queries.jsonl / corpus.jsonl (with titles)
    folder = OUT / "ids_flag"
    write_jsonl(folder / "train.jsonl", [{"query_id": g["qid"], "pos_ids": [d[0] for d in g["docs"] if d[3]],
                                          "neg_ids": [d[0] for d in g["docs"] if not d[3]]} for g in chosen])
    write_jsonl(folder / "queries.jsonl", [{"_id": g["qid"], "text": g["query"]} for g in chosen])
    write_jsonl(folder / "corpus.jsonl", [{"_id": d[0], "title": d[1], "text": d[2]} for g in chosen for d in g["docs"]])


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    groups = wikiqa_groups()
    list_negatives(groups)
    nested_msmarco(groups)
    beir_folder(groups)
    pandas_index()
    two_labels(groups)
    teacher_logits()
    dataset_dict()
    parallel_files()
    id_named_text(groups)
    rank_lists()
    id_files(groups)


if __name__ == "__main__":
    main()
