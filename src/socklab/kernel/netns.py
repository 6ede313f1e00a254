"""Network namespaces: enter a named one, or run code inside one.

A named namespace is a file under ``/run/netns`` (what ``ip netns add``
makes). ``setns(2)`` moves the *calling thread* into it: sockets that thread
creates afterwards belong to that namespace for their whole life, wherever
they are used later. :func:`run_in` uses this to run a function in a fresh
thread inside a namespace and hand its result (sockets included) back.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from socklab.errors import MissingPrivilege, NetworkError, NotFound

__all__ = ["NETNS_RUN_DIR", "entered", "named", "path", "run_in", "setns"]

NETNS_RUN_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000

T = TypeVar("T")


def path(name: str) -> str:
    """The file of namespace ``name``; NotFound when there is none."""
    if not name or "/" in name or name in (".", ".."):
        raise NotFound(f"network namespace {name!r}: not a namespace name")
    full = os.path.join(NETNS_RUN_DIR, name)
    if not os.path.exists(full):
        raise NotFound(f"network namespace {name!r}: no such namespace in {NETNS_RUN_DIR}")
    return full


def named() -> list[str]:
    """The names under ``/run/netns``, sorted."""
    try:
        return sorted(os.listdir(NETNS_RUN_DIR))
    except FileNotFoundError:
        return []


def _libc_setns(fd: int, nstype: int) -> None:
    import ctypes  # only on Python < 3.12, which has no os.setns

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, nstype) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def setns(fd: int) -> None:
    """Move the calling thread into the network namespace open at ``fd``."""
    fn = getattr(os, "setns", None)  # Python >= 3.12
    if fn is not None:
        fn(fd, CLONE_NEWNET)
    else:
        _libc_setns(fd, CLONE_NEWNET)


def _enter_fd(fd: int, name: str) -> None:
    try:
        setns(fd)
    except OSError as exc:
        if exc.errno in (errno.EPERM, errno.EACCES):
            raise MissingPrivilege(f"enter network namespace {name}", "CAP_SYS_ADMIN",
                                   "run as root") from exc
        raise NetworkError(f"enter network namespace {name}", exc.errno) from exc


def enter(name: str) -> None:
    """Move the calling thread into namespace ``name`` for good."""
    fd = os.open(path(name), os.O_RDONLY | os.O_CLOEXEC)
    try:
        _enter_fd(fd, name)
    finally:
        os.close(fd)


@contextmanager
def entered(name: str) -> Iterator[None]:
    """Run the block with the calling thread inside ``name``, then come back."""
    with entered_path(path(name), name):
        yield


def run_in(name: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``fn`` in a new thread inside namespace ``name`` and return its result."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            enter(name)
            box["result"] = fn(*args, **kwargs)
        except BaseException as exc:
            box["error"] = exc

    import threading  # here: 1 ms of every command's start-up otherwise

    thread = threading.Thread(target=target, name=f"netns-{name}")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]  # type: ignore[no-any-return]


@contextmanager
def entered_path(ns_path: str, label: str) -> Iterator[None]:
    """As :func:`entered`, for a namespace file (``/proc/PID/ns/net``) instead of a name."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        fd = os.open(ns_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            _enter_fd(fd, label)
        finally:
            os.close(fd)
        try:
            yield
        finally:
            _enter_fd(home, "of origin")
    finally:
        os.close(home)


def every(proc_root: str = "/proc") -> list[tuple[str, str]]:
    """``(label, path)`` of every network namespace in use, each once.

    The current one first (label ``""`` unless it has a name), then the named
    ones (``/run/netns``), then those only a process lives in
    (label ``pid:N``, the lowest such pid).
    """
    seen: dict[int, int] = {}
    out: list[tuple[str, str]] = []

    def add(label: str, ns_path: str) -> None:
        try:
            st = os.stat(ns_path)
        except OSError:
            return
        key = (st.st_dev << 32) | st.st_ino
        if key in seen:
            if label and not out[seen[key]][0]:
                out[seen[key]] = (label, out[seen[key]][1])
            return
        seen[key] = len(out)
        out.append((label, ns_path))

    add("", f"{proc_root}/thread-self/ns/net")
    for name in named():
        add(name, os.path.join(NETNS_RUN_DIR, name))
    pids = sorted(int(p) for p in os.listdir(proc_root) if p.isdigit())
    for pid in pids:
        add(f"pid:{pid}", f"{proc_root}/{pid}/ns/net")
    return out
