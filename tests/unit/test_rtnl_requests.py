"""Requests socklab builds decode back to the same fields with the reply decoders.

The encoder (stack/rtnl_requests.py) and the decoders (stack/rtnl.py) share one
table of layouts and numbers: Hypothesis draws the fields, builds the request,
and the decoder must return exactly them. The extended ack parser and the
--dry-run describer are checked on the same bytes.
"""

import contextlib
import socket
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socklab.errors import BadInput
from socklab.kernel import netlink
from socklab.stack import rtnl
from socklab.stack import rtnl_requests as rq

u32 = st.integers(0, 2**32 - 1)
index = st.integers(1, 2**31 - 1)
ifname = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="/"),
                 min_size=1, max_size=15)
mac = st.binary(min_size=6, max_size=6)
v4 = st.binary(min_size=4, max_size=4)
v6 = st.binary(min_size=16, max_size=16)


def _ip(raw):
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


@given(index, ifname, st.integers(68, 65535), mac, u32, st.none() | index,
       st.integers(0, 0xFFFFF))
def test_link_round_trip(ifindex, name, mtu, address, txqlen, master, flags):
    payload = rq.link_msg(ifindex, flags=flags, change=0xFFFFFFFF, name=name, mtu=mtu,
                          address=address, txqlen=txqlen, master=master, kind="bridge")
    link = rtnl.decode_link(memoryview(payload), 0, len(payload))
    assert (link.ifindex, link.name, link.mtu, link.address, link.txqlen, link.master,
            link.ifflags, link.kind) == (ifindex, name, mtu, address.hex(":"), txqlen, master,
                                         flags, "bridge")


@given(st.sampled_from([v4, v6]).flatmap(lambda s: st.tuples(s, s, st.just(0)))
       .flatmap(lambda t: st.tuples(st.just(t[0]), st.just(t[1]),
                                    st.integers(0, len(t[0]) * 8))),
       index, st.sampled_from(sorted(rtnl.SCOPES)), st.none() | ifname, st.booleans())
def test_addr_round_trip(addrs, ifindex, scope, label, with_brd):
    local, peer, plen = addrs
    family = socket.AF_INET if len(local) == 4 else socket.AF_INET6
    brd = peer if with_brd and family == socket.AF_INET else None
    payload = rq.addr_msg(family, plen, ifindex, local, scope=scope, peer=peer, broadcast=brd,
                          label=label)
    a = rtnl.decode_addr(memoryview(payload), 0, len(payload), {ifindex: "eth0"})
    assert a.family == ("inet" if family == socket.AF_INET else "inet6")
    assert (a.local, a.prefixlen, a.scope, a.label, a.ifindex, a.ifname) == (
        _ip(local), plen, rtnl.SCOPES[scope], label, ifindex, "eth0")
    assert a.peer == (None if peer == local else _ip(peer))
    assert a.broadcast == (None if brd is None else _ip(brd))


route_types = st.sampled_from(["unicast", "blackhole", "unreachable", "prohibit"])


@given(st.sampled_from([4, 16]).flatmap(
           lambda n: st.tuples(st.binary(min_size=n, max_size=n), st.integers(0, n * 8),
                               st.none() | st.binary(min_size=n, max_size=n),
                               st.none() | st.binary(min_size=n, max_size=n),
                               st.lists(st.tuples(st.none() | st.binary(min_size=n,
                                                                        max_size=n),
                                                  st.integers(1, 50), st.integers(1, 256)),
                                        max_size=3))),
       st.integers(1, 2**32 - 1), st.sampled_from(sorted(rtnl.PROTOCOLS)),
       st.sampled_from(sorted(rtnl.SCOPES)), route_types, st.none() | st.integers(1, 50), u32)
def test_route_round_trip(fields, table, proto, scope, rtype, oif, metric):
    dst, dst_len, gw, src, hops = fields
    family = socket.AF_INET if len(dst) == 4 else socket.AF_INET6
    names = {i: f"if{i}" for i in range(1, 51)}
    nexthops = [rq.Nexthop(g, i, w) for g, i, w in hops]
    payload = rq.route_msg(family, dst, dst_len, table=table, protocol=proto, scope=scope,
                           rtype=rtnl.ROUTE_TYPES.index(rtype), gateway=gw, oif=oif,
                           prefsrc=src, metric=metric, nexthops=nexthops)
    r = rtnl.decode_route(memoryview(payload), 0, len(payload), names)
    host = 32 if family == socket.AF_INET else 128
    assert r.dst == (_ip(dst) if dst_len == host else f"{_ip(dst)}/{dst_len}")
    assert (r.dst_len, r.table, r.protocol, r.scope, r.type, r.metric) == (
        dst_len, rtnl.table_name(table), rtnl.PROTOCOLS[proto], rtnl.SCOPES[scope], rtype,
        metric)
    assert r.gateway == (None if gw is None else _ip(gw))
    assert r.prefsrc == (None if src is None else _ip(src))
    assert (r.oif, r.dev) == (oif, None if oif is None else f"if{oif}")
    assert r.nexthops == tuple((None if g is None else _ip(g), f"if{i}", w)
                               for g, i, w in hops)


@given(st.sampled_from([4, 16]).flatmap(
           lambda n: st.tuples(st.none() | st.binary(min_size=n, max_size=n),
                               st.integers(0, n * 8),
                               st.none() | st.binary(min_size=n, max_size=n),
                               st.integers(0, n * 8))),
       st.integers(1, 2**32 - 1), st.none() | u32, st.none() | ifname, st.none() | ifname,
       st.none() | u32, st.none() | u32)
def test_rule_round_trip(sel, table, priority, iif, oif, fwmark, fwmask):
    src, src_len, dst, dst_len = sel
    family = socket.AF_INET if len(src or dst or b"1234") == 4 else socket.AF_INET6
    payload = rq.rule_msg(family, table=table, priority=priority, src=src, src_len=src_len,
                          dst=dst, dst_len=dst_len, iif=iif, oif=oif, fwmark=fwmark,
                          fwmask=fwmask)
    r = rtnl.decode_rule(memoryview(payload), 0, len(payload))
    assert (r.action, r.table, r.priority, r.iif, r.oif, r.fwmark, r.fwmask) == (
        "lookup", rtnl.table_name(table), priority or 0, iif, oif, fwmark, fwmask)
    assert r.src == ("all" if src is None else f"{_ip(src)}/{src_len}")
    assert r.dst == ("all" if dst is None else f"{_ip(dst)}/{dst_len}")


@given(st.sampled_from([v4, v6]).flatmap(lambda s: s), index, mac,
       st.sampled_from([bit for bit, _ in rtnl.NUD_STATES]))
def test_neigh_round_trip(dst, ifindex, lladdr, state):
    family = socket.AF_INET if len(dst) == 4 else socket.AF_INET6
    payload = rq.neigh_msg(family, ifindex, dst, state=state, lladdr=lladdr)
    n = rtnl.decode_neigh(memoryview(payload), 0, len(payload), {ifindex: "eth0"})
    assert (n.dst, n.dev, n.lladdr, n.state) == (
        _ip(dst), "eth0", lladdr.hex(":"), tuple(name for bit, name in rtnl.NUD_STATES
                                                  if bit == state))


@given(ifname, ifname)
def test_veth_request_described_field_by_field(name, peer):
    payload = rq.link_msg(0, name=name, kind="veth", info_data=rq.veth_data(peer))
    msg = netlink.message(rtnl.RTM_NEWLINK, netlink.NLM_F_REQUEST | netlink.NLM_F_ACK
                          | netlink.NLM_F_CREATE | netlink.NLM_F_EXCL, payload)
    fields = rq.describe(msg)
    assert ("nlmsg_type", f"RTM_NEWLINK ({rtnl.RTM_NEWLINK})") in fields
    assert ("IFLA_IFNAME", repr(name)) in fields
    assert ("  IFLA_INFO_KIND", "'veth'") in fields
    assert ("      IFLA_IFNAME", repr(peer)) in fields  # the peer's own ifinfomsg
    assert "NLM_F_CREATE" in dict(fields)["nlmsg_flags"]


@given(st.binary(max_size=80))
def test_describe_raises_only_bad_input(raw):
    with contextlib.suppress(BadInput):
        rq.describe(netlink.message(rq.RTM_DELROUTE, 1, raw))


def _error_reply(code, request, text, capped=True):
    inner = request[:16] if capped else request
    tlv = netlink.attr(netlink.NLMSGERR_ATTR_MSG, text + b"\0") if text is not None else b""
    flags = (netlink.NLM_F_CAPPED if capped else 0) | (netlink.NLM_F_ACK_TLVS if tlv else 0)
    return struct.pack("=i", -code) + inner + tlv, flags


@pytest.mark.parametrize("capped", [True, False])
def test_ext_ack_message_is_read(capped):
    request = netlink.message(rtnl.RTM_NEWLINK, 5, rq.link_msg(3, mtu=10))
    payload, flags = _error_reply(22, request, b"mtu less than device minimum", capped)
    assert netlink.ack_error(payload, flags, 0, len(payload)) == (
        22, "mtu less than device minimum")
    plain, flags = _error_reply(22, request, None, capped)
    assert netlink.ack_error(plain, flags, 0, len(plain)) == (22, None)


@given(st.binary(max_size=64), st.integers(0, 0xFFFF))
def test_ack_error_raises_only_its_own_errors(raw, flags):
    from socklab.errors import Malformed

    with contextlib.suppress(netlink.NetlinkAckError, Malformed):
        netlink.ack_error(raw, flags, 0, len(raw))
