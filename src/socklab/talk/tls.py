"""TLS over a TCP endpoint (``tls:tcp:HOST:PORT``), with the standard library's ssl.

A client verifies the server against the system CAs, or ``cafile``, and the
host name; a failure says why in one line. A server takes a certificate and
key. The TCP part goes through :func:`socklab.talk.net.connect`, so ``--trace``
shows it; the TLS records are made by the sans-I/O engine
(:mod:`socklab.talk.tlsengine`) inside :class:`Stream`, which, unlike
``ssl.SSLSocket``, half-closes and reads and writes from two threads.

Imports run one way: this module uses :mod:`socklab.talk.net`, never the
reverse; :func:`socklab.talk.client.connect` chooses TLS or not for an endpoint.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import socket
import ssl
import threading
from typing import Any

from socklab.errors import BadInput, NetworkError
from socklab.talk import net
from socklab.talk.endpoint import Endpoint
from socklab.talk.tlsengine import RECORD, Engine

__all__ = ["Stream", "accept", "client_context", "connect", "server_context"]

READ_SIZE = 1 << 16  # sendfile's reads: four TLS records each


def client_context(cafile: str | None = None) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise BadInput(f"--cafile {cafile}: cannot load CA certificates ({exc})") from exc


def server_context(cert: str, key: str | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise BadInput(f"--cert {cert}: cannot load the certificate and key ({exc})") from exc
    return ctx


def connect(ep: Endpoint, *, source: str | None = None, timeout: float | None = None,
            cafile: str | None = None) -> Stream:
    """A TLS client :class:`Stream` to ``ep``, the server verified (CAs, host name)."""
    ctx = client_context(cafile)
    raw = net.connect(ep._replace(tls=False), source=source, timeout=timeout)
    try:
        return _stream_class()(raw, ctx, server_hostname=ep.host or None, timeout=timeout)
    except ssl.SSLCertVerificationError as exc:
        raise NetworkError(f"connect {ep}", None,
                           f"TLS verification failed: {exc.verify_message}") from exc
    except (ssl.SSLError, OSError) as exc:  # an SSLError's number is not an errno
        code = None if isinstance(exc, ssl.SSLError) else exc.errno
        raise NetworkError(f"connect {ep}", code, f"TLS handshake failed: {exc}") from exc
    finally:
        raw.close()  # a no-op once Stream took the descriptor over


def accept(conn: socket.socket, ctx: ssl.SSLContext, timeout: float | None = None) -> Stream:
    """The server side of a TLS handshake on an accepted connection (raises ssl.SSLError)."""
    try:
        return _stream_class()(conn, ctx, server_side=True, timeout=timeout)
    finally:
        conn.close()


class Stream(socket.socket):
    """TLS on a connected TCP socket: a :class:`~socklab.talk.tlsengine.Engine` whose
    bytes this socket moves.

    It is a ``socket.socket`` (``recv``, ``recv_into``, ``send``, ``sendall``,
    ``shutdown``, ``makefile``, timeouts) with two things ``ssl.SSLSocket`` lacks,
    both needed by a relay:

    * one thread may read while another writes: a lock orders the records on the
      wire and guards the TLS state, a blocking ``recv`` happens outside it;
    * ``shutdown(SHUT_WR)`` is a half-close: it sends close_notify and the TCP
      FIN, and the stream still reads until the peer's close_notify (TLS 1.3,
      RFC 8446 section 6.1), as ``nc``/``socat`` users expect of a shut write.

    Use it blocking or with a timeout, not non-blocking.
    """

    RECORD = RECORD  # bytes asked of the kernel per recv: several TLS records

    def __init__(self, raw: socket.socket, ctx: ssl.SSLContext, *, server_side: bool = False,
                 server_hostname: str | None = None, timeout: float | None = None) -> None:
        super().__init__(raw.family, raw.type, raw.proto, fileno=raw.detach())
        self._tls = Engine(ctx, server_side=server_side, server_hostname=server_hostname)
        self._lock = threading.Lock()
        self._plain = bytearray()  # decrypted, not handed out yet (only the reader touches it)
        try:
            self.settimeout(timeout)
            self._handshake()
            self.settimeout(None)
        except BaseException:
            super().close()
            raise

    # -- moving the engine's bytes (the lock held where noted) --

    def _handshake(self) -> None:
        while True:
            with self._lock:
                try:
                    done = self._tls.handshake()
                except ssl.SSLError:
                    with contextlib.suppress(OSError):  # the handshake's error is the one
                        self._flush()  # the alert that tells the peer why
                    raise
                self._flush()
                if done:
                    return
            self._tls.receive(super().recv(self.RECORD))

    def _flush(self) -> None:  # lock held: the records in the order the TLS state made them
        data = self._tls.records()
        if data:
            super().sendall(data)

    def _fill(self) -> None:
        """Decrypt what is already buffered (the engine's rule 1); when that gives
        nothing, one blocking recv outside the lock, then decrypt every record."""
        with self._lock:
            if self._tls.buffered and self._tls.read_into(self._plain):
                return
        data = super().recv(self.RECORD)
        with self._lock:
            self._tls.receive(data)
            self._tls.read_into(self._plain)
            self._flush()  # reading can make records to send (key update)

    # -- the socket API --

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        if flags:
            raise ValueError("recv flags are not supported on a TLS stream")
        view = memoryview(buffer).cast("B")
        want = nbytes or len(view)
        while not self._plain and not self._tls.peer_done:
            self._fill()
        n = min(want, len(self._plain))
        view[:n] = self._plain[:n]
        del self._plain[:n]
        return n

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        buf = bytearray(bufsize)
        n = self.recv_into(buf, bufsize, flags)
        return bytes(buf[:n])

    def sendall(self, data: Any, flags: int = 0) -> None:
        if flags:
            raise ValueError("send flags are not supported on a TLS stream")
        with self._lock:
            if self._tls.sent_close:
                raise BrokenPipeError(errno.EPIPE, "TLS stream shut for writing")
            self._tls.write(data)
            self._flush()

    def send(self, data: Any, flags: int = 0) -> int:
        self.sendall(data, flags)
        return memoryview(data).nbytes

    def sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        """``socket.sendfile`` through TLS: read here and encrypted (the base class
        would hand the file to the kernel, in clear). Leaves the file's position
        after the last byte sent, as ``socket.sendfile`` does."""
        file.seek(offset)
        sent = 0
        while count is None or sent < count:
            chunk = file.read(READ_SIZE if count is None else min(READ_SIZE, count - sent))
            if not chunk:
                break
            self.sendall(chunk)
            sent += len(chunk)
        return sent

    def shutdown(self, how: int) -> None:
        if how in (socket.SHUT_WR, socket.SHUT_RDWR):
            with self._lock:
                if not self._tls.sent_close:
                    self._tls.close_write()
                    self._flush()
        super().shutdown(how)

    def version(self) -> str | None:
        return self._tls.version()

    def cipher(self) -> tuple[str, str, int] | None:
        return self._tls.cipher()

    def getpeercert(self, binary_form: bool = False) -> Any:
        return self._tls.getpeercert(binary_form)


def _stream_class() -> type[Stream]:
    """:class:`Stream`, or while a trace sink listens a Stream whose raw calls (the
    TLS records it sends and receives) go through the traced socket's methods."""
    from socklab import trace

    return _traced_stream() if trace.active() else Stream


@functools.cache
def _traced_stream() -> type[Stream]:
    """In ``(Stream, TracedSocket)``'s method order, Stream's ``super()`` is TracedSocket."""
    from socklab.kernel.sock import TracedSocket

    return type("TracedStream", (Stream, TracedSocket), {"__slots__": ()})
