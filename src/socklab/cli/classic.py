"""net-tools' own spellings of the changes: ``ifconfig``, ``route add -net``, ``arp -s``.

One implementation, two grammars: each classic line is read here into the same
calls of :mod:`socklab.stack.change` the ``ip``-style verbs make, so both give
the same state. What the classic tools do implicitly is done too, as
ifconfig(8), route(8) and arp(8) describe it:

1. ``ifconfig IF ADDR`` replaces the IPv4 address of the label IF (``eth0`` or
   the alias ``eth0:1``), with the broadcast address of its network unless one
   is given, and brings a real interface (not an alias) up. Without
   ``netmask`` the mask is the address's class (A /8, B /16, C /24), as
   net-tools still does. ``ifconfig IF:N down`` (or ``0.0.0.0``) removes the
   alias's address.
2. ``route add -net NET netmask M gw GW [metric N] [dev] IF`` is ``route add
   NET/LEN via GW ...``; ``-host`` is a /32; ``default`` is 0.0.0.0/0;
   ``reject`` is an unreachable route.
3. ``arp -s IP MAC [-i IF]`` is a permanent neighbour entry; without ``-i`` the
   interface is the one the kernel routes IP through (as arp does).

A spelling the classic tool has but socklab does not take gets a hint with the
``socklab`` form.
"""

from __future__ import annotations

import ipaddress

from socklab.errors import BadInput
from socklab.stack import change
from socklab.stack.change import Change

IFCONFIG_HELP = ("socklab ifconfig IF [ADDR [netmask M] [broadcast B]] [up|down] "
                 "[hw ether MAC] [mtu N] [promisc|-promisc] [txqueuelen N] "
                 "[inet6 add|del ADDR/LEN]")


def _mask_length(mask: str, context: str) -> int:
    try:
        return ipaddress.IPv4Network(f"0.0.0.0/{mask}").prefixlen
    except ValueError:
        raise BadInput(f"{context}: bad netmask {mask!r} (contiguous ones, as "
                       f"255.255.255.0)") from None


def _classful(address: ipaddress.IPv4Address) -> int:
    """The mask of the address's class (RFC 791), net-tools' default."""
    first = address.packed[0]
    return 8 if first < 128 else 16 if first < 192 else 24


def ifconfig(words: list[str], dry_run: bool) -> list[Change]:
    """``ifconfig IF ...`` as changes (rule 1): every one is planned (and so checked)
    before the first is sent."""
    planned = _ifconfig(words)
    return planned if dry_run else [change.apply(c) for c in planned]


def _ifconfig(words: list[str]) -> list[Change]:
    dry_run = True
    if not words:
        raise BadInput(f"ifconfig: name the interface ({IFCONFIG_HELP})")
    label, rest = words[0], words[1:]
    dev, colon, _alias = label.partition(":")
    context = f"ifconfig {label}"
    link: dict[str, str] = {}
    up: bool | None = None
    promisc: bool | None = None
    address: str | None = None
    netmask: str | None = None
    broadcast: str | None = None
    inet6: list[tuple[str, str]] = []
    i = 0

    def value(word: str) -> str:
        nonlocal i
        if i >= len(rest):
            raise BadInput(f"{context}: {word} needs a value ({IFCONFIG_HELP})")
        i += 1
        return rest[i - 1]

    while i < len(rest):
        word = rest[i]
        i += 1
        if word in ("up", "down"):
            up = word == "up"
        elif word in ("promisc", "-promisc"):
            promisc = word == "promisc"
        elif word in ("mtu", "txqueuelen"):
            link[word] = value(word)
        elif word == "netmask":
            netmask = value(word)
        elif word == "broadcast":
            broadcast = value(word)
        elif word == "hw":
            if value("hw") != "ether":
                raise BadInput(f"{context}: only 'hw ether MAC' is supported")
            link["address"] = value("hw ether")
        elif word == "inet":
            continue  # the address family word before an IPv4 address
        elif word == "inet6":
            verb = value("inet6")
            if verb not in ("add", "del"):
                raise BadInput(f"{context}: inet6 add|del ADDR/LEN")
            inet6.append((verb, value(f"inet6 {verb}")))
        elif word in ("add", "del"):
            inet6.append((word, value(word)))
        elif word == "address" and address is None:
            address = value(word)
        elif address is None and word[:1].isdigit():
            address = word
        else:
            raise BadInput(f"{context}: {word!r} is not taken here ({IFCONFIG_HELP}; "
                           f"the ip way: socklab link set / addr add)")
    if colon and (link or promisc is not None or up is True or inet6):
        raise BadInput(f"{context}: an alias has only an address (link settings go on {dev}: "
                       f"socklab ifconfig {dev} ...)")
    done: list[Change] = []
    if address is not None or (colon and up is False):
        done += _ifconfig_address(dev, label, address, netmask, broadcast, bool(colon),
                                  dry_run)
        if address not in (None, "0", "0.0.0.0") and not colon and up is None:
            up = True  # ifconfig brings the interface up with its address
    elif netmask is not None or broadcast is not None:
        raise BadInput(f"{context}: give the address with its netmask "
                       f"(socklab ifconfig {label} ADDR netmask M)")
    for verb, text in inet6:
        fn = change.addr_add if verb == "add" else change.addr_del
        done.append(fn(text, dev, dry_run=dry_run))
    if link or up is not None or promisc is not None:
        if colon:
            pass  # only 'down' reaches here for an alias: handled with its address
        else:
            done.append(change.link_set(dev, up=up, promisc=promisc, mtu=link.get("mtu"),
                                        address=link.get("address"),
                                        txqueuelen=link.get("txqueuelen"), dry_run=dry_run))
    if not done:
        raise BadInput(f"{context}: nothing to change ({IFCONFIG_HELP}); to show it: "
                       f"socklab link {dev} --style ifconfig")
    return done


def _ifconfig_address(dev: str, label: str, address: str | None, netmask: str | None,
                      broadcast: str | None, alias: bool, dry_run: bool) -> list[Change]:
    from socklab.stack import read

    context = f"ifconfig {label}"
    have = [a for a in read.addresses(dev, "inet", source="netlink")
            if (a.label or a.ifname) == label]
    out = [change.addr_del(f"{a.local}/{a.prefixlen}", dev, dry_run=dry_run)
           for a in have if "secondary" in a.flags] + \
          [change.addr_del(f"{a.local}/{a.prefixlen}", dev, dry_run=dry_run)
           for a in have if "secondary" not in a.flags]
    if address in (None, "0", "0.0.0.0"):
        if netmask is not None or broadcast is not None:
            raise BadInput(f"{context}: no netmask or broadcast without an address")
        return out
    text, _, plen = address.partition("/")
    try:
        ip = ipaddress.IPv4Address(text)
    except ValueError:
        raise BadInput(f"{context}: bad IPv4 address {address!r} (for IPv6: "
                       f"ifconfig {dev} inet6 add ADDR/LEN)") from None
    if plen and netmask:
        raise BadInput(f"{context}: a prefix length and a netmask; give one")
    if plen and not (plen.isascii() and plen.isdigit()):  # isdigit alone takes '²'
        raise BadInput(f"{context}: bad prefix length in {address!r}")
    length = int(plen) if plen else _mask_length(netmask, context) if netmask \
        else _classful(ip)
    out.append(change.addr_add(f"{ip}/{length}", dev, label=label if alias else None,
                               broadcast=broadcast or "+", dry_run=dry_run))
    return out


def route(verb: str, words: list[str], host: bool, dry_run: bool) -> Change:
    """``route add|del -net NET netmask M gw GW [metric N] [reject] [[dev] IF]``, ``-host
    H ...`` and ``default ...`` (rule 2)."""
    context = f"route {verb} {'-host' if host else '-net'}"
    if not words:
        raise BadInput(f"{context}: give the target (route {verb} -net NET netmask M gw GW)")
    target, rest = words[0], words[1:]
    kw: dict[str, str] = {}
    kind = "unicast"
    i = 0
    while i < len(rest):
        word = rest[i]
        if word in ("netmask", "gw", "metric", "dev") and i + 1 < len(rest):
            kw[word] = rest[i + 1]
            i += 2
            continue
        if word == "reject":
            kind = "unreachable"
        elif i == len(rest) - 1 and "dev" not in kw:
            kw["dev"] = word  # route(8): "[dev] If" may end the line without its keyword
        else:
            raise BadInput(f"{context}: {word!r} is not taken here (route {verb} -net NET "
                           f"netmask M gw GW [metric N] [reject] [dev IF]; the ip way: "
                           f"socklab route {verb} NET/LEN via GW)")
        i += 1
    if target == "default":
        dst = "default"
    elif host:
        dst = target
    else:
        net, _, plen = target.partition("/")
        if plen and "netmask" in kw:
            raise BadInput(f"{context}: a prefix length and a netmask; give one")
        length = plen or str(_mask_length(kw["netmask"], context) if "netmask" in kw
                             else 32)
        dst = f"{net}/{length}"
    if verb == "add":
        return change.route_add(dst, via=kw.get("gw"), dev=kw.get("dev"),
                                metric=kw.get("metric"), type=kind, dry_run=dry_run)
    return change.route_del(dst, via=kw.get("gw"), dev=kw.get("dev"), metric=kw.get("metric"),
                            type=kind, dry_run=dry_run)


def arp_set(ip: str, mac: str, dev: str | None, dry_run: bool) -> Change:
    """``arp -s IP MAC [-i IF]`` (rule 3)."""
    return change.neigh_replace(ip, dev=dev or _route_dev(ip, "arp -s"), lladdr=mac,
                                nud="permanent", dry_run=dry_run)


def arp_delete(ip: str, dev: str | None, dry_run: bool) -> Change:
    return change.neigh_del(ip, dev=dev or _route_dev(ip, "arp -d"), dry_run=dry_run)


def _route_dev(ip: str, context: str) -> str:
    from socklab.stack import read

    found = read.route_get(ip)
    if found.dev is None:
        raise BadInput(f"{context} {ip}: no route to it; name the interface (-i IF)")
    return found.dev
