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


# --- the numpy-free start of `inspect` -----------------------------------------------------------------

NUMPY_PROBE = """
import json, sys
sys.argv = ["lossadvisor", *json.loads(sys.argv[1])]
from lossadvisor.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
sys.stderr.write(json.dumps({"numpy": repr(sys.modules.get("numpy", "absent")), "yaml": "yaml" in sys.modules, "code": code}))
"""


def run_main(args: list[str], **env: str) -> tuple[subprocess.CompletedProcess, dict]:
    """Run cli.main() in a fresh process, as the console script does; report what it had imported at the end."""
    process = subprocess.run([sys.executable, "-c", NUMPY_PROBE, json.dumps(args)], capture_output=True, text=True,
                             timeout=120, env=os.environ | env)
    return process, json.loads(process.stderr.splitlines()[-1])


@pytest.mark.parametrize("kind", ["parquet", "csv", "jsonl"])
def test_inspect_of_local_data_starts_pyarrow_without_numpy(small_files, kind):
    process, seen = run_main(["inspect", str(small_files[kind]), "--json"])
    assert seen["code"] == 0, process.stderr[-2000:]
    assert seen["numpy"] == "None", "numpy was held back (pyarrow started without it)"
    with_numpy, seen_with = run_main(["inspect", str(small_files[kind]), "--json"], LOSSADVISOR_WITH_NUMPY="1")
    assert seen_with["code"] == 0 and seen_with["numpy"].startswith("<module 'numpy'")
    assert json.loads(process.stdout) == json.loads(with_numpy.stdout), "the same report either way"


def test_other_commands_and_hub_ids_keep_numpy(small_files):
    _, seen = run_main(["table", "--json"])
    assert seen["code"] == 0 and seen["numpy"] == "'absent'"  # never held back, and never needed
    _, seen = run_main(["inspect", "some-org/some-dataset"], HF_HUB_OFFLINE="1")
    assert seen["code"] == 2 and seen["numpy"].startswith("<module 'numpy'")  # a hub id: `datasets` needs numpy


def test_inspect_that_needs_numpy_after_all_runs_again_with_it(small_files, tmp_path):
    """Should a path of inspect want numpy, main() reruns the command in a fresh process that has it."""
    (tmp_path / "sitecustomize.py").write_text(
        "import os\n"
        "if not os.environ.get('LOSSADVISOR_WITH_NUMPY'):\n"
        "    import lossadvisor.render as render\n"
        "    plain = render.print_json\n"
        "    def print_json(result):\n"
        "        import numpy  # what a future code path might do\n"
        "        plain(result)\n"
        "    render.print_json = print_json\n"
    )
    env = os.environ | {"PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    process = subprocess.run([sys.executable, "-m", "lossadvisor", "inspect", str(small_files["parquet"]), "--json"],
                             capture_output=True, text=True, timeout=120, env=env)
    assert process.returncode == 0, process.stderr[-2000:]
    assert process.stderr == ""
    process = subprocess.run([sys.executable, "-m", "lossadvisor", "--debug", "inspect", str(small_files["parquet"]), "--json"],
                             capture_output=True, text=True, timeout=120, env=env)
    assert process.returncode == 0 and "needs numpy after all" in process.stderr, process.stderr[-2000:]
    assert json.loads(process.stdout)["format"] == "labeled-pair"


def test_inspect_with_a_warm_table_cache_does_not_import_yaml(small_files):
    run_main(["inspect", str(small_files["csv"]), "--json"])  # fills the cache, if the session has not yet
    process, seen = run_main(["inspect", str(small_files["csv"]), "--json"])
    assert seen["code"] == 0, process.stderr[-2000:]
    assert seen["yaml"] is False
