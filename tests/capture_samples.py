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
