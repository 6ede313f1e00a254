"""ping: ICMP echo over the socket the process is allowed to open, with iputils' semantics.

Three rooms: :mod:`socklab.probe.icmpsock` chooses and sets up the socket
(datagram when ``net.ipv4.ping_group_range`` admits the process, else raw);
:class:`socklab.probe.echo.EchoSession` holds the ping's state with no I/O
(sequence numbers, replies, duplicates, statistics: bytes and times in,
replies out); this module holds the drivers that do the I/O: a ``select`` loop
for :func:`ping`, sender threads with ``sendmmsg`` for a flood (interval 0), and
``loop.add_reader`` for :func:`ping_async`.

Errors: every OS error is translated (socklab.errors) or recorded in the
result: a refused send or receive is a reply with ``local`` set, as iputils
prints ``ping: sendmsg: REASON``.
"""

from __future__ import annotations

import errno
import itertools
import os
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from socklab import trace
from socklab.errors import MissingPrivilege, from_oserror
from socklab.kernel import caps
from socklab.probe import icmpsock
from socklab.probe.echo import (
    MAX_DEADLINE,
    MAX_WAIT,
    EchoSession,
    PingOptions,
    PingReply,
    PingResult,
    SocketKind,
)
from socklab.probe.icmpsock import Unroutable, open_icmp_socket

if TYPE_CHECKING:
    from socklab.kernel.mmsg import BatchSender

__all__ = ["MAX_DEADLINE", "MAX_WAIT", "PingOptions", "PingReply", "PingResult", "SocketKind",
           "Unroutable", "open_icmp_socket", "ping", "ping_async"]

IP_TTL_CMSG = 2
# bytes asked per receive: a reply to the largest ping (-s 65507) fits; Python
# allocates this much per call and gives back the rest, cheap next to the syscall
RECV_SIZE = 65536
SCM_TIMESTAMPNS = icmpsock.SO_TIMESTAMPNS
TIMESPEC = struct.Struct("@ll")
ANC_SIZE = 1024
DRAIN = 256  # messages read per wake-up at most: a fast ping must not overflow its buffer
_IDENTS = itertools.count(1)
MIN_USER_INTERVAL = 0.2  # iputils: below this, only a privileged user
FLOOD_BATCH = 32  # echoes per sendmmsg at interval 0 (128 in flight, 32: measured best here)
OnReply = Callable[[PingReply], None]


def _reason(exc: OSError) -> str:
    return os.strerror(exc.errno) if exc.errno else str(exc)


def _received_at(anc: list[tuple[int, int, bytes]]) -> int | None:
    """The kernel's receive time of a message (SCM_TIMESTAMPNS), in ns of CLOCK_REALTIME."""
    for level, ctype, cdata in anc:
        if level == socket.SOL_SOCKET and ctype == SCM_TIMESTAMPNS and \
                len(cdata) >= TIMESPEC.size:
            sec, nsec = TIMESPEC.unpack_from(cdata)
            return int(sec) * 1_000_000_000 + int(nsec)
    return None


def _hops(anc: list[tuple[int, int, bytes]]) -> int | None:
    """The TTL (IP_TTL) or hop limit (IPV6_HOPLIMIT) in a message's control data."""
    hops = None
    for level, ctype, cdata in anc:
        if level != socket.SOL_SOCKET and ctype in (IP_TTL_CMSG, socket.IPV6_HOPLIMIT) \
                and len(cdata) >= 4:
            hops = int(struct.unpack("=i", cdata[:4])[0])
    return hops


class _Pinger:
    """A session and its socket: sends what the session says is due, feeds it what
    the socket holds, and hands each reply to ``on_reply``. The drivers below
    decide when (select, sender threads, an event loop)."""

    def __init__(self, sock: socket.socket, session: EchoSession, stamped: bool,
                 on_reply: OnReply | None, on_send: Callable[[int], None] | None) -> None:
        self.sock, self.session, self.stamped = sock, session, stamped
        self.on_reply, self.on_send = on_reply, on_send
        v6 = session.v6
        self.dest = (session.address, 0, 0, 0) if v6 else (session.address, 0)
        self.dgram = session.kind == "dgram"
        self.raw4 = session.ip_header
        self.buf = bytearray(RECV_SIZE)  # raw IPv4 replies are received into it
        self.failed = False  # the last read failed: stop draining until the next wake-up

    # -- sending -------------------------------------------------------------
    def send_one(self) -> None:
        session = self.session
        seq, packet = session.request(time.monotonic())
        # the send time, taken last before the call (the receive time is the kernel's)
        session.sent(seq, time.time_ns())
        try:
            self.sock.sendto(packet, self.dest)
        except OSError as exc:  # recorded: iputils' "ping: sendmsg: REASON"
            self._report(session.send_failed(seq, _reason(exc)))
        if self.on_send:
            self.on_send(seq)

    def tick(self) -> float | None:
        """Send what is due; how long to wait for replies, or None when done."""
        session = self.session
        for _ in range(session.due(time.monotonic())):
            self.send_one()
        return session.wait(time.monotonic())

    def _report(self, reply: PingReply) -> None:
        if self.on_reply:
            self.on_reply(reply)

    # -- receiving ---------------------------------------------------------------
    def readable(self) -> None:
        """Take every reply waiting on the socket (drained: a fast ping must not let
        its receive buffer overflow), up to DRAIN messages or a failed read."""
        out: list[PingReply] = []
        self.failed = False
        if self.raw4 and not self.stamped:
            out = self._drain_flood()
        else:
            for _ in range(DRAIN):
                got = self._receive_one()
                if got is None:
                    break
                out += got
                if self.failed:
                    break
        if self.on_reply:
            for reply in out:
                self.on_reply(reply)

    def _drain_flood(self) -> list[PingReply]:
        """:meth:`readable` for a flood's raw IPv4 socket, the hot loop: no control
        data (15% more echoes a second than with the kernel's stamp), the driver's
        buffer rather than a new 64 KiB one per reply (that churn cost page faults),
        the calls bound once."""
        out: list[PingReply] = []
        buf, recv_into, receive = self.buf, self.sock.recv_into, self.session.receive_raw4
        clock, dontwait = time.time_ns, socket.MSG_DONTWAIT
        for _ in range(DRAIN):
            try:
                n = recv_into(buf, RECV_SIZE, dontwait)
            except (BlockingIOError, InterruptedError):  # nothing waits (EAGAIN, EINTR)
                break
            except OSError as exc:
                out += self._receive_error(exc)
                if self.failed:
                    break
                continue
            out += receive(buf, n, clock())
        return out

    def _receive_one(self) -> list[PingReply] | None:
        """The replies in the next waiting message (maybe none), or None when nothing
        waits."""
        session, sock = self.session, self.sock
        out = self._queued() if self.dgram else []
        try:
            if self.raw4:  # into the driver's buffer, as the flood's loop
                n, anc, _f, _a = sock.recvmsg_into((self.buf,), ANC_SIZE, socket.MSG_DONTWAIT)
                return out + session.receive_raw4(self.buf, n,
                                                  _received_at(anc) or time.time_ns())
            data, anc, _f, addr = sock.recvmsg(RECV_SIZE, ANC_SIZE, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):  # nothing waits (EAGAIN, EINTR)
            return out or None
        except OSError as exc:
            return out + self._receive_error(exc)
        return out + session.receive(data, _received_at(anc) or time.time_ns(), _hops(anc),
                                     str(addr[0]) if addr else None)

    def _queued(self) -> list[PingReply]:
        """A router's error from a datagram socket's error queue (IP_RECVERR), if any."""
        try:
            data, anc, _f, _a = self.sock.recvmsg(RECV_SIZE, ANC_SIZE, socket.MSG_ERRQUEUE)
        except BlockingIOError:  # nothing queued (EAGAIN)
            return []
        except OSError as exc:
            self.failed = True
            return [self.session.receive_failed(_reason(exc))]
        return self.session.receive_queued(data, anc)

    def _receive_error(self, exc: OSError) -> list[PingReply]:
        """A read that raised the socket's pending error. One the kernel derives from a
        router's ICMP error is reported by that error itself: the error queue on a
        datagram socket (read now, as iputils does), the ICMP message on a raw one
        (read next). Any other is recorded (iputils: ``ping: recvmsg: REASON``)."""
        if exc.errno in icmpsock.ICMP_ERRNOS:
            if not self.dgram:
                return []  # the ICMP message is the next read, and reported then
            queued = self._queued()
            if queued:
                return queued
        self.failed = True
        return [self.session.receive_failed(_reason(exc))]


def ping(host: str, count: int | None = 4, *, interval: float = 1.0, size: int = 56,
         ttl: int | None = None, timeout: float = 10.0, deadline: float | None = None,
         source: str | None = None, ipv6: bool | None = None,
         on_reply: OnReply | None = None,
         on_send: Callable[[int], None] | None = None,
         on_start: Callable[[str], None] | None = None,
         until_interrupted: bool = False) -> PingResult:
    """Send echo requests to ``host`` and collect the replies, as iputils ping does.

    ``count``: without a ``deadline``, how many requests to send; with one, how many
    replies to wait for (requests go on every ``interval`` until the deadline).
    None means until ``deadline``. ``timeout``: how long to wait for the last
    reply. The ping ends early once count replies and errors came, or at the first
    error when there is a deadline (iputils' rules). ``on_start(address)`` is
    called before the first request, ``on_send(seq)`` after each, ``on_reply``
    for each reply or error (a failed send is a reply with ``local`` set).
    ``until_interrupted``: Ctrl-C (KeyboardInterrupt) ends the ping and returns
    what came so far, as iputils prints its statistics; else it propagates.
    Raises BadInput, NotFound, MissingPrivilege (an interval below 0.2 s without
    CAP_NET_RAW, as iputils; or no way to open a socket), Unroutable (no route
    from this host: exit 2, as iputils).
    """
    options = PingOptions(count, interval, size, ttl, timeout, deadline, source, ipv6)
    pinger = _open(host, options, on_reply, on_send, on_start)
    try:
        return _run(pinger)
    except KeyboardInterrupt:
        if not until_interrupted:
            raise
        return pinger.session.result()
    finally:
        pinger.sock.close()


def _open(host: str, options: PingOptions, on_reply: OnReply | None = None,
          on_send: Callable[[int], None] | None = None,
          on_start: Callable[[str], None] | None = None) -> _Pinger:
    """Check the options, resolve ``host``, open and set up the socket, ask for a
    route: a session ready for its first request."""
    from socklab.names import resolve

    options.check()
    if options.interval < MIN_USER_INTERVAL and not caps.has("CAP_NET_RAW"):
        raise MissingPrivilege(f"ping with an interval of {options.interval:g} s",
                               "CAP_NET_RAW", f"intervals below {MIN_USER_INTERVAL} s are for "
                               "privileged users, as in iputils ping")
    wanted = {None: socket.AF_UNSPEC, True: socket.AF_INET6, False: socket.AF_INET}[
        options.ipv6]
    family, address = resolve(host, "ping", wanted, socket.SOCK_RAW)[0]
    v6 = family == socket.AF_INET6
    sock, kind, why = open_icmp_socket(v6)
    try:
        # a flood's raw IPv4 replies are read without control data (the rate comes
        # first there); every other reply carries the kernel's receive time
        stamped = options.interval > 0 or kind != "raw" or v6
        ident = icmpsock.setup(sock, kind, v6, options.ttl, options.source, stamped)
        if ident is None:
            # raw sockets see every echo reply: each ping of this process gets its own id
            ident = (os.getpid() + 7919 * next(_IDENTS)) & 0xFFFF
        icmpsock.route_check(family, address, options.source)
    except BaseException:
        sock.close()
        raise
    if on_start is not None:
        on_start(address)
    session = EchoSession(options, host=host, address=address, v6=v6, kind=kind, why=why,
                          ident=ident, now=time.monotonic())
    return _Pinger(sock, session, stamped, on_reply, on_send)


def _run(pinger: _Pinger) -> PingResult:
    """The blocking driver: ``select`` until a reply or the next request is due."""
    if pinger.session.interval == 0 and not trace.active():  # traced: every sendto shown
        from socklab.kernel.mmsg import BatchSender

        try:
            batch = BatchSender(pinger.sock, pinger.dest, pinger.session.options.size + 8,
                                FLOOD_BATCH)
        except OSError as exc:
            if exc.errno != errno.ENOSYS:
                raise from_oserror(exc, "ping -f: sendmmsg") from exc
            # no sendmmsg in this C library: the loop below sends one by one
        else:
            return _run_flood(pinger, batch)
    sock = pinger.sock
    while (wait := pinger.tick()) is not None:
        readable, _, _ = select.select([sock], [], [], wait)
        if readable:
            pinger.readable()
    return pinger.session.result()


def _run_flood(pinger: _Pinger, batch: BatchSender) -> PingResult:
    """Interval 0: sender threads send the echoes FLOOD_BATCH at a time (sendmmsg,
    outside the GIL), keeping FLOOD_WINDOW in flight, while this thread reads the
    replies. On loopback the kernel answers each echo inside the send call, so
    that is where the time goes: one sender per CPU (two at most) shares it out.
    Without replies, at least 100 echoes a second still go, as with ping -f."""
    from socklab.kernel.mmsg import BatchSender
    from socklab.probe.echo import FLOOD_WINDOW

    session = pinger.session
    if session.kind == "raw":
        icmpsock.flood_socket(pinger.sock, session.ident, session.v6)
    stop = threading.Event()
    space = threading.Event()  # set by the reader: replies came, the window has room
    claim = threading.Lock()  # sequence numbers are handed out in order under it
    # with a deadline, -c counts replies: requests go on until the deadline
    count = session.count if session.end is None else None
    senders_left = [min(2, len(os.sched_getaffinity(0)))]

    def send(batcher: BatchSender) -> None:
        try:
            while not stop.is_set():
                now = time.monotonic()
                with claim:
                    if (count is not None and session.seq >= count) or session.finished() \
                            or (session.end is not None and now >= session.end):
                        return
                    k = min(FLOOD_WINDOW - session.in_flight(), FLOOD_BATCH,
                            count - session.seq if count is not None else FLOOD_BATCH)
                    first = session.seq + 1
                    if k > 0:
                        session.seq += k
                if k <= 0:  # the window is full: wait for replies, at most 10 ms
                    space.clear()
                    if session.in_flight() >= FLOOD_WINDOW and not space.wait(0.01):
                        with claim:  # none came: one echo anyway (ping -f's 100/s)
                            if count is None or session.seq < count:
                                session.seq += 1
                                first, k = session.seq, 1
                    if k <= 0:
                        continue
                _send_batch(pinger, batcher, first, k)
                session.last_send = now
        finally:
            with claim:
                senders_left[0] -= 1

    threads = [threading.Thread(target=send, name=f"ping-sender-{i}", daemon=True,
                                args=(batch if i == 0 else BatchSender(
                                    pinger.sock, pinger.dest, session.options.size + 8,
                                    FLOOD_BATCH),))
               for i in range(senders_left[0])]
    for thread in threads:
        thread.start()
    sock = pinger.sock
    try:
        while True:
            now = time.monotonic()
            if session.end is not None and now >= session.end:
                break
            if session.finished():
                break  # every echo answered (the senders may not have noticed yet)
            if senders_left[0] == 0 and (len(session.seen) >= session.seq
                                         or now - session.last_send >= session.timeout):
                break
            if select.select([sock], [], [], 0.05)[0]:
                pinger.readable()
                space.set()
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    return session.result()


def _send_batch(pinger: _Pinger, batcher: BatchSender, first: int, k: int) -> None:
    """Send echoes ``first`` .. ``first + k - 1`` (their numbers already taken from the
    session); one that the kernel refuses is recorded with its reason, as
    :meth:`_Pinger.send_one` does, and the rest go on."""
    session = pinger.session
    seqs = list(range(first, first + k))
    build = session.build
    while seqs:
        packets = [build(seq) for seq in seqs]
        session.sent_many(seqs, time.time_ns())  # the send time, taken last before the call
        try:
            done = batcher.send(packets)
        except OSError as exc:  # recorded: the first one was refused
            pinger._report(session.send_failed(seqs[0], _reason(exc)))
            done = 1
        if pinger.on_send:
            for seq in seqs[:done]:
                pinger.on_send(seq)
        seqs = seqs[done:]


async def ping_async(host: str, count: int | None = 4, *, interval: float = 1.0,
                     size: int = 56, ttl: int | None = None, timeout: float = 10.0,
                     deadline: float | None = None, source: str | None = None,
                     ipv6: bool | None = None, on_reply: OnReply | None = None,
                     on_send: Callable[[int], None] | None = None,
                     on_start: Callable[[str], None] | None = None) -> PingResult:
    """:func:`ping` for asyncio: the same options, without blocking the event loop
    (the socket is watched with ``loop.add_reader``)."""
    import asyncio

    options = PingOptions(count, interval, size, ttl, timeout, deadline, source, ipv6)
    loop = asyncio.get_running_loop()
    pinger = await loop.run_in_executor(
        None, lambda: _open(host, options, on_reply, on_send, on_start))
    ready = asyncio.Event()
    fd = pinger.sock.fileno()
    loop.add_reader(fd, ready.set)
    try:
        while (wait := pinger.tick()) is not None:
            try:
                await asyncio.wait_for(ready.wait(), wait)
            except TimeoutError:
                continue
            ready.clear()
            pinger.readable()
        return pinger.session.result()
    finally:
        loop.remove_reader(fd)
        pinger.sock.close()
