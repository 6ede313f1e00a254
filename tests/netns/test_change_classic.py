"""The classic spellings (ifconfig, route add -net, arp -s) leave the same state as the
ip-style verbs: each scenario runs both ways in twin namespaces and ip -j must
agree on everything."""

import json

import pytest
from helpers import need_tool, run_cli

pytestmark = pytest.mark.privileged


def _state(ns):
    out = {}
    for key, args in {"link": ["link"], "addr": ["addr"],
                      "route": ["route", "show", "table", "all"],
                      "route6": ["-6", "route", "show", "table", "all"],
                      "neigh": ["neigh"]}.items():
        out[key] = json.loads(ns.ip("-d", "-j", *args) or "[]")
    for link in out["addr"] + out["link"]:
        link.pop("stats64", None)
        for a in link.get("addr_info", []):
            a.pop("valid_life_time", None)
            a.pop("preferred_life_time", None)
    return out


def _twin(ns):
    for scope in ("all", "default"):
        ns.exec("sysctl", "-qw", f"net.ipv6.conf.{scope}.accept_dad=0")
        ns.exec("sysctl", "-qw", f"net.ipv6.conf.{scope}.addr_gen_mode=1")  # no fe80::
    ns.ip("link", "add", "v0", "address", "02:00:00:00:00:a0", "type", "veth", "peer",
          "name", "v1", "address", "02:00:00:00:00:a1")
    ns.ip("link", "set", "v1", "up")
    ns.ip("link", "set", "v0", "up")
    ns.ip("addr", "add", "10.7.0.1/24", "dev", "v0")
    return ns


@pytest.fixture
def twins(netns_factory):
    return _twin(netns_factory()), _twin(netns_factory())


def sl(ns, *args):
    proc = run_cli("--netns", ns.name, *args)
    assert proc.returncode == 0, (args, proc.stderr.decode())


SCENARIOS = {
    "ifconfig address": ([["ifconfig", "v0", "10.7.0.5", "netmask", "255.255.255.0"]],
                         [["addr", "del", "10.7.0.1/24", "dev", "v0"],
                          ["addr", "add", "10.7.0.5/24", "brd", "+", "dev", "v0"],
                          ["link", "set", "v0", "up"]]),
    "ifconfig alias": ([["ifconfig", "v0:1", "10.7.1.5", "netmask", "255.255.255.0",
                         "broadcast", "10.7.1.255"]],
                       [["addr", "add", "10.7.1.5/24", "broadcast", "10.7.1.255", "dev", "v0",
                         "label", "v0:1"]]),
    "ifconfig alias down": ([["ifconfig", "v0:1", "10.7.1.5"], ["ifconfig", "v0:1", "down"]],
                            []),
    "ifconfig link": ([["ifconfig", "v0", "mtu", "1400", "hw", "ether", "02:00:00:00:00:05",
                        "promisc", "txqueuelen", "50"]],
                      [["link", "set", "v0", "mtu", "1400", "address", "02:00:00:00:00:05",
                        "promisc", "on", "txqueuelen", "50"]]),
    "ifconfig down": ([["ifconfig", "v0", "down"]], [["link", "set", "v0", "down"]]),
    "ifconfig inet6": ([["ifconfig", "v0", "inet6", "add", "2001:db8::5/64"]],
                       [["addr", "add", "2001:db8::5/64", "dev", "v0"]]),
    "route -net": ([["route", "add", "-net", "10.8.0.0", "netmask", "255.255.0.0", "gw",
                     "10.7.0.254", "metric", "5"]],
                   [["route", "add", "10.8.0.0/16", "via", "10.7.0.254", "metric", "5"]]),
    "route -host": ([["route", "add", "-host", "10.9.9.9", "gw", "10.7.0.254", "dev", "v0"]],
                    [["route", "add", "10.9.9.9", "via", "10.7.0.254", "dev", "v0"]]),
    "route default": ([["route", "add", "default", "gw", "10.7.0.254"]],
                      [["route", "add", "default", "via", "10.7.0.254"]]),
    "route reject": ([["route", "add", "-net", "10.10.0.0/16", "reject"]],
                     [["route", "add", "unreachable", "10.10.0.0/16"]]),
    "route del": ([["route", "add", "-net", "10.8.0.0", "netmask", "255.255.0.0", "gw",
                    "10.7.0.254"],
                   ["route", "del", "-net", "10.8.0.0", "netmask", "255.255.0.0"]], []),
    "arp -s": ([["arp", "-s", "10.7.0.9", "02:00:00:00:00:09"]],
               [["neigh", "replace", "10.7.0.9", "lladdr", "02:00:00:00:00:09", "dev", "v0",
                 "nud", "permanent"]]),
    "arp -d": ([["arp", "-i", "v0", "-s", "10.7.0.9", "02:00:00:00:00:09"],
                ["arp", "-d", "10.7.0.9"]], []),
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_classic_and_ip_spellings_agree(twins, name):
    a, b = twins
    classic, ip_style = SCENARIOS[name]
    before = _state(a)
    for argv in classic:
        sl(a, *argv)
    for argv in ip_style:
        sl(b, *argv)
    after = _state(a)
    assert after == _state(b)
    if ip_style:
        assert after != before  # the scenario changed something


@pytest.mark.parametrize("argv, hint", [
    (["ifconfig", "v0", "pointopoint", "10.7.0.2"], "socklab ifconfig IF"),
    (["ifconfig", "v0", "netmask", "255.255.255.0"], "socklab ifconfig v0 ADDR netmask M"),
    (["ifconfig", "v0", "10.7.0.5", "netmask", "255.0.255.0"], "bad netmask"),
    (["ifconfig", "v0:1", "mtu", "1400"], "socklab ifconfig v0"),
    (["route", "add", "-net", "10.8.0.0", "netmask", "255.255.0.0", "gw", "10.7.0.254",
      "mss", "1400", "v0"], "socklab route add NET/LEN via GW"),
    (["route", "-net", "10.8.0.0"], "route add -net"),
    (["arp", "-s", "10.7.0.9", "02:00:00:00:00"], "MAC"),
])
def test_wrong_classic_spellings_get_a_hint(twins, argv, hint):
    a, _ = twins
    before = _state(a)
    proc = run_cli("--netns", a.name, *argv)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and err.count("\n") == 1 and hint in err, err
    assert _state(a) == before


def _inet(ns):
    """(device, address, prefix length) of every IPv4 address: labels aside (an alias
    is how net-tools adds a second address)."""
    return sorted((link["ifname"], a["local"], a["prefixlen"])
                  for link in json.loads(ns.ip("-j", "addr"))
                  for a in link.get("addr_info", []) if a["family"] == "inet")


@pytest.mark.parametrize("args", [
    ["10.7.0.9/24", "dev", "v0"],  # v0 holds 10.7.0.1/24: 'ifconfig v0 ADDR' would replace it
    ["10.7.3.9/24", "dev", "v1"],  # v1 holds none
    ["10.7.4.9/24", "dev", "v0", "label", "v0:1"],
])
def test_addr_add_explains_a_classic_line_that_adds_as_ip_does(twins, args):
    """The classic line of --explain, run by the real ifconfig in one twin, and ip addr
    add in the other: the same addresses."""
    need_tool("ifconfig")
    a, b = twins
    proc = run_cli("--netns", a.name, "addr", "add", *args, "--explain")
    assert proc.returncode == 0, proc.stderr.decode()
    classic = next(line.split(None, 1)[1] for line in proc.stdout.decode().splitlines()
                   if line.startswith("classic:"))
    assert classic.startswith("ifconfig "), classic
    a.exec(*classic.split())
    b.ip("addr", "add", *args)
    assert _inet(a) == _inet(b)


def _classic_of(ns, *args):
    proc = run_cli("--netns", ns.name, *args, "--explain")
    assert proc.returncode == 0, proc.stderr.decode()
    return next(line.split(None, 1)[1] for line in proc.stdout.decode().splitlines()
                if line.startswith("classic:"))


@pytest.mark.parametrize(("target", "line"), [("10.7.0.1/24", "ifconfig v0 0.0.0.0"),
                                              ("10.7.1.5/24", "ifconfig v0:1 down")])
def test_addr_del_explains_a_classic_line_that_deletes_as_ip_does(twins, target, line):
    need_tool("ifconfig")
    a, b = twins
    for ns in twins:
        ns.ip("addr", "add", "10.7.1.5/24", "dev", "v0", "label", "v0:1")
    assert _classic_of(a, "addr", "del", target, "dev", "v0") == line
    a.exec(*line.split())
    b.ip("addr", "del", target, "dev", "v0")
    assert _inet(a) == _inet(b)


def test_addr_del_of_a_second_address_of_one_label_has_no_classic_line(twins):
    """'ifconfig v0 0.0.0.0' removes the first address labelled v0 (devinet_ioctl finds
    it by label), not the secondary one asked for: net-tools cannot say this."""
    need_tool("ifconfig")
    a, _ = twins
    a.ip("addr", "add", "10.7.0.2/24", "dev", "v0")  # a secondary, labelled v0
    assert _classic_of(a, "addr", "del", "10.7.0.2/24", "dev", "v0") == \
        "(net-tools has no spelling for this)"
    a.exec("ifconfig", "v0", "0.0.0.0")  # the line it used to show
    assert ("v0", "10.7.0.1", 24) not in _inet(a)
