"""Packet decoders: known packets field by field, and only Malformed escapes.

The sample frames are built here as the kernel lays them out (a loopback
Ethernet header, RFC 791/8200 IP headers, RFC 9293 TCP with Linux's SYN
options); Hypothesis then feeds every decoder random bytes and these frames cut
short at every length, mutated and followed by trailing data.
"""

from __future__ import annotations

import contextlib
import ipaddress

import pytest
from capture_samples import (
    MORE_SAMPLES,
    SAMPLES,
    TCP_SYN,
    eth,
    ipv4,
)
from hypothesis import given
from hypothesis import strategies as st

from socklab.capture import decode
from socklab.errors import Malformed


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
                                       ipaddress.ip_address("10.0.0.1"), 17, 40001, 20002)
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


@given(st.sampled_from(SAMPLES + MORE_SAMPLES), st.integers(0, 200), st.integers(0, 255),
       st.binary(max_size=8))
def test_samples_cut_mutated_and_extended(sample, at, value, tail):
    _only_malformed(sample[:at])
    if at < len(sample):
        mutated = sample[:at] + bytes([value]) + sample[at + 1:]
        _only_malformed(mutated)
        _only_malformed(mutated[14:])
    _only_malformed(sample + tail)
    _only_malformed(sample[14:] + tail)
