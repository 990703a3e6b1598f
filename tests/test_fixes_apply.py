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
    report = inspect_json(path)
    fixes = code_fixes(report)
    assert report["format"] is not None
    out = apply_fixes(report, fixes, tmp_path)
    again = inspect_json(str(out))
    assert again["format"] == report["format"], (fixes, again["warnings"])
    left = [w["code"] for w in again["warnings"] if w["fixable"]]
    assert not left, (fixes, [w for w in again["warnings"] if w["fixable"]])
