"""Network namespaces: enter a named one, or run code inside one.

A named namespace is a file under ``/run/netns`` (what ``ip netns add``
makes). ``setns(2)`` moves the *calling thread* into it: sockets that thread
creates afterwards belong to that namespace for their whole life, wherever
they are used later. :func:`run_in` uses this to run a function in a fresh
thread inside a namespace and hand its result (sockets included) back.
"""

from __future__ import annotations

import errno
import functools
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, NamedTuple, TypeVar

from socklab.errors import MissingPrivilege, NetworkError, NotFound, SocklabError

__all__ = [
    "NETNS_RUN_DIR", "Namespace", "each", "enter", "entered", "entered_fd", "entered_path", "every",
    "named", "open_path", "path", "run_in", "setns",
]

NETNS_RUN_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000

T = TypeVar("T")


def _vanished(label: str) -> NotFound:
    """The one message for a namespace that is not there, or no longer: the same
    whether it never was or vanished while being entered."""
    return NotFound(f"network namespace {label!r}: no such namespace")


def path(name: str) -> str:
    """The file of namespace ``name``; NotFound when there is none."""
    if not name or "/" in name or name in (".", ".."):
        raise NotFound(f"network namespace {name!r}: not a namespace name")
    full = os.path.join(NETNS_RUN_DIR, name)
    if not os.path.exists(full):
        raise _vanished(name)
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


def open_path(ns_path: str, label: str) -> int:
    """Open a namespace file (``/run/netns/NAME``, ``/proc/PID/ns/net``) and
    return the descriptor; the caller closes it.

    While the descriptor is open the namespace lives on, even when its name is
    deleted or its last process exits (namespaces(7)): open it once and enter
    it by descriptor. NotFound when the file is gone (the namespace was deleted,
    the process exited), MissingPrivilege when it may not be opened (another
    user's process: ptrace access mode, proc(5)).
    """
    try:
        return os.open(ns_path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ESRCH, errno.ENOTDIR):
            raise _vanished(label) from exc
        if exc.errno in (errno.EPERM, errno.EACCES):
            raise MissingPrivilege(f"open network namespace {label}", "CAP_SYS_ADMIN",
                                   "run as root") from exc
        raise NetworkError(f"open network namespace {label}", exc.errno) from exc


def _enter_fd(fd: int, name: str) -> None:
    try:
        setns(fd)
    except OSError as exc:
        if exc.errno in (errno.EPERM, errno.EACCES):
            raise MissingPrivilege(f"enter network namespace {name}", "CAP_SYS_ADMIN",
                                   "run as root") from exc
        if exc.errno == errno.EINVAL:
            # setns(2): fd is not a network namespace. A /run/netns name is a
            # plain empty file until `ip netns add` mounts the namespace on it,
            # and again once `ip netns del` unmounts it: a namespace being
            # made or deleted.
            raise _vanished(name) from exc
        raise NetworkError(f"enter network namespace {name}", exc.errno) from exc


def enter(name: str) -> None:
    """Move the calling thread into namespace ``name`` for good.

    NotFound when there is no such namespace, including one deleted while
    entering it; MissingPrivilege without CAP_SYS_ADMIN.
    """
    fd = open_path(path(name), name)
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
    fd = open_path(ns_path, label)
    try:
        with entered_fd(fd, label):
            yield
    finally:
        os.close(fd)


@contextmanager
def entered_fd(fd: int, label: str) -> Iterator[None]:
    """Run the block with the calling thread inside the namespace open at ``fd``
    (see :func:`open_path`), then come back to the thread's own."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _enter_fd(fd, label)
        try:
            yield
        finally:
            _enter_fd(home, "of origin")
    finally:
        os.close(home)


class Namespace(NamedTuple):
    """A network namespace in use, as :func:`every` finds it."""

    label: str  # its /run/netns name, "pid:N", or "" for the current one with no name
    path: str  # the file to open (open_path) to read it
    current: bool  # the calling thread's own: read it without entering it


def _key(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino  # a namespace's identity (namespaces(7), ioctl_ns(2))


def every(proc_root: str = "/proc") -> list[Namespace]:
    """Every network namespace in use, each once.

    The calling thread's own first, then the named ones (``/run/netns``),
    sorted, then those only a process lives in (label ``pid:N``, the lowest
    such pid). A namespace is labelled with its name when it has one, the
    current one too (as ``ip netns identify`` names it); the current one with
    no name (the init namespace, usually) is labelled ``""``, as
    ``ip netns identify`` prints nothing for it. Files that vanish while
    looking, or that may not be looked at, are left out: without privilege,
    that is every ``/proc/PID/ns/net`` of another user's process (ptrace
    access mode, proc(5)), so the namespaces only such processes live in are
    not found at all; the named ones are (``/run/netns`` is readable).
    """
    seen: dict[tuple[int, int], int] = {}
    out: list[Namespace] = []

    def add(label: str, ns_path: str, current: bool = False) -> None:
        try:
            key = _key(os.stat(ns_path))
        except OSError:
            return  # gone, or not ours to look at
        if key in seen:
            i = seen[key]
            if not out[i].label and not label.startswith("pid:"):
                out[i] = out[i]._replace(label=label)  # the current one, by its name
            return
        seen[key] = len(out)
        out.append(Namespace(label, ns_path, current))

    add("", f"{proc_root}/thread-self/ns/net", current=True)
    for name in named():
        add(name, os.path.join(NETNS_RUN_DIR, name))
    try:
        entries = os.listdir(proc_root)
    except OSError:
        entries = []
    for pid in sorted(int(p) for p in entries if p.isdigit()):
        add(f"pid:{pid}", f"{proc_root}/{pid}/ns/net")
    return out


def each(skipped: Callable[[str, SocklabError], None] | None = None,
         ) -> Iterator[tuple[str, Callable[[], AbstractContextManager[object]]]]:
    """``(label, enter)`` for each namespace in use (:func:`every`): ``with enter():``
    runs a block inside it.

    The current one is read where it is: ``enter`` does no setns(2), so no
    privilege is needed. Each other one is opened once and its file held open
    until the next is asked for, so that it cannot vanish half-way
    (namespaces(7)); it is entered once first, so that one already gone
    (NotFound) or not to be entered (MissingPrivilege, CAP_SYS_ADMIN) is left
    out before any work, and ``skipped(label, error)`` is told.
    """
    for ns in every():
        if ns.current:
            yield ns.label, nullcontext
            continue
        try:
            fd = open_path(ns.path, ns.label)
        except (NotFound, MissingPrivilege) as exc:
            if skipped is not None:
                skipped(ns.label, exc)
            continue
        try:
            try:
                with entered_fd(fd, ns.label):
                    pass
            except (NotFound, MissingPrivilege) as exc:
                if skipped is not None:
                    skipped(ns.label, exc)
                continue
            yield ns.label, functools.partial(entered_fd, fd, ns.label)
        finally:
            os.close(fd)
