"""/proc/net text parsers: round trips through the kernel's own formats, Hypothesis-driven."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct
import sys

from hypothesis import given
from hypothesis import strategies as st

from socklab.errors import Malformed
from socklab.socktable import procsockets
from socklab.socktable.model import TCP_STATES

HEADER = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
          "timeout inode\n")


def kernel_hex(ip: str) -> str:
    """An address as the kernel prints it: host-order 32-bit words, %08X each."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    raw = socket.inet_pton(family, ip)
    order = "<" if sys.byteorder == "little" else ">"
    words = struct.unpack(f"{order}{len(raw) // 4}I", raw)
    return "".join(f"{w:08X}" for w in words)


def tcp_line(i, laddr, lport, raddr, rport, state, tx, rx, uid, inode):
    return (f"{i:4d}: {kernel_hex(laddr)}:{lport:04X} {kernel_hex(raddr)}:{rport:04X} "
            f"{state:02X} {tx:08X}:{rx:08X} 00:00000000 00000000 {uid:5d}        0 {inode} 1 "
            "0000000000000000 100 0 0 10 0\n")


ports = st.integers(0, 65535)
queues = st.integers(0, 2**31)
states = st.sampled_from(sorted(k for k in TCP_STATES if k != 12))


@given(st.ip_addresses(v=4), ports, st.ip_addresses(v=4), ports, states, queues, queues,
       st.integers(0, 2**31), st.integers(1, 2**32 - 1))
def test_tcp4_line_round_trip(laddr, lport, raddr, rport, state, tx, rx, uid, inode):
    text = HEADER + tcp_line(0, str(laddr), lport, str(raddr), rport, state, tx, rx, uid, inode)
    (rec,) = procsockets.parse_inet(text, "tcp")
    assert (rec.family, rec.local_address, rec.local_port) == ("inet", str(laddr), lport)
    assert (rec.peer_address, rec.peer_port) == (str(raddr), rport)
    assert rec.state == TCP_STATES[state]
    assert (rec.recv_q, rec.uid, rec.inode) == (rx, uid, inode)
    assert rec.send_q == (None if state == 10 else tx)


@given(st.ip_addresses(v=6), ports, st.ip_addresses(v=6), ports)
def test_tcp6_addresses_agree_with_ipaddress(laddr, lport, raddr, rport):
    text = HEADER + tcp_line(3, str(laddr), lport, str(raddr), rport, 1, 0, 0, 0, 7)
    (rec,) = procsockets.parse_inet(text, "tcp")
    assert rec.family == "inet6"
    # inet_ntop's spelling (as ss prints it), the same address as ipaddress's
    assert ipaddress.ip_address(rec.local_address) == laddr
    assert ipaddress.ip_address(rec.peer_address) == raddr
    assert rec.local_address == socket.inet_ntop(socket.AF_INET6, laddr.packed)


def test_recorded_tcp_listen_line():
    text = HEADER + ("   0: 00000000:07E8 00000000:0000 0A 00000000:00000003 00:00000000 "
                     "00000000     0        0 1061 1 0000000000000000 100 0 0 10 0\n")
    (rec,) = procsockets.parse_inet(text, "tcp")
    assert (rec.state, rec.local(), rec.peer(), rec.recv_q, rec.send_q) == (
        "LISTEN", "0.0.0.0:2024", "0.0.0.0:*", 3, None)


def test_recorded_unix_lines():
    text = (
        "Num       RefCount Protocol Flags    Type St Inode Path\n"
        "0000000000000000: 00000002 00000000 00010000 0001 01 8638 @abc\n"
        "0000000000000000: 00000003 00000000 00000000 0001 03 1057\n"
        "0000000000000000: 00000002 00000000 00000000 0002 01 9001 /run/x.sock\n"
        "0000000000000000: 00000002 00000000 00010000 0005 01 9002 /tmp/with space\n"
    )
    recs = list(procsockets.parse_unix(text))
    assert [(r.netid, r.state, r.local_address, r.inode) for r in recs] == [
        ("u_str", "LISTEN", "@abc", 8638), ("u_str", "ESTAB", "*", 1057),
        ("u_dgr", "UNCONN", "/run/x.sock", 9001), ("u_seq", "LISTEN", "/tmp/with space", 9002)]


def test_recorded_packet_and_netlink_lines():
    packet = ("sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n"
              "0000000000000000 3      3    0003   2     1 0      0      12345\n")
    (p,) = procsockets.parse_packet(packet)
    assert (p.netid, p.interface, p.protocol, p.inode) == ("p_raw", 2, "0x0003", 12345)
    netlink = ("sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    "
               "Inode\n"
               "0000000000000000 0   4294967295 00000000 0        0        0     2        0        "
               "4\n")
    (n,) = procsockets.parse_netlink(netlink)
    assert (n.netid, n.protocol, n.local_port, n.inode) == ("nl", "rtnl", -1, 4)


@given(st.text(max_size=300))
def test_garbage_never_raises_anything_but_malformed(text):
    for parse in (lambda t: procsockets.parse_inet(t, "tcp"), procsockets.parse_unix,
                  procsockets.parse_packet, procsockets.parse_netlink):
        with contextlib.suppress(Malformed):
            list(parse(text))
