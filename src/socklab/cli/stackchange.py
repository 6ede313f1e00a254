"""The change verbs of the stack commands, in ``ip``'s grammar: ``link set|add|del``,
``addr add|del|flush``, ``route add|del|replace``, ``rule add|del``,
``neigh add|replace|del|flush``.

The words after the verb are read here (keyword, value) and handed to
:mod:`socklab.stack.change`, which checks them and makes the change. Shared
options: ``--explain`` (what it does, with the ``ip`` and net-tools lines;
nothing is sent) and ``--dry-run`` (the netlink request read back field by
field; nothing is sent).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from socklab.errors import BadInput
from socklab.stack.grammar import PARSERS, VERBS, Words

if TYPE_CHECKING:
    from socklab.stack.change import Change

EPILOG = {
    "link": """change verbs (root, or CAP_NET_ADMIN):
  socklab link set DEV up|down [mtu N] [address MAC] [name NEW] [promisc on|off]
                   [txqueuelen N] [master BRIDGE|nomaster]
  socklab link add NAME type veth peer name PEER | bridge | tun | tap
                   | vxlan id VNI [remote A] [local A] [dev DEV] [dstport P]
  socklab link del NAME
  --explain shows the ip and ifconfig lines, --dry-run the netlink request
""",
    "addr": """change verbs (root, or CAP_NET_ADMIN):
  socklab addr add ADDR/LEN dev DEV [label DEV:N] [broadcast B|+] [scope S]
  socklab addr del ADDR[/LEN] dev DEV
  socklab addr flush dev DEV [-4|-6]
  --explain shows the ip and ifconfig lines, --dry-run the netlink request
""",
    "route": """change verbs (root, or CAP_NET_ADMIN):
  socklab route add|del|replace [blackhole|unreachable|prohibit] PREFIX|default
      [via GW] [dev DEV] [metric N] [src ADDR] [table T] [proto P] [scope S] [onlink]
      [nexthop via GW [dev DEV] [weight W] ...]
  --explain shows the ip and route lines, --dry-run the netlink request
""",
    "rule": """change verbs (root, or CAP_NET_ADMIN):
  socklab rule add|del [priority N] [from PREFIX] [to PREFIX] [iif DEV] [oif DEV]
      [fwmark M[/MASK]] [lookup TABLE | blackhole | unreachable | prohibit]
""",
    "neigh": """change verbs (root, or CAP_NET_ADMIN):
  socklab neigh add|replace ADDR lladdr MAC dev DEV [nud permanent|reachable|stale|noarp]
  socklab neigh del ADDR dev DEV
  socklab neigh flush dev DEV [nud all]
  --explain shows the ip and arp lines, --dry-run the netlink request
""",
}


def add_arguments(p: argparse.ArgumentParser, command: str) -> None:
    """The words after a verb, ``--explain`` and ``--dry-run``, and the verbs' help."""
    p.add_argument("words", nargs="*", help=argparse.SUPPRESS)
    g = p.add_argument_group("changing (verbs " + "|".join(
        v for v in VERBS[command] if v != "delete") + ")")
    g.add_argument("--explain", dest="change_explain", action="store_true",
                   help="say what the change does, with its ip and classic lines; send "
                        "nothing")
    g.add_argument("--dry-run", dest="change_dry_run", action="store_true",
                   help="print the netlink request field by field; send nothing")
    g.add_argument("--lang", choices=["en", "fr"],
                   help="language of --explain and of route get's walk (default: the locale)")
    p.epilog = EPILOG[command] + (p.epilog or "")


def no_extra(command: str, args: argparse.Namespace) -> None:
    """A show command given words it does not take, or change options without a verb."""
    if args.words:
        raise BadInput(f"unrecognized arguments: {' '.join(args.words)} "
                       f"(see 'socklab {command} --help')")
    no_change_options(command, args)


def no_change_options(command: str, args: argparse.Namespace) -> None:
    """``--explain``/``--dry-run`` given to a show command: they go with a change verb."""
    if args.change_explain or args.change_dry_run:
        raise BadInput(f"{command}: --explain and --dry-run go with a change verb "
                       f"({'|'.join(VERBS[command])})")


def take_flags(words: list[str], args: argparse.Namespace) -> list[str]:
    """The words a REMAINDER argument swallowed, without the options that go with a
    change (``--dry-run``, ``--explain``, ``--json``), which are set on ``args``."""
    flags = {"--dry-run": "change_dry_run", "--explain": "change_explain", "--json": "json"}
    for word in words:
        if word in flags:
            setattr(args, flags[word], True)
    return [w for w in words if w not in flags]


def is_verb(command: str, word: str | None) -> bool:
    return word is not None and word in VERBS[command]


def run(command: str, verb: str, words: list[str], args: argparse.Namespace) -> int:
    """Parse the words, make (or explain, or dry-run) the change, print what was done."""
    verb = "del" if verb == "delete" else verb
    w = Words(f"{command} {verb}", words)
    dry = bool(args.change_dry_run or args.change_explain)
    family = getattr(args, "family", None)
    done = PARSERS[command](verb, w, family, dry, None)
    show(done, args)
    return 0


def described(done: Change) -> list[tuple[str, list[tuple[str, str]]]]:
    from socklab.stack import rtnl_requests as rq

    out = []
    if done.tun is not None:
        name, tap, index = done.tun
        out.append(("ioctl /dev/net/tun", [
            *([("TUNSETIFINDEX", str(index))] if index else []),
            ("TUNSETIFF", f"ifr_name={name!r} ifr_flags={'IFF_TAP' if tap else 'IFF_TUN'}"
                          f"|IFF_NO_PI"),
            ("TUNSETPERSIST", "1 (the device outlives the descriptor)")]))
    for i, req in enumerate(done.requests, 1):
        msg = rq.request_message(req.msg_type, req.flags, req.payload, seq=i)
        fields = rq.describe(msg)
        out.append((f"netlink request {i} of {len(done.requests)} ({len(msg)} bytes)", fields))
    return out


def show(done: Change, args: argparse.Namespace) -> None:
    from socklab.cli import render

    if args.json:
        render.write_json({
            "operation": done.operation, "ip": done.ip, "classic": done.classic,
            "sent": done.sent,
            "requests": [{"what": what, "fields": [list(f) for f in fields]}
                         for what, fields in described(done)],
        })
        return
    if args.change_explain:
        from socklab.cli.explaintext import explainer

        _ = explainer(getattr(args, "lang", None))
        n = len(done.requests)
        netlink = (_("{n} rtnetlink request") if n == 1 else _("{n} rtnetlink requests"))
        if done.tun:
            netlink += " " + _("after the /dev/net/tun ioctls")
        # the operation and the command lines stay as they are: what a person types
        shown = ((_("what:"), done.operation), ("ip:", done.ip),
                 (_("classic:"), done.classic or _("(net-tools has no spelling for this)")),
                 ("netlink:", netlink.format(n=n) + " " + _("(--dry-run shows them)")))
        width = max(10, *(len(label) + 1 for label, _v in shown))
        for label, value in shown:
            print(f"{label:<{width}}{value}")
        print(_("nothing was sent (drop --explain to make the change)"))
    if args.change_dry_run:
        for what, fields in described(done):
            print(f"{what}:")
            width = max((len(name) for name, _ in fields), default=0)
            for name, value in fields:
                print(f"  {name:<{width}}  {value}")
        if not done.requests and not done.tun:
            print("(nothing to send)")
        print("nothing was sent (dry run)")
    if done.sent:
        n = len(done.requests)
        note = "" if n != 0 or done.tun else " (nothing to do)"
        print(f"{done.operation}: done{note}")
