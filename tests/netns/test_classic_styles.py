"""socklab's classic styles against the classic tools themselves, on the same state.

A namespace is filled with the odd links and routes a course meets (veth, bridge,
vxlan, tun, tap, macvlan on a veth, aliases, names that sort by number, reject
routes in IPv4 and IPv6, several tables, a multipath route, static, incomplete and
proxy neighbours); then ``ifconfig -a``, ``route -n``, ``route -6 -n``, ``arp -an``,
``arp -a`` and ``sysctl -a`` run there beside socklab's styles. Both outputs are read
with the same parser (tests/classic_parsers.py) and compared record by record.
Counters move: socklab's must lie between a reading before and one after.
The host is only read.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
from classic_parsers import parse_arp, parse_ifconfig, parse_route6_n, parse_route_n, parse_sysctl
from helpers import need_tool, run_cli

pytestmark = pytest.mark.privileged

SETUP = [
    "link add veth0 type veth peer name veth1",
    "link add veth2 type veth peer name veth10",
    "link add br0 type bridge",
    "link set veth10 master br0",
    "link add vx0 type vxlan id 42 dstport 4789 local 10.0.0.1",
    "tuntap add dev tun0 mode tun",
    "tuntap add dev tap0 mode tap",
    "link add mv0 link veth0 type macvlan mode bridge",
    "link set veth0 up", "link set veth1 up", "link set veth2 up", "link set veth10 up",
    "link set br0 up", "link set mv0 up",
    "addr add 10.0.0.1/24 dev veth0",
    "addr add 10.0.0.3/24 dev veth0",  # a second one with the same label: ifconfig shows one
    "addr add 10.0.1.1/24 brd + dev veth0 label veth0:1",
    "addr add 10.0.2.1/24 brd + dev veth0 label veth0:10",
    "addr add 10.0.3.1/24 brd + dev veth0 label veth0:2",
    "addr add 10.0.9.1 peer 10.0.9.2 dev tun0",
    "addr add 10.2.0.1/24 dev br0",
    "addr add 2001:db8:1::1/64 dev veth0 nodad",
    "addr add ::10.0.0.5/96 dev veth0 nodad",
    "route add default via 10.0.0.254",
    "route add 10.50.0.0/16 via 10.0.0.254 metric 10",
    "route add 10.51.0.0/16 nexthop via 10.0.0.253 nexthop via 10.2.0.254",
    "route add 10.60.0.7 via 10.0.0.254",
    "route add blackhole 10.66.0.0/16",
    "route add unreachable 10.67.0.0/16",
    "route add prohibit 10.68.0.0/16",
    "route add prohibit 10.69.0.1",
    "route add throw 10.70.0.0/16",
    "route add 10.90.0.0/16 via 10.0.0.9 table 100",
    "-6 route add 2001:db8:6::/64 via 2001:db8:1::fe",
    "-6 route add 2001:db8:7::/64 via 2001:db8:1::fe expires 300",
    "-6 route add 2001:db8:5::1/128 dev veth0",
    "-6 route add 2001:db8:8::/64 nexthop via 2001:db8:1::fd nexthop via 2001:db8:1::fc",
    "-6 route add blackhole 2001:db8:66::/48",
    "-6 route add unreachable 2001:db8:67::/48",
    "-6 route add prohibit 2001:db8:68::/48",
    "-6 route add throw 2001:db8:69::/48",
    "-6 route add 2001:db8:9::/64 dev veth0 table 100",
    "-6 route add 2001:db8:9::/64 dev veth0 table 356 metric 5",
    "-6 route add local 2001:db8:b::1 dev veth0",
    "neigh add 10.0.0.7 lladdr 02:00:00:00:00:07 dev veth0 nud permanent",
    "neigh add 10.0.0.8 dev veth0 nud incomplete",
    "neigh add 10.0.0.10 lladdr 02:00:00:00:00:0a dev veth0 nud stale",
    "neigh add 10.0.0.11 dev veth0 nud failed",
    "neigh add 10.0.0.12 lladdr 02:00:00:00:00:0c dev veth0 nud noarp",
    "neigh add 10.2.0.254 lladdr 02:00:00:00:00:fe dev br0 nud reachable",
    "neigh add proxy 10.0.0.9 dev veth0",
]
# arp -a's names, from the namespace's own /etc/hosts (ip netns exec bind-mounts
# /etc/netns/NAME/*); 10.0.0.8 has none, and the resolver is this namespace's
# loopback, where nothing answers: "?" at once
HOSTS = "10.0.0.7 gateway-seven\n10.0.0.10 ten.lab ten\n10.2.0.254 bridge-gw\n"


@pytest.fixture(scope="module")
def labs() -> Iterator[tuple]:
    """The lab namespace, and a second one holding the far end of its veth vp0."""
    from conftest import make_netns

    need_tool("ifconfig", "route", "arp", "sysctl")
    with make_netns("classic") as ns, make_netns("peer") as other:
        # a quiet lab (its own sysctls): no router solicitations, no duplicate address
        # detection on the links made next; what moves the counters then is MLD's
        # first reports, over within a second or two
        for key in ("router_solicitations", "dad_transmits"):
            ns.exec("sysctl", "-q", "-w", f"net.ipv6.conf.default.{key}=0")
        for cmd in SETUP:
            ns.ip(*cmd.split())
        ns.ip("link", "add", "vp0", "type", "veth", "peer", "name", "vpeer", "netns",
              other.name)
        send_router_advertisement(ns)
        send_unknown_frames(ns)
        etc = f"/etc/netns/{ns.name}"
        os.makedirs(etc)
        try:
            with open(f"{etc}/hosts", "w") as f:
                f.write("127.0.0.1 localhost\n" + HOSTS)
            with open(f"{etc}/resolv.conf", "w") as f:
                f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
            yield ns, other
        finally:
            shutil.rmtree(etc, ignore_errors=True)


@pytest.fixture(scope="module")
def lab(labs):
    return labs[0]


def send_unknown_frames(ns, count: int = 3) -> None:
    """Ethernet frames of a protocol nobody handles (0x88b5, IEEE 802 local experimental)
    out of veth1: veth0's kernel counts each as dropped (RX dropped, a counter that
    is not zero)."""
    import socket

    def send() -> None:
        with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as s:
            s.bind(("veth1", 0))
            frame = bytes.fromhex("020000000001" "020000000002" "88b5") + bytes(46)
            for _ in range(count):
                s.send(frame)

    ns.run(send)


def send_router_advertisement(ns) -> None:
    """A router advertisement out of veth1, heard on veth0 (RFC 4861 4.2): a prefix
    (RFC 4862 autoconfiguration), a route (RFC 4191) and a default router; then wait
    (bounded) until the kernel made their routes."""
    import socket
    import struct
    import time

    def send() -> None:
        index = socket.if_nametoindex("veth1")
        with socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6) as s:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
            # type 134, hop limit 64, router lifetime 1800 s
            ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
            prefix = struct.pack("!BBBBIII", 3, 4, 64, 0xC0, 86400, 14400, 0) + \
                socket.inet_pton(socket.AF_INET6, "2001:db8:aaaa::")
            route = struct.pack("!BBBBI", 24, 3, 48, 0, 600) + \
                socket.inet_pton(socket.AF_INET6, "2001:db8:bbbb::")
            s.sendto(ra + prefix + route, ("ff02::1", 0, 0, index))

    ns.exec("sysctl", "-q", "-w", "net.ipv6.conf.veth0.accept_ra_rt_info_max_plen=64")
    # the source is veth1's link-local address, and the way out its multicast route:
    # both made once the link has its carrier (addrconf's work, not at once)
    for _ in range(100):
        way = subprocess.run(["ip", "-n", ns.name, "-6", "route", "get", "ff02::1", "oif",
                              "veth1"], capture_output=True, text=True).stdout
        if "src fe80" in way:
            break
        time.sleep(0.05)
    ns.run(send)
    for _ in range(100):
        if ns.ip("-6", "route", "show", "proto", "ra").count("\n") >= 2:
            return
        time.sleep(0.05)
    raise AssertionError("the router advertisement made no route")


def socklab_in(ns, *args: str) -> str:
    """socklab run inside the namespace as the tools are (ip netns exec: same /etc)."""
    proc = ns.exec(sys.executable, "-m", "socklab", *args, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr
    return proc.stdout


def tool_in(ns, *cmd: str) -> str:
    return ns.exec(*cmd).stdout


def host(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def bracketed(read_tool: Callable[[], str], read_ours: Callable[[], str], attempts: int = 30
              ) -> tuple[str, str, str]:
    """(before, ours, after): the tool, socklab, the tool again; taken again (a bounded
    number of times) until the tool saw the same counters twice, when it can."""
    for _ in range(attempts):
        before, ours, after = read_tool(), read_ours(), read_tool()
        if before == after:
            break
    return before, ours, after


# -- ifconfig -a -------------------------------------------------------------------

def compare_ifconfig(before_text: str, ours_text: str, after_text: str) -> list[dict]:
    before, ours, after = (parse_ifconfig(t) for t in (before_text, ours_text, after_text))
    assert [b["name"] for b in ours] == [b["name"] for b in before], "interface order"
    after_by = {b["name"]: b for b in after}
    for o, b in zip(ours, before, strict=True):
        a = after_by[o["name"]]
        for key in ("flags", "flag_names", "mtu", "inet", "hw"):
            assert o[key] == b[key], (o["name"], key, o[key], b[key])
        # ifconfig lists IPv6 addresses in the kernel's hash order: the same set
        assert sorted(o["inet6"]) == sorted(b["inet6"]), o["name"]
        assert o["inet6"] == b["inet6"] or b["inet6"] != a["inet6"], o["name"]
        assert o["counters"].keys() == b["counters"].keys(), o["name"]
        for key, value in o["counters"].items():
            assert b["counters"][key] <= value <= a["counters"][key], (o["name"], key)
        for d in o["human"]:
            if b["counters"][f"{d}_bytes"] == o["counters"][f"{d}_bytes"]:
                assert o["human"][d] == b["human"][d], (o["name"], d)
    return ours


def test_ifconfig_style_equals_ifconfig_a_in_the_lab(lab):
    # some bytes on lo, for units above bytes (ping's own count: no timing involved)
    lab.exec("ping", "-c", "3", "-s", "60000", "-i", "0.2", "-q", "127.0.0.1")
    before, ours, after = bracketed(lambda: tool_in(lab, "ifconfig", "-a"),
                                    lambda: socklab_in(lab, "link", "--style", "ifconfig"))
    assert before == after, "the lab's counters never held still"
    blocks = compare_ifconfig(before, ours, after)
    assert ours == before  # and byte for byte
    names = [b["name"] for b in blocks]
    # nstrcmp order: numbers as numbers, an alias after its interface, :2 before :10
    assert names.index("veth2") < names.index("veth10")
    assert names.index("veth0") < names.index("veth0:1") < names.index("veth0:2") \
        < names.index("veth0:10") < names.index("veth1")
    by = {b["name"]: b for b in blocks}
    assert by["tun0"]["hw"][0] == "unspec" and by["tun0"]["hw"][3] == "UNSPEC"
    for name in ("veth0", "br0", "mv0", "vx0", "tap0"):
        assert by[name]["hw"][0] == "ether" and by[name]["hw"][3] == "Ethernet", name
    assert by["lo"]["hw"][3] == "Local Loopback" and by["lo"]["human"]["rx"].endswith("KiB")
    assert by["veth0:1"]["counters"] == {} and by["veth0:1"]["inet"][2] == "10.0.1.255"
    assert by["veth0"]["inet"][0] == "10.0.0.1"  # the first of two labelled veth0
    assert by["tun0"]["inet"][3] == "10.0.9.2"  # point-to-point destination
    assert ("::10.0.0.5", 96, "0x80", "compat,global") in by["veth0"]["inet6"]
    assert by["veth0"]["counters"]["rx_dropped"] >= 3  # the frames nobody handles


@pytest.mark.parametrize("name", ["veth0", "veth0:1", "tun0", "lo"])
def test_ifconfig_style_of_one_name_equals_ifconfig_name(lab, name):
    before, ours, after = bracketed(lambda: tool_in(lab, "ifconfig", name),
                                    lambda: socklab_in(lab, "link", name, "--style", "ifconfig"))
    (block,) = compare_ifconfig(before, ours, after)
    assert block["name"] == name


def test_ifconfig_style_equals_ifconfig_a_on_the_host():
    need_tool("ifconfig")
    before, ours, after = bracketed(lambda: host("ifconfig", "-a"),
                                    lambda: run_cli("link", "--style", "ifconfig")
                                    .stdout.decode())
    compare_ifconfig(before, ours, after)


@pytest.mark.parametrize(("n", "text"), [
    (0, "0.0 B"), (1023, "1023.0 B"), (1024, "1024.0 B"), (1025, "1.0 KiB"),
    (168345, "164.3 KiB"), (168346, "164.4 KiB"), (1048576, "1024.0 KiB"),
    (1048577, "1.0 MiB"), (3 * 2**30 + 1, "3.0 GiB"),
])
def test_byte_units_truncate_as_ifconfig(n, text):
    from socklab.cli.stackview import human_bytes

    assert human_bytes(n) == text


# -- route -n, route -6 -n --------------------------------------------------------

def test_route_style_equals_route_n(lab):
    ours = parse_route_n(socklab_in(lab, "route", "--style", "route"))
    theirs = parse_route_n(tool_in(lab, "route", "-n"))
    assert ours == theirs
    rows = {r[0]: r for r in ours}
    assert rows["10.66.0.0"][1:] == ("0.0.0.0", "255.255.0.0", "U", "0", "0", "0", "*")
    assert rows["10.67.0.0"][1:] == ("-", "255.255.0.0", "!", "0", "-", "0", "-")
    assert rows["10.69.0.1"][3] == "!H" and rows["10.60.0.7"][3] == "UGH"
    assert rows["10.51.0.0"][1] == "10.0.0.253"  # a multipath route: its first hop
    text = socklab_in(lab, "route", "--style", "route")
    assert text == tool_in(lab, "route", "-n")  # and byte for byte


def test_route6_style_equals_route_6_n(lab):
    before, ours_text, after = bracketed(lambda: tool_in(lab, "route", "-6", "-n"),
                                         lambda: socklab_in(lab, "route", "--style", "route",
                                                            "-6"))
    ours, b, a = parse_route6_n(ours_text), parse_route6_n(before), parse_route6_n(after)

    def fixed(row):
        return {k: v for k, v in row.items() if k != "ref"}

    assert [fixed(r) for r in ours] == [fixed(r) for r in b]
    for o, lo, hi in zip(ours, b, a, strict=True):  # Ref: the kernel's reference count
        assert min(lo["ref"], hi["ref"]) <= o["ref"] <= max(lo["ref"], hi["ref"]), o
    flags = {(r["dst"], r["dev"]): r["flags"] for r in ours}
    for prefix in ("2001:db8:66::/48", "2001:db8:67::/48", "2001:db8:68::/48",
                   "2001:db8:69::/48"):
        assert flags[(prefix, "lo")] == "!n"
    assert flags[("2001:db8:7::/64", "veth0")] == "UGe"
    assert flags[("2001:db8:1::1/128", "veth0")] == "Un"
    assert [r["via"] for r in ours if r["dst"] == "2001:db8:8::/64"] == \
        ["2001:db8:1::fd", "2001:db8:1::fc"]
    assert flags[("2001:db8:aaaa::/64", "veth0")] == "UAe"  # the advertised prefix
    assert flags[("2001:db8:bbbb::/48", "veth0")] == "UGAe"  # the advertised route
    assert flags[("::/0", "veth0")] == "UGDAe"  # the default router
    nulls = [r for r in ours if r["dst"] == "::/0" and r["flags"] == "!n"]
    assert len(nulls) == 3 and {r["metric"] for r in nulls} == {-1}  # 100, 356, local


def test_route_styles_equal_route_on_the_host():
    need_tool("route")
    assert run_cli("route", "--style", "route").stdout.decode() == host("route", "-n")
    before, ours, _after = bracketed(lambda: host("route", "-6", "-n"),
                                     lambda: run_cli("route", "--style", "route", "-6")
                                    .stdout.decode())
    assert [{k: v for k, v in r.items() if k != "ref"} for r in parse_route6_n(ours)] == \
        [{k: v for k, v in r.items() if k != "ref"} for r in parse_route6_n(before)]


# -- arp -an, arp -a ----------------------------------------------------------------

def test_arp_style_equals_arp_an(lab):
    ours = parse_arp(socklab_in(lab, "neigh", "--style", "arp"))
    theirs = parse_arp(tool_in(lab, "arp", "-an"))
    assert ours == theirs
    rows = {r[1]: r for r in ours}
    assert rows["10.0.0.7"] == ("?", "10.0.0.7", "02:00:00:00:00:07", "ether", ("PERM",),
                                "veth0")
    assert rows["10.0.0.8"][2] == "<incomplete>" and rows["10.0.0.11"][2] == "<incomplete>"
    assert rows["10.0.0.9"][2:] == ("<from_interface>", None, ("PERM", "PUB"), "veth0")
    assert "10.0.0.12" not in rows  # NOARP only: /proc/net/arp leaves it out


def test_arp_style_with_names_equals_arp_a(lab):
    ours = parse_arp(socklab_in(lab, "neigh", "--style", "arp", "-r"))
    theirs = parse_arp(tool_in(lab, "arp", "-a"))
    assert ours == theirs
    names = {r[1]: r[0] for r in ours}
    assert names["10.0.0.7"] == "gateway-seven" and names["10.0.0.10"] == "ten.lab"
    assert names["10.0.0.8"] == "?"


def test_arp_style_equals_arp_an_on_the_host():
    need_tool("arp")
    before, ours, after = bracketed(lambda: host("arp", "-an"),
                                    lambda: run_cli("neigh", "--style", "arp").stdout.decode())
    if before == after:
        assert parse_arp(ours) == parse_arp(before)
    else:  # entries come and go on a live host: each address of ours was seen by arp
        seen = {r[1] for r in parse_arp(before) + parse_arp(after)}
        assert {r[1] for r in parse_arp(ours)} <= seen


# -- sysctl -a ----------------------------------------------------------------------

def test_sysctl_a_keys_in_procps_order_in_the_lab(lab):
    def net(text):
        return [(k, v) for k, v in parse_sysctl(text) if k.startswith("net.")]

    # values such as fs.dentry-state always move: one bracket, and only the keys
    # whose value held still are compared
    before, ours, after = bracketed(lambda: tool_in(lab, "sysctl", "-a"),
                                    lambda: socklab_in(lab, "sysctl", "-a"), attempts=1)
    b, o, a = net(before), net(ours), net(after)
    assert [k for k, _ in o] == [k for k, _ in b] == [k for k, _ in a]
    steady = {k for (k, v1), (_, v2) in zip(b, a, strict=True) if v1 == v2}
    assert [kv for kv in o if kv[0] in steady] == [kv for kv in b if kv[0] in steady]
    keys = [k for k, _ in o]
    assert "net.ipv4.route.flush" not in keys  # write-only
    named = lab.exec(sys.executable, "-m", "socklab", "sysctl", "net.ipv4.route.flush",
                     check=False)
    assert named.returncode == 2 and "write-only" in named.stderr, named.stderr
    # a subdirectory sorts in with the keys: net.ipv4.conf.* before net.ipv4.icmp_*,
    # where a listing of the files first would put every net.ipv4 file before it
    assert keys.index("net.ipv4.conf.all.accept_local") < keys.index(
        "net.ipv4.icmp_echo_ignore_all") < keys.index("net.ipv4.ip_forward")


def test_sysctl_multiline_value_and_write_only_on_the_host():
    need_tool("sysctl")
    theirs = parse_sysctl(host("sysctl", "-a"))
    counts: dict[str, int] = {}
    for key, _ in theirs:
        counts[key] = counts.get(key, 0) + 1
    multi = sorted(k for k, n in counts.items() if n > 1)
    assert multi, "this kernel has no sysctl of several lines (kernel.core_modes ...)"
    for key in multi:
        if key.startswith(("kernel.", "fs.", "dev.", "abi.", "user.", "debug.")):
            ours = run_cli("sysctl", key)
            assert ours.returncode == 0, ours.stderr
            assert parse_sysctl(ours.stdout.decode()) == \
                parse_sysctl(host("sysctl", key)), key
    ours_all = parse_sysctl(run_cli("sysctl", "-a").stdout.decode())
    assert "vm.stat_refresh" not in {k for k, _ in ours_all}
    keys = list(dict.fromkeys(k for k, _ in theirs))
    assert list(dict.fromkeys(k for k, _ in ours_all)) == keys


def test_sysctl_prints_a_value_of_several_lines_as_procps():
    from socklab.cli.cmd_sysctl import procps_lines
    from socklab.stack.sysctl import Setting

    assert procps_lines([Setting("kernel.core_modes", "file\npipe", "file\npipe"),
                         Setting("net.x", "", "")]) == [
        "kernel.core_modes = file", "kernel.core_modes = pipe", "net.x = "]


def test_explain_list_is_whole_when_piped():
    from socklab.stack import sysctl

    proc = run_cli("sysctl", "--explain-list", env={**os.environ, "COLUMNS": "80"})
    out = proc.stdout.decode()
    assert proc.returncode == 0 and "…" not in out
    for _key, what, *_ in sysctl.EXPLAIN:
        assert what in out


# -- a veth peer in another namespace ------------------------------------------------

def test_peer_in_another_namespace_is_named(labs):
    import json

    lab, other = labs
    (ours,) = json.loads(socklab_in(lab, "--json", "link", "vp0"))
    (theirs,) = json.loads(lab.ip("-j", "-d", "link", "show", "vp0"))
    peers = {t["ifindex"]: t["ifname"] for t in json.loads(other.ip("-j", "link"))}
    assert ours["link_netnsid"] == theirs["link_netnsid"]
    assert ours["link_netns"] == other.name
    assert f"link-netns {other.name}" in lab.ip("-d", "link", "show", "vp0")  # ip's name too
    assert ours["link_name"] == peers[ours["link"]] == "vpeer"
    table = socklab_in(lab, "link", "vp0")
    assert f"link vpeer (netns {other.name})" in table
    (back,) = json.loads(socklab_in(other, "--json", "link", "vpeer"))
    assert back["link_name"] == "vp0" and back["link_netns"] == lab.name


# -- course habits ---------------------------------------------------------------------

@pytest.mark.parametrize(("argv", "words"), [
    (["route", "-n"], "--style route"),
    (["route", "-6", "-n"], "--style route"),
    (["neigh", "-an"], "--style arp"),
    (["neigh", "-s", "10.0.0.7", "02:00:00:00:00:07"], "socklab arp -s/-d"),
    (["neigh", "-d", "10.0.0.7"], "socklab arp -s/-d"),
    (["neigh", "--style", "arp", "-6"], "IPv4"),
    (["link", "-a"], "--style ifconfig"),
    (["neigh", "change", "10.0.0.7", "dev", "eth0"], "neigh change"),
    (["link", "flush"], "link flush"),
    (["rule", "flush"], "rule flush"),
    (["route", "--table", "99999999999"], "out of range"),
    (["route", "--table", "4294967296"], "out of range"),
    (["route", "--table=-1"], "routing table"),
    (["route", "--table", "²"], "routing table"),
    (["addr", "show", "dev", "lo", "extra"], "unexpected"),
    (["route", "show", "table", "99999999999"], "out of range"),
    (["route", "show", "table", "local", "extra"], "unexpected"),
])
def test_classic_spellings_get_a_hint_exit_2(argv, words, netns):
    # in a namespace of its own: a line that was a hint once may be a change now, and a
    # change made on the host would stay there
    proc = run_cli("--netns", netns.name, *argv)
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert err.count("\n") == 1 and err.startswith("socklab: error: "), err
    assert words in err and "internal error" not in err and "unrecognized" not in err, err
    assert proc.stdout == b""


@pytest.mark.parametrize("argv", [
    ["addr", "show", "dev", "lo"], ["addr", "show", "lo"], ["link", "show", "lo"],
    ["neigh", "show"], ["rule", "show"], ["route", "show"], ["route", "list"],
    ["route", "show", "table", "local"], ["route", "list", "table", "all"],
    ["route", "--table", "4294967295"], ["route", "--table", "0"],
])
def test_ip_show_spellings_are_read(argv):
    proc = run_cli(*argv)
    assert proc.returncode == 0, proc.stderr


# -- the counters themselves ---------------------------------------------------------

def test_every_counter_equals_ip_s_s(lab):
    """rtnl_link_stats64 decoded whole: each counter between ip -s -s before and after."""
    import json

    from socklab.stack import read

    def ip_stats():
        return {t["ifname"]: t["stats64"] for t in json.loads(lab.ip("-s", "-s", "-j", "link"))}

    before = ip_stats()
    ours = {link.name: link for link in read.links(netns=lab.name)}
    after = ip_stats()
    for name, b in before.items():
        s, a = ours[name].stats, after[name]
        for side in ("rx", "tx"):
            for key, value in b[side].items():
                if key == "carrier_changes":  # not a counter of rtnl_link_stats64
                    continue
                field = "multicast" if key == "multicast" else (
                    "collisions" if key == "collisions" else f"{side}_{key}")
                assert value <= getattr(s, field) <= a[side][key], (name, field)
    assert ours["veth0"].stats.rx_dropped >= 3 and ours["veth0"].link_type == 1
    assert ours["tun0"].link_type == 65534 and ours["lo"].link_type == 772
