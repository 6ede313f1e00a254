"""ICMP and ICMPv6 messages as bytes: build and parse. Pure, no socket.

RFC 792 (ICMP) and RFC 4443 (ICMPv6). An echo request/reply carries an
identifier and a sequence number; an error (destination unreachable, time
exceeded) quotes the IP header and the first 8 bytes of the packet that
caused it, which is how a prober knows which of its probes it answers.

The checksum is the Internet checksum (RFC 1071). For ICMPv6 the kernel fills
it in (it covers a pseudo-header with the addresses), so :func:`build_echo`
leaves it zero.

A datagram socket with ``IP_RECVERR`` gets the routers' errors about its
packets in its error queue rather than as ICMP messages: :func:`offender_info`
reads the kernel's ``struct sock_extended_err`` that comes with them.
"""

# No "from __future__ import annotations": NamedTuple would compile every field's
# annotation at import (a ForwardRef each, 3 ms a command; docs/design.md).
import socket
import struct
from collections.abc import Callable
from typing import NamedTuple

from socklab.errors import Malformed

__all__ = ["Message", "build_echo", "checksum", "echo_builder", "error_text", "offender",
           "offender_info", "parse"]

ECHO_REPLY, DEST_UNREACH, ECHO_REQUEST, TIME_EXCEEDED = 0, 3, 8, 11
ECHO6_REQUEST, ECHO6_REPLY, DEST6_UNREACH, TIME6_EXCEEDED = 128, 129, 1, 3
HEADER = struct.Struct("!BBHHH")  # type, code, checksum, identifier, sequence

UNREACH_TEXT = {0: "Destination Net Unreachable", 1: "Destination Host Unreachable",
                2: "Destination Protocol Unreachable", 3: "Destination Port Unreachable",
                4: "Frag needed and DF set", 9: "Destination Net Prohibited",
                10: "Destination Host Prohibited", 13: "Communication Administratively "
                "Prohibited"}
UNREACH6_TEXT = {0: "No route", 1: "Administratively prohibited", 3: "Address unreachable",
                 4: "Port unreachable"}


class Message(NamedTuple):
    """A parsed ICMP message. For errors, ``quoted_*`` describe the packet that caused it."""

    type: int
    code: int
    ident: int
    seq: int
    payload: bytes
    ttl: int | None = None  # from the IPv4 header, when there was one
    source: str | None = None
    quoted_proto: int | None = None
    quoted_dst: str | None = None
    quoted_ident: int | None = None  # ICMP echo id, or the UDP/TCP source port
    quoted_seq: int | None = None  # ICMP echo seq, or the UDP/TCP destination port
    quoted_ttl: int | None = None

    @property
    def is_error(self) -> bool:
        return self.quoted_proto is not None

    def describe(self, v6: bool = False) -> str:
        if v6:
            if self.type == TIME6_EXCEEDED:
                return "Time to live exceeded"
            if self.type == DEST6_UNREACH:
                return UNREACH6_TEXT.get(self.code, f"Destination unreachable (code {self.code})")
        if self.type == TIME_EXCEEDED:
            return "Time to live exceeded"
        if self.type == DEST_UNREACH:
            return UNREACH_TEXT.get(self.code, f"Destination unreachable (code {self.code})")
        return f"ICMP type {self.type} code {self.code}"


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def build_echo(ident: int, seq: int, payload: bytes = b"", v6: bool = False) -> bytes:
    """An echo request (checksummed for ICMPv4; the kernel does it for ICMPv6)."""
    kind = ECHO6_REQUEST if v6 else ECHO_REQUEST
    head = HEADER.pack(kind, 0, 0, ident & 0xFFFF, seq & 0xFFFF)
    if v6:
        return head + payload
    return HEADER.pack(kind, 0, checksum(head + payload), ident & 0xFFFF, seq & 0xFFFF) + payload


def echo_builder(ident: int, payload: bytes = b"", v6: bool = False) -> Callable[[int], bytes]:
    """:func:`build_echo` for one identifier and payload, where only the sequence
    number changes: the checksum of everything else is summed once, and each
    packet adds its sequence number to it (RFC 1624's incremental update)."""
    kind = ECHO6_REQUEST if v6 else ECHO_REQUEST
    ident &= 0xFFFF
    pack = HEADER.pack
    if v6:  # the kernel computes ICMPv6 checksums
        return lambda seq: pack(kind, 0, 0, ident, seq & 0xFFFF) + payload
    padded = payload + b"\0" * (len(payload) % 2)
    base = (kind << 8) + ident + sum(struct.unpack(f"!{len(padded) // 2}H", padded))

    def build(seq: int) -> bytes:
        seq &= 0xFFFF
        total = base + seq
        total = (total & 0xFFFF) + (total >> 16)
        total = (total & 0xFFFF) + (total >> 16)
        return pack(kind, 0, ~total & 0xFFFF, ident, seq) + payload

    return build


def _ipv4_header(data: bytes) -> tuple[int, int, int, str, str]:
    """(header length, ttl, protocol, source, destination) of an IPv4 header."""
    if len(data) < 20 or data[0] >> 4 != 4:
        version = data[0] >> 4 if data else None
        raise Malformed(f"ICMP: not an IPv4 header ({len(data)} bytes, version {version})")
    ihl = (data[0] & 0xF) * 4
    if ihl < 20 or len(data) < ihl:
        raise Malformed(f"ICMP: IPv4 header length {ihl} in a packet of {len(data)} bytes")
    return (ihl, data[8], data[9], socket.inet_ntop(socket.AF_INET, data[12:16]),
            socket.inet_ntop(socket.AF_INET, data[16:20]))


def parse(data: bytes, v6: bool = False, ip_header: bool = False) -> Message:
    """Parse an ICMP message; ``ip_header``: ``data`` starts with the IPv4 header
    (raw IPv4 sockets). Raises Malformed (a ValueError) on anything it cannot read,
    saying what."""
    ttl = source = None
    if ip_header:
        ihl, ttl, proto, source, _dst = _ipv4_header(data)
        if proto != socket.IPPROTO_ICMP:
            raise Malformed(f"ICMP: the IPv4 packet carries protocol {proto}, not ICMP")
        data = data[ihl:]
    if len(data) < 8:
        raise Malformed(f"ICMP: {len(data)} bytes, shorter than an ICMP header (8)")
    kind, code, _sum, ident, seq = HEADER.unpack_from(data)
    body = bytes(data[8:])
    errors = (DEST6_UNREACH, TIME6_EXCEEDED) if v6 else (DEST_UNREACH, TIME_EXCEEDED)
    if kind not in errors:
        return Message(kind, code, ident, seq, body, ttl, source)
    # an error: the bytes after the 8-byte header are the offending packet
    if v6:
        if len(body) < 40 + 8:
            raise Malformed(f"ICMPv6 error: {len(body)} bytes quoted, less than an IPv6 "
                            "header and 8 bytes (48)")
        proto, hops = body[6], body[7]
        dst = socket.inet_ntop(socket.AF_INET6, body[24:40])
        inner = body[40:48]
    else:
        ihl, hops, proto, _src, dst = _ipv4_header(body)
        inner = body[ihl:ihl + 8]
        if len(inner) < 8:
            raise Malformed(f"ICMP error: {len(inner)} bytes quoted after the IPv4 header, "
                            "not 8")
    a, b = struct.unpack_from("!HH", inner, 4 if proto in (1, 58) else 0)
    return Message(kind, code, 0, 0, body, ttl, source, proto, dst, a, b, hops)


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
        if etype == DEST6_UNREACH:
            return "Destination unreachable: " + _UNREACH6.get(code, f"Unknown code {code}")
        if etype == 2:
            return f"Packet too big: mtu={info}"
        if etype == TIME6_EXCEEDED:
            return "Time exceeded: " + ("Hop limit" if code == 0 else
                                        "Defragmentation failure" if code == 1 else
                                        f"Unknown code {code}")
        if etype == 4:
            return f"Parameter problem: code {code}"
        return f"Unknown icmp type: {etype}"
    if etype == DEST_UNREACH:
        return _UNREACH.get(code, f"Dest Unreachable, Bad Code: {code}").format(info=info)
    if etype == TIME_EXCEEDED:
        return {0: "Time to live exceeded", 1: "Frag reassembly time exceeded"}.get(
            code, f"Time exceeded, Bad Code: {code}")
    if etype == 12:
        return "Parameter problem"
    if etype == 5:
        return "Redirect"
    if etype == 4:
        return "Source Quench"
    return f"Bad ICMP type: {etype}"


# an error read from a socket's error queue (IP_RECVERR, ip(7)): struct
# sock_extended_err in the control data, then the address of the sender
EXTENDED_ERR = struct.Struct("=IBBBBII")  # errno, origin, type, code, pad, info, data
SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6 = 2, 3


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


# classic BPF (<linux/filter.h>): struct sock_filter is code, jt, jf, k
_BPF_INSN = struct.Struct("=HBBI")
_LDX_B_MSH, _LD_H_IND, _LD_B_IND, _LD_H_ABS, _LD_B_ABS = 0xB1, 0x48, 0x50, 0x28, 0x30
_JEQ_K, _RET_K = 0x15, 0x06


def echo_reply_filter(ident: int, v6: bool = False) -> bytes:
    """A socket filter program (``SO_ATTACH_FILTER``) for a raw ICMP socket that
    drops the echo replies of other pings (another identifier) and keeps the
    rest: ours, and the errors routers send. Every raw ICMP socket gets every
    reply; iputils ping attaches the same program, so that the kernel, not the
    reader, throws the others away (two floods at once overflowed each other's
    receive buffers without it). IPv4 raw sockets see the IP header first; the
    program skips it (``X = 4 * IHL``)."""
    insns = ([(_LD_H_ABS, 0, 0, 4)] if v6 else
             [(_LDX_B_MSH, 0, 0, 0), (_LD_H_IND, 0, 0, 4)])  # A = the identifier
    load_type = (_LD_B_ABS, 0, 0, 0) if v6 else (_LD_B_IND, 0, 0, 0)
    insns += [
        (_JEQ_K, 0, 1, ident),  # ours: keep it whole
        (_RET_K, 0, 0, 0xFFFFFFFF),
        load_type,  # A = the ICMP type
        (_JEQ_K, 1, 0, ECHO6_REPLY if v6 else ECHO_REPLY),
        (_RET_K, 0, 0, 0xFFFFFFFF),  # not an echo reply (an error): keep it
        (_RET_K, 0, 0, 0),  # another ping's echo reply: drop it
    ]
    return b"".join(_BPF_INSN.pack(*insn) for insn in insns)
