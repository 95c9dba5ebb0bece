"""``python -m pharmcheck`` and the ``pharmcheck`` console script.

Signal handlers come first, before the (slow) imports of the command line: an interrupt in the
first fraction of a second exits 130/143 with one line, like any later one (nothing has been
written yet at that point). ``cli.main`` installs its own handlers next.
"""

import os
import signal
import sys


def _interrupted_at_start(signum: int, frame: object) -> None:
    sys.stderr.write("pharmcheck: warning: interrupted\n")
    sys.stderr.flush()
    os._exit(128 + signum)


def run() -> None:
    """Entry point: early signal handlers, then the command line."""
    signal.signal(signal.SIGINT, _interrupted_at_start)
    signal.signal(signal.SIGTERM, _interrupted_at_start)
    from pharmcheck.cli import main

    main()


if __name__ == "__main__":
    run()
