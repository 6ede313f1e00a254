"""Tour section: changing the stack (course 1.3: ifconfig, route, arp, sysctl -w).

Done in a scratch network namespace made for the section (and gone after it),
never on this machine's own interfaces: an address and an alias, the link up,
a route through a gateway, a static ARP entry, a sysctl; after each step, the
classic command beside socklab's, and ``socklab diff`` against the first
snapshot. Without root the section explains and is skipped.
"""

from __future__ import annotations

from collections.abc import Callable

from socklab.cli import stackview_diff
from socklab.cli.tour import Tour
from socklab.cli.tour.lang import N_
from socklab.stack import change, snapshot, sysctl
from socklab.stack.change import in_new_namespace


def section(t: Tour) -> None:
    _ = t._
    t.say(_("Changing the stack needs CAP_NET_ADMIN (course 1.3). The tour does it in a "
            "network namespace of its own, made for this section and gone after it: a second "
            "copy of the stack with its own interfaces, routes, ARP table and net.* sysctls, "
            "so this machine is never touched. A veth pair (eth0, and peer0 its other end) "
            "stands for the network card."))
    in_new_namespace(lambda: _steps(t))
    t.next_steps("socklab ifconfig -a", "socklab arp -an")


def _steps(t: Tour) -> None:
    _ = t._
    change.link_add("eth0", "veth", peer="peer0")
    change.link_set("peer0", up=True)
    first = snapshot.take()
    counts = ", ".join(f"{len(v)} {k}" for k, v in first.items()
                       if isinstance(v, list | dict) and k in ("links", "routes", "sysctl"))
    t.fact(_("first snapshot"), counts, "socklab snapshot > before.json")
    steps: list[tuple[str, Callable[[], change.Change]]] = [
        (N_("An address: the interface's own IPv4 address and its network (/24), with the "
         "broadcast address computed from it."),
         lambda: change.addr_add("10.0.0.1/24", "eth0", broadcast="+")),
        (N_("An alias: a second address on the same card, under the label eth0:1, as ifconfig "
         "names it."),
         lambda: change.addr_add("10.0.0.2/24", "eth0", label="eth0:1", broadcast="+")),
        (N_("The link up: only now does the kernel add the route to the connected network."),
         lambda: change.link_set("eth0", up=True)),
        (N_("A route through a gateway on the connected network."),
         lambda: change.route_add("192.168.50.0/24", via="10.0.0.254")),
        (N_("A static ARP entry for that gateway: no ARP request will be sent for it."),
         lambda: change.neigh_replace("10.0.0.254", dev="eth0", lladdr="02:00:00:00:00:fe")),
    ]
    for text, do in steps:
        t.say(_(text))
        done = do()
        t.fact("classic", done.classic or "(none)")
        t.fact("socklab", "socklab " + done.ip.removeprefix("ip "))
        _diff(t, first)
    t.say(_("A kernel parameter: forwarding on, the host becomes a router. The kernel also "
            "turns accept_redirects off on every interface, which the diff shows."))
    setting = sysctl.write("net.ipv4.ip_forward", "1")
    t.fact("classic", "sysctl -w net.ipv4.ip_forward=1")
    t.fact("socklab", f"socklab sysctl -w net.ipv4.ip_forward=1 (was {setting.old})")
    _diff(t, first)


def _diff(t: Tour, first: dict[str, object]) -> None:
    found = snapshot.diff(first, snapshot.take())
    t.lines(["socklab diff before.json", *("  " + line for line in stackview_diff.lines(found))],
            data=[stackview_diff.as_json(d) for d in found])
