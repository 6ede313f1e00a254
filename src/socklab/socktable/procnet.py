"""Parsers of the /proc/net socket tables: text in, :class:`SocketRecord` out.

The fallback source when a sock_diag module is missing (as ss does). Pure
functions over the file's text, so recorded files are tests. What /proc does
not say is None in the records: the backlog of a listening TCP socket (Send-Q),
a UNIX socket's peer and queues, the uid of a UNIX socket.

Formats (net/ipv4/tcp_ipv4.c ``get_tcp4_sock``, net/ipv4/udp.c, net/unix/af_unix.c
``unix_seq_show``, net/packet/af_packet.c, net/netlink/af_netlink.c):
addresses are printed as host-order 32-bit words in hex, ports in hex.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator

from socklab.socktable.model import NETLINK_PROTOCOLS, TCP_STATES, SocketRecord

__all__ = ["hex_address", "parse_inet", "parse_netlink", "parse_packet", "parse_unix"]

_LITTLE = sys.byteorder == "little"


def hex_address(text: str) -> tuple[int, str]:
    """``0100007F`` -> (AF_INET, ``127.0.0.1``); 32 hex digits -> an IPv6 address."""
    raw = bytes.fromhex(text)
    if _LITTLE:
        raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    if len(raw) == 4:
        return socket.AF_INET, socket.inet_ntop(socket.AF_INET, raw)
    if len(raw) == 16:
        return socket.AF_INET6, socket.inet_ntop(socket.AF_INET6, raw)
    raise ValueError(f"bad address {text!r}")


def _split_endpoint(text: str) -> tuple[str, str, int]:
    addr, _, port = text.partition(":")
    family, host = hex_address(addr)
    return ("inet" if family == socket.AF_INET else "inet6"), host, int(port, 16)


def parse_inet(text: str, netid: str) -> Iterator[SocketRecord]:
    """Records of /proc/net/{tcp,tcp6,udp,udp6,raw,raw6} (``netid``: tcp, udp or raw)."""
    lines = text.splitlines()
    for line in lines[1:]:
        f = line.split()
        if len(f) < 10:
            continue
        fam, laddr, lport = _split_endpoint(f[1])
        _fam, raddr, rport = _split_endpoint(f[2])
        state = int(f[3], 16)
        tx, _, rx = f[4].partition(":")
        send_q: int | None = int(tx, 16)
        recv_q = int(rx, 16)
        if netid == "tcp" and state == 10:
            send_q = None  # the listen backlog is not in /proc
        protocol = str(lport) if netid == "raw" else None
        yield SocketRecord(netid, fam, TCP_STATES.get(state, str(state)), recv_q, send_q,
                           laddr, lport, raddr, rport, int(f[9]), int(f[7]), 0, None, protocol)


_UNIX_TYPES = {1: "u_str", 2: "u_dgr", 5: "u_seq"}
_SO_ACCEPTCON = 0x10000
_SS_CONNECTED = 3


def parse_unix(text: str) -> Iterator[SocketRecord]:
    """Records of /proc/net/unix (no peer, queues or uid: /proc does not show them)."""
    for line in text.splitlines()[1:]:
        f = line.split(None, 7)
        if len(f) < 7:
            continue
        flags, stype, st, inode = int(f[3], 16), int(f[4], 16), int(f[5], 16), int(f[6])
        if flags & _SO_ACCEPTCON:
            state = "LISTEN"
        elif st == _SS_CONNECTED:
            state = "ESTAB"
        else:
            state = "UNCONN"
        path = f[7] if len(f) > 7 else "*"
        yield SocketRecord(_UNIX_TYPES.get(stype, f"u_{stype}"), "unix", state, None, None,
                           path, None, "*", None, inode)


def parse_packet(text: str) -> Iterator[SocketRecord]:
    """Records of /proc/net/packet."""
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) < 9:
            continue
        stype, proto, ifindex = int(f[2]), int(f[3], 16), int(f[4])
        uid, inode = int(f[7]), int(f[8])
        yield SocketRecord("p_raw" if stype == socket.SOCK_RAW else "p_dgr", "packet", "UNCONN",
                           None, None, str(ifindex) if ifindex else "*", None, "*", None, inode,
                           uid, ifindex, None, f"0x{proto:04x}")


def parse_netlink(text: str) -> Iterator[SocketRecord]:
    """Records of /proc/net/netlink."""
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) < 10:
            continue
        protocol, portid, inode = int(f[1]), int(f[2]), int(f[9])
        name = NETLINK_PROTOCOLS.get(protocol, str(protocol))
        port = portid - (1 << 32) if portid >= 1 << 31 else portid
        yield SocketRecord("nl", "netlink", "UNCONN", None, None, name, port, "*", None,
                           inode, None, 0, None, name)
