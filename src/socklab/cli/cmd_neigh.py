"""Show the neighbour tables: ARP (IPv4) and NDP (IPv6) entries, IP to MAC.

examples:
  socklab neigh                 reachable, stale, failed ... entries (ip neigh; arp -an)
  socklab neigh -a              also NOARP and permanent-less entries (ip neigh show nud all)
  socklab neigh --style arp     the ARP table as arp -an prints it (-r: with names, arp -a)
  socklab neigh eth0 -4 --json

classic: arp -an, arp -a, ip neigh show
"""

from __future__ import annotations

import argparse

from socklab.cli import options, stackchange
from socklab.errors import BadInput


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dev", nargs="?", metavar="DEV",
                   help="only this interface (ip's 'show dev DEV' is read too)")
    stackchange.add_arguments(p, "neigh")
    p.add_argument("-4", dest="family", action="store_const", const="inet", help="IPv4 (ARP)")
    p.add_argument("-6", dest="family", action="store_const", const="inet6", help="IPv6 (NDP)")
    options.add_source_option(p)
    p.add_argument("-a", "--all", action="store_true",
                   help="every entry, NOARP ones included (ip neigh show nud all)")
    p.add_argument("--style", choices=("ip", "arp"), default="ip",
                   help="ip (a table, default) or arp (arp -an's lines, IPv4 only)")
    p.add_argument("-r", "--resolve", action="store_true",
                   help="--style arp: names from the resolver (reverse lookups), as arp -a")
    options.add_hint(p, "-s", "-d", hint="arp -s IP MAC and arp -d IP are 'socklab arp -s/-d' "
                     "(or 'socklab neigh add|del IP lladdr MAC dev DEV')")
    options.add_hint(p, "-n", "--numeric", hint="net-tools' arp -an is 'socklab neigh --style "
                     "arp' (numeric unless -r)")


def run(args: argparse.Namespace) -> int:
    if stackchange.is_verb("neigh", args.dev):
        return stackchange.run("neigh", args.dev, args.words, args)
    stackchange.no_change_options("neigh", args)
    from socklab.cli import render, stackview
    from socklab.stack import read

    dev = options.device_words("neigh", [args.dev, *args.words] if args.dev else args.words)
    if args.style == "arp" and args.family == "inet6":
        raise BadInput("neigh --style arp: arp shows the IPv4 (ARP) table only; "
                       "IPv6 neighbours are 'socklab neigh -6'")
    if args.style == "arp" and not args.json:
        found = list(read.neighbours(dev, "inet", source=args.source, proxies=True))
        types = {link.name: link.link_type for link in read.links(source=args.source)
                 if link.link_type is not None}
        names = _names([n.dst for n in found]) if args.resolve else None
        lines = stackview.arp_an(found, types, names)
        if lines:
            print("\n".join(lines))
        return 0
    rows = read.neighbours(dev, args.family, all_states=args.all, source=args.source)
    if args.json:  # streamed: however many entries, memory stays flat
        render.write_json_stream(rows)
    else:
        render.emit([stackview.neigh_row(n) for n in rows], stackview.NEIGH_COLUMNS, False)
    return 0


def _names(addresses: list[str]) -> dict[str, str]:
    """Address -> name from reverse lookups (gethostbyaddr, as arp does); an address
    without a name, or whose name is itself, is left out (arp prints ``?``)."""
    import socket

    out = {}
    for address in dict.fromkeys(addresses):
        try:
            name = socket.gethostbyaddr(address)[0]
        except (OSError, UnicodeError):  # no name: arp prints "?"
            continue
        if name != address:
            out[address] = name
    return out
