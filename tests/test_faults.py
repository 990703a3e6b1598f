"""Faults: convert killed mid-write, read-only and full destinations, writers failing mid-way, NaN in training,
and Ctrl-C during every long step.

The invariants: the destination is absent, the previous complete output, or a new complete one (never half a
file); the input is byte-identical (checksum) afterwards; no temporary sibling survives a run that could clean up
after itself, and the next run removes what a SIGKILL left; Ctrl-C exits with 130 and no partial files.
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from interrupts import default_sigint  # noqa: E402
from test_hostile import check_clean_failure, run_cli, tree_digest  # noqa: E402

from lossadvisor.convert import writer as writer_module  # noqa: E402

BIG_ROWS = 300_000
SEED = int(os.environ.get("FAULT_SEED", "20240613"))


def _env(**extra: str) -> dict[str, str]:
    return dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", PYTHONWARNINGS="ignore", **extra)


def _popen(args: list[str], cwd: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lossadvisor", *args], cwd=cwd, env=_env(**env), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint)


def _siblings(out: Path) -> list[str]:
    return sorted(p.name for p in out.absolute().parent.iterdir() if p.name.startswith(f".{out.name}.lossadvisor-"))


def _wait_for(condition, limit: float = 90.0, every: float = 0.005) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


def _complete(out: Path, rows: int) -> bool:
    """OUT is a whole output: it reads back with every row."""
    if out.suffix == ".parquet":
        return pq.read_table(out).num_rows == rows
    from datasets import load_from_disk

    return load_from_disk(str(out)).num_rows == rows


@pytest.fixture(scope="module")
def big_input(tmp_path_factory) -> Path:
    """300k labeled pairs (four answers per question), big enough that writing takes a moment."""
    rng = np.random.default_rng(SEED)
    path = tmp_path_factory.mktemp("big") / "pairs.parquet"
    numbers = rng.integers(0, 10**9, BIG_ROWS)
    pq.write_table(pa.table({
        "question": [f"what is question number {i // 4} about topic {i % 97}?" for i in range(BIG_ROWS)],
        "answer": [f"answer {i} on topic {i % 89} mentions the number {n} and other words" for i, n in enumerate(numbers)],
        "label": (np.arange(BIG_ROWS) % 4 == 0).astype("int64"),
    }), path)
    return path


@pytest.fixture()
def small_input(tmp_path) -> Path:
    path = tmp_path / "in" / "pairs.csv"
    path.parent.mkdir()
    lines = ["question,answer,label"] + [f"what is question {i // 4}?,answer {i} with some words,{int(i % 4 == 0)}" for i in range(40)]
    path.write_text("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------------------------- SIGKILL


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".parquet", ""], ids=["parquet-file", "dataset-folder"])
def test_sigkill_at_random_points_while_converting(big_input, tmp_path, tmp_path_factory, suffix):
    rng = random.Random(f"{SEED}{suffix}")
    out = tmp_path / f"out{suffix}"
    source = tree_digest(big_input)
    args = ["convert", str(big_input), "--fix", "-o", str(out)]

    started = time.monotonic()
    first = subprocess.run([sys.executable, "-m", "lossadvisor", *args, "--json"], cwd=tmp_path, env=_env(),
                           capture_output=True, text=True, timeout=300)
    duration = time.monotonic() - started
    assert first.returncode == 0, first.stderr
    rows = json.loads(first.stdout)["rows_out"]
    previous = tree_digest(out)
    pristine = tmp_path_factory.mktemp("pristine") / out.name
    (shutil.copytree if out.is_dir() else shutil.copy2)(out, pristine)

    def reset(present: bool) -> None:
        if os.path.lexists(out) and (not present or tree_digest(out) != previous):
            shutil.rmtree(out) if out.is_dir() else out.unlink()
        if present and not os.path.lexists(out):
            (shutil.copytree if pristine.is_dir() else shutil.copy2)(pristine, out)

    outcomes = []
    for attempt in range(6):
        keep_previous = attempt >= 3  # first without an earlier output, then replacing one with --overwrite
        reset(present=keep_previous)
        process = _popen(args + (["--overwrite"] if keep_previous else []), tmp_path)
        if attempt % 3 == 0:
            delay = rng.uniform(0.3, duration)  # anywhere in the run: start-up, reading, fixing, writing
            time.sleep(delay)
            when = f"{delay:.2f}s"
        else:  # inside the write: once the temporary sibling exists
            seen = _wait_for(lambda: bool(_siblings(out)) or process.poll() is not None)
            time.sleep(rng.uniform(0, 0.4))
            when = "while writing" if seen else "after the end"
        process.kill()
        process.communicate(timeout=60)
        assert tree_digest(big_input) == source, "the input changed"
        if not os.path.lexists(out):
            state = "absent"
            assert not keep_previous or any(".lossadvisor-old-" in s for s in _siblings(out)), \
                "the previous output vanished without a parked copy"
        elif tree_digest(out) == previous:
            state = "previous"
        else:
            assert _complete(out, rows), f"killed {when}: {out} is neither absent nor a complete output"
            state = "new complete"
        outcomes.append((when, state, _siblings(out)))

    print(f"\n{suffix or 'folder'}: " + "; ".join(f"{w} -> {s} {len(left)} left" for w, s, left in outcomes))
    # The next run cleans up whatever the killed runs left, and writes a complete output.
    final = subprocess.run([sys.executable, "-m", "lossadvisor", *args, "--overwrite"], cwd=tmp_path, env=_env(),
                           capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    assert _complete(out, rows)
    assert _siblings(out) == [], f"stale temporary files survived the next run: {_siblings(out)}"
    assert tree_digest(big_input) == source
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name], outcomes


def test_stale_siblings_of_a_killed_run_are_cleaned_and_a_parked_output_restored(small_input, tmp_path):
    out = tmp_path / "out"
    dead = 2**22 + 12345  # above the default pid_max: no such process
    while writer_module._alive(dead):
        dead += 1
    run = run_cli(["convert", str(small_input), "--fix", "-o", str(out)])
    assert run.code == 0, run.stderr
    complete = tree_digest(out)
    # A killed folder swap: OUT parked as .out.lossadvisor-old-…, the new copy half-written as -tmp-.
    parked = tmp_path / f".out.lossadvisor-old-{dead}-0123abcd"
    os.rename(out, parked)
    half = tmp_path / f".out.lossadvisor-tmp-{dead}-4567cdef"
    half.mkdir()
    (half / "data-00000-of-00001.arrow").write_bytes(b"half")
    alive = tmp_path / f".out.lossadvisor-tmp-{os.getppid()}-89abcdef"  # a live process's: left alone
    alive.mkdir()
    run = run_cli(["convert", str(small_input), "--fix", "-o", str(out)])
    check_clean_failure(run)  # the parked output came back, so OUT exists
    assert "already exists" in run.stderr
    assert tree_digest(out) == complete
    assert _siblings(out) == [alive.name]
    assert run_cli(["convert", str(small_input), "--fix", "-o", str(out), "--overwrite"]).code == 0
    assert _siblings(out) == [alive.name]


# --------------------------------------------------------------------------------------------- read-only, full


@contextmanager
def mounted_tmpfs(folder: Path, options: str):
    folder.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode}): needs root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.mark.parametrize("name", ["out.parquet", "out.jsonl", "out"])
def test_read_only_destination(small_input, tmp_path, name):
    """A real read-only file system (root ignores permission bits, not `ro`)."""
    source = tree_digest(small_input)
    with mounted_tmpfs(tmp_path / "ro", "ro,size=1m") as folder:
        run = run_cli(["convert", str(small_input), "--fix", "-o", str(folder / name)])
        message = check_clean_failure(run)
        assert "cannot write" in message and "read-only" in message
        assert list(folder.iterdir()) == []
    assert tree_digest(small_input) == source


@pytest.mark.parametrize("name", ["out.parquet", "out.jsonl", "out.csv", "out"])
def test_full_disk(big_input, tmp_path, name):
    """A 1 MiB tmpfs: the write fails with ENOSPC part-way; nothing is left, and an earlier output survives."""
    source = tree_digest(big_input)
    with mounted_tmpfs(tmp_path / "full", "size=1m") as folder:
        out = folder / name
        run = run_cli(["convert", str(big_input), "--fix", "-o", str(out)], limit=300)
        message = check_clean_failure(run)
        assert "No space left" in message, message
        assert "Hint: Free some space" in run.stderr
        assert list(folder.iterdir()) == []
        # Replacing an earlier output: it is kept when the new one does not fit.
        out.mkdir() if name == "out" else out.write_text("earlier\n")
        if name == "out":
            (out / "state.json").write_text("{}")
        earlier = tree_digest(out)
        run = run_cli(["convert", str(big_input), "--fix", "-o", str(out), "--overwrite"], limit=300)
        check_clean_failure(run)
        assert tree_digest(out) == earlier
        assert sorted(p.name for p in folder.iterdir()) == [name]
    assert tree_digest(big_input) == source


def _failing(stage: str, error: BaseException):
    """A writer stage that fails: after writing half of its output, for the data stages."""
    original = getattr(writer_module, stage)

    def fail(*args, **kwargs):
        if stage == "_write":
            kind, table, path, metadata = args
            original(kind, table.slice(0, max(1, table.num_rows // 2)), path, metadata)
        raise error

    return fail


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", ""])
@pytest.mark.parametrize("stage", ["_write", "_fsync", "_move_into_place"])
@pytest.mark.parametrize("error", [OSError(errno.ENOSPC, "No space left on device"), PermissionError(errno.EACCES, "Permission denied"),
                                   OSError(errno.EROFS, "Read-only file system"), KeyboardInterrupt()],
                         ids=["ENOSPC", "EACCES", "EROFS", "Ctrl-C"])
def test_writer_failing_midway(small_input, tmp_path, monkeypatch, suffix, stage, error):
    """The same guarantees without a mount: each writer stage fails in turn, with an earlier output in place."""
    out = tmp_path / f"out{suffix}"
    assert run_cli(["convert", str(small_input), "--fix", "-o", str(out)]).code == 0
    earlier, source = tree_digest(out), tree_digest(small_input)
    monkeypatch.setattr(writer_module, stage, _failing(stage, error))
    run = run_cli(["convert", str(small_input), "--fix", "-o", str(out), "--overwrite"])
    if isinstance(error, KeyboardInterrupt):
        assert run.code == 130 and "Interrupted" in run.stderr and "Traceback" not in run.stderr
    else:
        message = check_clean_failure(run)
        assert message.startswith(f"cannot write {out}: {error.strerror}")
    assert tree_digest(out) == earlier
    assert _siblings(out) == []
    assert tree_digest(small_input) == source


def test_permission_check_before_any_work(small_input, tmp_path, monkeypatch):
    """Where the folder is not writable, convert says so before reading the data."""
    real_access = os.access
    monkeypatch.setattr(writer_module.os, "access", lambda path, mode: False if mode == os.W_OK else real_access(path, mode))
    out = tmp_path / "out.parquet"
    message = check_clean_failure(run_cli(["convert", str(small_input), "--fix", "-o", str(out)]))
    assert message == f"cannot write to {tmp_path}: no permission or a read-only file system"
    assert not out.exists()


# --------------------------------------------------------------------------------------------- NaN in training

NAN_LOSS = '''
import torch
from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss


class NanFromStepTwo(BinaryCrossEntropyLoss):
    """BinaryCrossEntropyLoss that turns NaN on its second training call."""

    def __init__(self, model):
        super().__init__(model)
        self.calls = 0

    def forward(self, inputs, labels):
        loss = super().forward(inputs, labels)
        if self.training or torch.is_grad_enabled():
            self.calls += 1
        return loss * float("nan") if self.calls >= 2 else loss
'''


@pytest.fixture()
def scratch(monkeypatch, tmp_path):
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return folder


def _ours(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("torchinductor_"))


@pytest.mark.slow
def test_trial_stops_at_the_first_nan_step_of_a_custom_loss(small_input, tmp_path, scratch):
    loss_file = tmp_path / "nan_loss.py"
    loss_file.write_text(NAN_LOSS)
    source = tree_digest(small_input)
    run = run_cli(["trial", str(small_input), "--loss", f"{loss_file}:NanFromStepTwo", "--steps", "6", "--batch-size", "4",
                   "--json"], limit=300)
    message = check_clean_failure(run)
    assert message.startswith("NanFromStepTwo: the loss became non-finite at step 2"), message
    result = json.loads(run.stdout)["results"][0]
    assert result["status"] == "not-finite" and result["first_bad_step"] == 2
    assert len(result["losses"]) == 2, "training went on after the first bad step"
    assert _ours(scratch) == []
    assert tree_digest(small_input) == source


@pytest.mark.slow
def test_trial_explains_a_poisoned_label(tmp_path, scratch):
    """Scores of 1e30 (unbounded: read as a teacher's logits, kept as they are): MSELoss overflows at step 1, and the
    labels are named. (With --score-range 0:1 they would be clipped to the declared range, and train.)"""
    data = tmp_path / "poisoned.csv"
    lines = ["sentence1,sentence2,score"] + [f"a sentence number {i},another sentence {i},{0.5 if i % 5 else 1e30}" for i in range(30)]
    data.write_text("\n".join(lines) + "\n")
    source = tree_digest(data)
    run = run_cli(["trial", str(data), "--loss", "MSELoss", "--steps", "5", "--batch-size", "8"],
                  limit=300)
    message = check_clean_failure(run)
    assert "the loss became non-finite at step 1" in message and "labels reach 1e+30" in message, message
    assert "Hint: Rescale the labels" in run.stderr
    assert _ours(scratch) == []
    assert tree_digest(data) == source


# --------------------------------------------------------------------------------------------- Ctrl-C


def _interrupt(process: subprocess.Popen) -> tuple[int, str, str]:
    process.send_signal(signal.SIGINT)
    try:
        stdout, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("Ctrl-C did not stop the process within 60 s")
    return process.returncode, stdout, stderr


def _assert_interrupted(code: int, stderr: str) -> None:
    assert code == 130, f"exit {code}: {stderr[-2000:]}"
    assert "Traceback" not in stderr, stderr[-3000:]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("Interrupted"), stderr[-2000:]


@pytest.mark.slow
def test_ctrl_c_while_writing(big_input, tmp_path):
    out = tmp_path / "out.jsonl"  # JSON Lines through pandas: the slowest writer, a wide window
    source = tree_digest(big_input)
    process = _popen(["convert", str(big_input), "--fix", "-o", str(out)], tmp_path)
    assert _wait_for(lambda: bool(_siblings(out)) or process.poll() is not None), "the write never started"
    assert process.poll() is None, "finished before it could be interrupted"
    time.sleep(0.2)
    code, _, stderr = _interrupt(process)
    _assert_interrupted(code, stderr)
    assert not os.path.lexists(out) and _siblings(out) == []
    assert tree_digest(big_input) == source


@pytest.mark.slow
def test_ctrl_c_while_mining(tmp_path):
    data = tmp_path / "pairs.parquet"
    n = 400_000  # BM25 mining runs at ~12k pairs/s: this keeps it busy for half a minute
    pq.write_table(pa.table({
        "query": [f"question {i} about subject {i % 313} and topic {i % 97}" for i in range(n)],
        "answer": [f"an answer {i} about subject {i % 313} with words {i % 89} {i % 7}" for i in range(n)],
    }), data)
    source = tree_digest(data)
    out = tmp_path / "out.parquet"
    process = _popen(["convert", str(data), "--to", "triplet", "-o", str(out)], tmp_path)
    time.sleep(8)  # reading and fixing take a few seconds; mining 400k pairs takes far longer
    assert process.poll() is None, "the conversion ended before the interrupt"
    code, _, stderr = _interrupt(process)
    _assert_interrupted(code, stderr)
    assert not os.path.lexists(out) and _siblings(out) == []
    assert tree_digest(data) == source


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["building the model", "training"])
def test_ctrl_c_during_trial(small_input, tmp_path, phase):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    source = tree_digest(small_input)
    process = _popen(["trial", str(small_input), "--loss", "BinaryCrossEntropyLoss", "--steps", "100000", "--batch-size", "4"],
                     tmp_path, TMPDIR=str(scratch))
    workdir = lambda: [p for p in scratch.iterdir() if p.name.startswith("lossadvisor-")]  # noqa: E731
    assert _wait_for(lambda: bool(workdir()) or process.poll() is not None, limit=120), "the trial never started"
    assert process.poll() is None, process.communicate()[1][-2000:]
    if phase == "training":
        time.sleep(6)  # the tiny model builds in about a second; then it trains 100,000 steps
    code, _, stderr = _interrupt(process)
    _assert_interrupted(code, stderr)
    assert _ours(scratch) == [], "the trial left its temporary folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in", "scratch"])
    assert tree_digest(small_input) == source


# --------------------------------------------------------------------------------------------- SIGTERM, no network


@pytest.mark.slow
@pytest.mark.parametrize("command", ["trial", "compare"])
def test_sigterm_during_trial_removes_its_temporary_folder(small_input, tmp_path, command):
    """A CI timeout or `kill` (SIGTERM): the temporary folder goes, the exit is 143 with one line (issue 15, item 16)."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    losses = ["--loss", "BinaryCrossEntropyLoss"] if command == "trial" else ["--compare", "BinaryCrossEntropyLoss,BinaryCrossEntropyLoss"]
    process = _popen(["trial", str(small_input), *losses, "--steps", "100000", "--batch-size", "4"], tmp_path,
                     TMPDIR=str(scratch))
    workdir = lambda: [p for p in scratch.iterdir() if p.name.startswith("lossadvisor-")]  # noqa: E731
    assert _wait_for(lambda: bool(workdir()) or process.poll() is not None, limit=120), "the trial never started"
    assert process.poll() is None, process.communicate()[1][-2000:]
    time.sleep(4)  # the tiny model is saved into the folder, then training starts
    process.send_signal(signal.SIGTERM)
    try:
        _, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("SIGTERM did not stop the trial within 60 s")
    assert process.returncode == 143, f"exit {process.returncode}: {stderr[-2000:]}"
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr and lines[-1].startswith("Error: terminated"), stderr[-2000:]
    assert _ours(scratch) == [], "the trial left its temporary folder"


NO_NETWORK = """
import atexit, socket, sys
attempts = []
def _unreachable(*args, **kwargs):
    attempts.append(args[:1])
    raise socket.gaierror(-2, "Name or service not known")
socket.getaddrinfo = _unreachable
socket.create_connection = _unreachable
atexit.register(lambda: print(f"network attempts: {len(attempts)}", file=sys.stderr))
from lossadvisor.cli.app import main
sys.argv = ["lossadvisor", *sys.argv[1:]]
main()
"""


def test_a_hub_model_without_network_fails_after_one_probe(small_input, tmp_path):
    """`trial --model org/name` with no network and no HF_HUB_OFFLINE: the cache first, then one quick probe, not
    the hub client's minute of retries (issue 15, item 16). The network is cut inside the process, which counts the
    attempts; how long the error takes is timed by benchmarks/bench_inspect.py (d), not asserted here."""
    env = {k: v for k, v in _env(HF_HUB_CACHE=str(tmp_path / "hub-cache")).items()
           if k not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")}
    process = subprocess.run([sys.executable, "-c", NO_NETWORK, "trial", str(small_input), "--loss", "BinaryCrossEntropyLoss",
                              "--model", "no-such-org/no-such-model", "--steps", "1"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert process.returncode == 2, process.stderr[-2000:]
    assert "no-such-org/no-such-model" in process.stderr and "Traceback" not in process.stderr
    # At most two: huggingface_hub's own one-time fetch (its user-agent registry, made even by a cache-only load, not
    # retried) and lossadvisor's probe. The hub client's retries (about a minute) would count many more.
    last = process.stderr.splitlines()[-1]
    assert last.startswith("network attempts: ") and 1 <= int(last.split(": ")[1]) <= 2, process.stderr[-2000:]
