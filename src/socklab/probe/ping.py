"""ping: ICMP echo over the socket the process is allowed to open, with iputils' semantics.

Socket choice (as iputils ping):

1. An unprivileged ICMP datagram socket (``SOCK_DGRAM, IPPROTO_ICMP``), when
   ``net.ipv4.ping_group_range`` admits one of the process's groups. The
   kernel sets the echo identifier (the socket's "port") and hands the socket
   only its own replies.
2. Else a raw socket (``SOCK_RAW, IPPROTO_ICMP``), which needs CAP_NET_RAW and
   sees every ICMP packet of the machine: replies are matched on the identifier.
3. Else MissingPrivilege, naming both ways out.

Errors from routers (unreachable, time exceeded) arrive on a raw socket as
ICMP messages quoting the echo, and on a datagram socket through its error
queue (``IP_RECVERR``); both are reported against the sequence number.
Statistics follow iputils: loss counts sequence numbers with no reply;
``mdev`` is the standard deviation of the round-trip times.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import math
import os
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from socklab import trace
from socklab.errors import BadInput, MissingPrivilege, NetworkError, NotFound, from_oserror
from socklab.kernel import caps
from socklab.kernel import sock as ksock
from socklab.probe import icmp

if TYPE_CHECKING:
    from socklab.kernel.mmsg import BatchSender

__all__ = ["PingReply", "PingResult", "Unroutable", "error_text", "offender", "open_icmp_socket",
           "ping", "ping_async"]

IP_RECVERR, IPV6_RECVERR = 11, 25
SO_RCVBUFFORCE = 33  # SO_RCVBUF beyond net.core.rmem_max; not in Python's socket module
IP_RECVTTL, IP_TTL_CMSG = 12, 2
SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6 = 2, 3
# bytes asked per receive: a reply to the largest ping (-s 65507) fits; Python
# allocates this much per call and gives back the rest, cheap next to the syscall
RECV_SIZE = 65536
EXTENDED_ERR = struct.Struct("=IBBBBII")  # errno, origin, type, code, pad, info, data
# receive times from the kernel (socket(7)): SO_TIMESTAMPNS puts a struct timespec of
# CLOCK_REALTIME in each message's control data, as iputils ping asks for it
SO_TIMESTAMPNS = SCM_TIMESTAMPNS = 35
TIMESPEC = struct.Struct("@ll")
ANC_SIZE = 1024
_IDENTS = itertools.count(1)
MIN_USER_INTERVAL = 0.2  # iputils: below this, only a privileged user
MAX_WAIT, MAX_DEADLINE = 2147483.0, 2147483647  # iputils' bounds: INT_MAX ms, INT_MAX s
FLOOD_WINDOW = 128  # echoes in flight at interval 0
FLOOD_BATCH = 32  # echoes per sendmmsg at interval 0 (128 and 32: measured best here)
FLOOD_RCVBUF = 1 << 20  # a flood's receive buffer: replies of a whole window, and more


class Unroutable(NetworkError):
    """This host has no route to the destination (or its route refuses it): ping
    never started. Exit 2, as iputils ping's ``connect: Network is unreachable``."""

    exit_code = 2


class PingReply(NamedTuple):
    seq: int
    source: str
    bytes: int  # ICMP bytes received (header + payload), as ping prints
    ttl: int | None
    rtt_ms: float | None
    duplicate: bool = False
    error: str | None = None  # "Time to live exceeded" ... from a router, as ping says it
    local: bool = False  # the error is this host's: the send itself failed (sendmsg)


class PingResult(NamedTuple):
    host: str
    address: str
    socket_type: str  # "dgram" or "raw"
    why: str  # why this socket type
    transmitted: int
    received: int
    duplicates: int
    errors: int
    loss_percent: float
    time_ms: int
    rtt_min: float | None
    rtt_avg: float | None
    rtt_max: float | None
    rtt_mdev: float | None
    replies: tuple[PingReply, ...]
    # iputils' flood figures: the mean gap between requests, and the moving average
    # of the round trips (each new one weighs 1/8), in ms
    ipg_ms: float | None = None
    ewma_ms: float | None = None


def open_icmp_socket(v6: bool) -> tuple[socket.socket, str, str]:
    """``(socket, "dgram"|"raw", why)``; raises MissingPrivilege naming both ways out."""
    family = socket.AF_INET6 if v6 else socket.AF_INET
    proto = socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP
    try:
        s = ksock.socket(family, socket.SOCK_DGRAM, proto)
        return s, "dgram", ("an unprivileged ICMP datagram socket: net.ipv4.ping_group_range "
                            "admits this process's group")
    except PermissionError:
        pass
    try:
        s = ksock.socket(family, socket.SOCK_RAW, proto)
        return s, "raw", ("a raw ICMP socket: ping_group_range does not admit this group, "
                          "but the process has CAP_NET_RAW")
    except PermissionError as exc:
        raise MissingPrivilege(
            "open an ICMP socket", "CAP_NET_RAW",
            "or let your group open ICMP datagram sockets: sysctl -w "
            "net.ipv4.ping_group_range='0 2147483647'") from exc


def _resolve(host: str, v6: bool | None) -> tuple[int, str]:
    from socklab.names import resolve

    family = {None: socket.AF_UNSPEC, True: socket.AF_INET6, False: socket.AF_INET}[v6]
    return resolve(host, "ping", family, socket.SOCK_RAW)[0]


def ping(host: str, count: int | None = 4, *, interval: float = 1.0, size: int = 56,
         ttl: int | None = None, timeout: float = 10.0, deadline: float | None = None,
         source: str | None = None, ipv6: bool | None = None,
         on_reply: Callable[[PingReply], None] | None = None,
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
    session = _open_session(host, count, interval=interval, size=size, ttl=ttl,
                            timeout=timeout, deadline=deadline, source=source, ipv6=ipv6,
                            on_reply=on_reply, on_send=on_send, on_start=on_start)
    try:
        return _run(session)
    except KeyboardInterrupt:
        if not until_interrupted:
            raise
        return session.result()
    finally:
        session.sock.close()


def _open_session(host: str, count: int | None, *, interval: float = 1.0, size: int = 56,
                  ttl: int | None = None, timeout: float = 10.0, deadline: float | None = None,
                  source: str | None = None, ipv6: bool | None = None,
                  on_reply: Callable[[PingReply], None] | None = None,
                  on_send: Callable[[int], None] | None = None,
                  on_start: Callable[[str], None] | None = None) -> _Session:
    if count is not None and count < 1:
        raise BadInput(f"ping: bad count {count} (at least 1)")
    # "not (x > 0)" is also true of nan; inf is refused by the upper bounds
    if not 0 <= interval <= MAX_WAIT:
        raise BadInput(f"ping: bad interval {interval} (0 to {MAX_WAIT:.0f} s)")
    if not 0 < timeout <= MAX_WAIT:
        raise BadInput(f"ping: bad timeout {timeout} (above 0, at most {MAX_WAIT:.0f} s)")
    if deadline is not None and not 0 < deadline <= MAX_DEADLINE:
        raise BadInput(f"ping: bad deadline {deadline} (above 0, at most {MAX_DEADLINE} s)")
    if not 0 <= size <= 65507:
        raise BadInput(f"ping: bad size {size} (0 to 65507)")
    if ttl is not None and not 1 <= ttl <= 255:
        raise BadInput(f"ping: bad ttl {ttl} (1 to 255)")
    if count is None and deadline is None:
        raise BadInput("ping: give a count or a deadline")
    if interval < MIN_USER_INTERVAL and not caps.has("CAP_NET_RAW"):
        raise MissingPrivilege(f"ping with an interval of {interval:g} s", "CAP_NET_RAW",
                               f"intervals below {MIN_USER_INTERVAL} s are for privileged "
                               "users, as in iputils ping")
    family, address = _resolve(host, ipv6)
    v6 = family == socket.AF_INET6
    sock, kind, why = open_icmp_socket(v6)
    try:
        session = _Session(sock, kind, why, host, address, v6, count, interval, size, ttl,
                           timeout, deadline, source, on_reply, on_send)
        _route_check(family, address, source)
    except BaseException:
        sock.close()
        raise
    if on_start is not None:
        on_start(address)
    session.start = session.next_send = session.last_send = time.monotonic()
    if deadline is not None:
        session.end = session.start + deadline
    return session


def _route_check(family: int, address: str, source: str | None) -> None:
    """Ask the kernel for a route before the first echo, as iputils ping does (a UDP
    socket connected to the destination, nothing sent): no route, or a route that
    refuses (unreachable, prohibit, blackhole), is Unroutable, exit 2."""
    probe = ksock.socket(family, socket.SOCK_DGRAM)
    try:
        if source:
            try:
                socket.inet_pton(family, source)
                probe.bind((source, 0))
            except (OSError, ValueError):
                with contextlib.suppress(OSError):  # the ICMP socket said it all already
                    probe.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE,
                                     source.encode("utf-8", "surrogateescape"))
        try:
            probe.connect((address, 1025))  # iputils' port; a UDP connect sends nothing
        except OSError as exc:
            if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EACCES,
                             errno.EPERM, errno.EINVAL, errno.EADDRNOTAVAIL):
                raise Unroutable("ping: connect", exc.errno) from exc
            raise from_oserror(exc, "ping: connect") from exc
    finally:
        probe.close()


def _icmp_filter(sock: socket.socket, v6: bool) -> None:
    """A raw socket gets every ICMP message of the host, on loopback our own requests
    too: let the kernel drop all but echo replies and errors, as ping(8) does
    (ICMP_FILTER, raw(7); ICMP6_FILTER, RFC 3542). A set bit blocks a type."""
    if v6:
        blocked = [0xFFFFFFFF] * 8
        for t in (icmp.ECHO6_REPLY, icmp.DEST6_UNREACH, 2, icmp.TIME6_EXCEEDED, 4):
            blocked[t >> 5] &= ~(1 << (t & 31))
        sock.setsockopt(socket.IPPROTO_ICMPV6, 1, struct.pack("=8I", *blocked))
    else:
        passed = sum(1 << t for t in (icmp.ECHO_REPLY, icmp.DEST_UNREACH, 4, 5,
                                      icmp.TIME_EXCEEDED, 12))
        sock.setsockopt(255, 1, struct.pack("=I", ~passed & 0xFFFFFFFF))  # SOL_RAW


def _setup(sock: socket.socket, kind: str, v6: bool, ttl: int | None,
           source: str | None, stamped: bool) -> None:
    level = socket.IPPROTO_IPV6 if v6 else socket.IPPROTO_IP
    if stamped:
        # the kernel stamps each reply as it arrives: the round trip does not include
        # the time this process takes to be scheduled and read it (iputils does the same)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    if ttl is not None:
        sock.setsockopt(level, socket.IPV6_UNICAST_HOPS if v6 else socket.IP_TTL, ttl)
    if v6:
        sock.setsockopt(level, socket.IPV6_RECVHOPLIMIT, 1)
    elif kind == "dgram":
        sock.setsockopt(level, IP_RECVTTL, 1)
    if kind == "dgram":
        sock.setsockopt(level, IPV6_RECVERR if v6 else IP_RECVERR, 1)
    else:
        _icmp_filter(sock, v6)
    if source:
        try:
            socket.inet_pton(socket.AF_INET6 if v6 else socket.AF_INET, source)
            sock.bind((source, 0))
        except (OSError, ValueError):  # not an address of this family: a device name
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE,
                                source.encode("utf-8", "surrogateescape"))
            except OSError as exc:
                if exc.errno in (errno.ENODEV, errno.EINVAL):  # neither address nor device
                    raise NotFound(f"ping -I {source!r}: no such interface or local "
                                   "address") from exc
                raise from_oserror(exc, f"ping -I {source}", "CAP_NET_RAW") from exc


class _Session:
    """One ping, as a state machine both drivers use: the blocking loop in :func:`ping`
    (select) and the asyncio one in :func:`ping_async` (add_reader)."""

    def __init__(self, sock: socket.socket, kind: str, why: str, host: str, address: str,
                 v6: bool, count: int | None, interval: float, size: int, ttl: int | None,
                 timeout: float, deadline: float | None, source: str | None,
                 on_reply: Callable[[PingReply], None] | None,
                 on_send: Callable[[int], None] | None) -> None:
        # a flood's raw IPv4 replies are read without control data (the rate comes
        # first there); every other reply carries the kernel's receive time
        self.stamped = interval > 0 or kind != "raw" or v6
        _setup(sock, kind, v6, ttl, source, self.stamped)
        if kind == "dgram":
            if not source:
                sock.bind(("::" if v6 else "0.0.0.0", 0))
            self.ident = sock.getsockname()[1]  # the kernel rewrites the identifier to this
        else:
            # raw sockets see every echo reply: each ping of this process gets its own id
            self.ident = (os.getpid() + 7919 * next(_IDENTS)) & 0xFFFF
        self.sock, self.kind, self.why, self.host, self.address = sock, kind, why, host, address
        self.v6, self.count, self.interval, self.size = v6, count, interval, size
        self.timeout, self.on_reply, self.on_send = timeout, on_reply, on_send
        self.dest = (address, 0, 0, 0) if v6 else (address, 0)
        # a fixed payload (the send time is kept in sent_at, not in the packet), so
        # that each request costs one struct.pack: ~2x the echoes a second at -i 0
        self.build = icmp.echo_builder(self.ident, bytes(i & 0xFF for i in range(size)), v6)
        self.sent_at: dict[int, int] = {}  # seq -> CLOCK_REALTIME ns, as the kernel stamps
        self.buf = bytearray(RECV_SIZE)  # raw IPv4 replies are received into it
        self.seen: set[int] = set()
        self.replies: list[PingReply] = []
        self.errors = 0
        self.lock = threading.Lock()  # errors: counted by the reader and the flood sender
        self.seq = 0
        self.start = self.next_send = self.last_send = time.monotonic()
        self.end = self.start + deadline if deadline is not None else None
        self.deadline = deadline

    def may_send(self) -> bool:
        """iputils' rule: with a deadline, requests go on until it (``count`` counts
        replies); without one, ``count`` requests."""
        return self.count is None or self.end is not None or self.seq < self.count

    def finished(self) -> bool:
        """Every awaited answer came (count replies and errors), or, with a deadline,
        an error came (iputils' exit conditions in main_loop)."""
        answered = len(self.seen) + self.errors
        return (self.count is not None and answered >= self.count) or (
            self.end is not None and self.errors > 0)

    def tick(self) -> float | None:
        """Send what is due; return how long to wait for replies, or None when done."""
        now = time.monotonic()
        if (self.end is not None and now >= self.end) or self.finished():
            return None
        if self.may_send() and now >= self.next_send:
            self._send()
            if self.interval == 0:
                # as fast as replies come: keep a few echoes in flight, not just one
                while self.may_send() and not self.finished() and \
                        self.seq - len(self.seen) - self.errors < FLOOD_WINDOW:
                    self._send()
            if self.finished():
                return None
        done_sending = not self.may_send()
        if done_sending and time.monotonic() - self.last_send >= self.timeout:
            return None
        wait_until = self.last_send + self.timeout if done_sending else self.next_send
        if self.end is not None:
            wait_until = min(wait_until, self.end)
        return max(0.0, wait_until - time.monotonic())

    def _send(self) -> None:
        self.seq += 1
        seq = self.seq
        packet = self.build(seq)
        sent_at = self.sent_at
        started = time.monotonic()
        # the send time, taken last before the call (the receive time is the kernel's)
        sent_at[seq & 0xFFFF] = time.time_ns()
        try:
            self.sock.sendto(packet, self.dest)
        except OSError as exc:
            self.local_error(seq, exc)
        if self.on_send:
            self.on_send(seq)
        self.last_send = started
        self.next_send = started + self.interval

    def local_error(self, seq: int, exc: OSError) -> None:
        """A send the kernel refused (a firewall's output chain, no buffer ...): as
        iputils, it counts as transmitted but not in the errors, which are the ICMP
        errors of routers; the reply says why (iputils: ``ping: sendmsg: REASON``)."""
        reply = PingReply(seq, self.address, 0, None, None, False,
                          os.strerror(exc.errno) if exc.errno else str(exc), True)
        self.replies.append(reply)
        if self.on_reply:
            self.on_reply(reply)

    def readable(self) -> None:
        """Take every reply waiting on the socket."""
        for reply in _receive(self.sock, self.kind, self.v6, self.ident, self.sent_at,
                              self.buf, self.stamped):
            if reply.error is not None:
                with self.lock:
                    self.errors += 1
            elif reply.seq in self.seen:
                reply = reply._replace(duplicate=True)
            else:
                self.seen.add(reply.seq)
            self.replies.append(reply)
            if self.on_reply:
                self.on_reply(reply)

    def result(self) -> PingResult:
        # iputils' "time": from the start to the last request sent, rounded to the ms
        elapsed = int((self.last_send - self.start) * 1000 + 0.5) if self.seq else 0
        replies = self.replies
        rtts = [r.rtt_ms for r in replies if r.rtt_ms is not None and not r.duplicate
                and r.error is None]
        received = len(self.seen)
        low = avg = high = mdev = None
        if rtts:
            avg = sum(rtts) / len(rtts)
            mdev = math.sqrt(max(sum(x * x for x in rtts) / len(rtts) - avg * avg, 0.0))
            low, high = min(rtts), max(rtts)
        loss = 100.0 * (self.seq - received) / self.seq if self.seq else 0.0
        ipg = (self.last_send - self.start) * 1000 / (self.seq - 1) if self.seq > 1 else None
        ewma8 = 0  # iputils' integer arithmetic in us, scaled by 8 (gather_statistics)
        for rtt in rtts:
            us = int(rtt * 1000)
            ewma8 = us * 8 if not ewma8 else ewma8 + us - ewma8 // 8
        return PingResult(self.host, self.address, self.kind, self.why, self.seq, received,
                          sum(1 for r in replies if r.duplicate), self.errors, loss, elapsed,
                          low, avg, high, mdev, tuple(replies), ipg,
                          ewma8 / 8000 if rtts else None)


def _run(session: _Session) -> PingResult:
    if session.interval == 0 and not trace.active():  # traced: every sendto is shown
        try:
            from socklab.kernel.mmsg import BatchSender

            batch = BatchSender(session.sock, session.dest, session.size + 8, FLOOD_BATCH)
        except OSError:
            pass  # no sendmmsg: the loop below does it one by one
        else:
            return _run_flood(session, batch)
    sock = session.sock
    while (wait := session.tick()) is not None:
        readable, _, _ = select.select([sock], [], [], wait)
        if readable:
            session.readable()
    return session.result()


def _run_flood(session: _Session, batch: BatchSender) -> PingResult:
    """Interval 0: sender threads send the echoes FLOOD_BATCH at a time (sendmmsg,
    outside the GIL), keeping FLOOD_WINDOW in flight, while this thread reads the
    replies. On loopback the kernel answers each echo inside the send call, so
    that is where the time goes: one sender per CPU (two at most) shares it out.
    Without replies, at least 100 echoes a second still go, as with ping -f."""
    import threading

    from socklab.kernel.mmsg import BatchSender

    if session.kind == "raw":
        _flood_socket(session.sock, session.ident, session.v6)
    stop = threading.Event()
    space = threading.Event()  # set by the reader: replies came, the window has room
    claim = threading.Lock()  # sequence numbers are handed out in order under it
    # with a deadline, -c counts replies: requests go on until the deadline
    count = session.count if session.end is None else None
    senders_left = [min(2, len(os.sched_getaffinity(0)))]

    def in_flight() -> int:
        return session.seq - len(session.seen) - session.errors

    def send(batcher: BatchSender) -> None:
        try:
            while not stop.is_set():
                now = time.monotonic()
                with claim:
                    if (count is not None and session.seq >= count) or session.finished() \
                            or (session.end is not None and now >= session.end):
                        return
                    k = min(FLOOD_WINDOW - in_flight(), FLOOD_BATCH,
                            count - session.seq if count is not None else FLOOD_BATCH)
                    first = session.seq + 1
                    if k > 0:
                        session.seq += k
                if k <= 0:  # the window is full: wait for replies, at most 10 ms
                    space.clear()
                    if in_flight() >= FLOOD_WINDOW and not space.wait(0.01):
                        with claim:  # none came: one echo anyway (ping -f's 100/s)
                            if count is None or session.seq < count:
                                session.seq += 1
                                first, k = session.seq, 1
                    if k <= 0:
                        continue
                _send_batch(session, batcher, first, k)
                session.last_send = now
        finally:
            with claim:
                senders_left[0] -= 1

    threads = [threading.Thread(target=send, name=f"ping-sender-{i}", daemon=True,
                                args=(batch if i == 0 else BatchSender(
                                    session.sock, session.dest, session.size + 8,
                                    FLOOD_BATCH),))
               for i in range(senders_left[0])]
    for thread in threads:
        thread.start()
    sock = session.sock
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
                session.readable()
                space.set()
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    return session.result()


def _flood_socket(sock: socket.socket, ident: int, v6: bool) -> None:
    """A raw socket for a flood: other pings' echo replies dropped in the kernel
    (iputils' filter), and room for a window of replies. Best effort: without
    either, replies of others are told apart here, as at any interval."""
    import contextlib

    from socklab.kernel.bpf import attach_filter

    with contextlib.suppress(OSError):
        attach_filter(sock, icmp.echo_reply_filter(ident, v6))
    for option in (SO_RCVBUFFORCE, socket.SO_RCVBUF):  # the first needs CAP_NET_ADMIN
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, FLOOD_RCVBUF)
            break
        except OSError:
            continue


def _send_batch(session: _Session, batcher: BatchSender, first: int, k: int) -> None:
    """Send echoes ``first`` .. ``first + k - 1``; one that the kernel refuses is
    counted as an error with its reason, as :meth:`_Session._send` does."""
    seqs = list(range(first, first + k))
    sent_at = session.sent_at
    while seqs:
        packets = [session.build(seq) for seq in seqs]
        now = time.time_ns()  # the send time, taken last before the call
        for seq in seqs:
            sent_at[seq & 0xFFFF] = now
        try:
            done = batcher.send(packets)
        except OSError as exc:
            session.local_error(seqs[0], exc)
            done = 1
        if session.on_send:
            for seq in seqs[:done]:
                session.on_send(seq)
        seqs = seqs[done:]


async def ping_async(host: str, count: int | None = 4, **options: Any) -> PingResult:
    """:func:`ping` for asyncio: the same options, without blocking the event loop
    (the socket is watched with ``loop.add_reader``)."""
    import asyncio

    loop = asyncio.get_running_loop()
    session = await loop.run_in_executor(None, lambda: _open_session(host, count, **options))
    ready = asyncio.Event()
    fd = session.sock.fileno()
    loop.add_reader(fd, ready.set)
    try:
        while (wait := session.tick()) is not None:
            try:
                await asyncio.wait_for(ready.wait(), wait)
            except TimeoutError:
                continue
            ready.clear()
            session.readable()
        return session.result()
    finally:
        loop.remove_reader(fd)
        session.sock.close()


# iputils ping's words for ICMP errors (ping.c pr_icmph; ping6_common.c), by type and
# code: a user reads the same line whichever ping ran
_UNREACH = {0: "Destination Net Unreachable", 1: "Destination Host Unreachable",
            2: "Destination Protocol Unreachable", 3: "Destination Port Unreachable",
            4: "Frag needed and DF set (mtu = {info})", 5: "Source Route Failed",
            6: "Destination Net Unknown", 7: "Destination Host Unknown",
            8: "Source Host Isolated", 9: "Destination Net Prohibited",
            10: "Destination Host Prohibited",
            11: "Destination Net Unreachable for Type of Service",
            12: "Destination Host Unreachable for Type of Service", 13: "Packet filtered",
            14: "Precedence Violation", 15: "Precedence Cutoff"}
_UNREACH6 = {0: "No route", 1: "Administratively prohibited",
             2: "Beyond scope of source address", 3: "Address unreachable",
             4: "Port unreachable"}


def error_text(v6: bool, etype: int, code: int, info: int = 0) -> str:
    """An ICMP error as iputils ping prints it after ``From ADDR icmp_seq=N``."""
    if v6:
        if etype == icmp.DEST6_UNREACH:
            return "Destination unreachable: " + _UNREACH6.get(code, f"Unknown code {code}")
        if etype == 2:
            return f"Packet too big: mtu={info}"
        if etype == icmp.TIME6_EXCEEDED:
            return "Time exceeded: " + ("Hop limit" if code == 0 else
                                        "Defragmentation failure" if code == 1 else
                                        f"Unknown code {code}")
        if etype == 4:
            return f"Parameter problem: code {code}"
        return f"Unknown icmp type: {etype}"
    if etype == icmp.DEST_UNREACH:
        return _UNREACH.get(code, f"Dest Unreachable, Bad Code: {code}").format(info=info)
    if etype == icmp.TIME_EXCEEDED:
        return {0: "Time to live exceeded", 1: "Frag reassembly time exceeded"}.get(
            code, f"Time exceeded, Bad Code: {code}")
    if etype == 12:
        return "Parameter problem"
    if etype == 5:
        return "Redirect"
    if etype == 4:
        return "Source Quench"
    return f"Bad ICMP type: {etype}"


def _received_at(anc: list[tuple[int, int, bytes]]) -> int | None:
    """The kernel's receive time of a message (SCM_TIMESTAMPNS), in ns of CLOCK_REALTIME."""
    for level, ctype, cdata in anc:
        if level == socket.SOL_SOCKET and ctype == SCM_TIMESTAMPNS and \
                len(cdata) >= TIMESPEC.size:
            sec, nsec = TIMESPEC.unpack_from(cdata)
            return int(sec) * 1_000_000_000 + int(nsec)
    return None


def _rtt(now: int, sent: int | None) -> float | None:
    return max(now - sent, 0) / 1e6 if sent is not None else None


def _receive(sock: socket.socket, kind: str, v6: bool, ident: int,
             sent_at: dict[int, int], buf: bytearray, stamped: bool = True) -> list[PingReply]:
    """Everything waiting on the socket (drained: a fast ping must not let its
    receive buffer overflow). ``buf``: the session's receive buffer."""
    out: list[PingReply] = []
    for _ in range(256):
        got = _receive_one(sock, kind, v6, ident, sent_at, buf, stamped)
        if got is None:
            break
        out += got
    return out


# an echo reply after a 20-byte IPv4 header: source address, then the ICMP header
_IPV4_ECHO = struct.Struct("!12x4s4xBBHHH")
_SOURCES: dict[bytes, str] = {}


def _raw4_replies(buf: memoryview | bytearray, n: int, now: int, ident: int,
                  sent_at: dict[int, int]) -> list[PingReply]:
    """The replies in ``buf[:n]``, a message read from a raw IPv4 socket: the TTL
    and the source are in its IP header. ``now``: when it came, in ns."""
    if n >= 28 and buf[0] == 0x45 and buf[20] == icmp.ECHO_REPLY:
        # the common case at speed, without icmp.parse
        src, _t, _c, _sum, rid, seq = _IPV4_ECHO.unpack_from(buf)
        if rid != ident:
            return []
        sent = sent_at.get(seq)
        source = _SOURCES.get(src) or _SOURCES.setdefault(
            src, socket.inet_ntop(socket.AF_INET, src))
        return [PingReply(seq, source, n - 20, buf[8],
                          (now - sent) / 1e6 if sent is not None else None)]
    return _replies(bytes(buf[:n]), [], None, "raw", False, ident, sent_at, now)


def _receive_one(sock: socket.socket, kind: str, v6: bool, ident: int,
                 sent_at: dict[int, int], buf: bytearray,
                 stamped: bool = True) -> list[PingReply] | None:
    """The replies in the next waiting message (maybe none), or None when nothing waits.
    ``stamped``: the receive time is the kernel's (SO_TIMESTAMPNS is set)."""
    out: list[PingReply] = []
    if kind == "dgram":
        try:
            data, anc, _flags, _from = sock.recvmsg(RECV_SIZE, ANC_SIZE, socket.MSG_ERRQUEUE)
            out += _queued_error(data, anc, v6, ident)
        except OSError:
            pass  # nothing queued (EAGAIN)
    try:
        if kind == "raw" and not v6:
            # the session's buffer rather than a new 64 KiB one per reply (that
            # churn cost page faults at -i 0)
            if not stamped:  # a flood: no control data, 15% more echoes a second
                n = sock.recv_into(buf, RECV_SIZE, socket.MSG_DONTWAIT)
                return out + _raw4_replies(buf, n, time.time_ns(), ident, sent_at)
            n, anc, _flags, _addr = sock.recvmsg_into((buf,), ANC_SIZE, socket.MSG_DONTWAIT)
            now = _received_at(anc) or time.time_ns()
            return out + _raw4_replies(buf, n, now, ident, sent_at)
        data, anc, _flags, addr = sock.recvmsg(RECV_SIZE, ANC_SIZE, socket.MSG_DONTWAIT)
    except OSError:  # nothing waits (EAGAIN, EINTR), or an error the error queue holds
        return out or None
    now = _received_at(anc) or time.time_ns()
    return out + _replies(data, anc, addr, kind, v6, ident, sent_at, now)


def _replies(data: bytes, anc: list[tuple[int, int, bytes]], addr: Any, kind: str, v6: bool,
             ident: int, sent_at: dict[int, int], now: int) -> list[PingReply]:
    """The reply (or the router's error about one of ours) in a message, if it is ours."""
    try:
        msg = icmp.parse(data, v6, ip_header=(kind == "raw" and not v6))
    except ValueError:  # what cannot be read is not ours (icmp.Malformed is a ValueError)
        return []
    hops = msg.ttl
    for level, ctype, cdata in anc:
        if level != socket.SOL_SOCKET and ctype in (IP_TTL_CMSG, socket.IPV6_HOPLIMIT) \
                and len(cdata) >= 4:
            hops = struct.unpack("=i", cdata[:4])[0]
    source = msg.source or (str(addr[0]) if addr else "?")
    if msg.is_error:
        if msg.quoted_ident == ident and msg.quoted_seq is not None:
            at = (data[0] & 0xF) * 4 if kind == "raw" and not v6 else 0
            info = struct.unpack_from("!H", data, at + 6)[0] if len(data) >= at + 8 else 0
            if v6 and len(data) >= 8:
                info = struct.unpack_from("!I", data, 4)[0]
            return [PingReply(msg.quoted_seq, source, len(data), hops, None, False,
                              error_text(v6, msg.type, msg.code, info))]
        return []
    reply_type = icmp.ECHO6_REPLY if v6 else icmp.ECHO_REPLY
    if msg.type != reply_type or (kind == "raw" and msg.ident != ident):
        return []  # someone else's packet (raw sockets see all of them)
    size = len(data) - ((data[0] & 0xF) * 4 if kind == "raw" and not v6 else 0)
    return [PingReply(msg.seq, source, size, hops, _rtt(now, sent_at.get(msg.seq)))]


def offender(anc: list[tuple[int, int, bytes]]) -> tuple[int, int, str | None] | None:
    """(ICMP type, code, sender) from an error-queue message's control data."""
    found = offender_info(anc)
    return found[:3] if found is not None else None


def offender_info(anc: list[tuple[int, int, bytes]]) -> tuple[int, int, str | None, int] | None:
    """(ICMP type, code, sender, info: the MTU of "frag needed") from an error-queue
    message's control data (struct sock_extended_err, then the sender's address)."""
    for _level, _ctype, cdata in anc:
        if len(cdata) < EXTENDED_ERR.size:
            continue
        _e, origin, etype, code, _p, info, _d = EXTENDED_ERR.unpack_from(cdata)
        if origin not in (SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6):
            continue
        off = cdata[EXTENDED_ERR.size:]
        fam = struct.unpack_from("=H", off)[0] if len(off) >= 2 else 0
        if fam == socket.AF_INET and len(off) >= 8:
            return etype, code, socket.inet_ntop(socket.AF_INET, off[4:8]), info
        if fam == socket.AF_INET6 and len(off) >= 24:
            return etype, code, socket.inet_ntop(socket.AF_INET6, off[8:24]), info
        return etype, code, None, info
    return None


def _queued_error(data: bytes, anc: list[tuple[int, int, bytes]], v6: bool,
                  ident: int) -> list[PingReply]:
    """An ICMP error read from a datagram socket's error queue (IP_RECVERR): the
    data is our echo request, its sequence number at offset 6."""
    found = offender_info(anc)
    if found is None:
        return []
    etype, code, src, info = found
    seq = struct.unpack_from("!H", data, 6)[0] if len(data) >= 8 else 0
    return [PingReply(seq, src or "?", len(data), None, None, False,
                      error_text(v6, etype, code, info))]
