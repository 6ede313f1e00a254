"""The echo session with no socket: bytes and times in, replies and decisions out.

Times are made up (monotonic seconds for when to send, CLOCK_REALTIME ns for the
round trips), so every figure is exact. The messages are built here as the
kernel hands them over: a raw IPv4 socket with the IP header, a datagram socket
without it, and the error queue's control data (struct sock_extended_err).
"""

from __future__ import annotations

import math
import socket
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socklab.errors import BadInput
from socklab.probe import icmp
from socklab.probe.echo import FLOOD_WINDOW, EchoSession, PingOptions, SocketKind

IDENT = 0x1234
T0 = 1000.0  # monotonic seconds at the start
NS = 1_700_000_000_000_000_000  # a wall-clock time, in ns


def session(options: PingOptions | None = None, kind: SocketKind = "raw",
            v6: bool = False) -> EchoSession:
    return EchoSession(options or PingOptions(), host="h",
                       address="::1" if v6 else "127.0.0.1", v6=v6, kind=kind, why="test",
                       ident=IDENT, now=T0)


def ipv4(payload: bytes, src: str = "127.0.0.1", ttl: int = 64, proto: int = 1) -> bytes:
    """An IPv4 header (20 bytes, no options) before ``payload``."""
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, ttl, proto, 0,
                       socket.inet_aton(src), socket.inet_aton("127.0.0.1")) + payload


def reply(seq: int, ident: int = IDENT, size: int = 56, v6: bool = False) -> bytes:
    kind = icmp.ECHO6_REPLY if v6 else icmp.ECHO_REPLY
    return icmp.HEADER.pack(kind, 0, 0, ident, seq) + bytes(size)


def time_exceeded(seq: int, ident: int = IDENT) -> bytes:
    """A router's ICMP "time exceeded" quoting our echo request (IPv4)."""
    quoted = ipv4(icmp.build_echo(ident, seq, bytes(56)), src="127.0.0.1")[:28]
    return icmp.HEADER.pack(icmp.TIME_EXCEEDED, 0, 0, 0, 0) + quoted


def extended_err(etype: int, code: int, sender: str, info: int = 0) -> bytes:
    """struct sock_extended_err (origin ICMP) then the sender's sockaddr_in."""
    return icmp.EXTENDED_ERR.pack(113, icmp.SO_EE_ORIGIN_ICMP, etype, code, 0, info, 0) + \
        struct.pack("=HH4s8x", socket.AF_INET, 0, socket.inet_aton(sender))


def test_one_request_per_interval_then_wait_for_the_last_reply():
    s = session(PingOptions(count=2, interval=1.0, timeout=5.0))
    assert s.due(T0) == 1
    assert s.request(T0) == (1, s.build(1))
    assert s.due(T0 + 0.5) == 0 and s.wait(T0 + 0.5) == 0.5
    assert s.due(T0 + 1.0) == 1
    s.request(T0 + 1.0)
    assert not s.may_send() and s.due(T0 + 9) == 0
    assert s.wait(T0 + 2.0) == 4.0  # the last request's timeout
    assert s.wait(T0 + 6.0) is None


def test_the_round_trip_is_receive_time_minus_send_time():
    s = session()
    seq, _packet = s.request(T0)
    s.sent(seq, NS)
    got = s.receive(ipv4(reply(seq), ttl=63), NS + 250_000)
    assert [(r.seq, r.source, r.bytes, r.ttl, r.rtt_ms) for r in got] == \
        [(1, "127.0.0.1", 64, 63, 0.25)]
    result = s.result()
    assert (result.transmitted, result.received, result.loss_percent) == (1, 1, 0.0)
    assert result.rtt_min == result.rtt_max == result.rtt_avg == 0.25


def test_the_flood_path_reads_raw_ipv4_as_the_parser_does():
    fast, slow = session(), session()
    for s in (fast, slow):
        s.sent(s.request(T0)[0], NS)
    packet = ipv4(reply(1), src="10.1.2.3", ttl=60)
    buf = bytearray(packet + bytes(100))  # a receive buffer holds more than the message
    assert fast.receive_raw4(buf, len(packet), NS + 1000) == \
        slow.receive(packet, NS + 1000)
    assert fast.result() == slow.result()


def test_a_second_reply_is_a_duplicate_and_not_received_twice():
    s = session(PingOptions(count=3))
    for _ in range(2):
        s.sent(s.request(T0)[0], NS)
    s.receive(ipv4(reply(1)), NS + 1000)
    again = s.receive(ipv4(reply(1)), NS + 2000)
    assert [r.duplicate for r in again] == [True]
    buf = bytearray(ipv4(reply(1)))
    assert [r.duplicate for r in s.receive_raw4(buf, len(buf), NS + 3000)] == [True]
    result = s.result()
    assert (result.received, result.duplicates, result.loss_percent) == (1, 2, 50.0)
    assert result.rtt_avg == 0.001  # duplicates do not count in the times


def test_replies_of_other_pings_and_unreadable_bytes_are_not_ours():
    s = session()
    s.request(T0)
    other = ipv4(reply(1, ident=IDENT + 1))
    assert s.receive(other, NS) == []
    assert s.receive_raw4(bytearray(other), len(other), NS) == []
    assert s.receive(b"\x45\x00", NS) == []
    assert s.receive(ipv4(reply(1), proto=17), NS) == []  # not ICMP
    assert s.result().received == 0 and s.result().errors == 0


def test_a_datagram_socket_takes_any_identifier_the_kernel_matched():
    """The kernel rewrites the identifier of a datagram ICMP socket's echoes and
    hands it only its own replies: no IP header, the TTL from the control data."""
    s = session(kind="dgram")
    s.sent(s.request(T0)[0], NS)
    got = s.receive(reply(1, ident=999), NS + 10_000, hops=64, sender="127.0.0.1")
    assert [(r.seq, r.source, r.bytes, r.ttl, r.rtt_ms) for r in got] == \
        [(1, "127.0.0.1", 64, 64, 0.01)]


def test_ipv6_replies_have_no_ip_header():
    s = session(v6=True)
    s.sent(s.request(T0)[0], NS)
    got = s.receive(reply(1, v6=True), NS + 5000, hops=64, sender="::1")
    assert [(r.source, r.bytes, r.ttl) for r in got] == [("::1", 64, 64)]


def test_a_routers_error_is_counted_as_an_error_and_ends_a_ping_with_a_deadline():
    s = session(PingOptions(count=5, deadline=10.0))
    s.sent(s.request(T0)[0], NS)
    got = s.receive(ipv4(time_exceeded(1), src="10.0.0.1"), NS + 1000)
    assert [(r.seq, r.source, r.error, r.rtt_ms) for r in got] == \
        [(1, "10.0.0.1", "Time to live exceeded", None)]
    assert s.finished() and s.wait(T0 + 1) is None
    result = s.result()
    assert (result.errors, result.received, result.rtt_avg) == (1, 0, None)


def test_an_error_about_another_pings_echo_is_not_ours():
    s = session()
    s.request(T0)
    assert s.receive(ipv4(time_exceeded(1, ident=IDENT + 7)), NS) == []


def test_the_error_queue_names_the_router_and_the_sequence_number():
    s = session(kind="dgram")
    _seq, packet = s.request(T0)
    anc = [(socket.IPPROTO_IP, 11, extended_err(3, 4, "10.9.1.1", info=1400))]
    got = s.receive_queued(packet, anc)
    assert [(r.seq, r.source, r.error) for r in got] == \
        [(1, "10.9.1.1", "Frag needed and DF set (mtu = 1400)")]
    assert s.result().errors == 1
    local = icmp.EXTENDED_ERR.pack(90, 1, 0, 0, 0, 0, 0)  # SO_EE_ORIGIN_LOCAL
    assert s.receive_queued(packet, [(socket.IPPROTO_IP, 11, local)]) == []


def test_refused_sends_and_receives_are_recorded_not_counted_as_errors():
    s = session(PingOptions(count=2))
    s.request(T0)
    failed = s.send_failed(1, "Operation not permitted")
    lost = s.receive_failed("No buffer space available")
    assert (failed.seq, failed.local, failed.error) == (1, True, "Operation not permitted")
    assert (lost.seq, lost.local) == (0, True)
    result = s.result()
    assert (result.transmitted, result.received, result.errors) == (1, 0, 0)
    assert result.replies == (failed, lost)


def test_with_a_deadline_count_counts_replies_and_requests_go_on():
    s = session(PingOptions(count=2, interval=1.0, deadline=5.0))
    for i in range(3):
        s.sent(s.request(T0 + i)[0], NS)
    assert s.may_send() and s.due(T0 + 3) == 1
    s.receive(ipv4(reply(1)), NS)
    assert not s.finished()
    s.receive(ipv4(reply(3)), NS)
    assert s.finished() and s.due(T0 + 3) == 0
    assert s.wait(T0 + 3) is None
    assert session(PingOptions(None, deadline=5.0)).wait(T0 + 5.0) is None  # the deadline


def test_interval_zero_keeps_a_window_in_flight_and_sends_one_when_it_is_full():
    s = session(PingOptions(count=None, interval=0.0, deadline=10.0))
    assert s.due(T0) == FLOOD_WINDOW
    for _ in range(FLOOD_WINDOW):
        s.request(T0)
    assert s.in_flight() == FLOOD_WINDOW and s.due(T0) == 1
    s.receive(ipv4(reply(1)), NS)
    assert s.due(T0) == 1
    counted = session(PingOptions(count=5, interval=0.0))
    assert counted.due(T0) == 5  # never more than count


def test_statistics_as_iputils_computes_them():
    s = session(PingOptions(count=3, interval=0.5))
    for i, rtt_ns in enumerate((1_000_000, 2_000_000, 3_000_000)):
        seq = s.request(T0 + 0.5 * i)[0]
        s.sent(seq, NS)
        s.receive(ipv4(reply(seq)), NS + rtt_ns)
    r = s.result()
    assert (r.rtt_min, r.rtt_avg, r.rtt_max) == (1.0, 2.0, 3.0)
    assert math.isclose(r.rtt_mdev or 0, math.sqrt(2 / 3))
    assert r.time_ms == 1000 and r.ipg_ms == 500.0
    # ewma: the first time, then each new one weighs 1/8, in integer us (x8)
    ewma8 = 1000 * 8
    for us in (2000, 3000):
        ewma8 += us - ewma8 // 8
    assert r.ewma_ms == ewma8 / 8000
    assert session().result().transmitted == 0 and session().result().loss_percent == 0.0


@pytest.mark.parametrize("options", [
    {"count": 0}, {"interval": -1.0}, {"interval": float("nan")}, {"timeout": 0.0},
    {"timeout": float("inf")}, {"deadline": 0.0}, {"size": 65508}, {"ttl": 0},
    {"count": None}])
def test_options_out_of_iputils_bounds_are_bad_input(options):
    with pytest.raises(BadInput, match=r"^ping: "):
        PingOptions(**options).check()


@given(st.binary(max_size=200), st.booleans(), st.sampled_from(["raw", "dgram"]))
def test_hostile_bytes_become_replies_or_nothing_never_an_exception(data, v6, kind):
    s = session(kind=kind, v6=v6)
    s.sent(s.request(T0)[0], NS)
    s.receive(data, NS)
    s.receive_queued(data, [(socket.IPPROTO_IP, 11, data)])
    if kind == "raw" and not v6:
        s.receive_raw4(data, len(data), NS)
    result = s.result()
    # each reply counted once: an answer, a duplicate or an error
    assert result.received + result.duplicates + result.errors == len(result.replies)
    assert all(0 <= r.seq <= 0xFFFF for r in result.replies)
