import contextlib
import socket
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socklab.errors import Malformed
from socklab.probe import icmp


@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.binary(max_size=200))
def test_echo_round_trip_and_checksum(ident, seq, payload):
    raw = icmp.build_echo(ident, seq, payload)
    assert icmp.checksum(raw) == 0  # a correct checksum sums to zero
    msg = icmp.parse(raw)
    assert (msg.type, msg.ident, msg.seq, msg.payload) == (icmp.ECHO_REQUEST, ident, seq, payload)
    v6 = icmp.parse(icmp.build_echo(ident, seq, payload, v6=True), v6=True)
    assert (v6.type, v6.ident, v6.seq) == (icmp.ECHO6_REQUEST, ident, seq)


def test_known_checksum():
    # RFC 1071's example words
    assert icmp.checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D


def ipv4(proto, src, dst, ttl, body):
    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 0, 0, ttl, proto, 0,
                       socket.inet_aton(src), socket.inet_aton(dst))
    return head + body


@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.integers(1, 255))
def test_time_exceeded_quotes_the_echo(ident, seq, ttl):
    echo = icmp.build_echo(ident, seq, b"x" * 8)
    quoted = ipv4(1, "10.0.0.1", "10.9.9.9", 1, echo)
    err = struct.pack("!BBHI", icmp.TIME_EXCEEDED, 0, 0, 0) + quoted
    packet = ipv4(1, "10.0.0.254", "10.0.0.1", ttl, err)
    msg = icmp.parse(packet, ip_header=True)
    assert msg.is_error and msg.describe() == "Time to live exceeded"
    assert (msg.source, msg.ttl, msg.quoted_dst) == ("10.0.0.254", ttl, "10.9.9.9")
    assert (msg.quoted_ident, msg.quoted_seq) == (ident, seq)


def test_port_unreachable_quotes_udp_ports():
    udp = struct.pack("!HHHH", 33434, 33435, 8, 0)
    quoted = ipv4(17, "10.0.0.1", "10.9.9.9", 1, udp)
    msg = icmp.parse(struct.pack("!BBHI", icmp.DEST_UNREACH, 3, 0, 0) + quoted)
    assert (msg.quoted_proto, msg.quoted_ident, msg.quoted_seq) == (17, 33434, 33435)
    assert msg.describe() == "Destination Port Unreachable"


@given(st.binary(max_size=100), st.booleans(), st.booleans())
def test_only_malformed_escapes(data, v6, header):
    with contextlib.suppress(Malformed):
        icmp.parse(data, v6=v6, ip_header=header and not v6)


@pytest.mark.parametrize("argv", [["ping", "-c", "0", "127.0.0.1"], ["ping", "-c", "-3", "x"],
                                  ["ping", "-c", "1", "no-such-host.invalid"],
                                  ["ping", "-t", "0", "-c", "1", "127.0.0.1"]])
def test_bad_ping_input_exits_2(argv):
    from helpers import run_cli

    proc = run_cli(*argv)
    assert proc.returncode == 2 and proc.stderr.count(b"\n") == 1 and proc.stdout == b""


@given(st.integers(0, 0xFFFF), st.integers(0, 0x1FFFF), st.binary(max_size=200))
def test_the_incremental_echo_builder_equals_the_full_checksum(ident, seq, payload):
    build = icmp.echo_builder(ident, payload)
    assert build(seq) == icmp.build_echo(ident, seq, payload)
    assert icmp.checksum(build(seq)) == 0  # a valid ICMP message sums to zero
