"""Where the real public test slices live (see MANIFEST.yaml and PROVENANCE.md there)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
if not REAL.is_dir():  # CI lays shared/ beside the clone; a developer checkout may sit elsewhere
    REAL = Path("/work/shared/data/real")
REAL = Path(os.environ.get("LOSSADVISOR_REAL_DATA", REAL))
MANIFEST = REAL / "MANIFEST.yaml"
needs_minilm = pytest.mark.usefixtures("minilm_installed")  # the fixture is in conftest.py
needs_real = pytest.mark.skipif(not MANIFEST.is_file(), reason=f"{REAL} is not available")
