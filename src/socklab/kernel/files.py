"""Files for transfers: read a file, write a temporary one, put it in place atomically."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator, Sequence

__all__ = ["chunks", "commit", "discard", "open_read", "open_temp", "read_bounded",
           "usual_mode", "write_all", "write_vectors"]


def open_read(path: str) -> tuple[int, int]:
    """``(fd, size)`` of a regular file opened for reading (OSError as the OS says)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    return fd, os.fstat(fd).st_size


def open_temp(final: str) -> tuple[int, str]:
    """A new hidden file next to ``final`` (same filesystem, so the rename is atomic),
    as ``(fd, its path)``. Where ``final`` is a device or a FIFO (``/dev/null``,
    ``/dev/stdout``), ``(fd, "")``: it is opened and written in place, as a shell's
    ``>`` writes it; a rename would put a regular file in the device's place."""
    if _special(final):
        fd = os.open(final, os.O_WRONLY | os.O_CLOEXEC)
        if _special_fd(fd):
            return fd, ""
        os.close(fd)  # replaced by a regular file meanwhile: the rename is right again
    folder = os.path.dirname(os.path.abspath(final))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(final)}.", suffix=".part",
                               dir=folder)
    return fd, tmp


def _special(path: str) -> bool:
    try:
        mode = os.stat(path).st_mode  # through a symlink: /dev/stdout
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _special_fd(fd: int) -> bool:
    return not stat.S_ISREG(os.fstat(fd).st_mode)


def commit(fd: int, tmp: str, final: str) -> None:
    """Flush to disk and give the file its final name (rename(2): all or nothing);
    for a device or FIFO written in place (``tmp`` empty), only close it. ``fd`` is
    closed, even when this raises."""
    if not tmp:
        os.close(fd)
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, final)


def discard(fd: int, tmp: str) -> None:
    """Remove an unfinished temporary file; ``fd`` -1 when it was closed already."""
    if fd >= 0:
        with contextlib.suppress(OSError):
            os.close(fd)
    if tmp:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def read_bounded(path: str, limit: int) -> bytes:
    """The bytes of a file, at most ``limit + 1`` of them (the caller refuses a file
    longer than ``limit``); OSError as the OS says."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        parts = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            parts.append(chunk)
            left -= len(chunk)
        return b"".join(parts)
    finally:
        os.close(fd)


def chunks(path: str, size: int = 1 << 16) -> Iterator[bytes]:
    """The bytes of the file at ``path``, ``size`` at a time (OSError as the OS says)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        while chunk := os.read(fd, size):
            yield chunk
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes | bytearray) -> None:
    """Write all of ``data`` (os.write may take less than it is given)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_vectors(fd: int, parts: Sequence[bytes | memoryview]) -> None:
    """Write ``parts`` one after the other with writev(2), at most IOV_MAX (1024)
    a call, going on after a short write."""
    i = 0
    while i < len(parts):
        chunk = parts if len(parts) <= 1024 else parts[i:i + 1024]
        done = os.writev(fd, chunk)
        i += len(chunk)
        total = sum(map(len, chunk))
        if done < total:  # rare: write the rest of this chunk the slow way
            rest = b"".join(bytes(p) for p in chunk)[done:]
            write_all(fd, rest)


def usual_mode(fd: int, proc_root: str = "/proc") -> None:
    """Give a file made by :func:`open_temp` (0600) the mode ``open(2)`` would have
    given it: 0666 less the umask, read from ``/proc/self/status`` (setting the
    umask to read it would race with other threads)."""
    if _special_fd(fd):  # a device written in place keeps its own mode (/dev/null: 0666)
        return
    umask = 0o022
    try:
        with open(f"{proc_root}/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    umask = int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    os.fchmod(fd, 0o666 & ~umask)
