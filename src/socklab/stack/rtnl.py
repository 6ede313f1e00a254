"""rtnetlink messages as bytes: requests to build, replies to decode. Pure, no socket.

Layouts and numbers mirror ``<linux/rtnetlink.h>``, ``<linux/if_link.h>``,
``<linux/if_addr.h>``, ``<linux/neighbour.h>``, ``<linux/fib_rules.h>`` and
``<linux/if.h>``; names are those ``ip`` prints. Each ``decode_*`` takes the
receive buffer and the bounds of one message payload, and raises
:class:`~socklab.errors.Malformed` for a payload it cannot read (a header cut
short, an attribute past the message's end, a number attribute too short): the
listings stop there rather than show a table with a route or link missing,
which a lookup explained from it would silently get wrong.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from operator import itemgetter

from socklab.errors import Malformed
from socklab.kernel.netlink import NLATTR, attr, attrs, bad_attr, fixed
from socklab.stack.model import Address, Link, LinkStats, Neighbour, Route, RouteLookup, Rule

# message types
RTM_NEWLINK, RTM_GETLINK = 16, 18
RTM_NEWADDR, RTM_GETADDR = 20, 22
RTM_NEWROUTE, RTM_GETROUTE = 24, 26
RTM_NEWNEIGH, RTM_GETNEIGH = 28, 30
RTM_NEWRULE, RTM_GETRULE = 32, 34

IFINFOMSG = struct.Struct("=BxHiII")  # family, type, index, flags, change
IFADDRMSG = struct.Struct("=BBBBI")  # family, prefixlen, flags, scope, index
# rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags
RTMSG = struct.Struct("=BBBBBBBBI")
# fib_rule_hdr: family, dst_len, src_len, tos, table, res1, res2, action, flags
FIB_RULE_HDR = struct.Struct("=BBBBBBBBI")
NDMSG = struct.Struct("=BxxxiHBB")  # family, ifindex, state, flags, type
RTNEXTHOP = struct.Struct("=HBBi")  # len, flags, hops, ifindex
U8 = struct.Struct("=B")
U32 = struct.Struct("=I")
I32 = struct.Struct("=i")
CACHEINFO = struct.Struct("=IIII")  # preferred, valid, cstamp, tstamp
STATS64 = struct.Struct("=10Q")  # rx/tx packets, bytes, errors, dropped, multicast, collisions
# ... then the error details and compressed counts, up to tx_compressed (kernels >= 2.6.35)
STATS64_FULL = struct.Struct("=23Q")
RTA_CACHEINFO_EXPIRES = struct.Struct("=i")  # rta_cacheinfo.rta_expires, at offset 8
USER_HZ = 100  # clock_t ticks per second in rta_cacheinfo (as iproute2's get_user_hz)

IFLA_ADDRESS, IFLA_BROADCAST, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_QDISC = 1, 2, 3, 4, 5, 6
IFLA_MASTER, IFLA_TXQLEN, IFLA_MAP, IFLA_OPERSTATE, IFLA_LINKINFO = 10, 13, 14, 16, 18
# struct rtnl_link_ifmap: mem_start, mem_end, base_addr (u64), irq (u16), dma, port (u8)
IFMAP = struct.Struct("=QQQHBB")
IFLA_IFALIAS, IFLA_STATS64, IFLA_GROUP, IFLA_LINK_NETNSID = 20, 23, 27, 37
IFLA_TARGET_NETNSID = 46  # a request about a link of the namespace with this nsid
RTM_NEWNSID, RTM_GETNSID = 88, 90
NETNSA_NSID, NETNSA_FD = 1, 3
IFLA_INFO_KIND = 1
IFA_ADDRESS, IFA_LOCAL, IFA_LABEL, IFA_BROADCAST, IFA_CACHEINFO, IFA_FLAGS = 1, 2, 3, 4, 6, 8
RTA_DST, RTA_SRC, RTA_IIF, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_PREFSRC = 1, 2, 3, 4, 5, 6, 7
RTA_MULTIPATH, RTA_CACHEINFO, RTA_TABLE, RTA_VIA = 9, 12, 15, 18
FRA_DST, FRA_SRC, FRA_IIFNAME, FRA_GOTO, FRA_PRIORITY, FRA_FWMARK = 1, 2, 3, 4, 6, 10
FRA_SUPPRESS_PREFIXLEN, FRA_TABLE, FRA_FWMASK, FRA_OIFNAME = 14, 15, 16, 17
FRA_UNMODELLED = {11: "realms", 12: "tun_id", 13: "suppress_ifgroup", 19: "l3mdev",
                  20: "uidrange", 22: "ipproto", 23: "sport", 24: "dport"}
NDA_DST, NDA_LLADDR = 1, 2
NDA_IFINDEX = 8
RTM_F_LOOKUP_TABLE, RTM_F_FIB_MATCH = 0x1000, 0x2000
FIB_RULE_INVERT = 0x2

FAMILIES: dict[int, str] = {socket.AF_INET: "inet", socket.AF_INET6: "inet6"}

# <linux/if.h> flags, in the order ip prints them
IFF_NAMES = [
    (0x8, "LOOPBACK"), (0x2, "BROADCAST"), (0x10, "POINTOPOINT"), (0x1000, "MULTICAST"),
    (0x80, "NOARP"), (0x200, "ALLMULTI"), (0x100, "PROMISC"), (0x400, "MASTER"),
    (0x800, "SLAVE"), (0x4, "DEBUG"), (0x8000, "DYNAMIC"), (0x4000, "AUTOMEDIA"),
    (0x2000, "PORTSEL"), (0x20, "NOTRAILERS"), (0x1, "UP"), (0x10000, "LOWER_UP"),
    (0x20000, "DORMANT"), (0x40000, "ECHO"),
]
IFF_UP, IFF_RUNNING = 0x1, 0x40
OPERSTATES = ["UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP"]
# <linux/if_arp.h> ARPHRD_* -> ip's link/<type> names
ARPHRD = {1: "ether", 772: "loopback", 65534: "none", 768: "ipip", 769: "ip6ip6",
          776: "sit", 778: "gre", 823: "ip6gre", 65535: "void", 519: "ieee802.11",
          280: "can", 512: "ppp", 774: "fddi"}
SCOPES = {0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"}
SCOPE_NUMBERS = {v: k for k, v in SCOPES.items()}
ROUTE_TYPES = ["unspec", "unicast", "local", "broadcast", "anycast", "multicast", "blackhole",
               "unreachable", "prohibit", "throw", "nat", "xresolve"]
RULE_ACTIONS = {0: "unspec", 1: "lookup", 2: "goto", 3: "nop", 6: "blackhole",
                7: "unreachable", 8: "prohibit"}
TABLES = {0: "unspec", 253: "default", 254: "main", 255: "local"}
PROTOCOLS = {0: "unspec", 1: "redirect", 2: "kernel", 3: "boot", 4: "static", 8: "gated",
             9: "ra", 10: "mrt", 11: "zebra", 12: "bird", 13: "dnrouted", 14: "xorp", 15: "ntk",
             16: "dhcp", 18: "keepalived", 42: "babel", 99: "openr", 186: "bgp", 187: "isis",
             188: "ospf", 189: "rip", 192: "eigrp"}
IFA_FLAG_NAMES = [(0x01, "secondary"), (0x02, "nodad"), (0x04, "optimistic"), (0x08, "dadfailed"),
             (0x10, "home"), (0x20, "deprecated"), (0x40, "tentative"), (0x80, "permanent"),
             (0x100, "mngtmpaddr"), (0x200, "noprefixroute"), (0x400, "autojoin"),
             (0x800, "stable-privacy")]
NUD_STATES = [(0x01, "INCOMPLETE"), (0x02, "REACHABLE"), (0x04, "STALE"), (0x08, "DELAY"),
              (0x10, "PROBE"), (0x20, "FAILED"), (0x40, "NOARP"), (0x80, "PERMANENT")]
NTF_ROUTER, NTF_PROXY = 0x80, 0x08
INFINITY_LIFE_TIME = 0xFFFFFFFF


def table_name(number: int, names: dict[int, str] | None = None) -> str:
    if names and number in names:
        return names[number]
    return TABLES.get(number, str(number))


def _str(buf: memoryview, span: tuple[int, int]) -> str:
    return bytes(buf[span[0]:span[1]]).split(b"\0", 1)[0].decode(errors="replace")


def _u32(buf: memoryview, span: tuple[int, int]) -> int:
    return fixed(buf, span, U32, "u32 attribute")[0]


def _header(buf: memoryview, start: int, end: int, layout: struct.Struct,
            what: str) -> tuple[int, ...]:
    """The fixed header of a message payload; Malformed when the payload is shorter."""
    if end - start < layout.size:
        raise Malformed(f"rtnetlink reply at offset {start - 16}: {end - start} bytes, "
                        f"shorter than a {what} ({layout.size})")
    return layout.unpack_from(buf, start)


def _ip(buf: memoryview, span: tuple[int, int]) -> str:
    raw = bytes(buf[span[0]:span[1]])
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw)
    if len(raw) == 16:
        return socket.inet_ntop(socket.AF_INET6, raw)
    return raw.hex()


def _mac(buf: memoryview, span: tuple[int, int]) -> str:
    return bytes(buf[span[0]:span[1]]).hex(":")


# -- requests ------------------------------------------------------------------

def link_request() -> bytes:
    return IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)


def addr_request(family: int = socket.AF_UNSPEC, ifindex: int = 0) -> bytes:
    """An address dump; with ``ifindex``, that interface's only where the socket has
    NETLINK_GET_STRICT_CHK (``inet_valid_dump_ifaddr_req()``, Linux >= 4.20)."""
    return IFADDRMSG.pack(family, 0, 0, 0, ifindex)


RT_TABLE_COMPAT = 252  # rtm_table of a table id above 255 (the id is in RTA_TABLE)


def route_request(family: int = socket.AF_UNSPEC, table: int = 0) -> bytes:
    """A route dump; with ``table`` (not 0), that table's routes only, filtered by the
    kernel when the socket has NETLINK_GET_STRICT_CHK (``ip_valid_fib_dump_req()``:
    rtm_table, and RTA_TABLE for an id above 255). Without strict checking the
    kernel ignores the table and dumps every route."""
    if not table:
        return RTMSG.pack(family, 0, 0, 0, 0, 0, 0, 0, 0)
    return RTMSG.pack(family, 0, 0, 0, table if table < 256 else RT_TABLE_COMPAT, 0, 0, 0,
                      0) + attr(RTA_TABLE, U32.pack(table))


def rule_request(family: int = socket.AF_UNSPEC) -> bytes:
    return FIB_RULE_HDR.pack(family, 0, 0, 0, 0, 0, 0, 0, 0)


def neigh_request(family: int = socket.AF_UNSPEC, proxy: bool = False,
                  ifindex: int = 0) -> bytes:
    """A neighbour dump; with ``proxy``, the proxy entries (``ip neigh show proxy``);
    with ``ifindex``, that interface's only where the socket has
    NETLINK_GET_STRICT_CHK (NDA_IFINDEX, ``neigh_valid_dump_req()``, Linux >= 4.20)."""
    out = NDMSG.pack(family, 0, 0, NTF_PROXY if proxy else 0, 0)
    return out + attr(NDA_IFINDEX, U32.pack(ifindex)) if ifindex else out


def link_get_request(ifindex: int, target_nsid: int | None = None) -> bytes:
    """``RTM_GETLINK`` for one interface; with ``target_nsid``, the interface of the
    namespace that has this nsid here (``IFLA_TARGET_NETNSID``, Linux >= 4.20)."""
    out = IFINFOMSG.pack(socket.AF_UNSPEC, 0, ifindex, 0, 0)
    if target_nsid is not None:
        out += attr(IFLA_TARGET_NETNSID, I32.pack(target_nsid))
    return out


def nsid_request(fd: int) -> bytes:
    """``RTM_GETNSID``: the nsid this namespace gives the namespace open at ``fd``
    (a ``struct rtgenmsg``, padded to 4 bytes, then ``NETNSA_FD``)."""
    return bytes(4) + attr(NETNSA_FD, U32.pack(fd))


def decode_nsid(buf: memoryview, start: int, end: int) -> int | None:
    """The ``NETNSA_NSID`` of an ``RTM_NEWNSID`` reply; None when none is assigned (-1)."""
    a = attrs(buf, start + 4, end)
    span = a.get(NETNSA_NSID)
    if span is None or span[1] - span[0] < I32.size or span[1] > end:
        return None
    nsid = int(I32.unpack_from(buf, span[0])[0])
    return nsid if nsid >= 0 else None


def route_get_request(dst: str, fib_match: bool = False) -> bytes:
    """``ip route get DST`` (with ``fib_match``: ``ip route get fibmatch DST``)."""
    family = socket.AF_INET6 if ":" in dst else socket.AF_INET
    raw = socket.inet_pton(family, dst)
    flags = RTM_F_LOOKUP_TABLE | (RTM_F_FIB_MATCH if fib_match else 0)
    return RTMSG.pack(family, len(raw) * 8, 0, 0, 0, 0, 0, 0, flags) + attr(RTA_DST, raw)


# -- replies -------------------------------------------------------------------

_LINK_ATTRS = frozenset({IFLA_ADDRESS, IFLA_BROADCAST, IFLA_IFNAME, IFLA_MTU, IFLA_LINK,
                         IFLA_QDISC, IFLA_MASTER, IFLA_TXQLEN, IFLA_MAP, IFLA_OPERSTATE,
                         IFLA_LINKINFO,
                         IFLA_IFALIAS, IFLA_STATS64, IFLA_GROUP, IFLA_LINK_NETNSID})


def _link_attrs(buf: memoryview, start: int, end: int) -> dict[int, tuple[int, int]]:
    """:func:`attrs` keeping only what :func:`decode_link` reads (of ~45 a link has)."""
    out: dict[int, tuple[int, int]] = {}
    unpack, wanted = NLATTR.unpack_from, _LINK_ATTRS
    off = start
    while off + 4 <= end:
        length, atype = unpack(buf, off)
        if length < 4:
            break
        if off + length > end:
            raise bad_attr(off, atype, length, end)
        if (atype & 0x3FFF) in wanted:  # NLA_TYPE_MASK
            out[atype] = (off + 4, off + length)
        off += (length + 3) & ~3
    return out


def decode_link(buf: memoryview, start: int, end: int) -> Link:
    """One RTM_NEWLINK message. Raises Malformed."""
    return _link(buf, start, end, _link_attrs(buf, start + IFINFOMSG.size, end))


# A link message carries about 50 attributes, of which decode_link reads 15: the
# walk over them (_link_attrs) was most of a link's decoding. The messages of one
# dump share a few layouts (veths of one name length, a bridge, lo ...), so each
# layout's attribute headers are read with one struct, compared as one tuple, and
# the 15 spans come from the layout. Layouts kept: a bound against a dump of odd ones.
_LINK_LAYOUTS_MAX = 64
_ATTR_HEADER = struct.Struct("=I")  # an attribute's length and type, compared as one number
# A layout: (the struct of its attribute headers, their values, the spans decode_link
# reads as (type, offset, end) from the payload's start)
_LinkLayout = tuple[struct.Struct, tuple[int, ...], tuple[tuple[int, int, int], ...]]


def _link_layout(buf: memoryview, start: int, end: int) -> _LinkLayout | None:
    """The layout of the link message at ``buf[start:end]`` (its payload), or None when
    its attributes do not tile it exactly (decode_link then reads it alone)."""
    fmt = [f"={IFINFOMSG.size}x"]
    signature: list[int] = []
    wanted: list[tuple[int, int, int]] = []
    unpack = NLATTR.unpack_from
    off = start + IFINFOMSG.size
    while off + 4 <= end:
        length, atype = unpack(buf, off)
        aligned = (length + 3) & ~3
        if length < 4 or off + aligned > end:
            return None
        signature.append(_ATTR_HEADER.unpack_from(buf, off)[0])
        fmt.append(f"I{aligned - 4}x" if aligned > 4 else "I")
        if (atype & 0x3FFF) in _LINK_ATTRS:  # NLA_TYPE_MASK, as _link_attrs
            wanted.append((atype, off + 4 - start, off + length - start))
        off += aligned
    if off != end or not signature:
        return None
    return struct.Struct("".join(fmt)), tuple(signature), tuple(wanted)


def link_decoder() -> Callable[[memoryview, int, int], Link]:
    """:func:`decode_link` for the messages of a dump: the same Link for every message,
    the attributes of a known layout found without walking them (one struct
    unpack of their headers, equal to the layout's). A message whose headers match
    no layout is walked by decode_link, and its layout kept."""
    layouts: dict[int, list[_LinkLayout]] = {}
    kept = 0

    def decode(buf: memoryview, start: int, end: int) -> Link:
        nonlocal kept
        for heads, signature, wanted in layouts.get(end - start, ()):
            if heads.unpack_from(buf, start) == signature:
                return _link(buf, start, end, {t: (start + s, start + e) for t, s, e in wanted})
        link = decode_link(buf, start, end)  # Malformed here, where a message is
        if kept < _LINK_LAYOUTS_MAX and (layout := _link_layout(buf, start, end)) is not None:
            layouts.setdefault(end - start, []).append(layout)
            kept += 1
        return link

    return decode


def _link(buf: memoryview, start: int, end: int, a: dict[int, tuple[int, int]]) -> Link:
    """decode_link, given the spans of the attributes it reads."""
    _family, ltype, index, flags, _change = _header(buf, start, end, IFINFOMSG, "ifinfomsg")
    kind = ARPHRD.get(ltype, str(ltype))
    if IFLA_LINKINFO in a:
        info = attrs(buf, *a[IFLA_LINKINFO])
        if IFLA_INFO_KIND in info:
            kind = _str(buf, info[IFLA_INFO_KIND])
    names = _FLAG_NAMES.get(flags)
    if names is None:
        names = _flag_names(flags)
    oper = _u32_byte(buf, a.get(IFLA_OPERSTATE))
    stats = _NO_STATS
    if IFLA_STATS64 in a:
        span = a[IFLA_STATS64]
        full = span[1] - span[0] >= STATS64_FULL.size
        v = fixed(buf, span, STATS64_FULL if full else STATS64, "IFLA_STATS64")
        # one tuple in LinkStats' order (rtnl_link_stats64 starts rx/tx packets, bytes ...)
        stats = LinkStats._make(_STATS_ORDER(v) if full else _STATS_ORDER_SHORT(v) + _ZEROS)
    # positional, in Link's field order (keywords cost a NamedTuple a dict each)
    return Link(
        index,
        _str(buf, a[IFLA_IFNAME]) if IFLA_IFNAME in a else str(index),
        kind,
        names,
        flags,
        OPERSTATES[oper] if oper is not None and oper < len(OPERSTATES) else "UNKNOWN",
        _u32(buf, a[IFLA_MTU]) if IFLA_MTU in a else 0,
        _mac(buf, a[IFLA_ADDRESS]) if IFLA_ADDRESS in a else None,
        _mac(buf, a[IFLA_BROADCAST]) if IFLA_BROADCAST in a else None,
        _str(buf, a[IFLA_QDISC]) if IFLA_QDISC in a else None,
        _u32(buf, a[IFLA_MASTER]) if IFLA_MASTER in a else None,
        _u32(buf, a[IFLA_LINK]) if IFLA_LINK in a else None,
        fixed(buf, a[IFLA_LINK_NETNSID], I32, "IFLA_LINK_NETNSID")[0]
        if IFLA_LINK_NETNSID in a else None,
        _u32(buf, a[IFLA_TXQLEN]) if IFLA_TXQLEN in a else None,
        _u32(buf, a[IFLA_GROUP]) if IFLA_GROUP in a else 0,
        _str(buf, a[IFLA_IFALIAS]) if IFLA_IFALIAS in a else None,
        stats,
        ltype,
        None,
        None,
        _ifmap(buf, a.get(IFLA_MAP)),
    )


_NO_STATS = LinkStats()
# rtnl_link_stats64's fields in LinkStats' order: rx_bytes, rx_packets, rx_errors,
# rx_dropped, tx_bytes, tx_packets, tx_errors, tx_dropped, then the rest as they are
_STATS_ORDER = itemgetter(2, 0, 4, 6, 3, 1, 5, 7, *range(8, 23))
_STATS_ORDER_SHORT = itemgetter(2, 0, 4, 6, 3, 1, 5, 7, 8, 9)
_ZEROS = (0,) * 13
_FLAG_NAMES: dict[int, tuple[str, ...]] = {}  # IFF_* bits -> their names, as ip prints them


def _flag_names(flags: int) -> tuple[str, ...]:
    names = [name for bit, name in IFF_NAMES if flags & bit]
    if flags & IFF_UP and not flags & IFF_RUNNING:  # as ip: "<NO-CARRIER,...,UP>"
        names.insert(0, "NO-CARRIER")
    if len(_FLAG_NAMES) < 4096:  # a dump has a few distinct values; a bound all the same
        _FLAG_NAMES[flags] = tuple(names)
    return tuple(names)


def _ifmap(buf: memoryview, span: tuple[int, int] | None) -> tuple[int, int, int, int, int] | None:
    """``(mem_start, mem_end, base_addr, irq, dma)`` when any is set (ifconfig's
    ``device`` line), else None."""
    if span is None or span[1] - span[0] < IFMAP.size:
        return None
    mem_start, mem_end, base, irq, dma, _port = IFMAP.unpack_from(buf, span[0])
    if not (mem_start or mem_end or base or irq or dma):
        return None
    return mem_start, mem_end, base, irq, dma


def _u32_byte(buf: memoryview, span: tuple[int, int] | None) -> int | None:
    return None if span is None else fixed(buf, span, U8, "u8 attribute")[0]


def decode_addr(buf: memoryview, start: int, end: int, ifnames: dict[int, str]) -> Address:
    """One RTM_NEWADDR message. Raises Malformed."""
    family, prefixlen, flags8, scope, index = _header(buf, start, end, IFADDRMSG, "ifaddrmsg")
    a = attrs(buf, start + IFADDRMSG.size, end)
    flags = _u32(buf, a[IFA_FLAGS]) if IFA_FLAGS in a else flags8
    local = _ip(buf, a[IFA_LOCAL]) if IFA_LOCAL in a else None
    address = _ip(buf, a[IFA_ADDRESS]) if IFA_ADDRESS in a else None
    if local is None:  # IPv6: only IFA_ADDRESS
        local, address = address, None
    names = [name for bit, name in IFA_FLAG_NAMES if flags & bit]
    if not flags & 0x80:
        names.append("dynamic")
    valid = preferred = None
    if IFA_CACHEINFO in a:
        pref, val, _c, _t = fixed(buf, a[IFA_CACHEINFO], CACHEINFO, "IFA_CACHEINFO")
        valid = None if val == INFINITY_LIFE_TIME else val
        preferred = None if pref == INFINITY_LIFE_TIME else pref
    return Address(
        ifindex=index, ifname=ifnames.get(index, str(index)), family=FAMILIES.get(family,
                                                                                str(family)),
        local=local or "", prefixlen=prefixlen, scope=SCOPES.get(scope, str(scope)),
        label=_str(buf, a[IFA_LABEL]) if IFA_LABEL in a else None,
        broadcast=_ip(buf, a[IFA_BROADCAST]) if IFA_BROADCAST in a else None,
        peer=address if address is not None and address != local else None,
        flags=tuple(names), valid_lft=valid, preferred_lft=preferred,
    )


def decode_link_name(buf: memoryview, start: int, end: int) -> tuple[int, str]:
    """``(ifindex, name)`` of an RTM_NEWLINK message, without decoding the rest:
    what routes, addresses and neighbours need to name their devices. Raises Malformed."""
    index = _header(buf, start, end, IFINFOMSG, "ifinfomsg")[2]
    off = start + IFINFOMSG.size
    unpack_attr = NLATTR.unpack_from
    while off + 4 <= end:
        length, atype = unpack_attr(buf, off)
        if length < 4:
            break
        if off + length > end:
            raise bad_attr(off, atype, length, end)
        if atype & 0x3FFF == IFLA_IFNAME:
            return index, _str(buf, (off + 4, off + length))
        off += (length + 3) & ~3
    return index, str(index)


def decode_route(buf: memoryview, start: int, end: int, ifnames: dict[int, str],
                 tables: dict[int, str] | None = None) -> Route:
    """One RTM_NEWROUTE message. The hottest decoder (thousands of routes): one pass
    over the attributes, no intermediate dict. Raises Malformed."""
    (family, dst_len, _src_len, tos, table, protocol, scope, rtype,
     flags) = _header(buf, start, end, RTMSG, "rtmsg")
    dst = gateway = prefsrc = None
    oif: int | None = None
    metric = 0
    multipath = None
    expires: int | None = None
    unpack_attr, unpack_u32, ntop = NLATTR.unpack_from, U32.unpack_from, socket.inet_ntop
    off = start + RTMSG.size
    while off + 4 <= end:
        length, atype = unpack_attr(buf, off)
        if length < 4:
            break
        if off + length > end:
            raise bad_attr(off, atype, length, end)
        atype &= 0x3FFF  # NLA_TYPE_MASK
        p = off + 4
        if atype in (RTA_OIF, RTA_PRIORITY, RTA_TABLE) and length < 8:
            raise Malformed(f"rtnetlink attribute {atype} at offset {off}: {length - 4} "
                            "bytes, expected 4")
        if atype in (RTA_DST, RTA_GATEWAY, RTA_PREFSRC):
            size = length - 4
            text = (ntop(socket.AF_INET if size == 4 else socket.AF_INET6, buf[p:off + length])
                    if size in (4, 16) else bytes(buf[p:off + length]).hex())
            if atype == RTA_DST:
                dst = text
            elif atype == RTA_GATEWAY:
                gateway = text
            else:
                prefsrc = text
        elif atype == RTA_OIF:
            oif = unpack_u32(buf, p)[0]
        elif atype == RTA_PRIORITY:
            metric = unpack_u32(buf, p)[0]
        elif atype == RTA_TABLE:
            table = unpack_u32(buf, p)[0]
        elif atype == RTA_MULTIPATH:
            multipath = (p, off + length)
        elif atype == RTA_CACHEINFO and length >= 16:
            ticks = RTA_CACHEINFO_EXPIRES.unpack_from(buf, p + 8)[0]
            expires = ticks // USER_HZ if ticks else None
        off += (length + 3) & ~3
    if dst is not None:
        if dst_len != (32 if family == socket.AF_INET else 128):
            dst = f"{dst}/{dst_len}"
    else:
        dst = "default" if dst_len == 0 else f"?/{dst_len}"
    nexthops: list[tuple[str | None, str | None, int]] = []
    if multipath is not None:
        off, stop = multipath
        while off + RTNEXTHOP.size <= stop:
            length, _nhflags, hops, nh_if = RTNEXTHOP.unpack_from(buf, off)
            if length < RTNEXTHOP.size:
                break
            if off + length > stop:
                raise Malformed(f"RTA_MULTIPATH next hop at offset {off}: length {length} "
                                f"runs past the attribute ({stop - off} bytes left)")
            na = attrs(buf, off + RTNEXTHOP.size, off + length)
            gw = _ip(buf, na[RTA_GATEWAY]) if RTA_GATEWAY in na else None
            nexthops.append((gw, ifnames.get(nh_if, str(nh_if)), hops + 1))
            off += (length + 3) & ~3
    flag_names: tuple[str, ...] = ()
    if flags & 0x15:
        flag_names = tuple(name for bit, name in ((0x1, "dead"), (0x4, "onlink"),
                                                  (0x10, "linkdown")) if flags & bit)
    return Route(
        FAMILIES.get(family) or str(family),
        table_name(table, tables),
        ROUTE_TYPES[rtype] if rtype < len(ROUTE_TYPES) else str(rtype),
        dst, dst_len, gateway,
        None if oif is None else ifnames.get(oif) or str(oif), oif,
        prefsrc, metric,
        PROTOCOLS.get(protocol) or str(protocol), SCOPES.get(scope) or str(scope),
        tos, flag_names, tuple(nexthops), expires,
    )


def decode_rule(buf: memoryview, start: int, end: int,
                tables: dict[int, str] | None = None) -> Rule:
    """One RTM_NEWRULE message. Raises Malformed."""
    (family, dst_len, src_len, tos, table, _r1, _r2, action,
     flags) = _header(buf, start, end, FIB_RULE_HDR, "fib_rule_hdr")
    a = attrs(buf, start + FIB_RULE_HDR.size, end)
    if FRA_TABLE in a:
        table = _u32(buf, a[FRA_TABLE])
    src = f"{_ip(buf, a[FRA_SRC])}/{src_len}" if FRA_SRC in a else "all"
    dst = f"{_ip(buf, a[FRA_DST])}/{dst_len}" if FRA_DST in a else "all"
    sup = _u32(buf, a[FRA_SUPPRESS_PREFIXLEN]) if FRA_SUPPRESS_PREFIXLEN in a else None
    return Rule(
        family=FAMILIES.get(family, str(family)),
        priority=_u32(buf, a[FRA_PRIORITY]) if FRA_PRIORITY in a else 0,
        action=RULE_ACTIONS.get(action, str(action)),
        table=table_name(table, tables) if action == 1 else None,
        src=src, dst=dst,
        iif=_str(buf, a[FRA_IIFNAME]) if FRA_IIFNAME in a else None,
        oif=_str(buf, a[FRA_OIFNAME]) if FRA_OIFNAME in a else None,
        fwmark=_u32(buf, a[FRA_FWMARK]) if FRA_FWMARK in a else None,
        fwmask=_u32(buf, a[FRA_FWMASK]) if FRA_FWMASK in a else None,
        tos=tos, invert=bool(flags & FIB_RULE_INVERT),
        goto=_u32(buf, a[FRA_GOTO]) if FRA_GOTO in a else None,
        suppress_prefixlen=None if sup in (None, 0xFFFFFFFF) else sup,
        unmodelled=tuple(name for num, name in FRA_UNMODELLED.items() if num in a),
    )


def decode_neigh(buf: memoryview, start: int, end: int, ifnames: dict[int, str]) -> Neighbour:
    """One RTM_NEWNEIGH message. Raises Malformed."""
    family, index, state, flags, _ntype = _header(buf, start, end, NDMSG, "ndmsg")
    a = attrs(buf, start + NDMSG.size, end)
    states = tuple(name for bit, name in NUD_STATES if state & bit) or ("NONE",)
    return Neighbour(
        family=FAMILIES.get(family, str(family)),
        dst=_ip(buf, a[NDA_DST]) if NDA_DST in a else "",
        dev=ifnames.get(index, str(index)), ifindex=index,
        lladdr=_mac(buf, a[NDA_LLADDR]) if NDA_LLADDR in a else None,
        state=states, router=bool(flags & NTF_ROUTER),
        flags=("proxy",) if flags & NTF_PROXY else (),
    )


def decode_route_get(buf: memoryview, start: int, end: int, dst: str, ifnames: dict[int, str],
                     tables: dict[int, str] | None = None) -> RouteLookup:
    r = decode_route(buf, start, end, ifnames, tables)
    return RouteLookup(dst=dst, type=r.type, table=r.table, dev=r.dev, gateway=r.gateway,
                       prefsrc=r.prefsrc, matched=None)
