"""Start-up: `--help` and `inspect` never import the heavy libraries (checked with `python -X importtime`)."""

from __future__ import annotations

import json
import os
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


# --- what the console script's main() leaves loaded ------------------------------------------------------

MAIN_PROBE = """
import json, sys
sys.argv = ["lossadvisor", *json.loads(sys.argv[1])]
from lossadvisor.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
loaded = {name: name in sys.modules for name in ("yaml", "rich", "numpy")}
sys.stderr.write(json.dumps({"code": code, "numpy_entry": repr(sys.modules.get("numpy", "absent")), **loaded}))
"""


def run_main(args: list[str], **env: str) -> tuple[subprocess.CompletedProcess, dict]:
    """Run cli.main() in a fresh process, as the console script does; report what it had imported at the end."""
    process = subprocess.run([sys.executable, "-c", MAIN_PROBE, json.dumps(args)], capture_output=True, text=True,
                             timeout=120, env=os.environ | env)
    return process, json.loads(process.stderr.splitlines()[-1])


@pytest.mark.parametrize("kind", ["parquet", "csv", "jsonl"])
def test_inspect_json_imports_no_rich_and_leaves_numpy_importable(small_files, kind):
    """--json output never needs rich; numpy is a real module or absent, never a None entry that breaks `import numpy`."""
    process, seen = run_main(["inspect", str(small_files[kind]), "--json"])
    assert seen["code"] == 0, process.stderr[-2000:]
    assert seen["rich"] is False
    assert seen["numpy_entry"] != "None", "sys.modules['numpy'] is None: `import numpy` fails in this process"
    assert json.loads(process.stdout)["format"] == "labeled-pair"


def test_no_numpy_free_module_is_left():
    """The numpy-free start (and its rerun of the whole command) is gone: nothing may write None into sys.modules."""
    import importlib.util

    assert importlib.util.find_spec("lossadvisor.numpy_free") is None
    package = Path(__file__).resolve().parent.parent / "lossadvisor"
    offenders = [str(p) for p in package.rglob("*.py") if 'sys.modules["numpy"] = None' in p.read_text(encoding="utf-8")]
    assert offenders == []


def test_inspect_with_a_warm_table_cache_does_not_import_yaml(small_files):
    run_main(["inspect", str(small_files["csv"]), "--json"])  # fills the cache, if the session has not yet
    process, seen = run_main(["inspect", str(small_files["csv"]), "--json"])
    assert seen["code"] == 0, process.stderr[-2000:]
    assert seen["yaml"] is False
