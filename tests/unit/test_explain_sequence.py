"""The sequence model of 'socklab explain': packet names, the RFC 9293 state
machine followed packet by packet, merging, and the drawings (pure, no I/O)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from socklab.capture.decode import TCP
from socklab.capture.sequence import (
    ACK,
    FIN,
    PSH,
    RST,
    SYN,
    Event,
    TcpTracker,
    draw,
    merge,
    states_of,
    svg,
    tcp_flags,
    valid_transitions,
)

C, S = 40000, 8080


def tcp(src: int, dst: int, flags: int, seq: int = 0, ack: int = 0, data: int = 0) -> TCP:
    return TCP(src, dst, seq, ack, flags, 65535, 0, 0, 20, (), data)


def feed(tracker: TcpTracker, packets: list[TCP]) -> list[Event]:
    out: list[Event] = []
    for i, p in enumerate(packets):
        out += tracker.feed(float(i), p)
    return out


# a connection as loopback shows it: handshake, one exchange, the client closes first
CONNECTION = [
    tcp(C, S, SYN, 100), tcp(S, C, SYN | ACK, 500, 101), tcp(C, S, ACK, 101, 501),
    tcp(C, S, PSH | ACK, 101, 501, data=6), tcp(S, C, ACK, 501, 107),
    tcp(C, S, FIN | ACK, 107, 501), tcp(S, C, ACK, 501, 108),
    tcp(S, C, FIN | ACK, 501, 108), tcp(C, S, ACK, 108, 502),
]


def test_flags_are_named_as_people_say_them():
    assert tcp_flags(SYN) == "SYN"
    assert tcp_flags(SYN | ACK) == "SYN-ACK"
    assert tcp_flags(PSH | ACK) == "PSH-ACK"
    assert tcp_flags(FIN | ACK) == "FIN-ACK"
    assert tcp_flags(RST | ACK) == "RST-ACK"


def test_a_whole_connection_walks_figure_5_on_both_sides():
    events = feed(TcpTracker(C, S), CONNECTION)
    client = states_of(events, "client socket")
    server = states_of(events, "accepted socket")
    assert client == ["SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"]
    assert server == ["SYN-RECV", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"]
    assert valid_transitions(client) == []
    assert valid_transitions(server, start="LISTEN") == []


def test_a_fin_acking_ours_goes_through_fin_wait_2_to_time_wait():
    """The server's FIN carries the ACK of ours (a delayed ACK): FIN-WAIT-1, then the
    ACK (FIN-WAIT-2) and the FIN (TIME-WAIT) of the same segment, as Linux does."""
    packets = [*CONNECTION[:6], tcp(S, C, FIN | ACK, 501, 108), tcp(C, S, ACK, 108, 502)]
    client = states_of(feed(TcpTracker(C, S), packets), "client socket")
    assert client[-3:] == ["FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"]


def test_a_reset_to_a_closed_port_ends_the_client_alone():
    events = feed(TcpTracker(C, S, server_role=None),
                  [tcp(C, S, SYN, 100), tcp(S, C, RST | ACK, 0, 101)])
    assert states_of(events, "client socket") == ["SYN-SENT", "CLOSED"]
    assert {e.column for e in events} == {"client"}


def test_transitions_outside_figure_5_are_named():
    assert valid_transitions(["ESTABLISHED"]) == [("CLOSED", "ESTABLISHED")]
    assert valid_transitions(["SYN-SENT", "TIME-WAIT"]) == [("SYN-SENT", "TIME-WAIT")]
    assert valid_transitions(["LISTEN", "CLOSED"]) == []


FLAGS = st.sampled_from([SYN, SYN | ACK, ACK, PSH | ACK, FIN | ACK, FIN, RST, RST | ACK])


@given(st.lists(st.tuples(st.booleans(), FLAGS, st.integers(0, 600), st.integers(0, 600)),
                max_size=30))
def test_any_packets_move_each_end_only_along_figure_5(packets):
    tracker = TcpTracker(C, S)
    events = feed(tracker, [tcp(C, S, f, seq, ack) if out else tcp(S, C, f, seq, ack)
                            for out, f, seq, ack in packets])
    assert valid_transitions(states_of(events, "client socket")) == []
    assert valid_transitions(states_of(events, "accepted socket"), start="LISTEN") == []


def test_merge_sorts_by_time_keeps_ties_in_order_and_drops_repeated_states():
    events = [
        Event(2.0, "client", "call", "b"),
        Event(1.0, "server", "state", "s: LISTEN", role="s", label="LISTEN"),
        Event(2.0, "client", "call", "c"),
        Event(3.0, "server", "state", "s: LISTEN", role="s", label="LISTEN",
              source="sock_diag"),
        Event(0.5, "network", "packet", "a"),
    ]
    assert [e.text for e in merge(events)] == ["a", "s: LISTEN", "b", "c"]


def test_draw_puts_each_event_in_its_column():
    events = [Event(0.0, "client", "call", "connect()"), Event(0.1, "network", "packet",
              "SYN", direction="->"), Event(0.2, "server", "state", "x: LISTEN")]
    lines = draw(events, width=100).splitlines()
    col = (100 - 4) // 3
    header = lines[0]
    assert header.index("kernel / network") == 12 + col + 2
    body = lines[2:]
    assert body[0].index("connect()") == 12
    assert body[1].index("-> SYN") == 12 + col + 2
    assert body[2].index("[x: LISTEN]") == 12 + 2 * (col + 2)


def test_svg_is_xml_with_an_arrow_per_packet():
    events = [Event(0.0, "client", "call", "connect(<fd> & co)"),
              Event(0.1, "network", "packet", "SYN", direction="->"),
              Event(0.2, "network", "packet", "SYN-ACK", direction="<-")]
    root = ET.fromstring(svg(events, "t"))
    ns = "{http://www.w3.org/2000/svg}"
    arrows = [e for e in root.iter(f"{ns}line") if e.get("marker-end")]
    assert len(arrows) == 2
    assert "connect(<fd> & co)" in [t.text for t in root.iter(f"{ns}text")]


def test_a_syn_nobody_answers_leaves_the_listener_alone():
    """A full accept queue drops the SYN: no SYN-ACK, no SYN-RECV (figure 5: rcv SYN,
    snd SYN,ACK)."""
    events = feed(TcpTracker(C, S), [tcp(C, S, SYN, 100), tcp(C, S, SYN, 100)])
    assert states_of(events, "client socket") == ["SYN-SENT"]
    assert states_of(events, "accepted socket") == []


def test_another_connection_to_the_same_port_is_not_ours():
    events = feed(TcpTracker(C, S), [tcp(C + 1, S, SYN, 100), tcp(S, C + 1, SYN | ACK, 5, 101)])
    assert events == []
