"""ICMP sockets for ping and traceroute: which one the process may open, and its options.

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
queue (``IP_RECVERR``). Every OS error met here is translated with the
operation it belongs to (socklab.errors), or is a documented best effort.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import struct
from typing import Literal

from socklab.errors import MissingPrivilege, NetworkError, NotFound, from_oserror
from socklab.kernel import sock as ksock
from socklab.probe import icmp

__all__ = ["ICMP_ERRNOS", "IPV6_RECVERR", "IP_RECVERR", "SocketKind", "Unroutable", "flood_socket",
           "open_icmp_socket", "route_check", "setup"]

SocketKind = Literal["dgram", "raw"]
IP_RECVERR, IPV6_RECVERR = 11, 25
IP_RECVTTL = 12
SO_RCVBUFFORCE = 33  # SO_RCVBUF beyond net.core.rmem_max; not in Python's socket module
# receive times from the kernel (socket(7)): SO_TIMESTAMPNS puts a struct timespec of
# CLOCK_REALTIME in each message's control data, as iputils ping asks for it
SO_TIMESTAMPNS = 35
SOL_RAW, ICMP_FILTER, ICMP6_FILTER = 255, 1, 1
FLOOD_RCVBUF = 1 << 20  # a flood's receive buffer: replies of a whole window, and more
# errors the kernel derives from a router's ICMP error (icmp_err_convert,
# icmpv6_err_convert) and raises once from a read as the socket's pending error: the
# ICMP message itself (raw socket) or the error queue (IP_RECVERR) reports it too
ICMP_ERRNOS = frozenset((errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENOPROTOOPT,
                         errno.ECONNREFUSED, errno.EMSGSIZE, errno.EOPNOTSUPP,
                         errno.EHOSTDOWN, errno.ENONET, errno.EACCES, errno.EPERM,
                         errno.EPROTO))


class Unroutable(NetworkError):
    """This host has no route to the destination (or its route refuses it): ping
    never started. Exit 2, as iputils ping's ``connect: Network is unreachable``."""

    exit_code = 2


def open_icmp_socket(v6: bool) -> tuple[socket.socket, SocketKind, str]:
    """``(socket, "dgram"|"raw", why)``; raises MissingPrivilege naming both ways out."""
    family = socket.AF_INET6 if v6 else socket.AF_INET
    proto = socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP
    try:
        s = ksock.socket(family, socket.SOCK_DGRAM, proto)
        return s, "dgram", ("an unprivileged ICMP datagram socket: net.ipv4.ping_group_range "
                            "admits this process's group")
    except PermissionError:  # EACCES: the group is not in ping_group_range; try raw
        pass
    except OSError as exc:  # no IPv6 here (EAFNOSUPPORT), no descriptor left ...
        raise from_oserror(exc, "open an ICMP socket") from exc
    try:
        s = ksock.socket(family, socket.SOCK_RAW, proto)
        return s, "raw", ("a raw ICMP socket: ping_group_range does not admit this group, "
                          "but the process has CAP_NET_RAW")
    except PermissionError as exc:
        raise MissingPrivilege(
            "open an ICMP socket", "CAP_NET_RAW",
            "or let your group open ICMP datagram sockets: sysctl -w "
            "net.ipv4.ping_group_range='0 2147483647'") from exc
    except OSError as exc:
        raise from_oserror(exc, "open an ICMP socket") from exc


def _is_address(text: str, family: int) -> bool:
    """``text`` is an address of ``family`` (else ``-I`` names a device)."""
    if "%" in text:  # a zone: not an address bind() takes as it is
        return False
    try:
        version = ipaddress.ip_address(text).version
    except ValueError:
        return False
    return version == (6 if family == socket.AF_INET6 else 4)


def _bind_source(sock: socket.socket, family: int, source: str) -> None:
    """``ping -I``: bind to a local address, or to a device by name (SO_BINDTODEVICE)."""
    try:
        if _is_address(source, family):
            sock.bind((source, 0))
        else:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE,
                            source.encode("utf-8", "surrogateescape"))
    except OSError as exc:
        # EADDRNOTAVAIL: not an address of this host; ENODEV/EINVAL: no such device
        if exc.errno in (errno.EADDRNOTAVAIL, errno.ENODEV, errno.EINVAL):
            raise NotFound(f"ping -I {source!r}: no such interface or local "
                           "address") from exc
        raise from_oserror(exc, f"ping -I {source}", "CAP_NET_RAW") from exc


def route_check(family: int, address: str, source: str | None) -> None:
    """Ask the kernel for a route before the first echo, as iputils ping does (a UDP
    socket connected to the destination, nothing sent): no route, or a route that
    refuses (unreachable, prohibit, blackhole), is Unroutable, exit 2. ``source``
    was checked on the ICMP socket already (:func:`setup`)."""
    try:
        probe = ksock.socket(family, socket.SOCK_DGRAM)
    except OSError as exc:
        raise from_oserror(exc, "ping: socket") from exc
    try:
        if source:
            _bind_source(probe, family, source)
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
        sock.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, struct.pack("=8I", *blocked))
    else:
        passed = sum(1 << t for t in (icmp.ECHO_REPLY, icmp.DEST_UNREACH, 4, 5,
                                      icmp.TIME_EXCEEDED, 12))
        sock.setsockopt(SOL_RAW, ICMP_FILTER, struct.pack("=I", ~passed & 0xFFFFFFFF))


def setup(sock: socket.socket, kind: SocketKind, v6: bool, ttl: int | None,
          source: str | None, stamped: bool) -> int | None:
    """Set ping's options on its socket; return the echo identifier the kernel gives
    a datagram socket (None for a raw one: the caller chooses it).
    ``stamped``: ask the kernel's receive time of each reply (SO_TIMESTAMPNS)."""
    level = socket.IPPROTO_IPV6 if v6 else socket.IPPROTO_IP
    try:
        if stamped:
            # the kernel stamps each reply as it arrives: the round trip does not include
            # the time this process takes to be scheduled and read it (as iputils)
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
    except OSError as exc:
        raise from_oserror(exc, "ping: setsockopt") from exc
    if source:
        _bind_source(sock, socket.AF_INET6 if v6 else socket.AF_INET, source)
    if kind == "raw":
        return None
    try:
        if not source:
            sock.bind(("::" if v6 else "0.0.0.0", 0))
        ident: int = sock.getsockname()[1]  # the kernel rewrites the identifier to this
    except OSError as exc:
        raise from_oserror(exc, "ping: bind") from exc
    return ident


def flood_socket(sock: socket.socket, ident: int, v6: bool) -> None:
    """A raw socket for a flood: other pings' echo replies dropped in the kernel
    (iputils' filter), and room for a window of replies. A receive buffer beyond
    ``net.core.rmem_max`` needs CAP_NET_ADMIN (SO_RCVBUFFORCE): without it, as much
    as the sysctl allows (SO_RCVBUF), as iputils."""
    from socklab.kernel.bpf import attach_filter

    try:
        attach_filter(sock, icmp.echo_reply_filter(ident, v6))
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, FLOOD_RCVBUF)
        except PermissionError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, FLOOD_RCVBUF)
    except OSError as exc:
        raise from_oserror(exc, "ping -f: setsockopt") from exc
