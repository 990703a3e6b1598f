"""Start-up: `--help` and `inspect` never import the heavy libraries (checked with `python -X importtime`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

HEAVY = {"torch", "transformers", "sentence_transformers"}
# Also kept off the inspect path: datasets (0.8 s) and pandas (0.6 s, which `pa.array(list)` pulls in).
INSPECT_AVOIDS = HEAVY | {"datasets", "pandas"}
ROWS = [{"question": f"what is item number {i} made of?", "answer": f"item number {i} is made of wood and glue", "label": i % 2}
        for i in range(20)]


def imported_modules(*args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run `python -X importtime -m lossadvisor ARGS`; return the process and the top-level packages it imported."""
    process = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "lossadvisor", *args],
        capture_output=True, text=True, timeout=120,
    )
    modules = set()
    for line in process.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name != "package":  # the header line
                modules.add(name.split(".")[0])
    assert "lossadvisor" in modules, process.stderr[-2000:]
    return process, modules


def test_help_imports_nothing_heavy():
    process, modules = imported_modules("--help")
    assert process.returncode == 0
    assert "inspect" in process.stdout
    assert not modules & (HEAVY | {"datasets", "pyarrow"}), sorted(modules & (HEAVY | {"datasets", "pyarrow"}))


@pytest.fixture(scope="module")
def small_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("startup")
    files = {"parquet": folder / "pairs.parquet", "csv": folder / "pairs.csv", "jsonl": folder / "pairs.jsonl"}
    pq.write_table(pa.Table.from_pylist(ROWS), files["parquet"])
    files["csv"].write_text("question,answer,label\n" + "".join(f"{r['question']},{r['answer']},{r['label']}\n" for r in ROWS))
    files["jsonl"].write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return files


@pytest.mark.parametrize("kind", ["parquet", "csv", "jsonl"])
def test_inspect_imports_nothing_heavy(small_files, kind):
    process, modules = imported_modules("inspect", str(small_files[kind]), "--json")
    assert process.returncode == 0, process.stderr[-2000:]
    assert json.loads(process.stdout)["format"] == "labeled-pair"
    assert not modules & INSPECT_AVOIDS, sorted(modules & INSPECT_AVOIDS)


def test_table_and_explain_import_nothing_heavy():
    for args in (["table"], ["explain", "LambdaLoss"]):
        process, modules = imported_modules(*args)
        assert process.returncode == 0, process.stderr[-2000:]
        assert not modules & INSPECT_AVOIDS, (args, sorted(modules & INSPECT_AVOIDS))
