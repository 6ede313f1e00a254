"""traceroute through a lab: client -- r1 -- r2 -- server, three links, every method."""

from __future__ import annotations

import json
import socket

import pytest
from helpers import SOCKLAB, veth_link

from socklab.probe import traceroute

pytestmark = pytest.mark.privileged



@pytest.fixture
def lab(netns_factory):
    client, r1, r2, server = (netns_factory() for _ in range(4))
    veth_link(client, "c0", r1, "a0", "10.9.1.2/24", "10.9.1.1/24")
    veth_link(r1, "a1", r2, "b0", "10.9.2.1/24", "10.9.2.2/24")
    veth_link(r2, "b1", server, "s0", "10.9.3.1/24", "10.9.3.2/24")
    for r in (r1, r2):
        r.exec("sysctl", "-w", "net.ipv4.ip_forward=1")
    client.ip("route", "add", "default", "via", "10.9.1.1")
    r1.ip("route", "add", "10.9.3.0/24", "via", "10.9.2.2")
    r2.ip("route", "add", "10.9.1.0/24", "via", "10.9.2.1")
    server.ip("route", "add", "default", "via", "10.9.3.1")
    client.exec("sysctl", "-w", "net.ipv4.ping_group_range=0 2147483647")
    return client, server


EXPECTED = ["10.9.1.1", "10.9.2.2", "10.9.3.2"]


@pytest.mark.parametrize("method", ["udp", "icmp", "tcp"])
def test_hops_are_the_routers_then_the_server(lab, method):
    client, server = lab
    listener = None
    if method == "tcp":
        def listen():
            s = socket.socket()
            s.bind(("10.9.3.2", 8080))
            s.listen()
            return s

        listener = server.run(listen)
    try:
        result = client.run(traceroute.traceroute, "10.9.3.2", method, 8080, probes=2,
                            wait=1.0, max_hops=8)
    finally:
        if listener is not None:
            listener.close()
    hops = [{p.address for p in h.probes} for h in result.hops]
    assert hops == [{a} for a in EXPECTED], result
    assert result.reached and result.hops[-1].reached


def test_tcp_to_a_closed_port_still_reaches(lab):
    client, _server = lab
    result = client.run(traceroute.traceroute, "10.9.3.2", "tcp", 9, probes=1, wait=1.0)
    assert [h.probes[0].address for h in result.hops] == EXPECTED and result.reached


def test_cli_json_and_silence(lab):
    client, _server = lab
    proc = client.exec(*SOCKLAB, "--json", "traceroute", "--icmp", "-q", "1", "10.9.3.2",
                       check=False)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [h["probes"][0]["address"] for h in data["hops"]] == EXPECTED
    # an address no router knows: the first router answers "net unreachable" or silence
    proc = client.exec(*SOCKLAB, "traceroute", "-q", "1", "-w", "0.3", "-m", "3", "10.99.0.1",
                       check=False)
    assert proc.returncode == 1 and "10.9.1.1" in proc.stdout
