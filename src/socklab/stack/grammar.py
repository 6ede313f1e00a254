"""The change grammar, ``ip``'s: the words of ``link set|add|del``, ``addr add|del|flush``,
``route add|del|replace``, ``rule add|del`` and ``neigh add|replace|del|flush``, read
left to right as ``ip`` reads them and handed to :mod:`socklab.stack.change`, which
checks them and makes (or plans) the change.

One implementation for the command line (``socklab route add ...``) and for a
batch (:mod:`socklab.stack.batch`, ``socklab -batch FILE``). A parser raises only
BadInput/NotFound (socklab's errors).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from socklab.errors import BadInput

if TYPE_CHECKING:
    from socklab.stack.change import Change

__all__ = ["PARSERS", "VERBS", "Words"]

VERBS = {
    "link": ("set", "add", "del", "delete"),
    "addr": ("add", "del", "delete", "flush"),
    "route": ("add", "del", "delete", "replace"),
    "rule": ("add", "del", "delete"),
    "neigh": ("add", "replace", "del", "delete", "flush"),
}


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
        if not self.words:  # the message made only when needed: a batch reads many lines
            raise BadInput(f"{self.context}: expected a value after {keyword!r}")
        return self.words.pop(0)

    def device(self, what: str = "a device") -> str:
        """The device a verb names first, with or without ip's ``dev`` before it."""
        dev = self.next(what)
        return self.next("a device") if dev == "dev" else dev

    def unknown(self, word: str, known: str) -> BadInput:
        return BadInput(f"{self.context}: unknown word {word!r} (expected {known})")


def _onoff(word: str, key: str, w: Words) -> bool:
    if word not in ("on", "off"):
        raise BadInput(f"{w.context}: {key} takes on or off, not {word!r}")
    return word == "on"


# -- one parser per command -----------------------------------------------------------

def _link(verb: str, w: Words, family: str | None, dry: bool,
           netns: str | None = None) -> Change:
    from socklab.stack import change

    if verb == "set":
        dev = w.device()
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
                               netns=netns, **kw)
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
                               address=opts.get("address"), dry_run=dry, netns=netns)
    name = w.device()
    if w.more():
        raise w.unknown(w.next(""), "nothing after the device")
    return change.link_del(name, dry_run=dry, netns=netns)


def _addr(verb: str, w: Words, family: str | None, dry: bool,
           netns: str | None = None) -> Change:
    from socklab.stack import change

    if verb == "flush":
        dev = w.device("dev DEV")
        if w.more():
            raise w.unknown(w.next(""), "nothing after the device")
        return change.addr_flush(dev, family=family, dry_run=dry, netns=netns)
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
        return change.addr_add(address, dev, dry_run=dry, netns=netns, **kw)
    if set(kw) - {"label"}:
        raise BadInput(f"{w.context}: del takes only ADDR dev DEV [label L]")
    return change.addr_del(address, dev, label=kw.get("label"), dry_run=dry, netns=netns)


ROUTE_WORDS = ("via", "dev", "metric", "src", "table", "proto", "scope")


def _route(verb: str, w: Words, family: str | None, dry: bool,
           netns: str | None = None) -> Change:
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
    get = kw.get
    if verb == "del":
        if hops or onlink or "src" in kw:
            raise BadInput(f"{w.context}: del takes PREFIX [via] [dev] [metric] [table]")
        return change.route_del(dst, type=kind, family=family, dry_run=dry, netns=netns,
                                via=get("via"), dev=get("dev"), metric=get("metric"),
                                table=get("table"), proto=get("proto"), scope=get("scope"))
    fn = change.route_add if verb == "add" else change.route_replace
    return fn(dst, src=get("src"), type=kind, nexthops=hops, onlink=onlink, family=family,
              dry_run=dry, netns=netns, via=get("via"), dev=get("dev"), metric=get("metric"),
              table=get("table"), proto=get("proto"), scope=get("scope"))


def _rule(verb: str, w: Words, family: str | None, dry: bool,
           netns: str | None = None) -> Change:
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
    return fn(action=action, family=family, dry_run=dry, netns=netns, **kw)


def _neigh(verb: str, w: Words, family: str | None, dry: bool,
           netns: str | None = None) -> Change:
    from socklab.stack import change

    if verb == "flush":
        dev = w.device("dev DEV")
        every = False
        if w.more():
            if w.words != ["nud", "all"]:
                raise w.unknown(w.next(""), "nud all")
            every = True
        return change.neigh_flush(dev, all_states=every, dry_run=dry, netns=netns)
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
        return change.neigh_del(dst, dev=kw["dev"], dry_run=dry, netns=netns)
    fn = change.neigh_add if verb == "add" else change.neigh_replace
    return fn(dst, dev=kw["dev"], lladdr=kw.get("lladdr"), nud=kw.get("nud", "permanent"),
              dry_run=dry, netns=netns)


PARSERS: dict[str, Callable[[str, Words, str | None, bool, str | None], Change]] = {
    "link": _link, "addr": _addr, "route": _route, "rule": _rule, "neigh": _neigh,
}
