"""Tour section: the ARP table (course 1.1, ``man arp``).

The IPv4 neighbours the kernel knows: for each IP address directly reachable
through an Ethernet-like interface, its MAC address and the entry's state, as
``ip neigh`` lists them and as ``arp -an`` prints them. Read only: nothing is
sent to fill the table.
"""

from __future__ import annotations

from socklab.cli import render, stackview
from socklab.cli.tour import Tour
from socklab.stack import read


def section(t: Tour) -> None:
    _ = t._
    t.say(_("Before an IPv4 packet leaves by an Ethernet interface, the kernel needs the MAC "
            "address of the next hop (the destination itself when it is directly reachable, "
            "else the gateway). ARP asks for it once and the answer is kept in the ARP table "
            "(the neighbour table), with a state: REACHABLE when it was confirmed lately, "
            "STALE when it should be checked again, PERMANENT when it was set by hand "
            "(arp -s)."))
    neigh = list(read.neighbours(family="inet"))
    if neigh:
        t.lines(render.table([stackview.neigh_row(n) for n in neigh], stackview.NEIGH_COLUMNS),
                data=neigh)
        links = {link.name: link.link_type or 1 for link in read.links()}
        t.lines(stackview.arp_an(neigh, links), data=None)
    else:
        t.fact(_("IPv4 neighbours"), 0,
               _("the table is empty: no IPv4 packet has left by an Ethernet-like interface "
                 "lately (lo needs no ARP)"))
    t.fact(_("entries"), len(neigh), "/proc/net/arp, RTM_GETNEIGH")
    t.say(_("lo needs no ARP: its packets never leave the machine. The change section (1.3) "
            "adds a static entry in a namespace of its own."))
    t.next_steps("socklab neigh", "socklab arp -an")
