"""The few rules the course and the labs need: ``socklab filter add|del``.

A rule accepts, drops or rejects packets by protocol, address, port, interface
and connection state, with a counter if asked. socklab writes it in nftables'
own grammar (nft(8)) into its own table (``inet socklab`` by default), making
the table and the base chain when missing, and can show the ``nft`` and
``iptables`` lines that do the same (``--explain``).

Rules:

1. Every value is checked before anything is sent (BadInput, exit 2): the
   command text is built from checked values only (names from a small
   alphabet, addresses parsed by :mod:`ipaddress`, ports as numbers), so
   nothing the user types reaches nft's parser as syntax.
2. nft's grammar, in nft's order: interface, addresses, protocol and ports,
   state, counter, verdict. ``reject`` in an ``inet`` table answers with
   ICMP(v6) port unreachable for the packet's family (``icmpx``); in iptables
   it is ``-j REJECT``, whose default is the same ICMP message.
3. iptables counts every rule; its line has no counter word.
4. A rule is deleted by its handle, or by its description: the words of
   ``filter add`` (``drop -p tcp --dport 8080``) or nft's own words as
   ``socklab filter`` lists them (``tcp dport 8080 drop``). A description
   matches a rule when their words are the same, the counter's numbers left
   out (and the word ``counter`` itself when the description has none);
   exactly one rule must match. The description is only compared with the
   listed rules: none of its words reaches nft. nft prints a few of socklab's
   words its own way (``reject with icmp port-unreachable``, ``ipv6-icmp``):
   both spellings are the same rule.
"""

from __future__ import annotations

import ipaddress
import re
from contextlib import AbstractContextManager
from typing import NamedTuple

from socklab.errors import BadInput, Malformed, NotFound
from socklab.filter.model import Ruleset

__all__ = ["Match", "RuleSpec", "add", "delete", "delete_matching", "explain", "filter_add",
           "filter_del", "matching", "nft_commands", "spec"]

ACTIONS = ("accept", "drop", "reject")
HOOKS = ("input", "output", "forward")
PROTOCOLS = ("tcp", "udp", "icmp", "icmpv6")
STATES = ("new", "established", "related", "invalid", "untracked")
FAMILIES = ("inet", "ip", "ip6")
ALL_FAMILIES = (*FAMILIES, "arp", "bridge", "netdev")  # what a table may be, for del
DEFAULT_TABLE = "socklab"

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")  # table and chain names
_IFNAME = re.compile(r"^[A-Za-z0-9_.:@+-]{1,15}$")  # IFNAMSIZ - 1; no quote, space or slash


class RuleSpec(NamedTuple):
    """A checked rule: build it with :func:`spec`."""

    action: str
    hook: str
    family: str
    table: str
    proto: str | None
    src: str | None  # a network in its canonical text (10.0.0.0/8, 10.0.0.1)
    dst: str | None
    sport: str | None  # "22" or "1000-2000"
    dport: str | None
    iif: str | None
    oif: str | None
    states: tuple[str, ...]
    counter: bool


def _network(text: str, what: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise BadInput(f"filter: {what} {text!r}: not an address or network "
                       "(10.0.0.1, 10.0.0.0/8, fd00::/64)") from exc


def _net_text(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    full = net.prefixlen == net.max_prefixlen
    return str(net.network_address) if full else str(net)


def _ports(text: str, what: str) -> str:
    low, sep, high = text.partition("-")
    try:
        first, last = int(low), int(high if sep else low)
    except ValueError:
        raise BadInput(f"filter: {what} {text!r}: expected a port (80) or a range "
                       "(1000-2000)") from None
    if not (0 < first <= last <= 65535) or not low.isdigit() or (sep and not high.isdigit()):
        raise BadInput(f"filter: {what} {text!r}: ports are 1 to 65535, low-high")
    return str(first) if first == last else f"{first}-{last}"


def _name(text: str, what: str) -> str:
    if not _NAME.match(text):
        raise BadInput(f"filter: {what} {text!r}: letters, digits and _ only, "
                       "32 at most, not starting with a digit")
    return text


def spec(action: str, hook: str = "input", *, proto: str | None = None,
         src: str | None = None, dst: str | None = None, sport: str | None = None,
         dport: str | None = None, iif: str | None = None, oif: str | None = None,
         states: str | tuple[str, ...] | list[str] = (), counter: bool = False,
         family: str | None = None, table: str = DEFAULT_TABLE) -> RuleSpec:
    """Check a rule's parts and return it; BadInput naming the first bad one."""
    if action not in ACTIONS:
        raise BadInput(f"filter: action {action!r}: one of {', '.join(ACTIONS)}")
    if hook not in HOOKS:
        raise BadInput(f"filter: chain {hook!r}: one of {', '.join(HOOKS)}")
    if proto is not None and proto not in PROTOCOLS:
        raise BadInput(f"filter: protocol {proto!r}: one of {', '.join(PROTOCOLS)}")
    nets = {w: _network(t, w) for w, t in (("source", src), ("destination", dst)) if t}
    versions = {n.version for n in nets.values()}
    if len(versions) > 1:
        raise BadInput("filter: source and destination are of different families")
    version = versions.pop() if versions else None
    if (proto, version) in (("icmp", 6), ("icmpv6", 4)):
        raise BadInput(f"filter: protocol {proto} with an IPv{version} address")
    if family is None:
        family = "inet"
    if family not in FAMILIES:
        raise BadInput(f"filter: family {family!r}: one of {', '.join(FAMILIES)}")
    fam_version = {"ip": 4, "ip6": 6}.get(family)
    if fam_version and ((version and version != fam_version)
                        or proto == {4: "icmpv6", 6: "icmp"}[fam_version]):
        raise BadInput(f"filter: a table of family {family} sees IPv{fam_version} only")
    if (sport or dport) and proto not in ("tcp", "udp"):
        raise BadInput("filter: a port needs --proto tcp or udp")
    if iif and hook == "output":
        raise BadInput("filter: an input interface (--iif) is not known in the output chain")
    if oif and hook == "input":
        raise BadInput("filter: an output interface (--oif) is not known in the input chain")
    for dev in (iif, oif):
        if dev is not None and not _IFNAME.match(dev):
            raise BadInput(f"filter: interface {dev!r}: not an interface name")
        if dev is not None and dev.endswith("+"):
            # iptables(8): "If the interface name ends in a +, then any interface which
            # begins with this name will match": its line could not name this one alone
            raise BadInput(f"filter: interface {dev!r}: a final '+' is iptables' wildcard "
                           "(every interface whose name begins so); name one interface")
    words = states.split(",") if isinstance(states, str) else list(states)
    words = [w.strip().lower() for w in words if w.strip()]
    for w in words:
        if w not in STATES:
            raise BadInput(f"filter: state {w!r}: one of {', '.join(STATES)}")
    return RuleSpec(action, hook, family, _name(table, "table"), proto,
                    _net_text(nets["source"]) if "source" in nets else None,
                    _net_text(nets["destination"]) if "destination" in nets else None,
                    _ports(sport, "source port") if sport else None,
                    _ports(dport, "destination port") if dport else None,
                    iif, oif, tuple(dict.fromkeys(words)), counter)


def _ip_word(address: str) -> str:
    return "ip6" if ":" in address else "ip"


def rule_text(r: RuleSpec) -> str:
    """The rule's body in nft's grammar (rule 2)."""
    parts = []
    if r.iif:
        parts.append(f'iifname "{r.iif}"')
    if r.oif:
        parts.append(f'oifname "{r.oif}"')
    if r.src:
        parts.append(f"{_ip_word(r.src)} saddr {r.src}")
    if r.dst:
        parts.append(f"{_ip_word(r.dst)} daddr {r.dst}")
    if r.proto and not (r.sport or r.dport):
        parts.append(f"meta l4proto {r.proto}")
    if r.sport:
        parts.append(f"{r.proto} sport {r.sport}")
    if r.dport:
        parts.append(f"{r.proto} dport {r.dport}")
    if r.states:
        parts.append(f"ct state {','.join(r.states)}")
    if r.counter:
        parts.append("counter")
    parts.append(r.action)
    return " ".join(parts)


def chain_text(r: RuleSpec) -> str:
    return (f"add chain {r.family} {r.table} {r.hook} "
            f"{{ type filter hook {r.hook} priority 0; policy accept; }}")


def nft_commands(r: RuleSpec) -> list[str]:
    """The nft commands that add the rule, its table and its chain (``add`` leaves an
    existing table or chain as it is)."""
    return [f"add table {r.family} {r.table}", chain_text(r),
            f"add rule {r.family} {r.table} {r.hook} {rule_text(r)}"]


def _iptables_args(r: RuleSpec) -> str:
    args = [f"-A {r.hook.upper()}"]
    if r.iif:
        args.append(f"-i {r.iif}")
    if r.oif:
        args.append(f"-o {r.oif}")
    if r.proto:
        args.append(f"-p {'ipv6-icmp' if r.proto == 'icmpv6' else r.proto}")
    if r.src:
        args.append(f"-s {r.src}")
    if r.dst:
        args.append(f"-d {r.dst}")
    if r.sport:
        args.append(f"--sport {r.sport.replace('-', ':')}")
    if r.dport:
        args.append(f"--dport {r.dport.replace('-', ':')}")
    if r.states:
        args.append(f"-m conntrack --ctstate {','.join(s.upper() for s in r.states)}")
    args.append(f"-j {r.action.upper()}")
    return " ".join(args)


def _versions(r: RuleSpec) -> tuple[int, ...]:
    """The IP versions a rule can match: its table's, its addresses', its ICMP's."""
    if r.family != "inet":
        return (4,) if r.family == "ip" else (6,)
    address = r.src or r.dst
    if address:
        return (6,) if ":" in address else (4,)
    if r.proto in ("icmp", "icmpv6"):
        return (4,) if r.proto == "icmp" else (6,)
    return (4, 6)


def explain(r: RuleSpec) -> list[str]:
    """The shell lines that do the same: nft's, then iptables' (ip6tables' for IPv6;
    both for an ``inet`` rule that names no address)."""
    lines = [f"nft '{c}'" for c in nft_commands(r)]
    for version in _versions(r):
        lines.append(("iptables " if version == 4 else "ip6tables ") + _iptables_args(r))
    lines.append("# iptables counts every rule (iptables -L -v): no counter word")
    return lines


_HANDLE = re.compile(r"^add rule .* # handle (\d+)$", re.M)


def add(r: RuleSpec, netns: str | None = None, prefer: str = "auto") -> int:
    """Add the rule (and its table and chain when missing); returns its handle."""
    from socklab.kernel import nftables

    with _entered(netns):
        out = nftables.run("; ".join(nft_commands(r)), prefer=prefer, echo=True)
    m = _HANDLE.search(out)
    if m is None:
        raise Malformed(f"nft add rule: no handle in its echo {out[:200]!r}")
    return int(m.group(1))


def delete(handle: int, hook: str = "input", family: str = "inet",
           table: str = DEFAULT_TABLE, netns: str | None = None,
           prefer: str = "auto") -> None:
    """Delete the rule with ``handle`` from ``family table hook``. NotFound when
    there is no such rule, chain or table."""
    from socklab.kernel import nftables

    if family not in ALL_FAMILIES:
        raise BadInput(f"filter: family {family!r}: one of {', '.join(ALL_FAMILIES)}")
    _name(table, "table")
    _name(hook, "chain")
    if not 0 < handle < 1 << 63:
        raise BadInput(f"filter: handle {handle}: a rule's handle is a positive number")
    with _entered(netns):
        nftables.run(f"delete rule {family} {table} {hook} handle {handle}", prefer=prefer)


MAX_WORDS = 64  # a description's words: far more than any rule socklab writes
MAX_WORD = 256


class Match(NamedTuple):
    """A listed rule a description matched."""

    chain: str
    handle: int
    text: str


def description_words(words: list[str] | tuple[str, ...] | str) -> tuple[str, ...]:
    """A description's words, checked for size (rule 4); BadInput when empty or huge."""
    parts = words.split() if isinstance(words, str) else [p for w in words for p in w.split()]
    if not parts:
        raise BadInput("filter del: a handle or a rule's description (tcp dport 8080 drop)")
    if len(parts) > MAX_WORDS or any(len(p) > MAX_WORD for p in parts):
        raise BadInput(f"filter del: a description of at most {MAX_WORDS} words of "
                       f"{MAX_WORD} characters")
    return tuple(parts)


def _normal(words: tuple[str, ...], keep_counter: bool) -> tuple[str, ...]:
    """Words compared (rule 4): ``counter packets N bytes M`` is ``counter``, or nothing
    when the description has no counter; a ``ct state`` list in one order."""
    out: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if w == "counter":
            if keep_counter:
                out.append(w)
            i += 1
            while i + 1 < len(words) and words[i] in ("packets", "bytes") \
                    and words[i + 1].isdigit():
                i += 2
            continue
        if out[-2:] == ["ct", "state"]:
            w = ",".join(sorted(w.split(",")))
        out.append(w)
        i += 1
    text = " ".join(out)
    for pattern, same in _SYNONYMS:
        text = pattern.sub(same, text)
    return tuple(text.split())


# what nft prints for socklab's words (nft(8)): reject's default message is ICMP port
# unreachable, named for the family the rule's matches imply; icmpv6 is ipv6-icmp as
# a layer 4 protocol (its name in /etc/protocols)
_SYNONYMS = (
    (re.compile(r"\breject with icmp(?:x|v6)? port-unreachable\b"), "reject"),
    (re.compile(r"\bl4proto ipv6-icmp\b"), "l4proto icmpv6"),
)


def matching(rs: Ruleset, words: list[str] | tuple[str, ...] | str,
             family: str = "inet", table: str = DEFAULT_TABLE,
             chain: str | None = None) -> list[Match]:
    """The rules of ``family table`` (of ``chain`` only, when given) that the description
    ``words`` matches (rule 4). NotFound when the table or chain is not there."""
    want = description_words(words)
    counted = "counter" in want
    want = _normal(want, counted)
    found = [t for t in rs.tables if t.family == family and t.name == table]
    if not found:
        raise NotFound(f"filter del: no table {family} {table}")
    chains = [c for c in found[0].chains if chain is None or c.name == chain]
    if chain is not None and not chains:
        raise NotFound(f"filter del: no chain {chain} in table {family} {table}")
    return [Match(c.name, r.handle, r.text) for c in chains for r in c.rules
            if _normal(tuple(r.text.split()), counted) == want]


def delete_matching(words: list[str] | tuple[str, ...] | str, family: str = "inet",
                    table: str = DEFAULT_TABLE, chain: str | None = None,
                    netns: str | None = None, prefer: str = "auto") -> Match:
    """Delete the one rule the description matches (rule 4) and return it.

    NotFound when none matches; BadInput naming every handle when several do."""
    from socklab.filter import read

    if family not in ALL_FAMILIES:
        raise BadInput(f"filter: family {family!r}: one of {', '.join(ALL_FAMILIES)}")
    _name(table, "table")
    if chain is not None:
        _name(chain, "chain")
    text = " ".join(description_words(words))
    with _entered(netns):
        found = matching(read.ruleset(prefer=prefer), words, family, table, chain)
        if not found:
            raise NotFound(f"filter del: no rule of {family} {table} matches {text!r}")
        if len(found) > 1:
            handles = ", ".join(f"{m.handle} ({m.chain})" for m in found)
            raise BadInput(f"filter del: {len(found)} rules of {family} {table} match "
                           f"{text!r}: handles {handles}; delete one by its handle")
        (m,) = found
        delete(m.handle, m.chain, family, table, prefer=prefer)
    return m


def _entered(netns: str | None) -> AbstractContextManager[object]:
    from contextlib import nullcontext

    from socklab.kernel import netns as knetns

    return knetns.entered(netns) if netns else nullcontext()


def filter_add(action: str, hook: str = "input", *, proto: str | None = None,
               src: str | None = None, dst: str | None = None, sport: str | None = None,
               dport: str | None = None, iif: str | None = None, oif: str | None = None,
               states: str | tuple[str, ...] | list[str] = (), counter: bool = False,
               family: str | None = None, table: str = DEFAULT_TABLE,
               netns: str | None = None) -> int:
    """``socklab.filter_add("drop", proto="tcp", dport="22", counter=True)``: checked
    by :func:`spec`, added by :func:`add`; returns the rule's handle."""
    r = spec(action, hook, proto=proto, src=src, dst=dst, sport=sport, dport=dport, iif=iif,
             oif=oif, states=states, counter=counter, family=family, table=table)
    return add(r, netns)


filter_del = delete
