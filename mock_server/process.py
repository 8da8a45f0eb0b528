"""This process's id, without a system call per read.

``os.getpid()`` is a system call (glibc no longer caches it), and the request path asks for it
to tell a forked gunicorn worker from the process that opened a pool or started a thread. The
id changes only in a forked child, so it is read once and again after each fork.
"""

from __future__ import annotations

import os

_PID = [os.getpid()]
os.register_at_fork(after_in_child=lambda: _PID.__setitem__(0, os.getpid()))


def pid() -> int:
    """This process's id, as :func:`os.getpid` says."""
    return _PID[0]
