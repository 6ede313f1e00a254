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

import itertools
import math
import os
import select
import socket
import struct
import time
from collections.abc import Callable
from typing import NamedTuple

from socklab.errors import BadInput, MissingPrivilege, NotFound, from_oserror
from socklab.kernel import caps
from socklab.kernel import sock as ksock
from socklab.probe import icmp

__all__ = ["PingReply", "PingResult", "offender", "open_icmp_socket", "ping"]

IP_RECVERR, IPV6_RECVERR = 11, 25
IP_RECVTTL, IP_TTL_CMSG = 12, 2
SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6 = 2, 3
EXTENDED_ERR = struct.Struct("=IBBBBII")  # errno, origin, type, code, pad, info, data
_IDENTS = itertools.count(1)
MIN_USER_INTERVAL = 0.2  # iputils: below this, only a privileged user


class PingReply(NamedTuple):
    seq: int
    source: str
    bytes: int  # ICMP bytes received (header + payload), as ping prints
    ttl: int | None
    rtt_ms: float | None
    duplicate: bool = False
    error: str | None = None  # "Time to live exceeded" ... from a router


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
    family = {None: socket.AF_UNSPEC, True: socket.AF_INET6, False: socket.AF_INET}[v6]
    try:
        infos = socket.getaddrinfo(host, None, family, socket.SOCK_RAW)
    except socket.gaierror as exc:
        raise NotFound(f"ping {host}: cannot resolve ({exc.strerror})") from exc
    fam, _t, _p, _c, addr = infos[0]
    return fam, str(addr[0])


def ping(host: str, count: int | None = 4, *, interval: float = 1.0, size: int = 56,
         ttl: int | None = None, timeout: float = 10.0, deadline: float | None = None,
         source: str | None = None, ipv6: bool | None = None,
         on_reply: Callable[[PingReply], None] | None = None,
         on_send: Callable[[int], None] | None = None) -> PingResult:
    """Send echo requests to ``host`` and collect the replies.

    ``count`` None means until ``deadline``. ``timeout`` is how long to wait for
    the last reply. Raises BadInput, NotFound, MissingPrivilege (an interval
    below 0.2 s without CAP_NET_RAW, as iputils; or no way to open a socket).
    """
    if count is not None and count < 1:
        raise BadInput(f"ping: bad count {count} (at least 1)")
    if interval < 0 or not 0 <= size <= 65507 or timeout <= 0:
        raise BadInput("ping: bad interval, size or timeout")
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
        return _run(sock, kind, why, host, address, v6, count, interval, size, ttl, timeout,
                    deadline, source, on_reply, on_send)
    finally:
        sock.close()


def _setup(sock: socket.socket, kind: str, v6: bool, ttl: int | None,
           source: str | None) -> None:
    level = socket.IPPROTO_IPV6 if v6 else socket.IPPROTO_IP
    if ttl is not None:
        sock.setsockopt(level, socket.IPV6_UNICAST_HOPS if v6 else socket.IP_TTL, ttl)
    if v6:
        sock.setsockopt(level, socket.IPV6_RECVHOPLIMIT, 1)
    elif kind == "dgram":
        sock.setsockopt(level, IP_RECVTTL, 1)
    if kind == "dgram":
        sock.setsockopt(level, IPV6_RECVERR if v6 else IP_RECVERR, 1)
    if source:
        try:
            socket.inet_pton(socket.AF_INET6 if v6 else socket.AF_INET, source)
            sock.bind((source, 0))
        except OSError:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, source.encode())
            except OSError as exc:
                raise from_oserror(exc, f"ping -I {source}", "CAP_NET_RAW") from exc


def _run(sock: socket.socket, kind: str, why: str, host: str, address: str, v6: bool,
         count: int | None, interval: float, size: int, ttl: int | None, timeout: float,
         deadline: float | None, source: str | None,
         on_reply: Callable[[PingReply], None] | None,
         on_send: Callable[[int], None] | None) -> PingResult:
    _setup(sock, kind, v6, ttl, source)
    if kind == "dgram":
        if not source:
            sock.bind(("::" if v6 else "0.0.0.0", 0))
        ident = sock.getsockname()[1]  # the kernel rewrites the identifier to this
    else:
        # raw sockets see every echo reply: each ping of this process gets its own id
        ident = (os.getpid() + 7919 * next(_IDENTS)) & 0xFFFF
    dest = (address, 0, 0, 0) if v6 else (address, 0)
    pad = bytes((i + 8) & 0xFF for i in range(max(size - 8, 0)))
    sent_at: dict[int, float] = {}
    seen: set[int] = set()
    replies: list[PingReply] = []
    errors = 0
    start = time.monotonic()
    end = start + deadline if deadline is not None else None
    seq = 0
    next_send = start
    last_send = start
    while True:
        now = time.monotonic()
        if end is not None and now >= end:
            break
        if (count is None or seq < count) and now >= next_send:
            seq += 1
            payload = struct.pack("!d", time.time())[:size] + pad if size >= 8 else pad[:size]
            sent_at[seq & 0xFFFF] = time.monotonic()
            try:
                sock.sendto(icmp.build_echo(ident, seq, payload, v6), dest)
            except OSError as exc:
                errors += 1
                replies.append(PingReply(seq, address, 0, None, None, False,
                                         exc.strerror or str(exc)))
            if on_send:
                on_send(seq)
            last_send = time.monotonic()
            next_send = last_send + interval
        done_sending = count is not None and seq >= count
        if count is not None and done_sending and (
                len(seen) >= count or time.monotonic() - last_send >= timeout):
            break
        wait_until = last_send + timeout if done_sending else next_send
        if end is not None:
            wait_until = min(wait_until, end)
        wait = max(0.0, wait_until - time.monotonic())
        readable, _, _ = select.select([sock], [], [], wait)
        if not readable:
            continue
        for reply in _receive(sock, kind, v6, ident, sent_at):
            if reply.error is not None:
                errors += 1
            elif reply.seq in seen:
                reply = reply._replace(duplicate=True)
            else:
                seen.add(reply.seq)
            replies.append(reply)
            if on_reply:
                on_reply(reply)
    elapsed = int((time.monotonic() - start) * 1000)
    rtts = [r.rtt_ms for r in replies if r.rtt_ms is not None and not r.duplicate
            and r.error is None]
    received = len(seen)
    low = avg = high = mdev = None
    if rtts:
        avg = sum(rtts) / len(rtts)
        mdev = math.sqrt(max(sum(x * x for x in rtts) / len(rtts) - avg * avg, 0.0))
        low, high = min(rtts), max(rtts)
    loss = 100.0 * (seq - received) / seq if seq else 0.0
    return PingResult(host, address, kind, why, seq, received,
                      sum(1 for r in replies if r.duplicate), errors, loss, elapsed,
                      low, avg, high, mdev, tuple(replies))


def _receive(sock: socket.socket, kind: str, v6: bool, ident: int,
             sent_at: dict[int, float]) -> list[PingReply]:
    """Everything waiting on the socket (drained: a raw socket on loopback also gets our
    own requests, and a fast ping must not let its receive buffer overflow)."""
    out: list[PingReply] = []
    for _ in range(256):
        got = _receive_one(sock, kind, v6, ident, sent_at)
        if got is None:
            break
        out += got
    return out


def _receive_one(sock: socket.socket, kind: str, v6: bool, ident: int,
                 sent_at: dict[int, float]) -> list[PingReply] | None:
    """The replies in the next waiting message (maybe none), or None when nothing waits."""
    out: list[PingReply] = []
    if kind == "dgram":
        try:
            data, anc, _flags, addr = sock.recvmsg(65536, 1024, socket.MSG_ERRQUEUE)
            out += _queued_error(data, anc, v6, ident)
        except BlockingIOError:
            pass
        except OSError:
            pass
    try:
        data, anc, _flags, addr = sock.recvmsg(65536, 1024, socket.MSG_DONTWAIT)
    except (BlockingIOError, InterruptedError):
        return out or None
    except OSError:
        return out or None
    now = time.monotonic()
    try:
        msg = icmp.parse(data, v6, ip_header=(kind == "raw" and not v6))
    except ValueError:
        return out
    hops = msg.ttl
    for _level, ctype, cdata in anc:
        if ctype in (IP_TTL_CMSG, socket.IPV6_HOPLIMIT) and len(cdata) >= 4:
            hops = struct.unpack("=i", cdata[:4])[0]
    source = msg.source or str(addr[0])
    if msg.is_error:
        if msg.quoted_ident == ident and msg.quoted_seq is not None:
            out.append(PingReply(msg.quoted_seq, source, len(data), hops, None, False,
                                 msg.describe(v6)))
        return out
    reply_type = icmp.ECHO6_REPLY if v6 else icmp.ECHO_REPLY
    if msg.type != reply_type or (kind == "raw" and msg.ident != ident):
        return out  # someone else's packet (raw sockets see all of them)
    sent = sent_at.get(msg.seq)
    rtt = (now - sent) * 1000 if sent is not None else None
    size = len(data) - ((data[0] & 0xF) * 4 if kind == "raw" and not v6 else 0)
    out.append(PingReply(msg.seq, source, size, hops, rtt))
    return out


def offender(anc: list[tuple[int, int, bytes]]) -> tuple[int, int, str | None] | None:
    """(ICMP type, code, sender) from an error-queue message's control data."""
    for _level, _ctype, cdata in anc:
        if len(cdata) < EXTENDED_ERR.size:
            continue
        _e, origin, etype, code, _p, _i, _d = EXTENDED_ERR.unpack_from(cdata)
        if origin not in (2, 3):  # SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6
            continue
        off = cdata[EXTENDED_ERR.size:]
        fam = struct.unpack_from("=H", off)[0] if len(off) >= 2 else 0
        if fam == socket.AF_INET and len(off) >= 8:
            return etype, code, socket.inet_ntop(socket.AF_INET, off[4:8])
        if fam == socket.AF_INET6 and len(off) >= 24:
            return etype, code, socket.inet_ntop(socket.AF_INET6, off[8:24])
        return etype, code, None
    return None



def _queued_error(data: bytes, anc: list[tuple[int, int, bytes]], v6: bool,
                  ident: int) -> list[PingReply]:
    """An ICMP error read from a datagram socket's error queue (IP_RECVERR)."""
    found = offender(anc)
    if found is None:
        return []
    etype, code, src = found
    seq = struct.unpack_from("!H", data, 6)[0] if len(data) >= 8 else 0
    text = icmp.Message(etype, code, 0, 0, b"", quoted_proto=1).describe(v6)
    return [PingReply(seq, src or "?", len(data), None, None, False, text)]
