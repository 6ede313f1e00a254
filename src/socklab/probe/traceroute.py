"""traceroute: probes with growing TTL; each router that drops one says who it is.

Methods:

- ``udp`` (default, as traceroute): datagrams to ports 33434 and up; routers
  answer "time exceeded", the destination "port unreachable".
- ``icmp``: echo requests; the destination answers with an echo reply.
- ``tcp PORT``: a SYN via a non-blocking connect(); the destination answers
  SYN-ACK (open) or RST (closed).

No privilege is needed for udp and icmp (with ping_group_range), as tracepath
does: the socket has ``IP_RECVERR`` set and the routers' ICMP errors are read
from its error queue (``MSG_ERRQUEUE``), with the router's address in the
``sock_extended_err`` that comes with them. For tcp, a raw ICMP socket (root)
hears the routers; without one, the hops are shown as unknown.
"""

# No "from __future__ import annotations": NamedTuple would compile every field's
# annotation at import (a ForwardRef each, 3 ms a command; docs/design.md).
import errno
import os
import select
import socket
import struct
import time
from collections.abc import Callable
from typing import Literal, NamedTuple

from socklab.errors import BadInput, NetworkError, from_oserror
from socklab.kernel import sock as ksock
from socklab.names import resolve
from socklab.probe import icmp
from socklab.probe.icmpsock import ICMP_ERRNOS, IP_RECVERR, IPV6_RECVERR, open_icmp_socket

__all__ = ["Hop", "Method", "Probe", "TraceResult", "packet_size", "traceroute"]

BASE_PORT = 33434
PAYLOAD_SIZE = 32  # data bytes of a probe, as traceroute sends by default
PAYLOAD = bytes(0x40 + i for i in range(PAYLOAD_SIZE))  # traceroute's "@ABC..." pattern
MAX_WAIT = 2147483.0
ICMP_TIME_EXCEEDED = {4: 11, 6: 3}
Method = Literal["udp", "icmp", "tcp"]


class Probe(NamedTuple):
    address: str | None  # None: no answer ("*")
    rtt_ms: float | None
    reached: bool = False
    note: str | None = None  # "!H" host unreachable ... as traceroute marks them


class Hop(NamedTuple):
    ttl: int
    probes: tuple[Probe, ...]

    @property
    def reached(self) -> bool:
        return any(p.reached for p in self.probes)


class TraceResult(NamedTuple):
    host: str
    address: str
    method: Method
    hops: tuple[Hop, ...]
    reached: bool


# traceroute(8)'s marks for "destination unreachable", by code (its parse_icmp_res):
# ICMP (RFC 792, RFC 1812 5.2.7.1) and ICMPv6 (RFC 4443 3.1); None: the destination's
# own "port unreachable", the answer a UDP probe waits for
_MARKS4 = {0: "!N", 1: "!H", 2: "!P", 3: None, 4: "!F", 5: "!S", 6: "!N", 7: "!H", 8: "!N",
           9: "!X", 10: "!X", 11: "!N", 12: "!H", 13: "!X", 14: "!V", 15: "!C"}
_MARKS6 = {0: "!N", 1: "!X", 2: "!H", 3: "!H", 4: None}
# a probe refused by this host's own routing, before any packet left (the kernel
# answers the send with the error of the route: unreachable, prohibit, no route)
_LOCAL_REFUSALS = (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES, errno.EPERM,
                   errno.EINVAL)


def _mark(v: int, etype: int, code: int, info: int = 0) -> str | None:
    """The note traceroute prints after a probe's time for an ICMP error."""
    if etype == ICMP_TIME_EXCEEDED[v]:
        return None
    if v == 4 and etype == 3:
        mark = _MARKS4.get(code, f"!<{code}>")
        return f"{mark}-{info}" if mark == "!F" and info else mark
    if v == 6 and etype == 1:
        return _MARKS6.get(code, f"!<{code}>")
    if v == 6 and etype == 2:  # packet too big, with the MTU
        return f"!F-{info}" if info else "!F"
    return f"!<{etype}>"


def packet_size(v6: bool) -> int:
    """The size of one probe as traceroute's header states it: IP header, 8 bytes of
    UDP (or ICMP) header, then 32 bytes of data (60 bytes, 80 over IPv6)."""
    return (40 if v6 else 20) + 8 + PAYLOAD_SIZE


def traceroute(host: str, method: Method = "udp", port: int | None = None, *, max_hops: int = 30,
               probes: int = 3, wait: float = 1.0, ipv6: bool | None = None,
               on_start: Callable[[str], None] | None = None,
               on_hop: Callable[[Hop], None] | None = None) -> TraceResult:
    """Trace the path to ``host``.

    ``on_start(address)`` is called once the name is resolved, ``on_hop(hop)`` as
    soon as each hop is done (traceroute prints each line then). The trace stops
    at the destination, or at a hop whose router said the destination cannot be
    reached (a mark such as ``!H``). Raises BadInput, NotFound, MissingPrivilege
    (icmp with neither ping_group_range nor CAP_NET_RAW), NetworkError when this
    host's own routing refuses the destination (traceroute: ``connect: No route
    to host``).
    """
    if method not in ("udp", "icmp", "tcp"):
        raise BadInput(f"traceroute: unknown method {method!r} (udp, icmp, tcp)")
    if method == "tcp" and port is None:
        port = 80
    if port is not None and not 1 <= port <= 65535:
        raise BadInput(f"traceroute: bad port {port} (1 to 65535)")
    if not 1 <= max_hops <= 255 or not 1 <= probes <= 10 or not 0 < wait <= MAX_WAIT:
        raise BadInput(f"traceroute: bad -m (1-255), -q (1-10) or -w (> 0, at most "
                       f"{MAX_WAIT:.0f} s)")
    family = {None: socket.AF_UNSPEC, True: socket.AF_INET6, False: socket.AF_INET}[ipv6]
    fam, address = resolve(host, "traceroute", family, socket.SOCK_DGRAM)[0]
    v = 6 if fam == socket.AF_INET6 else 4
    if on_start is not None:
        on_start(address)
    prober: _UDP | _ICMP | _TCP
    if method == "udp":
        prober = _UDP(fam, address, v, 0)
    elif method == "icmp":
        prober = _ICMP(fam, address, v, 0)
    else:
        prober = _TCP(fam, address, v, port or 80)
    hops: list[Hop] = []
    seq = 0
    try:
        for ttl in range(1, max_hops + 1):
            got = []
            for _ in range(probes):
                seq += 1
                try:
                    got.append(prober.probe(ttl, seq, wait))
                except OSError as exc:
                    if exc.errno in _LOCAL_REFUSALS:
                        raise NetworkError(f"traceroute to {address}: connect",
                                           exc.errno) from exc
                    raise from_oserror(exc, f"traceroute to {address}: send") from exc
            hops.append(Hop(ttl, tuple(got)))
            if on_hop is not None:
                on_hop(hops[-1])
            if hops[-1].reached or any(p.note for p in got):
                break
    finally:
        prober.close()
    return TraceResult(host, address, method, tuple(hops), bool(hops and hops[-1].reached))


def _set_ttl(sock: socket.socket, v: int, ttl: int) -> None:
    if v == 6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, ttl)
    else:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)


def _recverr(sock: socket.socket, v: int) -> None:
    if v == 6:
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
    else:
        sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)


class _UDP:
    """A socket per probe, as traceroute(8) opens: its error queue holds the answers
    about that probe only (a late answer to an earlier probe cannot be taken for
    this one), and an error left pending on an earlier socket cannot fail the
    next send (a router's "no route" once made the next sendto() raise)."""

    def __init__(self, family: int, address: str, v: int, port: int) -> None:
        self.family, self.address, self.v = family, address, v

    def probe(self, ttl: int, seq: int, wait: float) -> Probe:
        sock = ksock.socket(self.family, socket.SOCK_DGRAM)
        try:
            _recverr(sock, self.v)
            _set_ttl(sock, self.v, ttl)
            sent = time.monotonic()
            sock.sendto(PAYLOAD, (self.address, BASE_PORT + seq))
            return _wait_errqueue(sock, self.v, sent, wait, self.address)
        finally:
            sock.close()

    def close(self) -> None:
        pass


def _wait_errqueue(sock: socket.socket, v: int, sent: float, wait: float,
                   address: str, reached_on_reply: bool = False) -> Probe:
    deadline = sent + wait
    poller = select.poll()
    poller.register(sock, select.POLLIN | select.POLLERR)
    while (left := deadline - time.monotonic()) > 0:
        if not poller.poll(left * 1000):
            break
        try:
            _data, anc, _f, _a = sock.recvmsg(512, 512, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
        except BlockingIOError:  # no error queued: a reply, or an answer to an old probe
            if _read_reply(sock) and reached_on_reply:
                return Probe(address, (time.monotonic() - sent) * 1000, True)
            continue
        found = icmp.offender_info(anc)
        if found is None:
            continue
        etype, code, who, info = found
        rtt = (time.monotonic() - sent) * 1000
        note = _mark(v, etype, code, info)
        # reached: the destination's own "port unreachable" (udp); any other mark,
        # from a router or the destination, ends the trace without reaching it
        reached = who == address and etype != ICMP_TIME_EXCEEDED[v] and note is None
        return Probe(who, rtt, reached, note)
    return Probe(None, None)


def _read_reply(sock: socket.socket) -> bool:
    """Read one datagram waiting on a probe's socket: True when one was there. A read
    that raises the socket's pending error, made of a router's ICMP error, is not
    an answer: the error queue holds that error, read at the next wake-up. Any
    other error goes up to :func:`traceroute`, which names the operation."""
    try:
        sock.recv(65536, socket.MSG_DONTWAIT)
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno in ICMP_ERRNOS:
            return False
        raise
    return True


class _ICMP:
    """Echo requests: over a datagram ICMP socket, one per probe (as :class:`_UDP`);
    over a raw socket, one for the trace, its answers matched on identifier and
    sequence."""

    def __init__(self, family: int, address: str, v: int, port: int) -> None:
        sock, self.kind, _why = open_icmp_socket(v == 6)
        self.raw: socket.socket | None = sock if self.kind == "raw" else None
        if self.raw is None:
            sock.close()  # it told which kind this process may open
        self.family, self.address, self.v = family, address, v
        self.ident = (os.getpid() + 104729) & 0xFFFF

    def probe(self, ttl: int, seq: int, wait: float) -> Probe:
        dest = (self.address, 0, 0, 0) if self.v == 6 else (self.address, 0)
        echo = icmp.build_echo(self.ident, seq, PAYLOAD, self.v == 6)
        if self.raw is not None:
            _set_ttl(self.raw, self.v, ttl)
            sent = time.monotonic()
            self.raw.sendto(echo, dest)
            return _wait_raw(self.raw, self.v, sent, sent + wait, self.ident, seq, echo=True)
        sock = ksock.socket(self.family, socket.SOCK_DGRAM,
                            socket.IPPROTO_ICMPV6 if self.v == 6 else socket.IPPROTO_ICMP)
        try:
            _recverr(sock, self.v)
            _set_ttl(sock, self.v, ttl)
            sent = time.monotonic()
            sock.sendto(echo, dest)  # the kernel puts the socket's own identifier in
            return _wait_errqueue(sock, self.v, sent, wait, self.address,
                                  reached_on_reply=True)
        finally:
            sock.close()

    def close(self) -> None:
        if self.raw is not None:
            self.raw.close()


def _wait_raw(sock: socket.socket, v: int, sent: float, deadline: float, ident: int, seq: int,
              echo: bool, ports: tuple[int, int] | None = None) -> Probe:
    """Read a raw ICMP socket until an answer about this probe arrives, or ``deadline``."""
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([sock], [], [], left)
        if not ready:
            break
        data, addr = sock.recvfrom(65536)
        try:
            msg = icmp.parse(data, v == 6, ip_header=(v == 4))
        except ValueError:
            continue
        who = msg.source or str(addr[0])
        rtt = (time.monotonic() - sent) * 1000
        if echo and not msg.is_error:
            if msg.type in (icmp.ECHO_REPLY, icmp.ECHO6_REPLY) and (msg.ident, msg.seq) == (
                    ident, seq):
                return Probe(who, rtt, True)
            continue
        if not msg.is_error:
            continue
        mine = (msg.quoted_ident, msg.quoted_seq) == ((ident, seq) if echo else ports)
        if mine:
            return Probe(who, rtt, False, _mark(v, msg.type, msg.code))
    return Probe(None, None)


class _TCP:
    def __init__(self, family: int, address: str, v: int, port: int) -> None:
        self.family, self.address, self.v, self.port = family, address, v, port
        try:  # a raw ICMP socket hears the routers (root); without it, hops are "*"
            self.listen: socket.socket | None = ksock.socket(
                family, socket.SOCK_RAW, socket.IPPROTO_ICMPV6 if v == 6 else socket.IPPROTO_ICMP)
        except PermissionError:
            self.listen = None

    def probe(self, ttl: int, seq: int, wait: float) -> Probe:
        s = ksock.socket(self.family, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
        try:
            _set_ttl(s, self.v, ttl)
            s.bind(("::" if self.v == 6 else "0.0.0.0", 0))
            sport = s.getsockname()[1]
            sent = time.monotonic()
            code = s.connect_ex((self.address, self.port))
            if code in _LOCAL_REFUSALS:
                raise OSError(code, os.strerror(code))  # this host has no route there
            if code not in (0, errno.EINPROGRESS):
                return Probe(None, None, False, f"!{errno.errorcode.get(code, code)}")
            deadline = sent + wait
            watch: list[socket.socket] = [self.listen] if self.listen is not None else []
            while (left := deadline - time.monotonic()) > 0:
                readable, writable, _ = select.select(watch, [s], [], left)
                if writable:
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err in (0, errno.ECONNREFUSED):
                        return Probe(self.address, (time.monotonic() - sent) * 1000, True,
                                     None)
                    if err in (errno.EHOSTUNREACH, errno.ENETUNREACH) and self.listen is None:
                        return Probe(None, None)
                if readable and self.listen is not None:
                    p = _wait_raw(self.listen, self.v, sent, time.monotonic() + 0.01, 0, 0,
                                  echo=False, ports=(sport, self.port))
                    if p.address is not None:
                        return p
            return Probe(None, None)
        finally:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()

    def close(self) -> None:
        if self.listen is not None:
            self.listen.close()
