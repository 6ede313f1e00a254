"""Packet decoders: known packets field by field, and only Malformed escapes.

The sample frames are built here as the kernel lays them out (a loopback
Ethernet header, RFC 791/8200 IP headers, RFC 9293 TCP with Linux's SYN
options); Hypothesis then feeds every decoder random bytes and these frames cut
short at every length, mutated and followed by trailing data.
"""

from __future__ import annotations

import contextlib
import ipaddress
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socklab.capture import decode
from socklab.errors import Malformed


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
UDP = struct.pack("!HHHH", 5353, 20002, 11, 0) + b"abc"
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


def test_tcp_syn_fields():
    p = decode.decode_packet(SAMPLES[0])
    assert p.error is None and isinstance(p.network, decode.IPv4)
    assert (str(p.network.src), str(p.network.dst), p.network.ttl) == ("10.0.0.1", "10.0.0.2", 64)
    assert p.network.dont_fragment and not p.network.more_fragments
    tcp = p.transport
    assert isinstance(tcp, decode.TCP)
    assert (tcp.src_port, tcp.dst_port, tcp.seq, tcp.window, tcp.flag_text) == (
        40000, 80, 1000, 65495, "S")
    assert tcp.options == (("mss", (1460,)), ("sackOK", ()), ("TS", (1, 0)), ("nop", ()),
                           ("wscale", (7,)))


def test_udp_echo_arp_and_unreachable():
    udp = decode.decode_packet(SAMPLES[1])
    assert isinstance(udp.transport, decode.UDP) and udp.payload_length == 3
    echo = decode.decode_packet(SAMPLES[2]).transport
    assert isinstance(echo, decode.ICMP) and (echo.type, echo.ident, echo.seq) == (8, 0x1234, 7)
    err = decode.decode_packet(SAMPLES[3]).transport
    assert isinstance(err, decode.ICMP) and (err.type, err.code) == (3, 3)
    assert err.quoted == decode.Quoted(ipaddress.ip_address("10.0.0.2"),
                                       ipaddress.ip_address("10.0.0.1"), 17, 5353, 20002)
    arp = decode.decode_packet(SAMPLES[4]).network
    assert arp == decode.ARP(1, 0x0800, 1, "02:00:00:00:00:01", "10.0.0.1",
                             "00:00:00:00:00:00", "10.0.0.2")


def test_neighbour_discovery_after_an_extension_header():
    ns = decode.decode_packet(SAMPLES[5]).transport
    assert isinstance(ns, decode.ICMPv6) and ns.type == 135
    assert ns.target == ipaddress.IPv6Address("fe80::2")
    p = decode.decode_packet(SAMPLES[6])
    assert isinstance(p.network, decode.IPv6) and p.network.extensions == (0,)
    assert p.network.protocol == 58
    assert isinstance(p.transport, decode.ICMPv6) and p.transport.type == 136
    assert p.transport.na_flags == "solicited, override"


def test_a_second_fragment_has_no_transport_header():
    p = decode.decode_packet(eth(0x0800, ipv4(6, TCP_SYN, frag=0x0002)))
    assert isinstance(p.network, decode.IPv4) and p.network.fragment_offset == 16
    assert p.transport is None and p.error is None


def test_a_cut_header_is_kept_as_far_as_read():
    p = decode.decode_packet(SAMPLES[0][:14 + 20 + 10])
    assert isinstance(p.network, decode.IPv4) and p.transport is None
    assert p.error is not None and "TCP header" in p.error


@pytest.mark.parametrize("decoder", [
    decode.decode_ethernet, decode.decode_cooked, decode.decode_cooked2, decode.decode_arp,
    decode.decode_ipv4, decode.decode_ipv6, decode.decode_tcp, decode.decode_udp,
    decode.decode_icmp, decode.decode_icmpv6])
def test_empty_input_is_malformed(decoder):
    with pytest.raises(Malformed):
        decoder(b"")


DECODERS = [decode.decode_ethernet, decode.decode_cooked, decode.decode_cooked2,
            decode.decode_arp, decode.decode_ipv4, decode.decode_ipv6, decode.decode_tcp,
            decode.decode_udp, decode.decode_icmp, decode.decode_icmpv6]


def _only_malformed(data: bytes) -> None:
    for decoder in DECODERS:
        with contextlib.suppress(Malformed):
            decoder(data)
    for linktype in (1, 101, 113, 276, 9999):
        decode.decode_packet(data, linktype)  # never raises


@given(st.binary(max_size=200))
def test_random_bytes(data):
    _only_malformed(data)


@given(st.sampled_from(SAMPLES), st.integers(0, 200), st.integers(0, 255), st.binary(max_size=8))
def test_samples_cut_mutated_and_extended(sample, at, value, tail):
    _only_malformed(sample[:at])
    if at < len(sample):
        mutated = sample[:at] + bytes([value]) + sample[at + 1:]
        _only_malformed(mutated)
        _only_malformed(mutated[14:])
    _only_malformed(sample + tail)
    _only_malformed(sample[14:] + tail)
