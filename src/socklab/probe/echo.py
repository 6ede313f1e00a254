"""The echo session: ping's state, with no socket and no clock (sans-I/O).

An :class:`EchoSession` is fed what happened, with the time it happened, and
says what to do and what it meant, as h11 does for HTTP:

- ``due(now)``: how many requests to send now; ``request(now)`` makes the next
  one (its sequence number and bytes), ``sent(seq, ns)`` records when it left;
- ``receive*(bytes, ns, ...)``: a message read from the socket, or from its
  error queue, becomes replies (:class:`PingReply`: answers, duplicates,
  routers' errors), or nothing when it is not ours;
- ``send_failed`` / ``receive_failed``: a call the kernel refused becomes a
  reply with ``local`` set (iputils' ``ping: sendmsg: REASON``), never silence;
- ``wait(now)``: how long to wait for replies, or None when the ping is over;
- ``result()``: the statistics, as iputils computes them.

The drivers in :mod:`socklab.probe.ping` (blocking, flood, asyncio) own the
socket and the clocks. Times: ``now`` is ``time.monotonic()`` seconds (when to
send, when to stop); ``ns`` is CLOCK_REALTIME nanoseconds, the clock of the
kernel's receive stamps (SO_TIMESTAMPNS), for round trips.

iputils' rules: with a deadline, ``count`` counts replies and requests go on
until the deadline; without one, ``count`` requests. The ping ends early once
``count`` replies and errors came, or at the first error when there is a
deadline. Loss counts sequence numbers with no reply; ``mdev`` is the standard
deviation of the round trips; "time" runs from the start to the last request.
"""

# No "from __future__ import annotations": NamedTuple would compile every field's
# annotation at import (a ForwardRef each, 3 ms a command; docs/design.md).
import math
import socket
import struct
from typing import Literal, NamedTuple

from socklab.errors import BadInput
from socklab.probe import icmp

__all__ = ["EchoSession", "PingOptions", "PingReply", "PingResult", "SocketKind"]

SocketKind = Literal["dgram", "raw"]
MAX_WAIT, MAX_DEADLINE = 2147483.0, 2147483647  # iputils' bounds: INT_MAX ms, INT_MAX s
FLOOD_WINDOW = 128  # echoes in flight at interval 0
# an echo reply after a 20-byte IPv4 header: source address, then the ICMP header
_IPV4_ECHO = struct.Struct("!12x4s4xBBHHH")


class PingOptions:
    """What a ping was asked (iputils' options). A plain class: a NamedTuple's
    ``count`` would hide ``tuple.count``."""

    __slots__ = ("count", "deadline", "interval", "ipv6", "size", "source", "timeout", "ttl")

    def __init__(self, count: int | None = 4, interval: float = 1.0, size: int = 56,
                 ttl: int | None = None, timeout: float = 10.0, deadline: float | None = None,
                 source: str | None = None, ipv6: bool | None = None) -> None:
        self.count = count  # requests; with a deadline, replies awaited (-c)
        self.interval = interval  # seconds between requests (-i)
        self.size = size  # payload bytes (-s)
        self.ttl = ttl  # IP time to live (-t)
        self.timeout = timeout  # how long to wait for the last reply (-W)
        self.deadline = deadline  # seconds, the whole ping (-w)
        self.source = source  # a local address or a device (-I)
        self.ipv6 = ipv6  # -6 True, -4 False, None: as the name resolves

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"PingOptions({fields})"

    def check(self) -> None:
        """Raise BadInput naming the first option out of iputils' bounds."""
        count, interval, timeout, deadline = (self.count, self.interval, self.timeout,
                                              self.deadline)
        if count is not None and count < 1:
            raise BadInput(f"ping: bad count {count} (at least 1)")
        # "not (x > 0)" is also true of nan; inf is refused by the upper bounds
        if not 0 <= interval <= MAX_WAIT:
            raise BadInput(f"ping: bad interval {interval} (0 to {MAX_WAIT:.0f} s)")
        if not 0 < timeout <= MAX_WAIT:
            raise BadInput(f"ping: bad timeout {timeout} (above 0, at most {MAX_WAIT:.0f} s)")
        if deadline is not None and not 0 < deadline <= MAX_DEADLINE:
            raise BadInput(f"ping: bad deadline {deadline} (above 0, at most "
                           f"{MAX_DEADLINE} s)")
        if not 0 <= self.size <= 65507:
            raise BadInput(f"ping: bad size {self.size} (0 to 65507)")
        if self.ttl is not None and not 1 <= self.ttl <= 255:
            raise BadInput(f"ping: bad ttl {self.ttl} (1 to 255)")
        if count is None and deadline is None:
            raise BadInput("ping: give a count or a deadline")


class PingReply(NamedTuple):
    seq: int
    source: str
    bytes: int  # ICMP bytes received (header + payload), as ping prints
    ttl: int | None
    rtt_ms: float | None
    duplicate: bool = False
    error: str | None = None  # "Time to live exceeded" ... from a router, as ping says it
    # the error is this host's: a send the kernel refused (iputils' "ping: sendmsg:
    # REASON"), or, with seq 0, a receive that failed ("ping: recvmsg: REASON")
    local: bool = False


class PingResult(NamedTuple):
    host: str
    address: str
    socket_type: SocketKind
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


class EchoSession:
    """One ping's state: sequence numbers, echoes in flight, replies, duplicates,
    errors and the times that make the statistics. No I/O: see the module text."""

    def __init__(self, options: PingOptions, *, host: str, address: str, v6: bool,
                 kind: SocketKind, why: str, ident: int, now: float) -> None:
        self.options, self.host, self.address, self.v6 = options, host, address, v6
        self.kind, self.why, self.ident = kind, why, ident & 0xFFFF
        self.count, self.interval, self.timeout = options.count, options.interval, \
            options.timeout
        # a raw IPv4 socket hands over the IP header too; the others the ICMP message
        self.ip_header = kind == "raw" and not v6
        self.reply_type = icmp.ECHO6_REPLY if v6 else icmp.ECHO_REPLY
        # a fixed payload (the send time is kept in sent_at, not in the packet), so
        # that each request costs one struct.pack: ~2x the echoes a second at -i 0
        self.build = icmp.echo_builder(self.ident, bytes(i & 0xFF for i in range(options.size)),
                                       v6)
        self.sent_at: dict[int, int] = {}  # seq & 0xFFFF -> CLOCK_REALTIME ns
        self.seen: set[int] = set()  # sequence numbers answered
        self.replies: list[PingReply] = []
        self.errors = 0  # routers' ICMP errors about our echoes
        self.seq = 0  # requests made
        self.start = self.next_send = self.last_send = now
        self.end = now + options.deadline if options.deadline is not None else None
        self._sources: dict[bytes, str] = {}  # raw IPv4 source addresses, as text

    # -- when to send, when to stop ------------------------------------------
    def may_send(self) -> bool:
        """iputils' rule: with a deadline, requests go on until it (``count`` counts
        replies); without one, ``count`` requests."""
        return self.count is None or self.end is not None or self.seq < self.count

    def finished(self) -> bool:
        """Every awaited answer came (count replies and errors), or, with a deadline,
        an error came (iputils' exit conditions in main_loop)."""
        return (self.count is not None and len(self.seen) + self.errors >= self.count) or (
            self.end is not None and self.errors > 0)

    def in_flight(self) -> int:
        """Requests sent and not answered yet (by a reply or an error)."""
        return self.seq - len(self.seen) - self.errors

    def due(self, now: float) -> int:
        """How many requests to send at ``now``: one per interval; at interval 0, as
        many as keep FLOOD_WINDOW in flight (at least one: iputils' 100 a second
        when nothing comes back). 0 when none is due, or the ping is over."""
        if (self.end is not None and now >= self.end) or self.finished() \
                or not self.may_send() or now < self.next_send:
            return 0
        if self.interval > 0:
            return 1
        n = max(1, FLOOD_WINDOW - self.in_flight())
        if self.count is not None and self.end is None:
            n = min(n, self.count - self.seq)
        return n

    def request(self, now: float) -> tuple[int, bytes]:
        """The next echo request, sent at ``now``: its sequence number and its bytes.
        Call :meth:`sent` with the wall-clock time just before the send call."""
        self.seq += 1
        self.last_send = now
        self.next_send = now + self.interval
        return self.seq, self.build(self.seq)

    def sent(self, seq: int, ns: int) -> None:
        """Request ``seq`` left at ``ns`` (CLOCK_REALTIME), the start of its round trip."""
        self.sent_at[seq & 0xFFFF] = ns

    def sent_many(self, seqs: list[int], ns: int) -> None:
        """:meth:`sent` for a batch that left in one call (sendmmsg)."""
        sent_at = self.sent_at
        for seq in seqs:
            sent_at[seq & 0xFFFF] = ns

    def wait(self, now: float) -> float | None:
        """How long to wait for replies before the next request is due, or None when
        the ping is over (deadline passed, every answer came, or the last request's
        ``timeout`` ran out)."""
        if (self.end is not None and now >= self.end) or self.finished():
            return None
        done_sending = not self.may_send()
        if done_sending and now - self.last_send >= self.timeout:
            return None
        wait_until = self.last_send + self.timeout if done_sending else self.next_send
        if self.end is not None:
            wait_until = min(wait_until, self.end)
        return max(0.0, wait_until - now)

    # -- what came back ----------------------------------------------------------
    def _record(self, reply: PingReply) -> PingReply:
        """Count ``reply`` (an answer, a duplicate or an error) and keep it."""
        if reply.error is not None:
            self.errors += 1
        elif reply.seq in self.seen:
            reply = reply._replace(duplicate=True)
        else:
            self.seen.add(reply.seq)
        self.replies.append(reply)
        return reply

    def receive_raw4(self, buf: bytes | bytearray | memoryview, n: int,
                     ns: int) -> list[PingReply]:
        """The reply in ``buf[:n]``, a message read from a raw IPv4 socket at ``ns``
        (the TTL and the source are in its IP header): the flood's path, an echo
        reply read without the general parser; anything else goes through it."""
        if n >= 28 and buf[0] == 0x45 and buf[20] == icmp.ECHO_REPLY:
            src, _t, _c, _sum, rid, seq = _IPV4_ECHO.unpack_from(buf)
            if rid != self.ident:
                return []  # another ping's (raw sockets see every reply)
            sent = self.sent_at.get(seq)
            sources = self._sources
            source = sources.get(src) or sources.setdefault(
                src, socket.inet_ntop(socket.AF_INET, src))
            reply = PingReply(seq, source, n - 20, buf[8],
                              (ns - sent) / 1e6 if sent is not None else None)
            seen = self.seen
            if seq in seen:
                reply = reply._replace(duplicate=True)
            else:
                seen.add(seq)
            self.replies.append(reply)
            return [reply]
        return self.receive(bytes(buf[:n]), ns)

    def receive(self, data: bytes, ns: int, hops: int | None = None,
                sender: str | None = None) -> list[PingReply]:
        """The reply (or a router's error about one of our echoes) in ``data``, a
        message read at ``ns``; nothing when it is not ours. ``hops``: the TTL or
        hop limit from the control data; ``sender``: the address it came from."""
        try:
            msg = icmp.parse(data, self.v6, ip_header=self.ip_header)
        except ValueError:  # what cannot be read is not ours (icmp.Malformed)
            return []
        hops = hops if hops is not None else msg.ttl
        source = msg.source or sender or "?"
        at = (data[0] & 0xF) * 4 if self.ip_header else 0  # where the ICMP message starts
        if msg.is_error:
            if msg.quoted_ident != self.ident or msg.quoted_seq is None:
                return []
            if self.v6:  # the MTU of "packet too big" (RFC 4443 3.2)
                info = struct.unpack_from("!I", data, 4)[0]
            else:  # the next-hop MTU of "frag needed" (RFC 1191)
                info = struct.unpack_from("!H", data, at + 6)[0] if len(data) >= at + 8 else 0
            return [self._record(PingReply(
                msg.quoted_seq, source, len(data), hops, None, False,
                icmp.error_text(self.v6, msg.type, msg.code, info)))]
        if msg.type != self.reply_type or (self.kind == "raw" and msg.ident != self.ident):
            return []  # someone else's packet (raw sockets see all of them)
        sent = self.sent_at.get(msg.seq)
        rtt = max(ns - sent, 0) / 1e6 if sent is not None else None
        return [self._record(PingReply(msg.seq, source, len(data) - at, hops, rtt))]

    def receive_queued(self, data: bytes, anc: list[tuple[int, int, bytes]]) -> list[PingReply]:
        """A message of the socket's error queue (IP_RECVERR): ``data`` is our echo
        request as sent (its sequence number at offset 6), ``anc`` the control data
        with the router's error (:func:`icmp.offender_info`)."""
        found = icmp.offender_info(anc)
        if found is None:
            return []  # not from ICMP (a local error's origin): not a router's answer
        etype, code, src, info = found
        seq = struct.unpack_from("!H", data, 6)[0] if len(data) >= 8 else 0
        return [self._record(PingReply(seq, src or "?", len(data), None, None, False,
                                       icmp.error_text(self.v6, etype, code, info)))]

    def send_failed(self, seq: int, reason: str) -> PingReply:
        """A send the kernel refused (a firewall's output chain, no buffer ...): as
        iputils, it counts as transmitted but not in the errors, which are the ICMP
        errors of routers; the reply says why."""
        reply = PingReply(seq, self.address, 0, None, None, False, reason, True)
        self.replies.append(reply)
        return reply

    def receive_failed(self, reason: str) -> PingReply:
        """A receive the kernel refused for a reason no ICMP error explains (iputils
        prints ``ping: recvmsg: REASON``): a local reply with sequence number 0."""
        reply = PingReply(0, self.address, 0, None, None, False, reason, True)
        self.replies.append(reply)
        return reply

    # -- the summary -------------------------------------------------------------
    def result(self) -> PingResult:
        """The statistics so far, as iputils' finish() prints them."""
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
