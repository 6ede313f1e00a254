"""Decoders and parsers raise only socklab's errors, whatever they are fed.

Every public decoder of kernel replies (netlink, sock_diag, rtnetlink), every
/proc/net parser, the endpoint parser and the ICMP decoder get random bytes or
text, and valid messages (built here as the kernel lays them out) cut short at
every length, mutated, and followed by trailing data, as h11's fuzz harness
feeds its readers. Anything but a SocklabError escaping fails the test
(Go's netip fuzz test: "only our parse error escapes"), but for one documented
case: a netlink error reply the kernel could send (an errno from 1 to 4095) is
raised as OSError by ``netlink.control``, for the caller that knows the
operation to translate (rule 2 of ``kernel/netlink.py``).
"""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socklab.errors import BadAddress, Malformed, SocklabError
from socklab.kernel import netlink
from socklab.probe import icmp
from socklab.socktable import diag
from socklab.socktable import procsockets as sock_procfiles
from socklab.stack import nettools as stack_nettools
from socklab.stack import rtnl
from socklab.talk.endpoint import parse_endpoint

attr = netlink.attr


def nlmsg(mtype: int, body: bytes) -> bytes:
    return netlink.message(mtype, netlink.NLM_F_MULTI, body)


def done() -> bytes:
    return nlmsg(netlink.NLMSG_DONE, struct.pack("=i", 0))


# -- valid messages, as the kernel lays them out --------------------------------

def inet_msg(family: int = socket.AF_INET, state: int = 10, ext: bool = False,
             raw: bool = False, v6only: int | None = None) -> bytes:
    size = 4 if family == socket.AF_INET else 16
    src = (b"\x7f\0\0\1" if size == 4 else socket.inet_pton(socket.AF_INET6, "::1"))
    body = diag.INET_DIAG_MSG.pack(family, state, 1, 0, socket.htons(22), 0,
                                   src.ljust(16, b"\0"), bytes(16), 0, 7, 100, 1, 2, 0, 42)
    body += attr(8, b"\0")  # INET_DIAG_SHUTDOWN
    if v6only is not None:
        body += attr(diag.INET_DIAG_SKV6ONLY, bytes([v6only]))
    if raw:
        body += attr(diag.INET_DIAG_PROTOCOL, b"\x01")
    if ext:
        body += attr(diag.INET_DIAG_SKMEMINFO, diag.SKMEM.pack(*range(9)))
        body += attr(diag.INET_DIAG_INFO, bytes(range(200)))
        body += attr(diag.INET_DIAG_CONG, b"cubic\0")
    return nlmsg(diag.SOCK_DIAG_BY_FAMILY, body)


def unix_msg() -> bytes:
    body = diag.UNIX_DIAG_MSG.pack(socket.AF_UNIX, socket.SOCK_STREAM, 10, 99, 5)
    body += attr(diag.UNIX_DIAG_NAME, b"/run/x.sock\0") + attr(diag.UNIX_DIAG_PEER, b"\1\0\0\0")
    body += attr(diag.UNIX_DIAG_RQLEN, struct.pack("=II", 1, 2))
    body += attr(diag.UNIX_DIAG_UID, b"\0\0\0\0")
    body += attr(diag.UNIX_DIAG_MEMINFO, diag.SKMEM.pack(*range(9)))
    return nlmsg(diag.SOCK_DIAG_BY_FAMILY, body)


def packet_msg() -> bytes:
    body = diag.PACKET_DIAG_MSG.pack(socket.AF_PACKET, socket.SOCK_RAW, 3, 77, 5)
    body += attr(diag.PACKET_DIAG_INFO, struct.pack("=6I", 1, 0, 0, 0, 0, 0))
    body += attr(diag.PACKET_DIAG_UID, b"\0\0\0\0")
    body += attr(diag.PACKET_DIAG_MEMINFO, diag.SKMEM.pack(*range(9)))
    return nlmsg(diag.SOCK_DIAG_BY_FAMILY, body)


def netlink_msg() -> bytes:
    body = diag.NETLINK_DIAG_MSG.pack(socket.AF_NETLINK, socket.SOCK_RAW, 0, 7, 1234, 0, 0,
                                      88, 5)
    body += attr(diag.NETLINK_DIAG_MEMINFO, diag.SKMEM.pack(*range(9)))
    return nlmsg(diag.SOCK_DIAG_BY_FAMILY, body)


def link_msg() -> bytes:
    body = rtnl.IFINFOMSG.pack(0, 1, 2, 0x11043, 0)
    body += attr(rtnl.IFLA_IFNAME, b"veth0\0") + attr(rtnl.IFLA_MTU, struct.pack("=I", 1500))
    body += attr(rtnl.IFLA_ADDRESS, bytes(6)) + attr(rtnl.IFLA_BROADCAST, b"\xff" * 6)
    body += attr(rtnl.IFLA_OPERSTATE, b"\6") + attr(rtnl.IFLA_STATS64, rtnl.STATS64.pack(*[1] * 10))
    body += attr(rtnl.IFLA_LINKINFO, attr(rtnl.IFLA_INFO_KIND, b"veth\0"))
    body += attr(rtnl.IFLA_LINK_NETNSID, struct.pack("=i", 0))
    body += attr(rtnl.IFLA_TXQLEN, struct.pack("=I", 1000))
    return nlmsg(rtnl.RTM_NEWLINK, body)


def addr_msg() -> bytes:
    body = rtnl.IFADDRMSG.pack(socket.AF_INET, 24, 0x80, 0, 2)
    body += attr(rtnl.IFA_ADDRESS, b"\x0a\0\0\1") + attr(rtnl.IFA_LOCAL, b"\x0a\0\0\1")
    body += attr(rtnl.IFA_LABEL, b"veth0\0") + attr(rtnl.IFA_BROADCAST, b"\x0a\0\0\xff")
    body += attr(rtnl.IFA_CACHEINFO, rtnl.CACHEINFO.pack(1, 2, 3, 4))
    body += attr(rtnl.IFA_FLAGS, struct.pack("=I", 0x80))
    return nlmsg(rtnl.RTM_NEWADDR, body)


def route_msg() -> bytes:
    body = rtnl.RTMSG.pack(socket.AF_INET, 24, 0, 0, 254, 4, 0, 1, 0)
    body += attr(rtnl.RTA_TABLE, struct.pack("=I", 254)) + attr(rtnl.RTA_DST, b"\x0a\0\0\0")
    body += attr(rtnl.RTA_GATEWAY, b"\x0a\0\0\1") + attr(rtnl.RTA_OIF, struct.pack("=I", 2))
    body += attr(rtnl.RTA_PRIORITY, struct.pack("=I", 100))
    body += attr(rtnl.RTA_PREFSRC, b"\x0a\0\0\2")
    hop = attr(rtnl.RTA_GATEWAY, b"\x0a\0\0\3")
    body += attr(rtnl.RTA_MULTIPATH, rtnl.RTNEXTHOP.pack(8 + len(hop), 0, 0, 2) + hop)
    return nlmsg(rtnl.RTM_NEWROUTE, body)


def rule_msg() -> bytes:
    body = rtnl.FIB_RULE_HDR.pack(socket.AF_INET, 0, 8, 0, 254, 0, 0, 1, 0)
    body += attr(rtnl.FRA_TABLE, struct.pack("=I", 254))
    body += attr(rtnl.FRA_PRIORITY, struct.pack("=I", 32766))
    body += attr(rtnl.FRA_SRC, b"\x0a\0\0\0") + attr(rtnl.FRA_FWMARK, struct.pack("=I", 1))
    body += attr(rtnl.FRA_IIFNAME, b"lo\0") + attr(rtnl.FRA_SUPPRESS_PREFIXLEN, b"\xff" * 4)
    return nlmsg(rtnl.RTM_NEWRULE, body)


def neigh_msg() -> bytes:
    body = rtnl.NDMSG.pack(socket.AF_INET, 2, 0x80, 0x80, 1)
    body += attr(rtnl.NDA_DST, b"\x0a\0\0\7") + attr(rtnl.NDA_LLADDR, bytes(6))
    return nlmsg(rtnl.RTM_NEWNEIGH, body)


NAMES = {2: "veth0"}


def _per_message(decode: Callable[[memoryview, int, int], object]
                 ) -> Callable[[bytes], object]:
    """A per-message decoder fed a whole message: its payload after the header."""
    return lambda data: decode(memoryview(bytearray(data)), 16, len(data))


def _chunk(make: Callable[[], Callable[[memoryview, int], object]]
           ) -> Callable[[bytes], object]:
    """A chunk decoder fed a chunk: the buffer holds the chunk and nothing more, so a
    read past its end fails instead of reading what was there before."""
    return lambda data: make()(memoryview(bytearray(data)), len(data))


# decoder name -> (feed it bytes, a valid input)
DECODERS: dict[str, tuple[Callable[[bytes], object], bytes]] = {
    "netlink.messages": (lambda d: list(netlink.messages(d)), unix_msg() + done()),
    "netlink.attrs": (lambda d: netlink.attrs(d, 0, len(d)), unix_msg()[16 + 16:]),
    "netlink.control": (lambda d: netlink.control(d, netlink.NLMSG_ERROR, 16, len(d)),
                        nlmsg(netlink.NLMSG_ERROR, struct.pack("=i", 0) + bytes(16))),
    "netlink.error_code": (lambda d: netlink.error_code(d, 16),
                           nlmsg(netlink.NLMSG_ERROR, struct.pack("=i", 0))),
    "netlink.fixed": (lambda d: netlink.fixed(d, (4, len(d)), diag.SKMEM, "x"),
                      attr(1, diag.SKMEM.pack(*range(9)))),
    "netlink.chunk_decoder": (
        _chunk(lambda: netlink.chunk_decoder(diag.decode_unix, diag.SOCK_DIAG_BY_FAMILY)),
        unix_msg() * 3 + done()),
    "diag.inet_chunk_decoder(tcp)": (_chunk(lambda: diag.inet_chunk_decoder("tcp")),
                                     inet_msg() * 3 + inet_msg(state=1) * 2 + done()),
    "diag.inet_chunk_decoder(tcp, ext)": (
        _chunk(lambda: diag.inet_chunk_decoder("tcp", True)),
        inet_msg(ext=True) + inet_msg(socket.AF_INET6, ext=True, v6only=0) + done()),
    "diag.inet_chunk_decoder(raw)": (_chunk(lambda: diag.inet_chunk_decoder("raw")),
                                     inet_msg(state=7, raw=True) * 2 + done()),
    "diag.inet_chunk_decoder(udp, v6)": (
        _chunk(lambda: diag.inet_chunk_decoder("udp")),
        inet_msg(socket.AF_INET6, 7, v6only=1) * 2 + inet_msg(socket.AF_INET6, 1) + done()),
    "diag.inet_row_decoder(v4)": (_chunk(lambda: diag.inet_row_decoder("tcp", socket.AF_INET)),
                                  inet_msg() * 4 + done()),
    "diag.inet_row_decoder(v6)": (
        _chunk(lambda: diag.inet_row_decoder("tcp", socket.AF_INET6)),
        inet_msg(socket.AF_INET6, v6only=0) * 2 + inet_msg(socket.AF_INET6, 1) * 2 + done()),
    "diag.decode_unix": (_per_message(diag.decode_unix), unix_msg()),
    "diag.decode_packet": (_per_message(diag.decode_packet), packet_msg()),
    "diag.decode_netlink": (_per_message(diag.decode_netlink), netlink_msg()),
    "rtnl.decode_link": (_per_message(rtnl.decode_link), link_msg()),
    "rtnl.decode_link_name": (_per_message(rtnl.decode_link_name), link_msg()),
    "rtnl.decode_addr": (_per_message(lambda b, s, e: rtnl.decode_addr(b, s, e, NAMES)),
                         addr_msg()),
    "rtnl.decode_route": (_per_message(lambda b, s, e: rtnl.decode_route(b, s, e, NAMES)),
                          route_msg()),
    "rtnl.decode_route_get": (
        _per_message(lambda b, s, e: rtnl.decode_route_get(b, s, e, "10.0.0.9", NAMES)),
        route_msg()),
    "rtnl.decode_rule": (_per_message(rtnl.decode_rule), rule_msg()),
    "rtnl.decode_neigh": (_per_message(lambda b, s, e: rtnl.decode_neigh(b, s, e, NAMES)),
                          neigh_msg()),
    "icmp.parse": (icmp.parse, icmp.build_echo(1, 2, b"payload")),
    "icmp.parse(ip_header)": (
        lambda d: icmp.parse(d, ip_header=True),
        struct.pack("!BBHHHBBH4s4s", 0x45, 0, 48, 0, 0, 64, 1, 0, bytes(4), bytes(4))
        + struct.pack("!BBHI", icmp.TIME_EXCEEDED, 0, 0, 0)
        + struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 0, 0, 1, 17, 0, bytes(4), bytes(4))
        + struct.pack("!HHHH", 1, 2, 8, 0)),
    "icmp.parse(v6)": (lambda d: icmp.parse(d, v6=True),
                       struct.pack("!BBHI", icmp.DEST6_UNREACH, 4, 0, 0) + bytes(40)
                       + struct.pack("!HHHH", 1, 2, 8, 0)),
}


def only_ours(feed: Callable[[bytes], object], data: bytes) -> None:
    try:
        feed(data)
    except SocklabError:
        pass
    except OSError as exc:  # a kernel's error reply, not one of ours: see the docstring
        if type(exc) is not OSError or not 0 < (exc.errno or 0) <= netlink.MAX_ERRNO:
            raise


@pytest.mark.parametrize("name", sorted(DECODERS))
def test_the_valid_input_decodes(name):
    feed, valid = DECODERS[name]
    feed(valid)  # the samples themselves are readable: the mutations start from sense


@pytest.mark.parametrize("name", sorted(DECODERS))
def test_every_truncation_and_trailing_data(name):
    """h11's way: the input cut at every length, and with trailing bytes after it."""
    feed, valid = DECODERS[name]
    for cut in range(len(valid) + 1):
        only_ours(feed, valid[:cut])
    for tail in (b"\0", b"\xff" * 3, b"\x10\0\0\0", valid[:20], valid):
        only_ours(feed, valid + tail)


@st.composite
def mutations(draw, valid: bytes) -> bytes:
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 6))):
        where = draw(st.integers(0, len(data)))
        how = draw(st.sampled_from(["set", "set", "insert", "delete", "cut", "append"]))
        if how == "set" and where < len(data):
            data[where] = draw(st.sampled_from([0, 1, 3, 4, 0x7F, 0x80, 0xFF, 14, 20, 88]))
        elif how == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=8))
        elif how == "delete":
            del data[where:where + draw(st.integers(1, 8))]
        elif how == "cut":
            del data[where:]
        else:
            data += draw(st.binary(max_size=24))
    return bytes(data)


@pytest.mark.parametrize("name", sorted(DECODERS))
@given(data=st.data())
def test_mutated_valid_input_raises_only_ours(name, data):
    feed, valid = DECODERS[name]
    only_ours(feed, data.draw(mutations(valid)))


@pytest.mark.parametrize("name", sorted(DECODERS))
@given(raw=st.binary(max_size=300))
def test_random_bytes_raise_only_ours(name, raw):
    feed, _valid = DECODERS[name]
    only_ours(feed, raw)


# -- the examples fuzzing found ----------------------------------------------

def test_an_unknown_family_is_named():
    chunk = struct.pack("=IHHII", 88, 20, 0, 1, 0) + bytes([14]) + bytes(71)
    with pytest.raises(Malformed, match="unknown address family 14"):
        diag.inet_chunk_decoder("tcp", True)(memoryview(bytearray(chunk)), len(chunk))
    with pytest.raises(Malformed, match="unknown address family 14"):
        diag.inet_chunk_decoder("tcp")(memoryview(bytearray(chunk)), len(chunk))


def test_a_bad_message_is_left_out_and_the_others_read():
    """With on_malformed, the runs' fast path meets the bad message, the chunk is read
    again one by one, and only that message is left out."""
    bad = bytearray(inet_msg())
    bad[16] = 14  # the family
    chunk = inet_msg() * 3 + bytes(bad) + inet_msg(state=1) * 2 + done()
    for make in (lambda cb: diag.inet_chunk_decoder("tcp", False, cb),
                 lambda cb: diag.inet_chunk_decoder("tcp", True, cb)):
        left_out: list[Malformed] = []
        items, finished = make(left_out.append)(memoryview(bytearray(chunk)), len(chunk))
        assert finished and len(items) == 5
        assert [str(e) for e in left_out] == [
            "tcp sock_diag reply at offset 288: unknown address family 14"]
    # The rows check the family of a run's first message (the kernel sends only the
    # family asked for): a message of another family is read when it starts a run.
    bad = bytearray(inet_msg(v6only=0))
    bad[16] = 14
    chunk = inet_msg() * 3 + bytes(bad) + inet_msg(state=1) * 2 + done()
    left_out = []
    rows, finished = diag.inet_row_decoder("tcp", socket.AF_INET, left_out.append)(
        memoryview(bytearray(chunk)), len(chunk))
    assert finished and len(rows) == 5 and len(left_out) == 1
    short_attr = bytearray(unix_msg())
    short_attr[16 + 16 + 16:16 + 16 + 18] = struct.pack("=H", 5)  # UNIX_DIAG_PEER of 1 byte
    chunk = unix_msg() + bytes(short_attr) + unix_msg() + done()
    left_out = []
    decode = netlink.chunk_decoder(diag.decode_unix, diag.SOCK_DIAG_BY_FAMILY, left_out.append)
    items, finished = decode(memoryview(bytearray(chunk)), len(chunk))
    assert finished and len(items) == 2
    assert [str(e) for e in left_out] == [
        "UNIX_DIAG_PEER at offset 164: 1 bytes, expected 4"]


def test_a_length_that_cannot_be_followed_ends_the_chunk():
    chunk = bytearray(inet_msg() * 2 + done())
    chunk[96:100] = struct.pack("=I", 4000)  # the second message claims 4,000 bytes
    for decode in (diag.inet_chunk_decoder("tcp", on_malformed=[].append),
                   diag.inet_row_decoder("tcp", socket.AF_INET, [].append)):
        with pytest.raises(Malformed, match="offset 96: length 4000 runs past"):
            decode(memoryview(bytearray(chunk)), len(chunk))


def test_proc_route_values_over_32_bits():
    text = ("Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n"
            "eth0\t1000000000\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n")
    with pytest.raises(Malformed, match="/proc/net/route line 2: '1000000000' is not"):
        stack_nettools.parse_route(text)
    big_metric = ("Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n"
                  "eth0\t0000000A\t00000000\t0001\t0\t0\t-1\t00FFFFFF\t0\t0\t0\n")
    # the u32 metric printed with %d, as fib_route_seq_show() does
    assert stack_nettools.parse_route(big_metric)[0].metric == 0xFFFFFFFF


def test_proc_socket_table_leaves_a_bad_line_out():
    good = ("   0: 0100007F:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000"
            "     0        0 4242 1 0000000000000000 100 0 0 10 0")
    text = "header\n" + good + "\n" + good.replace("0100007F", "0100007G") + "\n" + good + "\n"
    left_out: list[Malformed] = []
    assert len(list(sock_procfiles.parse_inet(text, "tcp", left_out.append))) == 2
    assert len(left_out) == 1 and "/proc/net/tcp line 3" in str(left_out[0])
    with pytest.raises(Malformed, match="line 3"):
        list(sock_procfiles.parse_inet(text, "tcp"))


def test_the_socket_table_counts_what_it_left_out():
    """What ``--debug`` prints for a kind: its source, and the sockets left out."""
    from socklab.socktable import table

    good = PROC_SAMPLES["tcp6"].splitlines()[1]
    text = "header\n" + good + "\n" + good.replace(":0016", ":1FFFF") + "\n"
    bad: list[Malformed] = []
    assert len(list(table._parse_proc("tcp6", text, bad))) == 1
    assert table._source("/proc/net/tcp6", bad) == (
        "/proc/net/tcp6 (1 unreadable left out; first: /proc/net/tcp6 line 3: port '1FFFF' "
        f"is over 65535 ({good.replace(':0016', ':1FFFF')[:77] + '...'!r}))")
    assert table._source("sock_diag", []) == "sock_diag"


def test_endpoint_with_a_nul_in_brackets():
    with pytest.raises(BadAddress):
        parse_endpoint("tcp:[\x00]:1")


# -- text parsers -------------------------------------------------------------

PROC_SAMPLES = {
    "tcp": "header\n" + "   0: 0100007F:0016 00000000:0000 0A 00000000:00000000 00:00000000 "
           "00000000     0        0 4242 1 0000000000000000 100 0 0 10 0\n",
    "tcp6": "header\n" + "   0: 00000000000000000000000001000000:0016 "
            "00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 "
            "00000000     0        0 4243 1 0000000000000000 100 0 0 10 0\n",
    "unix": "Num       RefCount Protocol Flags    Type St Inode Path\n"
            "0000000000000000: 00000002 00000000 00010000 0001 01 20345 /run/x.sock\n",
    "packet": "sk       RefCnt Type Proto  Iface R Rmem   User   Inode\n"
              "0000000000000000 3      3    0003   1     1 0      0      31337\n",
    "netlink": "sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    "
               "Drops    Inode\n0000000000000000 0   1234       00000000 0        0        "
               "0        2        0        5678\n",
    "route": "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n"
             "eth0\t0000000A\t0100000A\t0003\t0\t0\t100\t00FFFFFF\t0\t0\t0\n",
    "ipv6_route": "fe800000000000000000000000000000 40 00000000000000000000000000000000 00 "
                  "00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0\n",
    "arp": "IP address       HW type     Flags       HW address            Mask     Device\n"
           "10.0.0.7         0x1         0x6         02:00:00:00:00:07     *        eth0\n",
    "dev": "Inter-|   Receive\n face |bytes packets\n"
           "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
    "if_inet6": "fe800000000000000000000000000001 02 40 20 80     eth0\n",
}

# parser name -> (the parser, the name of its sample above)
PARSERS: dict[str, tuple[Callable[[str], object], str]] = {
    "tcp": (lambda t: list(sock_procfiles.parse_inet(t, "tcp")), "tcp"),
    "raw6": (lambda t: list(sock_procfiles.parse_inet(t, "raw")), "tcp6"),
    "unix": (lambda t: list(sock_procfiles.parse_unix(t)), "unix"),
    "packet": (lambda t: list(sock_procfiles.parse_packet(t)), "packet"),
    "netlink": (lambda t: list(sock_procfiles.parse_netlink(t)), "netlink"),
    "route": (stack_nettools.parse_route, "route"),
    "ipv6_route": (stack_nettools.parse_ipv6_route, "ipv6_route"),
    "arp": (stack_nettools.parse_arp, "arp"),
    "dev": (stack_nettools.parse_dev, "dev"),
    "dev_names": (stack_nettools.parse_dev_names, "dev"),
    "if_inet6": (stack_nettools.parse_if_inet6, "if_inet6"),
}


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_proc_samples_parse(name):
    parse, sample = PARSERS[name]
    assert parse(PROC_SAMPLES[sample])


def _lines_like(sample: str) -> st.SearchStrategy[str]:
    """Lines made of a sample's fields, some replaced by random text."""
    fields = sample.splitlines()[-1].split()
    word = st.one_of(st.sampled_from(fields), st.text(max_size=40),
                     st.text("0123456789abcdefABCDEFxX-:+_ ", max_size=40),
                     st.sampled_from(["-1", "FFFFFFFFFF", "1" * 40, "\u0663", "0x1", ":"]))
    return st.lists(word, min_size=0, max_size=len(fields) + 3).map(" ".join)


@pytest.mark.parametrize("name", sorted(PARSERS))
@given(data=st.data())
def test_proc_lines_raise_only_ours(name, data):
    parse, sample_name = PARSERS[name]
    sample = PROC_SAMPLES[sample_name]
    header = "\n".join(sample.splitlines()[:-1])
    lines = data.draw(st.lists(st.one_of(_lines_like(sample), st.text(max_size=120)),
                               max_size=4))
    with contextlib.suppress(SocklabError):
        parse("\n".join([header, *lines]) if header else "\n".join(lines))


@given(st.text(max_size=40))
def test_hex_address_raises_only_ours(text):
    with contextlib.suppress(Malformed):
        sock_procfiles.hex_address(text)


@given(st.text(max_size=20), st.text(max_size=40))
def test_ipv4_address_raises_only_ours(label, netmask):
    with contextlib.suppress(Malformed):
        stack_nettools.ipv4_address(label, 1, "10.0.0.1", netmask, None)


@given(st.text(max_size=20), st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1),
       st.integers(0, 2**31), st.integers(0, 0xFFFF), st.binary(max_size=32),
       st.integers(0, 2**31))
def test_link_from_ioctls_never_fails(name, index, flags, mtu, hw_type, hw, txqlen):
    stack_nettools.link(name, (index, flags, mtu, hw_type, hw, txqlen), stack_nettools.LinkStats())


@given(st.text(max_size=60))
def test_endpoints_raise_only_bad_address(text):
    with contextlib.suppress(BadAddress):
        parse_endpoint(text)


@given(st.sampled_from(["tcp:", "udp6:", "tls:tcp:", "unix:", "abstract:", "exec:", "tcp:["]),
       st.text(st.characters(codec=None), max_size=30))
def test_endpoint_tails_raise_only_bad_address(scheme, tail):
    """After a scheme, anything: NULs, surrogates (bytes of a non-UTF-8 command line),
    digits that are not ASCII."""
    with contextlib.suppress(BadAddress):
        parse_endpoint(scheme + tail)
