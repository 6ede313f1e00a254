"""Packets built as the kernel lays them out, for the capture tests."""

from __future__ import annotations

import ipaddress
import struct


def eth(ethertype: int, payload: bytes) -> bytes:
    return bytes(12) + struct.pack("!H", ethertype) + payload


def ipv4(proto: int, payload: bytes, src: str = "10.0.0.1", dst: str = "10.0.0.2",
         frag: int = 0x4000) -> bytes:
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 7, frag, 64, proto, 0,
                       ipaddress.IPv4Address(src).packed,
                       ipaddress.IPv4Address(dst).packed) + payload


def ipv6(nxt: int, payload: bytes, src: str = "fe80::1", dst: str = "fe80::2") -> bytes:
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), nxt, 255,
                       ipaddress.IPv6Address(src).packed,
                       ipaddress.IPv6Address(dst).packed) + payload


SYN_OPTIONS = bytes.fromhex("020405b4" "0402" "080a0000000100000000" "01" "030307")
TCP_SYN = struct.pack("!HHIIBBHHH", 40000, 80, 1000, 0, (20 + len(SYN_OPTIONS)) // 4 << 4,
                      0x02, 65495, 0, 0) + SYN_OPTIONS
UDP = struct.pack("!HHHH", 40001, 20002, 11, 0) + b"abc"
ECHO = struct.pack("!BBHHH", 8, 0, 0, 0x1234, 7) + bytes(56)
ARP_REQUEST = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, bytes.fromhex("020000000001"),
                          bytes([10, 0, 0, 1]), bytes(6), bytes([10, 0, 0, 2]))
NS = struct.pack("!BBHI16s", 135, 0, 0, 0, ipaddress.IPv6Address("fe80::2").packed)
NA = struct.pack("!BBHI16s", 136, 0, 0, 0x60000000, ipaddress.IPv6Address("fe80::2").packed)
UNREACH = struct.pack("!BBHI", 3, 3, 0, 0) + ipv4(17, UDP, "10.0.0.2", "10.0.0.1")[:28]
HOP_BY_HOP = bytes([58, 0]) + bytes(6)  # next header ICMPv6, length 0 (8 bytes)

SAMPLES = [
    eth(0x0800, ipv4(6, TCP_SYN)),
    eth(0x0800, ipv4(17, UDP)),
    eth(0x0800, ipv4(1, ECHO)),
    eth(0x0800, ipv4(1, UNREACH, "10.0.0.1", "10.0.0.2")),
    eth(0x0806, ARP_REQUEST),
    eth(0x86DD, ipv6(58, NS)),
    eth(0x86DD, ipv6(0, HOP_BY_HOP + NA)),
    eth(0x86DD, ipv6(6, TCP_SYN)),
]

# more kinds, each printed by tcpdump in tests/cli/test_sniff_cli.py
QUOTED_UDP4 = ipv4(17, UDP, "10.0.0.2", "10.0.0.1")[:28]
QUOTED_UDP6 = ipv6(17, UDP, "fe80::2", "fe80::1")[:48]
SACK_OPTIONS = bytes.fromhex("0101" "050a000003e8000007d0")  # nop,nop,sack 1 {1000:2000}
TCP_ACK_SACK = struct.pack("!HHIIBBHHH", 80, 40000, 5000, 1001,
                           (20 + len(SACK_OPTIONS) + 0) // 4 << 4, 0x10, 512, 0, 0) + SACK_OPTIONS
TCP_RST = struct.pack("!HHIIBBHHH", 80, 40001, 0, 1001, 5 << 4, 0x14, 0, 0, 0)
TCP_URG = struct.pack("!HHIIBBHHH", 40002, 40003, 7, 9, 5 << 4, 0x38, 512, 0, 3) + b"abc"
ARP_REPLY = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, bytes.fromhex("020000000002"),
                        bytes([10, 0, 0, 2]), bytes.fromhex("020000000001"),
                        bytes([10, 0, 0, 1]))
ARP_PROBE = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, bytes.fromhex("020000000001"),
                        bytes([10, 0, 0, 1]), bytes.fromhex("020000000002"),
                        bytes([10, 0, 0, 2]))


def icmp4(typ: int, code: int, rest: int = 0, body: bytes = QUOTED_UDP4) -> bytes:
    return eth(0x0800, ipv4(1, struct.pack("!BBHI", typ, code, 0, rest) + body,
                            "10.0.0.1", "10.0.0.2"))


def icmp6(typ: int, code: int, rest: int = 0, body: bytes = QUOTED_UDP6) -> bytes:
    return eth(0x86DD, ipv6(58, struct.pack("!BBHI", typ, code, 0, rest) + body))


MORE_SAMPLES = [
    icmp4(11, 0), icmp4(11, 1), icmp4(3, 0), icmp4(3, 1), icmp4(3, 2), icmp4(3, 4, 1400),
    icmp4(3, 13), icmp4(0, 0, 0x12340008, bytes(8)),
    icmp6(1, 4), icmp6(1, 0), icmp6(1, 3), icmp6(3, 0), icmp6(2, 0, 1280),
    icmp6(129, 0, 0x12340009, bytes(8)),
    eth(0x0806, ARP_REPLY), eth(0x0806, ARP_PROBE),
    eth(0x0800, ipv4(6, TCP_ACK_SACK, "10.0.0.2", "10.0.0.1")),
    eth(0x0800, ipv4(6, TCP_RST, "10.0.0.2", "10.0.0.1")),
    eth(0x0800, ipv4(6, TCP_URG)),
    eth(0x0800, ipv4(17, UDP, frag=0x0010)),
]
