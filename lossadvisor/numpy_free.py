"""`lossadvisor inspect` on local data starts pyarrow without numpy.

pyarrow imports numpy whenever it is installed: 0.1-0.15 s on the project's machine, a third of inspect's wall
time. numpy has been optional for pyarrow since version 16, and pyarrow uses it only to convert to and from
numpy arrays, which reading a sample never does. Hub ids keep numpy because they stream through `datasets`,
which needs it. If some path needs numpy after all, the command runs again in a fresh process that has it, so
the worst case is a slower answer, never a wrong one. LOSSADVISOR_WITH_NUMPY=1 turns the whole thing off.
"""

from __future__ import annotations

import os
import sys

WITH_NUMPY_ENV = "LOSSADVISOR_WITH_NUMPY"


class NeedsNumpy(Exception):
    """A numpy-free inspect reached code that wants numpy."""


def hold_back_numpy(dataset: str) -> None:
    """Before pyarrow's first import, in a process of its own: make `import numpy` fail for local data."""
    if os.environ.get(WITH_NUMPY_ENV) or {"pyarrow", "numpy"} & sys.modules.keys():
        return
    if os.path.exists(dataset) or any(char in dataset for char in "*?["):
        sys.modules["numpy"] = None  # `import numpy` raises ImportError, which pyarrow reads as "not installed"


def wants_held_back_numpy(exc: BaseException | None) -> bool:
    """True when an error comes from numpy being held back (anywhere in its chain of causes)."""
    while exc is not None:
        if isinstance(exc, ImportError) and "numpy" in sys.modules and sys.modules["numpy"] is None:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def rerun_with_numpy(args: list[str]) -> None:
    """Replace this process with the same command, numpy allowed (nothing was printed yet: inspect prints last)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "lossadvisor", *args], os.environ | {WITH_NUMPY_ENV: "1"})
