"""A scratch network namespace: new, unnamed, for one thread, gone when it ends.

``unshare(CLONE_NEWNET)`` moves the calling thread (a task of its own to the
kernel) into a new network namespace; with no name bound under /run/netns and
no other task in it, the kernel frees it when the thread exits: nothing is
left behind, whatever happens inside.
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Callable
from typing import TypeVar

from socklab.errors import MissingPrivilege, NetworkError

__all__ = ["run_in_new"]

CLONE_NEWNET = 0x40000000
T = TypeVar("T")


def unshare() -> None:
    """unshare(CLONE_NEWNET) for the calling thread (OSError as the kernel says)."""
    fn = getattr(os, "unshare", None)  # Python >= 3.12
    if fn is not None:
        fn(CLONE_NEWNET)
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def run_in_new(fn: Callable[[], T]) -> T:
    """Call ``fn`` in a new thread inside a new network namespace and return its result
    (or raise its error). Raises MissingPrivilege without CAP_SYS_ADMIN."""
    result: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            unshare()
        except OSError as exc:
            if exc.errno in (errno.EPERM, errno.EACCES):
                failure.append(MissingPrivilege("create a network namespace", "CAP_SYS_ADMIN",
                                                "run as root"))
            else:
                failure.append(NetworkError("create a network namespace", exc.errno))
            return
        try:
            result.append(fn())
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=target, name="scratch-netns")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]
