"""Show the routing policy database: the rules tried, in priority order, before any table.

examples:
  socklab rule                  IPv4 and IPv6 rules (ip rule; ip -6 rule)
  socklab rule -4 --json

classic: ip rule show
"""

from __future__ import annotations

import argparse

from socklab.cli import options
from socklab.errors import BadInput


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("words", nargs="*", metavar="show", help="show (the default, as ip rule)")
    p.add_argument("-4", dest="family", action="store_const", const="inet", help="IPv4 only")
    p.add_argument("-6", dest="family", action="store_const", const="inet6", help="IPv6 only")


def run(args: argparse.Namespace) -> int:
    from socklab.cli import render, stackview
    from socklab.stack import read

    if args.words:
        options.refuse_change("rule", args.words[0])
        if args.words[0] not in options.SHOW_VERBS or len(args.words) > 1:
            raise BadInput(f"rule: unexpected words {' '.join(args.words)!r} "
                           "(socklab rule [show] [-4|-6])")
    rules = read.rules(args.family)
    rows = rules if args.json else [stackview.rule_row(r) for r in rules]
    render.emit(rows, stackview.RULE_COLUMNS, args.json)
    return 0
