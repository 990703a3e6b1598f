"""Mutation score of the core modules: how many deliberate small bugs (mutants) the test suite catches.

Runs mutmut (a maintained mutation-testing tool) once per group of core modules, each in a scratch copy of
the repository with the group's own tests, and prints killed / total per group and overall. mutmut records
which tests reach each function and runs only those against a mutant of it, so a group's test list bounds the
first (statistics) run, not every mutant's.

Every mutant that is not killed is written to docs/mutation-survivors.md with its one-line change and its
review from benchmarks/mutation_reviews.yaml or benchmarks/mutation_reviews/GROUP.yaml (equivalent and why, or the test that now kills it); a survivor
with no review is marked so. Results are kept per group in benchmarks/mutation_results.json, so running one
group updates its own lines and keeps the others'. Too slow for CI (minutes per group on 2 cores):
`make mutate` runs it.

    python benchmarks/mutation_score.py [GROUP ...] [--jobs N] [--keep]
    python benchmarks/mutation_score.py GROUP --resume DIR   # carry on in a copy kept by --keep
    python benchmarks/mutation_score.py sources --sample 5  # every 5th mutant only: an estimate, marked so
    python benchmarks/mutation_score.py --recheck [GROUP ...]  # run only the stored survivors again, current tests
    python benchmarks/mutation_score.py --report      # rewrite the survivors doc from the stored results
    python benchmarks/mutation_score.py --stubs GROUP  # review stubs (YAML) for its unreviewed survivors
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
RESULTS = ROOT / "benchmarks" / "mutation_results.json"
REVIEWS = ROOT / "benchmarks" / "mutation_reviews.yaml"
REVIEWS_BY_GROUP = ROOT / "benchmarks" / "mutation_reviews"  # GROUP.yaml each: reviews written in parallel
SURVIVORS_DOC = ROOT / "docs" / "mutation-survivors.md"
TARGET = 0.85
KILLED = {"killed", "timeout", "segfault", "caught by type check"}
# "suspicious" is not killed: the mutant's test process ended by SIGTERM (exit -15) before any test failed. The
# source: numba's default OpenMP threading layer terminates a process forked from one that already used it ("fork()
# called from a process already using GNU OpenMP"), and mutmut forks every mutant's tests from a process that ran
# the BM25 mining tests. The workqueue layer has no such state, so mutmut runs with it.
MUTMUT_ENV = {**os.environ, "NUMBA_THREADING_LAYER": "workqueue"}
NOT_SLOW = ["-m", "not slow"]  # training tests: minutes each, and they reach the checks only through the same calls

# group: (module globs mutmut may mutate, the tests that speak for them, extra pytest arguments). Globs cover a
# module and the package it may become (sources.py or sources/*); tests/test_mutants_<group>*.py join their group.
GROUPS: dict[str, tuple[list[str], list[str], list[str]]] = {
    "table": (["lossadvisor/table.py"], ["tests/test_table.py"], []),
    "profile": (["lossadvisor/profile.py", "lossadvisor/profile/*"],
                ["tests/test_profile.py", "tests/test_label_names.py", "tests/test_inspect_manifest.py",
                 "tests/test_cli_inspect.py", "tests/test_shapes.py", "tests/test_shapes_sources.py",
                 "tests/test_property_inspect.py"], NOT_SLOW),
    "advice": (["lossadvisor/advice.py", "lossadvisor/advice/*"],
               ["tests/test_inspect_manifest.py", "tests/test_profile.py", "tests/test_cli_inspect.py",
                "tests/test_recipe*.py", "tests/test_families.py", "tests/test_shapes.py", "tests/test_shapes_more.py",
                "tests/test_printed_commands.py", "tests/test_property_inspect.py"], NOT_SLOW),
    "tidy": (["lossadvisor/tidy.py", "lossadvisor/convert/clean.py"],
             ["tests/test_tidy.py", "tests/test_fixes_apply.py", "tests/test_convert.py", "tests/test_cli_convert.py"],
             NOT_SLOW),
    "sources": (["lossadvisor/sources.py", "lossadvisor/sources/*"],
                ["tests/test_profile.py", "tests/test_inspect_manifest.py", "tests/test_property_inspect.py",
                 "tests/test_label_names.py", "tests/test_property_sources.py", "tests/test_shapes_sources.py",
                 "tests/test_cli_inspect.py", "tests/test_hostile_data.py", "tests/test_shapes_more.py"], NOT_SLOW),
    "convert": (["lossadvisor/convert/reshape.py", "lossadvisor/convert/plan.py", "lossadvisor/convert/classes.py",
                 "lossadvisor/convert/writer.py"],
                ["tests/test_convert.py", "tests/test_cli_convert.py", "tests/test_teacher_logits.py",
                 "tests/test_convert_stream.py", "tests/test_mine_scale.py", "tests/test_families_convert.py",
                 "tests/test_cli_convert_scale.py", "tests/test_tidy.py"], NOT_SLOW),
    "mine": (["lossadvisor/convert/mine*.py", "lossadvisor/convert/teacher.py"],
             ["tests/test_convert.py", "tests/test_cli_convert.py", "tests/test_teacher_logits.py",
              "tests/test_mine_scale.py", "tests/test_families_convert.py", "tests/test_cli_convert_scale.py"], NOT_SLOW),
    "trial-checks": (["lossadvisor/trial/data_checks.py"],
                     ["tests/test_trial.py", "tests/test_cli_trial.py", "tests/test_trial_evidence.py"], NOT_SLOW),
    "scaffold": (["lossadvisor/scaffold.py", "lossadvisor/scaffold/*"],
                 ["tests/test_scaffold.py", "tests/test_cli_scaffold.py", "tests/test_recipe.py"], NOT_SLOW),
}


def _existing(patterns: list[str], root: Path) -> list[str]:
    """The patterns that match something; test patterns are expanded (pytest takes paths, not globs), module
    patterns are kept as globs (mutmut's only_mutate takes globs)."""
    found: list[str] = []
    for pattern in patterns:
        paths = sorted(str(p.relative_to(root)) for p in root.glob(pattern))
        if paths:
            found += paths if pattern.startswith("tests/") else [pattern]
    return list(dict.fromkeys(found))


def _copy_repo(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    for name in files:
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def _configure(workdir: Path, modules: list[str], tests: list[str], pytest_args: list[str]) -> None:
    text = (workdir / "pyproject.toml").read_text()
    extra = f"only_mutate = {json.dumps(modules)}\npytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
    if pytest_args:
        base = re.search(r"^pytest_add_cli_args = (\[.*\])$", text, re.M)
        args = (json.loads(base.group(1)) if base else []) + pytest_args
        text = re.sub(r"^pytest_add_cli_args = .*\n", "", text, flags=re.M)
        extra += f"pytest_add_cli_args = {json.dumps(args)}\n"
    text = re.sub(r"(\[tool\.mutmut\]\n(?:.*\n)*?)(?=\n\[|\Z)", lambda m: m.group(1) + extra, text, count=1)
    (workdir / "pyproject.toml").write_text(text)


# One process reads every diff: `mutmut show` per mutant costs a Python start-up each (minutes for a thousand).
_SHOW_ALL = """
import contextlib, io, json, sys
from mutmut.__main__ import show
changes = {}
for name in json.load(sys.stdin):
    text = io.StringIO()
    try:
        with contextlib.redirect_stdout(text):
            show.callback(name)
    except FileNotFoundError:
        pass
    changes[name] = text.getvalue()
json.dump(changes, sys.stdout)
"""


def _changes(workdir: Path, mutants: list[str]) -> dict[str, tuple[str, str]]:
    """Each mutant's changed line: (as written, as mutated), each stripped; ("", "") for one mutmut cannot find."""
    done = subprocess.run([sys.executable, "-c", _SHOW_ALL], cwd=workdir, input=json.dumps(mutants), capture_output=True,
                          text=True, check=True)
    found = {}
    for name, diff in json.loads(done.stdout).items():
        lines = diff.splitlines()
        removed = [line[1:].strip() for line in lines if line.startswith("-") and not line.startswith("---")]
        added = [line[1:].strip() for line in lines if line.startswith("+") and not line.startswith("+++")]
        found[name] = (" / ".join(removed), " / ".join(added))
    return found


def _statuses(workdir: Path, every: bool = False) -> list[tuple[str, str]]:
    """(mutant, status) for every mutant mutmut did not count as killed (with `every`, for all of them)."""
    command = [sys.executable, "-m", "mutmut", "results"] + (["--all", "true"] if every else [])
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    pairs = [line.strip().rpartition(": ")[::2] for line in done.stdout.splitlines()]
    return [(name, status) for name, status in pairs if name]


def _not_killed(workdir: Path) -> list[dict]:
    not_killed = [(name, status) for name, status in _statuses(workdir) if status not in KILLED]
    changes = _changes(workdir, [name for name, _ in not_killed])
    return [{"mutant": name, "status": status, "was": changes[name][0], "now": changes[name][1]}
            for name, status in not_killed]


def _all_mutants(workdir: Path) -> list[str]:
    """Every mutant of the group, in mutmut's order: generated by a run filtered on a name that matches none
    (mutmut writes the mutants, then stops before its statistics run)."""
    subprocess.run([sys.executable, "-m", "mutmut", "run", "lossadvisor.x_none__mutmut_0"], cwd=workdir,
                   capture_output=True, env=MUTMUT_ENV)
    names: list[str] = []
    for meta in sorted((workdir / "mutants").rglob("*.meta")):
        names += json.loads(meta.read_text())["exit_code_by_key"]
    return names


def _release(workdir: Path, name: str, keep: bool) -> None:
    """A scratch copy is removed, or kept (--keep, --resume, or a run that checked nothing) and named."""
    if keep:
        print(f"{name}: scratch copy in {workdir}", file=sys.stderr)
    else:
        shutil.rmtree(workdir, ignore_errors=True)


def run_group(name: str, jobs: int, keep: bool, resume: Path | None = None, sample: int = 1) -> dict:
    """One group in a scratch copy; with `resume`, carry on in a copy kept by an earlier run (--keep), where
    mutmut checks only the mutants it has not checked yet. With `sample` K > 1, only every K-th mutant is checked
    (for the largest groups on a small machine): the score is then an estimate, and the result says so."""
    modules, tests, pytest_args = GROUPS[name]
    workdir = resume or Path(tempfile.mkdtemp(prefix=f"mutate-{name}-"))
    keep = keep or resume is not None
    try:
        modules = _existing(modules, resume or ROOT)
        tests = _existing(tests + [f"tests/test_mutants_{name.replace('-', '_')}*.py"], resume or ROOT)
        if not modules:
            return {"group": name, "not_run": "no such module"}
        if resume is None:
            _copy_repo(workdir)
            _configure(workdir, modules, tests, pytest_args)
        started = time.perf_counter()
        chosen: list[str] = []
        if sample > 1:
            every = _all_mutants(workdir)
            chosen = every[::sample]
        # mutmut puts the mutated copy first on sys.path of its own process; tests that run `lossadvisor` in a
        # subprocess still import the unmutated one, so they cannot kill a mutant (and are left out of the groups)
        with open(workdir / "mutmut.log", "ab") as log:
            subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(jobs), *chosen], cwd=workdir,
                           stdout=log, stderr=subprocess.STDOUT, env=MUTMUT_ENV)
        if chosen:
            return _sampled_result(name, workdir, chosen, len(every), sample, modules, tests, started)
        subprocess.run([sys.executable, "-m", "mutmut", "export-cicd-stats"], cwd=workdir, capture_output=True)
        stats_file = workdir / "mutants" / "mutmut-cicd-stats.json"
        stats = json.loads(stats_file.read_text()) if stats_file.is_file() else {}
        checked = sum(v for k, v in stats.items() if k != "total" and isinstance(v, int))
        if not checked:
            # mutmut stops before the first mutant when a test fails on the unmutated code (the stats or the clean
            # run): say which, rather than report a score of nothing
            text = (workdir / "mutmut.log").read_text(errors="replace").replace("\r", "\n")
            lines = [line for line in text.splitlines() if line.strip() and not re.match(r"^\W? ?(Running|Generating)", line)]
            keep = True
            return {"group": name, "not_run": "mutmut checked no mutant:\n    " + "\n    ".join(lines[-25:])}
        stats.update(group=name, modules=modules, tests=tests, seconds=round(time.perf_counter() - started),
                     date=str(datetime.date.today()), survivors=_not_killed(workdir))
        return stats
    finally:
        _release(workdir, name, keep)


def recheck_group(name: str, stored: dict, jobs: int, keep: bool) -> dict:
    """Run the survivors of a stored run again, with the tests as they are now, in a fresh scratch copy.

    mutmut numbers the mutants of a function in order, so a name means the same change only while the module
    is unchanged: every survivor's change is compared with the stored one first, and a group whose modules
    moved must be run whole again. The mutants killed in the stored run stay killed (the tests only grew).
    """
    modules, tests, pytest_args = GROUPS[name]
    survivors = stored["survivors"]
    if not survivors:
        return stored
    workdir = Path(tempfile.mkdtemp(prefix=f"recheck-{name}-"))
    try:
        tests = _existing(tests + [f"tests/test_mutants_{name.replace('-', '_')}*.py"], ROOT)
        _copy_repo(workdir)
        _configure(workdir, _existing(modules, ROOT), tests, pytest_args)
        started = time.perf_counter()
        names = [s["mutant"] for s in survivors]
        with open(workdir / "mutmut.log", "ab") as log:
            subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(jobs), *names], cwd=workdir,
                           stdout=log, stderr=subprocess.STDOUT, env=MUTMUT_ENV)
        changes = _changes(workdir, names)
        moved = [s["mutant"] for s in survivors if changes[s["mutant"]] != (s["was"], s["now"])]
        if moved:
            return {"group": name, "not_run": f"{len(moved)} survivor(s) changed since the run (the module was "
                                              f"edited), e.g. {moved[0]}: run the group whole again"}
        status = dict(_statuses(workdir, every=True))
        if any(status.get(n, "not checked") == "not checked" for n in names):
            text = (workdir / "mutmut.log").read_text(errors="replace").replace("\r", "\n").strip().splitlines()
            return {"group": name, "not_run": "mutmut did not check the survivors:\n    " + "\n    ".join(text[-25:])}
        result = dict(stored)
        for survivor in survivors:
            was = survivor["status"].replace(" ", "_")
            now = status[survivor["mutant"]]
            result[was] -= 1
            key = now.replace(" ", "_")
            result[key] = result.get(key, 0) + 1
        result["survivors"] = [{**s, "status": status[s["mutant"]]} for s in survivors
                               if status[s["mutant"]] not in KILLED]
        result.update(tests=tests, rechecked=str(datetime.date.today()),
                      recheck_seconds=round(time.perf_counter() - started))
        return result
    finally:
        _release(workdir, name, keep)


def _sampled_result(name: str, workdir: Path, chosen: list[str], population: int, sample: int, modules: list[str],
                    tests: list[str], started: float) -> dict:
    status = dict(_statuses(workdir, every=True))
    counts: dict[str, int] = {}
    for mutant in chosen:
        key = status.get(mutant, "not checked").replace(" ", "_")
        counts[key] = counts.get(key, 0) + 1
    not_killed = [m for m in chosen if status.get(m) not in KILLED]
    changes = _changes(workdir, not_killed)
    result = {"killed": 0, "survived": 0, "no_tests": 0, "suspicious": 0, "timeout": 0, "segfault": 0, **counts,
              "total": len(chosen), "group": name, "modules": modules, "tests": tests,
              "sampled": f"every {sample}th of {population} mutants", "population": population,
              "seconds": round(time.perf_counter() - started), "date": str(datetime.date.today()),
              "survivors": [{"mutant": m, "status": status.get(m, "not checked"), "was": changes[m][0],
                             "now": changes[m][1]} for m in not_killed]}
    return result


def _overall(results: dict[str, dict]) -> tuple[int, int]:
    """Killed and total over every group; a sampled group counts for its whole population, at its sample's rate."""
    killed = total = 0.0
    for r in results.values():
        weight = r.get("population", r["total"]) / max(r["total"], 1)
        killed += _killed(r) * weight
        total += r["total"] * weight
    return round(killed), round(total)


def _killed(stats: dict) -> int:
    return stats["killed"] + stats.get("timeout", 0) + stats.get("segfault", 0)


def _function(mutant: str) -> str:
    """'lossadvisor.table.xǁLossTableǁresolve_loss__mutmut_9' -> 'lossadvisor.table LossTable.resolve_loss';
    'lossadvisor.table.x__validate__mutmut_7' -> 'lossadvisor.table _validate'."""
    found = re.match(r"^(.*?)\.x(_|ǁ)(.*?)(__mutmut_\d+)?$", mutant)
    if not found:
        return mutant
    module, kind, name = found.groups()[:3]
    # mutmut names a function x_NAME and a method xǁCLASSǁNAME
    mangled = name if kind == "_" else name.replace("ǁ", ".")
    return f"{module} {mangled}"


def _load_reviews() -> list[dict]:
    import yaml

    files = [REVIEWS] * REVIEWS.is_file() + sorted(REVIEWS_BY_GROUP.glob("*.yaml"))
    return [review for path in files for review in yaml.safe_load(path.read_text(encoding="utf-8")) or []]


def _review_for(survivor: dict, reviews: list[dict]) -> dict | None:
    """Reviews match on the function and the change, not on mutmut's numbering (which moves with every edit)."""
    where = _function(survivor["mutant"])
    for review in reviews:
        if review["where"] == where and review["was"] == survivor["was"] and review["now"] == survivor["now"]:
            return review
    return None


def _code(text: str) -> str:
    """Inline code that may itself hold backticks (a double-backtick span)."""
    return f"`` {text} ``" if text else "(nothing)"


def score_table(results: dict[str, dict]) -> list[str]:
    """The per-group score as a markdown table (the survivors doc and the README show the same one)."""
    lines = ["| group | modules | mutants | killed | score | run time | date |",
             "| --- | --- | ---: | ---: | ---: | ---: | --- |"]
    for name, r in results.items():
        modules = ", ".join(m.removeprefix("lossadvisor/") for m in r["modules"])
        name = f"{name} (partial: {r['total']} mutants checked)" if r.get("partial") else name
        name = f"{name} (sample: {r['sampled']})" if r.get("sampled") else name
        lines.append(f"| {name} | {modules} | {r['total']} | {_killed(r)} | {_killed(r) / max(r['total'], 1):.1%} | "
                     f"{r['seconds']} s | {r['date']} |")
    killed, total = _overall(results)
    lines.append(f"| **all** (a sampled group counts for its whole population, at its sample's rate) | | {total} | {killed} | "
                 f"{killed / max(total, 1):.1%} | | |")
    for name in GROUPS:
        if name not in results:
            lines.append(f"| {name} | not measured yet | | | | | |")
    return lines


def write_readme(results: dict[str, dict]) -> None:
    """The score table between the README's mutation-score markers."""
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    start, end = "<!-- mutation-score -->", "<!-- /mutation-score -->"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        table = "\n".join("  " + line for line in score_table(results))
        readme.write_text(f"{head}{start}\n{table}\n{end}{tail}", encoding="utf-8")


def write_report(results: dict[str, dict]) -> int:
    """docs/mutation-survivors.md from the stored results; returns how many survivors have no review."""
    reviews = _load_reviews()
    unreviewed = 0
    lines = ["# Mutation testing: the surviving mutants, reviewed", "",
             "Written by `make mutate` (benchmarks/mutation_score.py); reviews live in benchmarks/mutation_reviews.yaml.",
             "A mutant is *killed* when a test fails on it (a timeout counts as killed). Each survivor below is either",
             "**equivalent** (no behaviour a user could see changes, and why) or **killed now** by the named test, added",
             "after the run; the next run counts it as killed. *(suspicious)*: the mutant's test process ended by SIGTERM",
             "(exit -15, numba's OpenMP layer in a forked process) before any test failed; *(no tests)*: no selected test reaches the",
             "function in-process. Both count as not killed. A survivor marked **not reviewed yet** is an open item.", "",
             *score_table(results), ""]
    for name, r in results.items():
        survivors = r["survivors"]
        lines += [f"## {name}: {len(survivors)} not killed", "",
                  f"Modules: {', '.join(r['modules'])}. Tests: {', '.join(r.get('tests', []))}.", ""]
        for survivor in survivors:
            review = _review_for(survivor, reviews)
            if review is None:
                unreviewed += 1
                verdict = "**not reviewed yet**"
            elif review.get("killed_by"):
                verdict = f"**killed now** by `{review['killed_by']}`"
            else:
                verdict = f"**equivalent**: {review['why']}"
            status = "" if survivor["status"] == "survived" else f" ({survivor['status']})"
            lines.append(f"- `{survivor['mutant'].rsplit('.', 1)[-1]}`{status}: {_code(survivor['was'])} → "
                         f"{_code(survivor['now'])}. {verdict}")
        lines.append("")
    SURVIVORS_DOC.write_text("\n".join(lines))
    return unreviewed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("groups", nargs="*", metavar="GROUP", help=f"any of {', '.join(GROUPS)} (default: all)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--keep", action="store_true", help="keep the scratch copies (to `mutmut browse` them)")
    parser.add_argument("--report", action="store_true", help="only rewrite the survivors doc from the stored results")
    parser.add_argument("--stubs", action="store_true", help="print review stubs (YAML) for the unreviewed survivors")
    parser.add_argument("--resume", type=Path, metavar="DIR", help="carry on in the scratch copy DIR of one GROUP")
    parser.add_argument("--sample", type=int, default=1, metavar="K",
                        help="check only every K-th mutant of each group (an estimate, marked so)")
    parser.add_argument("--recheck", action="store_true",
                        help="run only the stored survivors again, with the current tests (modules unchanged)")
    args = parser.parse_args()
    unknown = [name for name in args.groups if name not in GROUPS]
    if unknown:
        parser.error(f"unknown group {', '.join(unknown)} (groups: {', '.join(GROUPS)})")
    if args.resume and len(args.groups) != 1:
        parser.error("--resume DIR carries on one group: name it")
    stored: dict[str, dict] = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    if args.stubs:
        import yaml

        reviews = _load_reviews()
        for name, r in stored.items():
            if not args.groups or name in args.groups:
                stubs = [{"where": _function(s["mutant"]), "was": s["was"], "now": s["now"], "why": ""}
                         for s in r["survivors"] if _review_for(s, reviews) is None]
                print(yaml.safe_dump(stubs, sort_keys=False, allow_unicode=True, width=200))
        return
    if not args.report:
        for name in args.groups or list(GROUPS):
            if args.recheck and name not in stored:
                print(f"{name}: not rechecked: no stored run", file=sys.stderr)
                continue
            if args.recheck:
                result = recheck_group(name, stored[name], args.jobs, args.keep)
            else:
                result = run_group(name, args.jobs, args.keep, args.resume, args.sample)
            if "not_run" in result:
                print(f"{name}: not run: {result['not_run']}", file=sys.stderr)
                continue
            stored = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}  # read again: a group takes minutes
            stored[name] = result
            stored = {name: stored[name] for name in GROUPS if name in stored}
            RESULTS.write_text(json.dumps(stored, indent=1, ensure_ascii=False) + "\n")
    print(f"{'group':14} {'killed':>7} {'total':>6} {'score':>6} {'time':>6}  date")
    for r in stored.values():
        print(f"{r['group']:14} {_killed(r):7d} {r['total']:6d} {_killed(r) / max(r['total'], 1):6.1%} "
              f"{r['seconds']:5d}s  {r['date']}")
    for name in GROUPS:
        if name not in stored:
            print(f"{name:14} not measured")
    killed, total = _overall(stored)
    score = killed / max(total, 1)
    print(f"{'all':14} {killed:7d} {total:6d} {score:6.1%}   target {TARGET:.0%}: {'met' if score >= TARGET else 'NOT met'}")
    unreviewed = write_report(stored)
    write_readme(stored)
    print(f"{SURVIVORS_DOC.relative_to(ROOT)}: {unreviewed} survivor(s) not reviewed yet")


if __name__ == "__main__":
    main()
