"""socklab.change in a fresh namespace: the change is made as ``ip -j`` then shows it,
the kernel's refusal names the operation with its extended ack, a dry run sends
nothing."""

import json

import pytest

from socklab import BadInput, NetworkError, NotFound
from socklab.stack import change

pytestmark = pytest.mark.privileged


def _ipj(ns, *args):
    return json.loads(ns.ip("-j", *args) or "[]")


def test_veth_pair_up_with_address_and_route(netns):
    made = change.link_add("v0", "veth", peer="v1", netns=netns.name)
    assert made.sent and made.ip == "ip link add v0 type veth peer name v1"
    change.link_set("v0", up=True, mtu=1400, netns=netns.name)
    change.addr_add("10.7.0.1/24", "v0", netns=netns.name)
    change.route_add("10.8.0.0/16", via="10.7.0.254", metric=7, netns=netns.name)
    (v0,) = _ipj(netns, "link", "show", "v0")
    assert (v0["mtu"], "UP" in v0["flags"], v0["link"]) == (1400, True, "v1")
    (addr,) = _ipj(netns, "-4", "addr", "show", "v0")[0]["addr_info"]
    assert (addr["local"], addr["prefixlen"]) == ("10.7.0.1", 24)
    (route,) = _ipj(netns, "-d", "route", "show", "10.8.0.0/16")
    assert (route["gateway"], route["dev"], route["metric"], route["protocol"]) == (
        "10.7.0.254", "v0", 7, "boot")


def test_kernel_refusal_carries_the_extended_ack(netns):
    change.link_add("v0", "veth", peer="v1", netns=netns.name)
    with pytest.raises(NetworkError) as err:
        change.link_set("v0", mtu=10, netns=netns.name)
    assert str(err.value) == ("set link v0 mtu 10: Invalid argument "
                              "(mtu less than device minimum)")
    assert _ipj(netns, "link", "show", "v0")[0]["mtu"] == 1500


def test_dry_run_sends_nothing(netns):
    planned = change.link_add("br9", "bridge", netns=netns.name, dry_run=True)
    assert not planned.sent and len(planned.requests) == 1
    assert [link["ifname"] for link in _ipj(netns, "link")] == ["lo"]


def test_checks_come_before_the_kernel(netns):
    with pytest.raises(NotFound):
        change.addr_add("10.0.0.1/24", "nosuch0", netns=netns.name)
    with pytest.raises(BadInput):
        change.route_add("10.0.0.0/33", dev="lo", netns=netns.name)


def test_a_session_sees_its_own_changes(netns):
    """In one session, a route through a gateway that an address added just before made
    reachable is accepted: what a change alters is read again."""
    with change.session(netns=netns.name):
        change.link_add("v0", "veth", peer="v1", netns=netns.name)
        change.link_set("v0", up=True, netns=netns.name)
        change.addr_add("10.7.0.1/24", "v0", netns=netns.name)
        change.route_add("10.8.0.0/16", via="10.7.0.254", netns=netns.name)
        for i in range(50):
            change.route_add(f"10.9.{i}.0/24", via="10.7.0.254", netns=netns.name)
        with pytest.raises(BadInput):  # still checked against the namespace's state
            change.route_add("10.10.0.0/16", via="10.99.0.1", netns=netns.name)
    routes = _ipj(netns, "route", "show", "proto", "boot")
    assert len(routes) == 51 and all(r["gateway"] == "10.7.0.254" for r in routes)
