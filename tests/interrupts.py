"""Children that a Ctrl-C test interrupts must start with the default SIGINT disposition.

A suite started in the background (`make test &`, `nohup make test &`) runs with SIGINT ignored, and a child
inherits an ignored signal across fork and exec; Python then installs no KeyboardInterrupt handler, and the
test's SIGINT (or the Ctrl-C typed into a pseudo-terminal) does nothing. The tests set up the state they assert on.
"""

from __future__ import annotations

import signal


def default_sigint() -> None:
    """preexec_fn for subprocess.Popen and pexpect.spawn: SIGINT back to its default in the child."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
