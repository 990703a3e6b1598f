"""Ctrl-C while the suite itself runs in the background (`make test &`, nohup): SIGINT is ignored there.

The children the Ctrl-C tests start must get the default SIGINT back (tests/interrupts.py), or the interrupt
they send does nothing and the test fails for a reason that has nothing to do with lossadvisor.
"""

from __future__ import annotations

import signal
import subprocess
import sys

from interrupts import default_sigint

# lossadvisor's own main(), with an inspect that waits: the interrupt lands inside a command.
WAITING_INSPECT = """
import sys, time
import lossadvisor.advice as advice
def waiting(*args, **kwargs):
    print("ready", flush=True)
    time.sleep(60)
advice.inspect_dataset = waiting
sys.argv = ["lossadvisor", "inspect", "anything.csv"]
from lossadvisor.cli import main
main()
"""


def test_ctrl_c_reaches_a_command_started_from_a_background_suite():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # what `make test &` hands down
    try:
        process = subprocess.Popen([sys.executable, "-c", WAITING_INSPECT], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, preexec_fn=default_sigint)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert process.stdout.readline().strip() == "ready"
    process.send_signal(signal.SIGINT)
    try:
        _, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("SIGINT did not stop the command (was it ignored?)") from None
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "Interrupted."
