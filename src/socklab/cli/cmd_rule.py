"""Show the routing policy database: the rules tried, in priority order, before any table.

examples:
  socklab rule                  IPv4 and IPv6 rules (ip rule; ip -6 rule)
  socklab rule -4 --json

classic: ip rule show
"""

from __future__ import annotations

import argparse

from socklab.cli import stackchange


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("verb", nargs="?", default="show",
                   choices=("show", *stackchange.VERBS["rule"]),
                   help="show (default), or a change: add|del")
    stackchange.add_arguments(p, "rule")
    p.add_argument("-4", dest="family", action="store_const", const="inet", help="IPv4 only")
    p.add_argument("-6", dest="family", action="store_const", const="inet6", help="IPv6 only")


def run(args: argparse.Namespace) -> int:
    from socklab.cli import render, stackview
    from socklab.stack import read

    if stackchange.is_verb("rule", args.verb):
        return stackchange.run("rule", args.verb, args.words, args)
    stackchange.no_extra("rule", args)
    rules = read.rules(args.family)
    rows = rules if args.json else [stackview.rule_row(r) for r in rules]
    render.emit(rows, stackview.RULE_COLUMNS, args.json)
    return 0
