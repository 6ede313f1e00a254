"""The raw ``struct sockaddr`` bytes of a socket's local address (course 2.2.2).

Python's ``getsockname()`` returns the address already decoded (a tuple, a
str); the tour shows the bytes themselves, so this calls libc's
getsockname(2) on the fd into a ``struct sockaddr_storage`` and returns as
many bytes as the length the kernel wrote (at most the buffer's size: a
longer length means the address was truncated, getsockname(2)).
"""

from __future__ import annotations

import ctypes
import os

from socklab.errors import NetworkError

__all__ = ["STORAGE", "local_bytes"]

STORAGE = 128  # sizeof(struct sockaddr_storage), <bits/socket.h>


def local_bytes(fd: int) -> bytes:
    """The bytes getsockname(2) writes for ``fd``."""
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(STORAGE)
    size = ctypes.c_uint32(STORAGE)
    if libc.getsockname(fd, buf, ctypes.byref(size)) != 0:
        raise NetworkError(f"getsockname: {os.strerror(ctypes.get_errno())}")
    return buf.raw[:min(size.value, STORAGE)]
