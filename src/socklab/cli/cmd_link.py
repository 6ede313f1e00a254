"""Show network interfaces: state, flags, MTU, MAC, kind, master/peer, counters.

examples:
  socklab link                  every interface (ip link)
  socklab link eth0             one interface
  socklab link --style ifconfig interfaces and addresses as ifconfig -a prints them
  socklab --netns lab1 link     in a named network namespace (ip -n lab1 link)
  socklab --json link           the records as JSON

classic: ifconfig -a, ip link show, ip -s link
"""

from __future__ import annotations

import argparse

from socklab.cli import options, stackchange


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dev", nargs="?", metavar="DEV", help="only this interface")
    stackchange.add_arguments(p, "link")
    p.add_argument("--style", choices=("ip", "ifconfig"), default="ip",
                   help="ip (a table, default) or ifconfig (ifconfig -a's blocks)")
    p.add_argument("-s", "--stats", action="store_true", help="add the rx/tx counters")
    options.add_source_option(p)


def run(args: argparse.Namespace) -> int:
    if stackchange.is_verb("link", args.dev):
        return stackchange.run("link", args.dev, args.words, args)
    stackchange.no_extra("link", args)
    from socklab.cli import render, stackview
    from socklab.stack import read

    links = read.links(args.dev, source=args.source)
    if args.style == "ifconfig" and not args.json:
        addrs = read.addresses(args.dev, source=args.source)
        print("\n".join(stackview.ifconfig(links, addrs)))
        return 0
    every = links if args.dev is None else read.links(source=args.source)
    names = {link.ifindex: link.name for link in every} if not args.json else {}
    rows = links if args.json else [stackview.link_row(link, names) for link in links]
    cols = stackview.LINK_STATS_COLUMNS if args.stats else stackview.LINK_COLUMNS
    render.emit(rows, cols, args.json)
    return 0
