"""What the talk commands (connect, listen, relay, send, receive) share: logging to
stderr, a progress bar, and the stdio end. The talking itself is the library's
(``socklab.talk``); this module only renders."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, BinaryIO

from socklab.talk.pump import End
from socklab.userfiles import stdin_buffer

if TYPE_CHECKING:
    import socket

    from socklab.talk.endpoint import Endpoint


def log(message: str) -> None:
    sys.stderr.write(f"socklab: {message}\n")
    sys.stderr.flush()


def interactive() -> bool:
    """A person types on stdin: stop when the peer closes, as nc does, rather than
    wait for an end of input that may never come. From a pipe or a file, both
    directions run to their end (socat's way), so nothing is cut short."""
    return sys.stdin.isatty()


def stdio() -> End:
    return End(fd=stdio_fd(), write_fd=sys.stdout.fileno())


def stdin() -> BinaryIO:
    """Standard input; BadInput when it is closed (``<&-``)."""
    return stdin_buffer()


def stdio_fd() -> int:
    return stdin().fileno()


def stdout() -> BinaryIO:
    return sys.stdout.buffer


def write_stdout(data: bytes) -> None:
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


def where(ep: Endpoint, listener: socket.socket) -> str:
    """Where a listener listens, with the real port when 0 was asked."""
    from socklab.trace import format_address

    return f"{ep.scheme}:{format_address(listener.getsockname())}" if ep.is_inet else str(ep)


class ProgressBar:
    """A one-line progress bar with rate and ETA on a terminal; silent elsewhere."""

    def __init__(self, label: str, unit: str = "MB/s", scale: float = 1e6) -> None:
        self.label, self.unit, self.scale = label, unit, scale  # rate shown: done/s / scale
        self.on = sys.stderr.isatty()
        self.start = time.monotonic()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.on or (now - self.last < 0.2 and done < total):
            return
        self.last = now
        rate = done / max(now - self.start, 1e-6)
        eta = (total - done) / rate if rate else 0
        width = 30
        filled = int(width * done / total) if total else width
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
                         f"{done * 100 // max(total, 1):3d}% {rate / self.scale:8.1f} {self.unit} "
                         f"ETA {eta:5.1f} s")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()
