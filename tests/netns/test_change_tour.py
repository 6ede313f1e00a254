"""The tour's change section, as root: every step with its classic command and the diff
against the first snapshot, in a scratch namespace that leaves nothing behind."""

import json
import subprocess

import pytest
from helpers import need_root, run_cli

pytestmark = pytest.mark.privileged


def _host():
    def ip(*args):
        return subprocess.run(["ip", "-j", *args], capture_output=True, text=True,
                              check=True).stdout
    links = [(lk["ifname"], lk["flags"], lk["mtu"]) for lk in json.loads(ip("link"))]
    # (not the list of named namespaces: other tests make and remove theirs meanwhile;
    # the scratch namespace has no name anyway)
    return links, ip("route", "show", "table", "all"), ip("rule")


def test_change_section_shows_each_step_and_leaves_nothing():
    need_root()
    before = _host()
    proc = run_cli("--json", "tour", "change")
    assert proc.returncode == 0, proc.stderr
    (section,) = json.loads(proc.stdout)
    assert section["status"] == "ok", section["reason"]
    classic = [s["value"] for s in section["steps"] if s.get("label") == "classic"]
    assert classic == ["ifconfig eth0 10.0.0.1 netmask 255.255.255.0 broadcast 10.0.0.255",
                       "ifconfig eth0:1 10.0.0.2 netmask 255.255.255.0 broadcast 10.0.0.255",
                       "ifconfig eth0 up",
                       "route add -net 192.168.50.0 netmask 255.255.255.0 gw 10.0.0.254",
                       "arp -i eth0 -s 10.0.0.254 02:00:00:00:00:fe",
                       "sysctl -w net.ipv4.ip_forward=1"]
    last = [s for s in section["steps"] if s["kind"] == "table"][-1]["data"]
    seen = {(d["change"], d["kind"], d["key"]) for d in last}
    assert {("added", "address", "eth0 10.0.0.2/24"),
            ("added", "route", "main unicast 192.168.50.0/24 metric 0"),
            ("added", "neighbour", "eth0 10.0.0.254"),
            ("changed", "sysctl", "net.ipv4.ip_forward")} <= seen
    assert _host() == before  # this machine untouched (in a namespace of its own)
