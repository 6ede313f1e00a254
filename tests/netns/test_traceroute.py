"""traceroute through a lab: client -- r1 -- r2 -- server, three links, every method."""

from __future__ import annotations

import json
import re
import socket

import pytest
from helpers import SOCKLAB, need_tool, veth_link

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
        result = client.run(traceroute.traceroute, "10.9.3.2", method, 8080, probes=3,
                            wait=5.0, max_hops=8)
    finally:
        if listener is not None:
            listener.close()
    # the addresses that answered each hop: a probe lost on a loaded machine (udp and
    # icmp are not sent again) is a "*" beside them, not another address
    hops = [{p.address for p in h.probes} - {None} for h in result.hops]
    assert hops == [{a} for a in EXPECTED], result
    assert result.reached and result.hops[-1].reached


def test_tcp_to_a_closed_port_still_reaches(lab):
    """The closed port's RST reaches the trace. One probe a hop is enough: the SYN
    is sent again by TCP itself (after 1 s, then 3 s: RFC 6298) when it or its
    answer is lost, which a loaded machine does (every namespace's packets share
    the per-CPU backlog, net.core.netdev_max_backlog); the wait leaves room for that."""
    client, _server = lab
    result = client.run(traceroute.traceroute, "10.9.3.2", "tcp", 9, probes=1, wait=5.0)
    assert [h.probes[0].address for h in result.hops] == EXPECTED and result.reached


def test_cli_json_and_silence(lab):
    client, _server = lab
    # 3 probes a hop, 5 s each at most: one lost on a loaded machine is a "*" beside
    # the others (see test_hops_are_the_routers_then_the_server)
    proc = client.exec(*SOCKLAB, "--json", "traceroute", "--icmp", "-q", "3", "-w", "5",
                       "10.9.3.2", check=False)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [{p["address"] for p in h["probes"]} - {None} for h in data["hops"]] == \
        [{a} for a in EXPECTED]
    # an address no router knows: the first router answers "net unreachable"
    proc = client.exec(*SOCKLAB, "traceroute", "-q", "3", "-w", "5", "-m", "3", "10.99.0.1",
                       check=False)
    assert proc.returncode == 1 and "10.9.1.1" in proc.stdout, proc.stdout


# -- against the real traceroute -n ---------------------------------------------------

HEADER = re.compile(r"^traceroute to (\S+) \((\S+)\), (\d+) hops max, (\d+) byte packets$")
PROBE = re.compile(r"\*|(?:(?P<addr>[0-9a-f.:]+)\s+)?(?P<ms>[\d.]+) ms(?: (?P<mark>![A-Z<>\d-]+))?",
                   re.I)


def parse_traceroute(text: str) -> tuple[tuple[str, ...], list[tuple[int, list]]]:
    """traceroute -n's output, as traceroute.c prints it (print_header, print_probe):
    the header's fields, then per hop its TTL and per probe (address, mark), the
    address carried over from the previous answer when not repeated; times dropped."""
    lines = text.splitlines()
    head = HEADER.match(lines[0])
    assert head, lines[0]
    hops = []
    for line in lines[1:]:
        m = re.match(r"^([ \d]\d) (.*)$", line)
        assert m, line
        probes, last = [], None
        for p in PROBE.finditer(m.group(2)):
            if p.group(0) == "*":
                probes.append((None, None))
                continue
            last = p.group("addr") or last
            probes.append((last, p.group("mark")))
        hops.append((int(m.group(1)), probes))
    return head.groups(), hops


@pytest.fixture
def rejecting(netns_factory):
    """client -- router; the router's routes to 10.50/16 and fd00:50::/32 are
    'unreachable', to 10.51/16 and fd00:51::/32 'prohibit'; the client's routes to
    10.61/16 and 10.62/16 go through neighbours that never answer (one ARP probe)."""
    client, router = netns_factory(), netns_factory()
    veth_link(client, "c0", router, "r0", "10.9.1.2/24", "10.9.1.1/24")
    client.ip("-6", "addr", "add", "fd00:9:1::2/64", "dev", "c0", "nodad")
    router.ip("-6", "addr", "add", "fd00:9:1::1/64", "dev", "r0", "nodad")
    client.ip("route", "add", "default", "via", "10.9.1.1")
    client.ip("-6", "route", "add", "default", "via", "fd00:9:1::1")
    # ICMP errors are rate-limited per peer: none of that here (these namespaces only)
    router.exec("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1",
                "net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0")
    for kind, v4, v6 in (("unreachable", "10.50.0.0/16", "fd00:50::/32"),
                         ("prohibit", "10.51.0.0/16", "fd00:51::/32")):
        router.ip("route", "add", kind, v4)
        router.ip("-6", "route", "add", kind, v6)
    client.exec("sysctl", "-qw", "net.ipv4.neigh.c0.mcast_solicit=1",
                "net.ipv4.neigh.c0.ucast_solicit=0", "net.ipv4.neigh.c0.app_solicit=0",
                "net.ipv4.neigh.c0.retrans_time_ms=50")
    client.ip("route", "add", "10.61.0.0/16", "via", "10.9.1.8")
    client.ip("route", "add", "10.62.0.0/16", "via", "10.9.1.7")
    client.exec("sysctl", "-w", "net.ipv4.ping_group_range=0 2147483647")
    return client


def both(ns, socklab_target, real_target, *flags):
    need_tool("traceroute")
    ours = ns.exec(*SOCKLAB, "traceroute", *flags, socklab_target, check=False)
    real = ns.exec("traceroute", "-n", *flags, real_target, check=False)
    assert "internal error" not in ours.stderr and ours.stderr == "", ours.stderr
    assert real.returncode == 0, real.stderr
    return parse_traceroute(ours.stdout), parse_traceroute(real.stdout)


@pytest.mark.parametrize(("target", "mark"), [("10.50.0.1", "!H"), ("10.51.0.1", "!X"),
                                              ("fd00:50::1", "!N"), ("fd00:51::1", "!X")])
def test_a_router_that_says_unreachable_is_marked_as_traceroute_does(rejecting, target, mark):
    """The default UDP method once crashed here (sendto: No route to host): each
    probe now has its own socket, and the router's answer is the hop's mark."""
    ours, real = both(rejecting, target, target, "-q", "1", "-w", "1", "-m", "3")
    assert ours == real
    assert ours[1] == [(1, [("fd00:9:1::1" if ":" in target else "10.9.1.1", mark)])]
    assert ours[0][3] == ("80" if ":" in target else "60")


def test_every_probe_of_a_hop_is_marked(rejecting):
    proc = rejecting.exec(*SOCKLAB, "traceroute", "-w", "1", "fd00:51::1", check=False)
    _head, hops = parse_traceroute(proc.stdout)
    assert proc.returncode == 1 and hops == [(1, [("fd00:9:1::1", "!X")] * 3)]


@pytest.mark.parametrize("method", [[], ["--icmp"], ["--tcp", "80"]])
def test_a_neighbour_that_never_answers_is_our_own_host_unreachable(rejecting, method):
    """No ARP answer: this host itself reports 'host unreachable' (!H from its own
    address), as traceroute shows it; its own probes are sent to 10.61/16."""
    ours, real = both(rejecting, "10.62.0.1", "10.61.0.1", "-q", "1", "-w", "1", "-m", "3")
    assert ours[1] == real[1] == [(1, [("10.9.1.2", "!H")])]
    proc = rejecting.exec(*SOCKLAB, "traceroute", *method, "-q", "1", "-w", "1", "-m", "3",
                          "10.62.0.2", check=False)
    assert parse_traceroute(proc.stdout)[1] == [(1, [("10.9.1.2", "!H")])], proc.stdout


@pytest.mark.parametrize("method", [[], ["--icmp"], ["--tcp", "80"]])
def test_no_route_here_is_one_error_line_as_traceroute_says_connect(netns, method):
    netns.ip("route", "add", "unreachable", "10.50.0.0/16")
    netns.ip("route", "add", "prohibit", "10.51.0.0/16")
    for target, reason in (("10.50.0.1", "No route to host"), ("10.51.0.1", "Permission denied"),
                           ("10.53.0.1", "Network is unreachable")):
        proc = netns.exec(*SOCKLAB, "traceroute", *method, target, check=False)
        assert proc.returncode == 1
        assert proc.stderr == f"socklab: error: traceroute to {target}: connect: {reason}\n"
        assert HEADER.match(proc.stdout.splitlines()[0])


def test_header_and_hops_match_traceroute_n(lab):
    client, _server = lab
    ours, real = both(client, "10.9.3.2", "10.9.3.2", "-q", "2", "-w", "1")
    assert ours == real
    assert ours[0] == ("10.9.3.2", "10.9.3.2", "30", "60")
    assert [h[1][0][0] for h in ours[1]] == EXPECTED


def test_each_hop_is_printed_as_soon_as_it_is_done(lab):
    """The routers answer, the server ignores echoes: the first hops' lines must be
    on stdout while the trace still waits at the silent hops after them."""
    import subprocess

    client, server = lab
    server.exec("sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1")
    proc = client.popen(*SOCKLAB, "traceroute", "--icmp", "-q", "1", "-w", "1", "-m", "30",
                        "10.9.3.2", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert HEADER.match(proc.stdout.readline().rstrip("\n"))
        first = proc.stdout.readline()
        assert first.startswith(" 1  10.9.1.1  "), first
        assert proc.poll() is None  # 28 silent hops of 1 s to go: the line came first
    finally:
        proc.kill()
        proc.communicate()


def test_the_library_calls_back_each_hop(lab):
    client, _server = lab
    seen: list = []
    result = client.run(traceroute.traceroute, "10.9.3.2", "icmp", probes=1,
                        on_start=seen.append, on_hop=seen.append)
    assert seen == ["10.9.3.2", *result.hops]
