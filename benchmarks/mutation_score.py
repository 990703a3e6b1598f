"""Mutation score of the core modules: how many deliberate small bugs (mutants) the test suite catches.

Runs mutmut (a maintained mutation-testing tool) once per group of core modules, each in a scratch copy of
the repository with the group's own tests, and prints killed / total per group and overall. Surviving
mutants are written to docs/mutation-survivors.md for review: each is either equivalent (no behaviour
changes) or a gap a test must close. Too slow for CI (tens of minutes on 2 cores): `make mutate` runs it.

    python benchmarks/mutation_score.py [GROUP ...] [--jobs N] [--keep]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 0.85

# group: (module globs mutmut may mutate, the tests that speak for them). Globs cover a module and the
# package it may become (sources.py or sources/*).
GROUPS: dict[str, tuple[list[str], list[str]]] = {
    "table": (["lossadvisor/table.py"], ["tests/test_table.py"]),
    "profile": (["lossadvisor/profile.py", "lossadvisor/profile/*"],
                ["tests/test_profile.py", "tests/test_label_names.py", "tests/test_inspect_manifest.py"]),
    "advice": (["lossadvisor/advice.py", "lossadvisor/checks.py", "lossadvisor/recipe.py", "lossadvisor/advice/*"],
               ["tests/test_inspect_manifest.py", "tests/test_profile.py", "tests/test_cli_inspect.py", "tests/test_recipe*.py"]),
    "tidy": (["lossadvisor/tidy.py", "lossadvisor/convert/clean.py"], ["tests/test_convert.py", "tests/test_cli_convert.py"]),
    "sources": (["lossadvisor/sources.py", "lossadvisor/sources/*"],
                ["tests/test_profile.py", "tests/test_inspect_manifest.py", "tests/test_property_inspect.py", "tests/test_label_names.py"]),
    "convert": (["lossadvisor/convert/reshape.py", "lossadvisor/convert/plan.py", "lossadvisor/convert/classes.py",
                 "lossadvisor/convert/writer.py", "lossadvisor/convert/mine*.py", "lossadvisor/convert/teacher.py"],
                ["tests/test_convert.py", "tests/test_cli_convert.py", "tests/test_teacher_logits.py"]),
    "trial-checks": (["lossadvisor/fit.py", "lossadvisor/trial/checks*.py", "lossadvisor/trial/data_checks.py",
                      "lossadvisor/trial/custom_loss.py", "lossadvisor/trial/options.py"],
                     ["tests/test_trial.py", "tests/test_cli_trial.py"]),
    "scaffold": (["lossadvisor/scaffold.py", "lossadvisor/scaffold/*"], ["tests/test_scaffold.py", "tests/test_cli_scaffold.py"]),
}


def _existing(patterns: list[str], root: Path) -> list[str]:
    return [p for p in patterns if any(root.glob(p))]


def _copy_repo(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    for name in files:
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def _configure(workdir: Path, modules: list[str], tests: list[str]) -> None:
    text = (workdir / "pyproject.toml").read_text()
    extra = f"only_mutate = {json.dumps(modules)}\npytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
    text = re.sub(r"(\[tool\.mutmut\]\n(?:.*\n)*?)(?=\n\[|\Z)", lambda m: m.group(1) + extra, text, count=1)
    (workdir / "pyproject.toml").write_text(text)


def _survivors(workdir: Path) -> list[str]:
    done = subprocess.run([sys.executable, "-m", "mutmut", "results"], cwd=workdir, capture_output=True, text=True)
    return [line.split(":")[0].strip() for line in done.stdout.splitlines() if line.strip().endswith(": survived")]


def run_group(name: str, jobs: int, keep: bool) -> dict:
    modules, tests = GROUPS[name]
    workdir = Path(tempfile.mkdtemp(prefix=f"mutate-{name}-"))
    try:
        _copy_repo(workdir)
        modules, tests = _existing(modules, workdir), _existing(tests, workdir)
        if not modules:
            return {"group": name, "not_run": "no such module"}
        _configure(workdir, modules, tests)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(jobs)], cwd=workdir,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run([sys.executable, "-m", "mutmut", "export-cicd-stats"], cwd=workdir, capture_output=True)
        stats = json.loads((workdir / "mutants" / "mutmut-cicd-stats.json").read_text())
        stats.update(group=name, modules=modules, seconds=round(time.perf_counter() - started), survivors=_survivors(workdir))
        return stats
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)


def _killed(stats: dict) -> int:
    return stats["killed"] + stats.get("timeout", 0) + stats.get("segfault", 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("groups", nargs="*", choices=list(GROUPS), default=[])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--keep", action="store_true", help="keep the scratch copies (to `mutmut browse` them)")
    args = parser.parse_args()
    results = [run_group(name, args.jobs, args.keep) for name in args.groups or list(GROUPS)]
    measured = [r for r in results if "killed" in r]
    print(f"{'group':14} {'killed':>7} {'total':>6} {'score':>6} {'time':>6}")
    for r in measured:
        print(f"{r['group']:14} {_killed(r):7d} {r['total']:6d} {_killed(r) / max(r['total'], 1):6.1%} {r['seconds']:5d}s")
    for r in results:
        if "not_run" in r:
            print(f"{r['group']:14} not run: {r['not_run']}")
    killed, total = sum(_killed(r) for r in measured), sum(r["total"] for r in measured)
    score = killed / max(total, 1)
    print(f"{'all':14} {killed:7d} {total:6d} {score:6.1%}   target {TARGET:.0%}: {'met' if score >= TARGET else 'NOT met'}")
    lines = [f"# Surviving mutants ({datetime.date.today()}, `make mutate`)", ""]
    for r in measured:
        lines += [f"## {r['group']} ({len(r['survivors'])})", ""] + [f"- `{s}`" for s in r["survivors"]] + [""]
    (ROOT / "docs" / "mutation-survivors.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
