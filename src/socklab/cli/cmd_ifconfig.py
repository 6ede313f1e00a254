"""ifconfig's own grammar: show interfaces, or change one (address, alias, up/down, MTU, MAC).

Each change is the one 'socklab link set' and 'socklab addr add|del' make;
--explain and --dry-run show it without sending anything.

examples:
  socklab ifconfig                                 every interface (ifconfig -a)
  socklab ifconfig eth0 10.0.0.5 netmask 255.255.255.0 broadcast 10.0.0.255
  socklab ifconfig eth0:1 10.0.0.6                 an alias (ip addr add ... label eth0:1)
  socklab ifconfig eth0:1 down                     the alias removed
  socklab ifconfig eth0 up mtu 1400 hw ether 02:00:00:00:00:05
  socklab ifconfig eth0 inet6 add 2001:db8::5/64
  socklab --netns lab1 ifconfig eth0 down

classic: ifconfig (net-tools); the ip way: socklab link set DEV ..., socklab addr add|del
ADDR/LEN dev DEV [label DEV:N]
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-a", action="store_true", help="every interface (the default)")
    p.add_argument("--explain", dest="change_explain", action="store_true",
                   help="say what each change does, with its ip line; send nothing")
    p.add_argument("--dry-run", dest="change_dry_run", action="store_true",
                   help="print the netlink requests field by field; send nothing")
    p.add_argument("--lang", choices=["en", "fr"],
                   help="language of --explain (default: from the locale)")
    p.add_argument("words", nargs=argparse.REMAINDER, metavar="IF [OPTIONS|ADDRESS ...]",
                   help="the interface, then what to change")


def run(args: argparse.Namespace) -> int:
    from socklab.cli import classic, stackchange, stackview
    from socklab.stack import read

    words = stackchange.take_flags(args.words, args)  # options after IF stay in the words
    if len(words) <= 1 and not (args.change_explain or args.change_dry_run):
        dev = words[0] if words else None
        print("\n".join(stackview.ifconfig(list(read.links(dev)),
                                              list(read.addresses(dev)))))
        return 0
    dry = bool(args.change_dry_run or args.change_explain)
    for done in classic.ifconfig(words, dry):
        stackchange.show(done, args)
    return 0
