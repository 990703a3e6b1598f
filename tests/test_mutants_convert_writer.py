"""convert/writer.py: what a written OUT holds, and the clean-up of a killed run's siblings (mutation testing).

Every test writes into tmp_path in-process and reads the file back: the exact bytes of JSON Lines and CSV, the
parquet metadata, the WriteResult, and which hidden siblings a stale-run clean-up removes, restores or leaves.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lossadvisor.convert import writer
from lossadvisor.errors import FitError


def error_of(call) -> tuple[str, str | None]:
    with pytest.raises(FitError) as info:
        call()
    return info.value.message, info.value.hint


def siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".lossadvisor-" in p.name)


@pytest.fixture(scope="module")
def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    try:  # asked without writer._alive, which is what the tests check
        os.kill(child.pid, 0)
    except ProcessLookupError:
        return child.pid
    pytest.skip("the dead child's pid was reused")


# --- _alive, _remove, _clean_stale ---------------------------------------------------------------------------------


def test_alive_tells_a_live_process_from_a_dead_one(dead_pid, monkeypatch):
    assert writer._alive(os.getpid()) is True
    assert writer._alive(dead_pid) is False
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert writer._alive(child.pid) is True
        with pytest.raises(subprocess.TimeoutExpired):  # asking sends no signal that ends it
            child.wait(timeout=0.3)
    finally:
        child.kill()
        child.wait()

    def not_ours(pid, signal):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(writer.os, "kill", not_ours)
    assert writer._alive(dead_pid) is True  # another user's process: alive
    assert writer._alive(os.getpid()) is True


def test_remove_a_file_a_folder_a_link_or_nothing(tmp_path):
    (tmp_path / "f").write_text("x")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "inner").write_text("y")
    (tmp_path / "link").symlink_to(tmp_path / "d", target_is_directory=True)
    writer._remove(tmp_path / "link")
    assert (tmp_path / "d" / "inner").read_text() == "y"  # the link goes, not what it points to
    for name in ("f", "d", "missing"):
        writer._remove(tmp_path / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_clean_stale_removes_dead_runs_copies_and_restores_a_parked_out(tmp_path, dead_pid):
    out = tmp_path / "out"
    for name in (f".out.lossadvisor-old-{dead_pid}-0000aaaa", f".out.lossadvisor-old-{dead_pid}-1111bbbb"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "which").write_text(name)
    (tmp_path / f".out.lossadvisor-tmp-{dead_pid}-2222cccc").write_text("half")
    left = [f".out.lossadvisor-tmp-{os.getpid()}-3333dddd",  # this (live) process's
            f".out.lossadvisor-tmp-{dead_pid}-XYZ",  # not a name lossadvisor writes
            f".out.lossadvisor-x.lossadvisor-tmp-{dead_pid}-4444eeee"]  # a sibling of another OUT
    for name in left:
        (tmp_path / name).write_text("keep")
    writer._clean_stale(out)
    # the first parked copy (by name) comes back as OUT; the second, and the half-written copy, go
    assert (out / "which").read_text() == f".out.lossadvisor-old-{dead_pid}-0000aaaa"
    assert siblings(tmp_path) == sorted(left)


def test_clean_stale_drops_a_parked_copy_when_out_exists(tmp_path, dead_pid):
    (tmp_path / "out.jsonl").write_text("new\n")
    (tmp_path / f".out.jsonl.lossadvisor-old-{dead_pid}-0000aaaa").write_text("old\n")
    writer._clean_stale(tmp_path / "out.jsonl")
    assert ((tmp_path / "out.jsonl").read_text(), siblings(tmp_path)) == ("new\n", [])
    writer._clean_stale(tmp_path / "no-such-folder" / "out.jsonl")  # a missing folder: nothing to clean, no error


# --- output kinds and what each file holds ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "kind"), [
    ("o.parquet", "parquet"), ("o.JSONL", "jsonl"), ("o.json", "jsonl"), ("o.Csv", "csv"), ("o.tsv", "tsv"),
    ("o", "datasets"), ("o.d", "datasets"),
])
def test_output_kind(name, kind):
    assert writer.output_kind(name) == kind


TABLE = pa.table({"q": ["a/b", "c\\/d", "é"], "n": [1, 2, 3], "x": [0.1, 1 / 3, None]})


def test_jsonl_holds_each_row_on_a_line_with_plain_slashes(tmp_path):
    result = writer.write_output(TABLE, tmp_path / "o.jsonl", metadata={"k": 1})
    text = (tmp_path / "o.jsonl").read_text(encoding="utf-8")
    assert text == ('{"q":"a/b","n":1,"x":0.1}\n{"q":"c\\\\/d","n":2,"x":0.333333333333333}\n'
                    '{"q":"é","n":3,"x":null}\n')
    assert [json.loads(line)["q"] for line in text.splitlines()] == ["a/b", "c\\/d", "é"]
    assert result == writer.WriteResult(tmp_path / "o.jsonl", "jsonl", 3, len(text.encode()), False, False)


def test_jsonl_of_many_batches_and_of_no_rows(tmp_path):
    big = pa.table({"i": list(range(70_000))})
    writer.write_output(big, tmp_path / "big.jsonl")
    lines = (tmp_path / "big.jsonl").read_text().splitlines()
    assert (len(lines), lines[0], lines[65_536], lines[-1]) == (70_000, '{"i":0}', '{"i":65536}', '{"i":69999}')
    result = writer.write_output(big.slice(0, 0), tmp_path / "none.jsonl")
    assert ((tmp_path / "none.jsonl").read_text(), result.rows, result.bytes) == ("", 0, 0)


@pytest.mark.parametrize(("name", "text"), [
    ("o.csv", '"q","n","x"\n"a/b",1,0.1\n"c\\/d",2,0.3333333333333333\n"é",3,\n'),
    ("o.tsv", '"q"\t"n"\t"x"\n"a/b"\t1\t0.1\n"c\\/d"\t2\t0.3333333333333333\n"é"\t3\t\n'),
])
def test_delimited_files(tmp_path, name, text):
    result = writer.write_output(TABLE, tmp_path / name, metadata={"k": 1})
    assert (tmp_path / name).read_text(encoding="utf-8") == text
    assert (result.kind, result.rows, result.bytes, result.metadata_written) == (
        name[2:], 3, len(text.encode()), False)


def test_parquet_keeps_the_metadata_in_its_schema(tmp_path):
    table = TABLE.replace_schema_metadata({b"other": b"kept"})
    result = writer.write_output(table, tmp_path / "o.parquet", metadata={"z": 1, "a": [2]})
    back = pq.read_table(tmp_path / "o.parquet")
    assert back.to_pydict() == TABLE.to_pydict()
    assert back.schema.metadata[b"lossadvisor"] == b'{"a": [2], "z": 1}'
    assert back.schema.metadata[b"other"] == b"kept"
    assert result == writer.WriteResult(tmp_path / "o.parquet", "parquet", 3, (tmp_path / "o.parquet").stat().st_size,
                                        False, True)
    plain = writer.write_output(TABLE, tmp_path / "p.parquet")
    assert b"lossadvisor" not in (pq.read_table(tmp_path / "p.parquet").schema.metadata or {})
    assert plain.metadata_written is False


def test_a_dataset_folder_and_a_dataset_dict(tmp_path):
    from datasets import load_from_disk

    result = writer.write_output(TABLE, tmp_path / "ds", metadata={"b": 1, "a": 2})
    saved = load_from_disk(str(tmp_path / "ds"))
    assert saved.to_dict() == TABLE.to_pydict()
    assert json.loads(saved.info.description) == {"a": 2, "b": 1}
    size = sum(p.stat().st_size for p in (tmp_path / "ds").rglob("*") if p.is_file())
    assert result == writer.WriteResult(tmp_path / "ds", "datasets", 3, size, False, True)
    splits = {"train": TABLE, "test": TABLE.slice(0, 1)}
    both = writer.write_output(splits, tmp_path / "dd")
    saved = load_from_disk(str(tmp_path / "dd"))
    assert ({k: v.num_rows for k, v in saved.items()}, both.rows, both.metadata_written) == (
        {"train": 3, "test": 1}, 4, False)
    # --overwrite swaps the whole folder: the new one in, the old one gone, no sibling left behind
    again = writer.write_output(TABLE.slice(0, 2), tmp_path / "ds", overwrite=True)
    assert (load_from_disk(str(tmp_path / "ds")).num_rows, again.replaced, siblings(tmp_path)) == (2, True, [])


def test_overwriting_a_file(tmp_path):
    (tmp_path / "o.csv").write_text("old\n")
    assert error_of(lambda: writer.write_output(TABLE, tmp_path / "o.csv"))[0].endswith("already exists")
    result = writer.write_output(TABLE.select(["n"]), tmp_path / "o.csv", overwrite=True)
    assert ((tmp_path / "o.csv").read_text(), result.replaced, siblings(tmp_path)) == ('"n"\n1\n2\n3\n', True, [])


def test_write_errors(tmp_path):
    assert error_of(lambda: writer.write_output({"train": TABLE, "test": TABLE}, tmp_path / "o.parquet")) == (
        "several splits (train, test) need a dataset folder OUT, not a .parquet file", None)
    nested = pa.table({"q": ["a"], "docs": [["x"]], "label": [[1]]})
    assert error_of(lambda: writer.write_output(nested, tmp_path / "o.tsv")) == (
        "TSV cannot hold the list column(s) docs, label", "Write .parquet, .jsonl or a dataset folder instead.")
    assert error_of(lambda: writer.write_output(TABLE, tmp_path / "o.XLSX")) == (
        f"{tmp_path / 'o.XLSX'}: cannot write .xlsx files",
        "Give OUT a .parquet, .jsonl, .csv or .tsv suffix, or no suffix for a save_to_disk folder.")
    (tmp_path / "folder.txt").mkdir()  # an existing folder with a data suffix is a dataset folder OUT
    assert writer.check_output(tmp_path / "folder.txt", overwrite=True) == tmp_path / "folder.txt"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.txt"]


# --- publishing: the temporary copy goes on every failure --------------------------------------------------------


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()])
def test_a_failed_write_leaves_no_sibling_and_no_out(tmp_path, failure):
    def produce(temporary: Path):
        temporary.write_text("half")
        raise failure

    with pytest.raises(type(failure) if isinstance(failure, KeyboardInterrupt) else FitError) as info:
        writer._publish(tmp_path / "o.jsonl", False, produce)
    if isinstance(failure, OSError):
        assert (info.value.message, info.value.hint) == (
            f"cannot write {tmp_path / 'o.jsonl'}: No space left on device",
            "Free some space, or write to another disk; nothing was replaced.")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_move_into_place_refuses_what_appeared_meanwhile(tmp_path):
    temporary = tmp_path / ".tmp"
    temporary.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("not a dataset")
    assert error_of(lambda: writer._move_into_place(temporary, tmp_path / "out", False)) == (
        f"{tmp_path / 'out'} already exists", "Pass --overwrite to replace it, or choose another OUT.")
    assert error_of(lambda: writer._move_into_place(temporary, tmp_path / "out", True)) == (
        f"{tmp_path / 'out'} is no longer a saved dataset folder; refusing to replace it", "Choose a new OUT path.")
    (tmp_path / "file").write_text("x")
    assert error_of(lambda: writer._move_into_place(temporary, tmp_path / "file", True))[0].endswith(
        "is no longer a saved dataset folder; refusing to replace it")
    assert writer._move_into_place(temporary, tmp_path / "new", False) is False
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "new", "out"]


def test_write_streamed(tmp_path):
    def write(temporary: Path, kind: str) -> int:
        temporary.write_text(f"{kind}\n")
        return 7

    result = writer.write_streamed(write, tmp_path / "o.jsonl", metadata={"a": 1})
    assert ((tmp_path / "o.jsonl").read_text(), result) == (
        "jsonl\n", writer.WriteResult(tmp_path / "o.jsonl", "jsonl", 7, 6, False, False))
    assert writer.write_streamed(write, tmp_path / "o.parquet", metadata={"a": 1}).metadata_written is True
    assert writer.write_streamed(write, tmp_path / "p.parquet").metadata_written is False
    again = writer.write_streamed(write, tmp_path / "o.jsonl", overwrite=True)
    assert (again.replaced, siblings(tmp_path)) == (True, [])
