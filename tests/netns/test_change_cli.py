"""The change verbs from the command line, each in a fresh namespace.

Oracle: ``ip -j`` afterwards shows exactly the change, field by field; the undo
brings back the state ``ip -j`` showed before (counters and timers left out).
Bad arguments exit 2 and change nothing; without privilege, exit 77 and
nothing changed.
"""

import json
import subprocess

import pytest
from helpers import SOCKLAB, need_tool, run_cli

pytestmark = pytest.mark.privileged

VOLATILE = {"stats", "stats64", "valid_life_time", "preferred_life_time", "used", "confirmed",
            "updated", "probes", "expires", "cacheinfo"}


def _clean(value):
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def ip_state(ns):
    """Everything a change could touch, as ip -j shows it (ordered, timers dropped)."""
    out = {}
    for key, args in {"link": ["link"], "addr": ["addr"],
                      "route": ["route", "show", "table", "all"],
                      "route6": ["-6", "route", "show", "table", "all"],
                      "rule": ["rule"], "rule6": ["-6", "rule"],
                      "neigh": ["neigh", "show", "nud", "all"]}.items():
        out[key] = _clean(json.loads(ns.ip("-d", "-j", *args) or "[]"))
    # multicast entries (NOARP) come and go with MLD reports, on the kernel's own time
    out["neigh"] = [n for n in out["neigh"] if n.get("state") != ["NOARP"]]
    return out


def settled_state(ns):
    """:func:`ip_state` once two readings 0.1 s apart agree (IPv6 duplicate address
    detection and router solicitation still change a fresh link for a moment), 5 s
    at most."""
    import time

    state = ip_state(ns)
    for _ in range(50):
        time.sleep(0.1)
        again = ip_state(ns)
        if again == state:
            return state
        state = again
    return state


def ipj(ns, *args):
    return json.loads(ns.ip("-d", "-j", *args) or "[]")


def sl(ns, *args, ok=True):
    proc = run_cli("--netns", ns.name, *args)
    if ok:
        assert proc.returncode == 0, proc.stderr.decode()
    return proc


@pytest.fixture
def lab(netns):
    """A namespace with a veth pair v0/v1, v0 up with 10.7.0.1/24 and 2001:db8:7::1/64
    (no duplicate address detection: no address stays tentative for a while)."""
    for scope in ("all", "default"):
        netns.exec("sysctl", "-qw", f"net.ipv6.conf.{scope}.accept_dad=0")
    netns.ip("link", "add", "v0", "type", "veth", "peer", "name", "v1")
    netns.ip("link", "set", "v0", "up")
    netns.ip("link", "set", "v1", "up")
    netns.ip("addr", "add", "10.7.0.1/24", "dev", "v0")
    netns.ip("addr", "add", "2001:db8:7::1/64", "dev", "v0", "nodad")
    return netns


def test_link_set_and_back(lab):
    # a pair of its own, without IPv6 (whose link-local addresses come and go with
    # the link state, on the kernel's own time)
    lab.ip("link", "add", "x0", "type", "veth", "peer", "name", "x1")
    for dev in ("x0", "x1"):
        lab.exec("sysctl", "-qw", f"net.ipv6.conf.{dev}.disable_ipv6=1")
    lab.ip("link", "set", "x1", "up")  # the first up attaches a qdisc (noop -> noqueue)
    lab.ip("link", "set", "x1", "down")
    before = settled_state(lab)
    (old,) = ipj(lab, "link", "show", "x1")
    sl(lab, "link", "set", "x1", "up", "mtu", "1400", "address", "02:00:00:00:01:01",
       "txqueuelen", "77", "promisc", "on")
    (x1,) = ipj(lab, "link", "show", "x1")
    assert (x1["mtu"], x1["address"], x1["txqlen"], "PROMISC" in x1["flags"],
            "UP" in x1["flags"]) == (1400, "02:00:00:00:01:01", 77, True, True)
    sl(lab, "link", "set", "dev", "x1", "name", "peer1")
    assert [lk["ifname"] for lk in ipj(lab, "link", "show", "dev", "peer1")] == ["peer1"]
    sl(lab, "link", "set", "peer1", "name", "x1", "down")
    sl(lab, "link", "set", "x1", "mtu", "1500", "address", old["address"], "txqueuelen",
       "1000", "promisc", "off")
    assert ip_state(lab) == before


def test_bridge_master_and_nomaster(lab):
    before = settled_state(lab)
    sl(lab, "link", "add", "br0", "type", "bridge")
    sl(lab, "link", "set", "v1", "master", "br0")
    (v1,) = ipj(lab, "link", "show", "v1")
    assert v1["master"] == "br0"
    assert ipj(lab, "link", "show", "br0")[0]["linkinfo"]["info_kind"] == "bridge"
    sl(lab, "link", "set", "v1", "nomaster")
    assert "master" not in ipj(lab, "link", "show", "v1")[0]
    sl(lab, "link", "del", "br0")
    assert ip_state(lab) == before


@pytest.mark.parametrize("words, kind, check", [
    (["type", "veth", "peer", "name", "w1"], "veth", lambda d: d["link"] == "w1"),
    (["type", "vxlan", "id", "42", "dstport", "4789"], "vxlan",
     lambda d: (d["linkinfo"]["info_data"]["id"], d["linkinfo"]["info_data"]["port"])
     == (42, 4789)),
    (["type", "tap"], "tun", lambda d: d["linkinfo"]["info_data"]["type"] == "tap"),
    (["type", "tun"], "tun", lambda d: d["linkinfo"]["info_data"]["type"] == "tun"),
])
def test_link_add_and_del(lab, words, kind, check):
    before = settled_state(lab)
    sl(lab, "link", "add", "w0", *words)
    (dev,) = ipj(lab, "link", "show", "w0")
    assert dev["linkinfo"]["info_kind"] == kind
    assert check(dev)
    sl(lab, "link", "del", "w0")
    assert ip_state(lab) == before


@pytest.mark.needs_kernel_feature("dummy, vlan, gre")
@pytest.mark.parametrize("words, kind", [
    (["type", "dummy"], "dummy"),
    (["link", "v0", "type", "vlan", "id", "5"], "vlan"),
])
def test_link_kinds_this_kernel_may_lack(lab, words, kind):
    """The code supports them; the kernel says whether it has the driver."""
    probe = sl(lab, "link", "add", "k0", *words, ok=False)
    if probe.returncode == 1 and b"Operation not supported" in probe.stderr:
        pytest.skip(f"this kernel lacks {kind}: {probe.stderr.decode().strip()}")
    assert probe.returncode == 0, probe.stderr.decode()
    assert ipj(lab, "link", "show", "k0")[0]["linkinfo"]["info_kind"] == kind
    sl(lab, "link", "del", "k0")


def test_addr_alias_broadcast_and_back(lab):
    before = settled_state(lab)
    sl(lab, "addr", "add", "10.7.1.5/24", "dev", "v0", "label", "v0:1", "broadcast", "+")
    sl(lab, "addr", "add", "2001:db8:8::5/64", "dev", "v0", "scope", "global")
    infos = ipj(lab, "addr", "show", "v0")[0]["addr_info"]
    alias = next(a for a in infos if a["local"] == "10.7.1.5")
    assert (alias["prefixlen"], alias["label"], alias["broadcast"], alias["scope"]) == (
        24, "v0:1", "10.7.1.255", "global")
    assert any(a["local"] == "2001:db8:8::5" and a["prefixlen"] == 64 for a in infos)
    sl(lab, "addr", "del", "10.7.1.5/24", "dev", "v0")
    sl(lab, "addr", "del", "2001:db8:8::5", "dev", "v0")
    assert ip_state(lab) == before


def test_addr_flush(lab):
    sl(lab, "addr", "add", "10.7.0.2/24", "dev", "v0")  # a secondary
    sl(lab, "addr", "flush", "dev", "v0", "-4")
    assert [a["family"] for a in ipj(lab, "addr", "show", "v0")[0]["addr_info"]] == \
        ["inet6"] * len(ipj(lab, "addr", "show", "v0")[0]["addr_info"])


def test_route_add_replace_del(lab):
    before = settled_state(lab)
    sl(lab, "route", "add", "10.8.0.0/16", "via", "10.7.0.254", "metric", "9", "proto",
       "static")
    (r,) = ipj(lab, "route", "show", "10.8.0.0/16")
    assert (r["dst"], r["gateway"], r["dev"], r["metric"], r["protocol"]) == (
        "10.8.0.0/16", "10.7.0.254", "v0", 9, "static")
    sl(lab, "route", "replace", "10.8.0.0/16", "via", "10.7.0.253", "metric", "9")
    (r,) = ipj(lab, "route", "show", "10.8.0.0/16")
    assert r["gateway"] == "10.7.0.253"
    sl(lab, "route", "del", "10.8.0.0/16", "metric", "9")
    assert ip_state(lab) == before


def test_default_route_table_src_and_types(lab):
    before = settled_state(lab)
    sl(lab, "route", "add", "default", "via", "10.7.0.254", "table", "100", "src", "10.7.0.1")
    (r,) = ipj(lab, "route", "show", "table", "100")
    assert (r["dst"], r["gateway"], r["prefsrc"]) == ("default", "10.7.0.254", "10.7.0.1")
    sl(lab, "route", "add", "default", "via", "2001:db8:7::fe")
    assert ipj(lab, "-6", "route", "show", "default")[0]["gateway"] == "2001:db8:7::fe"
    for kind in ("blackhole", "unreachable", "prohibit"):
        sl(lab, "route", "add", kind, "192.0.2.0/24", "table", "100")
        (r,) = ipj(lab, "route", "show", "table", "100", "192.0.2.0/24")
        assert r["type"] == kind
        sl(lab, "route", "del", kind, "192.0.2.0/24", "table", "100")
    sl(lab, "route", "del", "default", "table", "100")
    sl(lab, "route", "del", "default", "via", "2001:db8:7::fe")
    assert ip_state(lab) == before


def test_multipath_route(lab):
    before = settled_state(lab)
    sl(lab, "route", "add", "10.9.0.0/16", "nexthop", "via", "10.7.0.251", "weight", "2",
       "nexthop", "via", "10.7.0.252")
    (r,) = ipj(lab, "route", "show", "10.9.0.0/16")
    assert [(h["gateway"], h["weight"]) for h in r["nexthops"]] == [("10.7.0.251", 2),
                                                                   ("10.7.0.252", 1)]
    sl(lab, "route", "del", "10.9.0.0/16")
    assert ip_state(lab) == before


def test_rules(lab):
    before = settled_state(lab)
    sl(lab, "rule", "add", "priority", "100", "from", "10.7.0.0/24", "iif", "v0", "fwmark",
       "0x10/0xff", "lookup", "100")
    r = next(r for r in ipj(lab, "rule") if r["priority"] == 100)
    assert (r["src"], r["srclen"], r["iif"], r["fwmark"], r["fwmask"], r["table"]) == (
        "10.7.0.0", 24, "v0", "0x10", "0xff", "100")
    sl(lab, "rule", "add", "priority", "101", "to", "2001:db8::/32", "blackhole")
    r6 = next(r for r in ipj(lab, "-6", "rule") if r["priority"] == 101)
    assert (r6["dst"], r6["action"]) == ("2001:db8::", "blackhole")
    sl(lab, "rule", "del", "priority", "100")
    sl(lab, "rule", "del", "priority", "101", "-6")
    assert ip_state(lab) == before


def test_neighbours(lab):
    before = settled_state(lab)
    sl(lab, "neigh", "add", "10.7.0.9", "lladdr", "02:00:00:00:00:09", "dev", "v0")
    (n,) = ipj(lab, "neigh", "show", "10.7.0.9")
    assert (n["lladdr"], n["dev"], n["state"]) == ("02:00:00:00:00:09", "v0", ["PERMANENT"])
    sl(lab, "neigh", "replace", "10.7.0.9", "lladdr", "02:00:00:00:00:0a", "dev", "v0",
       "nud", "stale")
    (n,) = ipj(lab, "neigh", "show", "10.7.0.9")
    assert (n["lladdr"], n["state"]) == ("02:00:00:00:00:0a", ["STALE"])
    sl(lab, "neigh", "add", "2001:db8:7::9", "lladdr", "02:00:00:00:00:19", "dev", "v0",
       "nud", "reachable")
    sl(lab, "neigh", "flush", "dev", "v0")
    assert ipj(lab, "neigh", "show", "dev", "v0") == []
    assert ip_state(lab) == before


def test_dry_run_and_explain_send_nothing(lab):
    before = settled_state(lab)
    dry = sl(lab, "route", "add", "10.8.0.0/16", "via", "10.7.0.254", "--dry-run")
    text = dry.stdout.decode()
    assert "RTM_NEWROUTE" in text and "RTA_GATEWAY   10.7.0.254" in text
    ex = sl(lab, "route", "add", "10.8.0.0/16", "via", "10.7.0.254", "--explain")
    lines = ex.stdout.decode().splitlines()
    assert "ip:       ip route add 10.8.0.0/16 via 10.7.0.254" in lines
    assert "classic:  route add -net 10.8.0.0 netmask 255.255.0.0 gw 10.7.0.254" in lines
    js = json.loads(sl(lab, "--json", "neigh", "add", "10.7.0.9", "lladdr",
                       "02:00:00:00:00:09", "dev", "v0", "--dry-run").stdout)
    assert js["sent"] is False and js["classic"] == "arp -i v0 -s 10.7.0.9 02:00:00:00:00:09"
    assert ip_state(lab) == before


def test_kernel_refusal_names_the_operation_with_its_ext_ack(lab):
    before = settled_state(lab)
    proc = sl(lab, "link", "set", "v0", "mtu", "10", ok=False)
    assert proc.returncode == 1
    assert proc.stderr.decode() == ("socklab: error: set link v0 mtu 10: Invalid argument "
                                    "(mtu less than device minimum)\n")
    proc = sl(lab, "route", "add", "10.8.0.0/16", "via", "10.9.9.9", "dev", "v0", "onlink",
              "src", "10.99.0.1", ok=False)
    assert proc.returncode == 1 and b"add route 10.8.0.0/16 via 10.9.9.9" in proc.stderr
    assert ip_state(lab) == before


def test_trace_shows_the_netlink_send_and_the_ack(lab):
    proc = sl(lab, "--trace", "link", "set", "v1", "mtu", "1400")
    err = proc.stderr.decode()
    assert "AF_NETLINK" in err and "send(" in err and "recv_into(" in err


BAD = [
    ["link", "set", "v0", "address", "02:00:00:00:00:01:07"],  # 7 octets
    ["link", "set", "v0", "address", "03:00:00:00:00:01"],  # multicast
    ["link", "set", "v0", "mtu", "big"],
    ["link", "set", "nosuch0", "up"],
    ["link", "set", "v0", "name", "v1"],  # taken
    ["link", "set", "v0", "name", "a/b"],
    ["link", "set", "v0", "promisc", "maybe"],
    ["link", "set", "v0", "master", "v1"],  # not a bridge
    ["link", "set", "v0"],
    ["link", "add", "w0", "type", "nosuchkind"],
    ["link", "add", "w0", "type", "veth"],  # no peer
    ["link", "add", "v1", "type", "bridge"],  # exists
    ["link", "add", "w0", "type", "vxlan", "id", "16777216"],
    ["link", "add", "thisnameiswaytoolong", "type", "bridge"],
    ["link", "del", "nosuch0"],
    ["addr", "add", "10.7.0.9/33", "dev", "v0"],
    ["addr", "add", "10.7.0.9/24", "dev", "nosuch0"],
    ["addr", "add", "10.7.0.300/24", "dev", "v0"],
    ["addr", "add", "10.7.0.9/24", "dev", "v0", "label", "eth0:1"],
    ["addr", "add", "2001:db8::9/64", "dev", "v0", "broadcast", "+"],
    ["addr", "add", "10.7.0.9/24", "dev", "v0", "scope", "galaxy"],
    ["addr", "del", "10.7.0.99/24", "dev", "v0"],  # not there
    ["addr", "flush", "dev", "nosuch0"],
    ["route", "add", "10.8.0.0/33", "dev", "v0"],
    ["route", "add", "10.8.0.1/16", "dev", "v0"],  # host bits
    ["route", "add", "10.8.0.0/16", "via", "2001:db8:7::fe"],  # family mismatch
    ["route", "add", "10.8.0.0/16", "via", "10.9.9.9"],  # gateway not on-link
    ["route", "add", "10.8.0.0/16", "dev", "v0", "table", "nosuchtable"],
    ["route", "add", "10.8.0.0/16", "dev", "v0", "metric", "-1"],
    ["route", "add", "10.8.0.0/16", "dev", "v0", "metric", "4294967296"],
    ["route", "add", "10.8.0.0/16", "dev", "nosuch0"],
    ["route", "add", "10.8.0.0/16"],  # nowhere to go
    ["route", "add", "blackhole", "10.8.0.0/16", "via", "10.7.0.254"],
    ["route", "add", "10.8.0.0/16", "dev", "v0", "src", "2001:db8:7::1"],
    ["route", "add", "10.8.0.0/16", "dev", "v0", "frobnicate"],
    ["rule", "add", "from", "10.0.0.0/8", "to", "2001:db8::/32"],
    ["rule", "add", "priority", "x"],
    ["rule", "add", "lookup", "nosuchtable"],
    ["rule", "add", "fwmark", "0x10/zz"],
    ["neigh", "add", "10.7.0.9", "lladdr", "02:00:00:00:00:09:07", "dev", "v0"],
    ["neigh", "add", "10.7.0.9", "lladdr", "02:00:00:00:00:09", "dev", "nosuch0"],
    ["neigh", "add", "10.7.0.9", "dev", "v0"],  # no lladdr
    ["neigh", "add", "10.7.0.9", "lladdr", "02:00:00:00:00:09", "dev", "v0", "nud", "maybe"],
    ["neigh", "add", "10.7.0.999", "lladdr", "02:00:00:00:00:09", "dev", "v0"],
    ["neigh", "flush", "dev", "v0", "nud", "some"],
]


def snapshot_unchanged(ns, before):
    """socklab diff against the snapshot taken before: no differences (exit 0)."""
    proc = subprocess.run([*SOCKLAB, "--netns", ns.name, "diff", "-"], input=before,
                          capture_output=True)
    assert (proc.returncode, proc.stdout) == (0, b"no differences\n"), proc.stdout


def test_bad_arguments_exit_2_and_change_nothing(lab):
    before = settled_state(lab)
    snap = sl(lab, "snapshot").stdout
    for argv in BAD:
        proc = sl(lab, *argv, ok=False)
        err = proc.stderr.decode()
        assert proc.returncode == 2, (argv, err)
        assert err.startswith("socklab: error: ") and err.count("\n") == 1, (argv, err)
        assert "internal error" not in err and "Traceback" not in err, (argv, err)
    assert ip_state(lab) == before
    snapshot_unchanged(lab, snap)


UNPRIVILEGED = [
    ["link", "set", "v0", "mtu", "1400"],
    ["link", "add", "br0", "type", "bridge"],
    ["link", "add", "t0", "type", "tap"],
    ["link", "del", "v1"],
    ["addr", "add", "10.7.0.9/24", "dev", "v0"],
    ["addr", "flush", "dev", "v0"],
    ["route", "add", "10.8.0.0/16", "via", "10.7.0.254"],
    ["rule", "add", "priority", "5", "lookup", "100"],
    ["neigh", "add", "10.7.0.9", "lladdr", "02:00:00:00:00:09", "dev", "v0"],
]


def test_without_privilege_exit_77_and_nothing_changed(lab):
    need_tool("setpriv")
    before = settled_state(lab)
    snap = sl(lab, "snapshot").stdout
    for argv in UNPRIVILEGED:
        proc = lab.exec("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        "--inh-caps=-all", *SOCKLAB, *argv, check=False, cwd="/tmp")
        assert proc.returncode == 77, (argv, proc.stderr)
        assert "CAP_NET_ADMIN" in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert ip_state(lab) == before
    snapshot_unchanged(lab, snap)
