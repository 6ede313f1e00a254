"""Route lookup, explained: socklab's own walk over the rules and tables it read. Pure.

The course (1.2): "the system chooses an interface according to the
destination; this choice rests on the routing table". Linux adds policy
routing in front of it. The walk, as ``fib_rules_lookup()`` and ``fib_table_lookup()``
do it for a packet this host sends (no source address, no mark, ``iif lo``):

1. Rules are tried by increasing priority. A rule matches when every selector
   it has matches; ``not`` inverts the result. Selectors socklab does not model
   (uidrange, ipproto, ports, l3mdev ...) are reported as caveats.
2. A matching ``lookup TABLE`` rule searches that table: among the routes whose
   prefix contains the destination, the longest prefix wins, then the lowest
   metric. A ``throw`` route, no match, or a winner suppressed by
   ``suppress_prefixlen`` sends the walk on to the next rule.
3. ``blackhole``/``unreachable``/``prohibit`` rules and routes end the walk
   with an error; ``goto`` jumps to the first rule at or after its target.
4. The source address is the route's ``prefsrc`` when it has one; otherwise the
   kernel picks an address of the outgoing interface (for IPv4, the primary
   address whose subnet holds the next hop, else the first primary one).

The kernel is asked too (:func:`socklab.route_get`), and the explanation says
whether both agree.
"""

# No "from __future__ import annotations": NamedTuple would compile every field's
# annotation at import (docs/design.md, "Start-up and PYTHONDONTWRITEBYTECODE").
# No dataclasses either: importing it imports inspect, 7 ms of every route get.
import ipaddress
from typing import NamedTuple

from socklab.stack.model import Address, Neighbour, Route, RouteLookup, Rule

__all__ = ["Candidate", "Explanation", "RuleStep", "explain", "lookup", "rule_matches"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ERROR_TYPES = {"blackhole": "Invalid argument (blackhole)",
               "unreachable": "No route to host (unreachable)",
               "prohibit": "Permission denied (prohibit)"}


class RuleStep(NamedTuple):
    priority: int
    rule: str  # the rule as ip prints it
    outcome: str  # "no match: ...", "matched: searched table main", ...


class Candidate(NamedTuple):
    prefix: str
    prefixlen: int
    metric: int
    type: str
    dev: str | None
    gateway: str | None
    table: str


class Explanation:
    """Why the kernel sends a packet for ``dst`` where it does.

    A record with named fields (``_asdict()`` gives them in order, as ``--json``
    prints them), compared field by field."""

    # the fields in the order --json prints them
    FIELDS = ("dst", "rules", "table", "candidates", "winner", "why", "error", "source",
              "source_why", "next_hop", "neighbour", "kernel", "agrees", "caveats", "special",
              "found_by", "probes")
    __slots__ = ("agrees", "candidates", "caveats", "dst", "error", "found_by", "kernel",
                 "neighbour", "next_hop", "probes", "rules", "source", "source_why", "special",
                 "table", "why", "winner")

    def __init__(self, dst: str) -> None:
        self.dst = dst
        self.rules: list[RuleStep] = []
        self.table: str | None = None
        self.candidates: list[Candidate] = []
        self.winner: Candidate | None = None
        self.why = ""
        self.error: str | None = None
        self.source: str | None = None
        self.source_why = ""
        self.next_hop: str | None = None
        self.neighbour: Neighbour | None = None
        self.kernel: RouteLookup | None = None
        self.agrees: bool | None = None
        self.caveats: list[str] = []
        self.special: str | None = None  # the kind of destination when not plain unicast
        # None when every route of the rules' tables was compared; else how the winning
        # table's candidates were found (stack/route_probe.py), with each lookup asked
        self.found_by: str | None = None
        self.probes: list[str] = []

    def _asdict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.FIELDS}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Explanation):
            return NotImplemented
        return self._asdict() == other._asdict()

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._asdict().items())
        return f"Explanation({fields})"

    @property
    def type(self) -> str | None:
        """The route type the packet gets: the special class, else the winner's."""
        if self.special in ("broadcast", "multicast", "local"):
            return self.special
        return self.winner.type if self.winner is not None else None


def prefix_of(route: Route) -> IPNetwork:
    if route.dst == "default":
        return ipaddress.ip_network("0.0.0.0/0" if route.family == "inet" else "::/0")
    if "/" in route.dst:
        return ipaddress.ip_network(route.dst, strict=False)
    return ipaddress.ip_network(f"{route.dst}/{route.dst_len}", strict=False)


def _rule_text(r: Rule) -> str:
    parts = ["not"] if r.invert else []
    parts.append(f"from {r.src}")
    if r.dst != "all":
        parts.append(f"to {r.dst}")
    if r.iif:
        parts.append(f"iif {r.iif}")
    if r.oif:
        parts.append(f"oif {r.oif}")
    if r.fwmark is not None:
        parts.append(f"fwmark {r.fwmark:#x}")
    if r.tos:
        parts.append(f"tos {r.tos:#x}")
    parts.append(f"lookup {r.table}" if r.action == "lookup" else
                 f"goto {r.goto}" if r.action == "goto" else r.action)
    return " ".join(parts)


def rule_matches(rules: list[Rule], dst: str) -> tuple[bool, ...]:
    """Which of ``rules`` match a packet from this host to ``dst`` (step 1): two
    addresses with the same answer take the same walk through the rules."""
    ip = ipaddress.ip_address(dst)
    return tuple(_rule_matches(r, ip)[0] for r in rules)


def _rule_matches(r: Rule, dst: IPAddress) -> tuple[bool, str]:
    """Does the rule match a packet from this host to ``dst``? And the reason."""
    reasons: list[str] = []
    ok = True
    if r.src != "all":
        net = ipaddress.ip_network(r.src, strict=False)
        # no source chosen yet (0.0.0.0 / ::): only a /0 prefix holds it
        if net.prefixlen:
            ok, reasons = False, [*reasons, f"the source is not chosen yet, not in {r.src}"]
    if ok and r.dst != "all" and dst not in ipaddress.ip_network(r.dst, strict=False):
        ok, reasons = False, [f"{dst} is not in {r.dst}"]
    if ok and r.iif and r.iif != "lo":
        ok, reasons = False, [f"locally sent packets come in on lo, not {r.iif}"]
    if ok and r.oif:
        ok, reasons = False, [f"no output interface is forced (oif {r.oif})"]
    if ok and r.fwmark is not None and r.fwmark & (r.fwmask if r.fwmask is not None
                                                   else 0xFFFFFFFF):
        ok, reasons = False, [f"the packet has no mark (fwmark {r.fwmark:#x})"]
    if ok and r.tos:
        ok, reasons = False, [f"the packet has TOS 0 (rule tos {r.tos:#x})"]
    if r.invert:
        ok = not ok
        reasons = [f"'not' inverts: {'; '.join(reasons) or 'every selector matched'}"]
    return ok, "; ".join(reasons) or "every selector matches"


def _candidates(table: str, routes: list[Route], dst: IPAddress) -> list[tuple[Candidate, Route]]:
    family = "inet" if dst.version == 4 else "inet6"
    found = []
    for r in routes:
        if r.table != table or r.family != family:
            continue
        net = prefix_of(r)
        if dst in net:
            found.append((Candidate(str(net), net.prefixlen, r.metric, r.type, r.dev, r.gateway,
                                    r.table), r))
    found.sort(key=lambda c: (-c[0].prefixlen, c[0].metric))
    return found


def lookup(dst: str, rules: list[Rule], routes: list[Route]) -> Explanation:
    """Walk the rules and tables for ``dst`` (steps 1 to 3 of the module docstring)."""
    ip = ipaddress.ip_address(dst)
    family = "inet" if ip.version == 4 else "inet6"
    ex = Explanation(dst=str(ip))
    if ip.version == 4 and int(ip) == 0:
        # ip_route_output_key_hash_rcu(): a zero destination means this host;
        # the tables are not consulted at all
        ex.special = "local"
        ex.why = "0.0.0.0 stands for this host: the kernel sends it over lo without a lookup"
        ex.source, ex.source_why = "127.0.0.1", "the loopback address"
        return ex
    if ip.version == 4 and ip == ipaddress.IPv4Address("255.255.255.255"):
        ex.special = "broadcast"
        ex.caveats.append("255.255.255.255 is the limited broadcast: the route found only "
                          "picks the interface, the packet is sent as a link broadcast")
    elif ip.is_multicast:
        ex.special = "multicast"
        ex.caveats.append(f"{ip} is a multicast group: the route found only picks the "
                          "interface, the packet is sent to the group")
    ordered = sorted((r for r in rules if r.family == family), key=lambda r: r.priority)
    i = 0
    while i < len(ordered):
        r = ordered[i]
        i += 1
        text = _rule_text(r)
        if r.unmodelled:
            ex.caveats.append(f"rule {r.priority} ({text}) also selects on "
                              f"{', '.join(r.unmodelled)}, which socklab does not model")
        matched, reason = _rule_matches(r, ip)
        if not matched:
            ex.rules.append(RuleStep(r.priority, text, f"no match: {reason}"))
            continue
        if r.action == "goto" and r.goto is not None:
            ex.rules.append(RuleStep(r.priority, text, f"matched: jump to rule {r.goto}"))
            i = next((k for k, o in enumerate(ordered) if o.priority >= r.goto), len(ordered))
            continue
        if r.action == "nop":
            ex.rules.append(RuleStep(r.priority, text, "matched: nop, go on"))
            continue
        if r.action in ERROR_TYPES:
            ex.rules.append(RuleStep(r.priority, text, f"matched: {r.action}"))
            ex.error = ERROR_TYPES[r.action]
            ex.why = f"rule {r.priority} is a {r.action} rule"
            return ex
        table = r.table or "main"
        found = _candidates(table, routes, ip)
        if not found:
            ex.rules.append(RuleStep(r.priority, text,
                                     f"matched: table {table} has no route for {ip}, go on"))
            continue
        best, route = found[0]
        if best.type == "throw":
            ex.rules.append(RuleStep(r.priority, text,
                                     f"matched: table {table} throws {best.prefix}, go on"))
            continue
        if r.suppress_prefixlen is not None and best.prefixlen <= r.suppress_prefixlen:
            ex.rules.append(RuleStep(r.priority, text,
                                     f"matched: {best.prefix} suppressed (suppress_prefixlength "
                                     f"{r.suppress_prefixlen}), go on"))
            continue
        ex.rules.append(RuleStep(r.priority, text, f"matched: searched table {table}"))
        ex.table, ex.candidates, ex.winner = table, [c for c, _ in found], best
        ex.why = _why(found)
        if best.type in ERROR_TYPES:
            ex.error = ERROR_TYPES[best.type]
        ex.next_hop = route.gateway or (str(ip) if best.type == "unicast" else None)
        return ex
    ex.error = "Network is unreachable"
    ex.why = "no rule led to a route for this destination"
    return ex


def _why(found: list[tuple[Candidate, Route]]) -> str:
    best = found[0][0]
    if len(found) == 1:
        return f"{best.prefix} is the only route whose prefix contains the destination"
    runner = found[1][0]
    if runner.prefixlen < best.prefixlen:
        return (f"{best.prefix} wins: the longest prefix (/{best.prefixlen}) of the "
                f"{len(found)} matching routes")
    return (f"{best.prefix} wins: same prefix length as {runner.prefix}, lower metric "
            f"({best.metric} < {runner.metric})")


def _pick_source(route: Route | None, winner: Candidate, addresses: list[Address],
                 dst: IPAddress) -> tuple[str | None, str]:
    if route is not None and route.prefsrc:
        return route.prefsrc, f"the route's preferred source (src {route.prefsrc})"
    family = "inet" if dst.version == 4 else "inet6"
    mine = [a for a in addresses if a.ifname == winner.dev and a.family == family
            and "secondary" not in a.flags and "tentative" not in a.flags]
    target = ipaddress.ip_address(winner.gateway) if winner.gateway else dst
    for a in mine:
        if target in ipaddress.ip_network(f"{a.local}/{a.prefixlen}", strict=False):
            return a.local, (f"the primary address of {winner.dev} whose subnet holds "
                             f"{'the gateway' if winner.gateway else 'the destination'}")
    if mine:
        return mine[0].local, f"the first primary address of {winner.dev}"
    return None, f"{winner.dev} has no usable {family} address"


def explain(dst: str, rules: list[Rule], routes: list[Route], addresses: list[Address],
            neighbours: list[Neighbour], kernel: RouteLookup | None) -> Explanation:
    """:func:`lookup`, plus the source address, the next hop's neighbour entry and the
    comparison with the kernel's own answer."""
    ex = lookup(dst, rules, routes)
    ex.kernel = kernel
    ip = ipaddress.ip_address(dst)
    if ex.winner is not None and ex.error is None:
        route = next((r for r in routes if r.table == ex.winner.table
                      and str(prefix_of(r)) == ex.winner.prefix
                      and r.metric == ex.winner.metric), None)
        ex.source, ex.source_why = _pick_source(route, ex.winner, addresses, ip)
        if ex.next_hop is not None:
            ex.neighbour = next((n for n in neighbours if n.dst == ex.next_hop
                                 and n.dev == ex.winner.dev), None)
    if kernel is not None:
        ex.agrees = _agrees(ex, kernel)
        if ex.agrees is False:
            ex.caveats.append("socklab's walk and the kernel's answer differ: a selector or "
                              "route attribute socklab does not model is in play")
        if (kernel.table == "main" and ex.table == "local"):
            ex.caveats.append("the kernel reports table main: while no custom rule exists, "
                              "IPv4 keeps the local and main tables merged in one trie")
    return ex


def _agrees(ex: Explanation, kernel: RouteLookup) -> bool:
    if kernel.error or ex.error:
        return bool(kernel.error) == bool(ex.error)
    if ex.special == "local" and ex.winner is None:
        return kernel.type == "local"
    if ex.winner is None or kernel.matched is None:
        return False
    same_prefix = ipaddress.ip_network(kernel.matched, strict=False) == ipaddress.ip_network(
        ex.winner.prefix)
    same_dev = ex.winner.dev is None or ex.winner.dev == kernel.dev
    same_gw = ex.winner.gateway is None or ex.winner.gateway == kernel.gateway
    return same_prefix and same_dev and same_gw and ex.type == kernel.type
