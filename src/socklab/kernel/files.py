"""Files for transfers: read a file, write a temporary one, put it in place atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile

__all__ = ["commit", "discard", "open_read", "open_temp", "read_bounded"]


def open_read(path: str) -> tuple[int, int]:
    """``(fd, size)`` of a regular file opened for reading (OSError as the OS says)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    return fd, os.fstat(fd).st_size


def open_temp(final: str) -> tuple[int, str]:
    """A new hidden file next to ``final`` (same filesystem, so the rename is atomic)."""
    folder = os.path.dirname(os.path.abspath(final))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(final)}.", suffix=".part",
                               dir=folder)
    return fd, tmp


def commit(fd: int, tmp: str, final: str) -> None:
    """Flush to disk and give the file its final name (rename(2): all or nothing).
    ``fd`` is closed, even when this raises."""
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
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)


def read_bounded(path: str, limit: int) -> bytes:
    """The bytes of a file, at most ``limit + 1`` of them (the caller refuses a file
    longer than ``limit``); OSError as the OS says."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
