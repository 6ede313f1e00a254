"""Parsers of the /proc/net socket tables: text in, :class:`SocketRecord` out.

The fallback source when a sock_diag module is missing (as ss does). Pure
functions over the file's text, so recorded files are tests. What /proc does
not say is None in the records: the backlog of a listening TCP socket (Send-Q),
a UNIX socket's peer and queues, the uid of a UNIX socket.

Formats (net/ipv4/tcp_ipv4.c ``get_tcp4_sock``, net/ipv4/udp.c, net/unix/af_unix.c
``unix_seq_show``, net/packet/af_packet.c, net/netlink/af_netlink.c):
addresses are printed as host-order 32-bit words in hex, ports in hex.

A line that cannot be read (a field that is not the number or address the
kernel prints there) is Malformed, naming the file and line: handed to the
parser's ``on_malformed`` and left out, or raised when it is None.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable, Iterator

from socklab.errors import Malformed
from socklab.kernel.netlink import OnMalformed
from socklab.socktable.model import NETLINK_PROTOCOLS, TCP_STATES, SocketRecord

__all__ = ["hex_address", "parse_inet", "parse_netlink", "parse_packet", "parse_unix"]

_LITTLE = sys.byteorder == "little"


def hex_address(text: str) -> tuple[int, str]:
    """``0100007F`` -> (AF_INET, ``127.0.0.1``); 32 hex digits -> an IPv6 address.

    Raises Malformed for anything else."""
    if len(text) not in (8, 32) or not text.isascii():
        raise Malformed(f"address {text!r}: expected 8 or 32 hex digits")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise Malformed(f"address {text!r}: expected 8 or 32 hex digits") from None
    if _LITTLE:
        raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    if len(raw) == 4:
        return socket.AF_INET, socket.inet_ntop(socket.AF_INET, raw)
    return socket.AF_INET6, socket.inet_ntop(socket.AF_INET6, raw)


def _hex(text: str) -> int:
    """A hex field as the kernel prints them (``%X``, ``%lX``): digits only, no sign."""
    if not text.isascii() or not text.isalnum():
        raise ValueError(f"{text!r} is not a hex number")
    return int(text, 16)


def _dec(text: str) -> int:
    """A decimal field (``%u``, ``%lu``; ``%d`` for a netlink portid)."""
    digits = text[1:] if text[:1] == "-" else text
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"{text!r} is not a number")
    return int(text)


def _bad(name: str, number: int, line: str, exc: Exception) -> Malformed:
    shown = line if len(line) <= 80 else line[:77] + "..."
    return Malformed(f"/proc/net/{name} line {number}: {exc} ({shown!r})")


def _split_endpoint(text: str) -> tuple[str, str, int]:
    addr, sep, port = text.partition(":")
    if not sep:
        raise Malformed(f"endpoint {text!r}: expected ADDRESS:PORT")
    family, host = hex_address(addr)
    value = _hex(port)
    if value > 0xFFFF:
        raise Malformed(f"port {port!r} is over 65535")
    return ("inet" if family == socket.AF_INET else "inet6"), host, value


def _inet_line(f: list[str], netid: str) -> SocketRecord:
    fam, laddr, lport = _split_endpoint(f[1])
    _fam, raddr, rport = _split_endpoint(f[2])
    state = _hex(f[3])
    tx, _, rx = f[4].partition(":")
    send_q: int | None = _hex(tx)
    recv_q = _hex(rx)
    if netid == "tcp" and state == 10:
        send_q = None  # the listen backlog is not in /proc
    protocol = str(lport) if netid == "raw" else None
    return SocketRecord(netid, fam, TCP_STATES.get(state, str(state)), recv_q, send_q,
                        laddr, lport, raddr, rport, _dec(f[9]), _dec(f[7]), 0, None, protocol)


def parse_inet(text: str, netid: str, on_malformed: OnMalformed = None,
               file: str | None = None) -> Iterator[SocketRecord]:
    """Records of /proc/net/{tcp,tcp6,udp,udp6,raw,raw6} (``netid``: tcp, udp or raw;
    ``file``: the file's name, for the errors, ``netid`` by default).

    A line that cannot be read is handed to ``on_malformed`` as Malformed and
    left out (raised when it is None); short lines are skipped, as before."""
    return _records(text, file or netid, 10, lambda f: _inet_line(f, netid), on_malformed)


def _records(text: str, name: str, fields: int, read: Callable[[list[str]], SocketRecord],
             on_malformed: OnMalformed, maxsplit: int = -1) -> Iterator[SocketRecord]:
    """``read`` of each line of a /proc/net table after its header, split in words
    (at most ``maxsplit`` splits: a UNIX path may hold spaces); lines of fewer than
    ``fields`` words are skipped, a line ``read`` refuses goes to ``on_malformed``."""
    for number, line in enumerate(text.splitlines()[1:], 2):
        f = line.split(None, maxsplit)
        if len(f) < fields:
            continue
        try:
            yield read(f)
        except ValueError as exc:  # Malformed too
            _left_out(_bad(name, number, line, exc), on_malformed)


def _left_out(exc: Malformed, on_malformed: OnMalformed) -> None:
    if on_malformed is None:
        raise exc
    on_malformed(exc)


_UNIX_TYPES = {1: "u_str", 2: "u_dgr", 5: "u_seq"}
_SO_ACCEPTCON = 0x10000
_SS_CONNECTED = 3


def _unix_line(f: list[str]) -> SocketRecord:
    flags, stype, st, inode = _hex(f[3]), _hex(f[4]), _hex(f[5]), _dec(f[6])
    if flags & _SO_ACCEPTCON:
        state = "LISTEN"
    elif st == _SS_CONNECTED:
        state = "ESTAB"
    else:
        state = "UNCONN"
    path = f[7] if len(f) > 7 else "*"
    return SocketRecord(_UNIX_TYPES.get(stype, f"u_{stype}"), "unix", state, None, None,
                        path, None, "*", None, inode)


def parse_unix(text: str, on_malformed: OnMalformed = None) -> Iterator[SocketRecord]:
    """Records of /proc/net/unix (no peer, queues or uid: /proc does not show them).
    Bad lines as in :func:`parse_inet`."""
    return _records(text, "unix", 7, _unix_line, on_malformed, maxsplit=7)


def _packet_line(f: list[str]) -> SocketRecord:
    stype, proto, ifindex = _dec(f[2]), _hex(f[3]), _dec(f[4])
    rmem, uid, inode = _dec(f[6]), _dec(f[7]), _dec(f[8])
    return SocketRecord("p_raw" if stype == socket.SOCK_RAW else "p_dgr", "packet", "UNCONN",
                        rmem, 0, str(ifindex) if ifindex else "*", None, "*", None, inode,
                        uid, ifindex, None, f"0x{proto:04x}")


def parse_packet(text: str, on_malformed: OnMalformed = None) -> Iterator[SocketRecord]:
    """Records of /proc/net/packet: ``sk RefCnt Type Proto Iface R Rmem User Inode``;
    Recv-Q is Rmem and Send-Q 0, as ss shows them. Bad lines as in :func:`parse_inet`."""
    return _records(text, "packet", 9, _packet_line, on_malformed)


def _netlink_line(f: list[str]) -> SocketRecord:
    protocol, portid, rmem, wmem, inode = _dec(f[1]), _dec(f[2]), _dec(f[4]), _dec(f[5]), \
        _dec(f[9])
    name = NETLINK_PROTOCOLS.get(protocol, str(protocol))
    port = portid - (1 << 32) if portid >= 1 << 31 else portid
    return SocketRecord("nl", "netlink", "UNCONN", rmem, wmem, name, port, "*", None,
                        inode, None, 0, None, name)


def parse_netlink(text: str, on_malformed: OnMalformed = None) -> Iterator[SocketRecord]:
    """Records of /proc/net/netlink: ``sk Eth Pid Groups Rmem Wmem Dump Locks Drops
    Inode``; Recv-Q and Send-Q are Rmem and Wmem, as ss shows them. Bad lines as
    in :func:`parse_inet`."""
    return _records(text, "netlink", 10, _netlink_line, on_malformed)
