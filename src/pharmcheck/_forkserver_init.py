"""Imported first in the scoring processes' fork server (and only there): see
:func:`pharmcheck.childguard.quiet_fork_server`."""

from pharmcheck.childguard import quiet_fork_server

quiet_fork_server()
