"""Show the neighbour tables: ARP (IPv4) and NDP (IPv6) entries, IP to MAC.

examples:
  socklab neigh                 reachable, stale, failed ... entries (ip neigh; arp -an)
  socklab neigh -a              also NOARP and permanent-less entries (ip neigh show nud all)
  socklab neigh eth0 -4 --json

classic: arp -an, ip neigh show
"""

from __future__ import annotations

import argparse

from socklab.cli import options, stackchange


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dev", nargs="?", metavar="DEV", help="only this interface")
    stackchange.add_arguments(p, "neigh")
    p.add_argument("-4", dest="family", action="store_const", const="inet", help="IPv4 (ARP)")
    p.add_argument("-6", dest="family", action="store_const", const="inet6", help="IPv6 (NDP)")
    options.add_source_option(p)
    p.add_argument("-a", "--all", action="store_true",
                   help="every entry, NOARP ones included (ip neigh show nud all)")


def run(args: argparse.Namespace) -> int:
    if stackchange.is_verb("neigh", args.dev):
        return stackchange.run("neigh", args.dev, args.words, args)
    stackchange.no_extra("neigh", args)
    from socklab.cli import render, stackview
    from socklab.stack import read

    found = read.neighbours(args.dev, args.family, all_states=args.all, source=args.source)
    render.emit(found if args.json else [stackview.neigh_row(n) for n in found],
                stackview.NEIGH_COLUMNS, args.json)
    return 0
