"""What the talk commands (connect, listen, relay, send, receive) share: logging to
stderr, a progress bar, peer credentials, accept, and the stdio end."""

from __future__ import annotations

import errno
import socket
import struct
import sys
import time
from typing import Protocol

from socklab.talk.pump import End

ACCEPT_PAUSE = 0.1  # seconds between two accepts short of descriptors (as serve.py)
_FD_SHORTAGE = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)  # accept(2)


def log(message: str) -> None:
    sys.stderr.write(f"socklab: {message}\n")
    sys.stderr.flush()


class Acceptor(Protocol):
    def accept(self) -> tuple[socket.socket, object]: ...


def accept(listener: Acceptor, what: str) -> tuple[socket.socket, object]:
    """``listener.accept()`` (blocking). Out of descriptors (EMFILE ...), wait
    ACCEPT_PAUSE and try again, saying it once, as the event loop does: the client
    waits in the listen queue. Other errors: a SocklabError naming ``what``."""
    from socklab.errors import from_oserror

    said = False
    while True:
        try:
            return listener.accept()
        except OSError as exc:
            if exc.errno not in _FD_SHORTAGE:
                raise from_oserror(exc, f"accept on {what}") from exc
            if not said:
                log(f"accept: {exc.strerror}: new clients wait until a descriptor frees")
                said = True
            time.sleep(ACCEPT_PAUSE)


def interactive() -> bool:
    """A person types on stdin: stop when the peer closes, as nc does, rather than
    wait for an end of input that may never come. From a pipe or a file, both
    directions run to their end (socat's way), so nothing is cut short."""
    return sys.stdin.isatty()


def stdio() -> End:
    return End(fd=sys.stdin.fileno(), write_fd=sys.stdout.fileno())


def peer_credentials(sock: socket.socket) -> str | None:
    """``pid=.. uid=.. gid=..`` of a UNIX peer (SO_PEERCRED), None for other families."""
    if sock.family != socket.AF_UNIX:
        return None
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", raw)
    return f"pid={pid} uid={uid} gid={gid}"


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
