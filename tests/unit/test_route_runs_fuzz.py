"""The layout decoder of route dumps (stack/route_runs.py) against the one-message
decoder, on chunks of generated RTM_NEWROUTE messages: well-formed, odd and
malformed attributes, layouts repeated and alternating (as metrics of 0 and not
make them). Equal routes, rows and JSON texts, or a SocklabError where
decode_route has one."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from socklab.cli import render
from socklab.errors import SocklabError
from socklab.kernel import netlink
from socklab.stack import route_runs, rtnl
from socklab.stack.model import Route

NAMES = {1: "lo", 2: "eth0", 7: "veth7"}
U32 = struct.Struct("=I")


def _attr(atype: int, body: bytes) -> bytes:
    return netlink.attr(atype, body)


ATTRS = st.one_of(
    st.builds(lambda b: _attr(rtnl.RTA_DST, b), st.binary(min_size=4, max_size=4)),
    st.builds(lambda b: _attr(rtnl.RTA_DST, b), st.binary(min_size=16, max_size=16)),
    st.builds(lambda b: _attr(rtnl.RTA_GATEWAY, b), st.sampled_from(
        [bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]), bytes(15) + b"\x01"])),
    st.builds(lambda b: _attr(rtnl.RTA_PREFSRC, b), st.sampled_from([bytes([10, 0, 0, 9])])),
    st.builds(lambda n: _attr(rtnl.RTA_OIF, U32.pack(n)), st.sampled_from([1, 2, 7, 99])),
    st.builds(lambda n: _attr(rtnl.RTA_PRIORITY, U32.pack(n)), st.integers(0, 2**32 - 1)),
    st.builds(lambda n: _attr(rtnl.RTA_TABLE, U32.pack(n)), st.sampled_from([254, 255, 70000])),
    st.builds(lambda n: _attr(rtnl.RTA_CACHEINFO, struct.pack("=IIiIIIII", 0, 0, n, 0, 0, 0,
                                                               0, 0)), st.integers(0, 10**6)),
    st.builds(_attr, st.integers(0, 40), st.binary(max_size=9)),  # any other, odd sizes
)


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    family = draw(st.sampled_from([2, 10, 2, 7]))
    header = rtnl.RTMSG.pack(family, draw(st.sampled_from([0, 8, 24, 32, 48, 128, 200])), 0,
                             draw(st.integers(0, 3)), draw(st.sampled_from([254, 255, 252])),
                             draw(st.sampled_from([2, 3, 186])), draw(st.sampled_from([0, 253])),
                             draw(st.integers(0, 14)), draw(st.sampled_from([0, 4, 0x11])))
    payload = header + b"".join(draw(st.lists(ATTRS, max_size=6)))
    if draw(st.integers(0, 19)) == 0:  # now and then, an attribute cut short
        payload = payload[:draw(st.integers(rtnl.RTMSG.size, len(payload)))]
    return netlink.message(rtnl.RTM_NEWROUTE, netlink.NLM_F_MULTI, payload)


@settings(max_examples=400, deadline=None)
@given(st.lists(messages(), min_size=1, max_size=6), st.lists(st.integers(0, 5), max_size=40))
def test_layout_decoder_equals_one_message_decoder(kinds, order):
    msgs = [kinds[i % len(kinds)] for i in order] or kinds  # layouts repeated, alternating
    chunk = b"".join(msgs) + netlink.message(netlink.NLMSG_DONE, netlink.NLM_F_MULTI,
                                             U32.pack(0))
    view = memoryview(bytearray(chunk))
    expected: list[object] | None = []
    off = 0
    for m in msgs:
        try:
            length = U32.unpack_from(m)[0]  # the header's length: the padding is not in it
            expected.append(rtnl.decode_route(view, off + 16, off + length, NAMES, {}))
        except SocklabError:
            expected = None
            break
        off += netlink.align(len(m))
    encode = render.json_item_encoder()
    for as_rows, json in ((False, False), (True, False), (False, True)):
        decode = route_runs.route_chunk_decoder(NAMES, {}, as_rows,
                                                encode=encode if json else None)
        try:
            got, done = decode(view, len(chunk))
        except SocklabError:
            assert expected is None  # refused only what the one-message decoder refuses
            continue
        assert done
        assert expected is not None
        if json:  # the bytes write_json_stream makes of each record
            assert got == [encode(render.record_converter(Route)(r)) for r in expected]
        else:
            assert got == ([route_runs.route_row(r) for r in expected] if as_rows else expected)
