"""The scoring processes' fork server starts with SIGINT and SIGTERM blocked.

A Ctrl-C (or a SIGTERM to the process group) that lands while the fork server's interpreter is
still importing its preload used to print a KeyboardInterrupt traceback from that process. The
server now inherits a mask that holds both signals until ``childguard.quiet_fork_server`` ignores
them. Checked on what the server itself sees: its signal mask while its first preload module runs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")

PROBE = """
from pathlib import Path
import os
status = Path("/proc/self/status").read_text()
Path(os.environ["PROBE_OUT"]).write_text(status)
"""

RUN = """
import multiprocessing, sys
from pharmcheck.childguard import start_fork_server
ctx = multiprocessing.get_context("forkserver")
ctx.set_forkserver_preload(["probe_mask", "pharmcheck._forkserver_init"])
start_fork_server()
with ctx.Pool(1) as pool:  # a child forked from the server: the preload has run
    pool.apply(abs, (1,))
"""


def _bits(status: str, field: str) -> int:
    line = next(line for line in status.splitlines() if line.startswith(field + ":"))
    return int(line.split()[1], 16)


def test_fork_server_imports_its_preload_with_stop_signals_blocked(tmp_path: Path) -> None:
    (tmp_path / "probe_mask.py").write_text(textwrap.dedent(PROBE))
    out = tmp_path / "status.txt"
    src = str(Path(__file__).resolve().parent.parent / "src")
    env = {"PYTHONPATH": f"{tmp_path}:{src}", "PROBE_OUT": str(out), "PATH": "/usr/bin:/bin"}
    # its own process group, so that a run cut short by the timeout leaves no fork server or pool child
    proc = subprocess.Popen([sys.executable, "-c", RUN], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _out, err = proc.communicate(timeout=300)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == 0, err
    blocked = _bits(out.read_text(), "SigBlk")
    for sig in (signal.SIGINT, signal.SIGTERM):
        assert blocked & (1 << (sig - 1)), f"{sig.name} not blocked while the fork server starts"
