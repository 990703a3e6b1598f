"""Benchmark `lossadvisor inspect`: start-up, what it imports, and a 5M-row parquet file against `datasets`.

    python benchmarks/bench_inspect.py              # full run: 5,000,000 rows (1.26 GB), reused from ./bench-data
    python benchmarks/bench_inspect.py --rows 200000 # quick run

(a) cold start of `lossadvisor --help`: median of 5 subprocess runs (target <= 0.3 s);
(b) proof that `inspect` imports no torch / transformers / sentence_transformers (python -X importtime);
(c) `lossadvisor inspect FILE --json` in a subprocess against `datasets.load_dataset("parquet", data_files=FILE,
    split="train")`, first call with a fresh cache dir, also in a subprocess; both measured in this one run,
    interleaved, as whole-process wall times (what a user waits for). Target: inspect >= 20x faster.
    The file has the issue's scale: 5M rows, 1.26 GB (about 250 bytes a row).
    Also shown: the same inspect with numpy loaded (LOSSADVISOR_WITH_NUMPY=1), i.e. without the numpy-free start.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("torch", "transformers", "sentence_transformers")
REPO = Path(__file__).resolve().parent.parent
ROW_GROUP = 500_000
HELP_TARGET_S = 0.3
RATIO_TARGET = 20.0


def lossadvisor_command() -> list[str]:
    """The installed console script when there is one (what users run), else `python -m lossadvisor`."""
    script = Path(sys.executable).with_name("lossadvisor")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    found = shutil.which("lossadvisor")
    return [found] if found else [sys.executable, "-m", "lossadvisor"]


def wall(command: list[str], env: dict[str, str] | None = None) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    process = subprocess.run(command, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"failed ({process.returncode}): {' '.join(command)}\n{process.stderr[-3000:]}")
    return elapsed, process


# --- (a) ---------------------------------------------------------------------------------------------------


def bench_help(runs: int = 5) -> float:
    command = lossadvisor_command() + ["--help"]
    wall(command)  # warm the OS file cache and .pyc files: "cold" means a new process, not a cold disk
    times = [wall(command)[0] for _ in range(runs)]
    median = statistics.median(times)
    verdict = "ok" if median <= HELP_TARGET_S else "OVER TARGET"
    print(f"(a) `{' '.join(Path(c).name for c in command)}`: median {median:.3f} s of {runs} runs"
          f" (min {min(times):.3f}, max {max(times):.3f}); target <= {HELP_TARGET_S} s: {verdict}")
    return median


# --- (b) ---------------------------------------------------------------------------------------------------


def imported_top_level(args: list[str]) -> set[str]:
    _, process = wall([sys.executable, "-X", "importtime", "-m", "lossadvisor", *args])
    names = set()
    for line in process.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def bench_imports(path: Path) -> bool:
    names = imported_top_level(["inspect", str(path), "--json"])
    heavy = sorted(set(HEAVY) & names)
    others = sorted({"datasets", "pandas"} & names)
    print(f"(b) `inspect {path.name} --json` imported {len(names)} top-level packages;"
          f" torch/transformers/sentence_transformers: {', '.join(heavy) if heavy else 'none'}"
          f" (datasets/pandas: {', '.join(others) if others else 'none'})")
    return not heavy


# --- (c) ---------------------------------------------------------------------------------------------------

WORDS = ("the a of to and in is for on with as by at from that this an be or are was it which can has its more "
         "ranking search query passage model loss label score document answer question retrieval neural dense sparse "
         "cross encoder reranker vector index training negative positive batch learning rate token embedding "
         "similarity paris london river mountain city station music history science energy water garden window").split()


def make_parquet(path: Path, rows: int) -> None:
    """Rows of (query, passage, label) in row groups of 500,000: unique texts, ~250 bytes a row."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    words = np.array(WORDS)

    def pool(size: int, length: int) -> pa.Array:
        picks = words[rng.integers(0, len(words), size=(size, length))]
        return pa.array([" ".join(row) for row in picks])

    queries, passages = pool(20_000, 7), pool(50_000, 31)
    schema = pa.schema([("query", pa.string()), ("passage", pa.string()), ("label", pa.int64())])
    partial = path.with_suffix(".partial")
    # uncompressed: from a small vocabulary the texts would compress ~4x, and the point is a 1.26 GB file
    with pq.ParquetWriter(partial, schema, compression="none") as writer:
        for start in range(0, rows, ROW_GROUP):
            n = min(ROW_GROUP, rows - start)
            ids = pc.cast(pa.array(np.arange(start, start + n)), pa.string())
            query = pc.binary_join_element_wise(queries.take(pa.array(rng.integers(0, len(queries), n))), ids, "?  #")
            passage = pc.binary_join_element_wise(passages.take(pa.array(rng.integers(0, len(passages), n))), ids, ". #")
            label = pa.array((rng.random(n) < 0.1).astype(np.int64))
            writer.write_table(pa.table([query, passage, label], schema=schema), row_group_size=ROW_GROUP)
    partial.rename(path)


LOAD_DATASET = """
import sys, time
start = time.perf_counter()
import datasets
datasets.disable_progress_bars()
imported = time.perf_counter()
ds = datasets.load_dataset("parquet", data_files=sys.argv[1], split="train", cache_dir=sys.argv[2])
done = time.perf_counter()
print(f"{imported - start:.3f} {done - imported:.3f} {ds.num_rows}")
"""


INSPECT_IN_PROCESS = """
import sys, time
from lossadvisor.advice import inspect_dataset
from lossadvisor.table import load_table
table = load_table()
start = time.perf_counter()
report = inspect_dataset(sys.argv[1], table)
print(f"{time.perf_counter() - start:.4f}")
"""


def bench_big_file(path: Path, repeats: int, inspects_per_round: int = 3) -> float:
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    with_numpy = dict(env, LOSSADVISOR_WITH_NUMPY="1")
    inspect_command = lossadvisor_command() + ["inspect", str(path), "--json"]
    with open(path, "rb") as handle:  # the file in the page cache for both sides alike
        while handle.read(1 << 24):
            pass
    wall(inspect_command)
    inspect_times, numpy_times, load_times, load_calls = [], [], [], []
    for _ in range(repeats):
        for _ in range(inspects_per_round):  # inspect is noisy at this scale (0.3 s on a shared machine): sample more
            elapsed, process = wall(inspect_command, env)
            inspect_times.append(elapsed)
            numpy_times.append(wall(inspect_command, with_numpy)[0])
        report = json.loads(process.stdout)
        cache = Path(tempfile.mkdtemp(prefix="bench-hf-cache-"))
        try:
            elapsed, process = wall([sys.executable, "-c", LOAD_DATASET, str(path), str(cache)], env)
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        load_times.append(elapsed)
        import_s, call_s, num_rows = process.stdout.split()
        load_calls.append(float(call_s))
    inspect_s, load_s = statistics.median(inspect_times), statistics.median(load_times)
    numpy_s, call_s = statistics.median(numpy_times), statistics.median(load_calls)
    ratio = load_s / inspect_s
    print(f"(c) {path.name}: {report['num_rows']:,} rows, {path.stat().st_size / 1e9:.2f} GB, "
          f"format {report['format']}; medians of interleaved runs, whole-process wall time:")
    print(f"      lossadvisor inspect --json        {inspect_s:7.3f} s   ({len(inspect_times)} runs, "
          f"{min(inspect_times):.2f}-{max(inspect_times):.2f})")
    print(f"      datasets.load_dataset, 1st call   {load_s:7.3f} s   ({len(load_times)} runs: {', '.join(f'{t:.2f}' for t in load_times)};"
          f" the load_dataset call alone: {call_s:.2f} s, {int(num_rows):,} rows)")
    print(f"      ratio of the medians {ratio:.1f}x (of the fastest runs {min(load_times) / min(inspect_times):.1f}x);"
          f" target >= {RATIO_TARGET:.0f}x on the medians: {'ok' if ratio >= RATIO_TARGET else 'UNDER TARGET'}")
    print(f"      inspect with numpy loaded         {numpy_s:7.3f} s   (ratio {load_s / numpy_s:.1f}x: what the numpy-free start saves)")
    # The floor of the whole-process figure is start-up (Python, typer, pyarrow); the work itself is the
    # inspect call against the load_dataset call, each after its imports.
    _, process = wall([sys.executable, "-c", INSPECT_IN_PROCESS, str(path)], env)
    work_s = float(process.stdout.split()[-1])
    print(f"      the work alone: inspect_dataset() {work_s:.3f} s vs the load_dataset() call {call_s:.2f} s:"
          f" ratio {call_s / work_s:.0f}x")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000, help="rows in the generated parquet file (default 5,000,000)")
    parser.add_argument("--data-dir", type=Path, default=REPO / "bench-data", help="where the file is written and reused")
    parser.add_argument("--repeats", type=int, default=5, help="rounds of 3 inspects and 1 load_dataset, interleaved (default 5)")
    args = parser.parse_args()

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    # pip writes the bytecode at install time; an editable checkout under PYTHONDONTWRITEBYTECODE never would,
    # and every run would compile the package from source again.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "lossadvisor")], check=True)
    bench_help()

    args.data_dir.mkdir(parents=True, exist_ok=True)
    path = args.data_dir / f"qa-{args.rows}.parquet"  # ~250 bytes a row (the pairs-N files were ~200)
    if not path.is_file():
        start = time.perf_counter()
        make_parquet(path, args.rows)
        print(f"    generated {path} in {time.perf_counter() - start:.1f} s")
    else:
        print(f"    reusing {path}")
    ok = bench_imports(path)
    bench_big_file(path, args.repeats)
    if not ok:
        raise SystemExit("inspect imported a heavy library")


if __name__ == "__main__":
    main()
