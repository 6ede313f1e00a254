"""diff of two snapshots reports exactly what differs, kind by kind; counters and timers
are no differences; a file that is not a snapshot is refused with BadInput."""

import contextlib
import copy
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socklab.errors import BadInput
from socklab.stack import snapshot

BASE = {
    "format": snapshot.FORMAT,
    "links": [
        {"ifindex": 1, "name": "lo", "kind": "loopback", "mtu": 65536, "flags": ["UP"],
         "stats": {"rx_bytes": 10}},
        {"ifindex": 2, "name": "v0", "kind": "veth", "mtu": 1500, "flags": ["UP"],
         "stats": {"rx_bytes": 0}},
    ],
    "addresses": [{"ifname": "v0", "local": "10.0.0.1", "prefixlen": 24, "label": "v0",
                   "valid_lft": None, "preferred_lft": None, "family": "inet"}],
    "routes": [{"family": "inet", "table": "main", "type": "unicast", "dst": "10.0.0.0/24",
                "metric": 0, "tos": 0, "gateway": None, "dev": "v0"},
               {"family": "inet6", "table": "main", "type": "unicast", "dst": "fe80::/64",
                "metric": 256, "tos": 0, "gateway": None, "dev": "v0"},
               {"family": "inet6", "table": "main", "type": "unicast", "dst": "fe80::/64",
                "metric": 256, "tos": 0, "gateway": None, "dev": "v1"}],
    "rules": [{"family": "inet", "priority": 0, "src": "all", "dst": "all",
               "action": "lookup", "table": "local"}],
    "neighbours": [{"dev": "v0", "dst": "10.0.0.2", "lladdr": "02:00:00:00:00:02",
                    "state": ["REACHABLE"]}],
    "sysctl": {"net.ipv4.ip_forward": "0", "net.ipv4.conf.v0.forwarding": "0"},
}


def _diff(edit):
    after = copy.deepcopy(BASE)
    edit(after)
    return [(d.change, d.kind, d.key, d.fields) for d in snapshot.diff(BASE, after)]


def test_no_change_no_difference():
    assert _diff(lambda s: None) == []


def test_counters_and_timers_are_no_differences():
    def edit(s):
        s["links"][1]["stats"] = {"rx_bytes": 999}
        s["addresses"][0]["valid_lft"] = 30
        s["neighbours"][0]["state"] = ["STALE"]
    assert _diff(edit) == []


def test_each_kind_reports_exactly_its_difference():
    assert _diff(lambda s: s["links"][1].update(mtu=1400)) == [
        ("changed", "links", "v0", {"mtu": (1500, 1400)})]
    assert _diff(lambda s: s["addresses"].append(
        {"ifname": "v0", "local": "10.0.0.2", "prefixlen": 24, "label": "v0:1"})) == [
        ("added", "addresses", "v0 10.0.0.2/24", None)]
    assert _diff(lambda s: s["routes"][0].update(gateway="10.0.0.254")) == [
        ("changed", "routes", "main unicast 10.0.0.0/24 metric 0",
         {"gateway": (None, "10.0.0.254")})]
    assert _diff(lambda s: s["routes"].pop(2)) == [
        ("removed", "routes", "main unicast fe80::/64 metric 256 dev v1", None)]
    assert _diff(lambda s: s["rules"].append(
        {"family": "inet", "priority": 100, "src": "10.0.0.0/24", "dst": "all",
         "action": "lookup", "table": "100"})) == [
        ("added", "rules", "inet 100 from 10.0.0.0/24 to all lookup 100", None)]
    assert _diff(lambda s: s["neighbours"][0].update(state=["PERMANENT"])) == [
        ("changed", "neighbours", "v0 10.0.0.2", {"state": (["(timed)"], ["PERMANENT"])})]
    assert _diff(lambda s: s["neighbours"][0].update(lladdr="02:00:00:00:00:03")) == [
        ("changed", "neighbours", "v0 10.0.0.2",
         {"lladdr": ("02:00:00:00:00:02", "02:00:00:00:00:03")})]
    assert _diff(lambda s: s["sysctl"].update({"net.ipv4.ip_forward": "1"})) == [
        ("changed", "sysctl", "net.ipv4.ip_forward", {"value": ("0", "1")})]


def test_a_removed_link_takes_its_own_sysctls_along():
    def edit(s):
        s["links"].pop(1)
        del s["sysctl"]["net.ipv4.conf.v0.forwarding"]
    assert _diff(edit) == [("removed", "links", "v0", None)]


def test_snapshots_without_sysctls_compare_the_rest():
    def edit(s):
        s["sysctl"] = None
        s["links"][1]["mtu"] = 1400
    assert _diff(edit) == [("changed", "links", "v0", {"mtu": (1500, 1400)})]
    assert snapshot.load(json.dumps({**BASE, "sysctl": None}).encode())["sysctl"] is None


def test_load_round_trip_and_refusals():
    assert snapshot.load(json.dumps(BASE).encode()) == BASE
    for bad in (b"", b"[]", b"{}", b"not json", json.dumps({**BASE, "routes": {}}).encode(),
                json.dumps({**BASE, "sysctl": {"k": 1}}).encode(),
                json.dumps({**BASE, "links": [1]}).encode(), b"[" * 100000):
        with pytest.raises(BadInput):
            snapshot.load(bad)


@given(st.binary(max_size=200))
def test_load_raises_only_bad_input(raw):
    with contextlib.suppress(BadInput):
        snapshot.load(raw)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                           lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                           max_leaves=10)


@given(st.lists(st.dictionaries(st.sampled_from(["name", "dst", "dev", "table", "metric",
                                                 "priority", "state", "local"]),
                                json_values, max_size=5), max_size=4))
def test_diff_of_any_loaded_snapshot_is_symmetric(items):
    a = copy.deepcopy(BASE)
    b = copy.deepcopy(BASE)
    for kind in snapshot.KINDS[:-1]:
        b[kind] = b[kind] + items
    a = snapshot.load(json.dumps(a).encode())
    b = snapshot.load(json.dumps(b).encode())
    forward = snapshot.diff(a, b)
    backward = snapshot.diff(b, a)
    assert sorted(d.change for d in forward if d.change != "changed") == \
        sorted({"added": "removed", "removed": "added"}[d.change] for d in backward
               if d.change != "changed")
