"""Text views of the stack models: ip-like tables, ifconfig -a, route -n, a lookup explained.

Formatting only; the rows come from :mod:`socklab.stack.read` (``--json``
prints the models themselves).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from socklab.cli.render import Column

if TYPE_CHECKING:
    from collections.abc import Callable

    from socklab.cli.explaintext import Explainer
    from socklab.stack.lookup import Explanation
    from socklab.stack.model import Address, Link, LinkStats, Neighbour, Route, Rule

LINK_COLUMNS = [
    Column("index", "IDX", right=True), Column("name", "NAME"), Column("kind", "KIND"),
    Column("state", "STATE"), Column("mtu", "MTU", right=True), Column("address", "MAC"),
    Column("qdisc", "QDISC"), Column("related", "MASTER/PEER"),
    Column("flags", "FLAGS", shrink=True),
]
LINK_STATS_COLUMNS = [*LINK_COLUMNS[:6], Column("rx_bytes", "RX BYTES", right=True),
                      Column("rx_packets", "RX PKTS", right=True),
                      Column("rx_errors", "RX ERR", right=True),
                      Column("rx_dropped", "RX DROP", right=True),
                      Column("tx_bytes", "TX BYTES", right=True),
                      Column("tx_packets", "TX PKTS", right=True),
                      Column("tx_errors", "TX ERR", right=True),
                      Column("tx_dropped", "TX DROP", right=True)]
ADDR_COLUMNS = [
    Column("ifname", "DEV"), Column("family", "FAMILY"), Column("local", "ADDRESS"),
    Column("prefixlen", "PREFIX", right=True), Column("scope", "SCOPE"),
    Column("broadcast", "BROADCAST"), Column("label", "LABEL"), Column("flags", "FLAGS"),
]
ROUTE_COLUMNS = [
    Column("table", "TABLE"), Column("type", "TYPE"), Column("dst", "DESTINATION"),
    Column("gateway", "GATEWAY"), Column("dev", "DEV"), Column("prefsrc", "SRC"),
    Column("metric", "METRIC", right=True), Column("protocol", "PROTO"), Column("scope", "SCOPE"),
]
RULE_COLUMNS = [
    Column("family", "FAMILY"), Column("priority", "PRIO", right=True),
    Column("selector", "SELECTOR"), Column("action", "ACTION"),
]
NEIGH_COLUMNS = [
    Column("dst", "ADDRESS"), Column("lladdr", "MAC"), Column("dev", "DEV"),
    Column("state", "STATE"), Column("router", "ROUTER"),
]


def _peer(link: Link, names: dict[int, str]) -> str:
    """The other end of a link: its name here, or in another namespace its name and
    the namespace's (``veth1 (netns lab1)``), else what is known (``2 (netnsid 0)``)."""
    if link.link_netnsid is None:
        return str(names.get(link.link, link.link)) if link.link is not None else "-"
    where = f"netns {link.link_netns}" if link.link_netns else f"netnsid {link.link_netnsid}"
    return f"{link.link_name or link.link} ({where})"


def link_row(link: Link, names: dict[int, str]) -> dict[str, object]:
    related = []
    if link.master is not None:
        related.append(f"master {names.get(link.master, link.master)}")
    if link.link is not None:
        related.append(f"link {_peer(link, names)}")
    stats = link.stats
    return {"index": link.ifindex, "name": link.name, "kind": link.kind, "state": link.operstate,
            "mtu": link.mtu, "address": link.address, "qdisc": link.qdisc,
            "related": ", ".join(related) or None, "flags": ",".join(link.flags),
            "rx_bytes": stats.rx_bytes, "rx_packets": stats.rx_packets,
            "rx_errors": stats.rx_errors, "rx_dropped": stats.rx_dropped,
            "tx_bytes": stats.tx_bytes, "tx_packets": stats.tx_packets,
            "tx_errors": stats.tx_errors, "tx_dropped": stats.tx_dropped}


# ifconfig prints these names, in this order (net-tools lib/interface.c ife_print_long)
_IFCONFIG_FLAGS = [(0x1, "UP"), (0x2, "BROADCAST"), (0x4, "DEBUG"), (0x8, "LOOPBACK"),
                   (0x10, "POINTOPOINT"), (0x20, "NOTRAILERS"), (0x40, "RUNNING"),
                   (0x80, "NOARP"), (0x100, "PROMISC"), (0x200, "ALLMULTI"), (0x800, "SLAVE"),
                   (0x400, "MASTER"), (0x1000, "MULTICAST"), (0x8000, "DYNAMIC")]
IFF_BROADCAST, IFF_POINTOPOINT = 0x2, 0x10
# ARPHRD_* -> (the word, the title) of the hardware types net-tools is built with
# (lib/hw.c); any other type is "unspec" (its address as 16 dash-separated bytes)
_HW_TYPES = {1: ("ether", "Ethernet"), 772: ("loop", "Local Loopback"),
             768: ("tunnel", "IPIP Tunnel"), 776: ("sit", "IPv6-in-IPv4"),
             512: ("ppp", "Point-to-Point Protocol")}


def human_bytes(n: int) -> str:
    """A byte count as ifconfig prints it after the number (net-tools ``ife_unit``):
    binary units above 1024 (strictly), one decimal, truncated, not rounded:
    ``0.0 B``, ``1024.0 B``, ``164.4 KiB``."""
    units = [(1 << 60, "EiB"), (1 << 50, "PiB"), (1 << 40, "TiB"), (1 << 30, "GiB"),
             (1 << 20, "MiB"), (1 << 10, "KiB")]
    tenths, unit = n * 10, "B"
    for size, name in units:
        if n > size:
            tenths, unit = n * 10 // size, name
            break
    return f"{tenths // 10}.{tenths % 10} {unit}"


_DIGITS = frozenset("0123456789")  # C's isdigit(): ASCII only (str.isdigit takes "²")


def _digits_start(name: str) -> int:
    """net-tools ``rindex_nondigit``: where the trailing digits begin."""
    pos = len(name)
    while pos > 0 and name[pos - 1] in _DIGITS:
        pos -= 1
    return pos


def _cut_alias(name: str) -> tuple[str, str | None]:
    """net-tools ``cutalias``: ``eth0:12`` -> ``("eth0", "12")``."""
    head, colon, tail = name.rpartition(":")
    if colon and tail and _DIGITS.issuperset(tail):
        return head, tail
    return name, None


def nstrcmp(a_name: str, b_name: str) -> int:
    """net-tools' interface name order (lib/nstrcmp.c): the stem, then the trailing number
    as a number, then the alias number (none first): eth2 < eth10 < eth10:1 < eth10:2."""
    a, a_alias = _cut_alias(a_name)
    b, b_alias = _cut_alias(b_name)
    ai, bi = _digits_start(a), _digits_start(b)
    n = min(ai, bi)
    if a[:n] != b[:n]:
        return -1 if a[:n] < b[:n] else 1
    if ai != bi:
        return -1 if ai < bi else 1
    av, bv = int(a[ai:] or 0), int(b[bi:] or 0)
    if av != bv:
        return -1 if av < bv else 1
    if a != b:
        return -1 if a < b else 1
    aa, ba = int(a_alias) if a_alias else -1, int(b_alias) if b_alias else -1
    if aa != ba:
        return -1 if aa < ba else 1
    if a_alias and b_alias and a_alias != b_alias:
        return -1 if a_alias < b_alias else 1
    return 0


def nstrcmp_key(name: str) -> tuple[str, int, str, int, str]:
    """A sort key that orders as :func:`nstrcmp` does: its steps compare, in turn, the
    stem (``strncmp`` over the shorter stem, then the shorter first: plain string
    order), the trailing number, the name without alias, the alias number (-1 for
    none) and the alias text."""
    base, alias = _cut_alias(name)
    start = _digits_start(base)
    return (base[:start], int(base[start:] or 0), base, int(alias) if alias else -1,
            alias or "")


def ifconfig_order(names: list[str]) -> list[str]:
    """The names as ifconfig lists them: net-tools keeps its list sorted with
    :func:`nstrcmp` as it inserts each name, duplicates dropped (lib/interface.c
    ``if_cache_add``); :func:`nstrcmp_key` gives the same order in n log n."""
    return sorted(dict.fromkeys(names), key=nstrcmp_key)


def _flags_text(flags: int) -> str:
    """``flags=4163<UP,BROADCAST,RUNNING,MULTICAST>``, with ifconfig's quirks: the value
    is a C short, and no known flag leaves ``<`` (flags 0) or nothing."""
    value = flags - 0x10000 if flags & 0x8000 else flags
    names = [name for bit, name in _IFCONFIG_FLAGS if flags & bit]
    inner = f"<{','.join(names)}>" if names else ("<" if flags == 0 else "")
    return f"flags={value}{inner}"


def _hw_line(link: Link) -> str:
    word, title = _HW_TYPES.get(link.link_type if link.link_type is not None else -1,
                                ("unspec", "UNSPEC"))
    raw = bytes.fromhex(link.address.replace(":", "")) if link.address else b""
    if word == "ether":
        text = f"ether {(raw + bytes(6))[:6].hex(':')}"
    elif word == "unspec":  # the first 8 bytes of the address, then zeros (if_fetch)
        text = "unspec " + "-".join(f"{b:02X}" for b in (raw[:8] + bytes(16))[:16])
    elif word == "tunnel":  # pr_tunnel prints ""
        text = "tunnel "
    else:
        text = word
    queue = f"  txqueuelen {link.txqlen}" if link.txqlen is not None else ""
    return f"        {text}{queue}  ({title})"


def _inet_line(a: Address, flags: int) -> str:
    """The IPv4 line: broadcast when the link has IFF_BROADCAST (0.0.0.0 when none is
    set), destination when it is point-to-point (the peer, else the address itself)."""
    line = f"        inet {a.local}  netmask {_netmask(a.prefixlen)}"
    if flags & IFF_BROADCAST:
        line += f"  broadcast {a.broadcast or '0.0.0.0'}"
    if flags & IFF_POINTOPOINT:
        line += f"  destination {a.peer or a.local}"
    return line


_SCOPE_IDS = {"global": 0x0, "host": 0x10, "link": 0x20, "site": 0x40}
_SCOPE_WORDS = {0x0: "global", 0x10: "host", 0x20: "link", 0x40: "site"}


def _inet6_line(a: Address) -> str:
    """The IPv6 line, with /proc/net/if_inet6's scope bits (IPV6_ADDR_*): an
    IPv4-compatible address (::a.b.c.d) is 0x80, ``<compat,global>``."""
    import socket

    try:
        value = int.from_bytes(socket.inet_pton(socket.AF_INET6, a.local), "big")
    except (OSError, ValueError):  # not an address the kernel would give: its scope as said
        value = -1
    if 1 < value < 1 << 32:
        scope, words = 0x80, "compat,global"
    else:
        scope = _SCOPE_IDS.get(a.scope, 0)
        words = _SCOPE_WORDS[scope]
    return f"        inet6 {a.local}  prefixlen {a.prefixlen}  scopeid {scope:#x}<{words}>"


def _counter_lines(s: LinkStats) -> list[str]:
    """The four counter lines; dropped, frame and carrier are /proc/net/dev's sums."""
    out = [f"        RX packets {s.rx_packets}  bytes {s.rx_bytes} ({human_bytes(s.rx_bytes)})"]
    if s.rx_compressed:
        out.append(f"        RX compressed {s.rx_compressed}")
    frame = s.rx_length_errors + s.rx_over_errors + s.rx_crc_errors + s.rx_frame_errors
    out.append(f"        RX errors {s.rx_errors}  dropped {s.rx_dropped + s.rx_missed_errors}"
               f"  overruns {s.rx_fifo_errors}  frame {frame}")
    out.append(f"        TX packets {s.tx_packets}  bytes {s.tx_bytes} ({human_bytes(s.tx_bytes)})")
    if s.tx_compressed:
        out.append(f"        TX compressed {s.tx_compressed}")
    carrier = (s.tx_carrier_errors + s.tx_aborted_errors + s.tx_window_errors
               + s.tx_heartbeat_errors)
    # "dropped %lu overruns": one space, as net-tools 2.10 prints it
    out.append(f"        TX errors {s.tx_errors}  dropped {s.tx_dropped} overruns "
               f"{s.tx_fifo_errors}  carrier {carrier}  collisions {s.collisions}")
    return out


def ifconfig(links: list[Link], addrs: list[Address], only: str | None = None) -> list[str]:
    """Blocks as net-tools' ``ifconfig -a`` prints them (lib/interface.c ``ife_print_long``).

    1. One block per interface and one per IPv4 label that is not an interface's
       name (an alias, ``eth0:1``), in :func:`ifconfig_order`.
    2. An interface block: flags and MTU; the first IPv4 address labelled with its
       name (SIOCGIFADDR gives one); its IPv6 addresses; the hardware line; the
       counters. An alias block: the same flags, its first address, the hardware
       line, no IPv6 and no counters (they belong to the interface).
    3. Hardware lines by ARPHRD type (``_HW_TYPES``): ``ether`` for Ethernet-like
       links (veth, bridge, macvlan, vxlan, tap ...), ``loop`` for loopback,
       ``unspec`` for the rest (tun, wireguard ...).
    4. A NIC with an interrupt, I/O base, memory or DMA channel gets a ``device``
       line (from IFLA_MAP, what SIOCGIFMAP answers); virtual links have none.
    5. ``only``: that block alone (``ifconfig eth0``, ``ifconfig eth0:1``).
    """
    by_index = {link.ifindex: link for link in links}
    by_name = {link.name: link for link in links}
    labels: dict[str, list[Address]] = {}
    for a in addrs:
        if a.family == "inet" and a.ifindex in by_index:
            labels.setdefault(a.label or by_index[a.ifindex].name, []).append(a)
    out: list[str] = []
    for name in ifconfig_order([link.name for link in links] + list(labels)):
        if only is not None and name != only:
            continue
        link = by_name.get(name)
        mine = labels.get(name, [])
        if link is None:  # an alias: the interface's flags, MTU and hardware line
            link = by_index[mine[0].ifindex]
        flags = link.ifflags & 0xFFFF
        out.append(f"{name}: {_flags_text(flags)}  mtu {link.mtu}")
        if mine:
            out.append(_inet_line(mine[0], flags))
        if name == link.name:
            out += [_inet6_line(a) for a in addrs
                    if a.family == "inet6" and a.ifindex == link.ifindex]
        out.append(_hw_line(link))
        if name == link.name:
            out += _counter_lines(link.stats)
        if link.ifmap is not None and (device := _device_line(link.ifmap)):
            out.append(device)
        out.append("")
    return out


def _device_line(ifmap: tuple[int, int, int, int, int]) -> str | None:
    """A NIC's resources as ifconfig prints them (SIOCGIFMAP; its two trailing spaces
    kept): ``        device interrupt 16  memory 0xfe9e0000-fea00000  ``."""
    mem_start, mem_end, base, irq, dma = ifmap
    if not (irq or mem_start or dma or base >= 0x100):
        return None
    line = "        device "
    if irq:
        line += f"interrupt {irq}  "
    if base >= 0x100:  # only devices using it for I/O maps
        line += f"base {base:#x}  "
    if mem_start:
        line += f"memory {mem_start:#x}-{mem_end:x}  "
    if dma:
        line += f"  dma {dma:#x}"
    return line


def _netmask(length: int) -> str:
    """``24`` -> ``255.255.255.0`` (``?`` for a length no IPv4 prefix has)."""
    if not 0 <= length <= 32:
        return "?"
    return _dotted((0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF)


def _dotted(value: int) -> str:
    """A 32-bit number as a dotted quad."""
    return ".".join(str(value >> shift & 0xFF) for shift in (24, 16, 8, 0))


def _int32(n: int) -> int:
    """A u32 as C's ``%d`` prints it (route prints metric 0xffffffff as -1)."""
    return n - (1 << 32) if n >= 1 << 31 else n


def _route_order(r: Route) -> tuple[int, int, int, int]:
    """The order of the kernel's trie walk (/proc/net/route, fib_trie.c): by address,
    then the longer prefix, the higher TOS, the lower metric."""
    import ipaddress

    try:
        dest = 0 if r.dst == "default" else int(ipaddress.IPv4Address(r.dst.split("/")[0]))
    except ValueError:  # "?/24": a route without its destination attribute
        dest = 0
    return dest, -r.dst_len, -r.tos, r.metric


def route_n(routes: list[Route]) -> list[str]:
    """The IPv4 routes of one table (main: ``route -n``'s) as ``route -n`` prints them.

    Rules, from ``fib_route_seq_show()`` (net/ipv4/fib_trie.c) and net-tools'
    ``rprint_fib()`` (lib/inet_gr.c):

    1. Broadcast and multicast routes are left out; every other type is shown.
    2. Flags: ``U``, then ``G`` with a gateway, ``H`` for a /32; unreachable and
       prohibit routes are ``!`` (then ``H``) and print ``-`` for the gateway,
       Ref and interface. A blackhole or throw route is ``U`` with interface ``*``
       (it has no device).
    3. A multipath route shows its first next hop. Ref and Use are always 0 (the
       kernel prints 0 in /proc/net/route); the metric is a signed 32-bit number.
    """
    lines = ["Kernel IP routing table",
             "Destination     Gateway         Genmask         Flags Metric Ref    Use Iface"]
    for r in sorted(routes, key=_route_order):
        if r.family != "inet" or r.type in ("broadcast", "multicast"):
            continue
        dest = ("0.0.0.0" if r.dst == "default" else r.dst.split("/")[0])[:15]
        mask = _netmask(r.dst_len)
        gateway, dev = r.gateway, r.dev
        if r.nexthops:
            gateway, dev = r.nexthops[0][0], r.nexthops[0][1]
        if gateway is not None and ":" in gateway:  # RTA_VIA an IPv6 router: no IPv4 gateway
            gateway = None
        host = "H" if r.dst_len == 32 else ""
        metric = _int32(r.metric)
        if r.type in ("unreachable", "prohibit"):
            lines.append(f"{dest:<15} -               {mask:<15} {'!' + host:<5} {metric:<6} -  "
                         f"{0:>7} -")
            continue
        flags = "U" + ("G" if gateway else "") + host
        lines.append(f"{dest:<15} {gateway or '0.0.0.0':<15} {mask:<15} {flags:<5} "
                     f"{metric:<6} {0:<2} {0:>7} {dev or '*'}")
    return lines


# <linux/ipv6_route.h> RTF_* bits, in the order route -6 prints their letters
# (net-tools lib/inet6_gr.c rprint_fib6)
_RTF6_LETTERS = [(0x0001, "U"), (0x0200, "!"), (0x0002, "G"), (0x0004, "H"), (0x10000, "D"),
                 (0x40000, "A"), (0x01000000, "C"), (0x20000, "a"), (0x400000, "e"),
                 (0x0020, "m"), (0x200000, "n"), (0x02000000, "f")]
RTF_UP, RTF_REJECT, RTF_GATEWAY, RTF_DEFAULT, RTF_ADDRCONF = 0x1, 0x200, 0x2, 0x10000, 0x40000
RTF_EXPIRES, RTF_NONEXTHOP = 0x400000, 0x200000
_REJECT_TYPES = ("blackhole", "unreachable", "prohibit", "throw")


def _rtf6(r: Route, gateway: str | None) -> int:
    """The ``fib6_flags`` the kernel would print in /proc/net/ipv6_route, rebuilt from
    what rtnetlink says (net/ipv6/route.c, addrconf.c, ndisc.c):

    - reject types (blackhole, unreachable, prohibit, throw): RTF_REJECT | RTF_NONEXTHOP,
      and no RTF_UP;
    - the local and anycast routes the kernel adds for its own addresses (proto
      kernel): RTF_UP | RTF_NONEXTHOP;
    - a route learnt from a router advertisement: RTF_ADDRCONF, and RTF_DEFAULT for
      the default router's route. The kernel marks the routers' routes proto ra,
      but an advertised prefix's route proto kernel: a route of the kernel's without
      gateway that expires is one (addrconf_prefix_rcv());
    - RTF_GATEWAY with a next hop, RTF_EXPIRES when the route expires.
    """
    if r.type in _REJECT_TYPES:
        flags = RTF_REJECT | RTF_NONEXTHOP
    else:
        flags = RTF_UP
        if r.type in ("local", "anycast") and r.protocol == "kernel":
            flags |= RTF_NONEXTHOP
    if gateway:
        flags |= RTF_GATEWAY
    if r.protocol == "ra":
        flags |= RTF_ADDRCONF | (RTF_DEFAULT if r.dst == "default" and gateway else 0)
    elif (r.protocol == "kernel" and r.type == "unicast" and not gateway
          and r.expires is not None):
        flags |= RTF_ADDRCONF
    if r.expires is not None:
        flags |= RTF_EXPIRES
    return flags


def _route6_row(dest: str, via: str, flags: int, metric: int, dev: str,
                refs: dict[tuple[str, str, int, str], list[int]]) -> str:
    letters = "".join(letter for bit, letter in _RTF6_LETTERS if flags & bit)
    counts = refs.get((dest, via, metric, dev))
    ref = counts.pop(0) if counts else 1
    # %-30s %-26s %-4s %-3d %-1d %6d %s; Use is always 0
    return f"{dest:<30} {via:<26} {letters:<4} {_int32(metric):<3} {ref:<1} {0:>6} {dev}"


def route6_n(routes: list[Route], table_ids: dict[str, int],
             refs: dict[tuple[str, str, int, str], list[int]] | None = None) -> list[str]:
    """The IPv6 routes as ``route -6 -n`` prints them (every table, in /proc/net/ipv6_route's
    order).

    Rules, from ``ipv6_route_native_seq_show()`` (net/ipv6/route.c) and net-tools'
    ``rprint_fib6()``:

    1. Tables come in the kernel's hash order (table id modulo 256); within a
       table, routes in the walk order of its tree, which the rtnetlink dump
       follows too (socklab keeps the dump's order).
    2. Each table whose tree has no ``::/0`` route shows the kernel's null entry
       at its end: ``::/0 :: !n -1 1 0 lo``. A table that exists but holds no route
       at all is not known to rtnetlink and shows nothing here.
    3. A multipath route is one line per next hop (the kernel keeps one entry each).
    4. Flags as :func:`_rtf6` rebuilds them; the metric is a signed 32-bit number.
    5. Ref is the kernel's reference count of the entry, which rtnetlink does not
       report: ``refs`` gives it, from /proc/net/ipv6_route (matched by destination,
       next hop, metric and interface, in order; consumed); without it socklab prints
       1, the reference the table itself holds. Use is 0, as the kernel prints it.
    """
    refs = {} if refs is None else refs
    order: list[str] = []
    for r in routes:
        if r.family == "inet6" and r.table not in order:
            order.append(r.table)
    order += [t for t in ("main", "local") if t not in order]
    order.sort(key=lambda t: (int(t) if t.isascii() and t.isdigit() else table_ids.get(t, 0))
               & 0xFF)
    lines = ["Kernel IPv6 routing table",
             "Destination                    Next Hop                   Flag Met Ref  Use If"]
    for table in order:
        mine = [r for r in routes if r.family == "inet6" and r.table == table]
        for r in mine:
            dest = "::/0" if r.dst == "default" else (r.dst if "/" in r.dst
                                                       else f"{r.dst}/{r.dst_len}")
            hops = r.nexthops or ((r.gateway, r.dev, 1),)
            for gateway, dev, _weight in hops:
                lines.append(_route6_row(dest, gateway or "::", _rtf6(r, gateway), r.metric,
                                         dev or "", refs))
        if not any(r.dst == "default" for r in mine):
            lines.append(_route6_row("::/0", "::", RTF_REJECT | RTF_NONEXTHOP, 0xFFFFFFFF, "lo",
                                     refs))
    return lines


def rule_row(r: Rule) -> dict[str, object]:
    sel = [f"from {r.src}"]
    if r.dst != "all":
        sel.append(f"to {r.dst}")
    for word, value in (("iif", r.iif), ("oif", r.oif)):
        if value:
            sel.append(f"{word} {value}")
    if r.fwmark is not None:
        sel.append(f"fwmark {r.fwmark:#x}" + (f"/{r.fwmask:#x}" if r.fwmask is not None else ""))
    if r.invert:
        sel.insert(0, "not")
    action = f"lookup {r.table}" if r.action == "lookup" else (
        f"goto {r.goto}" if r.action == "goto" else r.action)
    return {"family": r.family, "priority": r.priority, "selector": " ".join(sel),
            "action": action}


def neigh_row(n: Neighbour) -> dict[str, object]:
    return {"dst": n.dst, "lladdr": n.lladdr, "dev": n.dev, "state": ",".join(n.state),
            "router": "yes" if n.router else ""}


# NUD_VALID (<net/neighbour.h>): the entries /proc/net/arp marks ATF_COM, with a MAC
_NUD_VALID = frozenset({"PERMANENT", "NOARP", "REACHABLE", "PROBE", "STALE", "DELAY",
                        "COMPLETE"})


def arp_an(neighbours: list[Neighbour], link_types: dict[str, int],
           names: dict[str, str] | None = None) -> list[str]:
    """IPv4 neighbours as net-tools' ``arp -an`` prints them (arp.c ``arp_disp``; the
    flags as ``arp_format_neigh_entry()`` in net/ipv4/arp.c gives them).

    - ``? (10.0.0.7) at 02:00:00:00:00:07 [ether] PERM on eth0``: a resolved entry
      (a NUD_VALID state) shows its MAC and the hardware type of its interface
      (``ether`` for the types net-tools does not know); a permanent one ``PERM``.
    - ``? (10.0.0.8) at <incomplete> on eth0``: INCOMPLETE and FAILED entries.
    - ``? (10.0.0.9) at <from_interface> PERM PUB on eth0``: a proxy entry.
    - ``names`` maps an address to its name (``arp -a``); ``?`` otherwise.
    """
    out = []
    for n in neighbours:
        if n.family != "inet":
            continue
        name = (names or {}).get(n.dst, "?")
        proxy = "proxy" in n.flags
        hw = _HW_TYPES.get(link_types.get(n.dev, 1), ("ether", ""))[0]
        if proxy:
            what = "<from_interface> PERM PUB "
        elif _NUD_VALID.intersection(n.state) and n.lladdr:
            what = f"{n.lladdr} [{hw}] " + ("PERM " if "PERMANENT" in n.state else "")
        else:
            what = "<incomplete> "
        out.append(f"{name} ({n.dst}) at {what}on {n.dev}")
    return out


def explanation(ex: Explanation, explain: Explainer | None = None) -> list[str]:
    """``route get`` explained, step by step; in French with a French ``explain``
    (socklab.cli.explaintext: the words here marked, the library's sentences matched)."""
    _: Callable[[str], str] = explain if explain is not None else str
    said: Callable[[str], str] = explain.sentence if explain is not None else str
    k = ex.kernel
    out = [_("route to {dst}").format(dst=ex.dst)]
    if k is not None:
        if k.error:
            out.append(f"  {_('kernel:')} {said(k.error)}")
        else:
            via = f" via {k.gateway}" if k.gateway else ""
            out.append(f"  {_('kernel:')} {k.type} {ex.dst}{via} dev {k.dev} src {k.prefsrc}"
                       "  (" + _("matched {prefix}, table {table}").format(
                           prefix=k.matched, table=k.table) + ")")
    out.append("  1. " + _("rules, by priority:"))
    out += [f"     {s.priority:>6}: {s.rule:<40} {said(s.outcome)}" for s in ex.rules] or [
        "     (" + _("no rule for this family") + ")"]
    if ex.table is not None:
        out.append("  2. " + _("table {table}: routes whose prefix contains {dst}, longest "
                               "prefix first, then lowest metric:").format(table=ex.table,
                                                                          dst=ex.dst))
        for c in ex.candidates:
            mark = "->" if c is ex.winner else "  "
            via = f" via {c.gateway}" if c.gateway else ""
            out.append(f"     {mark} {c.prefix:<24} {c.type:<10} metric {c.metric:<6}"
                       f"{via} dev {c.dev}")
        out.append(f"     {said(ex.why)}")
        if ex.found_by:
            out.append(f"     {_('found:')} {said(ex.found_by)}")
    if ex.error:
        out.append(f"  {_('result:')} {said(ex.error)} ({said(ex.why)})")
    else:
        out.append("  3. " + _("source address:") + f" {ex.source} ({said(ex.source_why)})")
        if ex.next_hop:
            n = ex.neighbour
            entry = (f"{n.lladdr or _('no MAC yet')} {','.join(n.state)}" if n is not None
                     else _("no entry yet (the first packet will trigger ARP/NDP)"))
            out.append("  4. " + _("next hop {hop}: neighbour entry {entry}").format(
                hop=ex.next_hop, entry=entry))
    if ex.agrees is not None:
        out.append("  " + (_("socklab's walk and the kernel agree") if ex.agrees else
                           _("socklab's walk and the kernel DISAGREE")))
    out += [f"  {_('note:')} {said(c)}" for c in ex.caveats]
    return out
