"""Show the routing tables, or which route the kernel takes for a destination, explained.

'socklab route' lists the routes of every table (main, local, others);
'socklab route get DEST' asks the kernel which interface, gateway and source
it would use (no packet is sent) and explains why: the rules consulted, the
table, the candidate routes by prefix length then metric, the winner, the
source address and the next hop's neighbour entry.

examples:
  socklab route                     every route of every table (ip route show table all)
  socklab route --table main -4     the main IPv4 table
  socklab route --style route       the main table as route -n prints it
  socklab route --style route -6    every IPv6 table as route -6 -n prints it
  socklab route show table local    ip's spelling (ip route show table local)
  socklab route get 198.51.100.7    the lookup explained (ip route get 198.51.100.7)
  socklab --json route get ::1

socklab reads routes and does not change them yet: 'route add ...' is refused.

classic: route -n, route -6 -n, netstat -rn, ip route show, ip route get
"""

from __future__ import annotations

import argparse

from socklab.cli import options, stackchange
from socklab.errors import BadInput


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("verb", nargs="?", default="show", metavar="{show,get,add,del,replace}",
                   help="show (default), get DEST, or a change: add|del|replace")
    p.add_argument("dest", nargs="?", metavar="DEST", help="for get: the destination address")
    stackchange.add_arguments(p, "route")
    # route(8)'s own spelling: 'route add -net NET netmask M gw GW' (cli/classic.py)
    p.add_argument("-net", dest="classic_net", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p.add_argument("-host", dest="classic_host", nargs=argparse.REMAINDER,
                   help=argparse.SUPPRESS)
    p.add_argument("--table", metavar="TABLE", default=None,
                   help="main, local, default, a number (0 to 2**32-1), or all (the default; "
                        "--style route: main for IPv4, all for IPv6, as route does)")
    p.add_argument("-4", dest="family", action="store_const", const="inet", help="IPv4 only")
    p.add_argument("-6", dest="family", action="store_const", const="inet6", help="IPv6 only")
    options.add_source_option(p)
    p.add_argument("--style", choices=("ip", "route"), default="ip",
                   help="ip (a table, default) or route (route -n; with -6, route -6 -n)")
    options.add_hint(p, "-n", "--numeric", hint="net-tools' route -n is 'socklab route --style "
                     "route' (route -6 -n: '--style route -6'); it never resolves names")


def run(args: argparse.Namespace) -> int:
    from socklab.cli import render, stackview
    from socklab.stack import read

    classic_words = args.classic_net if args.classic_net is not None else args.classic_host
    if classic_words is not None or (args.verb in ("add", "del") and "gw" in args.words):
        from socklab.cli import classic

        if args.verb not in ("add", "del"):
            raise BadInput("route -net/-host go after add or del (route add -net NET ...); "
                           "route -n is socklab route --style route")
        if classic_words is None:  # 'route add default gw GW'
            classic_words = [args.dest, *args.words]
        classic_words = stackchange.take_flags(classic_words, args)
        stackchange.show(classic.route(args.verb, classic_words,
                                       args.classic_host is not None,
                                       bool(args.change_dry_run or args.change_explain)), args)
        return 0
    if stackchange.is_verb("route", args.verb):
        words = [args.dest, *args.words] if args.dest is not None else args.words
        return stackchange.run("route", args.verb, words, args)
    stackchange.no_change_options("route", args)
    options.refuse_change("route", args.verb)
    if args.verb in options.SHOW_VERBS:
        args.verb = "show"
    if args.verb not in ("show", "get"):
        raise BadInput(f"route {args.verb}: unknown verb (show, get DEST, add, del, replace)")
    words = [args.dest, *args.words] if args.dest is not None else list(args.words)
    if args.verb == "show" and len(words) == 2 and words[0] == "table":  # ip's spelling
        if args.table is not None and args.table != words[1]:
            raise BadInput(f"route show: two tables given ({args.table}, {words[1]})")
        args.table, words = words[1], []
    dest = words[0] if words else None
    if len(words) > 1:
        raise BadInput(f"route {args.verb}: unexpected words {' '.join(words[1:])!r}")
    if args.verb == "get":
        if not dest:
            raise BadInput("route get: give a destination address (socklab route get DEST)")
        ex = read.explain_route(dest)
        if args.json:
            render.write_json(ex)
        else:
            from socklab.cli.explaintext import explainer

            print("\n".join(stackview.explanation(ex, explainer(args.lang))))
        return 1 if ex.error else 0
    if dest:
        raise BadInput(f"route show takes no destination (did you mean 'route get {dest}'?)")
    if args.style == "route" and not args.json:
        if args.family == "inet6":  # route -6 -n: every table
            found = list(read.routes(args.table, "inet6", source=args.source))
            refs = read.ipv6_route_refs()
            print("\n".join(stackview.route6_n(found, read.table_ids(), refs)))
        else:  # route -n: the main table
            found = list(read.routes(args.table or "main", "inet", source=args.source))
            print("\n".join(stackview.route_n(found)))
        return 0
    if args.json:  # both stream: a million routes are never held
        render.write_json_texts(read.route_json(args.table, args.family, source=args.source,
                                                encode=render.json_item_encoder()))
    else:
        render.stream_table(read.route_rows(args.table, args.family, source=args.source),
                            stackview.ROUTE_COLUMNS)
    return 0
