"""Every command over every hostile input (tests/hostile_inputs.py): a correct result, or one clear line and exit 2.

Never a traceback, never a hang (each run has a time limit), never a changed input (checksums before and after),
never a stray temporary file. Two more matrices: hostile paths where a command writes (hostile_inputs.TARGETS:
links, FIFOs, the input itself, folders that are not lossadvisor's) and custom losses that call sys.exit
(hostile_inputs.USER_CODE). The outcomes are written to docs/hostile-inputs.md only when asked
(LOSSADVISOR_HOSTILE_REPORT=1) and the whole of every matrix ran: an ordinary run never writes to the repository.

The commands run in-process through typer's CliRunner (sentence_transformers is imported once, not once per
trial); `inspect` also runs as a real process over every input, and `trial` over a few.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
import hostile_inputs  # noqa: E402
from hostile_inputs import INPUTS, TARGETS, USER_CODE, time_limit  # noqa: E402

from lossadvisor.cli import app  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
REPORT = REPO / "docs" / "hostile-inputs.md"
COMMANDS = ("inspect", "inspect --json", "convert", "scaffold", "trial", "advise --no-input")
LIMIT_S = {"trial": 180}  # per single run; everything else gets DEFAULT_LIMIT_S
DEFAULT_LIMIT_S = 60
SUBPROCESS_LIMIT_S = 60
OUTCOMES: dict[tuple[str, str], str] = {}
TARGET_COMMANDS = ("convert", "convert --overwrite", "scaffold --overwrite", "trial --plot --overwrite")
TARGET_OUTCOMES: dict[tuple[str, str], str] = {}
CODE_OUTCOMES: dict[str, str] = {}
REPORT_ENV = "LOSSADVISOR_HOSTILE_REPORT"  # =1: a complete run regenerates docs/hostile-inputs.md


# --------------------------------------------------------------------------------------------- helpers


def tree_digest(path: Path) -> str:
    """A checksum of everything under `path` (names, types, bytes, link targets); never opens a FIFO."""
    digest = hashlib.sha256()
    if not os.path.lexists(path):
        return "absent"
    entries = [path] + (sorted(path.rglob("*")) if path.is_dir() and not path.is_symlink() else [])
    for entry in entries:
        info = os.lstat(entry)
        digest.update(str(entry.relative_to(path)).encode("utf-8", "surrogateescape") + b"\0")
        digest.update(f"{stat.S_IFMT(info.st_mode)}:{info.st_size}".encode())
        if stat.S_ISLNK(info.st_mode):
            digest.update(os.readlink(entry).encode("utf-8", "surrogateescape"))
        elif stat.S_ISREG(info.st_mode):
            with open(entry, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Run:
    args: list[str]
    code: int
    stdout: str
    stderr: str
    seconds: float


def run_cli(args: list[str], limit: int = DEFAULT_LIMIT_S) -> Run:
    started = time.perf_counter()
    with time_limit(limit):
        result = CliRunner().invoke(app, args, catch_exceptions=True)
    seconds = time.perf_counter() - started
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        # CliRunner caught something the CLI let escape: that is a traceback for a user.
        import traceback

        tb = "".join(traceback.format_exception(result.exception))
        pytest.fail(f"{args}: the command raised {type(result.exception).__name__}: {result.exception}\n{tb[-3000:]}")
    return Run(args, result.exit_code, result.stdout, result.stderr, seconds)


def check_clean_failure(run: Run) -> str:
    """A failure must be exit 2 with one `Error:` line and at most one `Hint:` line; returns the message."""
    assert "Traceback" not in run.stdout + run.stderr, run.stderr[-3000:]
    assert run.code == 2, f"{run.args}: exit {run.code} (1 is an internal error)\n{run.stderr[-2000:]}"
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    # A trial reports its progress on stderr while it trains (issue 12); the failure then ends stderr.
    first_error = next((i for i, line in enumerate(lines) if line.startswith("Error: ")), 0)
    lines = lines[first_error:] if run.args[:1] == ["trial"] else lines
    assert lines and lines[0].startswith("Error: "), f"{run.args}: stderr does not start with 'Error:':\n{run.stderr[-2000:]}"
    assert len(lines) <= 2 and all(line.startswith(("Error: ", "Hint: ")) for line in lines), \
        f"{run.args}: more than one Error line and one Hint line:\n{run.stderr[-2000:]}"
    assert not any(ord(ch) < 32 and ch not in "\t" for line in lines for ch in line), f"control characters: {lines!r}"
    return lines[0].removeprefix("Error: ")


def outcome(run: Run, root: Path) -> str:
    if run.code == 0:
        return "ok"
    message = check_clean_failure(run)
    message = message.replace(str(root), "…")
    if len(message) > 110:
        message = message[:107] + "…"
    return f"exit {run.code}: {message}".replace("|", "\\|")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    specs = hostile_inputs.build_all(root / "in")
    digests = {name: tree_digest(root / "in" / name) for name in specs}
    return root, specs, digests


@pytest.fixture(autouse=True)
def offline_and_contained(monkeypatch, tmp_path):
    """No network, and a private temporary folder so that leftovers are seen."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    yield scratch
    # torch keeps a compile cache there by design (torchinductor_<user>): not a leftover of ours.
    leftovers = [p.name for p in scratch.iterdir() if not p.name.startswith("torchinductor_")]
    assert not leftovers, f"temporary files left behind: {leftovers}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |",
            *("| " + " | ".join(row) + " |" for row in rows)]


@pytest.fixture(scope="module", autouse=True)
def write_report():
    yield
    if os.environ.get(REPORT_ENV) != "1":
        return  # an ordinary test run never writes to the repository
    complete = ({(h.name, c) for h in INPUTS for c in COMMANDS} <= set(OUTCOMES)
                and {(t.name, c) for t in TARGETS for c in TARGET_COMMANDS} <= set(TARGET_OUTCOMES)
                and {c.name for c in USER_CODE} <= set(CODE_OUTCOMES))
    if not complete:
        return  # a partial run: keep the last complete table
    lines = [
        "# Hostile inputs × commands",
        "",
        f"Generated by `{REPORT_ENV}=1 python -m pytest tests/test_hostile.py` (inputs: `tests/hostile_inputs.py`);",
        "do not edit by hand. An ordinary test run checks the same things and leaves this file alone.",
        "Every run ends with a result (`ok`) or one `Error:` line and exit 2: no traceback, no hang, the input",
        "byte-identical afterwards, no temporary files left behind. `…` stands for the folder the inputs were written to.",
        "`trial` runs `--steps 2` with the first recommended loss (BinaryCrossEntropyLoss when there is none);",
        "`convert` runs `--fix` and `--to` every conversion that inspect offers.",
        "",
    ]
    lines += _table(["input", "what it is", *(f"`{c}`" for c in COMMANDS)],
                    [[f"`{h.name}`", h.what, *(OUTCOMES[(h.name, c)] for c in COMMANDS)] for h in INPUTS])
    lines += [
        "",
        "## Hostile paths where a command writes",
        "",
        "What already sits at `-o` (convert: `--fix`, a save_to_disk folder where the thing there is a folder, else",
        "`.parquet`; scaffold: `.py`) or at trial's `--plot` (`.png`). Except for the controls, every run must refuse",
        "with one line and exit 2, before any work, and leave everything there (links, their targets, the input)",
        "byte-identical.",
        "",
    ]
    lines += _table(["already there", "what it is", *(f"`{c}`" for c in TARGET_COMMANDS)],
                    [[f"`{t.name}`", t.what, *(TARGET_OUTCOMES[(t.name, c)] for c in TARGET_COMMANDS)] for t in TARGETS])
    lines += ["", "## Custom losses that misbehave", "",
              "`trial --loss FILE.py:HostileLoss`: user code that calls sys.exit is the loss failing (exit 2), never exit 0.", ""]
    lines += _table(["custom loss", "what it does", "`trial`"],
                    [[f"`{c.name}`", c.what, CODE_OUTCOMES[c.name]] for c in USER_CODE])
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _inspection(spec: str) -> dict | None:
    """inspect --json, in-process, for the commands that depend on what inspect found (None when it fails)."""
    run = run_cli(["inspect", spec, "--json"])
    return json.loads(run.stdout) if run.code == 0 else None


def _top_loss(report: dict | None) -> str:
    if report and report.get("recommendations"):
        return report["recommendations"][0]["loss"]
    return "BinaryCrossEntropyLoss"


def _advise_available() -> bool:
    return CliRunner().invoke(app, ["advise", "--help"]).exit_code == 0


# --------------------------------------------------------------------------------------------- the matrix


def _check_input_unchanged(hostile, name: str) -> None:
    root, specs, digests = hostile
    assert tree_digest(root / "in" / name) == digests[name], f"{name}: the input changed"
    marker = root / "in" / name / "PWNED"
    assert not marker.exists(), f"{name}: code from the data folder ran"


@pytest.mark.parametrize("item", INPUTS, ids=lambda h: h.name)
@pytest.mark.parametrize("command", COMMANDS)
def test_command_on_hostile_input(hostile, item, command, tmp_path, monkeypatch):
    root, specs, _ = hostile
    spec = specs[item.name]
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.chdir(out)  # anything written to the working folder is caught below
    cells: list[str] = []
    results: list[tuple[str, Run]] = []

    if command == "inspect":
        run = run_cli(["inspect", spec])
        results.append(("", run))
        if run.code == 0:
            assert "\x1b" not in run.stdout, "a terminal escape sequence from the data reached the terminal"
    elif command == "inspect --json":
        run = run_cli(["inspect", spec, "--json"])
        results.append(("", run))
        if run.code == 0:
            report = json.loads(run.stdout)
            assert report["format"] is None or report["recommendations"]
            assert report["sample_rows"] >= 1
    elif command == "convert":
        report = _inspection(spec)
        targets = [c["to"] for c in report["conversions"]] if report and report["format"] else ["triplet"]
        jobs = [("--fix", ["--fix"], out / "fixed")]
        suffixes = [".parquet", ".jsonl", ""]
        jobs += [(f"→{t}", ["--to", t], out / f"{t}{suffixes[i % 3]}") for i, t in enumerate(targets)]
        for label, flags, destination in jobs:
            run = run_cli(["convert", spec, *flags, "-o", str(destination), "--json"])
            results.append((label, run))
            if run.code == 0:
                written = json.loads(run.stdout)
                assert written["rows_out"] >= 1 and Path(written["output"]).exists()
                if destination.suffix == ".parquet":
                    assert pq.read_table(destination).num_rows == written["rows_out"]
            else:
                assert not os.path.lexists(destination), f"{label}: a failed convert left {destination}"
        stray = [p.name for p in out.iterdir() if p.name.startswith(".")]
        assert not stray, f"temporary siblings left: {stray}"
    elif command == "scaffold":
        report = _inspection(spec)
        script = out / "train.py"
        run = run_cli(["scaffold", spec, "--loss", _top_loss(report), "-o", str(script), "--json"])
        results.append(("", run))
        if run.code == 0:
            compile(script.read_text(encoding="utf-8"), str(script), "exec")
        else:
            assert not script.exists()
    elif command == "trial":
        report = _inspection(spec)
        run = run_cli(["trial", spec, "--loss", _top_loss(report), "--steps", "2", "--batch-size", "4", "--json"],
                      limit=LIMIT_S["trial"])
        results.append(("", run))
        if run.code == 0:
            trial = json.loads(run.stdout)
            assert all(r["ok"] and len(r["losses"]) == 2 for r in trial["results"])
    else:  # advise --no-input
        assert _advise_available(), "`lossadvisor advise` is missing"  # a skip here once hid its absence
        run = run_cli(["advise", spec, "--no-input"], limit=120)
        results.append(("", run))

    for label, run in results:
        assert "Traceback" not in run.stdout + run.stderr, f"{label}: {run.stderr[-3000:]}"
        cell = outcome(run, root)
        cells.append(f"{label}: {cell}" if label else cell)
        if not item.ok_possible:
            assert run.code != 0, f"{item.name}: `{command}` {label} succeeded on an input that cannot make sense"
    OUTCOMES[(item.name, command)] = "<br>".join(cells)
    _check_input_unchanged(hostile, item.name)
    if command != "convert":
        leftovers = [p.name for p in out.iterdir() if p.name != "train.py"]
        assert not leftovers, f"files written to the working folder: {leftovers}"


# --------------------------------------------------------------------------------------------- where commands write


def _scene_digest(scene: Path, leave_out: Path | None = None) -> str:
    """tree_digest of the whole scene (input, working folder, planted things), except the path written to."""
    digest = hashlib.sha256()
    for entry in sorted(scene.rglob("*")):
        if leave_out is not None and (entry == leave_out or leave_out in entry.parents):
            continue
        if entry.is_symlink() or not entry.is_dir():
            digest.update(str(entry.relative_to(scene)).encode() + tree_digest(entry).encode())
    return digest.hexdigest()


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
@pytest.mark.parametrize("command", TARGET_COMMANDS)
def test_command_on_hostile_output_path(target, command, tmp_path, monkeypatch):
    scene = tmp_path / "scene"
    (scene / "in").mkdir(parents=True)
    (scene / "cwd").mkdir()
    monkeypatch.chdir(scene / "cwd")
    data = Path(hostile_inputs.control_labeled_pair(scene / "in"))
    folder_like = target.name in ("link-to-folder", "state-json-folder", "dataset-plus-notes", "plain-folder", "saved-dataset")
    suffix = {"convert": "" if folder_like else ".parquet", "scaffold": ".py", "trial": ".png"}[command.split()[0]]
    path = target.plant(scene, data, suffix)
    before, before_rest = _scene_digest(scene), _scene_digest(scene, leave_out=path)
    overwrite = ["--overwrite"] if "--overwrite" in command else []
    if command.startswith("convert"):
        args = ["convert", str(data), "--fix", "-o", str(path), *overwrite, "--json"]
    elif command.startswith("scaffold"):
        args = ["scaffold", str(data), "--loss", "BinaryCrossEntropyLoss", "-o", str(path), *overwrite, "--json"]
    else:
        args = ["trial", str(data), "--loss", "BinaryCrossEntropyLoss", "--steps", "2", "--batch-size", "4",
                "--plot", str(path), *overwrite, "--json"]
    run = run_cli(args, limit=LIMIT_S["trial"])
    cell = outcome(run, scene)
    TARGET_OUTCOMES[(target.name, command)] = cell
    if not target.replaceable:
        assert run.code == 2, f"{target.name}: `{command}` wrote to {path}: {cell}"
        assert _scene_digest(scene) == before, f"{target.name}: `{command}` changed what was there"
    else:  # a control: whether it is written or refused, nothing but the path itself may change
        if run.code:
            check_clean_failure(run)
        assert _scene_digest(scene, leave_out=path) == before_rest, f"{target.name}: `{command}` changed something else"
    hidden = [str(p.relative_to(scene)) for p in scene.rglob(".*")]
    assert not hidden, f"temporary files left: {hidden}"


@pytest.mark.parametrize("code", USER_CODE, ids=lambda c: c.name)
def test_trial_with_hostile_user_code(code, tmp_path):
    """sys.exit in a custom loss (at import, in __init__, in forward, mid-training): the loss failed, exit 2."""
    data = tmp_path / "in"
    data.mkdir()
    spec = hostile_inputs.control_labeled_pair(data)
    loss = code.write(tmp_path)
    run = run_cli(["trial", spec, "--loss", loss, "--steps", "4", "--batch-size", "4", "--json"], limit=LIMIT_S["trial"])
    CODE_OUTCOMES[code.name] = outcome(run, tmp_path)
    message = check_clean_failure(run)
    assert "sys.exit" in message, message


# --------------------------------------------------------------------------------------------- real processes


def _env() -> dict[str, str]:
    return dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", COLUMNS="100", PYTHONWARNINGS="ignore")


def _subprocess(args: list[str], cwd: Path, env: dict[str, str] | None = None, limit: int = SUBPROCESS_LIMIT_S) -> Run:
    started = time.perf_counter()
    try:
        process = subprocess.run([sys.executable, "-m", "lossadvisor", *args], capture_output=True, text=True,
                                 env=env or _env(), cwd=cwd, timeout=limit, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{args}: no result after {limit} s (a hang)")
    return Run(args, process.returncode, process.stdout, process.stderr, time.perf_counter() - started)


def test_inspect_as_a_real_process_over_every_input(hostile, tmp_path, offline_and_contained):
    root, specs, _ = hostile
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = _env() | {"TMPDIR": str(offline_and_contained)}

    def one(item):
        return item, _subprocess(["inspect", specs[item.name]], cwd, env)

    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(one, INPUTS))
    for item, run in runs:
        assert "Traceback" not in run.stdout + run.stderr, f"{item.name}: {run.stderr[-3000:]}"
        if run.code:
            check_clean_failure(run)
        else:
            assert item.ok_possible, f"{item.name}: inspect succeeded"
        _check_input_unchanged(hostile, item.name)
    assert not list(cwd.iterdir())


@pytest.mark.slow
@pytest.mark.parametrize("name", ["control-labeled-list", "unicode-edge-cases", "nan-labels"])
def test_trial_as_a_real_process(hostile, name, tmp_path, offline_and_contained):
    """The real process: its temporary folder (TMPDIR, checked by the fixture) and its working folder stay empty."""
    root, specs, _ = hostile
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = _env() | {"TMPDIR": str(offline_and_contained)}
    run = _subprocess(["trial", specs[name], "--loss", _top_loss(_inspection(specs[name])), "--steps", "2"], cwd, env,
                      limit=180)
    assert "Traceback" not in run.stdout + run.stderr, run.stderr[-3000:]
    if run.code:
        check_clean_failure(run)
    _check_input_unchanged(hostile, name)
    assert not list(cwd.iterdir()), "the trial left files behind"


def test_hub_id_without_network_fails_cleanly(tmp_path):
    """No HF_HUB_OFFLINE and no way out: a clean error from the real process. That it comes after one short probe,
    not a minute of the hub client's retries, is checked in test_cli_inspect (the probe counted) and timed in
    benchmarks/bench_inspect.py (d); the limit here only guards against a hang."""
    env = {k: v for k, v in _env().items() if k not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")}
    env |= {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "HF_HUB_ETAG_TIMEOUT": "2"}
    run = _subprocess(["inspect", hostile_inputs.HUB_ID], tmp_path, env, limit=60)
    assert run.code == 2, run.stderr
    check_clean_failure(run)


# --------------------------------------------------------------------------------------------- properties

NAMES = ["label", "score", "query", "question", "answer", "docs", "id", "text", "../x", "a/b", "[bold]", "\x1b[1m",
         "dataset_name", "ünï", ""]
WORDS = ["the", "cat", "what", "is", "Paris", "naïve", "日本語", "🙂", "\u200b", "\u202e", "-", "0", "1", "[/]", "\x1b[2J"]
texts = st.one_of(st.none(), st.just(""), st.text(max_size=30), st.lists(st.sampled_from(WORDS), min_size=1, max_size=10).map(" ".join))
numbers = st.one_of(st.none(), st.integers(-3, 5), st.floats(allow_nan=True, allow_infinity=True))
KINDS = {
    "string": (pa.string(), texts),
    "int": (pa.int64(), st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.integers(0, 3))),
    "float": (pa.float64(), st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.floats(0, 1))),
    "bool": (pa.bool_(), st.one_of(st.none(), st.booleans())),
    "list_string": (pa.list_(pa.string()), st.one_of(st.none(), st.lists(texts, max_size=4))),
    "list_float": (pa.list_(pa.float64()), st.one_of(st.none(), st.lists(st.floats(allow_nan=True), max_size=4))),
}


@st.composite
def tables(draw):
    columns = draw(st.lists(st.tuples(st.sampled_from(NAMES), st.sampled_from(sorted(KINDS))), min_size=1, max_size=5,
                            unique_by=lambda c: c[0]))
    n = draw(st.integers(0, 12))
    data = {}
    for name, kind in columns:
        data[name] = pa.array(draw(st.lists(KINDS[kind][1], min_size=n, max_size=n)), type=KINDS[kind][0])
    return pa.table(data)


def _write_as(table: pa.Table, folder: Path, kind: str) -> Path:
    if kind == "parquet":
        path = folder / "data.parquet"
        pq.write_table(table, path)
    elif kind == "jsonl":
        path = folder / "data.jsonl"
        rows = table.to_pylist()
        path.write_text("".join(json.dumps(r, ensure_ascii=False, allow_nan=True) + "\n" for r in rows), encoding="utf-8")
    else:
        import pyarrow.csv as pcsv

        path = folder / "data.csv"
        flat = table.select([n for n in table.column_names if not pa.types.is_nested(table.schema.field(n).type)] or [])
        if not flat.num_columns:
            flat = pa.table({"x": pa.array([None] * table.num_rows, pa.string())})
        pcsv.write_csv(flat, path)
    return path


@settings(max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", 30)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(table=tables(), kind=st.sampled_from(["parquet", "jsonl", "csv"]), target=st.sampled_from(["fix", "labeled-list", "triplet"]))
def test_property_inspect_and_convert(table, kind, target, tmp_path_factory):
    """Random schemas and values through inspect and convert: a result or one clean line, input untouched."""
    folder = tmp_path_factory.mktemp("prop")
    path = _write_as(table, folder, kind)
    before = tree_digest(path)
    run = run_cli(["inspect", str(path), "--json"])
    assert "Traceback" not in run.stdout + run.stderr
    if run.code:
        check_clean_failure(run)
    else:
        json.loads(run.stdout)
    destination = folder / "out.parquet"
    flags = ["--fix"] if target == "fix" else ["--to", target]
    run = run_cli(["convert", str(path), *flags, "-o", str(destination), "--json"])
    if run.code:
        check_clean_failure(run)
        assert not destination.exists()
    else:
        written = json.loads(run.stdout)
        assert pq.read_table(destination).num_rows == written["rows_out"]
    assert tree_digest(path) == before
    assert sorted(p.name for p in folder.iterdir()) in (sorted([path.name]), sorted([path.name, "out.parquet"]))
