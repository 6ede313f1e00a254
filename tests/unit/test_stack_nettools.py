"""The /proc/net fallback parsers of the stack, on texts as the kernel writes them."""

import pytest

from socklab.errors import NetworkError
from socklab.stack import nettools, read

ROUTE = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t0102000A\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t0000000A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
eth0\t0500000A\t0102000A\t0007\t0\t0\t0\tFFFFFFFF\t0\t0\t0
*\t0000430A\t00000000\t0201\t0\t0\t0\t0000FFFF\t0\t0\t0
"""

Z = "0" * 32


def _v6(dst: str, plen: str, hop: str, metric: str, flags: str, dev: str) -> str:
    """One /proc/net/ipv6_route line: dst len src len next-hop metric refcnt use flags dev."""
    return f"{dst} {plen} {Z} 00 {hop} {metric} 00000001 00000000 {flags} {dev:>8}"


IPV6 = "\n".join([
    _v6("20010db8" + "0" * 24, "20", Z, "00000100", "00000001", "eth0"),
    _v6(Z, "00", "20010db8" + "0" * 22 + "fe", "00000400", "00000003", "eth0"),
    _v6("20010db8" + "0" * 23 + "1", "80", Z, "00000000", "80200001", "eth0"),
    _v6("ff" + "0" * 30, "08", Z, "00000100", "00000001", "eth0"),
    _v6(Z, "00", Z, "ffffffff", "00200200", "lo"),  # the null entry
]) + "\n"

ARP = """IP address       HW type     Flags       HW address            Mask     Device
10.0.2.1         0x1         0x2         52:54:00:12:35:02     *        eth0
10.0.2.9         0x1         0x6         02:00:00:00:00:09     *        eth0
10.0.2.7         0x1         0x0         00:00:00:00:00:00     *        eth0
"""


def test_ipv4_routes_as_route_n_reads_them():
    got = [(r.dst, r.dst_len, r.gateway, r.dev, r.metric, r.type, r.scope)
           for r in nettools.parse_route(ROUTE)]
    assert got == [("default", 0, "10.0.2.1", "eth0", 100, "unicast", "global"),
                   ("10.0.0.0/16", 16, None, "eth0", 0, "unicast", "link"),
                   ("10.0.0.5", 32, "10.0.2.1", "eth0", 0, "unicast", "global"),
                   ("10.67.0.0/16", 16, None, None, 0, "unreachable", "link")]


def test_ipv6_routes_with_their_table_guessed_and_the_null_entry_left_out():
    got = [(r.dst, r.gateway, r.table, r.type, r.metric) for r in
           nettools.parse_ipv6_route(IPV6)]
    assert got == [("2001:db8::/32", None, "main", "unicast", 256),
                   ("default", "2001:db8::fe", "main", "unicast", 1024),
                   ("2001:db8::1", None, "local", "local", 0),
                   ("ff00::/8", None, "local", "multicast", 256)]


def test_arp_states_from_the_flags():
    got = [(n.dst, n.lladdr, n.state) for n in nettools.parse_arp(ARP)]
    assert got == [("10.0.2.1", "52:54:00:12:35:02", ("COMPLETE",)),
                   ("10.0.2.9", "02:00:00:00:00:09", ("PERMANENT",)),
                   ("10.0.2.7", None, ("INCOMPLETE",))]


def test_dev_counters():
    text = ("Inter-|   Receive\n face |bytes\n"
            "  eth0: 100 2 0 1 0 0 0 3 200 4 0 0 0 5 0 0\n")
    stats = nettools.parse_dev(text)["eth0"]
    assert (stats.rx_bytes, stats.rx_packets, stats.rx_dropped, stats.multicast) == (100, 2, 1, 3)
    assert (stats.tx_bytes, stats.tx_packets, stats.collisions) == (200, 4, 5)


def test_dev_names():
    text = "Inter-|   Receive\n face |bytes\n    lo: 1 2 3\n  eth0: 4 5 6\n"
    assert nettools.parse_dev_names(text) == ["lo", "eth0"]


def test_auto_falls_back_to_proc_when_rtnetlink_cannot_be_opened(monkeypatch):
    def refuse(_netns):
        raise NetworkError("open rtnetlink socket", 97)  # EAFNOSUPPORT, as in a sandbox

    monkeypatch.setattr(read, "_open", refuse)
    assert list(read.routes(source="auto")) == list(read.routes(source="proc"))
    assert list(read.neighbours(source="auto")) == list(read.neighbours(source="proc"))
    links = list(read.links(source="auto"))
    assert [link.name for link in links] == [link.name for link in read.links(source="proc")]
    assert "lo" in {link.name for link in links}  # every namespace has one
    assert list(read.addresses(source="auto")) == list(read.addresses(source="proc"))
    with pytest.raises(NetworkError):
        read.routes(source="netlink")
