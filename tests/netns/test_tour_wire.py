"""The tour's TCP and UDP sections show what the kernel did under the calls: the
packets (as root: SYN, SYN-ACK, ACK, the data, the FIN exchange; the datagrams and
the ICMP port unreachable) and the sockets' states (sock_diag, with or without
privilege), and the byte counts of the course's figure 3."""

import json

import pytest
from helpers import SOCKLAB, need_root, need_tool, run_cli

from socklab.capture.sequence import valid_transitions

pytestmark = pytest.mark.privileged


def _section(stdout, name):
    (section,) = [s for s in json.loads(stdout) if s["name"] == name]
    assert section["status"] == "ok", section["reason"]
    return section


def _figure(section, name):
    return next(s["data"] for s in section["steps"]
                if s["kind"] == "figure" and s["figure"] == name)


def _states(section):
    return [s["value"] for s in section["steps"]
            if s["kind"] == "fact" and s["label"] == "states (sock_diag)"]


def test_tcp_as_root_packets_and_states_beside_the_calls():
    need_root()
    proc = run_cli("--json", "tour", "tcp")
    assert proc.returncode == 0, proc.stderr
    tcp = _section(proc.stdout, "tcp")
    seq = _figure(tcp, "sequence")
    assert seq["packets"] is None  # captured
    events = seq["events"]
    order = [e["label"] if e["kind"] == "packet" else e["text"].split("(")[0]
             for e in events if e["kind"] in ("packet", "call")]
    # the handshake is done before connect() returns, and before accept()
    assert order.index("SYN") < order.index("SYN-ACK") < order.index("ACK") \
        < order.index("connect") < order.index("accept")
    assert order.count("FIN-ACK") == 2  # one FIN each way
    data = [e["text"] for e in events if e["kind"] == "packet" and "bytes" in e["text"]]
    assert [d.split()[1] for d in data] == ["7", "9", "16"]  # two writes, one answer
    by_role = {}
    for e in events:
        if e["kind"] == "state":
            by_role.setdefault(e["role"], []).append(e["label"])
    assert by_role["client"][:2] == ["SYN-SENT", "ESTABLISHED"]
    assert by_role["client"][-1] == "TIME-WAIT"  # the client closed first
    assert by_role["accepted"][-2:] == ["LAST-ACK", "CLOSED"]
    assert not valid_transitions(by_role["client"])
    assert not valid_transitions(by_role["accepted"], start="LISTEN")
    # the packets' lanes name the tour's roles
    lanes = {(p["from"], p["to"]) for p in seq["packet_lanes"]}
    assert lanes == {("client", "accepted"), ("accepted", "client")}
    buffers = _figure(tcp, "buffers")
    assert buffers == {"mode": "stream", "writes": [7, 9], "queued": 16, "unacked": 0,
                       "reads": [16], "answer": 16}


def test_udp_as_root_datagrams_and_icmp_port_unreachable():
    need_root()
    proc = run_cli("--json", "tour", "udp", "--lang", "fr")
    assert proc.returncode == 0, proc.stderr
    udp = _section(proc.stdout, "udp")
    seq = _figure(udp, "sequence")
    labels = [e["label"] for e in seq["events"] if e["kind"] == "packet"]
    assert labels == ["UDP", "UDP", "UDP", "ICMP port unreachable", "UDP", "UDP"]
    icmp = next(p for p in seq["packet_lanes"] if p["to"] == "émetteur b")
    assert icmp["from"] == "récepteur"
    said = " ".join(s["text"] for s in udp["steps"] if s["kind"] == "say")
    assert "ICMP port unreachable" in said
    buffers = _figure(udp, "buffers")
    assert buffers["reads"] == buffers["writes"] == [5, 6] and buffers["queued"] == 5


def test_tcp_and_udp_as_nobody_states_alone_saying_why(netns):
    need_tool("setpriv")
    proc = netns.exec("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                      *SOCKLAB, "--json", "tour", "tcp", "udp", check=False, cwd="/tmp")
    assert proc.returncode == 0, proc.stderr
    tcp = _section(proc.stdout, "tcp")
    seq = _figure(tcp, "sequence")
    assert "CAP_NET_RAW" in seq["packets"]
    assert not [e for e in seq["events"] if e["kind"] == "packet"]
    assert _states(tcp)[:2] == ["listening LISTEN", "client ESTABLISHED, accepted ESTABLISHED"]
    assert "client TIME-WAIT, accepted CLOSED" in _states(tcp)
    udp = _section(proc.stdout, "udp")
    assert any("receiver ESTAB" in s for s in _states(udp))  # pseudo-connected, as ss says
    assert "CAP_NET_RAW" in _figure(udp, "sequence")["packets"]
