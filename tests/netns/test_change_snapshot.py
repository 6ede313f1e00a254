"""snapshot and diff in a fresh namespace: each change shows up in the diff as itself, the
undo brings back "no differences" (exit 0), and the snapshot holds what ip -j shows."""

import json

import pytest
from helpers import run_cli

pytestmark = pytest.mark.privileged


def sl(ns, *args, code=0):
    proc = run_cli("--netns", ns.name, *args)
    assert proc.returncode == code, proc.stderr.decode()
    return proc.stdout.decode()


@pytest.fixture
def lab(netns):
    for scope in ("all", "default"):
        netns.exec("sysctl", "-qw", f"net.ipv6.conf.{scope}.disable_ipv6=1")
    netns.ip("link", "add", "v0", "type", "veth", "peer", "name", "v1")
    netns.ip("addr", "add", "10.7.0.1/24", "dev", "v0")
    netns.ip("link", "set", "v0", "up")  # v1 stays down: no carrier, nothing on a timer
    return netns


def test_each_change_is_seen_and_the_undo_restores_the_snapshot(lab, tmp_path):
    before = tmp_path / "before.json"
    before.write_text(sl(lab, "snapshot"))
    steps = [
        (["addr", "add", "10.7.0.2/24", "dev", "v0", "label", "v0:1"],
         ["addr", "del", "10.7.0.2/24", "dev", "v0"],
         "+ address v0 10.7.0.2/24 (family inet, scope global, label v0:1)"),
        (["link", "set", "v0", "mtu", "1400"], ["link", "set", "v0", "mtu", "1500"],
         "~ link v0: mtu 1500 -> 1400"),
        (["route", "add", "10.8.0.0/16", "via", "10.7.0.254"],
         ["route", "del", "10.8.0.0/16"],
         "+ route main unicast 10.8.0.0/16 metric 0 (gateway 10.7.0.254, dev v0, "
         "protocol boot, scope global)"),
        (["rule", "add", "priority", "100", "from", "10.7.0.0/24", "lookup", "100"],
         ["rule", "del", "priority", "100"],
         "+ rule inet 100 from 10.7.0.0/24 to all lookup 100"),
        (["neigh", "add", "10.7.0.9", "lladdr", "02:00:00:00:00:09", "dev", "v0"],
         ["neigh", "del", "10.7.0.9", "dev", "v0"],
         "+ neighbour v0 10.7.0.9 (lladdr 02:00:00:00:00:09, state PERMANENT)"),
        (["sysctl", "-w", "net.ipv4.conf.v0.rp_filter=2"],
         ["sysctl", "-w", "net.ipv4.conf.v0.rp_filter=0"],
         "~ sysctl net.ipv4.conf.v0.rp_filter: 0 -> 2"),
    ]
    for do, undo, seen in steps:
        sl(lab, *do)
        lines = sl(lab, "diff", str(before), code=1).splitlines()
        assert seen in lines, (do, lines)
        sl(lab, *undo)
        assert sl(lab, "diff", str(before)) == "no differences\n"


def test_link_added_then_removed(lab, tmp_path):
    before = tmp_path / "before.json"
    before.write_text(sl(lab, "snapshot"))
    sl(lab, "link", "add", "br0", "type", "bridge")
    after = tmp_path / "after.json"
    after.write_text(sl(lab, "snapshot"))
    found = json.loads(sl(lab, "--json", "diff", str(before), str(after), code=1))
    assert [(d["change"], d["kind"], d["key"]) for d in found] == [("added", "link", "br0")]
    assert found[0]["after"]["kind"] == "bridge"
    sl(lab, "link", "del", "br0")
    assert sl(lab, "diff", str(before)) == "no differences\n"
    assert sl(lab, "diff", str(after), code=1).splitlines()[0].startswith("- link br0")


def test_snapshot_holds_what_ip_shows(lab):
    snap = json.loads(sl(lab, "snapshot"))
    links = json.loads(lab.ip("-j", "link"))
    assert [lk["name"] for lk in snap["links"]] == [lk["ifname"] for lk in links]
    routes = json.loads(lab.ip("-j", "route", "show", "table", "all"))
    assert sorted(r["dst"] for r in snap["routes"] if r["family"] == "inet") == \
        sorted(r["dst"] for r in routes)
    assert snap["sysctl"]["net.ipv4.ip_forward"] == "0"
    assert {(a["ifname"], a["local"]) for a in snap["addresses"]} == {
        ("lo", "127.0.0.1"), ("v0", "10.7.0.1")}


def test_diff_refuses_what_is_no_snapshot(lab, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"links": []}')
    for args in (["diff", str(bad)], ["diff", str(tmp_path / "missing.json")]):
        proc = run_cli("--netns", lab.name, *args)
        assert proc.returncode == 2 and proc.stderr.decode().count("\n") == 1
