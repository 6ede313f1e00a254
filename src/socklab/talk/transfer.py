"""A file over a stream socket, checked on arrival: ``socklab send`` / ``socklab receive``.

The wire format, all on one connection::

    sender -> receiver   b"SOCKLAB-FILE 1 <size> <name>\\n"  then <size> bytes
                         then b"<sha256 hex>\\n"
    receiver -> sender   b"OK\\n" once size and SHA-256 match, else b"ERR <why>\\n"

Rules: the receiver writes to a hidden temporary file next to the target and
renames it to its final name only when the size and the hash match, so a
transfer cut short never leaves a file under that name; the sender succeeds
only when the receiver said OK.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
from collections.abc import Callable
from urllib.parse import quote, unquote

from socklab.errors import BadInput, NetworkError, SocklabError, from_oserror
from socklab.kernel import files
from socklab.talk.pump import CHUNK

__all__ = ["receive_file", "send_file"]

MAGIC = b"SOCKLAB-FILE 1 "
Progress = Callable[[int, int], None]  # (bytes so far, total)


def send_file(sock: socket.socket, path: str, progress: Progress | None = None) -> int:
    """Send ``path``; returns its size once the receiver confirmed it. Raises
    BadInput (no such file), NetworkError (cut short, or refused by the receiver)."""
    try:
        fd, size = files.open_read(path)
    except OSError as exc:
        raise BadInput(f"send {path}: {exc.strerror}") from exc
    digest = hashlib.sha256()
    done = 0
    try:
        sock.sendall(MAGIC + f"{size} {quote(os.path.basename(path))}\n".encode())
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        while True:
            n = os.readv(fd, [view])
            if n == 0:
                break
            digest.update(view[:n])
            sock.sendall(view[:n])
            done += n
            if progress:
                progress(done, size)
        sock.sendall(digest.hexdigest().encode() + b"\n")
        sock.shutdown(socket.SHUT_WR)
        answer = _line(sock, 4096)
    except OSError as exc:
        raise NetworkError(f"send {path}", exc.errno, exc.strerror or str(exc)) from exc
    finally:
        os.close(fd)
    if done != size:
        raise NetworkError(f"send {path}", None, f"the file changed while sent ({done} of "
                           f"{size} bytes)")
    if answer != b"OK":
        raise NetworkError(f"send {path}", None, "the receiver refused it: "
                           + answer.decode(errors="replace"))
    return size


def _line(sock: socket.socket, limit: int, first: bytes = b"") -> bytes:
    data = bytearray(first)
    while b"\n" not in data:
        chunk = sock.recv(limit)
        if not chunk:
            break
        data += chunk
        if len(data) > limit:
            raise SocklabError("protocol error: line too long")
    return bytes(data.split(b"\n", 1)[0])


def receive_file(sock: socket.socket, target: str, progress: Progress | None = None) -> int:
    """Receive one file into ``target`` (a directory: keep the sender's name).
    Returns its size. Raises NetworkError when cut short or corrupted; then no
    file exists under the final name."""
    header, rest = _header(sock)
    try:
        size_text, name = header[len(MAGIC):].decode().split(" ", 1)
        size = int(size_text)
    except ValueError:
        _refuse(sock, "bad header")
        raise NetworkError("receive", None, "not a socklab file transfer") from None
    final = os.path.join(target, os.path.basename(unquote(name)) or "received") \
        if os.path.isdir(target) else target
    try:
        fd, tmp = files.open_temp(final)
    except OSError as exc:
        _refuse(sock, exc.strerror or "cannot write")
        raise from_oserror(exc, f"receive {final}") from exc
    digest = hashlib.sha256()
    got = 0
    try:
        pending = memoryview(rest)
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        while got < size:
            if pending.nbytes:
                n = min(pending.nbytes, size - got)
                chunk = pending[:n]
                pending = pending[n:]
            else:
                n = sock.recv_into(view, min(CHUNK, size - got))
                if n == 0:
                    raise NetworkError(f"receive {final}", None,
                                       f"connection closed after {got} of {size} bytes")
                chunk = view[:n]
            digest.update(chunk)
            written = 0
            while written < n:
                written += os.write(fd, chunk[written:])
            got += n
            if progress:
                progress(got, size)
        trailer = _line(sock, 128, bytes(pending))
        if trailer.decode(errors="replace") != digest.hexdigest():
            _refuse(sock, "SHA-256 mismatch")
            raise NetworkError(f"receive {final}", None, "SHA-256 mismatch: the data was "
                               "corrupted on the way")
        files.commit(fd, tmp, final)
    except BaseException:
        files.discard(fd, tmp)
        raise
    with contextlib.suppress(OSError):
        sock.sendall(b"OK\n")
    return size


def _header(sock: socket.socket) -> tuple[bytes, bytes]:
    data = bytearray()
    while b"\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise NetworkError("receive", None, "connection closed before any data")
        data += chunk
        if len(data) > 8192:
            break
    head, _, rest = bytes(data).partition(b"\n")
    if not head.startswith(MAGIC):
        raise NetworkError("receive", None, "not a socklab file transfer (no header)")
    return head, rest


def _refuse(sock: socket.socket, why: str) -> None:
    with contextlib.suppress(OSError):
        sock.sendall(f"ERR {why}\n".encode())
