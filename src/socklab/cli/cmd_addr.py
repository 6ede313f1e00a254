"""Show the addresses of the interfaces (IPv4 and IPv6), with scope, label and flags.

examples:
  socklab addr                  every address (ip addr)
  socklab addr eth0 -4          the IPv4 addresses of eth0 (ip -4 addr show eth0)
  socklab --json addr           the records as JSON

classic: ifconfig -a, ip addr show
"""

from __future__ import annotations

import argparse

from socklab.cli import options, stackchange


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dev", nargs="?", metavar="DEV",
                   help="only this interface (ip's 'show dev DEV' is read too)")
    stackchange.add_arguments(p, "addr")
    p.add_argument("-4", dest="family", action="store_const", const="inet", help="IPv4 only")
    p.add_argument("-6", dest="family", action="store_const", const="inet6", help="IPv6 only")
    options.add_source_option(p)


def run(args: argparse.Namespace) -> int:
    if stackchange.is_verb("addr", args.dev):
        return stackchange.run("addr", args.dev, args.words, args)
    stackchange.no_change_options("addr", args)
    from socklab.cli import render, stackview
    from socklab.stack import read

    dev = options.device_words("addr", [args.dev, *args.words] if args.dev else args.words)
    addrs = read.addresses(dev, args.family, source=args.source)
    if args.json:  # streamed: however many addresses, memory stays flat
        render.write_json_stream(addrs)
    else:
        render.emit(list(addrs), stackview.ADDR_COLUMNS, False)
    return 0
