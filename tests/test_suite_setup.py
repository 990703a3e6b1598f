"""The suite's own set-up: in CI a missing real-data folder fails the run instead of skipping its tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pytest(env: dict[str, str]) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_commands.py"]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


def test_ci_fails_rather_than_skips_without_the_real_data(tmp_path):
    env = {**os.environ, "CI": "true", "LOSSADVISOR_REAL_DATA": str(tmp_path / "missing")}
    done = _pytest(env)
    assert done.returncode != 0 and "real test data is missing" in done.stdout + done.stderr
    env.pop("CI")
    assert _pytest(env).returncode == 0
