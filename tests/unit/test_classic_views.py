"""The classic views (cli/stackview.py) on their own: net-tools' name order and byte
units, and no record, however odd its fields, makes a view fail. Pure: no socket."""

from __future__ import annotations

import functools

from hypothesis import given, settings
from hypothesis import strategies as st

from socklab.cli import stackview
from socklab.stack.model import Address, Link, LinkStats, Neighbour, Route

NAMES = st.text(st.sampled_from("abeth0129:²٣x-._"), min_size=1, max_size=15)


def test_nstrcmp_orders_as_ifconfig():
    names = ["veth10", "lo", "veth0:10", "eth2", "veth0", "eth10", "veth0:2", "br0", "veth0:1",
             "veth2", "eth10:1"]
    assert stackview.ifconfig_order(names) == [
        "br0", "eth2", "eth10", "eth10:1", "lo", "veth0", "veth0:1", "veth0:2", "veth0:10",
        "veth2", "veth10"]


@given(st.lists(NAMES, max_size=12))
def test_ifconfig_order_keeps_each_name_once(names):
    ordered = stackview.ifconfig_order(names)
    assert sorted(ordered) == sorted(set(names))


@given(NAMES, NAMES)
def test_nstrcmp_is_antisymmetric_and_its_key_agrees(a, b):
    n = stackview.nstrcmp(a, b)
    assert n == -stackview.nstrcmp(b, a)
    assert (n == 0) == (a == b)
    ka, kb = stackview.nstrcmp_key(a), stackview.nstrcmp_key(b)
    assert n == (ka > kb) - (ka < kb)


def insertion_order(names):
    """net-tools' own way (if_cache_add): insert each, walking back from the end."""
    out = []
    for name in names:
        i = len(out)
        while i > 0 and stackview.nstrcmp(out[i - 1], name) > 0:
            i -= 1
        if not (i > 0 and stackview.nstrcmp(out[i - 1], name) == 0):
            out.insert(i, name)
    return out


@given(st.lists(NAMES, max_size=12))
def test_ifconfig_order_is_net_tools_insertion(names):
    assert stackview.ifconfig_order(names) == insertion_order(names)


@given(st.integers(0, 2**64 - 1))
def test_byte_units_are_truncated_tenths(n):
    text = stackview.human_bytes(n)
    number, unit = text.split()
    scale = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "PiB": 2**50,
             "EiB": 2**60}[unit]
    whole, tenth = number.split(".")
    assert int(whole) * 10 + int(tenth) == n * 10 // scale
    assert unit == "B" or n > scale


ADDR = st.one_of(st.ip_addresses().map(str), st.text(max_size=20))
INT = st.integers(-(2**40), 2**40)


@st.composite
def links(draw):
    return Link(ifindex=draw(st.integers(1, 5)), name=draw(NAMES), kind=draw(st.text()),
                flags=(), ifflags=draw(st.integers(0, 2**20)), operstate="UP",
                mtu=draw(INT), address=draw(st.one_of(st.none(), st.binary(max_size=20)
                                                      .map(lambda b: b.hex(":")))),
                broadcast=None, qdisc=None, master=None, link=draw(st.none() | INT),
                link_netnsid=draw(st.none() | INT), txqlen=draw(st.none() | INT),
                stats=LinkStats(*draw(st.lists(st.integers(0, 2**64 - 1), min_size=23,
                                               max_size=23))),
                link_type=draw(st.none() | st.sampled_from([1, 772, 768, 776, 512, 65534, 0])),
                link_name=draw(st.none() | NAMES), link_netns=draw(st.none() | NAMES),
                ifmap=draw(st.none() | st.tuples(*[st.integers(0, 2**64 - 1)] * 5)))


@st.composite
def addresses(draw):
    return Address(ifindex=draw(st.integers(1, 5)), ifname=draw(NAMES),
                   family=draw(st.sampled_from(["inet", "inet6", "7"])), local=draw(ADDR),
                   prefixlen=draw(INT), scope=draw(st.sampled_from(["global", "link", "x"])),
                   label=draw(st.none() | NAMES), broadcast=draw(st.none() | ADDR),
                   peer=draw(st.none() | ADDR), flags=(), valid_lft=None, preferred_lft=None)


@st.composite
def routes(draw):
    hop = st.tuples(st.none() | ADDR, st.none() | NAMES, st.integers(1, 3))
    return Route(family=draw(st.sampled_from(["inet", "inet6"])),
                 table=draw(st.sampled_from(["main", "local", "100", "²", "named"])),
                 type=draw(st.sampled_from(["unicast", "local", "blackhole", "unreachable",
                                            "prohibit", "throw", "multicast", "99"])),
                 dst=draw(st.one_of(st.just("default"), ADDR, st.just("?/24"))),
                 dst_len=draw(INT), gateway=draw(st.none() | ADDR), dev=draw(st.none() | NAMES),
                 oif=None, prefsrc=None, metric=draw(st.integers(0, 2**32 - 1)),
                 protocol=draw(st.sampled_from(["kernel", "ra", "static"])), scope="global",
                 nexthops=tuple(draw(st.lists(hop, max_size=3))),
                 expires=draw(st.none() | st.integers(0, 10**6)))


@settings(max_examples=150, deadline=None)
@given(st.lists(links(), max_size=5), st.lists(addresses(), max_size=8),
       st.lists(routes(), max_size=8))
def test_views_take_any_record(links_, addrs, routes_):
    by_index = {link.ifindex: link for link in links_}
    stackview.ifconfig(list(by_index.values()), addrs)
    stackview.route_n(routes_)
    stackview.route6_n(routes_, {"named": 7})
    names = {link.ifindex: link.name for link in links_}
    for link in links_:
        stackview.link_row(link, names)
    neighbours = [Neighbour("inet", a.local, a.ifname, 1, None, ("INCOMPLETE",), False)
                  for a in addrs]
    stackview.arp_an(neighbours, {}, {})


def test_route6_null_entry_per_table_without_default():
    r = functools.partial(Route, family="inet6", gateway=None, oif=None, prefsrc=None,
                          metric=256, protocol="kernel", scope="link", dst_len=64)
    lines = stackview.route6_n([r(table="main", type="unicast", dst="fe80::/64", dev="eth0"),
                                r(table="local", type="local", dst="::1", dev="lo",
                                  dst_len=128, metric=0)], {"main": 254, "local": 255})
    assert lines[2:] == [
        "fe80::/64                      ::                         U    256 1      0 eth0",
        "::/0                           ::                         !n   -1  1      0 lo",
        "::1/128                        ::                         Un   0   1      0 lo",
        "::/0                           ::                         !n   -1  1      0 lo"]


def test_device_line_as_ifconfig_prints_it():
    link = Link(ifindex=2, name="eth0", kind="ether", flags=(), ifflags=0x1043, operstate="UP",
                mtu=1500, address="02:00:00:00:00:01", broadcast=None, qdisc=None, master=None,
                link=None, link_netnsid=None, txqlen=1000, link_type=1,
                ifmap=(0xFE9E0000, 0xFEA00000, 0, 16, 0))
    lines = stackview.ifconfig([link], [])
    assert lines[-2] == "        device interrupt 16  memory 0xfe9e0000-fea00000  "
    assert lines[-1] == ""
    assert stackview._device_line((0, 0, 0xE000, 0, 3)) == "        device base 0xe000    dma 0x3"


FIELD = st.one_of(st.text("0123456789abcdefx-", min_size=1, max_size=34),
                  st.sampled_from(["00000000000000000000000000000000", "40", "ffffffff", "lo"]))


@given(st.lists(st.lists(FIELD, min_size=9, max_size=11).map(" ".join), max_size=5))
def test_ipv6_route_refs_skip_what_they_cannot_read(lines):
    from socklab.stack import nettools

    good = "fe800000000000000000000000000000 40 00000000000000000000000000000000 00 " \
           "00000000000000000000000000000000 00000100 00000003 00000000 00000001 eth0"
    refs = nettools.parse_ipv6_route_refs("\n".join([*lines, good]))
    assert refs[("fe80::/64", "::", 256, "eth0")][-1] == 3


@given(st.binary(max_size=64))
def test_nsid_reply_decoder_gives_an_nsid_or_malformed(raw):
    from socklab.errors import Malformed
    from socklab.stack import rtnl

    try:
        nsid = rtnl.decode_nsid(memoryview(raw), 0, len(raw))
    except Malformed:  # a reply socklab cannot read: the caller leaves the peer unnamed
        return
    assert nsid is None or nsid >= 0
