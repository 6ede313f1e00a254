"""``sendmmsg(2)``, which Python's socket module does not offer: many datagrams,
one system call.

Used by ``ping -i 0``, where the call itself is the cost: on loopback the kernel
answers each echo inside the ``sendto`` that sent it (about 6 us), and sending
16 at a time from a thread (ctypes lets go of the GIL during the call) leaves
the main thread free to read the replies. Loaded only then: ``ctypes`` is a
few milliseconds of start-up.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import struct
from typing import Any

__all__ = ["BatchSender"]


class _IOVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _MsgHdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                ("iov", ctypes.POINTER(_IOVec)), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


class _MMsgHdr(ctypes.Structure):
    _fields_ = [("hdr", _MsgHdr), ("len", ctypes.c_uint)]


def _sockaddr(dest: tuple[Any, ...], family: int) -> bytes:
    host, port = dest[0], dest[1]
    if family == socket.AF_INET6:  # sockaddr_in6: family, port, flowinfo, addr, scope
        return struct.pack("=H", family) + struct.pack("!HI", port, 0) + \
            socket.inet_pton(family, host) + struct.pack("=I", 0)
    return struct.pack("=H", family) + struct.pack("!H", port) + \
        socket.inet_pton(family, host) + bytes(8)


class BatchSender:
    """Send up to ``batch`` datagrams of at most ``size`` bytes to ``dest`` in one call.

    Raises OSError(ENOSYS) at construction when the C library has no sendmmsg.
    """

    def __init__(self, sock: socket.socket, dest: tuple[Any, ...], size: int,
                 batch: int = 16) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        try:
            self._sendmmsg = libc.sendmmsg
        except AttributeError:
            raise OSError(errno.ENOSYS, "sendmmsg is not in this C library") from None
        self._fd = sock.fileno()
        self._size = size
        self._batch = batch
        self._addr = ctypes.create_string_buffer(_sockaddr(dest, sock.family))
        self._buf = ctypes.create_string_buffer(max(size, 1) * batch)
        self._view = memoryview(self._buf).cast("B")
        base = ctypes.addressof(self._buf)
        self._iov = (_IOVec * batch)(*[_IOVec(base + size * i, size) for i in range(batch)])
        self._msgs = (_MMsgHdr * batch)()
        for i in range(batch):
            hdr = self._msgs[i].hdr
            hdr.name = ctypes.addressof(self._addr)
            hdr.namelen = len(self._addr.raw)
            hdr.iov = ctypes.pointer(self._iov[i])
            hdr.iovlen = 1

    def send(self, packets: list[bytes]) -> int:
        """Send ``packets`` (at most ``batch``); the number the kernel took, which may
        be fewer. Raises OSError when the first one fails."""
        size, view, iov = self._size, self._view, self._iov
        for i, packet in enumerate(packets):
            view[size * i:size * i + len(packet)] = packet
            iov[i].len = len(packet)
        n = int(self._sendmmsg(self._fd, self._msgs, len(packets), 0))
        if n < 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
        return n
