"""``sendmmsg(2)`` and ``recvmmsg(2)``, which Python's socket module does not
offer: many datagrams, one system call, and no GIL during it (ctypes lets go of
it for the call).

``sendmmsg``: ``ping -i 0``, where the call itself is the cost: on loopback the
kernel answers each echo inside the ``sendto`` that sent it (about 6 us), and
sending 32 at a time from a thread leaves the main thread free to read the
replies. ``recvmmsg``: the reader thread of a big netlink dump, where the kernel
builds each chunk inside the receive: one call builds 8 chunks while the main
thread decodes, instead of a GIL hand-off per chunk. Loaded only then:
``ctypes`` is a few milliseconds of start-up.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import struct
from typing import Any

__all__ = ["BatchReceiver", "BatchSender"]

MSG_TRUNC = 0x20
MSG_WAITFORONE = 0x10000


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


def _libc_function(name: str) -> Any:
    libc = ctypes.CDLL(None, use_errno=True)
    try:
        return getattr(libc, name)
    except AttributeError:
        raise OSError(errno.ENOSYS, f"{name} is not in this C library") from None


class BatchReceiver:
    """Receive up to ``batch`` datagrams of at most ``size`` bytes each in one call.

    :meth:`receive` gives the lengths of the datagrams received, :meth:`slot`
    the view of this receiver's buffer each one is in (valid until the next
    :meth:`receive`). Raises OSError(ENOSYS) at construction when the C library
    has no recvmmsg.
    """

    def __init__(self, sock: socket.socket, size: int, batch: int = 16) -> None:
        self._recvmmsg = _libc_function("recvmmsg")
        self._fd = sock.fileno()
        self.size = size
        self.batch = batch
        self._buf = ctypes.create_string_buffer(size * batch)
        self._view = memoryview(self._buf).cast("B")
        base = ctypes.addressof(self._buf)
        self._iov = (_IOVec * batch)(*[_IOVec(base + size * i, size) for i in range(batch)])
        self._msgs = (_MMsgHdr * batch)()
        for i in range(batch):
            self._msgs[i].hdr.iov = ctypes.pointer(self._iov[i])
            self._msgs[i].hdr.iovlen = 1
        # each mmsghdr's msg_flags and msg_len read with one struct pass, not
        # through ctypes (a field access there costs about half a microsecond)
        flags_at = _MMsgHdr.hdr.offset + _MsgHdr.flags.offset
        len_at = _MMsgHdr.len.offset
        entry = ctypes.sizeof(_MMsgHdr)
        self._heads = struct.Struct(f"={flags_at}xi{len_at - flags_at - 4}xI"
                                    f"{entry - len_at - 4}x")
        self._msg_view = memoryview(self._msgs).cast("B")

    def receive(self, flags: int = MSG_WAITFORONE) -> list[int]:
        """The lengths of the datagrams received: at least one (the default flag
        blocks for the first and takes those queued after it; with MSG_DONTWAIT,
        BlockingIOError when none waits). A datagram longer than ``size`` (the
        kernel cut it) raises EMSGSIZE."""
        n = int(self._recvmmsg(self._fd, self._msgs, self.batch, flags, None))
        if n < 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
        lengths = []
        for msg_flags, length in self._heads.iter_unpack(
                self._msg_view[:self._heads.size * n]):
            if msg_flags & MSG_TRUNC:
                raise OSError(errno.EMSGSIZE, f"a datagram longer than {self.size} bytes")
            lengths.append(length)
        return lengths

    def slot(self, i: int) -> memoryview:
        """Where the ``i``-th datagram of the last receive is (``size`` bytes)."""
        start = self.size * i
        return self._view[start:start + self.size]


class BatchSender:
    """Send up to ``batch`` datagrams of at most ``size`` bytes to ``dest`` in one call.

    Raises OSError(ENOSYS) at construction when the C library has no sendmmsg.
    """

    def __init__(self, sock: socket.socket, dest: tuple[Any, ...], size: int,
                 batch: int = 16) -> None:
        self._sendmmsg = _libc_function("sendmmsg")
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
