"""The validated-table cache and --table never follow a planted link, never hang on a FIFO, never read forever."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lossadvisor import table as table_module
from lossadvisor import table_cache
from lossadvisor.errors import TableError
from lossadvisor.table import CACHE_ENV, default_table_path, load_table


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv(CACHE_ENV, str(folder))
    return folder


def _cache_path() -> Path:
    return table_cache.cache_file(default_table_path())


def test_a_link_planted_at_the_cache_path_is_replaced_not_followed(cache_dir, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    _cache_path().symlink_to(victim)
    load_table()
    assert victim.read_text() == "precious"
    assert _cache_path().is_file() and not _cache_path().is_symlink()


def test_links_at_the_old_predictable_temporary_name_are_not_followed(cache_dir, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    cache = _cache_path()
    cache.with_name(f"{cache.name}.{os.getpid()}.partial").symlink_to(victim)
    load_table()
    assert victim.read_text() == "precious"


def test_a_cache_in_a_folder_others_may_write_is_neither_written_nor_read(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    monkeypatch.setenv(CACHE_ENV, str(shared))
    load_table()
    assert list(shared.iterdir()) == []
    # a well-formed cache planted there by someone else is not trusted either
    monkeypatch.setattr(table_cache, "read_regular_file", lambda *a, **k: pytest.fail("read a cache in a shared folder"))
    assert table_cache.read_cache(_cache_path(), b"x" * 32, dict) is None


def test_a_cache_owned_by_another_user_is_ignored(cache_dir, monkeypatch):
    load_table()
    assert _cache_path().is_file()
    monkeypatch.setattr(os, "geteuid", lambda: os.stat(cache_dir).st_uid + 1)
    calls = []
    original = table_module._parse_yaml
    monkeypatch.setattr(table_module, "_parse_yaml", lambda *a: calls.append(1) or original(*a))
    load_table()
    assert calls == [1]


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_fifo_or_device_at_the_cache_path_neither_hangs_nor_fills_memory(cache_dir, kind):
    cache = _cache_path()
    if kind == "fifo":
        os.mkfifo(cache)
    else:
        cache.symlink_to("/dev/zero")
    code = "from lossadvisor.table import load_table; load_table(); print('ok')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "folder"])
def test_table_option_refuses_what_is_not_a_regular_file(tmp_path, kind):
    target = tmp_path / "table.yaml"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "folder":
        target.mkdir()
    else:
        target = Path("/dev/zero")
    code = (
        "import sys\nfrom lossadvisor.errors import TableError\nfrom lossadvisor.table import load_table\n"
        f"try:\n    load_table({str(target)!r})\nexcept TableError as e:\n    print(e.message)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"cannot read loss table {target}:")
    assert "regular file" in done.stdout or "Is a directory" in done.stdout


def test_an_oversized_table_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(table_module, "TABLE_MAX_BYTES", 1024)
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * 2048)
    with pytest.raises(TableError, match="larger than"):
        load_table(big)
