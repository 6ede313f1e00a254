"""The layout decoder of link dumps (rtnl.link_decoder) against the one-message
decoder (rtnl.decode_link), on generated RTM_NEWLINK payloads: the attributes
decode_link reads among others, odd sizes, nested link info, counters short and
full, attributes cut short, layouts repeated and alternating. Every message:
the same Link, or a SocklabError where decode_link has one."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from socklab.errors import SocklabError
from socklab.kernel import netlink
from socklab.stack import rtnl

U32 = struct.Struct("=I")


def _attr(atype: int, body: bytes) -> bytes:
    return netlink.attr(atype, body)


NAMES = st.sampled_from([b"lo\0", b"a1\0", b"a10\0", b"veth100\0", b"br0\0", b"\xff\xfe\0"])
ATTRS = st.one_of(
    st.builds(lambda b: _attr(rtnl.IFLA_IFNAME, b), NAMES),
    st.builds(lambda n: _attr(rtnl.IFLA_MTU, U32.pack(n)), st.sampled_from([1500, 65536])),
    st.builds(lambda b: _attr(rtnl.IFLA_ADDRESS, b), st.binary(min_size=6, max_size=6)),
    st.builds(lambda b: _attr(rtnl.IFLA_BROADCAST, b), st.sampled_from([b"\xff" * 6, b""])),
    st.builds(lambda b: _attr(rtnl.IFLA_QDISC, b), st.sampled_from([b"noqueue\0", b"noop\0"])),
    st.builds(lambda n: _attr(rtnl.IFLA_MASTER, U32.pack(n)), st.integers(1, 9)),
    st.builds(lambda n: _attr(rtnl.IFLA_LINK, U32.pack(n)), st.integers(1, 9)),
    st.builds(lambda n: _attr(rtnl.IFLA_LINK_NETNSID, struct.pack("=i", n)),
              st.sampled_from([-1, 0, 3])),
    st.builds(lambda n: _attr(rtnl.IFLA_TXQLEN, U32.pack(n)), st.sampled_from([0, 1000])),
    st.builds(lambda n: _attr(rtnl.IFLA_GROUP, U32.pack(n)), st.sampled_from([0, 7])),
    st.builds(lambda b: _attr(rtnl.IFLA_OPERSTATE, b), st.sampled_from([b"\x06", b"\x02",
                                                                          b"\x09", b""])),
    st.builds(lambda b: _attr(rtnl.IFLA_IFALIAS, b), st.sampled_from([b"uplink\0", b"x"])),
    st.builds(lambda b: _attr(rtnl.IFLA_LINKINFO, b), st.sampled_from([
        _attr(rtnl.IFLA_INFO_KIND, b"veth\0"), _attr(rtnl.IFLA_INFO_KIND, b"bridge\0")
        + _attr(2, bytes(12)), b"\x03", b""])),
    st.builds(lambda v: _attr(rtnl.IFLA_STATS64, rtnl.STATS64_FULL.pack(*v)),
              st.lists(st.integers(0, 2**64 - 1), min_size=23, max_size=23)),
    st.builds(lambda v: _attr(rtnl.IFLA_STATS64, rtnl.STATS64.pack(*v)),
              st.lists(st.integers(0, 1000), min_size=10, max_size=10)),
    st.builds(lambda b: _attr(rtnl.IFLA_STATS64, b), st.binary(max_size=12)),
    st.builds(lambda b: _attr(rtnl.IFLA_MAP, b), st.sampled_from([bytes(rtnl.IFMAP.size),
                                                                   b"\x01" * rtnl.IFMAP.size])),
    st.builds(_attr, st.integers(30, 60), st.binary(max_size=9)),  # any other, odd sizes
)


@st.composite
def payloads(draw: st.DrawFn) -> bytes:
    header = rtnl.IFINFOMSG.pack(0, draw(st.sampled_from([1, 772, 65534, 9])),
                                 draw(st.integers(1, 9)),
                                 draw(st.sampled_from([0x1003, 0x11043, 0x1, 0x0])), 0)
    payload = header + b"".join(draw(st.lists(ATTRS, max_size=10)))
    if draw(st.integers(0, 9)) == 0:  # now and then, cut anywhere (a header too)
        payload = payload[:draw(st.integers(0, len(payload)))]
    return payload


def _decoded(decode: object, payload: bytes) -> object:
    assert callable(decode)
    try:
        return decode(memoryview(payload), 0, len(payload))
    except SocklabError as exc:
        return type(exc)


@settings(max_examples=400, deadline=None)
@given(st.lists(payloads(), min_size=1, max_size=6), st.lists(st.integers(0, 5), max_size=30))
def test_layout_decoder_equals_one_message_decoder(kinds, order):
    decode = rtnl.link_decoder()
    for payload in [kinds[i % len(kinds)] for i in order] or kinds:
        assert _decoded(decode, payload) == _decoded(rtnl.decode_link, payload)


def test_a_message_of_a_known_length_with_other_headers_is_walked_again():
    """Same length, same layout of headers but for one type: not taken for the layout."""
    base = rtnl.IFINFOMSG.pack(0, 1, 3, 0x1003, 0)
    one = base + _attr(rtnl.IFLA_IFNAME, b"a1\0") + _attr(rtnl.IFLA_MTU, U32.pack(1500))
    other = base + _attr(rtnl.IFLA_IFNAME, b"a1\0") + _attr(rtnl.IFLA_TXQLEN, U32.pack(1500))
    decode = rtnl.link_decoder()
    first, second = (decode(memoryview(p), 0, len(p)) for p in (one, other))
    assert (first.mtu, first.txqlen) == (1500, None)
    assert (second.mtu, second.txqlen) == (0, 1500)
