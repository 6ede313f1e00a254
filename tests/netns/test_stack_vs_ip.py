"""The stack readers against `ip -j` in a namespace built with the ip command."""

from __future__ import annotations

import ipaddress
import json
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socklab.errors import NotFound
from socklab.stack import lookup, read, sysctl

pytestmark = pytest.mark.privileged

SETUP = [
    # this kernel has no dummy driver: a veth pair stands in (d0, its peer d1)
    "link add dummy0 type veth peer name d1", "link set d1 up", "link set dummy0 up mtu 1400",
    "addr add 10.1.0.1/24 dev dummy0",
    "addr add 10.1.1.1/24 brd + dev dummy0 label dummy0:1",
    "addr add 2001:db8:1::1/64 dev dummy0 nodad",
    "link add v0 type veth peer name v1", "link add br0 type bridge",
    "link set v1 master br0", "link set v0 up", "link set v1 up", "link set br0 up",
    "addr add 10.2.0.1/24 dev br0",
    "route add 10.50.0.0/16 via 10.1.0.254 dev dummy0 metric 10",
    "route add 10.50.0.0/16 via 10.1.1.254 dev dummy0 metric 5",
    "route add 10.50.7.0/24 via 10.2.0.254",
    "route add blackhole 10.66.0.0/16",
    "route add unreachable 10.67.0.0/16",
    "route add prohibit 10.68.0.0/16",
    "route add 2001:db8:99::/48 via 2001:db8:1::fe dev dummy0",
    "route add default via 10.1.0.254",
    "route add 10.90.0.0/16 via 10.2.0.9 table 100",
    "route add 10.91.0.0/16 dev br0 table 200 metric 7",
    "rule add to 10.90.0.0/16 lookup 100 pref 1000",
    "rule add from all to 10.91.0.0/16 lookup 200 pref 1100",
    "rule add fwmark 0x7 lookup 200 pref 1200",
    "neigh add 10.1.0.2 lladdr 02:00:00:00:00:02 dev dummy0 nud permanent",
    "neigh add 2001:db8:1::2 lladdr 02:00:00:00:00:03 dev dummy0 nud permanent",
    "neigh add 10.2.0.254 lladdr 02:00:00:00:00:04 dev br0 nud reachable",
]


@pytest.fixture(scope="module")
def lab():
    from conftest import make_netns

    with make_netns("stack") as ns:
        for cmd in SETUP:
            ns.ip(*cmd.split())
        yield ns


def ip_json(ns, *args):
    return json.loads(ns.ip("-j", *args) or "[]")


def test_links_equal_ip(lab):
    ours = {link.name: link for link in read.links(netns=lab.name)}
    theirs = ip_json(lab, "-d", "-s", "link")
    assert set(ours) == {t["ifname"] for t in theirs}
    for t in theirs:
        o = ours[t["ifname"]]
        assert o.ifindex == t["ifindex"]
        assert set(o.flags) == set(t["flags"])
        assert (o.mtu, o.operstate, o.qdisc) == (t["mtu"], t["operstate"], t.get("qdisc"))
        assert o.address == t.get("address")
        kind = t.get("linkinfo", {}).get("info_kind", t["link_type"])
        assert o.kind == kind
        master = t.get("master")
        assert (o.master is not None) == (master is not None)
        if master:
            assert ours[master].ifindex == o.master
        # counters only grow, and IPv6 neighbour discovery may send a packet between
        # our read (first) and ip's: ours <= theirs, and close
        assert 0 <= t["stats64"]["rx"]["bytes"] - o.stats.rx_bytes < 4096
        assert 0 <= t["stats64"]["tx"]["packets"] - o.stats.tx_packets < 16
    # the veth pair: each names the other's index
    assert ours["v0"].link == ours["v1"].ifindex and ours["v1"].link == ours["v0"].ifindex
    assert ours["v1"].master == ours["br0"].ifindex


def test_addresses_equal_ip(lab):
    ours = {(a.ifname, a.local) for a in read.addresses(netns=lab.name)}
    theirs = set()
    for t in ip_json(lab, "addr"):
        for a in t["addr_info"]:
            theirs.add((t["ifname"], a["local"]))
    assert ours == theirs
    by = {(a.ifname, a.local): a for a in read.addresses(netns=lab.name)}
    for t in ip_json(lab, "addr"):
        for a in t["addr_info"]:
            o = by[(t["ifname"], a["local"])]
            assert (o.family, o.prefixlen, o.scope) == (a["family"], a["prefixlen"], a["scope"])
            assert o.label == a.get("label") and o.broadcast == a.get("broadcast")
            assert ("nodad" in o.flags) == bool(a.get("nodad"))
    assert by[("dummy0", "10.1.1.1")].label == "dummy0:1"


def _route_key(family, table, rtype, dst, gateway, dev, metric):
    return (family, table, rtype, dst, gateway, dev, metric)


def test_routes_equal_ip(lab):
    ours = {_route_key(r.family, r.table, r.type, r.dst, r.gateway, r.dev, r.metric)
            for r in read.routes(netns=lab.name)}
    theirs = set()
    for fam, flag in (("inet", "-4"), ("inet6", "-6")):
        for t in ip_json(lab, flag, "route", "show", "table", "all"):
            theirs.add(_route_key(fam, t.get("table", "main"), t.get("type", "unicast"),
                                  t["dst"], t.get("gateway"), t.get("dev"), t.get("metric", 0)))
    assert ours == theirs
    tables = {r.table for r in read.routes(netns=lab.name)}
    assert {"main", "local", "100", "200"} <= tables


def test_rules_equal_ip(lab):
    ours = [(r.priority, r.src, r.dst, r.table, r.fwmark) for r in
            read.rules("inet", netns=lab.name)]
    theirs = [(t["priority"], t["src"], t.get("dst", "all").split("/")[0], t.get("table"),
               int(t["fwmark"], 16) if "fwmark" in t else None) for t in ip_json(lab, "rule")]
    # ip -j writes the rule's prefix as "dst" plus "dstlen"; compare the address part
    assert [(p, s, d.split("/")[0], tb, fm) for p, s, d, tb, fm in ours] == theirs


def test_neighbours_equal_ip(lab):
    ours = {(n.dst, n.dev, n.lladdr, n.state) for n in read.neighbours(netns=lab.name)}
    theirs = {(t["dst"], t["dev"], t.get("lladdr"), tuple(t["state"]))
              for t in ip_json(lab, "neigh")}
    assert ours == theirs
    assert ("10.1.0.2", "dummy0", "02:00:00:00:00:02", ("PERMANENT",)) in ours


@pytest.fixture(scope="module")
def tables(lab):
    return read.rules(netns=lab.name), list(read.routes(netns=lab.name))


PREFIXES = ["10.1.0.0/24", "10.1.1.0/24", "10.2.0.0/24", "10.50.0.0/16", "10.50.7.0/24",
            "10.66.0.0/16", "10.67.0.0/16", "10.68.0.0/16", "10.90.0.0/16", "10.91.0.0/16",
            "198.51.100.0/24", "127.0.0.0/8", "0.0.0.0/0"]


@st.composite
def destinations(draw):
    net = ipaddress.ip_network(draw(st.sampled_from(PREFIXES)))
    offset = draw(st.integers(0, net.num_addresses - 1))
    return str(net.network_address + offset)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(destinations())
def test_lookup_picks_the_kernels_route(lab, tables, dst):
    rules, routes = tables
    ex = lookup.lookup(dst, rules, routes)
    proc = subprocess.run(["ip", "-n", lab.name, "-j", "route", "get", "fibmatch", dst],
                          capture_output=True, text=True)
    if proc.returncode != 0:  # unreachable, prohibit, blackhole; 0.0.0.0 needs no lookup
        assert ex.error is not None or ex.special == "local", (dst, proc.stderr, ex)
        return
    (t,) = json.loads(proc.stdout)
    assert ex.winner is not None, (dst, t)
    kernel_dst = t["dst"] if t["dst"] != "default" else "0.0.0.0/0"
    if "/" not in kernel_dst:
        kernel_dst += "/32"
    assert ex.winner.prefix == kernel_dst, (dst, ex, t)
    assert ex.winner.gateway == t.get("gateway") and ex.winner.dev == t.get("dev"), (dst, t)
    assert ex.type == t.get("type", "unicast")


def test_explain_route_agrees_and_explains(lab):
    ex = read.explain_route("10.50.3.3", netns=lab.name)
    assert ex.agrees and ex.table == "main"
    assert [c.metric for c in ex.candidates[:2]] == [5, 10]  # same /16: lowest metric first
    assert ex.winner.gateway == "10.1.1.254" and "lower metric" in ex.why
    assert ex.source == ex.kernel.prefsrc
    ex = read.explain_route("10.90.1.1", netns=lab.name)
    assert ex.agrees and ex.table == "100"
    ex = read.explain_route("10.66.0.1", netns=lab.name)
    assert ex.error and ex.kernel.error and ex.agrees


def test_sysctl_equals_sysctl_n(lab):
    ours = {s.key: " ".join(s.text.split()) for s in
            lab.run(sysctl.read, "net.ipv4", "net.core")}
    out = lab.exec("sysctl", "-e", "-a", "-r", r"^net\.(ipv4|core)\.").stdout
    theirs = {}
    for line in out.splitlines():
        key, _, value = line.partition(" = ")
        theirs[key] = " ".join(value.split())
    assert set(ours) == set(theirs)
    volatile = {"net.ipv4.tcp_mem", "net.ipv4.udp_mem"}
    diff = {k for k in ours if ours[k] != theirs[k] and k not in volatile}
    assert not diff, {k: (ours[k], theirs[k]) for k in sorted(diff)[:5]}


def test_sysctl_write_in_namespace(lab):
    lab.run(sysctl.write, "net.ipv4.ip_forward", "1")
    assert lab.exec("sysctl", "-n", "net.ipv4.ip_forward").stdout.strip() == "1"
    (s,) = lab.run(sysctl.read, "net/ipv4/ip_forward")
    assert s.value == 1


def test_proc_source_agrees_with_netlink_where_it_can_say(lab):
    """The fallback for sandboxes without rtnetlink: /proc/net/route (IPv4 main table),
    ipv6_route (every table) and arp give the same routes and ARP entries, minus
    what those files do not carry (protocol; blackhole, prohibit as unreachable)."""
    def key(r):
        kind = "unreachable" if r.type in ("prohibit", "unreachable") else r.type
        return (r.family, r.dst, r.gateway, r.dev, r.metric, kind)

    netlink = list(read.routes(netns=lab.name, source="netlink"))
    proc = list(read.routes(netns=lab.name, source="proc"))
    v4 = {key(r) for r in netlink if r.family == "inet" and r.table == "main"
          and r.type != "blackhole"}
    assert v4 == {key(r) for r in proc if r.family == "inet" and r.dst != "10.66.0.0/16"}
    v6 = {key(r) for r in netlink if r.family == "inet6" and r.table == "main"}
    assert v6 == {key(r) for r in proc if r.family == "inet6" and r.table == "main"}
    arp = {(n.dst, n.dev, n.lladdr) for n in read.neighbours("dummy0", "inet", netns=lab.name,
                                                           source="proc")}
    assert ("10.1.0.2", "dummy0", "02:00:00:00:00:02") in arp
    assert {n.state for n in read.neighbours(netns=lab.name, source="proc")
            if n.dst == "10.1.0.2"} == {("PERMANENT",)}
    with pytest.raises(NotFound):
        read.neighbours("nosuchdev", netns=lab.name, source="proc")


def test_proc_source_links_and_addresses_agree_with_netlink(lab):
    """Links from /proc/net/dev and the ifconfig ioctls, addresses from SIOCGIFCONF
    and /proc/net/if_inet6: equal to netlink's on what they carry."""
    nl_links = {link.name: link for link in read.links(netns=lab.name, source="netlink")}
    proc_links = {link.name: link for link in read.links(netns=lab.name, source="proc")}
    assert nl_links.keys() == proc_links.keys()
    for name, p in proc_links.items():
        n = nl_links[name]
        assert (p.ifindex, p.mtu, p.address, p.txqlen) == (n.ifindex, n.mtu, n.address, n.txqlen)
        assert p.ifflags == n.ifflags & 0xFFFF  # SIOCGIFFLAGS has the low 16 bits
    assert proc_links["lo"].kind == "loopback" and proc_links["dummy0"].mtu == 1400

    def v4(a):
        return (a.ifname, a.local, a.prefixlen, a.label, a.broadcast)

    def v6(a):
        return (a.ifname, a.local, a.prefixlen, a.scope)

    nl_addrs = list(read.addresses(netns=lab.name, source="netlink"))
    proc_addrs = list(read.addresses(netns=lab.name, source="proc"))
    assert {v4(a) for a in proc_addrs if a.family == "inet"} == \
        {v4(a) for a in nl_addrs if a.family == "inet"}
    assert {v6(a) for a in proc_addrs if a.family == "inet6"} == \
        {v6(a) for a in nl_addrs if a.family == "inet6"}
    assert ("dummy0", "10.1.1.1", 24, "dummy0:1", "10.1.1.255") in {v4(a) for a in proc_addrs}
