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
from collections.abc import Callable
from typing import TYPE_CHECKING

from socklab.errors import BadInput

if TYPE_CHECKING:
    from socklab.stack.change import Change

VERBS = {
    "link": ("set", "add", "del", "delete"),
    "addr": ("add", "del", "delete", "flush"),
    "route": ("add", "del", "delete", "replace"),
    "rule": ("add", "del", "delete"),
    "neigh": ("add", "replace", "del", "delete", "flush"),
}

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


class Words:
    """The words of a change, read left to right as ``ip`` reads them."""

    def __init__(self, context: str, words: list[str]) -> None:
        self.context = context
        self.words = list(words)

    def more(self) -> bool:
        return bool(self.words)

    def peek(self) -> str | None:
        return self.words[0] if self.words else None

    def next(self, what: str) -> str:
        if not self.words:
            raise BadInput(f"{self.context}: expected {what}")
        return self.words.pop(0)

    def value(self, keyword: str) -> str:
        return self.next(f"a value after {keyword!r}")

    def unknown(self, word: str, known: str) -> BadInput:
        return BadInput(f"{self.context}: unknown word {word!r} (expected {known})")


def _onoff(word: str, key: str, w: Words) -> bool:
    if word not in ("on", "off"):
        raise BadInput(f"{w.context}: {key} takes on or off, not {word!r}")
    return word == "on"


# -- one parser per command -----------------------------------------------------------

def _link(verb: str, w: Words, family: str | None, dry: bool) -> Change:
    from socklab.stack import change

    if verb == "set":
        dev = w.next("a device")
        if dev == "dev":
            dev = w.next("a device")
        up = promisc = None
        nomaster = False
        kw: dict[str, str] = {}
        while w.more():
            word = w.next("")
            if word in ("up", "down"):
                up = word == "up"
            elif word in ("mtu", "address", "name", "master"):
                kw[word] = w.value(word)
            elif word in ("txqueuelen", "txqlen"):
                kw["txqueuelen"] = w.value(word)
            elif word == "promisc":
                promisc = _onoff(w.value(word), word, w)
            elif word == "nomaster":
                nomaster = True
            else:
                raise w.unknown(word, "up, down, mtu, address, name, promisc, txqueuelen, "
                                      "master, nomaster")
        return change.link_set(dev, up=up, promisc=promisc, nomaster=nomaster, dry_run=dry,
                               **kw)
    if verb == "add":
        name: str | None = None
        kind: str | None = None
        opts: dict[str, str] = {}
        keys = {"peer", "id", "remote", "local", "dev", "dstport", "mtu", "address", "link",
                "name", "type", "mode"}
        while w.more():
            word = w.next("")
            if word == "peer":
                nxt = w.value(word)
                opts["peer"] = w.value("peer name") if nxt == "name" else nxt
            elif word in ("type", "mode"):
                kind = w.value(word)
            elif word in keys:
                value = w.value(word)
                if word == "name":
                    name = value
                else:
                    opts[word] = value
            elif name is None:
                name = word
            else:
                raise w.unknown(word, "type KIND, peer name NAME, id, remote, local, dev, "
                                      "dstport, mtu, address")
        if name is None or kind is None:
            raise BadInput(f"{w.context}: give a name and a type (link add NAME type veth "
                           f"peer name PEER)")
        parent = opts.pop("link", None) or opts.pop("dev", None)
        return change.link_add(name, kind, peer=opts.get("peer"), vni=opts.get("id")
                               if kind == "vxlan" else None,
                               vlan_id=opts.get("id") if kind == "vlan" else None,
                               remote=opts.get("remote"), local=opts.get("local"),
                               dev=parent, dstport=opts.get("dstport"), mtu=opts.get("mtu"),
                               address=opts.get("address"), dry_run=dry)
    name = w.next("a device")
    if name == "dev":
        name = w.next("a device")
    if w.more():
        raise w.unknown(w.next(""), "nothing after the device")
    return change.link_del(name, dry_run=dry)


def _addr(verb: str, w: Words, family: str | None, dry: bool) -> Change:
    from socklab.stack import change

    if verb == "flush":
        dev = w.next("dev DEV")
        if dev == "dev":
            dev = w.next("a device")
        if w.more():
            raise w.unknown(w.next(""), "nothing after the device")
        return change.addr_flush(dev, family=family, dry_run=dry)
    address: str | None = None
    kw: dict[str, str] = {}
    while w.more():
        word = w.next("")
        if word in ("dev", "label", "scope"):
            kw[word] = w.value(word)
        elif word in ("broadcast", "brd"):
            kw["broadcast"] = w.value(word)
        elif word == "local":
            address = w.value(word)
        elif address is None:
            address = word
        else:
            raise w.unknown(word, "dev, label, broadcast, scope")
    if address is None or "dev" not in kw:
        raise BadInput(f"{w.context}: give the address and the device (ADDR/LEN dev DEV)")
    dev = kw.pop("dev")
    if verb == "add":
        return change.addr_add(address, dev, dry_run=dry, **kw)
    if set(kw) - {"label"}:
        raise BadInput(f"{w.context}: del takes only ADDR dev DEV [label L]")
    return change.addr_del(address, dev, label=kw.get("label"), dry_run=dry)


ROUTE_WORDS = ("via", "dev", "metric", "src", "table", "proto", "scope")


def _route(verb: str, w: Words, family: str | None, dry: bool) -> Change:
    from socklab.stack import change

    kind = "unicast"
    dst: str | None = None
    kw: dict[str, str] = {}
    hops: list[change.Hop] = []
    onlink = False
    while w.more():
        word = w.next("")
        if word in ROUTE_WORDS:
            kw[word] = w.value(word)
        elif word in ("priority", "preference"):
            kw["metric"] = w.value(word)
        elif word in ("protocol",):
            kw["proto"] = w.value(word)
        elif word == "onlink":
            onlink = True
        elif word == "nexthop":
            hop: dict[str, str] = {}
            while w.peek() in ("via", "dev", "weight"):
                key = w.next("")
                hop[key] = w.value(key)
            if not hop:
                raise BadInput(f"{w.context}: nexthop takes via GW, dev DEV, weight W")
            hops.append(change.Hop(hop.get("via"), hop.get("dev"), hop.get("weight", "1")))
        elif word in change.ROUTE_KINDS and dst is None and kind == "unicast":
            kind = word
        elif word == "to" and dst is None:
            dst = w.value(word)
        elif dst is None:
            dst = word
        else:
            raise w.unknown(word, "via, dev, metric, src, table, proto, scope, onlink, "
                                  "nexthop")
    if dst is None:
        raise BadInput(f"{w.context}: give the destination (PREFIX or default)")
    common: dict[str, str | None] = {k: kw.get(k) for k in ("via", "dev", "metric", "table",
                                                             "proto", "scope")}
    if verb == "del":
        if hops or onlink or "src" in kw:
            raise BadInput(f"{w.context}: del takes PREFIX [via] [dev] [metric] [table]")
        return change.route_del(dst, type=kind, family=family, dry_run=dry, **common)
    fn = change.route_add if verb == "add" else change.route_replace
    return fn(dst, src=kw.get("src"), type=kind, nexthops=hops, onlink=onlink, family=family,
              dry_run=dry, **common)


def _rule(verb: str, w: Words, family: str | None, dry: bool) -> Change:
    from socklab.stack import change

    kw: dict[str, str] = {}
    action = "lookup"
    names = {"priority": "priority", "pref": "priority", "prio": "priority",
             "preference": "priority", "from": "src", "to": "dst", "iif": "iif",
             "oif": "oif", "fwmark": "fwmark", "lookup": "table", "table": "table"}
    while w.more():
        word = w.next("")
        if word in names:
            kw[names[word]] = w.value(word)
        elif word in ("blackhole", "unreachable", "prohibit"):
            action = word
        else:
            raise w.unknown(word, "priority, from, to, iif, oif, fwmark, lookup, blackhole, "
                                  "unreachable, prohibit")
    fn = change.rule_add if verb == "add" else change.rule_del
    return fn(action=action, family=family, dry_run=dry, **kw)


def _neigh(verb: str, w: Words, family: str | None, dry: bool) -> Change:
    from socklab.stack import change

    if verb == "flush":
        dev = w.next("dev DEV")
        if dev == "dev":
            dev = w.next("a device")
        every = False
        if w.more():
            if w.words != ["nud", "all"]:
                raise w.unknown(w.next(""), "nud all")
            every = True
        return change.neigh_flush(dev, all_states=every, dry_run=dry)
    dst: str | None = None
    kw: dict[str, str] = {}
    while w.more():
        word = w.next("")
        if word in ("lladdr", "dev", "nud"):
            kw[word] = w.value(word)
        elif word == "to" and dst is None:
            dst = w.value(word)
        elif dst is None:
            dst = word
        else:
            raise w.unknown(word, "lladdr, dev, nud")
    if dst is None or "dev" not in kw:
        raise BadInput(f"{w.context}: give the address and the device (ADDR lladdr MAC "
                       f"dev DEV)")
    if verb == "del":
        if set(kw) - {"dev"}:
            raise BadInput(f"{w.context}: del takes only ADDR dev DEV")
        return change.neigh_del(dst, dev=kw["dev"], dry_run=dry)
    fn = change.neigh_add if verb == "add" else change.neigh_replace
    return fn(dst, dev=kw["dev"], lladdr=kw.get("lladdr"), nud=kw.get("nud", "permanent"),
              dry_run=dry)


PARSERS: dict[str, Callable[[str, Words, str | None, bool], Change]] = {
    "link": _link, "addr": _addr, "route": _route, "rule": _rule, "neigh": _neigh,
}


def is_verb(command: str, word: str | None) -> bool:
    return word is not None and word in VERBS[command]


def run(command: str, verb: str, words: list[str], args: argparse.Namespace) -> int:
    """Parse the words, make (or explain, or dry-run) the change, print what was done."""
    verb = "del" if verb == "delete" else verb
    w = Words(f"{command} {verb}", words)
    dry = bool(args.change_dry_run or args.change_explain)
    family = getattr(args, "family", None)
    done = PARSERS[command](verb, w, family, dry)
    show(done, args)
    return 0


def _described(done: Change) -> list[tuple[str, list[tuple[str, str]]]]:
    from socklab.stack import rtnl_requests as rq

    out = []
    if done.tun is not None:
        name, tap = done.tun
        out.append(("ioctl /dev/net/tun", [
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
                         for what, fields in _described(done)],
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
        for what, fields in _described(done):
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
