"""Tour section: the stack seen from user space (course 1.1 and 1.2).

This machine's interfaces and addresses, its routing table, and the route
lookup explained for three destinations: loopback, one on a directly
connected network (on-link), and one behind a gateway (off-link, a
documentation address, 198.51.100.7, when there is a default route).
"""

from __future__ import annotations

import ipaddress

from socklab.cli import render, stackview
from socklab.cli.explaintext import explainer
from socklab.cli.tour import Tour
from socklab.cli.tour.lang import Translator
from socklab.stack import read
from socklab.stack.model import Address, Link, Route


def section(t: Tour) -> None:
    _ = t._
    t.say(_("The kernel's network stack ends at the bottom in interfaces (course 1.1): lo, the "
            "local loop, whose packets come straight back, and the others (Ethernet, veth, "
            "bridges ...). Each has a state, an MTU, a MAC address and IP addresses."))
    links = list(read.links())
    names = {link.ifindex: link.name for link in links}
    t.lines(render.table([stackview.link_row(link, names) for link in links],
                         stackview.LINK_COLUMNS[:7]), data=links)
    addrs = list(read.addresses())
    t.lines(render.table(addrs, stackview.ADDR_COLUMNS[:6]), data=addrs)
    t.say(_("Which interface a packet leaves by is decided by the routing table (course 1.2): "
            "for each destination network, the interface and, when the network is not directly "
            "connected, the gateway to hand the packet to. Linux has several tables (main, local "
            "...) and rules that say which table to search."))
    routes = list(read.routes("main"))
    t.lines(render.table(routes, stackview.ROUTE_COLUMNS[2:8]), data=routes)
    t.figure("topology", topology(links, addrs, routes))
    for dst, what in _destinations(_, routes, addrs):
        t.say(_("Route lookup for {dst} ({what}): no packet is sent, the kernel is asked "
                "which route it would take, and socklab walks the same rules and tables "
                "itself to explain the choice.").format(dst=dst, what=what))
        ex = read.explain_route(dst)
        t.lines(stackview.explanation(ex, explainer(t.lang)), data=ex)
    t.next_steps("socklab route get 1.1.1.1", "socklab link; socklab addr")


FIGURE_LINKS = 12  # interfaces drawn in tour --html; the others are counted
FIGURE_ROUTES = 16


def topology(links: list[Link], addrs: list[Address], routes: list[Route]) -> dict[str, object]:
    """The interfaces (with their addresses) and the main table's routes, for the
    figure of ``tour --html``: the first FIGURE_LINKS and FIGURE_ROUTES, plus counts."""
    shown = links[:FIGURE_LINKS]
    names = {link.name for link in shown}
    drawn = [r for r in routes if r.dev in names][:FIGURE_ROUTES]
    return {
        "links": [{"name": link.name, "kind": link.kind, "state": link.operstate,
                   "mtu": link.mtu, "mac": link.address or "",
                   "addresses": [f"{a.local}/{a.prefixlen}" for a in addrs
                                 if a.ifindex == link.ifindex]} for link in shown],
        "routes": [{"dst": r.dst, "gateway": r.gateway or "", "dev": r.dev or "",
                    "family": r.family} for r in drawn],
        "more_links": max(len(links) - FIGURE_LINKS, 0),
        "more_routes": len(routes) - len(drawn),
    }


def _destinations(_: Translator, routes: list[Route],
                  addrs: list[Address]) -> list[tuple[str, str]]:
    out = [("127.0.0.1", _("loopback: the local table sends it to lo"))]
    for a in addrs:
        if a.family == "inet" and a.scope == "global":
            net = ipaddress.ip_network(f"{a.local}/{a.prefixlen}", strict=False)
            if net.num_addresses > 2:
                host = next(h for h in net.hosts() if str(h) != a.local)
                out.append((str(host), _("on-link: {net} is directly connected").format(net=net)))
                break
    if any(r.dst == "default" and r.family == "inet" for r in routes):
        out.append(("198.51.100.7", _("off-link: only the default route covers it")))
    return out
