"""Move bytes between two ends (sockets, pipes, files, a terminal), both ways, with half-close.

One direction is :func:`copy`; :func:`bridge` runs both, one thread each, and
passes an end-of-stream on as ``shutdown(SHUT_WR)`` (a socket) or ``close`` (a
pipe or file), as nc and socat do: a peer that sends and then shuts its write
side still receives the whole answer.

The data path picks the cheapest primitive that works for the pair, without
copying through Python when it can:

1. ``splice(2)`` through a pipe (socket -> pipe -> socket or file): the kernel
   moves pages, Python only loops.
2. ``sendfile(2)`` from a regular file to a socket.
3. ``recv_into`` a preallocated 1 MiB buffer and ``sendall`` (TLS, or when
   splice is refused).

With ``--trace`` on, path 3 is used for sockets so that every recv and send
is shown.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat
import threading
from collections.abc import Callable

from socklab import trace

__all__ = ["CHUNK", "End", "bridge", "copy", "discard", "relay"]

CHUNK = 1 << 20  # 1 MiB: measured fastest for sendall/recv_into here (docs/design.md)


class End:
    """One side of a transfer: a socket, or a file descriptor (stdin, stdout, a file)."""

    def __init__(self, sock: socket.socket | None = None, fd: int | None = None,
                 write_fd: int | None = None, close_fd: bool = False) -> None:
        self.sock = sock
        self.read_fd = sock.fileno() if sock is not None else fd
        self.write_fd = sock.fileno() if sock is not None else (write_fd if write_fd is not None
                                                                 else fd)
        self.close_fd = close_fd
        self.plain = sock is None or type(sock) is socket.socket  # no TLS, no tracing

    def shut_write(self) -> None:
        """End of stream towards this end: half-close a socket, close a pipe/file."""
        if self.sock is not None:
            # the peer is gone already (ENOTCONN, ECONNRESET): nothing left to tell it;
            # the copy that failed, if one did, reports its own error
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_WR)
        elif self.write_fd is not None and self.close_fd:
            os.close(self.write_fd)
            self.write_fd = None

    def is_regular_file(self) -> bool:
        return self.read_fd is not None and self.sock is None and \
            stat.S_ISREG(os.fstat(self.read_fd).st_mode)


def copy(src: End, dst: End, progress: Callable[[int], None] | None = None) -> int:
    """Copy from ``src`` to ``dst`` until end of stream; returns the byte count.
    Raises OSError (reset, broken pipe): the caller names the operation."""
    if not trace.active() and src.plain and dst.plain:
        if src.is_regular_file() and dst.sock is not None:
            done = _sendfile(src, dst, progress)
            if done is not None:
                return done
        done = _splice(src, dst, progress)
        if done is not None:
            return done
    return _buffered(src, dst, progress)


def _sendfile(src: End, dst: End, progress: Callable[[int], None] | None) -> int | None:
    assert src.read_fd is not None and dst.write_fd is not None
    total = 0
    while True:
        try:
            n = os.sendfile(dst.write_fd, src.read_fd, None, CHUNK * 8)
        except OSError as exc:
            if total == 0 and exc.errno in (errno.EINVAL, errno.ENOSYS):
                return None
            raise
        if n == 0:
            return total
        total += n
        if progress:
            progress(n)


def _splice(src: End, dst: End, progress: Callable[[int], None] | None) -> int | None:
    assert src.read_fd is not None and dst.write_fd is not None
    r, w = os.pipe()
    try:
        try:
            import fcntl

            fcntl.fcntl(w, 1031, CHUNK)  # F_SETPIPE_SZ: a 1 MiB pipe moves more per call
        except OSError as exc:
            # EPERM: above fs.pipe-max-size for an unprivileged user (fcntl(2)); the
            # default 64 KiB pipe then moves the same bytes in more calls
            if exc.errno != errno.EPERM:
                raise
        total = 0
        splice = os.splice
        while True:
            try:
                n = splice(src.read_fd, w, CHUNK)
            except OSError as exc:
                if total == 0 and exc.errno in (errno.EINVAL, errno.ENOSYS):
                    return None
                raise
            if n == 0:
                return total
            left = n
            while left:
                left -= splice(r, dst.write_fd, left)
            total += n
            if progress:
                progress(n)
    finally:
        os.close(r)
        os.close(w)


def _buffered(src: End, dst: End, progress: Callable[[int], None] | None) -> int:
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    total = 0
    while True:
        if src.sock is not None:
            n = src.sock.recv_into(view)
        else:
            assert src.read_fd is not None
            n = os.readv(src.read_fd, [view])
        if n == 0:
            return total
        if dst.sock is not None:
            dst.sock.sendall(view[:n])
        else:
            assert dst.write_fd is not None
            sent = 0
            while sent < n:
                sent += os.write(dst.write_fd, view[sent:n])
        total += n
        if progress:
            progress(n)


def discard(src: End) -> int:
    """Read ``src`` to its end and drop it (into /dev/null, so splice can move it)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        return copy(src, End(fd=devnull))
    finally:
        os.close(devnull)


def bridge(a: End, b: End, until_b_ends: bool = False) -> tuple[int, int]:
    """Copy a -> b and b -> a at once; each direction half-closes when its source ends.

    Returns the byte counts (a to b, b to a) once both directions ended, or, with
    ``until_b_ends``, once ``b`` has nothing more to say (nc's behaviour: when the
    peer closes, stop, even if the terminal on ``a`` is still open). Re-raises the
    first error of either side."""
    counts = [0, 0]
    errors: list[BaseException] = []

    def run(i: int, src: End, dst: End) -> None:
        try:
            counts[i] = copy(src, dst)
        except OSError as exc:
            errors.append(exc)
        finally:
            dst.shut_write()

    if until_b_ends:
        forward = threading.Thread(target=run, args=(0, a, b), daemon=True)
        forward.start()
        run(1, b, a)
    else:
        other = threading.Thread(target=run, args=(1, b, a), daemon=True)
        other.start()
        run(0, a, b)
        other.join()
    if errors:
        raise errors[0]
    return counts[0], counts[1]


def relay(a: socket.socket, b: socket.socket) -> tuple[int, int]:
    """``socklab.relay(a, b)``: bridge two connected sockets until both directions end."""
    return bridge(End(a), End(b))
