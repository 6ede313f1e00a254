"""A file over a stream socket, checked on arrival: ``socklab send`` / ``socklab receive``.

The wire format (version 1), all on one connection::

    sender -> receiver   b"SOCKLAB-FILE 1 <size> <name>\\n"  then <size> bytes
                         then b"<sha256 hex>\\n"
    receiver -> sender   b"OK\\n" once size and SHA-256 match, else b"ERR <why>\\n"

``<size>`` is decimal ASCII digits; ``<name>`` is the file's name, percent-encoded
(RFC 3986, as ``urllib.parse.quote`` does), the bytes of a UTF-8 name. The ``1``
is the protocol's version: a receiver answers ``ERR unsupported version`` to any
other, so that a later version can change the rest of the line.

The receiver's answer is its status, and the sender reports it: exit 0 only on
``OK``; ``ERR <why>`` is printed with the receiver's reason. ``ERR`` may come at any
point, not only after the data: a name the receiver refuses, a full disk, a write
error. Then the receiver reads no more: it shuts its side (``SHUT_WR``) and
discards what still arrives until the sender closes, for at most
:data:`DRAIN_SECONDS`, so that the sender reads the reason rather than a reset
(closing with unread data sends a RST, RFC 1122 section 4.2.2.13). The sender
looks for an early answer between two chunks and stops at the first one.

Rules:

1. The receiver writes to a hidden temporary file next to the target and renames it
   to its final name only when size and hash match: a transfer cut short, refused
   or interrupted never leaves a file under that name, and the temporary file is
   removed.
2. Into a directory, the sender's name is used only when it is a plain file name:
   not empty, ``.`` or ``..``; no ``/``, NUL or other control character; valid
   UTF-8; at most 255 bytes (NAME_MAX). Anything else is refused before a byte is
   written.
3. Every failure is a :class:`~socklab.errors.SocklabError` naming the file and the
   reason (the peer's reset, the disk's ENOSPC, the refused name).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import select
import socket
import time
from collections.abc import Callable
from urllib.parse import quote, unquote_to_bytes

from socklab.errors import BadInput, Malformed, NetworkError
from socklab.kernel import files
from socklab.kernel.sock import TracedSocket
from socklab.talk.pump import CHUNK

__all__ = ["receive_file", "send_file"]

PREFIX = b"SOCKLAB-FILE "
VERSION = b"1"
MAGIC = PREFIX + VERSION + b" "
NAME_MAX = 255  # bytes in a file name (Linux NAME_MAX)
DRAIN_SECONDS = 2.0
"""How long a receiver that answered ERR keeps reading (and dropping) what the sender
still sends, so that its answer is read before the connection closes."""
ANSWER_SECONDS = 5.0  # how long the sender waits for an answer it saw coming
Progress = Callable[[int, int], None]  # (bytes so far, total)


def send_file(sock: socket.socket, path: str, progress: Progress | None = None) -> int:
    """Send ``path``; returns its size once the receiver confirmed it. Raises
    BadInput (no such file), NetworkError (cut short, or refused by the receiver,
    with its reason)."""
    try:
        fd, size = files.open_read(path)
    except OSError as exc:
        raise BadInput(f"send {path}: {exc.strerror}") from exc
    name = quote(os.fsencode(os.path.basename(path)))
    digest = hashlib.sha256()
    done = 0
    answer: bytes | None = None
    try:
        sock.sendall(MAGIC + f"{size} {name}\n".encode())
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        while answer is None:
            n = os.readv(fd, [view])
            if n == 0:
                break
            digest.update(view[:n])
            sock.sendall(view[:n])
            done += n
            if progress:
                progress(done, size)
            answer = _early_answer(sock)
        if answer is None:
            sock.sendall(digest.hexdigest().encode() + b"\n")
            sock.shutdown(socket.SHUT_WR)
            answer = _line(sock, 4096)
    except OSError as exc:
        # a receiver that gave up said why before the connection broke: read it
        answer = _answer_after(sock)
        if answer is None or not answer.startswith(b"ERR"):
            raise NetworkError(f"send {path}", exc.errno, exc.strerror or str(exc)) from exc
    finally:
        os.close(fd)
    if answer.startswith(b"ERR"):
        raise NetworkError(f"send {path}", None, "the receiver refused it: "
                           + _printable(answer[3:].strip()))
    if answer != b"OK":
        raise NetworkError(f"send {path}", None, "no answer from the receiver"
                           if not answer else "unexpected answer: " + _printable(answer))
    if done != size:
        raise NetworkError(f"send {path}", None, f"the file changed while sent ({done} of "
                           f"{size} bytes)")
    return size


def _early_answer(sock: socket.socket) -> bytes | None:
    """The receiver's answer when one is already waiting, else None (no wait).

    Only on a plain socket: over TLS a readable descriptor may hold records that are
    no data (a TLS 1.3 session ticket), and the answer is read at the end."""
    if type(sock) not in (socket.socket, TracedSocket):
        return None
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    if not poller.poll(0):
        return None
    return _answer_after(sock)


def _answer_after(sock: socket.socket) -> bytes | None:
    """Read the receiver's answer line, waiting a little; None when there is none."""
    before = sock.gettimeout()
    try:
        sock.settimeout(ANSWER_SECONDS)
        return _line(sock, 4096)
    except (OSError, Malformed):  # no answer: the caller reports the send's own error
        return None
    finally:
        with contextlib.suppress(OSError):
            sock.settimeout(before)


def _printable(raw: bytes) -> str:
    """A peer's text made safe for a terminal: control characters escaped."""
    text = raw.decode(errors="replace")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _line(sock: socket.socket, limit: int, first: bytes = b"") -> bytes:
    data = bytearray(first)
    while b"\n" not in data:
        chunk = sock.recv(limit)
        if not chunk:
            break
        data += chunk
        if len(data) > limit:
            raise Malformed(f"protocol error: a line longer than {limit} bytes from the peer")
    return bytes(data.split(b"\n", 1)[0])


class _Refused(Exception):
    """What the receiver tells the sender in ``ERR <why>`` (and the error it raises)."""

    def __init__(self, why: str, errno: int | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.errno = errno


def receive_file(sock: socket.socket, target: str, progress: Progress | None = None) -> int:
    """Receive one file into ``target`` (a directory: keep the sender's name).
    Returns its size. Raises NetworkError when cut short, refused or corrupted, with
    the reason; then no file exists under the final name, and the sender was told
    why when the connection still allowed it."""
    what = f"receive {target}"
    try:
        head, rest = _header(sock)
        size, name = _parse_header(head)
        final = _final_path(target, name)
        what = f"receive {final}"
        return _receive_data(sock, final, size, rest, progress)
    except _Refused as exc:
        _answer_error(sock, exc.why)
        raise NetworkError(what, exc.errno, exc.why) from None


def _receive_data(sock: socket.socket, final: str, size: int, rest: bytes,
                  progress: Progress | None) -> int:
    try:
        fd, tmp = files.open_temp(final)
    except OSError as exc:
        raise _Refused(f"cannot write {final}: {exc.strerror}", exc.errno) from exc
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
                try:
                    n = sock.recv_into(view, min(CHUNK, size - got))
                except OSError as exc:
                    raise NetworkError(f"receive {final}", exc.errno, f"{exc.strerror} after "
                                       f"{got} of {size} bytes") from exc
                if n == 0:
                    raise NetworkError(f"receive {final}", None,
                                       f"connection closed after {got} of {size} bytes")
                chunk = view[:n]
            digest.update(chunk)
            try:
                written = 0
                while written < n:
                    written += os.write(fd, chunk[written:])
            except OSError as exc:
                raise _Refused(f"write {final}: {exc.strerror}", exc.errno) from exc
            got += n
            if progress:
                progress(got, size)
        try:
            trailer = _line(sock, 128, bytes(pending))
        except OSError as exc:
            raise NetworkError(f"receive {final}", exc.errno, exc.strerror or str(exc)) from exc
        if trailer.decode(errors="replace") != digest.hexdigest():
            raise _Refused("SHA-256 mismatch: the data was corrupted on the way")
        try:
            files.commit(fd, tmp, final)
        except OSError as exc:
            fd = -1  # commit closed it
            raise _Refused(f"cannot write {final}: {exc.strerror}", exc.errno) from exc
    except BaseException:
        files.discard(fd, tmp)
        raise
    # the file is committed: a sender gone before the OK loses only its confirmation
    with contextlib.suppress(OSError):
        sock.sendall(b"OK\n")
    return size


def _header(sock: socket.socket) -> tuple[bytes, bytes]:
    data = bytearray()
    while b"\n" not in data:
        try:
            chunk = sock.recv(4096)
        except OSError as exc:
            raise NetworkError("receive", exc.errno, exc.strerror or str(exc)) from exc
        if not chunk:
            raise NetworkError("receive", None, "connection closed before any data")
        data += chunk
        if len(data) > 8192:
            break
    head, _, rest = bytes(data).partition(b"\n")
    return head, rest


def _parse_header(head: bytes) -> tuple[int, bytes]:
    """``(size, raw name)`` from the header line; _Refused when malformed."""
    if not head.startswith(PREFIX):
        raise _Refused("not a socklab file transfer (no header)")
    version, _, fields = head[len(PREFIX):].partition(b" ")
    if version != VERSION:
        raise _Refused(f"unsupported version {_printable(version[:16])} (this receiver "
                       f"speaks {VERSION.decode()})")
    size_text, sep, name = fields.partition(b" ")
    if not sep or not size_text.isdigit() or len(size_text) > 19:
        raise _Refused("bad header: expected '<size> <name>'")
    return int(size_text), unquote_to_bytes(name)


def _final_path(target: str, name: bytes) -> str:
    """Where the file goes: ``target``, or the sender's name inside it when it is a
    directory, if that name is a plain file name (rule 2)."""
    if not os.path.isdir(target):
        return target
    shown = repr(name)[1:] if len(name) <= 80 else repr(name[:80])[1:] + "..."
    if name in (b"", b".", b".."):
        raise _Refused(f"file name {shown} is not a file name")
    if b"/" in name:
        raise _Refused(f"file name {shown} holds '/': only a plain name is accepted")
    if any(c < 0x20 or c == 0x7F for c in name):
        raise _Refused(f"file name {shown} holds a control character (NUL, newline ...)")
    if len(name) > NAME_MAX:
        raise _Refused(f"file name of {len(name)} bytes: at most {NAME_MAX}")
    try:
        text = name.decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused(f"file name {shown} is not UTF-8") from None
    final = os.path.join(target, text)
    if os.path.isdir(final):
        raise _Refused(f"{final} is a directory")
    if os.path.exists(final) and not os.path.isfile(final):
        # a device or FIFO (a symlink to one included) would be written in place
        # (files.open_temp): the sender names only regular files
        raise _Refused(f"{final} is not a regular file")
    return final


def _answer_error(sock: socket.socket, why: str) -> None:
    """Tell the sender why (``ERR``), then drop what it still sends until it closes,
    for at most DRAIN_SECONDS, so that it can read the answer."""
    with contextlib.suppress(OSError):
        sock.sendall(f"ERR {why}\n".encode(errors="replace"))
        sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + DRAIN_SECONDS
        sink = bytearray(CHUNK)
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            if not sock.recv_into(sink):
                break
