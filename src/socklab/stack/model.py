"""Models of the network stack as ``ip`` shows it: links, addresses, routes, rules, neighbours.

Typed, immutable ``NamedTuple`` records. Frozen dataclasses were the first
choice; they cost 12 ms of start-up here (the ``dataclasses`` import and one
``exec`` per class), a third of a small command's budget (docs/design.md).
Addresses are kept as the strings ``ip`` prints (``192.0.2.1``, ``fe80::1``)
and prefixes as ``address/len``; ``--json`` is ``_asdict()``.
"""

# No "from __future__ import annotations": NamedTuple would compile every field's
# annotation at import (a ForwardRef each, 3 ms a command; docs/design.md).
from typing import NamedTuple

__all__ = ["Address", "Link", "LinkStats", "Neighbour", "Route", "RouteLookup", "Rule"]


class LinkStats(NamedTuple):
    """Interface counters (``rtnl_link_stats64``, ``<linux/if_link.h>``; from
    /proc/net/dev, whose fifo, frame and carrier columns are sums, the error
    details land in ``rx_fifo_errors``, ``rx_frame_errors`` and ``tx_carrier_errors``)."""

    rx_bytes: int = 0
    rx_packets: int = 0
    rx_errors: int = 0
    rx_dropped: int = 0
    tx_bytes: int = 0
    tx_packets: int = 0
    tx_errors: int = 0
    tx_dropped: int = 0
    multicast: int = 0
    collisions: int = 0
    rx_length_errors: int = 0
    rx_over_errors: int = 0
    rx_crc_errors: int = 0
    rx_frame_errors: int = 0
    rx_fifo_errors: int = 0
    rx_missed_errors: int = 0
    tx_aborted_errors: int = 0
    tx_carrier_errors: int = 0
    tx_fifo_errors: int = 0
    tx_heartbeat_errors: int = 0
    tx_window_errors: int = 0
    rx_compressed: int = 0
    tx_compressed: int = 0


class Link(NamedTuple):
    """A network interface (``ip link``, ``ifconfig -a``)."""

    ifindex: int
    name: str
    kind: str  # loopback, ether, veth, bridge, dummy, tun ... (linkinfo kind, else link type)
    flags: tuple[str, ...]  # UP, BROADCAST, LOOPBACK, ..., LOWER_UP, as ip prints them
    ifflags: int  # the raw IFF_* bits (ifconfig prints them, RUNNING included)
    operstate: str  # UP, DOWN, UNKNOWN, LOWERLAYERDOWN, DORMANT ...
    mtu: int
    address: str | None  # MAC (None for links without one)
    broadcast: str | None
    qdisc: str | None
    master: int | None  # index of the bridge/bond this link is enslaved to
    link: int | None  # peer index (veth), parent (vlan), in its own namespace
    link_netnsid: int | None
    txqlen: int | None
    group: int = 0
    alias: str | None = None
    stats: LinkStats = LinkStats()
    link_type: int | None = None  # ARPHRD_* (<linux/if_arp.h>): 1 Ethernet, 772 loopback ...
    link_name: str | None = None  # the name of ``link`` when it lives in another namespace
    link_netns: str | None = None  # that namespace's name (/run/netns), when it has one
    ifmap: tuple[int, int, int, int, int] | None = None  # mem_start, mem_end, base, irq, dma


class Address(NamedTuple):
    """An address on an interface (``ip addr``)."""

    ifindex: int
    ifname: str
    family: str  # inet, inet6
    local: str  # the interface's own address
    prefixlen: int
    scope: str  # global, site, link, host, nowhere
    label: str | None  # IPv4 only: the ifconfig alias name (eth0:1)
    broadcast: str | None
    peer: str | None  # point-to-point peer (IFA_ADDRESS differs from IFA_LOCAL)
    flags: tuple[str, ...]  # secondary, nodad, deprecated, tentative, permanent, dynamic ...
    valid_lft: int | None  # seconds, None for forever
    preferred_lft: int | None


class Route(NamedTuple):
    """A route of a routing table (``ip route show table all``, ``route -n``)."""

    family: str
    table: str  # main, local, default, or the number
    type: str  # unicast, local, broadcast, blackhole, unreachable, prohibit, throw ...
    dst: str  # "default" or prefix ("10.0.0.0/8"; a host route "10.0.0.1")
    dst_len: int
    gateway: str | None
    dev: str | None
    oif: int | None
    prefsrc: str | None
    metric: int
    protocol: str  # kernel, boot, static, dhcp, ra ... or the number
    scope: str
    tos: int = 0
    flags: tuple[str, ...] = ()
    nexthops: tuple[tuple[str | None, str | None, int], ...] = ()  # (gateway, dev, weight)
    expires: int | None = None  # seconds left, for a route that expires (IPv6: RA, expires)


class Rule(NamedTuple):
    """A routing policy rule (``ip rule``)."""

    family: str
    priority: int
    action: str  # lookup, goto, nop, blackhole, unreachable, prohibit
    table: str | None
    src: str  # "all" or prefix
    dst: str
    iif: str | None = None
    oif: str | None = None
    fwmark: int | None = None
    fwmask: int | None = None
    tos: int = 0
    invert: bool = False
    goto: int | None = None
    suppress_prefixlen: int | None = None
    unmodelled: tuple[str, ...] = ()  # selectors socklab's lookup does not model


class Neighbour(NamedTuple):
    """A neighbour (ARP for IPv4, NDP for IPv6) entry (``ip neigh``, ``arp -an``)."""

    family: str
    dst: str
    dev: str
    ifindex: int
    lladdr: str | None
    state: tuple[str, ...]  # REACHABLE, STALE, DELAY, PROBE, FAILED, PERMANENT, NOARP ...
    router: bool
    flags: tuple[str, ...] = ()


class RouteLookup(NamedTuple):
    """The kernel's answer to ``ip route get DEST`` (no packet sent)."""

    dst: str
    type: str
    table: str | None
    dev: str | None
    gateway: str | None
    prefsrc: str | None
    matched: str | None  # the prefix of the route the kernel matched (RTM_F_FIB_MATCH)
    error: str | None = None  # "Network is unreachable" and the like
