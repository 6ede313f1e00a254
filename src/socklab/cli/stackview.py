"""Text views of the stack models: ip-like tables, ifconfig -a, route -n, a lookup explained.

Formatting only; the rows come from :mod:`socklab.stack.read` (``--json``
prints the models themselves).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from socklab.cli.render import Column

if TYPE_CHECKING:
    from socklab.stack.lookup import Explanation
    from socklab.stack.model import Address, Link, Neighbour, Route, Rule

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


def link_row(link: Link, names: dict[int, str]) -> dict[str, Any]:
    related = []
    if link.master is not None:
        related.append(f"master {names.get(link.master, link.master)}")
    if link.link is not None:
        where = f"@netnsid {link.link_netnsid}" if link.link_netnsid is not None else ""
        peer = link.link if link.link_netnsid is not None else names.get(link.link, link.link)
        related.append(f"link {peer}{where}")
    stats = link.stats
    return {"index": link.ifindex, "name": link.name, "kind": link.kind, "state": link.operstate,
            "mtu": link.mtu, "address": link.address, "qdisc": link.qdisc,
            "related": ", ".join(related) or None, "flags": ",".join(link.flags),
            "rx_bytes": stats.rx_bytes, "rx_packets": stats.rx_packets,
            "rx_errors": stats.rx_errors, "rx_dropped": stats.rx_dropped,
            "tx_bytes": stats.tx_bytes, "tx_packets": stats.tx_packets,
            "tx_errors": stats.tx_errors, "tx_dropped": stats.tx_dropped}


# ifconfig prints these names, in bit order (net-tools lib/interface.c)
_IFCONFIG_FLAGS = [(0x1, "UP"), (0x2, "BROADCAST"), (0x4, "DEBUG"), (0x8, "LOOPBACK"),
                   (0x10, "POINTOPOINT"), (0x20, "NOTRAILERS"), (0x40, "RUNNING"),
                   (0x80, "NOARP"), (0x100, "PROMISC"), (0x200, "ALLMULTI"), (0x400, "MASTER"),
                   (0x800, "SLAVE"), (0x1000, "MULTICAST"), (0x8000, "DYNAMIC")]
_KIND_NAMES = {"ether": "Ethernet", "loopback": "Local Loopback", "veth": "Ethernet",
               "bridge": "Ethernet", "dummy": "Ethernet"}


def _human(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{n} B"
        value /= 1024
    return f"{n} B"


def ifconfig(links: list[Link], addrs: list[Address]) -> list[str]:
    """Blocks as ``ifconfig -a`` prints them; an IPv4 label (eth0:1) gets its own block."""
    out: list[str] = []
    for link in links:
        flags = link.ifflags & 0xFFFF
        names = ",".join(name for bit, name in _IFCONFIG_FLAGS if link.ifflags & bit)
        mine = [a for a in addrs if a.ifindex == link.ifindex]
        aliases = sorted({a.label for a in mine if a.family == "inet" and a.label
                          and a.label != link.name})
        main = [a for a in mine if a.family == "inet6" or not a.label or a.label == link.name]
        out.append(f"{link.name}: flags={flags}<{names}>  mtu {link.mtu}")
        out += [_inet_line(a) for a in main]
        kind = _KIND_NAMES.get(link.kind, link.kind)
        if link.kind == "loopback":
            out.append(f"        loop  txqueuelen {link.txqlen or 0}  ({kind})")
        elif link.address:
            out.append(f"        ether {link.address}  txqueuelen {link.txqlen or 0}  ({kind})")
        s = link.stats
        out += [
            f"        RX packets {s.rx_packets}  bytes {s.rx_bytes} ({_human(s.rx_bytes)})",
            f"        RX errors {s.rx_errors}  dropped {s.rx_dropped}",
            f"        TX packets {s.tx_packets}  bytes {s.tx_bytes} ({_human(s.tx_bytes)})",
            f"        TX errors {s.tx_errors}  dropped {s.tx_dropped}  collisions {s.collisions}",
            "",
        ]
        for label in aliases:
            out.append(f"{label}: flags={flags}<{names}>  mtu {link.mtu}")
            out += [_inet_line(a) for a in mine if a.label == label]
            out.append("")
    return out


def _inet_line(a: Address) -> str:
    import ipaddress

    if a.family == "inet":
        mask = ipaddress.ip_network(f"0.0.0.0/{a.prefixlen}").netmask
        line = f"        inet {a.local}  netmask {mask}"
        if a.broadcast:
            line += f"  broadcast {a.broadcast}"
        if a.peer:
            line += f"  destination {a.peer}"
        return line
    scopeid = {"global": "0x0", "link": "0x20", "host": "0x10", "site": "0x40"}.get(a.scope,
                                                                                  "0x0")
    return f"        inet6 {a.local}  prefixlen {a.prefixlen}  scopeid {scopeid}<{a.scope}>"


def _int32(n: int) -> int:
    """A u32 as C's ``%d`` prints it (route prints metric 0xffffffff as -1)."""
    return n - (1 << 32) if n >= 1 << 31 else n


def _route_order(r: Route) -> tuple[int, int, int, int]:
    """The order of the kernel's trie walk (/proc/net/route, fib_trie.c): by address,
    then the longer prefix, the higher TOS, the lower metric."""
    import ipaddress

    dest = 0 if r.dst == "default" else int(ipaddress.IPv4Address(r.dst.split("/")[0]))
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
    import ipaddress

    lines = ["Kernel IP routing table",
             "Destination     Gateway         Genmask         Flags Metric Ref    Use Iface"]
    for r in sorted(routes, key=_route_order):
        if r.family != "inet" or r.type in ("broadcast", "multicast"):
            continue
        dest = ("0.0.0.0" if r.dst == "default" else r.dst.split("/")[0])[:15]
        mask = str(ipaddress.IPv4Network(f"0.0.0.0/{r.dst_len}").netmask)
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
    - a route learnt from a router advertisement (proto ra): RTF_ADDRCONF, and
      RTF_DEFAULT for the default router's route;
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
    order.sort(key=lambda t: (int(t) if t.isdigit() else table_ids.get(t, 0)) & 0xFF)
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


def rule_row(r: Rule) -> dict[str, Any]:
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


def neigh_row(n: Neighbour) -> dict[str, Any]:
    return {"dst": n.dst, "lladdr": n.lladdr, "dev": n.dev, "state": ",".join(n.state),
            "router": "yes" if n.router else ""}


def explanation(ex: Explanation) -> list[str]:
    """``route get`` explained, step by step."""
    k = ex.kernel
    out = [f"route to {ex.dst}"]
    if k is not None:
        if k.error:
            out.append(f"  kernel: {k.error}")
        else:
            via = f" via {k.gateway}" if k.gateway else ""
            out.append(f"  kernel: {k.type} {ex.dst}{via} dev {k.dev} src {k.prefsrc}"
                       f"  (matched {k.matched}, table {k.table})")
    out.append("  1. rules, by priority:")
    out += [f"     {s.priority:>6}: {s.rule:<40} {s.outcome}" for s in ex.rules] or [
        "     (no rule for this family)"]
    if ex.table is not None:
        out.append(f"  2. table {ex.table}: routes whose prefix contains {ex.dst}, longest "
                   "prefix first, then lowest metric:")
        for c in ex.candidates:
            mark = "->" if c is ex.winner else "  "
            via = f" via {c.gateway}" if c.gateway else ""
            out.append(f"     {mark} {c.prefix:<24} {c.type:<10} metric {c.metric:<6}"
                       f"{via} dev {c.dev}")
        out.append(f"     {ex.why}")
    if ex.error:
        out.append(f"  result: {ex.error} ({ex.why})")
    else:
        out.append(f"  3. source address: {ex.source} ({ex.source_why})")
        if ex.next_hop:
            n = ex.neighbour
            entry = (f"{n.lladdr or 'no MAC yet'} {','.join(n.state)}" if n is not None
                     else "no entry yet (the first packet will trigger ARP/NDP)")
            out.append(f"  4. next hop {ex.next_hop}: neighbour entry {entry}")
    if ex.agrees is not None:
        out.append("  socklab's walk and the kernel agree" if ex.agrees else
                   "  socklab's walk and the kernel DISAGREE")
    out += [f"  note: {c}" for c in ex.caveats]
    return out
