"""socklab explain: the course's sequences run for real, their packets and states checked.

As root the command runs in a namespace it makes itself (its own lo); the
oracle test runs it with --host inside a namespace the test made, where
tcpdump captures the same loopback at the same time.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import xml.etree.ElementTree as ET

import pytest
from helpers import SOCKLAB, need_root, need_tool, run_cli

from socklab.capture.sequence import valid_transitions

pytestmark = pytest.mark.privileged

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def explain(*args: str) -> dict:
    need_root()
    proc = run_cli("--json", "explain", *args)
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


def index(events: list[dict], **match: str) -> int:
    """The position of the first event whose fields equal ``match``."""
    for i, e in enumerate(events):
        if all(e.get(k) == v for k, v in match.items()):
            return i
    raise AssertionError(f"no event {match} in {[e['text'] for e in events]}")


def states(events: list[dict], role: str) -> list[str]:
    return [e["label"] for e in events if e["kind"] == "state" and e["role"] == role]


def packets(events: list[dict]) -> list[str]:
    return [e["label"] for e in events if e["kind"] == "packet"]


def test_the_handshake_comes_before_accept_returns_and_states_follow_figure_5():
    result = explain("tcp")
    events = result["events"]
    assert result["packets"] == "captured"
    syn = index(events, kind="packet", label="SYN")
    syn_ack = index(events, kind="packet", label="SYN-ACK")
    ack = index(events, kind="packet", label="ACK")
    accepted = next(i for i, e in enumerate(events)
                    if e["kind"] == "return" and e["text"].startswith("accept = fd"))
    assert syn < syn_ack < ack < accepted
    assert "the accepted socket" in events[accepted]["text"]
    assert events[accepted]["role"] == "listening socket"
    # data travels with PSH, each close sends a FIN
    assert packets(events).count("PSH-ACK") == 2
    assert packets(events).count("FIN-ACK") == 2
    client, server = states(events, "client socket"), states(events, "accepted socket")
    assert valid_transitions(client) == []
    assert valid_transitions(server, start="LISTEN") == []
    assert valid_transitions(states(events, "listening socket")) == []
    assert client[:2] == ["SYN-SENT", "ESTABLISHED"] and client[-1] == "TIME-WAIT"
    assert server[:2] == ["SYN-RECV", "ESTABLISHED"]
    assert "CLOSE-WAIT" in server and "LAST-ACK" in server and server[-1] == "CLOSED"
    assert states(events, "listening socket") == ["LISTEN", "CLOSED"]
    # sock_diag agrees: what it read is in the sequence
    read = {(e["role"], e["label"]) for e in events
            if e["kind"] == "state" and e["source"] == "sock_diag"}
    assert ("listening socket", "LISTEN") in read


def test_the_server_closing_first_ends_in_time_wait():
    events = explain("tcp", "--server-closes-first")["events"]
    client, server = states(events, "client socket"), states(events, "accepted socket")
    assert valid_transitions(client) == [] and valid_transitions(server, start="LISTEN") == []
    assert server[-1] == "TIME-WAIT" and "FIN-WAIT-1" in server
    assert "CLOSE-WAIT" in client and client[-1] == "CLOSED"


def test_a_closed_port_answers_rst_and_connect_gets_econnrefused():
    events = explain("tcp", "--closed-port")["events"]
    assert packets(events) == ["SYN", "RST-ACK"]
    refused = index(events, kind="return", errno="ECONNREFUSED")
    assert events[refused]["text"].startswith("connect")
    assert index(events, kind="packet", label="RST-ACK") < refused
    assert states(events, "client socket") == ["SYN-SENT", "CLOSED"]


def test_udp_to_a_closed_port_refuses_only_the_connected_socket():
    events = explain("udp", "--closed-port")["events"]
    assert packets(events) == ["UDP", "ICMP port unreachable"] * 2
    plain = index(events, role="unconnected socket", errno="EAGAIN")
    assert events[plain]["text"].startswith("recv")
    refused = index(events, role="connected socket", errno="ECONNREFUSED")
    assert events[refused]["text"].startswith("recv")
    last_icmp = max(i for i, e in enumerate(events) if e["label"] == "ICMP port unreachable")
    assert last_icmp < refused


def test_udp_datagrams_keep_their_boundaries_both_ways():
    events = explain("udp")["events"]
    assert [(e["label"], e["direction"]) for e in events if e["kind"] == "packet"] == \
        [("UDP", "->"), ("UDP", "<-")]


def test_ping_has_a_request_and_a_reply_and_no_server_process():
    events = explain("ping")["events"]
    assert packets(events)[:2] == ["ICMP echo request", "ICMP echo reply"]
    assert not any(e["column"] == "server" and e["kind"] == "call" for e in events)


def test_unix_has_calls_and_no_packets():
    events = explain("unix")["events"]
    assert packets(events) == []
    assert index(events, kind="return", role="listening socket") >= 0
    assert any(e["column"] == "network" and "no packets" in e["text"] for e in events)


def test_the_packets_are_those_tcpdump_sees(netns):
    """Oracle: the same loopback captured by tcpdump during an --host run."""
    need_tool("tcpdump")
    dump = netns.popen("tcpdump", "-n", "-l", "--immediate-mode", "-i", "lo", "tcp",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    killer = threading.Timer(60, dump.kill)
    killer.start()
    try:
        assert dump.stderr is not None
        for _ in range(3):  # "verbose output suppressed...", then "listening on ..."
            if "listening on" in dump.stderr.readline().decode():
                break
        else:
            raise AssertionError("tcpdump did not start")
        proc = netns.exec(*SOCKLAB, "--json", "explain", "tcp", "--host")
        assert proc.returncode == 0, proc.stderr
    finally:
        dump.send_signal(signal.SIGTERM)
        out, _ = dump.communicate(timeout=30)
        killer.cancel()
    names = {"S": "SYN", "S.": "SYN-ACK", ".": "ACK", "P.": "PSH-ACK", "F.": "FIN-ACK",
             "R.": "RST-ACK"}
    seen = [names[m] for m in re.findall(r"Flags \[([^\]]+)\]", out.decode())]
    result = json.loads(proc.stdout)
    assert result["where"].startswith("this machine's loopback")
    assert packets(result["events"]) == seen
    assert len(seen) >= 10


def test_without_cap_net_raw_the_packets_column_says_why(netns):
    need_tool("setpriv")
    proc = netns.exec(*NOBODY, *SOCKLAB, "--json", "explain", "tcp", check=False)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert "CAP_NET_RAW" in result["packets"]
    events = result["events"]
    assert packets(events) == []
    assert any(e["column"] == "network" and "CAP_NET_RAW" in e["text"] for e in events)
    assert index(events, kind="return", text="connect = ok") >= 0
    # the states are still read, through sock_diag
    assert "LISTEN" in states(events, "listening socket")
    assert "ESTABLISHED" in states(events, "client socket")
    text = netns.exec(*NOBODY, *SOCKLAB, "explain", "tcp", check=False)
    assert text.returncode == 0 and "needs CAP_NET_RAW" in " ".join(text.stdout.split())


def test_svg_draws_an_arrow_per_packet(tmp_path):
    need_root()
    path = tmp_path / "tcp.svg"
    proc = run_cli("--json", "explain", "tcp", "--svg", str(path))
    assert proc.returncode == 0, proc.stderr.decode()
    events = json.loads(proc.stdout)["events"]
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask  # as open(2) would have made it
    root = ET.parse(path).getroot()
    arrows = [e for e in root.iter("{http://www.w3.org/2000/svg}line") if e.get("marker-end")]
    assert len(arrows) == len(packets(events)) >= 10


@pytest.mark.parametrize("args", [["unix", "--closed-port"], ["udp", "--server-closes-first"],
                                  ["udp", "--full-queue"], ["sctp"]])
def test_bad_input_is_one_line_and_exit_2(args):
    proc = run_cli("explain", *args)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert err.startswith("socklab: error: ") and err.count("\n") == 1, err


def test_a_full_accept_queue_drops_the_syn_until_accept_makes_room():
    events = explain("tcp", "--full-queue")["events"]
    second = [i for i, e in enumerate(events) if e["kind"] == "packet"
              and e["label"] in ("SYN", "SYN-ACK") and e["direction"] is not None]
    labels = [events[i]["label"] for i in second]
    # the first client's handshake, then the second's SYN twice (dropped, retransmitted)
    assert labels == ["SYN", "SYN-ACK", "SYN", "SYN", "SYN-ACK"]
    first_accept = index(events, kind="return", role="listening socket")
    assert second[2] < first_accept < second[3]
    connected = [i for i, e in enumerate(events)
                 if e["kind"] == "return" and e["text"] == "connect = ok"]
    assert len(connected) == 2 and connected[1] > second[4]
    for n in (1, 2):
        assert valid_transitions(states(events, f"client socket {n}")) == []
        assert valid_transitions(states(events, f"accepted socket {n}"), start="LISTEN") == []
    # the dropped SYN left the server's side untouched: SYN-RECV only with its SYN-ACK
    syn_recv = index(events, kind="state", role="accepted socket 2", label="SYN-RECV")
    assert syn_recv > second[3]
