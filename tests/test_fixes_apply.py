"""The `datasets` fixes that `inspect --json` prints, applied in the printed order, must work and must suffice.

For every entry of ../shared/data/real/MANIFEST.yaml and examples/support_faq.csv: run `lossadvisor inspect --json`,
load the data with the printed load line, exec every fix that is `datasets` code in the order printed, save the
result with save_to_disk and inspect it again. The format must be the one inspect promised, and no warning that is
marked fixable may be left. Plus the regression tests of the fixes that were wrong or failed when applied.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from real_data import MANIFEST, REAL

ROOT = Path(__file__).resolve().parents[1]
ENTRIES = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))["entries"] if MANIFEST.is_file() else []
DATASETS = [str(REAL / e["path"]) for e in ENTRIES] + [str(ROOT / "examples" / "support_faq.csv")]
# issue 11: the shapes data is published in (tests/data/shapes; a TREC qrels file alone is refused, not fixed)
SHAPES = sorted(str(p) for p in (ROOT / "tests" / "data" / "shapes").iterdir() if p.suffix != ".qrels")


def inspect_json(path: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "lossadvisor", "inspect", path, "--json"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def is_code(fix: str) -> bool:
    """A fix that is Python (`datasets`) code rather than prose or a `lossadvisor` command line."""
    try:
        compile(fix, "<fix>", "exec")
    except SyntaxError:
        return False
    return fix.lstrip().startswith("dataset = ")


def code_fixes(report: dict) -> list[str]:
    return [w["fix"] for w in report["warnings"] if is_code(w["fix"])]


def apply_fixes(report: dict, fixes: list[str], tmp_path: Path, cwd: Path | None = None) -> Path:
    """Exec the load line and the fixes with `datasets`, in a fresh process, and save the result."""
    out = tmp_path / "fixed"
    lines = ["from datasets import ClassLabel, Dataset, Value, load_dataset, load_from_disk",
             "dataset = " + report["load_code"], *fixes,
             f"dataset.save_to_disk({str(out)!r})"]
    script = tmp_path / "apply.py"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=cwd)
    assert done.returncode == 0, f"the printed fixes fail when applied in order:\n{script.read_text()}\n{done.stderr[-3000:]}"
    return out


@pytest.mark.skipif(not MANIFEST.is_file(), reason=f"{MANIFEST} is not there")
@pytest.mark.parametrize("path", DATASETS, ids=[Path(p).name for p in DATASETS])
def test_printed_fixes_work_in_order(path, tmp_path):
    _fixes_work(path, tmp_path)


@pytest.mark.parametrize("path", SHAPES, ids=[Path(p).name for p in SHAPES])
def test_printed_fixes_work_on_published_shapes(path, tmp_path):
    _fixes_work(path, tmp_path)


def _fixes_work(path, tmp_path):
    report = inspect_json(path)
    fixes = code_fixes(report)
    assert report["format"] is not None
    out = apply_fixes(report, fixes, tmp_path)
    again = inspect_json(str(out))
    assert again["format"] == report["format"], (fixes, again["warnings"])
    left = [w["code"] for w in again["warnings"] if w["fixable"]]
    assert not left, (fixes, [w for w in again["warnings"] if w["fixable"]])


def _exec_fixes(report: dict, fixes: list[str]):
    from datasets import ClassLabel, Dataset, Value, load_dataset, load_from_disk

    scope = {"ClassLabel": ClassLabel, "Dataset": Dataset, "Value": Value, "load_dataset": load_dataset,
             "load_from_disk": load_from_disk}
    exec("dataset = " + report["load_code"], scope)  # noqa: S102 - the code under test is what the tool prints
    for fix in fixes:
        exec(fix, scope)  # noqa: S102
    return scope["dataset"]


@pytest.mark.skipif(not MANIFEST.is_file(), reason=f"{MANIFEST} is not there")
def test_split_column_fix_keeps_the_train_split():
    """Regression: on SICK the fix kept `TEST` (the most common value) as the training split, into a side variable."""
    report = inspect_json(str(REAL / "sick" / "SICK.txt"))
    (split,) = [w for w in report["warnings"] if w["code"] == "split-column"]
    dataset = _exec_fixes(report, [split["fix"]])
    assert set(dataset["SemEval_set"]) == {"TRAIN"}
    assert dataset.num_rows == 1776  # MANIFEST: TRAIN 1776
    assert split["columns"] == ["SemEval_set"]


@pytest.mark.skipif(not MANIFEST.is_file(), reason=f"{MANIFEST} is not there")
def test_stsb_score_fix_runs_before_the_rename():
    """Regression: on STS-B as found the fixes renamed column_5 to label and then mapped over column_5."""
    report = inspect_json(str(REAL / "stsb" / "sts-dev.csv"))
    dataset = _exec_fixes(report, code_fixes(report))
    assert dataset.column_names[-1] == "label"
    assert 0.0 <= min(dataset["label"]) and max(dataset["label"]) <= 1.0


def test_query_with_positive_and_negative_lists_keeps_its_order(tmp_path):
    """Regression: {query, pos: [...], neg: [...]} was said to have the query out of place, and the fix put neg before pos."""
    path = tmp_path / "lists.jsonl"
    rows = [{"query": f"how do I reset password number {i}?", "pos": [f"open settings and pick reset for account {i}"],
             "neg": [f"the weather today is sunny in town {i}", f"bananas are yellow fruit number {i}"]} for i in range(30)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    report = inspect_json(str(path))
    codes = [w["code"] for w in report["warnings"]]
    assert "input-order" not in codes, report["warnings"]
    inputs = [c["name"] for c in report["columns"] if c["role"] == "input"]
    assert inputs == ["query", "pos", "neg"]
    for w in report["warnings"]:
        if "select_columns(" in w["fix"] and "'neg'" in w["fix"]:
            assert w["fix"].index("'pos'") < w["fix"].index("'neg'")


def test_inspect_and_convert_suggest_the_same_positive_class(tmp_path):
    """Regression: on an NLI DatasetDict with class ids, inspect offered --positive-class 0 and convert's error said 1."""
    from datasets import Dataset, DatasetDict

    premises = [f"a man is playing a guitar on stage number {i}" for i in range(40)]
    split = Dataset.from_dict({"premise": [p for p in premises for _ in range(3)],
                               "hypothesis": [f"{p} variant {k}" for p in premises for k in range(3)],
                               "label": [k for _ in premises for k in range(3)]})
    folder = tmp_path / "nli"
    DatasetDict({"train": split, "test": split}).save_to_disk(str(folder))
    report = inspect_json(str(folder))
    offered = [c["command"] for c in report["conversions"] if "--positive-class" in c["command"]]
    assert offered, report["conversions"]
    from_inspect = offered[0].split("--positive-class ")[1].split()[0]
    done = subprocess.run([sys.executable, "-m", "lossadvisor", "convert", str(folder), "--to", "triplet", "-o", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    from_convert = done.stderr.split("--positive-class ")[-1].split()[0].rstrip(".")
    assert from_convert == from_inspect
