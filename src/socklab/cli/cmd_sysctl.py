"""Read, write and explain kernel parameters (the sysctl tree; all of net by default).

KEY may be dotted or slashed (net.ipv4.ip_forward, net/ipv4/ip_forward), a glob
(net.ipv4.tcp_*) or a subtree (net.ipv4.conf.eth0). An interface name with a
dot is written with a slash in a dotted key (net.ipv4.conf.eth0/1.forwarding).

examples:
  socklab sysctl net.ipv4.ip_forward
  socklab sysctl 'net.ipv4.tcp_*'
  socklab sysctl -w net.ipv4.ip_forward=1          (needs CAP_NET_ADMIN)
  socklab sysctl --explain net.ipv4.ip_local_port_range
  socklab --netns lab1 sysctl net.ipv4.conf.all.forwarding

classic: sysctl -a, sysctl KEY, sysctl -w KEY=VALUE
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from socklab.errors import BadInput

if TYPE_CHECKING:
    from socklab.stack.sysctl import Setting


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("keys", nargs="*", metavar="KEY", help="keys, globs or subtrees")
    p.add_argument("-a", "--all", action="store_true", help="the whole tree, not only net")
    p.add_argument("-n", "--values", action="store_true", help="values only (sysctl -n)")
    p.add_argument("-w", "--write", action="append", metavar="KEY=VALUE", help="set a value")
    p.add_argument("--explain", metavar="KEY",
                   help="what the parameter controls, unit, default, BSD name")
    p.add_argument("--explain-list", action="store_true",
                   help="the parameters socklab can explain")
    p.add_argument("--lang", choices=["en", "fr"],
                   help="language of --explain (default: from the locale)")


def run(args: argparse.Namespace) -> int:
    from socklab.cli import render
    from socklab.stack import sysctl

    if args.explain_list:
        rows = [{"key": k, "what": w} for k, w, *_ in sysctl.EXPLAIN]
        # cut to the terminal's width only on a terminal: piped, the text is whole
        cut = sys.stdout.isatty()
        render.emit(rows, [render.Column("key", "KEY"),
                           render.Column("what", "WHAT", shrink=cut)], args.json)
        return 0
    if args.explain is not None:
        ex = sysctl.explain(args.explain)
        if args.json:
            render.write_json(ex)
        else:
            from socklab.cli.explaintext import explainer

            # the table's texts (sysctl.EXPLAIN) are messages of explain-fr.po too
            _ = explainer(args.lang)
            shown = ((_("key:"), ex.key), (_("value:"), ex.value),
                     (_("controls:"), _(ex.what)), (_("unit:"), _(ex.unit)),
                     (_("kernel default:"), _(ex.default)),
                     (_("BSD name:"), _(ex.bsd) if ex.bsd else "-"))
            width = max(16, *(len(label) + 1 for label, _v in shown))
            for label, value in shown:
                print(f"{label:<{width}}{value}")
        return 0
    if args.write:
        settings = []
        for item in args.write:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise BadInput(f"sysctl -w {item!r}: expected KEY=VALUE")
            settings.append(sysctl.write(key, value))
    else:
        settings = sysctl.read_all() if args.all else sysctl.read(*args.keys)
    if args.json:
        render.write_json(settings)
    elif args.values:
        print("\n".join(s.text for s in settings))
    else:
        lines = procps_lines(settings)
        if args.write:  # what the write replaced, as the change commands say
            lines = [f"{s.key} = {s.text}" + (f" (was {s.old})" if s.old is not None else "")
                     for s in settings]
        print("\n".join(lines))
    return 0


def procps_lines(settings: list[Setting]) -> list[str]:
    """``key = value`` as procps prints it: a value of several lines is ``key = line``
    once per line (sysctl.c ReadSetting prints the key before each line it reads)."""
    return [f"{s.key} = {line}" for s in settings for line in s.text.split("\n")]
