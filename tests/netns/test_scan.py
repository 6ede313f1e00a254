"""TCP connect scan in a namespace: listeners, a dropped port, nmap as the oracle."""

from __future__ import annotations

import json
import re
import socket

import pytest
from helpers import SOCKLAB, need_tool

from socklab.probe import scan

pytestmark = pytest.mark.privileged


@pytest.fixture
def target(netns):
    """A namespace host 10.77.0.2 with listeners on known ports; port 2222 dropped by nft."""
    need_tool("nft")
    netns.ip("addr", "add", "10.77.0.2/32", "dev", "lo")

    def listen(port):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("10.77.0.2", port))
        s.listen()
        return s

    open_ports = [22, 80, 8080, 31337]
    socks = [netns.run(listen, p) for p in [*open_ports, 2222]]
    netns.exec("nft", "add table inet t")
    netns.exec("nft", "add chain inet t in { type filter hook input priority 0 ; }")
    netns.exec("nft", "add rule inet t in tcp dport 2222 drop")
    netns.exec("nft", "add rule inet t in tcp dport 2223 reject with icmpx type admin-prohibited")
    yield netns, set(open_ports)
    for s in socks:
        s.close()


def test_open_closed_filtered(target):
    ns, open_ports = target
    ports = sorted(open_ports | {2222, 23, 443, 9999})
    results = ns.run(scan.scan, ["10.77.0.2"], ports, timeout=0.5)
    states = {r.port: r.state for r in results}
    assert {p for p, s in states.items() if s == "open"} == open_ports
    assert states[2222] == "filtered"
    assert {p for p, s in states.items() if s == "closed"} == {23, 443, 9999}


def test_a_refused_socket_serves_the_next_port(target):
    """A refused connect leaves its socket unconnected, and the scanner connects it
    again to the next port: one socket for a run of closed ports (--trace shows
    it), and open, filtered and closed ports mixed in any order still judged right."""
    ns, open_ports = target
    order = [23, 22, 443, 2222, 80, 9999, 8080, 24, 31337, 25]
    results = ns.run(scan.scan, ["10.77.0.2"], order, timeout=0.5, concurrency=1, workers=1)
    states = {r.port: r.state for r in results}
    assert {p for p, st in states.items() if st == "open"} == open_ports
    assert states[2222] == "filtered"
    assert {p for p, st in states.items() if st == "closed"} == {23, 443, 9999, 24, 25}
    proc = ns.exec(*SOCKLAB, "--trace", "scan", "10.77.0.2", "-p", "100-199", check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("socket(") == 1
    assert proc.stderr.count("ECONNREFUSED") == 100


def test_an_icmp_refusal_is_filtered_and_the_next_port_gets_a_new_socket(target):
    """A port rejected with ICMP admin-prohibited answers the second connect with
    an error that is not a refusal: filtered, with the reason, and that socket
    is not reused."""
    ns, _open_ports = target
    results = ns.run(scan.scan, ["10.77.0.2"], [2223, 23, 22], timeout=0.5, concurrency=1,
                     workers=1)
    got = {r.port: (r.state, r.reason) for r in results}
    assert got[2223][0] == "filtered" and got[2223][1] not in ("no-response", "conn-refused")
    assert got[23] == ("closed", "conn-refused") and got[22] == ("open", "syn-ack")


def test_an_answer_that_comes_late_is_read_from_epoll(netns):
    """A listener whose accept queue is full drops the SYN: the second connect
    says EALREADY and the socket waits in epoll; once the queue has room, the
    retransmitted SYN (after ~1 s) is answered and the port is open."""
    import threading

    def setup():
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(0)  # room for one connection, taken at once
        first = socket.create_connection(srv.getsockname())
        return srv, first

    srv, first = netns.run(setup)
    port = srv.getsockname()[1]
    drained = threading.Timer(0.3, lambda: srv.accept()[0].close())
    drained.start()
    try:
        (result,) = netns.run(scan.scan, ["127.0.0.1"], [port], timeout=5, workers=1)
    finally:
        drained.join()
        first.close()
        srv.close()
    assert (result.state, result.reason) == ("open", "syn-ack")


def test_open_set_equals_nmap(target):
    need_tool("nmap")
    ns, open_ports = target
    proc = ns.exec(*SOCKLAB, "--json", "scan", "10.77.0.2", "-p", "1-10000,31337",
                   "--timeout", "0.5", check=False)
    assert proc.returncode == 0, proc.stderr
    ours = {r["port"] for r in json.loads(proc.stdout) if r["state"] == "open"}
    out = ns.exec("nmap", "-sT", "-n", "-Pn", "-T5", "-p", "1-10000,31337", "-oG", "-",
                  "10.77.0.2").stdout
    theirs = {int(m) for m in re.findall(r"(\d+)/open/tcp", out)}
    assert ours == theirs == open_ports


def test_loopback_self_connect_is_not_open(netns):
    """Scanning the ephemeral range of 127.0.0.1 with nothing listening finds nothing open,
    although some connects land on themselves (same local and remote port)."""
    lo, hi = (int(x) for x in netns.exec("sysctl", "-n",
                                         "net.ipv4.ip_local_port_range").stdout.split())
    results = netns.run(scan.scan, ["127.0.0.1"], list(range(lo, min(lo + 3000, hi))),
                        timeout=0.5)
    assert [r for r in results if r.state == "open"] == []


@pytest.mark.parametrize("bad", ["0", "70000", "5-1", "x-y", "nosuchservice", "1,,2"])
def test_bad_port_lists(bad):
    from socklab.errors import BadInput

    with pytest.raises(BadInput):
        scan.parse_ports(bad, {"http": 80})


def test_port_lists_and_targets():
    assert scan.parse_ports("22,80,8000-8002", {}) == [22, 80, 8000, 8001, 8002]
    assert scan.parse_ports("http", {"http": 80}) == [80]
    assert len(scan.parse_ports("-", {})) == 65535
    assert len(scan.parse_ports(None)) == 1000
    assert scan.parse_targets(["10.0.0.0/30"]) == ["10.0.0.1", "10.0.0.2"]
    from socklab.errors import BadInput

    with pytest.raises(BadInput):
        scan.parse_targets(["10.0.0.0/8"])


def test_worker_processes_give_the_same_answer():
    """A scan split over processes equals the single-process one (loopback, no root)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    port = s.getsockname()[1]
    try:
        ports = sorted({*range(1, 3000), port})
        one = scan.scan(["127.0.0.1"], ports, timeout=0.5, workers=1)
        two = scan.scan(["127.0.0.1"], ports, timeout=0.5, workers=2)
    finally:
        s.close()
    assert [(r.port, r.state) for r in one] == [(r.port, r.state) for r in two]
    assert (port, "open") in [(r.port, r.state) for r in two]


def test_too_few_descriptors_for_the_connects_in_flight_is_one_line_exit_1(target):
    """Dropped ports keep their sockets open until the timeout: 1,000 in flight
    under a limit of 64 descriptors run out (EMFILE). One line naming the way
    out, exit 1; the same when the scan is split over worker processes (7,000
    ports)."""
    ns, _open_ports = target
    ns.exec("nft", "add rule inet t in tcp dport 3000-9999 drop")
    for workers in ("", "-p 3000-9999"):
        ports = ["-p", "3000-3999"] if not workers else workers.split()
        proc = ns.exec("sh", "-c", 'ulimit -n 64; exec "$@"', "sh", *SOCKLAB, "scan",
                       "10.77.0.2", *ports, "--timeout", "2", check=False)
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.startswith("socklab: error: ") and proc.stderr.count("\n") == 1
        assert "Too many open files" in proc.stderr and "ulimit -n" in proc.stderr


@pytest.mark.parametrize(("code", "self_connect", "verdict"), [
    (0, False, ("open", "syn-ack")),
    (0, True, ("closed", "self-connect")),
    (111, False, ("closed", "conn-refused")),  # ECONNREFUSED
    (113, False, ("filtered", "hostunreach")),  # EHOSTUNREACH
    (101, False, ("filtered", "netunreach")),  # ENETUNREACH
    (13, False, ("filtered", "acces")),  # EACCES
    (110, False, ("filtered", "no-response")),  # ETIMEDOUT
    (71, False, ("filtered", "EPROTO")),
])
def test_a_connects_result_as_nmap_names_it(code, self_connect, verdict):
    assert scan.judge(code, self_connect) == verdict
