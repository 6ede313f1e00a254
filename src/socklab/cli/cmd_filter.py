"""Packet filtering (Netfilter, course 1.3.1): the nftables ruleset, read and changed.

Every command needs CAP_NET_ADMIN (nfnetlink refuses even a listing).

examples:
  socklab filter                          tables, chains, rules with counters and handles
  socklab filter --json                   socklab's own schema (not nft's raw JSON)
  socklab --netns lab1 filter
  socklab filter add drop -p tcp --dport 8080 --counter --explain
  socklab filter add accept --chain input --state established,related
  socklab filter add reject -s 10.0.0.0/8 -i veth0
  socklab filter del 4                    the rule with handle 4 (table inet socklab, input)
  socklab filter del tcp dport 8080 drop  the one rule these words describe, as listed
  socklab filter del drop -p tcp --dport 8080   the same, in the words of filter add
  socklab --netns lab1 filter trace tcp 10.0.0.2 80
                                          the chains and rules a TCP SYN meets, and the verdict
  socklab --netns sl-lab4-r1 filter trace tcp 10.0.2.10 80 --from sl-lab4-h1
                                          the SYN sent by the lab's h1, as the router r1 filters it

Rules are added to socklab's own table (inet socklab), made with its base chain
when missing (type filter, priority 0, policy accept).

classic: nft -a list ruleset; iptables -L -n -v; nft add rule ...; iptables -A ...
"""

from __future__ import annotations

import argparse
import sys

from socklab.filter.model import Chain, Ruleset


def add_arguments(p: argparse.ArgumentParser) -> None:
    from socklab.cli.parser import Parser, _global_options
    from socklab.filter import rules

    p.add_argument("--source", choices=("auto", "library", "program"), default="auto",
                   help="talk to nftables through libnftables (library), the nft program, "
                        "or the first found (auto)")
    sub = p.add_subparsers(dest="filter_command", metavar="ACTION", parser_class=Parser)
    add = sub.add_parser("add", help="add a rule (accept, drop, reject)")
    add.add_argument("action", choices=rules.ACTIONS)
    _rule_options(add)
    _match_options(add)
    add.add_argument("--explain", action="store_true",
                     help="show the nft and iptables lines that do the same")
    add.add_argument("-n", "--dry-run", action="store_true",
                     help="check and explain, add nothing")
    add.add_argument("--lang", choices=["en", "fr"],
                     help="language of --explain's comments (default: from the locale)")
    tr = sub.add_parser("trace", help="send one probe and show the rules it meets, as "
                                      "the kernel reports them (nft monitor trace)")
    tr.add_argument("proto", choices=("tcp", "udp", "icmp"), help="the probe: a TCP SYN, a "
                    "UDP datagram or an ICMP echo request")
    tr.add_argument("dst", metavar="ADDRESS", help="its destination")
    tr.add_argument("port", nargs="?", help="its destination port (tcp, udp)")
    tr.add_argument("-s", "--src", metavar="ADDRESS", help="its source (a local address)")
    tr.add_argument("--from", dest="probe_netns", metavar="NETNS",
                    help="send the probe from this network namespace (a lab host, "
                         "sl-LAB-NODE): the traced one sees it come in and forward it")
    tr.add_argument("--host", action="store_true",
                    help="trace on this host's ruleset (without --netns); a rule is added "
                         "and removed there")
    dele = sub.add_parser("del", help="delete a rule by its handle (as 'socklab filter' shows) "
                                      "or by its description")
    dele.add_argument("words", nargs="+", metavar="HANDLE|WORD",
                      help="a handle, or the rule's words: nft's as listed (tcp dport 8080 "
                           "drop), or filter add's (drop -p tcp --dport 8080)")
    _rule_options(dele, chain_default=None)
    _match_options(dele)
    for sp in (add, dele, tr):
        _global_options(sp, suppress=True)


def _handle(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 1 << 63:
        raise argparse.ArgumentTypeError(f"{text!r} is not a rule handle (a positive number)")
    return int(text)


def _rule_options(p: argparse.ArgumentParser, chain_default: str | None = "input") -> None:
    from socklab.filter import rules

    p.add_argument("--chain", default=chain_default, choices=rules.HOOKS,
                   help="the base chain, named after its hook (default "
                        + (f"{chain_default})" if chain_default else
                           "input for a handle, every chain for a description)"))
    p.add_argument("--table", default=rules.DEFAULT_TABLE, help="table (default socklab)")
    p.add_argument("--family", default=None, choices=rules.FAMILIES,
                   help="the table's family (default inet: IPv4 and IPv6)")


def _match_options(p: argparse.ArgumentParser) -> None:
    from socklab.filter import rules

    p.add_argument("-p", "--proto", choices=rules.PROTOCOLS, help="protocol")
    p.add_argument("-s", "--src", metavar="ADDR[/LEN]", help="source address or network")
    p.add_argument("-d", "--dst", metavar="ADDR[/LEN]", help="destination address or network")
    p.add_argument("--sport", metavar="PORT[-PORT]", help="source port (needs -p tcp|udp)")
    p.add_argument("--dport", metavar="PORT[-PORT]", help="destination port (needs -p tcp|udp)")
    p.add_argument("-i", "--iif", metavar="DEV", help="input interface (iifname)")
    p.add_argument("-o", "--oif", metavar="DEV", help="output interface (oifname)")
    p.add_argument("--state", default="", metavar="S[,S]",
                   help="connection states: " + ",".join(rules.STATES))
    p.add_argument("--counter", action="store_true", help="count the packets it matches")


_MATCH_OPTIONS = ("proto", "src", "dst", "sport", "dport", "iif", "oif", "state", "counter")


def _chain_line(c: Chain) -> str:
    if c.hook is None:
        return f"  chain {c.name}  (handle {c.handle}; regular: reached by jump/goto)"
    dev = f" device {c.device}" if c.device else ""
    return (f"  chain {c.name}  (handle {c.handle}): type {c.type} hook {c.hook}{dev} "
            f"priority {c.priority}; policy {c.policy}")


def render_ruleset(rs: Ruleset) -> list[str]:
    """The listing: one line per table, chain, rule (``[handle] text``) and set."""
    out: list[str] = []
    for t in rs.tables:
        out.append(f"table {t.family} {t.name}  (handle {t.handle})")
        for c in t.chains:
            out.append(_chain_line(c))
            out += [f"    [{r.handle}] {r.text}" for r in c.rules]
        for s in t.sets:
            flags = f" flags {','.join(s.flags)}" if s.flags else ""
            elems = ", ".join(s.elements)
            out.append(f"  {s.kind} {s.name}  (handle {s.handle}): type {s.type}{flags}; "
                       f"elements {{ {elems} }}")
    if not rs.tables:
        out.append("no nftables table: no rule sees any packet (every hook accepts)")
    return out


def legacy_note(rs: Ruleset) -> str | None:
    if not rs.legacy_iptables:
        return None
    return (f"note: legacy iptables tables in use ({', '.join(rs.legacy_iptables)}): their "
            "rules are outside nftables and socklab cannot read them "
            "(iptables-legacy -L -n -v)")


def run(args: argparse.Namespace) -> int:
    if args.filter_command == "add":
        return _add(args)
    if args.filter_command == "del":
        return _del(args)
    if args.filter_command == "trace":
        return _trace(args)
    return _list(args)


def _add(args: argparse.Namespace) -> int:
    from socklab.cli import render
    from socklab.filter import rules

    r = rules.spec(args.action, args.chain, proto=args.proto, src=args.src, dst=args.dst,
                   sport=args.sport, dport=args.dport, iif=args.iif, oif=args.oif,
                   states=args.state, counter=args.counter, family=args.family,
                   table=args.table)
    lines = rules.explain(r)
    from socklab.cli.explaintext import explainer

    shown = explainer(args.lang).lines(lines)  # the comments in the user's language
    if args.dry_run:
        if args.json:
            render.write_json({"rule": r, "added": False, "explain": lines})
        else:
            print("\n".join(shown))
        return 0
    handle = rules.add(r, prefer=args.source)
    if args.json:
        render.write_json({"rule": r, "added": True, "handle": handle,
                           "explain": lines if args.explain else []})
        return 0
    print(f"added to {r.family} {r.table} {r.hook}: {rules.rule_text(r)}  (handle {handle})")
    if args.explain:
        print("\n".join(shown))
    return 0


def _del(args: argparse.Namespace) -> int:
    """By handle (one number), else by description: filter add's words when an option
    of add is given or the one word is an action, nft's words otherwise."""
    from socklab.cli import render
    from socklab.errors import BadInput
    from socklab.filter import rules

    family = args.family or "inet"
    words: list[str] = args.words
    options = [o for o in _MATCH_OPTIONS if getattr(args, o)]
    if len(words) == 1 and words[0].isascii() and words[0].isdigit() and not options:
        handle = _handle_value(words[0])
        chain = args.chain or "input"
        rules.delete(handle, chain, family, args.table, prefer=args.source)
        gone = rules.Match(chain, handle, "")
    else:
        if options or (len(words) == 1 and words[0] in rules.ACTIONS):
            if len(words) != 1 or words[0] not in rules.ACTIONS:
                raise BadInput("filter del: with filter add's options, one action first "
                               f"({', '.join(rules.ACTIONS)}): filter del drop -p tcp "
                               "--dport 8080")
            r = rules.spec(words[0], args.chain or "input", proto=args.proto, src=args.src,
                           dst=args.dst, sport=args.sport, dport=args.dport, iif=args.iif,
                           oif=args.oif, states=args.state, counter=args.counter,
                           family=args.family, table=args.table)
            words = rules.rule_text(r).split()
        gone = rules.delete_matching(words, family, args.table, args.chain,
                                     prefer=args.source)
    if args.json:
        render.write_json({"deleted": gone, "family": family, "table": args.table})
    else:
        what = f": {gone.text}" if gone.text else ""
        print(f"deleted rule {gone.handle} from {family} {args.table} {gone.chain}{what}")
    return 0


def _handle_value(text: str) -> int:
    from socklab.errors import BadInput

    try:
        return _handle(text)
    except argparse.ArgumentTypeError as exc:
        raise BadInput(f"filter del: {exc}") from None


def _trace(args: argparse.Namespace) -> int:
    """Exit 0 when the kernel traced the probe, 1 when no trace event came at all."""
    from socklab.cli import render
    from socklab.filter import trace

    flow = trace.flow(args.proto, args.dst, args.port, args.src)
    result = trace.trace(flow, netns=args.netns, host=args.host, prefer=args.source,
                         probe_netns=args.probe_netns)
    if args.json:
        render.write_json(result)
        return 0 if result.seen else 1
    sport = f" (source port {result.sport})" if result.sport else ""
    print(f"probe: {flow.describe()}{sport}; traced by: {result.trace_rule}")
    if result.send_error:
        print(f"sending it said: {result.send_error}")
    for step in result.steps:
        mark = "   <- decisive" if step is result.decisive else ""
        print(f"  {step.describe()}{mark}")
    if not result.seen:
        print("no trace event came: the probe was not seen by netfilter (no route to it?)")
        return 1
    if not result.steps:
        print("verdict: accept (no chain of any table but socklab's trace table was on its "
              "way: nothing filters it)")
        return 0
    d = result.decisive
    if d is None:
        print(f"verdict: {result.verdict or 'none'} (no chain decided)")
    elif d.event.kind == "policy":
        print(f"verdict: {result.verdict}, by the policy of chain {d.event.family} "
              f"{d.event.table} {d.event.chain}")
    else:
        print(f"verdict: {result.verdict}, by rule [{d.event.handle}] of {d.event.family} "
              f"{d.event.table} {d.event.chain}: {d.rule}")
    for fam, table, chain, handle, n in result.counters:
        print(f"counter: {fam} {table} {chain} rule [{handle}] +{n} packet(s)")
    return 0


def _list(args: argparse.Namespace) -> int:
    from socklab.cli import render
    from socklab.filter import read as ruleset

    rs = ruleset.ruleset(prefer=args.source)
    if args.json:
        render.write_json(rs)
    else:
        for line in render_ruleset(rs):
            print(line)
    note = legacy_note(rs)
    if note:
        sys.stderr.write(f"socklab: {note}\n")
    return 0
