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
import contextlib
import errno
import os
import select
import socket
import struct
import time
from typing import NamedTuple

from socklab.errors import BadInput, NotFound
from socklab.kernel import sock as ksock
from socklab.probe import icmp
from socklab.probe.ping import IP_RECVERR, IPV6_RECVERR, offender, open_icmp_socket

__all__ = ["Hop", "Probe", "TraceResult", "traceroute"]

BASE_PORT = 33434
ICMP_TIME_EXCEEDED = {4: 11, 6: 3}


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
    method: str
    hops: tuple[Hop, ...]
    reached: bool


def _mark(v: int, etype: int, code: int) -> str | None:
    if etype == ICMP_TIME_EXCEEDED[v]:
        return None
    if v == 4 and etype == 3:
        return {0: "!N", 1: "!H", 2: "!P", 3: None, 13: "!X"}.get(code, f"!<{code}>")
    if v == 6 and etype == 1:
        return {0: "!N", 1: "!X", 3: "!H", 4: None}.get(code, f"!<{code}>")
    return f"!<{etype}>"


def traceroute(host: str, method: str = "udp", port: int | None = None, *, max_hops: int = 30,
               probes: int = 3, wait: float = 1.0, ipv6: bool | None = None) -> TraceResult:
    """Trace the path to ``host``. Raises BadInput, NotFound, MissingPrivilege (icmp with
    neither ping_group_range nor CAP_NET_RAW)."""
    if method not in ("udp", "icmp", "tcp"):
        raise BadInput(f"traceroute: unknown method {method!r} (udp, icmp, tcp)")
    if method == "tcp" and port is None:
        port = 80
    if not 1 <= max_hops <= 255 or not 1 <= probes <= 10 or wait <= 0:
        raise BadInput("traceroute: bad -m (1-255), -q (1-10) or -w (> 0)")
    family = {None: socket.AF_UNSPEC, True: socket.AF_INET6, False: socket.AF_INET}[ipv6]
    try:
        info = socket.getaddrinfo(host, None, family, socket.SOCK_DGRAM)[0]
    except socket.gaierror as exc:
        raise NotFound(f"traceroute {host}: cannot resolve ({exc.strerror})") from exc
    fam, address = info[0], str(info[4][0])
    v = 6 if fam == socket.AF_INET6 else 4
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
                got.append(prober.probe(ttl, seq, wait))
            hops.append(Hop(ttl, tuple(got)))
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
    def __init__(self, family: int, address: str, v: int, port: int) -> None:
        self.sock = ksock.socket(family, socket.SOCK_DGRAM)
        _recverr(self.sock, v)
        self.address, self.v = address, v

    def probe(self, ttl: int, seq: int, wait: float) -> Probe:
        _set_ttl(self.sock, self.v, ttl)
        sent = time.monotonic()
        self.sock.sendto(b"socklab traceroute", (self.address, BASE_PORT + seq))
        return _wait_errqueue(self.sock, self.v, sent, wait, self.address)

    def close(self) -> None:
        self.sock.close()


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
        except BlockingIOError:
            if reached_on_reply:
                try:
                    sock.recv(65536, socket.MSG_DONTWAIT)
                except OSError:
                    continue
                return Probe(address, (time.monotonic() - sent) * 1000, True)
            with contextlib.suppress(OSError):
                sock.recv(65536, socket.MSG_DONTWAIT)  # an answer to an old probe
            continue
        found = offender(anc)
        if found is None:
            continue
        etype, code, who = found
        rtt = (time.monotonic() - sent) * 1000
        reached = who == address and etype != ICMP_TIME_EXCEEDED[v]
        return Probe(who, rtt, reached, _mark(v, etype, code) if not reached else None)
    return Probe(None, None)


class _ICMP:
    def __init__(self, family: int, address: str, v: int, port: int) -> None:
        self.sock, self.kind, _why = open_icmp_socket(v == 6)
        if self.kind == "dgram":
            _recverr(self.sock, v)
            self.sock.bind(("::" if v == 6 else "0.0.0.0", 0))
            self.ident = self.sock.getsockname()[1]
        else:
            self.ident = (os.getpid() + 104729) & 0xFFFF
        self.address, self.v = address, v

    def probe(self, ttl: int, seq: int, wait: float) -> Probe:
        _set_ttl(self.sock, self.v, ttl)
        sent = time.monotonic()
        dest = (self.address, 0, 0, 0) if self.v == 6 else (self.address, 0)
        self.sock.sendto(icmp.build_echo(self.ident, seq, b"socklab", self.v == 6), dest)
        if self.kind == "dgram":
            return _wait_errqueue(self.sock, self.v, sent, wait, self.address,
                                  reached_on_reply=True)
        return _wait_raw(self.sock, self.v, sent, sent + wait, self.ident, seq, echo=True)

    def close(self) -> None:
        self.sock.close()


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
