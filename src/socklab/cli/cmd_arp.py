"""arp's own grammar: show the ARP table, add a static entry (-s), delete one (-d).

examples:
  socklab arp                                  the table (arp -an)
  socklab arp -s 10.0.0.7 02:00:00:00:00:07    a permanent entry, on the interface
                                               the kernel routes 10.0.0.7 through
  socklab arp -i eth0 -s 10.0.0.7 02:00:00:00:00:07
  socklab arp -d 10.0.0.7

classic: arp -an, arp -s, arp -d; the ip way: socklab neigh add|replace|del ADDR lladdr MAC
dev DEV
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-a", action="store_true", help="every entry (the default)")
    p.add_argument("-n", action="store_true", help="numeric (always)")
    p.add_argument("-i", dest="iface", metavar="IF", help="the interface")
    g = p.add_mutually_exclusive_group()
    g.add_argument("-s", "--set", dest="set", nargs=2, metavar=("IP", "MAC"),
                   help="add a permanent entry (replacing one for IP)")
    g.add_argument("-d", "--delete", dest="delete", metavar="IP", help="delete the entry")
    p.add_argument("--explain", dest="change_explain", action="store_true",
                   help="say what the change does, with its ip line; send nothing")
    p.add_argument("--dry-run", dest="change_dry_run", action="store_true",
                   help="print the netlink request field by field; send nothing")
    p.add_argument("--lang", choices=["en", "fr"],
                   help="language of --explain (default: from the locale)")


def run(args: argparse.Namespace) -> int:
    from socklab.cli import classic, render, stackchange, stackview
    from socklab.errors import BadInput
    from socklab.stack import read

    dry = bool(args.change_dry_run or args.change_explain)
    if args.set:
        stackchange.show(classic.arp_set(args.set[0], args.set[1], args.iface, dry), args)
        return 0
    if args.delete:
        stackchange.show(classic.arp_delete(args.delete, args.iface, dry), args)
        return 0
    if dry:
        raise BadInput("arp: --explain and --dry-run go with -s or -d")
    found = read.neighbours(args.iface, "inet")
    if args.json:  # streamed: however many entries, memory stays flat
        render.write_json_stream(found)
    else:
        render.emit([stackview.neigh_row(n) for n in found], stackview.NEIGH_COLUMNS, False)
    return 0
