"""Serve many clients from one thread: an event loop over epoll.

Rules:

1. One thread, no thread per connection: the listener and every connection
   are registered with one epoll instance; sockets are non-blocking. The loop
   asks ``select.epoll`` itself, not ``selectors``: an event is a descriptor
   looked up in :attr:`Server.conns`, without the key object and the event
   translation ``selectors`` adds to each (bench/echo.py: a tenth to a fifth
   of the server's own Python time per request, docs/design.md "Speed").
2. Modes: ``echo`` (send back what came), ``discard`` (read and drop), ``chat``
   (each line goes to every other client, prefixed with the sender's address,
   like ``ncat --chat``), ``stdio`` (what clients send goes to stdout, stdin goes
   to every client).
3. Admission: ``allow``/``deny`` networks (deny wins; with allow, only those),
   ``max_conns`` (more are accepted and closed at once, as ncat does); an idle
   connection is closed after ``idle_timeout`` seconds.
4. A client that resets or misbehaves is closed alone; the others go on.
5. With a TLS context every connection's TLS runs in memory (``SSLObject`` and
   two BIOs): handshakes interleave in the same loop, none blocks the others.
6. Backpressure: memory is bounded per connection, whatever the peers do. What
   waits to be sent to a client (its queue) is watched against :data:`HIGH_WATER`:
   in ``echo`` the client itself is not read again until its queue fell to
   :data:`LOW_WATER` (a client that sends and never reads stops being read, as
   asyncio's transports pause their protocol); in ``stdio`` standard input is not
   read while any client's queue is above the mark; in ``chat`` a client that lets
   :data:`CHAT_QUEUE_LIMIT` bytes pile up is closed (IRC servers' "SendQ
   exceeded"), so that one silent reader cannot stall the room, and a line longer
   than :data:`MAX_LINE` goes out in pieces. The whole server then holds at most
   about (HIGH_WATER + one read) per connection, and connections are bounded by
   ``max_conns`` and the descriptor limit (RLIMIT_NOFILE).
7. Out of descriptors (accept fails with EMFILE/ENFILE), the listener is not
   polled for :data:`ACCEPT_PAUSE` seconds, or until a connection closes (the
   pause trio and Go's net package make): no busy loop, and it is said once.

Datagram sockets have no connections: :func:`serve_datagrams` answers each
sender at its own address (echo), or prints what arrives (stdio).
"""

from __future__ import annotations

import os
import select
import socket
import sys
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, BinaryIO, Literal, get_args

from socklab.errors import BadInput
from socklab.talk.admission import (
    ACCEPT_PAUSE,
    FD_SHORTAGE,
    Admission,
    Log,
    Network,
    refusal,
)
from socklab.trace import format_address

if TYPE_CHECKING:
    import ssl

    from socklab.talk.pump import End

__all__ = ["MODES", "Mode", "Server", "connect_first_peer", "serve_datagrams", "serve_one"]

Mode = Literal["echo", "discard", "chat", "stdio"]
"""What a server does with what its clients send (rule 2)."""
MODES: tuple[Mode, ...] = get_args(Mode)

HIGH_WATER = 64 * 1024
"""Bytes queued for one client above which its source stops being read.

asyncio's default write-buffer high-water mark (``FlowControlMixin``): enough to
keep a fast reader busy between two turns of the loop (the kernel's own socket
buffer, up to megabytes on loopback, holds the rest), small enough that 1,000
clients that never read hold about 128 MiB at worst (this mark plus one 64 KiB
read each): the tests check 100 of them against a stated RSS bound."""
LOW_WATER = HIGH_WATER // 4
"""Reading resumes once the queue fell to this (asyncio's low mark is a quarter of
the high one): far enough below the high mark that pausing does not flap."""
CHAT_QUEUE_LIMIT = 1 << 20
"""A chat client with this much waiting for it is closed as too slow."""
MAX_LINE = 64 * 1024
"""A chat line is sent on once it is this long, newline or not."""

_IN, _OUT = select.EPOLLIN, select.EPOLLOUT


class _Conn:
    __slots__ = ("addr", "eof", "events", "inbuf", "last", "name", "outbuf", "paused", "sock",
                 "tls")

    def __init__(self, sock: socket.socket, addr: object, tls: _TLS | None = None) -> None:
        self.sock = sock
        self.addr = addr
        self.name = format_address(addr)
        self.outbuf = bytearray()  # to send, in order (the queue HIGH_WATER bounds)
        self.inbuf = bytearray()  # chat: the start of a line
        self.last = time.monotonic()
        self.tls = tls
        self.events = _IN  # what epoll waits for on it now (_IN, _OUT or both)
        self.paused = False  # not read until the queue falls to LOW_WATER
        self.eof = False  # the peer half-closed: close once the queue is sent

    def queued(self) -> int:
        """Bytes waiting to go to this client (TLS: plaintext held for the handshake too)."""
        if self.tls is not None:
            return len(self.outbuf) + len(self.tls.pending)
        return len(self.outbuf)


class _TLS:
    """The TLS state of one connection: the shared engine (:mod:`socklab.talk.tlsengine`),
    whose bytes the event loop moves, so a slow handshake blocks nobody."""

    __slots__ = ("engine", "pending", "shut")

    def __init__(self, ctx: ssl.SSLContext) -> None:
        from socklab.talk.tlsengine import Engine

        self.engine = Engine(ctx, server_side=True)
        self.pending = bytearray()  # plaintext to send once the handshake is done
        self.shut = False  # close_notify to send once it is


class Server:
    """Accept connections on ``listener`` and serve them in ``mode`` until stopped.

    ``keep_open``: serve many clients (else stop after the first one ends).
    ``max_clients``: stop after this many clients were served (tests, benchmarks).
    """

    def __init__(self, listener: socket.socket, mode: Mode = "echo", *, keep_open: bool = True,
                 max_conns: int | None = None, allow: Iterable[Network] = (),
                 deny: Iterable[Network] = (), idle_timeout: float | None = None,
                 max_clients: int | None = None, log: Log | None = None,
                 stdin: BinaryIO | None = None, stdout: BinaryIO | None = None,
                 tls: ssl.SSLContext | None = None) -> None:
        if mode not in MODES:
            raise BadInput(f"server mode {mode!r}: expected one of {', '.join(MODES)}")
        if idle_timeout is not None and not 0 < idle_timeout < float("inf"):  # nan too
            raise BadInput(f"idle_timeout {idle_timeout}: expected a positive number")
        self.listener = listener
        self.mode = mode
        self._echo = mode == "echo"
        self.keep_open = keep_open
        self.admission = Admission(tuple(allow), tuple(deny), max_conns)
        self.idle_timeout = idle_timeout
        self.max_clients = max_clients
        self.log: Log = log or (lambda _m: None)
        self.stdin = stdin
        self.stdout = stdout if stdout is not None else sys.stdout.buffer
        self.tls = tls  # a server context: every connection speaks TLS
        self.conns: dict[int, _Conn] = {}
        self.served = 0
        self.refused = 0
        self._poll = select.epoll()
        self._stop = False
        self._stdin_paused = False  # stdio: a client's queue is above HIGH_WATER
        self._accept_at: float | None = None  # the listener rests until then (EMFILE)
        self._fd_short = False  # EMFILE said, not said again until the queue drains
        self._buf = bytearray(1 << 16)
        self._view = memoryview(self._buf)

    # -- admission ---------------------------------------------------------------
    @property
    def allow(self) -> list[Network]:
        return list(self.admission.allow)

    @property
    def deny(self) -> list[Network]:
        return list(self.admission.deny)

    @property
    def max_conns(self) -> int | None:
        return self.admission.max_conns

    def admitted(self, addr: object) -> str | None:
        """None when the peer may connect, else why not (:mod:`socklab.talk.admission`)."""
        return self.admission.refusal(addr, len(self.conns))

    # -- the loop ------------------------------------------------------------------
    def run(self) -> int:
        """Serve until stopped, the only client left (no keep_open), or max_clients.
        Returns the number of clients served."""
        self.listener.setblocking(False)
        poll, conns = self._poll, self.conns
        listener_fd = self.listener.fileno()
        poll.register(listener_fd, _IN)
        stdin_fd = -1
        if self.mode == "stdio" and self.stdin is not None:
            stdin_fd = self.stdin.fileno()
            os.set_blocking(stdin_fd, False)
            poll.register(stdin_fd, _IN)
        try:
            readable, writable = self._readable, self._writable
            if self._echo and self.idle_timeout is None and self.tls is None:
                readable = self._echo_readable
            while not self._stop:
                timeout = self._timeout()
                for fd, events in poll.poll(-1 if timeout is None else timeout):
                    conn = conns.get(fd)
                    if conn is not None:
                        if events == _IN:  # most events: data (or the end) to read
                            readable(conn)
                            continue
                        # As selectors reads an event: an error or hang-up (any bit
                        # but the other direction's) wakes each direction waited for.
                        if events & ~_OUT and conn.events & _IN:
                            readable(conn)
                        if events & ~_IN and conn.events & _OUT and fd in conns:
                            writable(conn)
                    elif fd == listener_fd:
                        self._accept()
                    elif fd == stdin_fd:
                        self._from_stdin()
                self._expire()
                if self._accept_at is not None and time.monotonic() >= self._accept_at:
                    self._accept_at = None
                    poll.register(listener_fd, _IN)
        finally:
            for conn in list(conns.values()):
                self._close(conn, None)
            poll.close()
        return self.served

    def stop(self) -> None:
        self._stop = True

    def _timeout(self) -> float | None:
        wait = self._idle_wait()
        if self._accept_at is not None:
            rest = max(0.0, self._accept_at - time.monotonic())
            wait = rest if wait is None else min(wait, rest)
        return wait

    def _idle_wait(self) -> float | None:
        if self.idle_timeout is None or not self.conns:
            return None if self.idle_timeout is None else self.idle_timeout
        oldest = min(c.last for c in self.conns.values())
        return max(0.0, oldest + self.idle_timeout - time.monotonic())

    def _expire(self) -> None:
        if self.idle_timeout is None:
            return
        now = time.monotonic()
        for conn in [c for c in self.conns.values() if now - c.last >= self.idle_timeout]:
            self._close(conn, f"idle for {self.idle_timeout:g} s")

    def _accept(self) -> None:
        for _ in range(64):  # drain the accept queue a batch at a time
            try:
                sock, addr = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                self._fd_short = False  # every waiting client was taken: say it next time
                return
            except OSError as exc:
                if exc.errno in FD_SHORTAGE:
                    self._rest_listener(exc)
                else:  # a client that left before accept (ECONNABORTED ...): said, not fatal
                    self.log(f"accept: {exc.strerror or exc}")
                return
            why = self.admitted(addr)
            if why is not None:
                self.refused += 1
                self.log(f"refused {format_address(addr)}: {why}")
                sock.close()
                continue
            sock.setblocking(False)
            conn = _Conn(sock, addr, _TLS(self.tls) if self.tls is not None else None)
            self.conns[sock.fileno()] = conn
            self._poll.register(sock.fileno(), _IN)
            self.log(f"connection from {conn.name}")

    def _rest_listener(self, exc: OSError) -> None:
        """No descriptor for a new connection: the listener stays readable, so polling
        it again at once would spin. Rest it; the clients wait in the listen queue."""
        self._poll.unregister(self.listener.fileno())
        self._accept_at = time.monotonic() + ACCEPT_PAUSE
        if not self._fd_short:
            self._fd_short = True
            self.log(f"accept: {exc.strerror}: new clients wait until a descriptor frees")

    def _echo_readable(self, conn: _Conn) -> None:
        """echo's hot path: one recv_into the shared buffer, one send back; data
        still queued from a short send goes the general way (:meth:`_readable`)."""
        if conn.outbuf:
            self._readable(conn)
            return
        sock = conn.sock
        view = self._view
        try:
            n = sock.recv_into(view)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # reset by the peer: that client alone goes
            self._close(conn, exc.strerror or str(exc))
            return
        if n == 0:
            self._close(conn, None)
            return
        try:
            sent = sock.send(view[:n])
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError as exc:
            self._close(conn, exc.strerror or str(exc))
            return
        if sent < n:  # the peer reads slowly: keep the rest for _writable
            conn.outbuf += view[sent:n]  # at most one read: below HIGH_WATER
            self._interest(conn)

    def _readable(self, conn: _Conn) -> None:
        try:
            n = conn.sock.recv_into(self._view)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # reset by the peer: that client alone goes
            self._close(conn, exc.strerror or str(exc))
            return
        if conn.tls is not None:
            self._tls_received(conn, self._view[:n])
            return
        if n == 0:
            self._peer_done(conn)
            return
        self._got(conn, self._view[:n])

    def _peer_done(self, conn: _Conn) -> None:
        if conn.outbuf:  # the peer half-closed: finish sending, then close
            conn.eof = True
            self._interest(conn)
            return
        self._close(conn, None)

    def _tls_received(self, conn: _Conn, raw: memoryview) -> None:
        """Ciphertext in; the handshake moved on, or plaintext handed to :meth:`_got`."""
        import ssl

        tls = conn.tls
        assert tls is not None
        engine = tls.engine
        engine.receive(raw)
        plain = bytearray()
        try:
            if not engine.ready and engine.handshake() and tls.pending:
                engine.write(tls.pending)  # what stdin sent while the handshake went on
                tls.pending.clear()
            if engine.ready:
                engine.read_into(plain)
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            engine.peer_done = True  # the peer left during the handshake
        except ssl.SSLError as exc:
            self._flush_tls(conn)  # the alert that says why
            self._close(conn, f"TLS: {getattr(exc, 'reason', None) or exc}")
            return
        self._flush_tls(conn)
        if conn.sock.fileno() not in self.conns:
            return
        if engine.ready and tls.shut:
            tls.shut = False
            self._shut_write(conn)
            if conn.sock.fileno() not in self.conns:
                return
        if plain:
            self._got(conn, memoryview(plain))
        if engine.peer_done and conn.sock.fileno() in self.conns:
            self._peer_done(conn)

    def _flush_tls(self, conn: _Conn) -> None:
        assert conn.tls is not None
        records = conn.tls.engine.records()
        if records:
            self._send_raw(conn, records)

    def _got(self, conn: _Conn, data: memoryview) -> None:
        """Plaintext from a client, handled by the mode."""
        if self.idle_timeout is not None:
            conn.last = time.monotonic()
        if self._echo:
            self._send(conn, data)
        elif self.mode == "chat":
            start = len(conn.inbuf)
            conn.inbuf += data
            if conn.inbuf.find(b"\n", start) < 0 and len(conn.inbuf) <= MAX_LINE:
                return  # no line ended yet
            *lines, rest = bytes(conn.inbuf).split(b"\n")
            if len(rest) > MAX_LINE:  # a line without end: sent on in pieces
                lines.append(rest)
                rest = b""
            conn.inbuf = bytearray(rest)
            for line in lines:
                msg = f"<{conn.name}> ".encode() + line + b"\n"
                for other in list(self.conns.values()):
                    if other is not conn:
                        self._send(other, msg)
        elif self.mode == "stdio":
            self.stdout.write(data)
            self.stdout.flush()

    def _from_stdin(self) -> None:
        assert self.stdin is not None
        try:
            data = os.read(self.stdin.fileno(), 1 << 16)
        except BlockingIOError:
            return
        if not data:
            self._poll.unregister(self.stdin.fileno())
            for conn in list(self.conns.values()):
                self._shut_write(conn)
            return
        for conn in list(self.conns.values()):
            self._send(conn, data)
        if any(c.queued() > HIGH_WATER for c in self.conns.values()):
            self._stdin_paused = True  # a slow client: read stdin again once it caught up
            self._poll.unregister(self.stdin.fileno())

    def _resume_stdin(self) -> None:
        if all(c.queued() <= LOW_WATER for c in self.conns.values()):
            assert self.stdin is not None
            self._stdin_paused = False
            self._poll.register(self.stdin.fileno(), _IN)

    def _send(self, conn: _Conn, data: bytes | memoryview) -> None:
        if conn.tls is not None:
            if not conn.tls.engine.ready:  # a client still shaking hands: later
                conn.tls.pending += data
                if self.mode == "chat" and len(conn.tls.pending) > CHAT_QUEUE_LIMIT:
                    self._close(conn, f"too slow: {len(conn.tls.pending)} bytes waiting "
                                "for its TLS handshake")
                return
            conn.tls.engine.write(data)
            self._flush_tls(conn)
            return
        self._send_raw(conn, data)

    def _send_raw(self, conn: _Conn, data: bytes | memoryview) -> None:
        if not conn.outbuf:
            try:
                sent = conn.sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as exc:
                self._close(conn, exc.strerror or str(exc))
                return
            if sent == len(data):
                return
            data = data[sent:]
        conn.outbuf += data
        queued = len(conn.outbuf)
        if queued > HIGH_WATER:
            if self.mode == "chat" and queued > CHAT_QUEUE_LIMIT:
                self._close(conn, f"too slow: {queued} bytes waiting for it")
                return
            if self._echo:  # its own echo: stop reading it until it reads
                conn.paused = True
        self._interest(conn)

    def _interest(self, conn: _Conn) -> None:
        """Wait for what matters now: writable while something is queued; readable
        unless paused (backpressure) or at its end."""
        events = (0 if conn.paused or conn.eof else _IN) | (_OUT if conn.outbuf else 0)
        if events != conn.events and events:
            conn.events = events
            self._poll.modify(conn.sock.fileno(), events)

    def _shut_write(self, conn: _Conn) -> None:
        """End of stdin: close_notify first on TLS, then the TCP half-close."""
        if conn.tls is not None and not conn.tls.engine.ready:
            conn.tls.shut = True  # after the handshake
            return
        if conn.tls is not None:
            import ssl

            try:
                conn.tls.engine.close_write()
            except ssl.SSLError as exc:  # a broken TLS state: that client alone goes
                self._close(conn, f"TLS: {getattr(exc, 'reason', None) or exc}")
                return
            self._flush_tls(conn)
        try:
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError as exc:  # the client is gone (ENOTCONN ...): it alone is closed
            self._close(conn, exc.strerror or str(exc))

    def _writable(self, conn: _Conn) -> None:
        try:
            sent = conn.sock.send(conn.outbuf)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._close(conn, exc.strerror or str(exc))
            return
        del conn.outbuf[:sent]
        if not conn.outbuf and conn.eof:  # the peer had half-closed: all is sent now
            self._close(conn, None)
            return
        if len(conn.outbuf) <= LOW_WATER:
            conn.paused = False
            if self._stdin_paused:
                self._resume_stdin()
        self._interest(conn)

    def _close(self, conn: _Conn, why: str | None) -> None:
        fd = conn.sock.fileno()
        if fd in self.conns:
            del self.conns[fd]
            self._poll.unregister(fd)
            self.served += 1
        conn.sock.close()
        self.log(f"closed {conn.name}" + (f": {why}" if why else ""))
        if self._accept_at is not None:  # a descriptor is free: accept at once
            self._accept_at = 0.0
        if self._stdin_paused and not self._stop:
            self._resume_stdin()
        if not self.keep_open and not self.conns:
            self._stop = True
        if self.max_clients is not None and self.served >= self.max_clients:
            self._stop = True


def serve_datagrams(sock: socket.socket, mode: Mode = "echo", *, log: Log | None = None,
                    stdout: BinaryIO | None = None, max_datagrams: int | None = None,
                    allow: Iterable[Network] = (), deny: Iterable[Network] = ()) -> int:
    """Receive with recvfrom; ``echo`` answers each sender at its own address, ``stdio``
    writes what arrives to stdout, ``discard`` drops it. Returns the datagram count.
    An answer that cannot be sent is said and the next datagram taken; a failed
    receive is a SocklabError."""
    from socklab.errors import from_oserror

    log = log or (lambda _m: None)
    out = stdout if stdout is not None else sys.stdout.buffer
    allow, deny = list(allow), list(deny)
    count = 0
    while max_datagrams is None or count < max_datagrams:
        try:
            data, addr = sock.recvfrom(1 << 16)
        except OSError as exc:
            raise from_oserror(exc, "recvfrom") from exc
        why = refusal(addr, allow, deny)
        if why is not None:
            log(f"dropped {len(data)} bytes from {format_address(addr)}: {why}")
            continue
        count += 1
        log(f"{len(data)} bytes from {format_address(addr)}")
        if mode == "echo":
            try:
                sock.sendto(data, addr)
            except OSError as exc:  # recorded: that sender alone goes unanswered
                log(f"answer to {format_address(addr)}: {exc.strerror or exc}")
        elif mode == "stdio":
            out.write(data)
            out.flush()
    return count


def connect_first_peer(sock: socket.socket, log: Log | None = None) -> tuple[bytes, object]:
    """The course's pseudo-connected mode: wait for the first datagram, then connect()
    the socket to its sender, so that the kernel delivers nothing from anyone else."""
    from socklab.errors import from_oserror

    try:
        data, addr = sock.recvfrom(1 << 16)
        sock.connect(addr)
    except OSError as exc:
        raise from_oserror(exc, "connect to the first peer") from exc
    if log:
        log(f"first datagram from {format_address(addr)}: connected to it, other senders "
            "are now filtered out by the kernel")
    return data, addr


def serve_one(listener: socket.socket, mode: Mode, stdio: End | None = None, *,
              admission: Admission | None = None, idle_timeout: float | None = None,
              tls: ssl.SSLContext | None = None, until_stdio_ends: bool = False,
              log: Log | None = None, peer: Log | None = None,
              warn: Log | None = None) -> None:
    """One client served blocking, on the fast path (splice) instead of the event loop.

    ``stdio`` is the End that mode ``stdio`` bridges the client to (the caller's
    standard input and output); ``until_stdio_ends``: stop when the client closes
    (a person at a terminal) rather than waiting for both directions. ``peer`` hears
    the UNIX peer's credentials (SO_PEERCRED), ``warn`` a shortage of descriptors
    (default ``log``). With ``tls`` the handshake comes
    after admission; a client whose handshake fails is said and the next one is
    taken. Raises a SocklabError when the conversation fails."""
    from socklab.errors import from_oserror
    from socklab.talk import pump
    from socklab.talk.admission import accept_admitted, peer_credentials

    if mode == "chat":
        raise BadInput("serve_one: the chat mode needs the event loop (Server)")
    if mode == "stdio" and stdio is None:
        raise BadInput("serve_one: the stdio mode needs the stdio End")
    say: Log = log or (lambda _m: None)
    admission = admission or Admission()
    while True:
        sock, addr = accept_admitted(listener, admission, "the listening socket", say, warn)
        if tls is None:
            break
        import ssl

        from socklab.talk import tls as tlsmod

        try:
            sock = tlsmod.accept(sock, tls)
            break
        except (ssl.SSLError, OSError) as exc:  # recorded: the next client is taken
            (warn or say)(f"TLS handshake with {format_address(addr)} failed: {exc}")
    say(f"connection from {format_address(addr) or 'a UNIX peer'}")
    if peer is not None:
        peer(f"peer {peer_credentials(sock) or 'not a UNIX socket'}")
    if idle_timeout:
        sock.settimeout(idle_timeout)
    try:
        if mode == "stdio":
            assert stdio is not None
            pump.bridge(stdio, pump.End(sock), until_b_ends=until_stdio_ends)
        elif mode == "discard":
            pump.discard(pump.End(sock))
        else:  # echo
            pump.copy(pump.End(sock), pump.End(sock))
            sock.shutdown(socket.SHUT_WR)
    except TimeoutError:
        say(f"closed: idle for {idle_timeout:g} s")
    except OSError as exc:
        raise from_oserror(exc, f"talk to {format_address(addr)}") from exc
    finally:
        sock.close()
