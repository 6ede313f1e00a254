"""The filter compiler keeps the packets tcpdump keeps, over one mixed capture.

The test makes the traffic in two namespaces joined by a veth pair (ARP and
neighbour discovery, ICMP and ICMPv6 echoes and errors, TCP and UDP over IPv4
and IPv6, ports in and out of a range), captured by tcpdump on the veth
(Ethernet) and on ``any`` (Linux cooked v1 and v2). For each expression of the
table, the packets ``tcpdump -r FILE EXPR`` prints are the ones socklab's
program, run by :func:`socklab.capture.bpf.run`, keeps.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import threading

import pytest
from capture_tools import settle
from helpers import need_tool, veth_link

from socklab.capture import bpf, pcap

pytestmark = pytest.mark.privileged

EXPRESSIONS = [
    "ip", "ip6", "arp", "tcp", "udp", "icmp", "icmp6", "not ip", "tcp or udp",
    "host 10.7.0.1", "src host 10.7.0.1", "dst host 10.7.0.2", "host fd07::2",
    "src fd07::1", "dst host fd07::1", "net 10.7.0.0/24", "net 10.0.0.0/8", "net fd07::/64",
    "src net fd07::/16", "port 20001", "tcp port 20001", "udp port 20001", "src port 20001",
    "dst port 20002", "portrange 20000-20002", "tcp portrange 20001-20003",
    "udp dst portrange 20003-20010", "ip proto 17", "ip6 proto 58", "proto 6",
    "tcp and host fd07::2", "udp and not port 20002", "icmp or arp",
    "not (tcp or udp or icmp)", "host 10.7.0.1 and (port 20001 or icmp)",
    "!icmp6 && !arp", "host 10.7.0.2 or fd07::2", "arp host 10.7.0.2", "ip host 10.7.0.2",
    "ip6 host fd07::1 and tcp", "ip and udp", "ip6 and udp port 20002", "port 20001 or 20002",
    "src 10.7.0.1 and dst 10.7.0.2 and tcp", "not port 20001 and not arp",
]


def _traffic(a, b) -> None:
    server_ready = threading.Event()

    def serve(host: str, port: int) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family) as srv:
            srv.bind((host, port))
            srv.listen()
            server_ready.set()
            srv.settimeout(30)
            conn, _ = srv.accept()
            with conn:
                conn.sendall(conn.recv(16))

    def client(host: str, port: int) -> None:
        assert server_ready.wait(30)
        server_ready.clear()
        with socket.create_connection((host, port), timeout=30) as c:
            c.sendall(b"hello")
            c.recv(16)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        for p in (20002, 20005, 20011):  # each answered by port unreachable
            with socket.socket(family, socket.SOCK_DGRAM) as u:
                u.settimeout(30)
                u.connect((host, p))
                u.send(b"abc")
                with pytest.raises(ConnectionRefusedError):
                    u.recv(16)

    for host in ("10.7.0.2", "fd07::2"):
        t = threading.Thread(target=b.run, args=(serve, host, 20001))
        t.start()
        a.run(client, host, 20001)
        t.join(30)
    a.exec("ping", "-c", "1", "10.7.0.2")
    a.exec("ping", "-c", "1", "fd07::2")


@pytest.fixture(scope="module")
def captures(tmp_path_factory):
    from conftest import make_netns

    need_tool("tcpdump", "ping")
    folder = tmp_path_factory.mktemp("bpf")
    files = {name: str(folder / f"{name}.pcap") for name in ("eth", "sll", "sll2")}
    with make_netns() as a, make_netns() as b:
        veth_link(a, "va", b, "vb", "10.7.0.1/24", "10.7.0.2/24")
        a.ip("addr", "add", "fd07::1/64", "dev", "va", "nodad")
        b.ip("addr", "add", "fd07::2/64", "dev", "vb", "nodad")
        procs: list[subprocess.Popen[bytes]] = []
        try:
            for name, args in (("eth", ["-i", "va"]),
                               ("sll", ["-i", "any", "-y", "LINUX_SLL"]),
                               ("sll2", ["-i", "any", "-y", "LINUX_SLL2"])):
                p = a.popen("tcpdump", "--immediate-mode", "-U", *args, "-w", files[name],
                            stderr=subprocess.PIPE)
                procs.append(p)
                assert p.stderr is not None
                line = p.stderr.readline().decode()
                if "data link type" in line:  # -y says so first
                    line = p.stderr.readline().decode()
                assert "listening on" in line, line
            _traffic(a, b)
            for path in files.values():
                settle(path)
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
                p.communicate(timeout=30)
    return files


def _records(path: str) -> tuple[int, list[pcap.Record]]:
    reader = pcap.Reader()
    with open(path, "rb") as f:
        records = reader.feed(f.read())
    reader.close()
    assert reader.header is not None
    return reader.header.linktype, records


@pytest.mark.parametrize("kind", ["eth", "sll", "sll2"])
def test_every_expression_keeps_what_tcpdump_keeps(captures, kind):
    linktype, records = _records(captures[kind])
    assert linktype == {"eth": 1, "sll": 113, "sll2": 276}[kind]
    assert len(records) > 20
    differences = []
    for expr in EXPRESSIONS:
        out = subprocess.run(["tcpdump", "-n", "-tt", "-r", captures[kind], expr],
                             capture_output=True, text=True, check=True).stdout
        theirs = [line.split()[0] for line in out.splitlines()]
        program = bpf.compile_filter(expr, linktype).instructions
        ours = [f"{r.timestamp:.6f}" for r in records if bpf.run(program, r.data)]
        if ours != theirs:
            differences.append((expr, len(ours), len(theirs)))
    assert differences == []
    # the table is not trivial: some expressions keep some packets, some none
    assert 0 < sum(bool(bpf.run(bpf.compile_filter("udp port 20002", linktype).instructions,
                                r.data)) for r in records) < len(records)
