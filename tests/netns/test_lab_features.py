"""What a topology asks for is what the nodes have: MTU and tbf rate per link, IPv6
and alias labels, default routes of both families, static neighbours, per-node
sysctls, a router's forwarding, a filter rule; through the library's ``with`` block."""

import pytest
from helpers import need_root, need_tool
from lab_helpers import leftovers, unique_name

import socklab
from socklab.stack import read

pytestmark = pytest.mark.privileged

TOPOLOGY = '''\
name = "NAME"
[nodes.h1]
interfaces.eth0.addresses = ["10.0.1.10/24", "fd00:1::10/64"]
interfaces.eth0.aliases = { "eth0:7" = "10.0.1.17/24" }
routes = [{ to = "default", via = "10.0.1.1" }, { to = "default6", via = "fd00:1::1" }]
neighbours = [{ address = "10.0.1.99", mac = "02:00:00:00:00:99", dev = "eth0" }]
sysctls = { "net.ipv4.tcp_syn_retries" = 2 }
[nodes.r1]
kind = "router"
interfaces.eth0.addresses = ["10.0.1.1/24", "fd00:1::1/64"]
interfaces.eth1.addresses = ["10.0.2.1/24", "fd00:2::1/64"]
filter = [{ action = "drop", hook = "forward", proto = "udp", dport = 9 }]
[nodes.h2]
interfaces.eth0.addresses = ["10.0.2.10/24", "fd00:2::10/64"]
routes = [{ to = "default", via = "10.0.2.1" }, { to = "default6", via = "fd00:2::1" }]
[[links]]
endpoints = ["h1:eth0", "r1:eth0"]
mtu = 1400
rate = "10mbit"
[switches.sw]
ports = ["r1:eth1", "h2:eth0"]
mtu = 1300
'''


def test_the_nodes_have_what_the_file_asks():
    need_root()
    need_tool("ping", "tc", "nft")
    name = unique_name()
    with socklab.Lab.from_text(TOPOLOGY.replace("NAME", name)) as lab:
        h1, r1, h2 = lab.node("h1"), lab.node("r1"), lab.node("h2")
        links = {lk.name: lk for lk in h1.call(read.links)}
        assert links["eth0"].mtu == 1400
        assert {lk.name: lk.mtu for lk in h2.call(read.links)}["eth0"] == 1300
        code, out = h1.run(["tc", "qdisc", "show", "dev", "eth0"])
        assert code == 0 and "tbf" in out and "10Mbit" in out, out
        addrs = {(a.local, a.label) for a in h1.call(read.addresses)}
        assert ("10.0.1.17", "eth0:7") in addrs and ("fd00:1::10", None) in addrs
        routes = {(r.family, r.dst, r.gateway) for r in h1.call(read.routes)
                  if r.table == "main"}
        assert ("inet", "default", "10.0.1.1") in routes
        assert ("inet6", "default", "fd00:1::1") in routes
        neigh = {(n.dst, n.lladdr) for n in h1.call(read.neighbours)}
        assert ("10.0.1.99", "02:00:00:00:00:99") in neigh
        assert h1.call(socklab.sysctl.read, "net.ipv4.tcp_syn_retries")[0].text.strip() == "2"
        assert r1.call(socklab.sysctl.read, "net.ipv6.conf.all.forwarding")[0].text == "1"
        assert h1.call(socklab.sysctl.read, "net.ipv4.ip_forward")[0].text.strip() == "0"
        code, out = r1.run(["nft", "list", "chain", "inet", "socklab", "forward"])
        assert code == 0 and "udp dport 9 drop" in out, out
        # across the router, both families
        assert h1.run(["ping", "-c1", "-W2", "10.0.2.10"])[0] == 0
        assert h1.run(["ping", "-c1", "-W2", "fd00:2::10"])[0] == 0
    assert leftovers(name) == []


POLICIES = '''\
name = "NAME"
[nodes.h1]
interfaces.eth0.addresses = ["10.0.3.1/24"]
[[nodes.h1.ipsec.policies]]
src = "10.0.3.1"
dst = "10.0.3.2"
dir = "out"
action = "block"
proto = "icmp"
priority = 7
[nodes.h2]
interfaces.eth0.addresses = ["10.0.3.2/24"]
services = [{ listen = "tcp::80" }]
[[links]]
endpoints = ["h1:eth0", "h2:eth0"]
'''


def test_an_ipsec_policy_of_the_topology_is_in_the_node_and_blocks_what_it_selects():
    """xfrm policies work on kernels without ESP: the block policy is what `ip xfrm
    policy` lists in h1, it stops h1's pings to h2 and nothing else (TCP passes)."""
    need_root()
    need_tool("ping", "ip", "nc")
    name = unique_name()
    with socklab.Lab.from_text(POLICIES.replace("NAME", name)) as lab:
        h1, h2 = lab.node("h1"), lab.node("h2")
        (pol,) = h1.call(socklab.ipsec_policies)
        assert (pol.dir, pol.action, pol.priority, pol.templates) == ("out", "block", 7, ())
        assert (pol.selector.src, pol.selector.dst, pol.selector.proto) == \
            ("10.0.3.1/32", "10.0.3.2/32", 1)
        code, out = h1.run(["ip", "xfrm", "policy", "list"])
        assert code == 0 and "src 10.0.3.1/32 dst 10.0.3.2/32 proto icmp" in out, out
        assert "dir out action block priority 7" in out, out
        assert h2.call(socklab.ipsec_policies) == []
        assert h1.run(["ping", "-c1", "-W1", "10.0.3.2"])[0] != 0
        assert h1.run(["nc", "-z", "-w2", "10.0.3.2", "80"])[0] == 0
    assert leftovers(name) == []
