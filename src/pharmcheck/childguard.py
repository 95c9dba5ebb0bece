"""Worker processes die with the batch that started them.

Scoring processes are forked by multiprocessing's fork server, so their parent is the fork
server, not the batch. When the batch is killed (SIGKILL, OOM killer), neither the fork server
nor the workers notice: they hold copies of the pool's pipes, so no EOF ever arrives, and they
keep running (and the resource tracker with them). So each worker runs a watchdog thread on a
pidfd of the batch process (Linux ≥ 5.3; a 1 s poll of its pid elsewhere) and exits as soon as
the batch is gone.

``PR_SET_PDEATHSIG`` is not used: it fires on the death of the *fork server*, which a SIGTERM
to the process group kills at once, and that would kill the workers mid-site (the very
falsified-result case the batch avoids by letting running sites finish).

The fork server itself leaves when its last client (the batch) closes its end of the "alive"
pipe; its workers leaving releases the resource tracker.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading


def _watch(pid: int) -> None:
    fd: int | None = None
    with contextlib.suppress(OSError, AttributeError):
        fd = os.pidfd_open(pid)  # type: ignore[attr-defined,unused-ignore]
    if fd is not None:
        select.select([fd], [], [])  # readable when the process exits
        os._exit(1)
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:
            pass
        threading.Event().wait(1.0)


def watch_batch(pid: int) -> None:
    """Exit this process when process ``pid`` (the batch) exits."""
    if pid == os.getpid():
        return
    threading.Thread(target=_watch, args=(pid,), name="pharmcheck-parent-watch", daemon=True).start()


def guard_worker(batch_pid: int) -> None:
    """Everything a scoring worker needs to never outlive the batch."""
    watch_batch(batch_pid)


def quiet_fork_server() -> None:
    """In the fork server, before its slow preload: an interrupt or SIGTERM sent to the whole
    process group during start-up must not print a traceback (the batch reports it) nor kill
    the server that would fork replacement workers; the server leaves with the batch anyway
    (its "alive" pipe closes)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # started with both blocked (start_fork_server): one that came meanwhile is dropped now, ignored
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def start_fork_server() -> None:
    """Start multiprocessing's fork server with SIGINT and SIGTERM blocked in this thread.

    A child inherits the signal mask across exec, so a signal sent to the process group while the
    server's interpreter starts (before :func:`quiet_fork_server` runs in its preload) waits instead
    of printing a KeyboardInterrupt traceback; here it is delivered as soon as the mask is restored.
    (multiprocessing starts its resource tracker the same way.)"""
    from multiprocessing import forkserver, resource_tracker

    # the tracker first: starting it unblocks these signals again (it blocks them for its own child)
    resource_tracker.ensure_running()
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        forkserver.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
