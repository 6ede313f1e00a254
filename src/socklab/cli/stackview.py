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


def route_n(routes: list[Route]) -> list[str]:
    """The main IPv4 table as ``route -n`` prints it."""
    import ipaddress

    lines = ["Kernel IP routing table",
             f"{'Destination':<16}{'Gateway':<16}{'Genmask':<16}Flags Metric Ref    Use Iface"]
    for r in routes:
        if r.type not in ("unicast", "blackhole", "unreachable", "prohibit"):
            continue
        dest = "0.0.0.0" if r.dst == "default" else r.dst.split("/")[0]
        mask = str(ipaddress.ip_network(f"0.0.0.0/{r.dst_len}").netmask)
        flags = "U" + ("G" if r.gateway else "") + ("H" if r.dst_len == 32 else "")
        if r.type != "unicast":
            flags = "!" + flags
        lines.append(f"{dest:<16}{r.gateway or '0.0.0.0':<16}{mask:<16}{flags:<6}"
                     f"{r.metric:<7}{0:<7}{0:>3} {r.dev or '*'}")
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
