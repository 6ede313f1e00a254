"""The stack as /proc/net shows it: the fallback when rtnetlink cannot be opened.

Pure parsers of the texts ``route -n`` and ``arp -an`` (net-tools) read:
``/proc/net/route`` (the IPv4 main table), ``/proc/net/ipv6_route`` (IPv6, every
table, without saying which) and ``/proc/net/arp`` (IPv4 neighbours). They
give the same models as the netlink decoders, with what those files lack said
plainly: no protocol (``"unknown"``), IPv4 scope inferred as ip prints it (a
route without gateway is ``link``), ARP states reduced to what the flags carry
(``PERMANENT``, ``COMPLETE`` for a resolved entry, ``INCOMPLETE``).

Interfaces come from ``/proc/net/dev`` (names, counters) and the ifconfig
ioctls (``kernel/ifioctl.py``); IPv6 addresses from ``/proc/net/if_inet6``,
IPv4 ones from SIOCGIFCONF (labelled addresses only, as ifconfig lists them).

A line whose fields are not what the kernel prints there raises
:class:`~socklab.errors.Malformed` naming the file and line (lines too short
are skipped, as before). The listing stops rather than leave a route out: a
table with a hole would explain lookups wrongly (as for ``rtnl``).
"""

import socket
import struct
from collections.abc import Callable
from typing import TypeVar

from socklab.errors import Malformed
from socklab.stack.model import Address, Link, LinkStats, Neighbour, Route
from socklab.stack.rtnl import ARPHRD, IFA_FLAG_NAMES, IFF_NAMES

__all__ = ["ipv4_address", "link", "parse_arp", "parse_dev", "parse_dev_names", "parse_if_inet6",
           "parse_ipv6_route", "parse_route"]

RTF_UP, RTF_GATEWAY, RTF_HOST, RTF_REJECT = 0x1, 0x2, 0x4, 0x200
RTF_CACHE, RTF_ANYCAST, RTF_LOCAL = 0x01000000, 0x00100000, 0x80000000
ATF_COM, ATF_PERM, ATF_PUBL = 0x2, 0x4, 0x8
_U32 = struct.Struct("=I")
T = TypeVar("T")


def _hex(text: str, bits: int = 32) -> int:
    """A hex field as the kernel prints it (``%08X``, ``%x``): digits only, no sign."""
    if not (text.isascii() and text.isalnum()) or len(text) > bits // 4:
        raise ValueError(f"{text!r} is not a {bits}-bit hex number")
    return int(text, 16)


def _dec(text: str, signed: bool = False) -> int:
    digits = text[1:] if signed and text[:1] == "-" else text
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"{text!r} is not a number")
    return int(text)


def _ipv4(hex_text: str) -> str:
    """An address as /proc/net/route prints it: the __be32 shown as a host integer."""
    return socket.inet_ntoa(_U32.pack(_hex(hex_text)))


def _ipv6(hex_text: str) -> str:
    if len(hex_text) != 32:
        raise ValueError(f"{hex_text!r} is not 32 hex digits")
    return socket.inet_ntop(socket.AF_INET6, _hex(hex_text, 128).to_bytes(16, "big"))


def _read(text: str, headers: int, fields: int, name: str,
          read: Callable[[list[str]], T | None]) -> list[T]:
    """``read`` of each whitespace-split row of a /proc table, its header lines and
    short lines left out (and rows ``read`` gives None for). A row ``read`` raises
    ValueError for is Malformed, naming the file and line."""
    out = []
    for number, line in enumerate(text.splitlines()[headers:], headers + 1):
        row = line.split()
        if len(row) < fields:
            continue
        try:
            item = read(row)
        except ValueError as exc:
            shown = line if len(line) <= 80 else line[:77] + "..."
            raise Malformed(f"/proc/net/{name} line {number}: {exc} ({shown!r})") from None
        if item is not None:
            out.append(item)
    return out


def _prefix(dst: str, length: int, full: int) -> str:
    if length == 0 and dst in ("0.0.0.0", "::"):
        return "default"
    return dst if length == full else f"{dst}/{length}"


def parse_route(text: str) -> list[Route]:
    """``/proc/net/route``: Iface Destination Gateway Flags RefCnt Use Metric Mask ...
    Raises Malformed."""
    return _read(text, 1, 8, "route", _route)


def _route(f: list[str]) -> Route:
    dev, dst, gateway, flags, metric = f[0], _ipv4(f[1]), _ipv4(f[2]), _hex(f[3]), \
        _dec(f[6], signed=True) & 0xFFFFFFFF  # the u32 metric, printed with %d
    length = bin(_hex(f[7])).count("1")
    via = gateway if flags & RTF_GATEWAY else None
    return Route(
        family="inet", table="main", type="unreachable" if flags & RTF_REJECT else "unicast",
        dst=_prefix(dst, length, 32), dst_len=length, gateway=via,
        dev=None if dev == "*" else dev, oif=None, prefsrc=None, metric=metric,
        protocol="unknown", scope="global" if via else "link")


def parse_ipv6_route(text: str) -> list[Route]:
    """``/proc/net/ipv6_route``: dst len src len next-hop metric refcnt use flags dev.

    Cached clones and the kernel's null entry are left out, as ``ip -6 route``
    does. The file does not say the table: local, anycast and multicast routes
    are put in ``local`` (where the kernel keeps them), the rest in ``main``.
    Raises Malformed."""
    return _read(text, 0, 10, "ipv6_route", _ipv6_route)


def _ipv6_route(f: list[str]) -> Route | None:
    flags = _hex(f[8])
    if flags & RTF_CACHE:
        return None
    length, via, metric = _hex(f[1], 8), _ipv6(f[4]), _hex(f[5])
    if length > 128:
        raise ValueError(f"prefix length {length} is over 128")
    if flags & RTF_REJECT and length == 0 and metric == 0xFFFFFFFF and f[9] == "lo":
        return None  # the kernel's null entry (ip6_null_entry), which ip does not show
    dst = _ipv6(f[0])
    multicast = f[0].startswith("ff")
    local = flags & (RTF_LOCAL | RTF_ANYCAST) or multicast
    kind = ("local" if flags & RTF_LOCAL else "anycast" if flags & RTF_ANYCAST
            else "multicast" if multicast
            else "unreachable" if flags & RTF_REJECT else "unicast")
    return Route(
        family="inet6", table="local" if local else "main", type=kind,
        dst=_prefix(dst, length, 128), dst_len=length,
        gateway=via if flags & RTF_GATEWAY else None, dev=f[9], oif=None, prefsrc=None,
        metric=metric, protocol="unknown",
        scope="host" if flags & RTF_LOCAL else
        "global" if flags & (RTF_GATEWAY | RTF_ANYCAST) or multicast else "link")


def parse_arp(text: str) -> list[Neighbour]:
    """``/proc/net/arp``: IP address, HW type, Flags, HW address, Mask, Device.
    Raises Malformed."""
    return _read(text, 1, 6, "arp", _arp)


def _arp(f: list[str]) -> Neighbour:
    flags = _hex(f[2])
    try:
        dst = socket.inet_ntoa(socket.inet_aton(f[0]))
    except OSError:
        raise ValueError(f"{f[0]!r} is not an IPv4 address") from None
    if dst != f[0]:
        raise ValueError(f"{f[0]!r} is not an IPv4 address as the kernel prints it")
    state = ("PERMANENT",) if flags & ATF_PERM else (
        ("COMPLETE",) if flags & ATF_COM else ("INCOMPLETE",))
    mac = f[3] if flags & ATF_COM else None
    return Neighbour(family="inet", dst=dst, dev=f[5], ifindex=0, lladdr=mac, state=state,
                     router=False, flags=("proxy",) if flags & ATF_PUBL else ())


def parse_dev_names(text: str) -> list[str]:
    """The interface names of ``/proc/net/dev`` (two header lines, then ``name: counters``)."""
    return [line.split(":", 1)[0].strip() for line in text.splitlines()[2:] if ":" in line]


def parse_dev(text: str) -> dict[str, LinkStats]:
    """``/proc/net/dev``: name -> counters (rx bytes packets errs drop fifo frame
    compressed multicast, then tx bytes packets errs drop fifo colls ...).
    Raises Malformed."""
    out = {}
    for number, line in enumerate(text.splitlines()[2:], 3):
        name, sep, rest = line.partition(":")
        fields = rest.split()
        if not sep or len(fields) < 14:
            continue
        try:
            v = [_dec(x) for x in fields]
        except ValueError as exc:
            shown = line if len(line) <= 80 else line[:77] + "..."
            raise Malformed(f"/proc/net/dev line {number}: {exc} ({shown!r})") from None
        # drop is rx_dropped + rx_missed_errors, frame and carrier are sums of four
        # counters each (dev_seq_printf_stats() in net/core/net-procfs.c)
        out[name.strip()] = LinkStats(
            rx_bytes=v[0], rx_packets=v[1], rx_errors=v[2], rx_dropped=v[3], multicast=v[7],
            tx_bytes=v[8], tx_packets=v[9], tx_errors=v[10], tx_dropped=v[11], collisions=v[13],
            rx_fifo_errors=v[4], rx_frame_errors=v[5], rx_compressed=v[6],
            tx_fifo_errors=v[12], tx_carrier_errors=v[14] if len(v) > 14 else 0,
            tx_compressed=v[15] if len(v) > 15 else 0)
    return out


def link(name: str, info: tuple[int, int, int, int, bytes, int], stats: LinkStats) -> Link:
    """A :class:`Link` from the ifconfig ioctls' answers (``kernel.ifioctl.link_info``).

    The 16 bits of SIOCGIFFLAGS have no LOWER_UP, and there is no operational
    state, qdisc, master or peer: those stay unknown (None, ``UNKNOWN``)."""
    index, flags, mtu, hw_type, hw, txqlen = info
    kind = ARPHRD.get(hw_type, str(hw_type))
    names = tuple(n for bit, n in IFF_NAMES if flags & bit)
    mac = hw.hex(":") if hw_type in (1, 772) else None
    return Link(ifindex=index, name=name, kind=kind, flags=names, ifflags=flags,
                operstate="UNKNOWN", mtu=mtu, address=mac,
                broadcast="ff:ff:ff:ff:ff:ff" if hw_type == 1 else mac,
                qdisc=None, master=None, link=None, link_netnsid=None, txqlen=txqlen,
                stats=stats, link_type=hw_type)


_IF_INET6_SCOPES = {0x00: "global", 0x10: "host", 0x20: "link", 0x40: "site"}


def parse_if_inet6(text: str) -> list[Address]:
    """``/proc/net/if_inet6``: address, ifindex, prefix length, scope, flags, name (hex).
    Raises Malformed."""
    return _read(text, 0, 6, "if_inet6", _if_inet6)


def _if_inet6(f: list[str]) -> Address:
    flags = _hex(f[4])
    names = [n for bit, n in IFA_FLAG_NAMES if flags & bit]
    if not flags & 0x80:
        names.append("dynamic")
    prefixlen = _hex(f[2], 8)
    if prefixlen > 128:
        raise ValueError(f"prefix length {prefixlen} is over 128")
    return Address(
        ifindex=_hex(f[1]), ifname=f[5], family="inet6", local=_ipv6(f[0]),
        prefixlen=prefixlen, scope=_IF_INET6_SCOPES.get(_hex(f[3], 8), f[3]),
        label=None, broadcast=None, peer=None, flags=tuple(names),
        valid_lft=None, preferred_lft=None)


def ipv4_address(label: str, ifindex: int, address: str, netmask: str,
                 broadcast: str | None) -> Address:
    """An IPv4 :class:`Address` from SIOCGIFCONF's ``(label, address)`` and its mask.
    Raises Malformed for a mask that is not a dotted IPv4 address."""
    try:
        length = bin(int.from_bytes(socket.inet_aton(netmask), "big")).count("1")
    except (OSError, ValueError):
        raise Malformed(f"netmask {netmask!r} of {label}: not an IPv4 address") from None
    dev = label.split(":", 1)[0]
    scope = "host" if address.startswith("127.") else "global"
    return Address(ifindex=ifindex, ifname=dev, family="inet", local=address,
                   prefixlen=length, scope=scope, label=label, broadcast=broadcast, peer=None,
                   flags=(), valid_lft=None, preferred_lft=None)


RouteRefKey = tuple[str, str, int, str]  # (dst/len, next hop, metric, dev)


def parse_ipv6_route_refs(text: str) -> dict[RouteRefKey, list[int]]:
    """``/proc/net/ipv6_route``'s reference counts (the column ``route -6`` prints as
    Ref, which rtnetlink does not carry), by route, in the file's order."""
    out: dict[RouteRefKey, list[int]] = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) < 10:
            continue
        try:
            if _hex(f[8]) & RTF_CACHE:
                continue
            key = (f"{_ipv6(f[0])}/{_hex(f[1])}", _ipv6(f[4]), _hex(f[5]), f[9])
            ref = _hex(f[6])
        except ValueError:  # a line this parser cannot read: its count stays unknown
            continue
        out.setdefault(key, []).append(ref)
    return out
