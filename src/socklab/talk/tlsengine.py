"""One TLS connection in memory (``ssl.SSLObject`` over two memory BIOs): sans-I/O.

Bytes from the peer go in with :meth:`Engine.receive`, the bytes to send to the
peer come out of :meth:`Engine.records`; plaintext goes in with :meth:`Engine.write`
and comes out of :meth:`Engine.read_into`. The engine never touches a socket, so
the blocking stream (:class:`socklab.talk.tls.Stream`), the event-loop server
(:class:`socklab.talk.serve.Server`) and the ``--exec`` bridge (through the stream)
share it, and each moves the bytes its own way.

Rules:

1. Records may be buffered before any new bytes arrive: the read that finished
   the handshake can carry the peer's first application data with it (a TLS 1.3
   client sends it right behind its Finished). :attr:`Engine.buffered` says so,
   and :meth:`Engine.read_into` drains every complete record, so that a caller
   never waits on the network for data it already holds.
2. Draining whole records matters for the half-close too: the second
   ``SSL_shutdown`` discards any application record still pending in the BIO.
3. :meth:`Engine.close_write` sends close_notify and keeps reading until the
   peer's own (TLS 1.3, RFC 8446 section 6.1): a half-close, as ``nc``/``socat``
   users expect of a shut write side.
4. A failed handshake raises ``ssl.SSLError``; the alert that tells the peer why
   is left in :meth:`Engine.records` for the caller to send.
"""

from __future__ import annotations

import contextlib
import ssl

__all__ = ["RECORD", "Engine"]

RECORD = 1 << 16  # bytes decrypted per SSLObject.read: several TLS records


class Engine:
    """The TLS state of one connection; not thread-safe (the caller holds a lock
    when two threads share it)."""

    __slots__ = ("_in", "_obj", "_out", "peer_done", "ready", "sent_close")

    def __init__(self, ctx: ssl.SSLContext, *, server_side: bool = False,
                 server_hostname: str | None = None) -> None:
        self._in, self._out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self._obj = ctx.wrap_bio(self._in, self._out, server_side=server_side,
                                 server_hostname=server_hostname)
        self.ready = False  # the handshake is done
        self.peer_done = False  # the peer's close_notify (or a bare EOF) was read
        self.sent_close = False  # our close_notify is made

    # -- bytes from and to the peer --

    def receive(self, data: bytes | bytearray | memoryview) -> None:
        """Ciphertext from the peer; empty means the peer's end of stream (EOF)."""
        if data:
            self._in.write(data)
        else:
            self._in.write_eof()

    def records(self) -> bytes:
        """The ciphertext to send to the peer now, in order (empty when none)."""
        return self._out.read()

    @property
    def buffered(self) -> bool:
        """Ciphertext received and not decrypted yet (rule 1)."""
        return self._in.pending > 0

    # -- the TLS state --

    def handshake(self) -> bool:
        """Move the handshake on with what was received: True once it is done,
        False while it needs more bytes from the peer. Raises ``ssl.SSLError`` when
        it failed (the alert is in :meth:`records`)."""
        if self.ready:
            return True
        try:
            self._obj.do_handshake()
        except ssl.SSLWantReadError:
            return False
        self.ready = True
        return True

    def read_into(self, plain: bytearray) -> bool:
        """Decrypt every complete record onto ``plain``; True when that gave plaintext
        or the peer's end. Raises ``ssl.SSLError`` for a broken record."""
        before = len(plain)
        while True:
            try:
                chunk = self._obj.read(RECORD)
            except ssl.SSLWantReadError:
                break
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                self.peer_done = True  # close_notify, or a bare FIN (ragged EOF)
                break
            if not chunk:
                self.peer_done = True
                break
            plain += chunk
        return len(plain) > before or self.peer_done

    def write(self, plain: bytes | bytearray | memoryview) -> None:
        """Encrypt ``plain`` (the records wait in :meth:`records`)."""
        self._obj.write(plain)

    def close_write(self) -> None:
        """close_notify (once); the peer's comes through :meth:`read_into` (rule 3)."""
        if self.sent_close:
            return
        self.sent_close = True
        # WantRead: ours is made, the peer's has not come yet (the half-close)
        with contextlib.suppress(ssl.SSLWantReadError):
            self._obj.unwrap()

    def version(self) -> str | None:
        return self._obj.version()

    def cipher(self) -> tuple[str, str, int] | None:
        return self._obj.cipher()

    def getpeercert(self, binary_form: bool = False) -> object:
        return self._obj.getpeercert(binary_form)
