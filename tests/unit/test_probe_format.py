"""ping's and traceroute's lines as iputils and traceroute(8) print them (pure)."""

from __future__ import annotations

from socklab.cli import cmd_ping, cmd_traceroute
from socklab.probe import icmp, ping, traceroute


def test_reply_times_have_iputils_precision():
    assert [cmd_ping._ms(x) for x in (0.0123, 0.9994, 1.0, 9.994, 9.995, 12.34, 99.94,
                                      99.95, 123.4)] == \
        ["0.012", "0.999", "1.00", "9.99", "10.0", "12.3", "99.9", "100", "123"]


def test_headers_for_each_family():
    assert cmd_ping.header("localhost", "127.0.0.1", 56) == \
        "PING localhost (127.0.0.1) 56(84) bytes of data."
    assert cmd_ping.header("::1", "::1", 56) == "PING ::1 (::1) 56 data bytes"


def result(received: int, rtt: float | None) -> ping.PingResult:
    return ping.PingResult("h", "127.0.0.1", "raw", "", 2, received, 0, 1, 50.0, 201,
                           rtt, rtt, rtt, 0.0 if rtt is not None else None, ())


def test_statistics_end_with_rtt_or_an_empty_line():
    assert cmd_ping.statistics("h", result(1, 0.05)) == (
        "\n--- h ping statistics ---\n"
        "2 packets transmitted, 1 received, +1 errors, 50% packet loss, time 201ms\n"
        "rtt min/avg/max/mdev = 0.050/0.050/0.050/0.000 ms")
    assert cmd_ping.statistics("h", result(0, None)).endswith("time 201ms\n")


def test_router_errors_in_iputils_words():
    assert icmp.error_text(False, 3, 1) == "Destination Host Unreachable"
    assert icmp.error_text(False, 3, 13) == "Packet filtered"
    assert icmp.error_text(False, 3, 4, 1400) == "Frag needed and DF set (mtu = 1400)"
    assert icmp.error_text(False, 11, 0) == "Time to live exceeded"
    assert icmp.error_text(True, 1, 0) == "Destination unreachable: No route"
    assert icmp.error_text(True, 1, 1) == "Destination unreachable: Administratively prohibited"
    assert icmp.error_text(True, 3, 0) == "Time exceeded: Hop limit"
    assert icmp.error_text(True, 2, 0, 1280) == "Packet too big: mtu=1280"


def test_traceroute_marks_and_hop_lines():
    assert [traceroute._mark(4, 3, c) for c in (0, 1, 2, 3, 9, 13, 14, 15, 99)] == \
        ["!N", "!H", "!P", None, "!X", "!X", "!V", "!C", "!<99>"]
    assert traceroute._mark(4, 3, 4, 1400) == "!F-1400"
    assert [traceroute._mark(6, 1, c) for c in (0, 1, 3, 4)] == ["!N", "!X", "!H", None]
    assert traceroute._mark(4, 11, 0) is None
    P = traceroute.Probe
    hop = traceroute.Hop(1, (P(None, None), P("10.0.0.1", 0.2, False, "!H"),
                             P("10.0.0.1", 0.03, False, "!H")))
    assert cmd_traceroute.hop_line(hop) == " 1  * 10.0.0.1  0.200 ms !H  0.030 ms !H"
    assert cmd_traceroute.hop_line(traceroute.Hop(12, (P(None, None),) * 3)) == "12  * * *"
    assert traceroute.packet_size(False) == 60 and traceroute.packet_size(True) == 80


def test_a_refused_call_is_named_as_iputils_names_it():
    sent = ping.PingReply(3, "127.0.0.1", 0, None, None, False, "Operation not permitted", True)
    read = sent._replace(seq=0, error="No buffer space available")
    assert cmd_ping.local_line(sent) == "ping: sendmsg: Operation not permitted"
    assert cmd_ping.local_line(read) == "ping: recvmsg: No buffer space available"
