"""Show network interfaces: state, flags, MTU, MAC, kind, master/peer, counters.

examples:
  socklab link                  every interface (ip link)
  socklab link eth0             one interface
  socklab link --style ifconfig interfaces and addresses as ifconfig -a prints them
  socklab link eth0:1 --style ifconfig   one block, as ifconfig eth0:1
  socklab --netns lab1 link     in a named network namespace (ip -n lab1 link)
  socklab --json link           the records as JSON

classic: ifconfig -a, ip link show, ip -s link
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from socklab.cli import options, stackchange
from socklab.errors import NotFound, SocklabError

if TYPE_CHECKING:
    from socklab.stack.model import Address


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dev", nargs="?", metavar="DEV",
                   help="only this interface (ip's 'show dev DEV' is read too)")
    stackchange.add_arguments(p, "link")
    p.add_argument("--style", choices=("ip", "ifconfig"), default="ip",
                   help="ip (a table, default) or ifconfig (ifconfig -a's blocks)")
    p.add_argument("-s", "--stats", action="store_true", help="add the rx/tx counters")
    options.add_source_option(p)
    options.add_hint(p, "-a", hint="net-tools' ifconfig -a is 'socklab link --style ifconfig' "
                     "(every interface is always shown)")


def run(args: argparse.Namespace) -> int:
    if stackchange.is_verb("link", args.dev):
        return stackchange.run("link", args.dev, args.words, args)
    stackchange.no_change_options("link", args)
    from socklab.cli import render, stackview
    from socklab.stack import read

    dev = options.device_words("link", [args.dev, *args.words] if args.dev else args.words)
    if args.style == "ifconfig" and not args.json:
        # ifconfig eth0:1 names an alias: the block of that label on eth0
        parent = dev.split(":", 1)[0] if dev else None
        links = list(read.links(parent, source=args.source))
        lines = stackview.ifconfig(links, _ifconfig_addresses(parent, args.source), only=dev)
        if not lines:
            raise NotFound(f"link {dev}: no such interface or alias")
        print("\n".join(lines))
        return 0
    if args.json:  # streamed: however many links, memory stays flat
        render.write_json_stream(read.links(dev, source=args.source))
        return 0
    links = list(read.links(dev, source=args.source))
    every = links if dev is None else list(read.links(source=args.source))
    names = {link.ifindex: link.name for link in every} if not args.json else {}
    rows = links if args.json else [stackview.link_row(link, names) for link in links]
    cols = stackview.LINK_STATS_COLUMNS if args.stats else stackview.LINK_COLUMNS
    render.emit(rows, cols, args.json)
    return 0


def _ifconfig_addresses(dev: str | None, source: str) -> list[Address]:
    """The addresses, IPv6 ones in /proc/net/if_inet6's order: the order ifconfig
    prints them in (the kernel's hash table, not the interface's list)."""
    from socklab.stack import read

    addrs = list(read.addresses(dev, source=source))
    try:
        listed = list(read.addresses(dev, "inet6", source="proc"))
    except SocklabError:  # no /proc/net here: the order rtnetlink gave
        return addrs
    rank = {(a.ifindex, a.local): i for i, a in enumerate(listed)}
    v6 = sorted((a for a in addrs if a.family == "inet6"),
                key=lambda a: rank.get((a.ifindex, a.local), len(rank)))
    return [a for a in addrs if a.family != "inet6"] + v6
