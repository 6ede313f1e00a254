"""Show the routing policy database: the rules tried, in priority order, before any table.

examples:
  socklab rule                  IPv4 and IPv6 rules (ip rule; ip -6 rule)
  socklab rule -4 --json

classic: ip rule show
"""

from __future__ import annotations

import argparse

from socklab.cli import options, stackchange
from socklab.errors import BadInput


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("verb", nargs="?", default="show", metavar="show|add|del",
                   help="show (default, as ip rule), or a change: add|del")
    stackchange.add_arguments(p, "rule")
    p.add_argument("-4", dest="family", action="store_const", const="inet", help="IPv4 only")
    p.add_argument("-6", dest="family", action="store_const", const="inet6", help="IPv6 only")


def run(args: argparse.Namespace) -> int:
    from socklab.cli import render, stackview
    from socklab.stack import read

    if stackchange.is_verb("rule", args.verb):
        return stackchange.run("rule", args.verb, args.words, args)
    stackchange.no_change_options("rule", args)
    options.refuse_change("rule", args.verb)
    if args.verb not in options.SHOW_VERBS or args.words:
        raise BadInput(f"rule: unexpected words {' '.join([args.verb, *args.words])!r} "
                       "(socklab rule [show] [-4|-6], or rule add|del ...)")
    rules = read.rules(args.family)
    rows = rules if args.json else [stackview.rule_row(r) for r in rules]
    render.emit(rows, stackview.RULE_COLUMNS, args.json)
    return 0
