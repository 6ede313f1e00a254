"""Packet filtering (Netfilter, course 1.3.1): the nftables ruleset, read and changed.

Every command needs CAP_NET_ADMIN (nfnetlink refuses even a listing).

examples:
  socklab filter                          tables, chains, rules with counters and handles
  socklab filter --json                   socklab's own schema (not nft's raw JSON)
  socklab --netns lab1 filter

classic: nft -a list ruleset; iptables -L -n -v
"""

from __future__ import annotations

import argparse
import sys

from socklab.filter.model import Chain, Ruleset


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", choices=("auto", "library", "program"), default="auto",
                   help="read through libnftables (library), the nft program, or the "
                        "first found (auto)")


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
    from socklab.cli import render
    from socklab.filter import ruleset

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
